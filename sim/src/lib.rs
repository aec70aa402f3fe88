//! burnrate-sim: the catalog, the scenario model, the discrete-event Monte Carlo engine and its
//! statistics. Pure: no IO, no clock, no global state. Randomness comes only from the seed.

mod catalog;
mod money;
mod result;

pub use catalog::{
    CacheTtl, Catalog, CostBreakdown, Latency, ModelKind, ModelSpec, Provider, RateLimits,
    TokenCounts,
};
pub use money::{
    PUSD_PER_USD, pusd_per_token_from_usd_per_mtok, pusd_to_usd, usd_per_mtok, usd_to_pusd,
};
pub use result::{
    BudgetSummary, CacheSummary, CallCounts, CapacitySummary, CostSummary, KindBreakdown,
    LatencyQuantiles, LatencySummary, ModelCapacity, MonthSummary, Quantiles, RoutingSummary,
    SimResult, TaskCounts,
};
