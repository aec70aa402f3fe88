//! Mergeable summaries: exact integer sums and HDR histograms, so replicas (and threads, and
//! shards) combine exactly and in any grouping. Memory is bounded by the number of steps,
//! models, days and histogram buckets, never by the number of tasks.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Failure kinds, in report order.
/// A call that waits at least this long for its model's rate limits is "slow"; an hour in
/// which at least [`crate::SATURATED_SHARE`] of a model's attempts are slow is saturated (the
/// p95 wait of that hour is over the threshold). The engine counts slow calls per hour into
/// the summary; `capacity.rs` reads the counts.
pub const SATURATION_WAIT_S: f64 = 60.0;

pub const FAILURE_KINDS: [&str; 7] = [
    "malformed",
    "tool_error",
    "rate_limit",
    "server_error",
    "timeout",
    "outage",
    "breaker_open",
];

pub(crate) const F_MALFORMED: usize = 0;
pub(crate) const F_TOOL_ERROR: usize = 1;
pub(crate) const F_RATE_LIMIT: usize = 2;
pub(crate) const F_SERVER_ERROR: usize = 3;
pub(crate) const F_TIMEOUT: usize = 4;
pub(crate) const F_OUTAGE: usize = 5;
pub(crate) const F_BREAKER: usize = 6;

/// Highest value the task-cost histogram holds, in nano-dollars ($1M).
const COST_HIST_MAX_NUSD: u64 = 1_000_000_000_000_000;
/// Highest task latency the histogram holds, ms (100 days).
const LATENCY_HIST_MAX_MS: u64 = 8_640_000_000;

