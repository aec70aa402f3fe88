//! Token counting and deterministic text generation.
//!
//! OpenAI chat models are counted exactly with tiktoken-rs (`o200k_base`; embeddings models
//! with `cl100k_base`), using tiktoken's chat accounting: 3 tokens per message, the role, the
//! content, 1 more for a `name`, and 3 priming the reply.
//!
//! Claude models have no offline tokenizer. The mock's documented approximation is the same
//! `o200k_base` count (real Claude counts run roughly 10-30% higher for English), with 3 tokens
//! per message for the role header; tool definitions count as their name, description and
//! JSON schema text; images count 1,600 tokens. Everything the mock reports for a Claude
//! model (`input_tokens`, cache counters, `count_tokens`) uses this one rule, so the numbers
//! are consistent with each other and additive over blocks.

use rand::Rng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tiktoken_rs::CoreBPE;

/// Tokens a message costs beyond its content (tiktoken's chat rule).
pub const PER_MESSAGE: u64 = 3;
/// Tokens priming the assistant reply (tiktoken's chat rule).
pub const REPLY_PRIMING: u64 = 3;
/// The approximation for an image block.
pub const IMAGE_TOKENS: u64 = 1600;

pub fn o200k() -> &'static CoreBPE {
    tiktoken_rs::o200k_base_singleton()
}

pub fn cl100k() -> &'static CoreBPE {
    tiktoken_rs::cl100k_base_singleton()
}

/// Builds the encoders and the vocabulary now, so the first requests do not pay for it.
pub fn prewarm() {
    let _ = o200k();
    let _ = cl100k();
    let _ = vocabulary();
}

/// A bounded memo of encoded texts: agents resend the same system prompt, tools and history
/// on every call, and BPE is the most expensive step of a request. Keyed by the full text
/// (compared, not only hashed); each shard is cleared when it outgrows its byte budget.
struct EncodeCache {
    shards: Vec<Mutex<Shard>>,
    budget: usize,
}

#[derive(Default)]
struct Shard {
    map: HashMap<u64, (Box<str>, Arc<[u32]>)>,
    bytes: usize,
}

const CACHE_SHARDS: usize = 16;
/// Texts longer than this are encoded every time.
const MAX_CACHED_TEXT: usize = 64 * 1024;
/// Bytes of text and ids one shard may hold (16 shards: 32 MiB per encoder at most).
const SHARD_BUDGET: usize = 2 * 1024 * 1024;

impl EncodeCache {
    fn new(budget: usize) -> EncodeCache {
        EncodeCache {
            shards: (0..CACHE_SHARDS).map(|_| Mutex::default()).collect(),
            budget,
        }
    }

    fn encode(&self, bpe: &CoreBPE, text: &str) -> Arc<[u32]> {
        if text.len() > MAX_CACHED_TEXT {
            return bpe.encode_ordinary(text).into();
        }
        let h = crate::cache::hash_str(crate::cache::SEED_HASH, text);
        let shard = &self.shards[(h >> 60) as usize % CACHE_SHARDS];
        {
            let s = shard.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((t, ids)) = s.map.get(&h)
                && **t == *text
            {
                return ids.clone();
            }
        }
        // Encode outside the lock.
        let ids: Arc<[u32]> = bpe.encode_ordinary(text).into();
        let mut s = shard.lock().unwrap_or_else(|e| e.into_inner());
        let size = text.len() + ids.len() * 4 + 64;
        if s.bytes + size > self.budget {
            s.map.clear();
            s.bytes = 0;
        }
        if let Some((old, old_ids)) = s.map.insert(h, (text.into(), ids.clone())) {
            s.bytes -= old.len() + old_ids.len() * 4 + 64;
        }
        s.bytes += size;
        ids
    }
}

fn o200k_cache() -> &'static EncodeCache {
    static C: OnceLock<EncodeCache> = OnceLock::new();
    C.get_or_init(|| EncodeCache::new(SHARD_BUDGET))
}

fn cl100k_cache() -> &'static EncodeCache {
    static C: OnceLock<EncodeCache> = OnceLock::new();
    C.get_or_init(|| EncodeCache::new(SHARD_BUDGET))
}

/// Bytes of text without white space that are encoded as one unit. BPE is quadratic in the
/// length of such a run (tiktoken merges within one pre-tokenizer piece), so longer runs are
/// encoded in pieces of this size: linear time for any input, at the price of counts that can
/// differ from tiktoken's by a few tokens per run longer than this (long URLs, base64 blobs).
pub const MAX_RUN_BYTES: usize = 256;

/// Where `text` is cut so that no piece holds a run of more than [`MAX_RUN_BYTES`] bytes
/// without white space (at char boundaries); empty when no run is that long.
fn run_cuts(text: &str) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut run_start = 0;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            run_start = i + c.len_utf8();
        } else if i + c.len_utf8() - run_start > MAX_RUN_BYTES {
            cuts.push(i);
            run_start = i;
        }
    }
    cuts
}

fn encode_with(cache: &EncodeCache, bpe: &CoreBPE, text: &str) -> Arc<[u32]> {
    if text.is_empty() {
        return Arc::from(Vec::new());
    }
    let cuts = run_cuts(text);
    if cuts.is_empty() {
        return cache.encode(bpe, text);
    }
    let mut ids = Vec::with_capacity(text.len() / 3);
    let mut start = 0;
    for end in cuts.into_iter().chain([text.len()]) {
        ids.extend_from_slice(&cache.encode(bpe, &text[start..end]));
        start = end;
    }
    ids.into()
}

/// Token ids of a text under o200k_base (special tokens are encoded as plain text).
pub fn encode(text: &str) -> Arc<[u32]> {
    encode_with(o200k_cache(), o200k(), text)
}

