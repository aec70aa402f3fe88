//! Distributions for token counts, repeat counts and durations, clamped to a range.

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use serde::Serialize;

/// A validated distribution over non-negative reals, clamped to `[min, max]` after drawing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dist {
    pub shape: Shape,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "lowercase")]
pub enum Shape {
    Constant {
        value: f64,
    },
    Uniform {
        low: f64,
        high: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
        #[serde(skip)]
        normal: Normal<f64>,
    },
    /// Parameterised by its mean and coefficient of variation, as people describe token counts.
    LogNormal {
        mean: f64,
        cv: f64,
        #[serde(skip)]
        lognormal: LogNormal<f64>,
    },
    /// Draws one of `values` with the given weights (cumulative, normalised to 1).
    Empirical {
        values: Vec<f64>,
        cumulative: Vec<f64>,
    },
}

impl Dist {
    pub fn constant(value: f64) -> Dist {
        Dist {
            shape: Shape::Constant { value },
            min: 0.0,
            max: f64::MAX,
        }
    }

    pub fn uniform(low: f64, high: f64) -> Dist {
        Dist {
            shape: Shape::Uniform { low, high },
            min: 0.0,
            max: f64::MAX,
        }
    }

    /// `sd >= 0`, finite.
    pub fn normal(mean: f64, sd: f64) -> Option<Dist> {
        let normal = Normal::new(mean, sd).ok()?;
        Some(Dist {
            shape: Shape::Normal { mean, sd, normal },
            min: 0.0,
            max: f64::MAX,
        })
    }

    /// Lognormal with the given mean (> 0) and coefficient of variation (>= 0):
    /// sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2.
    pub fn lognormal(mean: f64, cv: f64) -> Option<Dist> {
        if mean <= 0.0 || !mean.is_finite() || cv < 0.0 || !cv.is_finite() {
            return None;
        }
        let sigma2 = (1.0 + cv * cv).ln();
        let lognormal = LogNormal::new(mean.ln() - sigma2 / 2.0, sigma2.sqrt()).ok()?;
        Some(Dist {
            shape: Shape::LogNormal {
                mean,
                cv,
                lognormal,
            },
            min: 0.0,
            max: f64::MAX,
        })
    }

    /// `values` non-empty, `weights` the same length (or empty for equal weights), non-negative
    /// with a positive sum.
    pub fn empirical(values: Vec<f64>, weights: &[f64]) -> Option<Dist> {
        if values.is_empty() || (!weights.is_empty() && weights.len() != values.len()) {
            return None;
        }
        let weights: Vec<f64> = if weights.is_empty() {
            vec![1.0; values.len()]
        } else {
            weights.to_vec()
        };
        let total: f64 = weights.iter().sum();
        if weights.iter().any(|w| *w < 0.0 || !w.is_finite()) || total <= 0.0 {
            return None;
        }
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        Some(Dist {
            shape: Shape::Empirical { values, cumulative },
            min: 0.0,
            max: f64::MAX,
        })
    }

    pub fn clamped(mut self, min: f64, max: f64) -> Dist {
        self.min = min;
        self.max = max;
        self
    }

    /// The mean before clamping (used for expected costs and reports).
    pub fn mean(&self) -> f64 {
        let raw = match &self.shape {
            Shape::Constant { value } => *value,
            Shape::Uniform { low, high } => (low + high) / 2.0,
            Shape::Normal { mean, .. } | Shape::LogNormal { mean, .. } => *mean,
            Shape::Empirical { values, cumulative } => {
                let mut prev = 0.0;
                values
                    .iter()
                    .zip(cumulative)
                    .map(|(v, c)| {
                        let w = c - prev;
                        prev = *c;
                        v * w
                    })
                    .sum()
            }
        };
        raw.clamp(self.min, self.max)
    }

    pub fn is_constant(&self) -> bool {
        matches!(self.shape, Shape::Constant { .. })
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let x = match &self.shape {
            Shape::Constant { value } => *value,
            Shape::Uniform { low, high } => {
                if high > low {
                    rng.random_range(*low..=*high)
                } else {
                    *low
                }
            }
            Shape::Normal { normal, .. } => normal.sample(rng),
            Shape::LogNormal { lognormal, .. } => lognormal.sample(rng),
            Shape::Empirical { values, cumulative } => {
                let u: f64 = rng.random();
                let i = cumulative.partition_point(|c| *c < u).min(values.len() - 1);
                values[i]
            }
        };
        x.clamp(self.min, self.max)
    }

    /// A draw rounded to a whole count (tokens, repeats).
    pub fn sample_count<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        to_count(self.sample(rng))
    }

    /// A draw times `scale`, rounded to a whole count.
    pub fn sample_scaled<R: Rng + ?Sized>(&self, rng: &mut R, scale: f64) -> u64 {
        to_count(self.sample(rng) * scale)
    }
}

/// Rounds a non-negative draw half up to a count. Draws are clamped to `min >= 0`, so this
/// avoids libm's `round` in the engine's hot path.
#[inline]
pub fn to_count(x: f64) -> u64 {
    debug_assert!(x >= 0.0);
    (x + 0.5) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn lognormal_has_the_requested_mean() {
        let d = Dist::lognormal(800.0, 0.5).unwrap();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        let n = 200_000;
        let mean = (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / n as f64;
        // sd of the sample mean = 800 * 0.5 / sqrt(n) ~ 0.89; allow 4 sigma.
        assert!(
            (mean - 800.0).abs() < 4.0 * 400.0 / (n as f64).sqrt(),
            "mean {mean}"
        );
    }

    #[test]
    fn clamping_and_empirical() {
        let d = Dist::uniform(0.0, 100.0).clamped(10.0, 20.0);
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
        assert!(
            (0..1000)
                .map(|_| d.sample(&mut rng))
                .all(|x| (10.0..=20.0).contains(&x))
        );
        let e = Dist::empirical(vec![1.0, 2.0], &[3.0, 1.0]).unwrap();
        assert_eq!(e.mean(), 1.25);
        assert!(Dist::empirical(vec![], &[]).is_none());
        assert!(Dist::lognormal(-1.0, 0.5).is_none());
    }
}
