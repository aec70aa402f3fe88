//! The figures both sides report: measured from the driven tasks, predicted from the
//! simulator's result for the same task count, and their difference.

use crate::agent_loop::{Ctx, End, TaskRecord};
use burnrate_sim::{Difference, Figures, SimResult, Spread, pusd_to_usd};
use std::collections::BTreeMap;

pub(crate) fn measured(ctx: &Ctx, records: &[TaskRecord]) -> Figures {
    let n = records.len().max(1) as f64;
    let finished: Vec<&TaskRecord> = records
        .iter()
        .filter(|r| matches!(r.end, Some(End::Succeeded | End::Failed | End::Partial)))
        .collect();
    let costs: Vec<f64> = finished.iter().map(|r| pusd_to_usd(r.cost_pusd)).collect();
    let total: u128 = records.iter().map(|r| r.cost_pusd).sum();
    let mut by_line: BTreeMap<usize, u128> = BTreeMap::new();
    let mut errors: BTreeMap<String, f64> = BTreeMap::new();
    for r in records {
        for (l, c) in &r.cost_by_line {
            *by_line.entry(*l).or_default() += c;
        }
        for (k, c) in &r.errors {
            *errors.entry((*k).to_string()).or_default() += *c as f64;
        }
    }
    let count = |e: End| records.iter().filter(|r| r.end == Some(e)).count() as f64;
    let lookups: u64 = records.iter().map(|r| r.cache_lookups).sum();
    let hits: u64 = records.iter().map(|r| r.cache_hits).sum();
    let per_finished = finished.len().max(1) as f64;
    let routed = records.iter().filter(|r| r.routed).count().max(1) as f64;
    Figures {
        tasks: records.len() as f64,
        succeeded: count(End::Succeeded),
        failed: count(End::Failed),
        partial: count(End::Partial),
        cost_total_usd: pusd_to_usd(total),
        cost_per_task_usd: Spread::of(&costs),
        cost_per_step_usd: by_line
            .iter()
            .map(|(l, c)| (ctx.lines[*l].clone(), pusd_to_usd(*c) / per_finished))
            .collect(),
        calls_per_task: records.iter().map(|r| r.calls).sum::<u64>() as f64 / n,
        retries_per_task: records.iter().map(|r| r.retries).sum::<u64>() as f64 / n,
        rate_limit_waits_per_task: records.iter().map(|r| r.limit_waits).sum::<u64>() as f64 / n,
        cache_hit_rate: if lookups == 0 {
            0.0
        } else {
            hits as f64 / lookups as f64
        },
        errors_per_task: errors.into_iter().map(|(k, v)| (k, v / n)).collect(),
        latency_s: Spread::of(&finished.iter().map(|r| r.latency_s).collect::<Vec<_>>()),
        cheap_tier_share: records.iter().filter(|r| r.resolved_cheap).count() as f64 / routed,
        escalation_rate: records.iter().filter(|r| r.escalated).count() as f64 / routed,
    }
}

/// The per-task cost sd of a prediction. [`SimResult`] has per-task quantiles but no sd, so it
/// comes from the spread of whole simulated days. With uniform arrivals every one-day replica
/// holds exactly N tasks, its mean cost per task is day / N, and sd(day / N) * sqrt(N) =
/// sd(day) / sqrt(N) is the per-task sd when tasks are independent; whatever couples them
/// (shared cache state, the daily cap, the breaker) is in the day's spread, and so in the
/// interval for a mean over N tasks, which is what the figure is used for. With Poisson
/// arrivals a day's count varies too, Var(day) = lambda (sigma^2 + mu^2), and dividing by lambda
/// would overstate sigma^2 by mu^2 (for a cost with cv 0.5, a sd 2.2 times too large): the
/// caller passes a run with uniform arrivals. A day is a sum of N tasks, near normal, so the
/// estimate's relative error is about 1 / sqrt(2 (R - 1)) for R replicas.
pub(crate) fn per_task_sd(r: &SimResult) -> f64 {
    let replica_days = (f64::from(r.replicas) * f64::from(r.days)).max(1.0);
    let per_day = r.tasks.total as f64 / replica_days;
    if per_day > 0.0 {
        Spread::of(&r.daily_costs_usd).sd / per_day.sqrt()
    } else {
        0.0
    }
}

/// The simulator's figures for `tasks` tasks, with the per-task sd from [`per_task_sd`].
pub(crate) fn predicted(r: &SimResult, tasks: u64, sd_task: f64) -> Figures {
    let n = tasks as f64;
    let total = r.tasks.total.max(1) as f64;
    let replica_days = (f64::from(r.replicas) * f64::from(r.days)).max(1.0);
    let per_day = total / replica_days;
    let pt = &r.cost_usd.per_task;
    let share = |x: u64| x as f64 / total * n;
    let lat = &r.latency_s.task;
    Figures {
        tasks: n,
        succeeded: share(r.tasks.succeeded),
        failed: share(r.tasks.failed),
        partial: share(r.tasks.partial),
        cost_total_usd: pt.mean * n,
        cost_per_task_usd: Spread {
            mean: pt.mean,
            sd: sd_task,
            p50: pt.p50,
            p95: pt.p95,
            max: pt.max,
        },
        cost_per_step_usd: r
            .cost_usd
            .by_step
            .iter()
            .filter(|(_, v)| **v > 0.0)
            .map(|(k, v)| (k.clone(), v / per_day))
            .collect(),
        calls_per_task: r.calls.total as f64 / total,
        retries_per_task: r.calls.retries_per_task,
        rate_limit_waits_per_task: r.calls.rate_limit_waits as f64 / total,
        cache_hit_rate: r.cache.hit_rate,
        errors_per_task: r
            .calls
            .failures_by_kind
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| (k.clone(), *v as f64 / total))
            .collect(),
        latency_s: Spread {
            mean: lat.mean,
            sd: 0.0,
            p50: lat.p50,
            p95: lat.p95,
            max: lat.max,
        },
        cheap_tier_share: r.routing.as_ref().map_or(0.0, |x| x.cheap_tier_share),
        escalation_rate: r.routing.as_ref().map_or(0.0, |x| x.escalation_rate),
    }
}

fn diff_maps(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    a.keys()
        .chain(b.keys())
        .map(|k| {
            (
                k.clone(),
                a.get(k).unwrap_or(&0.0) - b.get(k).unwrap_or(&0.0),
            )
        })
        .collect()
}

pub(crate) fn difference(m: &Figures, p: &Figures) -> Difference {
    let se = p.cost_per_task_usd.sd / m.tasks.max(1.0).sqrt();
    let (mc, pc) = (m.cost_per_task_usd.mean, p.cost_per_task_usd.mean);
    Difference {
        cost_per_task_usd: mc - pc,
        cost_per_task_relative: if pc > 0.0 { mc / pc - 1.0 } else { 0.0 },
        cost_per_task_z: if se > 0.0 { (mc - pc) / se } else { 0.0 },
        cost_total_usd: m.cost_total_usd - p.cost_total_usd,
        cost_per_step_usd: diff_maps(&m.cost_per_step_usd, &p.cost_per_step_usd),
        calls_per_task: m.calls_per_task - p.calls_per_task,
        retries_per_task: m.retries_per_task - p.retries_per_task,
        rate_limit_waits_per_task: m.rate_limit_waits_per_task - p.rate_limit_waits_per_task,
        cache_hit_rate: m.cache_hit_rate - p.cache_hit_rate,
        errors_per_task: diff_maps(&m.errors_per_task, &p.errors_per_task),
        latency_s_mean: m.latency_s.mean - p.latency_s.mean,
    }
}
