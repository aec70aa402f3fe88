//! Prompt text whose token count matches the draw: words that are exactly one o200k_base token
//! each (checked with tiktoken-rs). The static prefix is the same text on every call of a step
//! line (so caching can work); the fresh input is new words per attempt, so only the prefix can
//! be cached, as the simulator assumes.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Most prefixes kept (one per step line and length in practice).
const MAX_PREFIXES: usize = 10_000;

const WORDS: &[&str] = &[
    "the", "cost", "of", "an", "agent", "is", "not", "price", "per", "token", "but", "how", "many",
    "calls", "it", "makes", "and", "what", "each", "call", "model", "cache", "budget", "retry",
    "request", "data", "time", "system", "tool", "result", "answer", "user", "support", "team",
    "day", "month", "plan", "search", "report", "value", "risk", "rate", "limit", "context",
    "prompt", "output", "input", "step", "task", "work", "first", "then", "more", "less", "with",
    "from", "into", "over", "under", "after", "before", "every", "some", "this", "that", "which",
    "when", "where", "there", "here", "can", "will", "should", "would", "could", "must", "also",
    "only", "just", "very", "well", "good", "new", "old", "high", "low", "long", "short", "fast",
    "slow", "small", "large", "simple", "clear", "real", "true",
];

/// Words that are exactly one o200k_base token with a leading space, so `n` of them joined by
/// spaces are `n` tokens (the pre-tokenizer splits at each space-letter boundary).
pub(crate) fn vocabulary() -> &'static [String] {
    static V: OnceLock<Vec<String>> = OnceLock::new();
    V.get_or_init(|| {
        let bpe = tiktoken_rs::o200k_base_singleton();
        let mut v: Vec<String> = WORDS
            .iter()
            .map(|w| format!(" {w}"))
            .filter(|w| bpe.encode_ordinary(w).len() == 1)
            .collect();
        v.dedup();
        if v.is_empty() {
            v.push(" the".to_string());
        }
        v
    })
}

/// `n` tokens of text drawn from `rng`.
pub(crate) fn words<R: Rng>(rng: &mut R, n: u64) -> String {
    let vocab = vocabulary();
    let mut s = String::with_capacity(n as usize * 7);
    for _ in 0..n {
        s.push_str(&vocab[rng.random_range(0..vocab.len())]);
    }
    s
}

/// The static prefix of a step line: the same `n`-token text on every call.
pub(crate) fn prefix_text(
    cache: &Mutex<HashMap<(usize, u64), Arc<String>>>,
    line: usize,
    n: u64,
) -> Arc<String> {
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = map.get(&(line, n)) {
        return s.clone();
    }
    let mut rng =
        Pcg64Mcg::seed_from_u64(0x7072_6566_6978 ^ (line as u64).wrapping_mul(0x9E37_79B9));
    let text = Arc::new(words(&mut rng, n));
    if map.len() < MAX_PREFIXES {
        map.insert((line, n), text.clone());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_text_has_the_requested_token_count() {
        let bpe = tiktoken_rs::o200k_base_singleton();
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        for n in [1u64, 7, 128, 1500] {
            assert_eq!(bpe.encode_ordinary(&words(&mut rng, n)).len() as u64, n);
        }
        assert!(vocabulary().len() > 50);
    }
}
