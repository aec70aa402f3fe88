//! The scenario file as written: plain serde structs, every table closed to unknown keys.
//! Nothing here is checked beyond types; `validate` turns it into [`crate::Scenario`].

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<String>,
    pub description: Option<String>,
    /// The day the scenario is priced for (`YYYY-MM-DD`): retirement warnings compare with it.
    pub as_of: Option<String>,
    /// The provider usage tier (Anthropic `start`/`build`/`scale`, OpenAI `tier-1` ...
    /// `tier-5`) every model of a provider that has it
    /// takes its rate limits and monthly spend cap from.
    pub usage_tier: Option<String>,
    #[serde(default)]
    pub horizon: RawHorizon,
    pub traffic: RawTraffic,
    #[serde(default)]
    pub models: BTreeMap<String, RawModel>,
    #[serde(default)]
    pub steps: Vec<RawStep>,
    #[serde(default)]
    pub failures: RawFailures,
    pub stuck: Option<RawStuck>,
    #[serde(default)]
    pub incidents: Vec<RawIncident>,
    pub routing: Option<RawRouting>,
    #[serde(default)]
    pub caching: RawCaching,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub batching: RawBatching,
    #[serde(default)]
    pub fixed_costs: Vec<RawFixedCost>,
    #[serde(default)]
    pub budget: RawBudget,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHorizon {
    pub days: Option<i64>,
    pub replicas: Option<i64>,
    pub seed: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraffic {
    pub tasks_per_day: f64,
    pub arrivals: Option<String>,
    pub daily_profile: Option<Vec<f64>>,
    pub weekly_profile: Option<Vec<f64>>,
    pub growth: Option<RawGrowth>,
    #[serde(default)]
    pub kinds: Vec<RawKind>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrowth {
    pub to_tasks_per_day: f64,
    pub shape: Option<String>,
    pub over_days: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKind {
    pub name: String,
    pub share: f64,
    pub steps: Option<Vec<String>>,
    pub token_scale: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Start from this catalog entry (default: the entry of the same name, if any).
    pub based_on: Option<String>,
    pub provider: Option<String>,
    pub input_usd_per_mtok: Option<f64>,
    pub output_usd_per_mtok: Option<f64>,
    pub cache_read_usd_per_mtok: Option<f64>,
    pub cache_write_5m_usd_per_mtok: Option<f64>,
    pub cache_write_1h_usd_per_mtok: Option<f64>,
    /// TTLs offered and their write prices: `{ "30m" = 5.0, "24h" = 10.0 }`.
    pub cache_write_usd_per_mtok: Option<BTreeMap<String, f64>>,
    pub flex: Option<RawRates>,
    pub priority: Option<RawRates>,
    pub batch: Option<RawRates>,
    pub long_context: Option<RawLongContext>,
    /// Regional uplift multipliers: `{ us = 1.1 }`.
    pub regions: Option<BTreeMap<String, f64>>,
    pub reasoning: Option<bool>,
    pub kind: Option<String>,
    pub max_input_tokens: Option<i64>,
    pub max_output_tokens: Option<i64>,
    pub deprecation_date: Option<String>,
    pub successor: Option<String>,
    pub min_cacheable_tokens: Option<i64>,
    pub batch_discount_percent: Option<i64>,
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub input_tokens_per_minute: Option<i64>,
    pub output_tokens_per_minute: Option<i64>,
    /// Models naming the same pool share one set of rate limits.
    pub rate_limit_pool: Option<String>,
    /// This model's provider usage tier (overrides the scenario's `usage_tier`); the limits
    /// written beside it still override the tier's.
    pub usage_tier: Option<String>,
    pub time_to_first_token_s: Option<f64>,
    pub output_tokens_per_s: Option<f64>,
    pub latency_cv: Option<f64>,
    pub as_of: Option<String>,
    pub source: Option<String>,
}

/// One tier's price list.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRates {
    pub input_usd_per_mtok: Option<f64>,
    pub output_usd_per_mtok: Option<f64>,
    pub cache_read_usd_per_mtok: Option<f64>,
    pub cache_write_usd_per_mtok: Option<BTreeMap<String, f64>>,
}

/// Prices once the prompt exceeds `above_input_tokens`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLongContext {
    pub above_input_tokens: i64,
    pub input_usd_per_mtok: Option<f64>,
    pub output_usd_per_mtok: Option<f64>,
    pub cache_read_usd_per_mtok: Option<f64>,
    pub cache_write_usd_per_mtok: Option<BTreeMap<String, f64>>,
    pub flex: Option<RawRates>,
    pub priority: Option<RawRates>,
    pub batch: Option<RawRates>,
}

/// A distribution: a plain number is a constant.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawDist {
    Number(f64),
    Table(RawDistTable),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDistTable {
    pub dist: String,
    pub value: Option<f64>,
    pub mean: Option<f64>,
    pub cv: Option<f64>,
    pub sd: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub values: Option<Vec<f64>>,
    pub weights: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub name: String,
    pub model: String,
    pub prefix_tokens: Option<RawDist>,
    pub input_tokens: Option<RawDist>,
    pub output_tokens: RawDist,
    pub max_tokens: Option<i64>,
    pub repeat: Option<RawDist>,
    pub tool_result_tokens: Option<RawDist>,
    pub summarize_with: Option<String>,
    pub summary_tokens: Option<RawDist>,
    pub context: Option<String>,
    pub cache: Option<bool>,
    pub ttl: Option<String>,
    pub batch: Option<bool>,
    pub tier: Option<String>,
    pub region: Option<String>,
    pub reasoning_tokens: Option<RawDist>,
    pub items_per_call: Option<i64>,
    pub combine_window_s: Option<f64>,
    pub failures: Option<RawFailures>,
    pub error_tokens: Option<RawDist>,
    pub retry_growth_tokens: Option<Vec<i64>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFailures {
    pub malformed: Option<f64>,
    pub tool_error: Option<f64>,
    pub rate_limit: Option<f64>,
    pub server_error: Option<f64>,
    pub timeout: Option<f64>,
    pub timeout_s: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStuck {
    pub probability: f64,
    pub extra_calls: Option<RawDist>,
    pub context: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIncident {
    pub kind: String,
    pub start_hour: f64,
    pub duration_hours: f64,
    pub model: Option<String>,
    pub server_error: Option<f64>,
    pub multiplier: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouting {
    pub classifier_model: String,
    pub classifier_prefix_tokens: Option<RawDist>,
    pub classifier_input_tokens: Option<RawDist>,
    pub classifier_output_tokens: Option<RawDist>,
    pub cheap_model: String,
    pub strong_model: String,
    pub easy_share: f64,
    pub misroute_rate: Option<f64>,
    pub cheap_resolution_rate: Option<f64>,
    pub hard_on_cheap_pass_rate: Option<f64>,
    pub fallback_rate: Option<f64>,
    pub escalate_on_failure: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCaching {
    pub enabled: Option<bool>,
    pub ttl: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_tokens_per_task: Option<i64>,
    pub max_usd_per_task: Option<f64>,
    pub max_retries: Option<i64>,
    pub backoff_base_s: Option<f64>,
    pub backoff_max_s: Option<f64>,
    pub jitter: Option<f64>,
    pub breaker: Option<RawBreaker>,
    pub daily_cap_usd: Option<f64>,
    pub alert_multiple: Option<f64>,
    pub task_deadline_s: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    pub consecutive_failures: i64,
    pub cooldown_s: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBatching {
    pub prefilter_share: Option<f64>,
    pub batch_delay_s: Option<RawDist>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFixedCost {
    pub name: String,
    pub usd_per_month: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    pub daily_usd: Option<f64>,
}
