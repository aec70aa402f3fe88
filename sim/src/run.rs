//! Runs replicas in parallel and turns the merged summary into a [`SimResult`].

use crate::model::Scenario;
use crate::money::pusd_to_usd;
use crate::replicas::{SimError, in_pool, run_summary};
use crate::result::*;
use crate::stats::quantile_sorted;
use crate::tally::{FAILURE_KINDS, Tally};
use hdrhistogram::Histogram;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Overrides of the scenario's horizon for one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub replicas: Option<u32>,
    pub days: Option<u32>,
    pub seed: Option<u64>,
    /// Worker threads; `None` uses one per core. The result does not depend on it.
    pub threads: Option<usize>,
    /// Run batches of [`PRECISION_BATCH`] replicas until the 95% interval of the p95 daily cost
    /// is within this fraction of it (0.01 = 1%); `replicas` is then the minimum to run.
    pub precision: Option<f64>,
    /// Cap on replicas for `precision` (default 10,000).
    pub max_replicas: Option<u32>,
    /// Leave out the capacity searches (`capacity.max_sustainable_tasks_per_day`,
    /// `capacity.limiting`, `budget.headroom_multiple` stay empty): for callers that read only
    /// costs, such as gates, comparisons and sweeps, which then do not pay for them.
    pub skip_capacity_searches: bool,
}

/// Replicas per batch of a `--precision` run. Fixed, so where a run stops never depends on the
/// machine: batches are replica index ranges and replica `i` is the same in any batching.
pub const PRECISION_BATCH: u32 = 16;
const DEFAULT_MAX_REPLICAS: u32 = 10_000;

/// Whether `r`'s p95 daily cost interval is within `target` of it (both ends).
pub fn precision_reached(r: &SimResult, target: f64) -> bool {
    let pd = &r.cost_usd.per_day;
    pd.p95_ci95.relative_half_width(pd.p95) <= target
}

/// What a run reports while it works, from worker threads: for progress bars.
#[derive(Clone, Copy)]
pub struct Progress<'a> {
    /// Once per finished replica of the run itself.
    pub replica_done: &'a (dyn Fn() + Sync),
    /// Once per finished probe of the capacity and headroom searches, with the tasks it
    /// simulated: what the searches cost on top of the run.
    pub probe_done: &'a (dyn Fn(u64) + Sync),
}

impl<'a> Progress<'a> {
    /// Replicas only; probes are not reported.
    pub fn replicas(replica_done: &'a (dyn Fn() + Sync)) -> Self {
        Progress {
            replica_done,
            probe_done: &|_| {},
        }
    }
}

impl std::fmt::Debug for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// Simulates `scenario` and summarises every replica. `on_replica_done` is called once per
/// finished replica (from worker threads), for progress bars.
pub fn simulate(
    scenario: &Scenario,
    options: &RunOptions,
    on_replica_done: &(dyn Fn() + Sync),
) -> Result<SimResult, SimError> {
    simulate_with(scenario, options, Progress::replicas(on_replica_done))
}

