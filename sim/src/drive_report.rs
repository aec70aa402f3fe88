//! What `burnrate drive` reports: the figures it measured against an endpoint, the simulator's
//! prediction for the same task count, and their difference. The drive crate computes them;
//! the reports crate renders them; both meet here, at the data.

use serde::Serialize;
use std::collections::BTreeMap;

/// Mean, standard deviation and quantiles of a per-task quantity.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub sd: f64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of per-task values (sample sd, nearest-rank quantiles); zeros when empty.
    pub fn of(values: &[f64]) -> Spread {
        if values.is_empty() {
            return Spread::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Spread {
            mean: values.iter().sum::<f64>() / values.len() as f64,
            sd: crate::stats::sample_variance(values).sqrt(),
            p50: crate::stats::quantile_sorted(&sorted, 0.5),
            p95: crate::stats::quantile_sorted(&sorted, 0.95),
            max: sorted[sorted.len() - 1],
        }
    }
}

/// The figures both sides report, with the same keys.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Figures {
    pub tasks: f64,
    pub succeeded: f64,
    pub failed: f64,
    pub partial: f64,
    pub cost_total_usd: f64,
    pub cost_per_task_usd: Spread,
    /// Mean USD per task by step name (plus `router` and `summarize` lines when used).
    pub cost_per_step_usd: BTreeMap<String, f64>,
    pub calls_per_task: f64,
    pub retries_per_task: f64,
    /// Calls per task that waited for a rate limit (the engine's queue; drive: a mock 429
    /// naming a simulated limit, waited out).
    pub rate_limit_waits_per_task: f64,
    pub cache_hit_rate: f64,
    pub errors_per_task: BTreeMap<String, f64>,
    pub latency_s: Spread,
    /// Routed tasks that succeeded on the cheap tier, per routed task (0 without routing).
    pub cheap_tier_share: f64,
    /// Routed tasks escalated to the strong tier after a cheap attempt, per routed task.
    pub escalation_rate: f64,
}

/// Measured minus predicted.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Difference {
    pub cost_per_task_usd: f64,
    pub cost_per_task_relative: f64,
    /// Measured minus predicted mean, in standard errors of a mean over this many tasks.
    pub cost_per_task_z: f64,
    pub cost_total_usd: f64,
    pub cost_per_step_usd: BTreeMap<String, f64>,
    pub calls_per_task: f64,
    pub retries_per_task: f64,
    pub rate_limit_waits_per_task: f64,
    pub cache_hit_rate: f64,
    pub errors_per_task: BTreeMap<String, f64>,
    pub latency_s_mean: f64,
}

/// What the endpoint's own ledger (the mock's `/_mock/usage`) billed during the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EndpointLedger {
    pub requests: u64,
    pub cost_pusd: u64,
    pub cost_usd: f64,
    /// What the endpoint billed per driven task, unreadable responses included.
    pub cost_per_task_usd: f64,
    /// Drive's usage-based cost, pUSD (a string: it can exceed 2^53).
    pub measured_cost_pusd: String,
}

/// One `burnrate drive` run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DriveReport {
    pub scenario: String,
    pub endpoint: String,
    pub seed: u64,
    pub tasks: u64,
    pub speedup: f64,
    pub concurrency: usize,
    pub wall_s: f64,
    /// Arrivals that waited for a free concurrency slot.
    pub queued_tasks: u64,
    /// Responses without readable usage (malformed or timed out): not in the measured cost.
    pub unpriced_calls: u64,
    pub predict_replicas: u32,
    pub measured: Figures,
    pub predicted: Figures,
    pub difference: Difference,
    pub endpoint_ledger: Option<EndpointLedger>,
    pub warnings: Vec<String>,
    /// The first few non-retryable HTTP errors (4xx other than 408/429), as "HTTP status: body".
    pub fatal_errors: Vec<String>,
}
