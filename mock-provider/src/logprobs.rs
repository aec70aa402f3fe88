//! Log-probabilities for the tokens a chat completion sends (`logprobs: true`,
//! `top_logprobs: k`), in OpenAI's `ChatCompletionTokenLogprob` shape
//! (https://platform.openai.com/docs/api-reference/chat/object: `token`, `logprob`, `bytes`,
//! `top_logprobs` sorted most likely first).
//!
//! Plausible, not real: each sent token's probability is `exp(-x)` with `x` exponential of
//! mean 0.35 (a confident model: a median token probability near 0.78), drawn from a stream
//! seeded by the request and the token's position; the alternatives share the remaining
//! mass, halving each, so the top list's probabilities sum to less than 1.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::Serialize;

/// One alternative of `top_logprobs`.
#[derive(Debug, Clone, Serialize)]
pub struct TopLogprob {
    pub token: String,
    pub logprob: f64,
    pub bytes: Vec<u8>,
}

/// One sent token.
#[derive(Debug, Clone, Serialize)]
pub struct TokenLogprob {
    pub token: String,
    pub logprob: f64,
    pub bytes: Vec<u8>,
    pub top_logprobs: Vec<TopLogprob>,
}

/// Mean of the exponential draw of `-logprob`.
const MEAN_SURPRISE: f64 = 0.35;
/// Least log-probability reported (OpenAI reports -9999.0 for the impossible; the mock
/// stays far from it).
const FLOOR: f64 = -20.0;

/// Log-probabilities for `pieces` with `top` alternatives each (at most 20, as the API
/// allows), deterministic in `seed`.
pub fn for_pieces<S: AsRef<str>>(pieces: &[S], top: usize, seed: u64) -> Vec<TokenLogprob> {
    let top = top.min(20);
    let vocab = crate::tokens::vocabulary();
    let mut rng = Pcg64Mcg::seed_from_u64(crate::cache::mix(seed, 0x1097));
    pieces
        .iter()
        .map(|piece| {
            let token = piece.as_ref().to_string();
            let u: f64 = rng.random();
            // Inverse CDF of the exponential; 1 - u is in (0, 1].
            let logprob = (MEAN_SURPRISE * (1.0 - u).ln()).max(FLOOR);
            let rest = (1.0 - logprob.exp()).max(1e-9);
            let mut alts = vec![TopLogprob {
                token: token.clone(),
                logprob,
                bytes: token.as_bytes().to_vec(),
            }];
            let mut share = rest / 2.0;
            let mut tries = 0;
            while alts.len() < top && tries < 20 * top {
                tries += 1;
                let word = vocab[rng.random_range(0..vocab.len())];
                let word = format!(" {}", word.trim_start());
                if alts.iter().any(|a| a.token == word) {
                    continue;
                }
                alts.push(TopLogprob {
                    bytes: word.as_bytes().to_vec(),
                    token: word,
                    logprob: share.ln().max(FLOOR),
                });
                share /= 2.0;
            }
            alts.truncate(top);
            alts.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
            TokenLogprob {
                bytes: token.as_bytes().to_vec(),
                token,
                logprob,
                top_logprobs: alts,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_are_plausible_and_seeded() {
        let pieces: Vec<String> = (0..2000).map(|i| format!(" w{i}")).collect();
        let a = for_pieces(&pieces, 5, 7);
        assert_eq!(a.len(), 2000);
        for t in &a {
            assert!(t.logprob <= 0.0 && t.logprob >= FLOOR);
            assert_eq!(t.top_logprobs.len(), 5);
            let mass: f64 = t.top_logprobs.iter().map(|x| x.logprob.exp()).sum();
            assert!(mass <= 1.0 + 1e-9, "{mass}");
            assert!(
                t.top_logprobs
                    .windows(2)
                    .all(|w| w[0].logprob >= w[1].logprob)
            );
            assert!(t.top_logprobs.iter().any(|x| x.token == t.token));
        }
        // -logprob is exponential with mean 0.35: its sample mean over n = 2000 is within
        // 4 sigma = 4 * 0.35 / sqrt(2000) of 0.35.
        let mean = a.iter().map(|t| -t.logprob).sum::<f64>() / 2000.0;
        assert!((mean - 0.35).abs() < 4.0 * 0.35 / 2000f64.sqrt(), "{mean}");
        let b = for_pieces(&pieces, 5, 7);
        assert!(a.iter().zip(&b).all(|(x, y)| x.logprob == y.logprob));
    }
}