/// [`simulate`], reporting the searches' probes too.
pub fn simulate_with(
    scenario: &Scenario,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<SimResult, SimError> {
    let on_replica_done = progress.replica_done;
    if let Some(target) = options.precision {
        return simulate_until_with(
            scenario,
            options,
            &|r| precision_reached(r, target),
            progress,
        );
    }
    let mut sc = scenario.clone();
    apply_options(&mut sc, options)?;
    let summary = run_summary(
        &sc,
        0..sc.horizon.replicas,
        options.threads,
        on_replica_done,
    )?;
    let mut result = build_result_without_searches(&sc, &summary);
    if !options.skip_capacity_searches {
        in_pool(options.threads, || {
            add_capacity_searches(&sc, &summary, &mut result, progress.probe_done)
        })?;
    }
    Ok(result)
}

/// Runs batches of [`PRECISION_BATCH`] replicas (after a first run of `options.replicas`, or one
/// batch, rounded up to whole batches) until `done` says the result is good enough or
/// `options.max_replicas` is reached. The result records the replicas used and, when
/// `options.precision` is set, how the target ended. Deterministic: `done` sees the same
/// results in the same order whatever the thread count.
pub fn simulate_until(
    scenario: &Scenario,
    options: &RunOptions,
    done: &dyn Fn(&SimResult) -> bool,
    on_replica_done: &(dyn Fn() + Sync),
) -> Result<SimResult, SimError> {
    simulate_until_with(scenario, options, done, Progress::replicas(on_replica_done))
}

/// [`simulate_until`], reporting the searches' probes too.
pub fn simulate_until_with(
    scenario: &Scenario,
    options: &RunOptions,
    done: &dyn Fn(&SimResult) -> bool,
    progress: Progress<'_>,
) -> Result<SimResult, SimError> {
    let on_replica_done = progress.replica_done;
    let target = options.precision.unwrap_or(0.0);
    if !(0.0..1.0).contains(&target) {
        return Err(SimError::InvalidOption(format!(
            "--precision must be a fraction in [0, 1) such as 1% or 0.01, got {target}"
        )));
    }
    let max = options.max_replicas.unwrap_or(DEFAULT_MAX_REPLICAS);
    if max == 0 || max > crate::model::ceilings::MAX_REPLICAS {
        return Err(SimError::InvalidOption(format!(
            "--max-replicas must be between 1 and {}, got {max}",
            crate::model::ceilings::MAX_REPLICAS
        )));
    }
    let mut sc = scenario.clone();
    apply_options(
        &mut sc,
        &RunOptions {
            replicas: None,
            ..options.clone()
        },
    )?;
    let first = options
        .replicas
        .unwrap_or(PRECISION_BATCH)
        .div_ceil(PRECISION_BATCH)
        .saturating_mul(PRECISION_BATCH)
        .clamp(1, max);
    let mut summary = run_summary(&sc, 0..first, options.threads, on_replica_done)?;
    let mut used = first;
    loop {
        sc.horizon.replicas = used;
        // The searches depend on the scenario, not on how many replicas ran: once, at the end.
        let mut result = build_result_without_searches(&sc, &summary);
        let ok = done(&result);
        if ok || used >= max {
            if let Some(target) = options.precision {
                let pd = &result.cost_usd.per_day;
                result.precision = Some(PrecisionSummary {
                    target,
                    achieved: pd.p95_ci95.relative_half_width(pd.p95),
                    batch_replicas: PRECISION_BATCH,
                    max_replicas: max,
                    reached: ok,
                });
            }
            if !options.skip_capacity_searches {
                in_pool(options.threads, || {
                    add_capacity_searches(&sc, &summary, &mut result, progress.probe_done);
                })?;
            }
            return Ok(result);
        }
        let next = used.saturating_add(PRECISION_BATCH).min(max);
        let batch = run_summary(&sc, used..next, options.threads, on_replica_done)?;
        summary.merge(&batch);
        used = next;
    }
}

fn apply_options(sc: &mut Scenario, options: &RunOptions) -> Result<(), SimError> {
    if let Some(r) = options.replicas {
        if r == 0 || r > crate::model::ceilings::MAX_REPLICAS {
            return Err(SimError::InvalidOption(format!(
                "--replicas must be between 1 and {}, got {r}",
                crate::model::ceilings::MAX_REPLICAS
            )));
        }
        sc.horizon.replicas = r;
    }
    if let Some(d) = options.days {
        if d == 0 || d > crate::model::ceilings::MAX_DAYS {
            return Err(SimError::InvalidOption(format!(
                "--days must be between 1 and {}, got {d}",
                crate::model::ceilings::MAX_DAYS
            )));
        }
        sc.horizon.days = d;
        for inc in &mut sc.incidents {
            let horizon_s = f64::from(d) * 86_400.0;
            inc.start_s = inc.start_s.min(horizon_s);
            inc.end_s = inc.end_s.min(horizon_s);
        }
    }
    if let Some(s) = options.seed {
        sc.horizon.seed = s;
    }
    Ok(())
}

/// The scenario with a run's overrides applied (what `simulate` actually runs).
pub(crate) fn with_options(
    scenario: &Scenario,
    options: &RunOptions,
) -> Result<Scenario, SimError> {
    let mut sc = scenario.clone();
    apply_options(&mut sc, options)?;
    Ok(sc)
}

/// SHA-256 of the validated scenario (hex), so any result replays from its input.
pub fn scenario_hash(sc: &Scenario) -> String {
    let json = serde_json::to_vec(sc).expect("scenarios serialize");
    let digest = Sha256::digest(&json);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn usd(pusd: u128) -> f64 {
    pusd_to_usd(pusd)
}

fn exact_quantiles(values: &[u128]) -> Quantiles {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len().max(1) as u128;
    let sum: u128 = sorted.iter().sum();
    let tail_start = sorted.len() - sorted.len().div_ceil(20).min(sorted.len());
    let tail = &sorted[tail_start..];
    let cvar = if tail.is_empty() {
        0
    } else {
        tail.iter().sum::<u128>() / tail.len() as u128
    };
    Quantiles {
        mean: usd(sum / n) + usd(sum % n) / n as f64,
        p50: usd(quantile_sorted(&sorted, 0.50)),
        p95: usd(quantile_sorted(&sorted, 0.95)),
        p99: usd(quantile_sorted(&sorted, 0.99)),
        max: usd(sorted.last().copied().unwrap_or(0)),
        cvar95: usd(cvar),
        ..Default::default()
    }
}

fn hist_cvar95(h: &Histogram<u64>) -> f64 {
    let p95 = h.value_at_quantile(0.95);
    let (mut sum, mut count) = (0f64, 0u64);
    for v in h.iter_recorded() {
        if v.value_iterated_to() >= p95 {
            sum += h.median_equivalent(v.value_iterated_to()) as f64 * v.count_at_value() as f64;
            count += v.count_at_value();
        }
    }
    if count == 0 { 0.0 } else { sum / count as f64 }
}

/// The result of a merged summary, with the capacity searches.
pub(crate) fn build_result(sc: &Scenario, s: &Tally) -> SimResult {
    let mut result = build_result_without_searches(sc, s);
    add_capacity_searches(sc, s, &mut result, &|_| {});
    result
}

/// The bisection searches over fresh probe runs: the traffic the rate limits sustain and the
/// budget headroom. They cost more than the statistics, so callers that skip them can.
fn add_capacity_searches(
    sc: &Scenario,
    s: &Tally,
    result: &mut SimResult,
    on_probe: &(dyn Fn(u64) + Sync),
) {
    let mut days = s.day_costs.clone();
    days.sort_unstable();
    result.budget.headroom_multiple =
        crate::capacity::headroom_multiple(sc, quantile_sorted(&days, 0.95), on_probe);
    if let Some((sustainable, limiting, mut ladder)) =
        crate::capacity::max_sustainable(sc, on_probe)
    {
        crate::capacity::name_tiers(sc, &mut ladder);
        result.capacity.max_sustainable_tasks_per_day = Some(sustainable);
        result.capacity.limiting = limiting;
        result.capacity.what_it_would_take = ladder;
    }
}

fn build_result_without_searches(sc: &Scenario, s: &Tally) -> SimResult {
    let mut result = SimResult {
        scenario: sc.name.clone(),
        scenario_hash: scenario_hash(sc),
        seed: sc.horizon.seed,
        replicas: sc.horizon.replicas,
        days: sc.horizon.days,
        events: s.events,
        tasks: TaskCounts {
            total: s.tasks_total,
            succeeded: s.succeeded,
            failed: s.failed,
            partial: s.partial,
            prefiltered: s.prefiltered,
            rejected_by_daily_cap: s.rejected_by_cap,
            escalated_to_human: s.escalated_to_human,
            cost_alerts: s.cost_alerts,
            runaway: s.runaway,
            unfinished: s.unfinished,
            abandoned: s.abandoned,
        },
        calls: call_counts(s),
        cost_usd: cost_summary(sc, s),
        budget: budget_summary(sc, s),
        cache: cache_summary(sc, s),
        routing: sc.routing.as_ref().map(|_| {
            let n = s.routed_tasks.max(1) as f64;
            RoutingSummary {
                cheap_tier_share: s.resolved_cheap as f64 / n,
                escalation_rate: s.escalated as f64 / n,
                misroute_rate: s.misrouted as f64 / n,
            }
        }),
        latency_s: latency_summary(s),
        capacity: capacity_summary(sc, s),
        timeline: Timeline {
            traffic_changes: crate::timeline::traffic_changes(sc),
            ..crate::timeline::timeline(sc, s)
        },
        daily_costs_usd: s.day_costs.iter().map(|c| usd(*c)).collect(),
        sample_day: s
            .sample_day
            .iter()
            .map(|(minute, c)| (f64::from(*minute) / 60.0, usd(*c)))
            .collect(),
        precision: None,
    };
    crate::ci::add_intervals(sc, s, &mut result);
    result
}

/// Replica-days in the run (at least 1), the denominator of every per-day mean.
fn replica_days(sc: &Scenario) -> f64 {
    (u64::from(sc.horizon.days) * u64::from(sc.horizon.replicas)).max(1) as f64
}

/// Calls made, retries, failures by kind, rate-limit waits and batch calls.
fn call_counts(s: &Tally) -> CallCounts {
    let finished = s.finished_tasks();
    CallCounts {
        total: s.calls,
        retries: s.retries,
        retries_per_task: if finished == 0 {
            0.0
        } else {
            s.retries as f64 / finished as f64
        },
        failures_by_kind: FAILURE_KINDS
            .iter()
            .zip(s.failures)
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        rate_limit_waits: s.rate_limit_waits,
        batch_calls: s.batch_calls,
    }
}

/// Cost per task (histogram quantiles), per day and per month (exact), and the per-day means
/// by step, model and kind of token.
fn cost_summary(sc: &Scenario, s: &Tally) -> CostSummary {
    let days_total = replica_days(sc);
    let per_day_mean = |pusd: u128| usd(pusd) / days_total;
    let mut by_step = BTreeMap::new();
    for (i, c) in s.cost_by_step.iter().enumerate() {
        if i < sc.steps.len() || *c > 0 {
            by_step.insert(sc.line_name(i).to_string(), per_day_mean(*c));
        }
    }
    let mut by_model = BTreeMap::new();
    for (i, c) in s.cost_by_model.iter().enumerate() {
        if *c > 0 {
            by_model.insert(sc.models[i].id.clone(), per_day_mean(*c));
        }
    }
    CostSummary {
        per_task: per_task_quantiles(s),
        per_day: exact_quantiles(&s.day_costs),
        per_month: crate::timeline::per_month(sc, s),
        by_step,
        by_model,
        by_kind: KindBreakdown {
            input: per_day_mean(s.cost_by_kind[0]),
            cache_write: per_day_mean(s.cost_by_kind[1]),
            cache_read: per_day_mean(s.cost_by_kind[2]),
            output: per_day_mean(s.cost_by_kind[3]),
        },
        batch_per_day: per_day_mean(s.cost_batch),
        retry_overhead_per_day: per_day_mean(s.cost_retry_overhead),
    }
}

/// Cost per finished task: quantiles from the histogram, the mean and extremes exact.
fn per_task_quantiles(s: &Tally) -> Quantiles {
    let finished = s.finished_tasks();
    let h = &s.task_cost_nusd;
    let (lo, hi) = if finished == 0 {
        (0.0, 0.0)
    } else {
        (usd(s.task_cost_min), usd(s.task_cost_max))
    };
    // Histogram quantiles are exact to 3 significant digits; the exact extremes bound them.
    let q = |p: f64| (h.median_equivalent(h.value_at_quantile(p)) as f64 / 1e9).clamp(lo, hi);
    Quantiles {
        mean: if finished == 0 {
            0.0
        } else {
            usd(s.task_cost_sum) / finished as f64
        },
        p50: q(0.50),
        p95: q(0.95),
        p99: q(0.99),
        max: hi,
        cvar95: (hist_cvar95(h) / 1e9).clamp(lo, hi),
        ..Default::default()
    }
}

/// The daily budget's breaches (share of days, first day, replicas) and the spend caps.
fn budget_summary(sc: &Scenario, s: &Tally) -> BudgetSummary {
    let breaches = match sc.daily_budget_pusd {
        Some(b) => s.day_costs.iter().filter(|c| **c > u128::from(b)).count(),
        None => 0,
    };
    let breach_probability = breaches as f64 / s.day_costs.len().max(1) as f64;
    let (first_breach_day, replicas_ever_breaching) = crate::timeline::first_breach(sc, s);
    BudgetSummary {
        first_breach_day,
        replicas_ever_breaching,
        daily_usd: sc.daily_budget_pusd.map(|b| usd(u128::from(b))),
        breach_probability,
        expected_breach_days_per_month: breach_probability * 30.0,
        spend_caps: crate::timeline::spend_caps(sc, s),
        ..Default::default()
    }
}

/// Cache hit rate overall and by step, and what caching saved per day.
fn cache_summary(sc: &Scenario, s: &Tally) -> CacheSummary {
    let (lookups, hits) = s
        .cache_by_step
        .iter()
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let mut by_step = BTreeMap::new();
    for (i, (l, h)) in s.cache_by_step.iter().enumerate() {
        if *l > 0 {
            by_step.insert(sc.line_name(i).to_string(), *h as f64 / *l as f64);
        }
    }
    let savings = if s.cache_savings >= 0 {
        usd(s.cache_savings as u128)
    } else {
        -usd(s.cache_savings.unsigned_abs())
    };
    CacheSummary {
        hit_rate: if lookups == 0 {
            0.0
        } else {
            hits as f64 / lookups as f64
        },
        by_step,
        savings_per_day: savings / replica_days(sc),
    }
}

/// Task latency quantiles (seconds) and its log-bucketed histogram.
fn latency_summary(s: &Tally) -> LatencySummary {
    let lh = &s.task_latency_ms;
    let ms = |v: u64| v as f64 / 1000.0;
    if lh.is_empty() {
        return LatencySummary {
            task: LatencyQuantiles::default(),
            task_histogram: Vec::new(),
        };
    }
    LatencySummary {
        task: LatencyQuantiles {
            mean: lh.mean() / 1000.0,
            p50: ms(lh.value_at_quantile(0.50)),
            p95: ms(lh.value_at_quantile(0.95)),
            p99: ms(lh.value_at_quantile(0.99)),
            max: ms(lh.max()),
            ..Default::default()
        },
        task_histogram: lh
            .iter_log(100, 2.0)
            .map(|v| (ms(v.value_iterated_to()), v.count_since_last_iteration()))
            .collect(),
    }
}

/// Peak use against each model's limits, the limits that bind and the wait for them (the
/// searches fill in the rest).
fn capacity_summary(sc: &Scenario, s: &Tally) -> CapacitySummary {
    let mut by_model = BTreeMap::new();
    for (i, (rpm, tpm)) in s.peaks.iter().enumerate() {
        if *rpm == 0 {
            continue;
        }
        let spec = &sc.models[i];
        by_model.insert(
            spec.id.clone(),
            ModelCapacity {
                peak_rpm: *rpm,
                peak_tpm: *tpm,
                limit_rpm: spec.rate_limits.requests_per_minute,
                limit_tpm: spec.rate_limits.tokens_per_minute,
                limit_itpm: spec.rate_limits.input_tokens_per_minute,
                limit_otpm: spec.rate_limits.output_tokens_per_minute,
            },
        );
    }
    let binding = crate::capacity::binding(sc, s);
    CapacitySummary {
        by_model,
        saturated: !binding.is_empty(),
        binding,
        task_wait_s: crate::capacity::task_wait(s),
        // Filled by `add_capacity_searches`.
        max_sustainable_tasks_per_day: None,
        limiting: None,
        what_it_would_take: Vec::new(),
    }
}
