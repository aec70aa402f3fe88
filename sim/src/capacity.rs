//! Capacity: which rate limits bind in a run (saturation), the largest traffic the scenario
//! sustains, and the traffic multiple its budget allows, both found by bisection on short
//! simulations with common random numbers (every probe runs on the same seed, so the only
//! difference between two probes is the traffic).

use crate::model::Scenario;
use crate::replicas::run_summary;
use crate::result::{Binding, LimitRung, Limiting, WaitQuantiles};
use crate::search::{Bracket, Probed, k_section, search};
use crate::tally::Tally;
use hdrhistogram::Histogram;

/// Share of an hour's attempts that must be slow for the hour to count as saturated.
pub const SATURATED_SHARE: f64 = 0.05;

/// The limits a model can have, in the engine's bucket order.
pub const LIMIT_KINDS: [&str; 4] = ["RPM", "TPM", "ITPM", "OTPM"];

/// Hours of arrivals in a sustainable-traffic probe: long enough that a queue fed 3% faster
/// than it drains passes the saturation threshold, short enough to stay cheap.
const PROBE_HOURS: usize = 3;
/// Arrivals one probe may simulate (over all its replicas). Above it, every rate limit and
/// the traffic are scaled down together: at such rates saturation is set by throughput, not
/// by arrival noise, so the answer scales back exactly.
const MAX_PROBE_TASKS: f64 = 12_000.0;
/// Most replicas a probe runs (few-task probes use more, to smooth the hourly shares).
const MAX_PROBE_REPLICAS: f64 = 8.0;
/// Arrivals of the pilot probe that measures each task's demand on every limit.
const PILOT_TASKS: f64 = 2_000.0;
/// A probe's scaled-down buckets hold at least this many average requests each.
const MIN_REQUESTS_PER_BUCKET: f64 = 8.0;
/// A search stops as soon as its bracket is this tight (hi / lo): the answer is then known to
/// 1%. Fixed, not the run's `--precision`, so a figure does not depend on how replicas were
/// batched.
const SEARCH_RATIO: f64 = 1.02;
/// First widening step when a warm start does not bracket; squared at each further round.
const WIDEN_FIRST: f64 = 1.05;
/// The bracket may widen to this multiple of the first guess, no further (a probe's cost
/// grows with its traffic).
const MAX_WIDEN: f64 = 64.0;

