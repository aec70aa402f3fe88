//! The validated scenario: domain types the engine runs. Built only by
//! [`crate::Scenario::from_toml`] (or programmatically by the lever and sweep helpers), so every
//! value here is already checked: probabilities in [0, 1], models resolved, counts bounded.

use crate::catalog::{Billing, CacheTtl, ModelSpec, ServiceTier};
use crate::dist::Dist;
use serde::Serialize;

/// Index into [`Scenario::models`].
pub type ModelIdx = usize;

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    /// The day the scenario is priced for (`YYYY-MM-DD`), when it says.
    pub as_of: Option<String>,
    pub horizon: Horizon,
    /// The models the scenario uses, resolved from the catalog with overrides applied.
    pub models: Vec<ModelSpec>,
    pub traffic: Traffic,
    pub steps: Vec<Step>,
    pub stuck: Option<Stuck>,
    pub incidents: Vec<Incident>,
    pub routing: Option<Routing>,
    pub caching: Caching,
    pub limits: Limits,
    pub batching: Batching,
    /// Fixed monthly costs in pUSD: (name, amount).
    pub fixed_costs: Vec<(String, u64)>,
    /// Daily budget the breach probability is measured against, pUSD.
    pub daily_budget_pusd: Option<u64>,
    /// Rate-limit pools named in the scenario (`[models.X] rate_limit_pool`), by model id.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub rate_limit_pools: std::collections::BTreeMap<String, String>,
    /// The usage tier of each provider that has one (`usage_tier`): its monthly spend cap is
    /// a limit the run reports the first day of (`BudgetSummary::spend_caps`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spend_caps: Vec<SpendCap>,
}

/// A provider's usage tier and the monthly spend cap that comes with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendCap {
    pub provider: crate::catalog::Provider,
    /// Anthropic `start`, `build`, `scale`; OpenAI `tier-1` ... `tier-5`.
    pub usage_tier: &'static str,
    /// The most the organization may spend with this provider in a month, pUSD.
    pub monthly_cap_pusd: u64,
}

impl Scenario {
    /// The rate-limit pool of model `m`: the scenario's name for it, else the provider's
    /// default (`LimitRules::default_pool`), else none (the model has its own limits).
    pub fn limit_pool_name(&self, m: ModelIdx) -> Option<&str> {
        let spec = &self.models[m];
        self.rate_limit_pools
            .get(&spec.id)
            .map(String::as_str)
            .or_else(|| crate::catalog::LimitRules::default_pool(spec.provider, &spec.id))
    }

    /// Per model: the first model of its rate-limit pool (itself when it has none). Models of
    /// one pool draw from one set of buckets (validation checks they have the same limits).
    pub fn limit_pools(&self) -> Vec<ModelIdx> {
        (0..self.models.len())
            .map(|m| match self.limit_pool_name(m) {
                Some(name) => (0..m)
                    .find(|&j| self.limit_pool_name(j) == Some(name))
                    .unwrap_or(m),
                None => m,
            })
            .collect()
    }

    /// The model step `step` runs on: its own, or for a routed step the tier's (`strong` for
    /// the strong tier, else the cheap one). Shared by the engine and `burnrate drive`.
    pub fn step_model(&self, step: usize, strong: bool) -> ModelIdx {
        match self.steps[step].model {
            StepModel::Fixed(m) => m,
            StepModel::Routed => {
                let r = self
                    .routing
                    .as_ref()
                    .expect("validated: routed steps need [routing]");
                if strong {
                    r.strong_model
                } else {
                    r.cheap_model
                }
            }
        }
    }
}

impl Scenario {
    /// The cache lifetime of a call of `step` (`None`: the router) on `model`: the step's
    /// `ttl`, else `[caching] ttl` when written, else the model's default (5m, or 30m on
    /// OpenAI GPT-5.6+). Validation checked the model offers it.
    pub fn cache_ttl(&self, step: Option<usize>, model: ModelIdx) -> CacheTtl {
        step.and_then(|s| self.steps[s].ttl)
            .or(self.caching.ttl_set.then_some(self.caching.ttl))
            .unwrap_or_else(|| self.models[model].default_ttl())
    }

