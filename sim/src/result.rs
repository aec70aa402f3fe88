//! The result of a run: the stable, documented JSON shape (see docs/output.md).
//!
//! Every figure here is derived from exact integer summaries at the very end, so the same seed
//! gives the same result whatever the thread count. Dollar figures are `f64` for display only.

use crate::stats::Ci95;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything a run reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimResult {
    /// Scenario name (from the file, or its file stem).
    pub scenario: String,
    /// SHA-256 of the validated scenario, so a result can be tied to its input.
    pub scenario_hash: String,
    pub seed: u64,
    pub replicas: u32,
    pub days: u32,
    /// Discrete events the engine processed (arrivals, call starts and ends, flushes).
    pub events: u64,
    pub tasks: TaskCounts,
    pub calls: CallCounts,
    pub cost_usd: CostSummary,
    pub budget: BudgetSummary,
    pub cache: CacheSummary,
    /// Present when the scenario routes between tiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingSummary>,
    pub latency_s: LatencySummary,
    pub capacity: CapacitySummary,
    /// The run's time axis: cost bands per day and per 30-day month.
    #[serde(default)]
    pub timeline: Timeline,
    /// Every simulated day's variable cost in USD (replica-major, day-minor), for histograms and
    /// CDFs. Bounded by replicas x days, not by tasks.
    pub daily_costs_usd: Vec<f64>,
    /// Cumulative spend over the first simulated day of replica 0, one point per minute with
    /// spend: (hour of day, cumulative USD).
    pub sample_day: Vec<(f64, f64)>,
    /// Present when the run used `--precision`: the target and how it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<PrecisionSummary>,
}

