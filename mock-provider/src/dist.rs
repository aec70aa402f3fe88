//! Distributions for latency and output length, sampled from seeded generators.

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use serde::{Deserialize, Serialize};

/// A distribution of a non-negative quantity (seconds or tokens), validated.
#[derive(Debug, Clone, PartialEq)]
pub enum MockDist {
    Constant { value: f64 },
    Uniform { low: f64, high: f64 },
    Normal { mean: f64, sd: f64 },
    Lognormal { mean: f64, cv: f64 },
}

/// A distribution as a config file spells it. One spelling with scenarios:
/// `{ dist = "constant", value = 0.02 }`, `{ dist = "uniform", low = 1, high = 3 }`,
/// `{ dist = "normal", mean = 1.0, sd = 0.2 }` (truncated at 0) or
/// `{ dist = "lognormal", mean = 0.5, cv = 0.3 }` (by its mean and coefficient of variation).
/// The mock's first spelling, `kind` for `dist` and `min`/`max` as the uniform range, is still
/// read, with a deprecation warning ([`RawDist::deprecation`]): in a scenario `min`/`max`
/// clamp a distribution, which the mock does not do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDist {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dist: Option<String>,
    /// Deprecated: the old name of `dist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
    /// Deprecated (with `kind`): the old name of `low`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Deprecated (with `kind`): the old name of `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

const DIST_NAMES: &str = "constant, uniform, normal, lognormal";

impl RawDist {
    /// The new spelling of `dist`.
    pub fn of(dist: &MockDist) -> RawDist {
        let mut raw = RawDist::default();
        let name = match *dist {
            MockDist::Constant { value } => {
                raw.value = Some(value);
                "constant"
            }
            MockDist::Uniform { low, high } => {
                (raw.low, raw.high) = (Some(low), Some(high));
                "uniform"
            }
            MockDist::Normal { mean, sd } => {
                (raw.mean, raw.sd) = (Some(mean), Some(sd));
                "normal"
            }
            MockDist::Lognormal { mean, cv } => {
                (raw.mean, raw.cv) = (Some(mean), Some(cv));
                "lognormal"
            }
        };
        raw.dist = Some(name.to_string());
        raw
    }

    /// When this is the old spelling: the same distribution in the new one, for a warning.
    pub fn deprecation(&self) -> Option<String> {
        if self.kind.is_none() && self.min.is_none() && self.max.is_none() {
            return None;
        }
        let new = self.to_dist().ok().map(|d| RawDist::of(&d).inline());
        Some(match new {
            Some(new) => format!("the mock's old spelling (`kind`, `min`/`max`) is deprecated; write {new}, as scenarios do"),
            None => "the mock's old spelling (`kind`, `min`/`max`) is deprecated; write `dist` and, for uniform, `low`/`high`, as scenarios do".to_string(),
        })
    }

    /// The new spelling as an inline TOML table.
    fn inline(&self) -> String {
        let mut parts = vec![format!("dist = {:?}", self.dist.as_deref().unwrap_or(""))];
        for (k, v) in [
            ("value", self.value),
            ("mean", self.mean),
            ("cv", self.cv),
            ("sd", self.sd),
            ("low", self.low),
            ("high", self.high),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k} = {v}"));
            }
        }
        format!("{{ {} }}", parts.join(", "))
    }

    /// The distribution, checked; the error says what is allowed (the caller names the field).
    pub fn to_dist(&self) -> Result<MockDist, String> {
        let name = match (&self.dist, &self.kind) {
            (Some(_), Some(_)) => return Err("give `dist` (or the old `kind`), not both".into()),
            (Some(n), None) | (None, Some(n)) => n.as_str(),
            (None, None) => return Err(format!("missing `dist`: one of {DIST_NAMES}")),
        };
        let old = self.kind.is_some();
        if !old && (self.min.is_some() || self.max.is_some()) {
            return Err("`min`/`max` clamp a scenario's distribution; the mock does not clamp: give a uniform range as `low` and `high`".into());
        }
        if self.low.is_some() && self.min.is_some() || self.high.is_some() && self.max.is_some() {
            return Err("give `low`/`high` (or the old `min`/`max`), not both".into());
        }
        let (low, high) = (self.low.or(self.min), self.high.or(self.max));
        let given = [
            ("value", self.value.is_some()),
            ("mean", self.mean.is_some()),
            ("cv", self.cv.is_some()),
            ("sd", self.sd.is_some()),
            ("low", low.is_some()),
            ("high", high.is_some()),
        ];
        let takes: &[&str] = match name {
            "constant" => &["value"],
            "uniform" => &["low", "high"],
            "normal" => &["mean", "sd"],
            "lognormal" => &["mean", "cv"],
            other => {
                return Err(format!(
                    "unknown distribution `{other}`: one of {DIST_NAMES}"
                ));
            }
        };
        for (key, present) in given {
            if present != takes.contains(&key) {
                return Err(format!(
                    "`{name}` takes {}",
                    takes
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
            }
        }
        let need = |v: Option<f64>| v.unwrap_or_default();
        let dist = match name {
            "constant" => MockDist::Constant {
                value: need(self.value),
            },
            "uniform" => MockDist::Uniform {
                low: need(low),
                high: need(high),
            },
            "normal" => MockDist::Normal {
                mean: need(self.mean),
                sd: need(self.sd),
            },
            _ => MockDist::Lognormal {
                mean: need(self.mean),
                cv: need(self.cv),
            },
        };
        dist.validate()?;
        Ok(dist)
    }
}

impl MockDist {
    /// Checks the parameters; the error says what is allowed (the caller names the field).
    pub fn validate(&self) -> Result<(), String> {
        let bad = Err;
        let finite_nonneg = |v: f64| v.is_finite() && v >= 0.0;
        match *self {
            MockDist::Constant { value } if !finite_nonneg(value) => {
                bad(format!("value must be >= 0, got {value}"))
            }
            MockDist::Uniform { low, high }
                if !(finite_nonneg(low) && finite_nonneg(high) && low <= high) =>
            {
                bad(format!(
                    "needs 0 <= low <= high, got low {low}, high {high}"
                ))
            }
            MockDist::Normal { mean, sd } if !(finite_nonneg(mean) && finite_nonneg(sd)) => {
                bad(format!("needs mean >= 0 and sd >= 0, got {mean}, {sd}"))
            }
            MockDist::Lognormal { mean, cv }
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
            MockDist::Constant { value } => value,
            MockDist::Uniform { low, high } => (low + high) / 2.0,
            MockDist::Normal { mean, .. } | MockDist::Lognormal { mean, .. } => mean,
        }
    }

    /// One draw, never negative.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let v = match *self {
            MockDist::Constant { value } => value,
            MockDist::Uniform { low, high } => {
                if high > low {
                    rng.random_range(low..high)
                } else {
                    low
                }
            }
            MockDist::Normal { mean, sd } => {
                Normal::new(mean, sd).map(|d| d.sample(rng)).unwrap_or(mean)
            }
            MockDist::Lognormal { mean, cv } => {
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