    /// The name of cost line `line` ([`crate::agent::CallSetup::line`]): a step's, then
    /// `router`, then `summarize`.
    pub fn line_name(&self, line: usize) -> &str {
        match line.cmp(&self.steps.len()) {
            std::cmp::Ordering::Less => &self.steps[line].name,
            std::cmp::Ordering::Equal => "router",
            std::cmp::Ordering::Greater => "summarize",
        }
    }

    /// How a call of `step` (`None`: router and summarize calls, billed at the standard tier
    /// without uplift) on `model` is billed.
    pub fn billing(&self, step: Option<usize>, model: ModelIdx, batch: bool) -> Billing {
        let (tier, region) = match step {
            Some(s) => (self.steps[s].tier, self.steps[s].region.as_deref()),
            None => (ServiceTier::Standard, None),
        };
        Billing {
            ttl: self.cache_ttl(step, model),
            tier: if batch { ServiceTier::Batch } else { tier },
            uplift_permille: region
                .and_then(|r| self.models[model].regions.get(r).copied())
                .unwrap_or(1000),
        }
    }

    /// One line per model the scenario uses that its provider retires on or before `as_of`
    /// (`YYYY-MM-DD`), with the date and the suggested successor. The scenario still runs.
    pub fn retirement_warnings(&self, as_of: &str) -> Vec<String> {
        self.models
            .iter()
            .filter(|m| m.retired_on(as_of))
            .map(|m| {
                let date = m.deprecation_date.as_deref().unwrap_or("?");
                let successor = match &m.successor {
                    Some(s) => format!("; suggested successor: `{s}`"),
                    None => String::new(),
                };
                format!(
                    "model `{}` was retired by its provider on {date} (as of {as_of}){successor}; prices are the last known",
                    m.id
                )
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Horizon {
    pub days: u32,
    pub replicas: u32,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrivals {
    /// A Poisson process (non-homogeneous when profiles, growth or surges apply).
    Poisson,
    /// Exactly the expected count each day, evenly spaced: for exact arithmetic.
    Uniform,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GrowthShape {
    Linear,
    Exponential,
}

#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    pub tasks_per_day: f64,
    pub arrivals: Arrivals,
    /// 24 hourly weights normalised to mean 1.
    pub daily_profile: Option<[f64; 24]>,
    /// 7 daily weights (day 0 of the horizon is the first) normalised to mean 1.
    pub weekly_profile: Option<[f64; 7]>,
    /// Tasks per day at the end of the growth span, reached by `growth_shape`.
    pub growth_to_tasks_per_day: Option<f64>,
    pub growth_shape: GrowthShape,
    /// Days over which growth happens (default: the scenario file's horizon), so `--days`
    /// never changes the traffic a day carries; traffic stays at the end value after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth_over_days: Option<f64>,
    pub kinds: Vec<TaskKind>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskKind {
    pub name: String,
    /// Normalised share of arrivals.
    pub share: f64,
    /// Indices into [`Scenario::steps`], in order.
    pub steps: Vec<usize>,
    /// Multiplies every token draw of this kind's calls.
    pub token_scale: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextMode {
    /// The call sees its own prefix and fresh input only.
    Fresh,
    /// The call also carries every earlier output and tool result of the task.
    Accumulate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "model")]
pub enum StepModel {
    Fixed(ModelIdx),
    /// The tier the router picked (see [`Routing`]).
    Routed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summarize {
    pub model: ModelIdx,
    pub output_tokens: Dist,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: String,
    pub model: StepModel,
    /// Static, cacheable prefix (system prompt, tool definitions).
    pub prefix_tokens: Dist,
    /// Fresh input of each call.
    pub input_tokens: Dist,
    pub output_tokens: Dist,
    /// Output cap: a longer draw is truncated (finish_reason "length").
    pub max_tokens: Option<u64>,
    /// Calls per task (drawn per task).
    pub repeat: Dist,
    /// Tool result tokens entering the context after each call.
    pub tool_result_tokens: Option<Dist>,
    /// Summarize tool results with a cheap model before they enter the context.
    pub summarize: Option<Summarize>,
    pub context: ContextMode,
    /// Whether the prefix is marked cacheable (also needs `[caching]` on).
    pub cache: bool,
    /// Cache lifetime this step asks for (else `[caching] ttl`, else the model's default).
    pub ttl: Option<CacheTtl>,
    /// Sent through the batch API: discounted, completes after a delay.
    pub batch: bool,
    /// Service tier billed (`Batch` exactly when `batch`).
    pub tier: ServiceTier,
    /// Processing region whose uplift applies (checked against every model the step uses).
    pub region: Option<String>,
    /// Hidden reasoning tokens per call: billed as output, counted against `max_tokens` and
    /// the output rate limits, drawn again on every attempt; they do not enter the context.
    pub reasoning_tokens: Option<Dist>,
    /// Items combined into one call (sharing one prefix); 1 = no combining.
    pub items_per_call: u32,
    /// Longest wait to fill a combined call, seconds.
    pub combine_window_s: f64,
    pub failures: FailureRates,
    /// Error message tokens appended to the context after a malformed output or tool error.
    pub error_tokens: Dist,
    /// Explicit context growth per content retry (retry 1, 2, ...; the last repeats), replacing
    /// "failed output + error message" when set.
    pub retry_growth_tokens: Option<Vec<u64>>,
}

/// Per-call failure probabilities by kind. Their sum is at most 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct FailureRates {
    /// Unparseable or invalid output: billed in full, retried with the error appended.
    pub malformed: f64,
    /// The tool the call asked for failed: billed in full, retried with the error appended.
    pub tool_error: f64,
    /// 429 from the provider (beyond the simulated buckets): not billed, retried after backoff.
    pub rate_limit: f64,
    /// 500/502/503/529: not billed, retried after backoff.
    pub server_error: f64,
    /// No answer within `timeout_s`: input billed, retried after backoff.
    pub timeout: f64,
    pub timeout_s: f64,
}

impl FailureRates {
    pub fn total(&self) -> f64 {
        self.malformed + self.tool_error + self.rate_limit + self.server_error + self.timeout
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Stuck {
    /// Share of tasks whose agent loops on its last step.
    pub probability: f64,
    /// Extra calls a stuck task makes before giving up on its own (budgets may cut it first).
    pub extra_calls: Dist,
    /// What the looping calls carry.
    pub context: StuckContext,
}

/// The context of a stuck agent's extra calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StuckContext {
    /// Like the step's own calls: earlier outputs only on `context = "accumulate"` steps.
    Step,
    /// Every earlier output, whatever the step says (cost grows with the square of the calls).
    Accumulate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IncidentKind {
    /// Every call to the model (or all models) fails like a 5xx.
    Outage { model: Option<ModelIdx> },
    /// Adds to the server-error probability.
    FailureSpike {
        model: Option<ModelIdx>,
        extra_server_error: f64,
    },
    /// Multiplies latency.
    LatencySpike {
        model: Option<ModelIdx>,
        multiplier: f64,
    },
    /// Multiplies the arrival rate.
    Surge { multiplier: f64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    pub kind: IncidentKind,
    pub start_s: f64,
    pub end_s: f64,
}

impl Incident {
    pub fn active(&self, t_s: f64) -> bool {
        t_s >= self.start_s && t_s < self.end_s
    }
    pub fn applies_to(&self, model: ModelIdx) -> bool {
        match self.kind {
            IncidentKind::Outage { model: m }
            | IncidentKind::FailureSpike { model: m, .. }
            | IncidentKind::LatencySpike { model: m, .. } => m.is_none_or(|m| m == model),
            IncidentKind::Surge { .. } => false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Routing {
    pub classifier_model: ModelIdx,
    pub classifier_prefix_tokens: Dist,
    pub classifier_input_tokens: Dist,
    pub classifier_output_tokens: Dist,
    pub cheap_model: ModelIdx,
    pub strong_model: ModelIdx,
    /// Share of tasks that are truly easy enough for the cheap tier.
    pub easy_share: f64,
    /// Probability the classifier picks the wrong tier.
    pub misroute_rate: f64,
    /// Probability the cheap tier's answer to an easy task passes the quality check.
    pub cheap_resolution_rate: f64,
    /// Probability the cheap tier's answer to a hard (misrouted) task passes anyway.
    pub hard_on_cheap_pass_rate: f64,
    /// "Just in case": share of passing cheap answers re-done on the strong tier anyway.
    pub fallback_rate: f64,
    /// Escalate to the strong tier when the cheap tier exhausts its retries.
    pub escalate_on_failure: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Caching {
    pub enabled: bool,
    /// `[caching] ttl` as written (5m when not).
    pub ttl: CacheTtl,
    /// Whether `[caching] ttl` was written (else each model's default applies).
    pub ttl_set: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Breaker {
    /// Consecutive failed calls to a model that open its breaker.
    pub consecutive_failures: u32,
    pub cooldown_s: f64,
}

/// Lever 3: budgets, retry limits, breakers, caps.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    pub max_tokens_per_task: Option<u64>,
    pub max_pusd_per_task: Option<u64>,
    /// Retries per call after the first attempt.
    pub max_retries: u32,
    pub backoff_base_s: f64,
    pub backoff_max_s: f64,
    /// Fraction of the backoff removed at random (0.25 like the official SDKs).
    pub jitter: f64,
    pub breaker: Option<Breaker>,
    pub daily_cap_pusd: Option<u64>,
    /// Alert when a task costs more than this multiple of its expected cost.
    pub alert_multiple: Option<f64>,
    /// A task not done this long after it arrived is abandoned (checked before each call and
    /// in rate-limit queues). `None`: only the default bound on a queue wait applies
    /// ([`ceilings::DEFAULT_MAX_QUEUE_WAIT_S`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_deadline_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Batching {
    /// Share of tasks handled by rules before any LLM call.
    pub prefilter_share: f64,
    /// Batch API completion delay, seconds (capped at 24 h).
    pub batch_delay_s: Dist,
}

/// Hard ceilings that hold even when a scenario sets no budget.
pub mod ceilings {
    /// Without `[limits] task_deadline_s`, a call that has waited this long in its model's
    /// rate-limit queue abandons its task, so an overloaded queue holds at most an hour of work.
    pub const DEFAULT_MAX_QUEUE_WAIT_S: f64 = 3_600.0;
    /// Calls one task may make, retries included.
    pub const MAX_CALLS_PER_TASK: u32 = 1_000;
    /// Retries one call may make, whatever `max_retries` says.
    pub const MAX_RETRIES_PER_CALL: u32 = 50;
    /// Repeats of one step in one task.
    pub const MAX_REPEAT: u64 = 1_000;
    /// Tasks in flight at once in one replica.
    pub const MAX_TASKS_IN_FLIGHT: usize = 5_000_000;
    /// Events one replica may process.
    pub const MAX_EVENTS_PER_REPLICA: u64 = 20_000_000_000;
    /// Tokens in one call's input.
    pub const MAX_CONTEXT_TOKENS: u64 = 10_000_000;
    pub const MAX_DAYS: u32 = 3_660;
    pub const MAX_REPLICAS: u32 = 1_000_000;
    pub const MAX_TASKS_PER_DAY: f64 = 100_000_000.0;
}
