//! burnrate-sim: the catalog, the scenario model, the discrete-event Monte Carlo engine and its
//! statistics. Pure: no IO, no clock, no global state. Randomness comes only from the seed.

pub mod agent;
mod arrivals;
mod calibrate;
mod capacity;
mod catalog;
mod ci;
mod dist;
mod drive_report;
mod engine;
mod fitstats;
mod levers;
mod litellm;
mod model;
mod money;
mod replicas;
mod result;
mod run;
mod run_facts;
mod scenario;
mod search;
mod shard;
pub mod stats;
mod tally;
mod timeline;
mod traces;
mod usage;
mod usage_log;

pub use arrivals::ArrivalProcess;
pub use calibrate::{
    Calibration, FailureFit, Fit, HoldoutDay, StepFit, calibrate, calibrate_calls, daily_cost_usd,
    fit,
};
pub use capacity::{LIMIT_KINDS, SATURATED_SHARE};
pub use catalog::{
    Billing, BillingError, CacheTtl, Catalog, CostBreakdown, Latency, LimitRules, LongContext,
    ModelKind, ModelSpec, PriceBand, PriceCard, Provider, RateLimits, Rates, ServiceTier,
    TokenCounts, UsageTier, is_iso_date, nearest,
};
pub use dist::{Dist, Shape};
pub use drive_report::{Difference, DriveReport, EndpointLedger, Figures, Spread};
pub use engine::EngineError;
pub use fitstats::{ArrivalFit, GROWTH_T, Gof, KS_REJECT_P, LatencyFit};
pub use levers::{lever_variants, naive_poc};
pub use litellm::{LiteLlmError, LiteLlmImport, import_litellm, models_to_toml};
pub use model::ceilings::DEFAULT_MAX_QUEUE_WAIT_S;
pub use model::{
    Arrivals, Batching, Breaker, Caching, ContextMode, FailureRates, GrowthShape, Horizon,
    Incident, IncidentKind, Limits, ModelIdx, Routing, Scenario, SpendCap, Step, StepModel, Stuck,
    StuckContext, Summarize, TaskKind, Traffic, ceilings,
};
pub use money::{
    PUSD_PER_USD, pusd_per_token_from_usd_per_mtok, pusd_to_usd, usd_per_mtok, usd_to_pusd,
};
pub use replicas::SimError;
pub use result::{
    Band, Binding, BudgetSummary, CacheSummary, CallCounts, CapacitySummary, CostSummary,
    FirstBreach, KindBreakdown, LatencyQuantiles, LatencySummary, LimitRung, Limiting,
    ModelCapacity, MonthBand, MonthSummary, PrecisionSummary, Quantiles, RoutingSummary, SimResult,
    SpendCapSummary, TaskCounts, Timeline, TimelineDay, TimelineMonth, WaitQuantiles,
};
pub use run::{
    PRECISION_BATCH, Progress, RunOptions, precision_reached, scenario_hash, simulate,
    simulate_until, simulate_until_with, simulate_with,
};
pub use scenario::{ModelTableError, ScenarioError, model_from_table};
pub use shard::{MergeError, ShardSummary, merge_shards, simulate_shard};
pub use stats::Ci95;
pub use tally::FAILURE_KINDS;
pub use tally::SATURATION_WAIT_S;
pub use timeline::{MONTH_DAYS, traffic_changes};
pub use traces::{Call, Calls, Ingest, IngestOptions, IngestReport, InputFormat, MAX_CALLS};
pub use usage::{Usage, UsageError, parse_usage};
pub use usage_log::{
    CalibrateError, Observation, civil_date, parse_line, parse_log, parse_time_us,
};