fn quantile_s(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

/// The task wait quantiles (time in rate-limit queues).
pub(crate) fn task_wait(s: &Tally) -> WaitQuantiles {
    WaitQuantiles {
        p50: quantile_s(&s.task_wait_ms, 0.50),
        p95: quantile_s(&s.task_wait_ms, 0.95),
    }
}

/// The (model, limit) pairs that saturate, in order of the first saturated hour.
pub(crate) fn binding(sc: &Scenario, s: &Tally) -> Vec<Binding> {
    let models = sc.models.len();
    let hours = s.hour_calls.len() / models.max(1);
    let mut first: Vec<Option<usize>> = vec![None; models * LIMIT_KINDS.len()];
    for h in 0..hours {
        for m in 0..models {
            let calls = s.hour_calls[h * models + m];
            let slow_at = |k: usize| s.hour_slow[(h * models + m) * 4 + k];
            let slow: u64 = (0..4).map(slow_at).sum();
            if slow == 0 || (slow as f64) < SATURATED_SHARE * calls as f64 {
                continue;
            }
            for k in 0..4 {
                if slow_at(k) > 0 && first[m * 4 + k].is_none() {
                    first[m * 4 + k] = Some(h);
                }
            }
        }
    }
    let mut out: Vec<Binding> = first
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let (m, k) = (i / 4, i % 4);
            h.map(|h| Binding {
                model: sc.models[m].id.clone(),
                limit: LIMIT_KINDS[k].to_string(),
                first_hour: h as u32,
                wait_s: WaitQuantiles {
                    p50: quantile_s(&s.model_wait_ms[m], 0.50),
                    p95: quantile_s(&s.model_wait_ms[m], 0.95),
                },
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.first_hour
            .cmp(&b.first_hour)
            .then_with(|| a.model.cmp(&b.model))
            .then_with(|| a.limit.cmp(&b.limit))
    });
    out
}

fn has_rate_limits(sc: &Scenario) -> bool {
    sc.models.iter().any(|m| {
        let l = &m.rate_limits;
        l.requests_per_minute.is_some()
            || l.tokens_per_minute.is_some()
            || l.input_tokens_per_minute.is_some()
            || l.output_tokens_per_minute.is_some()
    })
}

/// The probe for the sustainable-traffic search: the scenario's peak-hour arrival rate for
/// `x` tasks a day (daily x weekly profile peak), held for `PROBE_HOURS` hours; no growth,
/// no incidents, no daily cap (it would hide overload by refusing work); rate limits divided
/// by `scale`.
fn probe_scenario(sc: &Scenario, x: f64, peak: f64, scale: f64, replicas: u32) -> Scenario {
    let mut p = sc.clone();
    let mut profile = [0.0; 24];
    for w in profile.iter_mut().take(PROBE_HOURS) {
        *w = 24.0 / PROBE_HOURS as f64;
    }
    // PROBE_HOURS hours at the peak hourly rate x * peak / 24 / scale.
    p.traffic.tasks_per_day = x * peak / scale * PROBE_HOURS as f64 / 24.0;
    p.traffic.daily_profile = Some(profile);
    // Evenly spaced arrivals ignore the profile within a day; the probe needs its peak hours.
    p.traffic.arrivals = crate::model::Arrivals::Poisson;
    p.traffic.weekly_profile = None;
    p.traffic.growth_to_tasks_per_day = None;
    p.traffic.growth_over_days = None;
    p.incidents.clear();
    p.limits.daily_cap_pusd = None;
    p.horizon.days = 1;
    p.horizon.replicas = replicas;
    if scale > 1.0 {
        for m in &mut p.models {
            let l = &mut m.rate_limits;
            for v in [
                &mut l.requests_per_minute,
                &mut l.tokens_per_minute,
                &mut l.input_tokens_per_minute,
                &mut l.output_tokens_per_minute,
            ]
            .into_iter()
            .flatten()
            {
                *v = ((*v as f64 / scale).round() as u64).max(1);
            }
        }
    }
    p
}

fn peak_factor(sc: &Scenario) -> f64 {
    sc.traffic
        .daily_profile
        .map_or(1.0, |p| p.iter().copied().fold(0.0, f64::max))
        * sc.traffic
            .weekly_profile
            .map_or(1.0, |p| p.iter().copied().fold(0.0, f64::max))
}

/// Runs one probe and tells `on_probe` how many tasks it simulated (the searches' cost, shown
/// in the progress bar).
fn probe(sc: &Scenario, on_probe: &(dyn Fn(u64) + Sync)) -> Option<Tally> {
    let s = run_summary(sc, 0..sc.horizon.replicas, None, &|| {}).ok()?;
    on_probe(s.tasks_total);
    Some(s)
}

/// The largest tasks/day at which no rate limit saturates, and the limit that binds just
/// above it. `None` when no model has a rate limit (or no bracket is found).
///
/// A pilot probe at a fixed traffic measures each task's demand on every limit (requests,
/// input+output tokens for TPM, input tokens for ITPM, output tokens for OTPM, as the
/// provider counts them: cache reads excluded where they are, output caps where admitted on
/// them, summed over a shared pool); the fluid
/// bound from it starts a bisection over probes, all on the scenario's seed (common random
/// numbers) with a size fixed by the pilot, so the answer does not depend on the traffic or
/// replica count the run started from.
pub(crate) fn max_sustainable(
    sc: &Scenario,
    on_probe: &(dyn Fn(u64) + Sync),
) -> Option<(f64, Option<Limiting>, Vec<LimitRung>)> {
    if !has_rate_limits(sc) {
        return None;
    }
    let peak = peak_factor(sc);
    if peak <= 0.0 {
        return None;
    }
    let pilot_x = PILOT_TASKS / peak * 24.0 / PROBE_HOURS as f64;
    let pilot = probe(&probe_scenario(sc, pilot_x, peak, 1.0, 1), on_probe)?;
    let tasks = pilot.tasks_total.max(1) as f64;
    // Fluid bound: the daily traffic whose peak hour meets the first limit.
    // Per pool (models sharing limits add up), in the providers' counting: `model_usage`
    // holds the input and output each limit counts (`LimitRules`).
    let pools = sc.limit_pools();
    let mut pool_usage = vec![[0u64; 3]; sc.models.len()];
    for (m, &p) in pools.iter().enumerate() {
        for (sum, used) in pool_usage[p].iter_mut().zip(pilot.model_usage[m]) {
            *sum += used;
        }
    }
    let mut guess = f64::INFINITY;
    let mut rungs = Vec::new();
    // Scaling a bucket down must leave room for several requests, or one request's burst
    // (or its output reservation) would be a larger share of the bucket than it really is.
    let mut max_scale = f64::INFINITY;
    for (p, spec) in sc.models.iter().enumerate() {
        let [req, input, output] = pool_usage[p];
        if req == 0 {
            continue;
        }
        let per_call = |tokens: u64| tokens as f64 / req as f64;
        let reserve = per_call(output).max(largest_output_cap(sc, &pools, p) as f64);
        let l = &spec.rate_limits;
        for (kind, (limit, used, request)) in LIMIT_KINDS.into_iter().zip([
            (l.requests_per_minute, req, 1.0),
            (
                l.tokens_per_minute,
                input + output,
                per_call(input) + reserve,
            ),
            (l.input_tokens_per_minute, input, per_call(input)),
            (l.output_tokens_per_minute, output, reserve),
        ]) {
            if let (Some(limit), true) = (limit, used > 0) {
                let binds_at = limit as f64 * 1440.0 / (used as f64 / tasks) / peak;
                guess = guess.min(binds_at);
                rungs.push(LimitRung {
                    model: spec.id.clone(),
                    limit: kind.to_string(),
                    limit_per_min: limit,
                    binds_at_tasks_per_day: binds_at,
                    raise_to_per_min: None,
                    tier_to: None,
                });
                max_scale = max_scale.min(limit as f64 / (MIN_REQUESTS_PER_BUCKET * request));
            }
        }
    }
    if !guess.is_finite() {
        return None;
    }
    // Probe size from the fluid bound (not from the run), scaled down above the cap.
    let probe_tasks = guess * peak * PROBE_HOURS as f64 / 24.0 * 1.5;
    let scale = (probe_tasks / MAX_PROBE_TASKS).min(max_scale).max(1.0);
    let replicas = (MAX_PROBE_TASKS / (probe_tasks / scale)).clamp(1.0, MAX_PROBE_REPLICAS) as u32;
    // Several probes per round when one probe is one replica (one thread): the k-section's
    // rounds then cost what one bisection step does on two cores. Fixed by the probe size,
    // not the pool, so the probe sequence (and the answer) is the same on any thread count.
    let per_round = if replicas == 1 { 2 } else { 1 };
    // Warm start: the fluid bound, where the peak hour meets the first limit exactly; the
    // answer is usually just above it (a full bucket absorbs the first minutes' noise), so
    // with two probes a round the first pair closes the bracket when that holds.
    let first = if per_round == 2 {
        vec![guess, guess * SEARCH_RATIO * (1.0 - 1e-9)]
    } else {
        vec![guess]
    };
    let mut widen = WIDEN_FIRST;
    let next = |b: &Bracket, _: &[Probed<Option<Limiting>>]| {
        let points = k_section(b, per_round, widen);
        if b.both().is_none() {
            widen *= widen;
        }
        points
    };
    // Whether x saturates, and the limit that bound first when it does.
    let is_ok = |x: f64| {
        let p = probe_scenario(sc, x, peak, scale, replicas);
        let Some(s) = probe(&p, on_probe) else {
            return (false, None);
        };
        let b = binding(&p, &s);
        if s.abandoned == 0 && b.is_empty() {
            return (true, None);
        }
        let first = b.into_iter().next().map(|b| Limiting {
            model: b.model,
            limit: b.limit,
        });
        (false, first)
    };
    let (lo, hi, seen) = search(SEARCH_RATIO, guess * MAX_WIDEN, first, next, is_ok)?;
    let limiting = seen.into_iter().find(|p| p.x == hi).and_then(|p| p.data);
    Some((lo, limiting, ladder(rungs)))
}

/// Orders the limits by the traffic at which each binds; each but the last says what it must
/// be raised to (in proportion: its demand grows with traffic) for the next one to bind first.
fn ladder(mut rungs: Vec<LimitRung>) -> Vec<LimitRung> {
    rungs.sort_by(|a, b| {
        a.binds_at_tasks_per_day
            .total_cmp(&b.binds_at_tasks_per_day)
            .then_with(|| a.model.cmp(&b.model))
            .then_with(|| a.limit.cmp(&b.limit))
    });
    for i in 1..rungs.len() {
        let next = rungs[i].binds_at_tasks_per_day;
        let r = &mut rungs[i - 1];
        r.raise_to_per_min =
            Some((r.limit_per_min as f64 * next / r.binds_at_tasks_per_day).ceil() as u64);
    }
    rungs
}

/// Names, on each rung that must be raised, the lowest usage tier of its model's provider
/// (above the one the scenario is on) that publishes a high enough limit.
pub(crate) fn name_tiers(sc: &Scenario, rungs: &mut [LimitRung]) {
    for r in rungs {
        let (Some(need), Some(spec)) = (
            r.raise_to_per_min,
            sc.models.iter().find(|m| m.id == r.model),
        ) else {
            continue;
        };
        let current = sc
            .spend_caps
            .iter()
            .find(|c| c.provider == spec.provider)
            .map(|c| c.usage_tier);
        let mut tiers = crate::catalog::UsageTier::of(spec.provider).peekable();
        if let Some(current) = current {
            while tiers.next_if(|t| t.name != current).is_some() {}
            tiers.next();
        }
        r.tier_to = tiers
            .find(|t| {
                t.limits_for(&spec.id).is_some_and(|(_, l)| {
                    let limit = match r.limit.as_str() {
                        "RPM" => l.requests_per_minute,
                        "TPM" => l.tokens_per_minute,
                        "ITPM" => l.input_tokens_per_minute,
                        _ => l.output_tokens_per_minute,
                    };
                    limit.is_some_and(|v| v >= need)
                })
            })
            .map(|t| t.name.to_string());
    }
}

/// The largest `max_tokens` of the steps whose model draws from pool `p` (0: none set).
fn largest_output_cap(sc: &Scenario, pools: &[usize], p: usize) -> u64 {
    (0..sc.steps.len())
        .filter(|&s| {
            [false, true]
                .into_iter()
                .any(|strong| pools[sc.step_model(s, strong)] == p)
        })
        .filter_map(|s| sc.steps[s].max_tokens)
        .max()
        .unwrap_or(0)
}

/// Scales every arrival rate of the scenario by `k` (growth end included).
fn scaled(sc: &Scenario, k: f64, replicas: u32) -> Scenario {
    let mut p = sc.clone();
    p.traffic.tasks_per_day *= k;
    if let Some(g) = &mut p.traffic.growth_to_tasks_per_day {
        *g *= k;
    }
    p.horizon.replicas = replicas;
    p
}

/// Replicas of each headroom probe (at most the run's).
const HEADROOM_REPLICAS: u32 = 2;

/// How many times the scenario's traffic can grow before the p95 daily cost breaches the
/// budget, by a search over simulated traffic multiples (not a linear scale of the cost).
///
/// The run itself is the search's pilot: its p95 at multiple 1 (`p95_daily_pusd`) and the
/// first probe's p95 interpolate (in log-log, where cost is nearly proportional to traffic)
/// the multiple that meets the budget, and each later round probes a pair just either side of
/// the newest interpolation in parallel, so a good interpolation closes the bracket at once.
pub(crate) fn headroom_multiple(
    sc: &Scenario,
    p95_daily_pusd: u128,
    on_probe: &(dyn Fn(u64) + Sync),
) -> Option<f64> {
    let budget = u128::from(sc.daily_budget_pusd?);
    if p95_daily_pusd == 0 || sc.traffic.tasks_per_day <= 0.0 {
        return None;
    }
    let replicas = sc.horizon.replicas.min(HEADROOM_REPLICAS);
    let guess = budget as f64 / p95_daily_pusd as f64;
    let max_k = crate::model::ceilings::MAX_TASKS_PER_DAY
        / sc.traffic
            .tasks_per_day
            .max(sc.traffic.growth_to_tasks_per_day.unwrap_or(0.0));
    let pilot = (1.0, p95_daily_pusd as f64);
    let next = |b: &Bracket, seen: &[Probed<Option<f64>>]| {
        headroom_points(b, seen, pilot, budget as f64, SEARCH_RATIO)
    };
    // (within budget, the probe's p95 daily cost in pUSD).
    let is_ok = |k: f64| {
        if k > max_k {
            return (false, None);
        }
        let p = scaled(sc, k, replicas);
        probe(&p, on_probe).map_or((false, None), |s| {
            let mut days = s.day_costs.clone();
            days.sort_unstable();
            let p95 = crate::stats::quantile_sorted(&days, 0.95);
            (p95 <= budget, Some(p95 as f64))
        })
    };
    let first = vec![guess.min(max_k / 2.0)];
    let (lo, _, _) = search(SEARCH_RATIO, f64::INFINITY, first, next, is_ok)?;
    Some(lo)
}

/// The headroom search's next points: the multiple where the log-log line through the
/// measured point nearest the budget and the one farthest from it in traffic (a wide base, so
/// noise in the p95 does not tilt the slope; inside a bracket, its two ends) meets the budget,
/// probed at `/ r` and `* r` (r just under the square root of `ratio`, so the pair closes the
/// bracket when the interpolation is right). A bracketed round after a pair that fell on one
/// side is a plain k-section instead, so one-sided convergence cannot stall the search.
fn headroom_points(
    b: &Bracket,
    seen: &[Probed<Option<f64>>],
    pilot: (f64, f64),
    budget: f64,
    ratio: f64,
) -> Vec<f64> {
    let r = ratio.sqrt() * (1.0 - 1e-6);
    if let Some((lo, hi)) = b.both() {
        let last = &seen[seen.len().saturating_sub(2)..];
        if hi / lo <= r * r * r * r {
            return vec![(lo * hi).sqrt()];
        }
        if last.len() == 2 && last[0].ok == last[1].ok {
            return k_section(b, 2, 1.0);
        }
    }
    let value = |x: f64| seen.iter().find(|p| p.x == x).and_then(|p| p.data);
    let mut known: Vec<(f64, f64)> = seen
        .iter()
        .filter_map(|p| p.data.filter(|v| *v > 0.0).map(|v| (p.x, v)))
        .collect();
    known.push(pilot);
    let ends = b
        .both()
        .and_then(|(lo, hi)| Some(((lo, value(lo)?), (hi, value(hi)?))));
    let pair = ends.or_else(|| {
        let off = |f: f64| (f / budget).ln().abs();
        let near = *known.iter().min_by(|a, b| off(a.1).total_cmp(&off(b.1)))?;
        let far = *known.iter().max_by(|a, b| {
            (a.0 / near.0)
                .ln()
                .abs()
                .total_cmp(&(b.0 / near.0).ln().abs())
        })?;
        Some((near, far))
    });
    let estimate = pair.and_then(|((k1, f1), (k2, f2))| {
        let slope = (f2.ln() - f1.ln()) / (k2.ln() - k1.ln());
        let k = (k1.ln() + (budget.ln() - f1.ln()) / slope).exp();
        (slope > 0.0 && k.is_finite() && k > 0.0).then_some(k)
    });
    let Some(mut k) = estimate else {
        return k_section(b, 2, 4.0);
    };
    // Inside the bracket with room for the pair, and at most 2x beyond a known side.
    if let Some(lo) = b.lo {
        let floor = lo * r * 1.001;
        k = k.clamp(floor, (lo * 2.0).max(floor));
    }
    if let Some(hi) = b.hi {
        let ceil = hi / (r * 1.001);
        k = k.clamp((hi / 2.0).min(ceil), ceil);
    }
    vec![k / r, k * r]
}
