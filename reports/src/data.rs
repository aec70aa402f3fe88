//! The analysis commands' results as data: what the lever and sweep renderers (text, Markdown,
//! JSON, charts) all draw from. Its own module so the renderers depend on it and not on each
//! other.

use crate::fmt::num;
use serde::{Deserialize, Serialize};

/// One step of the lever waterfall: the scenario with the levers so far switched on.
///
/// The first step is the naive proof of concept (its savings are zero); each later step switches
/// one more lever on. `saving_usd` and `saving_percent` are this step's p50 daily saving against
/// the step before it (positive when the lever made the agent cheaper).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeverStep {
    pub name: String,
    pub p50_usd_per_day: f64,
    pub p95_usd_per_day: f64,
    pub saving_usd: f64,
    pub saving_percent: f64,
}

/// One swept value and the daily-cost figures the engine produced for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The value; for a non-numeric parameter, the point's position in the list.
    pub value: f64,
    /// The value as written, for a non-numeric parameter (`5m`, `1h`): shown everywhere in
    /// place of `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub breach_probability: f64,
}

/// A parameter sweep: the parameter's path in the scenario, the daily budget the breach
/// probabilities were measured against, and one point per value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub param: String,
    pub daily_budget: Option<f64>,
    pub points: Vec<SweepPoint>,
    /// Where the p95 daily cost crosses the budget, found by bisection after the grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossing: Option<Crossing>,
}

/// The budget crossing of a numeric sweep: the crossing lies in `[low, high]` (`low` holds
/// the budget at p95, `high` does not); `value` interpolates linearly between them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Crossing {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Sweep {
    /// The largest swept value whose p95 daily cost is at or under the budget; `None` without a
    /// budget or when no value holds it. Only swept values count: nothing is interpolated.
    pub fn largest_value_under_budget(&self) -> Option<f64> {
        let budget = self.daily_budget?;
        if self.is_labelled() {
            return None;
        }
        self.points
            .iter()
            .filter(|p| p.p95 <= budget && p.value.is_finite())
            .map(|p| p.value)
            .max_by(f64::total_cmp)
    }

    /// Whether the values are labels (non-numeric), plotted and listed by position.
    pub fn is_labelled(&self) -> bool {
        self.points.iter().any(|p| p.label.is_some())
    }

    /// How a point's value reads: its label, or the number.
    pub fn value_text(p: &SweepPoint) -> String {
        p.label.clone().unwrap_or_else(|| num(p.value))
    }

    pub(crate) fn sorted(&self) -> Vec<&SweepPoint> {
        let mut v: Vec<&SweepPoint> = self.points.iter().collect();
        v.sort_by(|a, b| a.value.total_cmp(&b.value));
        v
    }
}
