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
use std::sync::OnceLock;
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

/// Token ids of a text under o200k_base (special tokens are encoded as plain text).
pub fn encode(text: &str) -> Vec<u32> {
    if text.is_empty() {
        return Vec::new();
    }
    o200k().encode_ordinary(text)
}

/// Number of o200k_base tokens of a text.
pub fn count(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    o200k().encode_ordinary(text).len() as u64
}

/// Number of cl100k_base tokens of a text (embeddings models).
pub fn count_cl100k(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    cl100k().encode_ordinary(text).len() as u64
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
    for id in ids {
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