/// How a `--precision` run ended.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PrecisionSummary {
    /// Target: largest distance from the p95 daily cost to either end of its 95% interval,
    /// relative to it (0.01 for `--precision 1%`).
    pub target: f64,
    /// The same distance reached by the replicas run.
    pub achieved: f64,
    /// Replicas per batch (replica index ranges, so the result does not depend on batching).
    pub batch_replicas: u32,
    /// The cap on replicas.
    pub max_replicas: u32,
    /// Whether the target was reached (false: the cap stopped the run first).
    pub reached: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskCounts {
    /// Tasks that arrived (over all replicas and days).
    pub total: u64,
    /// Finished with a complete result.
    pub succeeded: u64,
    /// Gave up: retries exhausted, breaker open, outage.
    pub failed: u64,
    /// Stopped by a token or dollar budget and returned a partial result.
    pub partial: u64,
    /// Handled by rule-based pre-filtering without any LLM call.
    pub prefiltered: u64,
    /// Refused because the daily spend cap was reached.
    pub rejected_by_daily_cap: u64,
    /// Failed tasks handed to a human (breaker open or retries exhausted).
    pub escalated_to_human: u64,
    /// Tasks that cost more than `alert_multiple` x the expected task cost.
    pub cost_alerts: u64,
    /// Tasks stuck in a loop (cut off by a budget or the engine's hard ceiling).
    pub runaway: u64,
    /// Tasks still in flight when the horizon ended (not counted in the other outcomes).
    pub unfinished: u64,
    /// Tasks past `[limits] task_deadline_s`, or (without a deadline) whose call waited more
    /// than an hour for a rate limit: billed for the calls they made.
    #[serde(default)]
    pub abandoned: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CallCounts {
    /// Every API call attempt, including failed ones.
    pub total: u64,
    /// Attempts that repeated an earlier failed attempt.
    pub retries: u64,
    pub retries_per_task: f64,
    /// Failed attempts by kind: malformed, tool_error, rate_limit, server_error, timeout,
    /// outage, breaker_open.
    pub failures_by_kind: BTreeMap<String, u64>,
    /// 429s caused by the simulated RPM/TPM buckets (waited out before the call ran).
    pub rate_limit_waits: u64,
    /// Calls sent through the batch API.
    pub batch_calls: u64,
}

/// Quantiles of a distribution in USD, each with its 95% confidence interval (`_ci95`, see
/// `stats` for how each is computed).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Quantiles {
    pub mean: f64,
    #[serde(default)]
    pub mean_ci95: Ci95,
    pub p50: f64,
    #[serde(default)]
    pub p50_ci95: Ci95,
    pub p95: f64,
    #[serde(default)]
    pub p95_ci95: Ci95,
    pub p99: f64,
    #[serde(default)]
    pub p99_ci95: Ci95,
    pub max: f64,
    /// Conditional value at risk: mean of the worst 5%.
    pub cvar95: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MonthSummary {
    pub mean: f64,
    #[serde(default)]
    pub mean_ci95: Ci95,
    pub p50: f64,
    #[serde(default)]
    pub p50_ci95: Ci95,
    pub p95: f64,
    #[serde(default)]
    pub p95_ci95: Ci95,
    pub p99: f64,
    #[serde(default)]
    pub p99_ci95: Ci95,
    /// Fixed monthly costs included in the figures above.
    pub fixed: f64,
    /// True when the run is shorter than a month and each replica's total was scaled to 30
    /// days (the spread is then overstated); false when the figures come from real months.
    #[serde(default)]
    pub extrapolated: bool,
    /// Replica-months the figures rest on (0 when extrapolated).
    #[serde(default)]
    pub months: u64,
}

/// Quantiles across replicas of one period's cost, USD.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Band {
    pub mean: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TimelineDay {
    /// 1-based day of the horizon.
    pub day: u32,
    /// Mean tasks arriving that day, across replicas.
    pub tasks_mean: f64,
    /// That day's variable cost across replicas.
    pub cost_usd: Band,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MonthBand {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TimelineMonth {
    /// 1-based month of the horizon (days 1-30, 31-60, ...).
    pub month: u32,
    /// Simulated days in this month: 30, or fewer for a partial last month.
    pub days: u32,
    /// The month's variable cost plus fixed costs (prorated for a partial month).
    pub cost_usd: MonthBand,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Timeline {
    /// Whether traffic changes over the horizon (growth, weekly profile, incidents).
    pub traffic_changes: bool,
    pub days: Vec<TimelineDay>,
    pub months: Vec<TimelineMonth>,
}

/// Quantiles over the replicas that breach of the first day (1-based) they breach.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FirstBreach {
    pub p05: u32,
    pub p50: u32,
    pub p95: u32,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KindBreakdown {
    pub input: f64,
    pub cache_write: f64,
    pub cache_read: f64,
    pub output: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CostSummary {
    /// Cost of one task (all its calls), over every finished task.
    pub per_task: Quantiles,
    /// Variable cost of one simulated day.
    pub per_day: Quantiles,
    /// Cost of a 30-day month per replica (days scaled to 30) plus fixed costs.
    pub per_month: MonthSummary,
    /// Mean USD per day by step name.
    pub by_step: BTreeMap<String, f64>,
    /// Mean USD per day by model id.
    pub by_model: BTreeMap<String, f64>,
    /// Mean USD per day by token kind.
    pub by_kind: KindBreakdown,
    /// Mean USD per day spent through the batch API (included in the figures above).
    pub batch_per_day: f64,
    /// Mean USD per day spent on attempts that failed (waste) and on the retries after them.
    pub retry_overhead_per_day: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BudgetSummary {
    /// The scenario's daily budget, if it has one.
    pub daily_usd: Option<f64>,
    /// Share of simulated days whose cost exceeded the daily budget.
    pub breach_probability: f64,
    /// Wilson 95% interval of the breach probability on the effective number of days.
    #[serde(default)]
    pub breach_probability_ci95: Ci95,
    /// breach_probability x 30.
    pub expected_breach_days_per_month: f64,
    /// Daily budget / p95 daily cost: how many times traffic can grow before p95 breaches
    /// (cost is close to linear in traffic).
    pub headroom_multiple: Option<f64>,
    /// First day whose cost exceeds the daily budget, over the replicas that ever breach
    /// (null when none does).
    #[serde(default)]
    pub first_breach_day: Option<FirstBreach>,
    /// Share of replicas with at least one day over the budget.
    #[serde(default)]
    pub replicas_ever_breaching: f64,
    /// Each provider usage tier's monthly spend cap (`usage_tier`): when the run reaches it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spend_caps: Vec<SpendCapSummary>,
}

/// A usage tier's monthly spend cap met by the run: the provider's month-to-date spend
/// (30-day months from day 1, each task's cost on its arrival day) against the cap.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpendCapSummary {
    pub provider: String,
    pub usage_tier: String,
    pub monthly_cap_usd: f64,
    /// Share of replicas whose month-to-date spend passes the cap on some day.
    pub replicas_reaching: f64,
    /// The first such day (1-based, of the horizon), over the replicas that reach it.
    pub first_day: Option<FirstBreach>,
    /// The run's mean daily spend with this provider x 30, USD (a month at the run's average
    /// traffic; a growing scenario's later months spend more).
    pub month_mean_usd: f64,
    /// The steady traffic at which a 30-day month's spend equals the cap, at the run's cost
    /// per task with this provider.
    pub cap_tasks_per_day: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CacheSummary {
    /// Cache reads / cache lookups, over calls whose prefix was cacheable.
    pub hit_rate: f64,
    /// Hit rate by step name (steps with caching on and a cacheable prefix).
    pub by_step: BTreeMap<String, f64>,
    /// Mean USD per day saved against paying full input price for every cached token
    /// (write premiums counted against the saving).
    pub savings_per_day: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoutingSummary {
    /// Share of routed tasks resolved on the cheap tier.
    pub cheap_tier_share: f64,
    /// Share of routed tasks escalated to the strong tier after a cheap attempt.
    pub escalation_rate: f64,
    /// Share of routed tasks the classifier sent to the wrong tier.
    pub misroute_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LatencyQuantiles {
    pub mean: f64,
    pub p50: f64,
    #[serde(default)]
    pub p50_ci95: Ci95,
    pub p95: f64,
    #[serde(default)]
    pub p95_ci95: Ci95,
    pub p99: f64,
    #[serde(default)]
    pub p99_ci95: Ci95,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Arrival to final answer, seconds (batch steps included).
    pub task: LatencyQuantiles,
    /// Histogram of task latency: (upper bound in seconds, count), log-spaced buckets.
    pub task_histogram: Vec<(f64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelCapacity {
    /// Highest requests started in any one simulated minute.
    pub peak_rpm: u64,
    /// Highest input+output tokens in any one simulated minute.
    pub peak_tpm: u64,
    pub limit_rpm: Option<u64>,
    /// Input + output tokens per minute (OpenAI's TPM).
    pub limit_tpm: Option<u64>,
    /// Input tokens per minute (Anthropic's ITPM).
    #[serde(default)]
    pub limit_itpm: Option<u64>,
    /// Output tokens per minute (Anthropic's OTPM).
    #[serde(default)]
    pub limit_otpm: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CapacitySummary {
    pub by_model: BTreeMap<String, ModelCapacity>,
    /// Largest tasks/day (the scenario's daily and weekly shape, steady) at which no rate
    /// limit saturates, found by bisection on short simulations; null without rate limits.
    pub max_sustainable_tasks_per_day: Option<f64>,
    /// The limit that saturates just above `max_sustainable_tasks_per_day`.
    #[serde(default)]
    pub limiting: Option<Limiting>,
    /// What it would take: every limit the traffic uses, in the order traffic meets them, with
    /// the tasks/day at which each binds and what to raise it to for the next one to bind
    /// instead. Fluid estimates from the search's pilot (each limit's peak minute meeting it;
    /// the bisection refines only the first, `max_sustainable_tasks_per_day`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub what_it_would_take: Vec<LimitRung>,
    /// Whether a rate limit saturated in this run (see `binding`).
    #[serde(default)]
    pub saturated: bool,
    /// Every (model, limit) that saturated: in some hour at least 5% of the model's calls
    /// waited 60 s or more for it. Ordered by the first such hour.
    #[serde(default)]
    pub binding: Vec<Binding>,
    /// Time a task spent waiting for rate limits, seconds.
    #[serde(default)]
    pub task_wait_s: WaitQuantiles,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WaitQuantiles {
    pub p50: f64,
    pub p95: f64,
}

/// A model's rate limit that saturates.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Binding {
    pub model: String,
    /// `RPM`, `TPM` (input + output), `ITPM` (input only) or `OTPM` (output only).
    pub limit: String,
    /// First saturated hour, counted from the start of the horizon (0-based).
    pub first_hour: u32,
    /// Queue wait of the model's calls that had to queue, seconds.
    pub wait_s: WaitQuantiles,
}

/// One limit of [`CapacitySummary::what_it_would_take`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LimitRung {
    /// The model (for a shared pool: its first model in the scenario).
    pub model: String,
    /// `RPM`, `TPM`, `ITPM` or `OTPM`, counted as the provider counts it.
    pub limit: String,
    /// The limit as set, per minute.
    pub limit_per_min: u64,
    /// The daily traffic (the scenario's shape, steady) at whose peak minute this limit is met.
    pub binds_at_tasks_per_day: f64,
    /// What this limit must be raised to for the next rung's traffic; `None` for the last.
    pub raise_to_per_min: Option<u64>,
    /// The lowest published usage tier of the model's provider (above the scenario's own)
    /// whose limit reaches `raise_to_per_min`, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_to: Option<String>,
}

/// The limit that binds first as traffic grows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Limiting {
    pub model: String,
    pub limit: String,
}