/// A histogram of waits in ms: 2 significant digits are plenty for a wait and keep the
/// per-model histograms small.
fn wait_histogram() -> Histogram<u64> {
    Histogram::new_with_max(LATENCY_HIST_MAX_MS, 2).expect("static histogram bounds are valid")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Tally {
    pub tasks_total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub partial: u64,
    pub prefiltered: u64,
    pub rejected_by_cap: u64,
    pub escalated_to_human: u64,
    pub cost_alerts: u64,
    pub runaway: u64,
    pub unfinished: u64,
    /// Tasks past their deadline or abandoned in an overloaded rate-limit queue.
    #[serde(default)]
    pub abandoned: u64,

    pub events: u64,
    pub calls: u64,
    pub retries: u64,
    pub failures: [u64; 7],
    pub rate_limit_waits: u64,
    pub batch_calls: u64,

    /// pUSD by step (steps, then one "router" and one "summarize" line).
    pub cost_by_step: Vec<u128>,
    pub cost_by_model: Vec<u128>,
    /// input, cache_write, cache_read, output.
    pub cost_by_kind: [u128; 4],
    pub cost_batch: u128,
    pub cost_retry_overhead: u128,
    pub cache_savings: i128,
    /// Per step line: (lookups, hits).
    pub cache_by_step: Vec<(u64, u64)>,

    pub routed_tasks: u64,
    pub resolved_cheap: u64,
    pub escalated: u64,
    pub misrouted: u64,

    /// Variable cost of every day, replica-major.
    pub day_costs: Vec<u128>,
    /// Per replica: total variable cost (for the month distribution).
    pub replica_costs: Vec<u128>,
    /// Tasks that arrived on every day, replica-major like `day_costs` (for the timeline).
    #[serde(default)]
    pub day_tasks: Vec<u64>,
    /// Variable cost of every day by spend cap (`Scenario::spend_caps`: the models of that
    /// cap's provider), replica-major, then day, then cap.
    #[serde(default)]
    pub day_cap_costs: Vec<u128>,
    pub task_cost_sum: u128,
    /// Exact extremes of the task cost, pUSD (the histogram is exact to 3 significant digits).
    pub task_cost_min: u128,
    pub task_cost_max: u128,
    #[serde(with = "hist_hex")]
    pub task_cost_nusd: Histogram<u64>,
    #[serde(with = "hist_hex")]
    pub task_latency_ms: Histogram<u64>,
    /// Per model: (peak requests in a minute, peak tokens in a minute).
    pub peaks: Vec<(u64, u64)>,
    /// Time each finished task spent in rate-limit queues, ms.
    #[serde(with = "hist_hex")]
    pub task_wait_ms: Histogram<u64>,
    /// Per model: the queue wait of every call that had to queue, ms.
    #[serde(with = "hist_vec_hex")]
    pub model_wait_ms: Vec<Histogram<u64>>,
    /// Per (hour of the horizon, model): attempts that wanted the model.
    pub hour_calls: Vec<u64>,
    /// Per (hour, model, limit kind): attempts queued that hour that waited at least the
    /// saturation threshold.
    pub hour_slow: Vec<u64>,
    /// Per model: [requests, input tokens, output tokens] of the calls made, as its provider
    /// counts them against rate limits (`LimitRules`: cache reads excluded where they do not
    /// count; output as the request's cap where the cap is not refunded).
    pub model_usage: Vec<[u64; 3]>,
    /// Replica 0, day 0: (minute of day, cumulative pUSD).
    pub sample_day: Vec<(u32, u128)>,
    /// Task cost and latency histograms by replica group (replica index mod
    /// `stats::TASK_GROUPS`, sorted by group), for the intervals of their quantiles.
    #[serde(with = "hist_hex_groups")]
    pub task_cost_groups: Vec<(u32, Histogram<u64>)>,
    #[serde(with = "hist_hex_groups")]
    pub latency_groups: Vec<(u32, Histogram<u64>)>,
    /// Per replica: (task cost sum pUSD, finished tasks), for the interval of the mean.
    pub replica_task_cost: Vec<(u128, u64)>,
}

impl Tally {
    pub fn new(step_lines: usize, models: usize, days: u32) -> Tally {
        let hours = days as usize * 24;
        Tally {
            tasks_total: 0,
            succeeded: 0,
            failed: 0,
            partial: 0,
            prefiltered: 0,
            rejected_by_cap: 0,
            escalated_to_human: 0,
            cost_alerts: 0,
            runaway: 0,
            unfinished: 0,
            abandoned: 0,
            events: 0,
            calls: 0,
            retries: 0,
            failures: [0; 7],
            rate_limit_waits: 0,
            batch_calls: 0,
            cost_by_step: vec![0; step_lines],
            cost_by_model: vec![0; models],
            cost_by_kind: [0; 4],
            cost_batch: 0,
            cost_retry_overhead: 0,
            cache_savings: 0,
            cache_by_step: vec![(0, 0); step_lines],
            routed_tasks: 0,
            resolved_cheap: 0,
            escalated: 0,
            misrouted: 0,
            day_costs: Vec::new(),
            replica_costs: Vec::new(),
            day_tasks: Vec::new(),
            day_cap_costs: Vec::new(),
            task_cost_sum: 0,
            task_cost_min: u128::MAX,
            task_cost_max: 0,
            task_cost_nusd: Histogram::new_with_max(COST_HIST_MAX_NUSD, 3)
                .expect("static histogram bounds are valid"),
            task_latency_ms: Histogram::new_with_max(LATENCY_HIST_MAX_MS, 3)
                .expect("static histogram bounds are valid"),
            peaks: vec![(0, 0); models],
            task_wait_ms: wait_histogram(),
            model_wait_ms: (0..models).map(|_| wait_histogram()).collect(),
            hour_calls: vec![0; hours * models],
            hour_slow: vec![0; hours * models * 4],
            model_usage: vec![[0; 3]; models],
            sample_day: Vec::new(),
            task_cost_groups: Vec::new(),
            latency_groups: Vec::new(),
            replica_task_cost: Vec::new(),
        }
    }

    /// Records what this single replica (index `index`) contributes to interval estimates;
    /// called once per replica, before merging.
    pub fn record_replica(&mut self, index: u32) {
        let group = index % crate::stats::TASK_GROUPS as u32;
        self.task_cost_groups = vec![(group, self.task_cost_nusd.clone())];
        self.latency_groups = vec![(group, self.task_latency_ms.clone())];
        self.replica_task_cost = vec![(self.task_cost_sum, self.finished_tasks())];
    }

    /// Adds `other` into `self`. Associative and, but for the order of the per-day and
    /// per-replica lists (kept in replica order by the caller), commutative.
    pub fn merge(&mut self, other: &Tally) {
        self.tasks_total += other.tasks_total;
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.partial += other.partial;
        self.prefiltered += other.prefiltered;
        self.rejected_by_cap += other.rejected_by_cap;
        self.escalated_to_human += other.escalated_to_human;
        self.cost_alerts += other.cost_alerts;
        self.runaway += other.runaway;
        self.unfinished += other.unfinished;
        self.abandoned += other.abandoned;
        self.events += other.events;
        self.calls += other.calls;
        self.retries += other.retries;
        for (a, b) in self.failures.iter_mut().zip(other.failures) {
            *a += b;
        }
        self.rate_limit_waits += other.rate_limit_waits;
        self.batch_calls += other.batch_calls;
        for (a, b) in self.cost_by_step.iter_mut().zip(&other.cost_by_step) {
            *a += b;
        }
        for (a, b) in self.cost_by_model.iter_mut().zip(&other.cost_by_model) {
            *a += b;
        }
        for (a, b) in self.cost_by_kind.iter_mut().zip(other.cost_by_kind) {
            *a += b;
        }
        self.cost_batch += other.cost_batch;
        self.cost_retry_overhead += other.cost_retry_overhead;
        self.cache_savings += other.cache_savings;
        for (a, b) in self.cache_by_step.iter_mut().zip(&other.cache_by_step) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.routed_tasks += other.routed_tasks;
        self.resolved_cheap += other.resolved_cheap;
        self.escalated += other.escalated;
        self.misrouted += other.misrouted;
        self.day_costs.extend_from_slice(&other.day_costs);
        self.replica_costs.extend_from_slice(&other.replica_costs);
        self.day_tasks.extend_from_slice(&other.day_tasks);
        self.day_cap_costs.extend_from_slice(&other.day_cap_costs);
        self.task_cost_sum += other.task_cost_sum;
        self.task_cost_min = self.task_cost_min.min(other.task_cost_min);
        self.task_cost_max = self.task_cost_max.max(other.task_cost_max);
        self.task_cost_nusd
            .add(&other.task_cost_nusd)
            .expect("histograms share bounds");
        self.task_latency_ms
            .add(&other.task_latency_ms)
            .expect("histograms share bounds");
        for (a, b) in self.peaks.iter_mut().zip(&other.peaks) {
            a.0 = a.0.max(b.0);
            a.1 = a.1.max(b.1);
        }
        self.task_wait_ms
            .add(&other.task_wait_ms)
            .expect("histograms share bounds");
        for (a, b) in self.model_wait_ms.iter_mut().zip(&other.model_wait_ms) {
            a.add(b).expect("histograms share bounds");
        }
        for (a, b) in self.hour_calls.iter_mut().zip(&other.hour_calls) {
            *a += b;
        }
        for (a, b) in self.hour_slow.iter_mut().zip(&other.hour_slow) {
            *a += b;
        }
        for (a, b) in self.model_usage.iter_mut().zip(&other.model_usage) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        if self.sample_day.is_empty() {
            self.sample_day.clone_from(&other.sample_day);
        }
        merge_groups(&mut self.task_cost_groups, &other.task_cost_groups);
        merge_groups(&mut self.latency_groups, &other.latency_groups);
        self.replica_task_cost
            .extend_from_slice(&other.replica_task_cost);
    }

    pub fn finished_tasks(&self) -> u64 {
        self.succeeded + self.failed + self.partial + self.abandoned
    }
}

/// Adds group histograms into `into` (sorted by group): exact, in any order.
fn merge_groups(into: &mut Vec<(u32, Histogram<u64>)>, other: &[(u32, Histogram<u64>)]) {
    for (g, h) in other {
        match into.binary_search_by_key(g, |x| x.0) {
            Ok(i) => into[i].1.add(h).expect("histograms share bounds"),
            Err(i) => into.insert(i, (*g, h.clone())),
        }
    }
}

/// Group histograms as `[[group, hex], ...]`.
mod hist_hex_groups {
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Hex(#[serde(with = "super::hist_hex")] Histogram<u64>);

    pub fn serialize<S: Serializer>(v: &[(u32, Histogram<u64>)], s: S) -> Result<S::Ok, S::Error> {
        let hex: Vec<(u32, Hex)> = v.iter().map(|(g, h)| (*g, Hex(h.clone()))).collect();
        hex.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(u32, Histogram<u64>)>, D::Error> {
        let v: Vec<(u32, Hex)> = Vec::deserialize(d)?;
        Ok(v.into_iter().map(|(g, h)| (g, h.0)).collect())
    }
}

/// HDR histograms travel as hex of their V2 serialization (lossless), so shard summaries are
/// plain JSON.
mod hist_hex {
    use hdrhistogram::Histogram;
    use hdrhistogram::serialization::{Deserializer as HistDe, Serializer as _, V2Serializer};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(h: &Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(h, &mut bytes)
            .map_err(|e| serde::ser::Error::custom(format!("{e:?}")))?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&hex)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        let hex = String::deserialize(d)?;
        if hex.len() % 2 != 0 {
            return Err(D::Error::custom("histogram hex has an odd length"));
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(D::Error::custom)?;
        HistDe::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| D::Error::custom(format!("bad histogram: {e:?}")))
    }
}

/// A list of histograms as a list of hex strings.
mod hist_vec_hex {
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Hex(#[serde(with = "super::hist_hex")] Histogram<u64>);

    pub fn serialize<S: Serializer>(v: &[Histogram<u64>], s: S) -> Result<S::Ok, S::Error> {
        let hex: Vec<Hex> = v.iter().map(|h| Hex(h.clone())).collect();
        hex.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Histogram<u64>>, D::Error> {
        Ok(Vec::<Hex>::deserialize(d)?
            .into_iter()
            .map(|h| h.0)
            .collect())
    }
}
