//! Distributions for latency and output length, sampled from seeded generators.

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use serde::{Deserialize, Serialize};

/// A distribution of a non-negative quantity (seconds or tokens).
///
/// TOML: `{ kind = "constant", value = 0.02 }`, `{ kind = "uniform", min = 1, max = 3 }`,
/// `{ kind = "normal", mean = 1.0, sd = 0.2 }` (truncated at 0), or
/// `{ kind = "lognormal", mean = 0.5, cv = 0.3 }` (parameterised by its mean and coefficient
/// of variation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Dist {
    Constant { value: f64 },
    Uniform { min: f64, max: f64 },
    Normal { mean: f64, sd: f64 },
    Lognormal { mean: f64, cv: f64 },
}

impl Dist {
    /// Checks the parameters; the error says what is allowed (the caller names the field).
    pub fn validate(&self) -> Result<(), String> {
        let bad = Err;
        let finite_nonneg = |v: f64| v.is_finite() && v >= 0.0;
        match *self {
            Dist::Constant { value } if !finite_nonneg(value) => {
                bad(format!("value must be >= 0, got {value}"))
            }
            Dist::Uniform { min, max }
                if !(finite_nonneg(min) && finite_nonneg(max) && min <= max) =>
            {
                bad(format!("needs 0 <= min <= max, got min {min}, max {max}"))
            }
            Dist::Normal { mean, sd } if !(finite_nonneg(mean) && finite_nonneg(sd)) => {
                bad(format!("needs mean >= 0 and sd >= 0, got {mean}, {sd}"))
            }
            Dist::Lognormal { mean, cv }
                if !(finite_nonneg(mean) && finite_nonneg(cv) && cv < 100.0) =>
            {
                bad(format!(
                    "needs mean >= 0 and 0 <= cv < 100, got {mean}, {cv}"
                ))
            }
            _ => Ok(()),
        }
    }

    /// The mean of the distribution (of the untruncated normal).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Constant { value } => value,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Normal { mean, .. } | Dist::Lognormal { mean, .. } => mean,
        }
    }

    /// One draw, never negative.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let v = match *self {
            Dist::Constant { value } => value,
            Dist::Uniform { min, max } => {
                if max > min {
                    rng.random_range(min..max)
                } else {
                    min
                }
            }
            Dist::Normal { mean, sd } => {
                Normal::new(mean, sd).map(|d| d.sample(rng)).unwrap_or(mean)
            }
            Dist::Lognormal { mean, cv } => {
                if mean <= 0.0 || cv <= 0.0 {
                    mean
                } else {
                    let sigma2 = (1.0 + cv * cv).ln();
                    let mu = mean.ln() - sigma2 / 2.0;
                    LogNormal::new(mu, sigma2.sqrt())
                        .map(|d| d.sample(rng))
                        .unwrap_or(mean)
                }
            }
        };
        if v.is_finite() { v.max(0.0) } else { 0.0 }
    }
}