/// Number of o200k_base tokens of a text.
pub fn count(text: &str) -> u64 {
    encode(text).len() as u64
}

/// Number of cl100k_base tokens of a text (embeddings models).
pub fn count_cl100k(text: &str) -> u64 {
    encode_with(cl100k_cache(), cl100k(), text).len() as u64
}

const WORDS: &[&str] = &[
    "the", "cost", "of", "an", "agent", "is", "not", "the", "price", "per", "token", "but", "how",
    "many", "calls", "it", "makes", "and", "what", "each", "call", "carries", "model", "cache",
    "budget", "retry", "request", "data", "time", "system", "tool", "result", "answer", "user",
    "support", "team", "day", "month", "plan", "search", "report", "value", "risk", "rate",
    "limit", "context", "prompt", "output", "input", "step", "task", "work", "first", "then",
    "more", "less", "with", "from", "into", "over", "under", "after", "before", "every", "some",
    "this", "that", "which", "when", "where", "there", "here", "can", "will", "should", "would",
    "could", "must", "may", "also", "only", "just", "very", "well", "good", "new", "old", "high",
    "low", "long", "short", "fast", "slow", "small", "large", "simple", "clear", "real", "true",
];

/// Words that are exactly one o200k token with a leading space, so N of them are N tokens.
pub fn vocabulary() -> &'static [&'static str] {
    static VOCAB: OnceLock<Vec<&'static str>> = OnceLock::new();
    VOCAB.get_or_init(|| {
        let mut v: Vec<&'static str> = WORDS
            .iter()
            .copied()
            .filter(|w| count(&format!(" {w}")) == 1 && count(w) == 1)
            .collect();
        v.dedup();
        if v.is_empty() {
            v.push("the");
        }
        v
    })
}

/// `n` pieces of deterministic text, each exactly one token (" word"). The first piece has no
/// leading space only when `n == 1`-style callers ask for it; all pieces keep their space so
/// the concatenation tokenizes to exactly `n` tokens.
pub fn lorem_pieces<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<&'static str> {
    static SPACED: OnceLock<Vec<String>> = OnceLock::new();
    let spaced = SPACED.get_or_init(|| vocabulary().iter().map(|w| format!(" {w}")).collect());
    (0..n)
        .map(|_| {
            let i = rng.random_range(0..spaced.len());
            spaced[i].as_str()
        })
        .collect()
}

/// Splits a text into pieces for streaming, at most `max_tokens` tokens in all. Each piece is
/// one token, or a few when a multi-byte character spans tokens. Returns the pieces and the
/// number of tokens they hold.
pub fn token_pieces(text: &str, max_tokens: usize) -> (Vec<String>, u64) {
    let ids = encode(text);
    let bpe = o200k();
    let mut out = Vec::new();
    let mut used = 0usize;
    let mut pending: Vec<u32> = Vec::new();
    for &id in ids.iter() {
        if used >= max_tokens {
            break;
        }
        pending.push(id);
        used += 1;
        // A multi-byte character may span tokens: emit once the bytes form valid UTF-8.
        if let Ok(s) = bpe.decode(pending.clone()) {
            out.push(s);
            pending.clear();
        }
    }
    (out, (used - pending.len()) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_exact_and_long_runs_are_linear() {
        let bpe = o200k();
        let text = "Refunds take 5-7 days; see https://example.com/help. Réponse: oui!";
        assert_eq!(&*encode(text), bpe.encode_ordinary(text).as_slice());
        assert!(run_cuts(text).is_empty());
        // A 400 KB word: tiktoken alone takes about a minute (quadratic); cut into runs of
        // at most MAX_RUN_BYTES it is a few hundred milliseconds even in a debug build.
        let word = "ab".repeat(200_000);
        let cuts = run_cuts(&word);
        assert_eq!(cuts.len(), word.len().div_ceil(MAX_RUN_BYTES) - 1);
        let n = count(&word);
        assert!(n > 0 && n <= word.len() as u64);
        // Cuts respect char boundaries.
        let wide = "é".repeat(1000);
        for c in run_cuts(&wide) {
            assert!(wide.is_char_boundary(c));
        }
        assert_eq!(count(&wide), encode(&wide).len() as u64);
    }

    #[test]
    fn cached_encoding_matches_tiktoken_and_stays_bounded() {
        let mut cleared = 0;
        // A small budget, so that shards fill up and are cleared during the test.
        let budget = 4096;
        let cache = EncodeCache::new(budget);
        let bpe = o200k();
        for i in 0..2_000 {
            let text = format!("message number {i} about refunds, réponse {}", i * 7);
            let before: usize = cache
                .shards
                .iter()
                .map(|s| s.lock().unwrap().map.len())
                .sum();
            let first = cache.encode(bpe, &text);
            let after: usize = cache
                .shards
                .iter()
                .map(|s| s.lock().unwrap().map.len())
                .sum();
            if after <= before {
                cleared += 1;
            }
            let again = cache.encode(bpe, &text);
            assert_eq!(&*first, bpe.encode_ordinary(&text).as_slice());
            assert!(
                Arc::ptr_eq(&first, &again),
                "the second call is served from the memo"
            );
        }
        for s in &cache.shards {
            let s = s.lock().unwrap();
            assert!(s.bytes <= budget);
            assert!(!s.map.is_empty());
            let held: usize = s
                .map
                .values()
                .map(|(t, ids)| t.len() + ids.len() * 4 + 64)
                .sum();
            assert_eq!(held, s.bytes);
        }
        assert!(
            cleared > 0,
            "the budget was reached and shards were cleared"
        );
        let long = "word ".repeat(MAX_CACHED_TEXT);
        assert_eq!(
            cache.encode(bpe, &long).len(),
            bpe.encode_ordinary(&long).len()
        );
    }
}
