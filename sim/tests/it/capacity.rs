//! The time axis (timeline, months, first breach), saturation and deadlines, and the
//! sustainable-traffic search, each checked against arithmetic done by hand.

use crate::{assert_usd, run, run_with, scenario, shipped};
use burnrate_sim::RunOptions;

/// One step, one call a task, constant tokens: every task costs exactly $0.01 (1,000 input
/// tokens at $10/Mtok, no output price), so a day's cost is its task count / 100.
const PENNY_TASK: &str = r#"
[models.penny]
based_on = "gpt-4o-mini"
input_usd_per_mtok = 10
output_usd_per_mtok = 0

[[steps]]
name = "answer"
model = "penny"
input_tokens = 1000
output_tokens = 10
"#;

#[test]
fn timeline_days_are_the_mean_of_the_replicas_days() {
    let text = format!(
        "[horizon]\ndays = 45\nreplicas = 5\n[traffic]\ntasks_per_day = 40\n\
         growth = {{ to_tasks_per_day = 400, shape = \"linear\" }}\n\
         [[fixed_costs]]\nname = \"ops\"\nusd_per_month = 30\n{PENNY_TASK}"
    );
    let r = run(&text);
    let (days, replicas) = (r.days as usize, r.replicas as usize);
    assert_eq!(r.timeline.days.len(), days);
    assert!(r.timeline.traffic_changes, "growth changes traffic");
    for (d, day) in r.timeline.days.iter().enumerate() {
        assert_eq!(day.day as usize, d + 1);
        let sum: f64 = (0..replicas).map(|i| r.daily_costs_usd[i * days + d]).sum();
        assert_usd(day.cost_usd.mean, sum / replicas as f64);
        // Every task costs exactly $0.01, so the tasks are the cost x 100.
        assert!((day.tasks_mean - day.cost_usd.mean * 100.0).abs() < 1e-6);
        assert!(day.cost_usd.p05 <= day.cost_usd.p50 && day.cost_usd.p50 <= day.cost_usd.p95);
    }
    // Months from real days: 1-30 and a partial 31-45 that says so, fixed costs prorated.
    assert_eq!(r.timeline.months.len(), 2);
    assert_eq!(
        (r.timeline.months[0].days, r.timeline.months[1].days),
        (30, 15)
    );
    for (m, month) in r.timeline.months.iter().enumerate() {
        let range = m * 30..(m * 30 + month.days as usize);
        let total: f64 = (0..replicas)
            .map(|i| {
                range
                    .clone()
                    .map(|d| r.daily_costs_usd[i * days + d])
                    .sum::<f64>()
            })
            .sum();
        let fixed = 30.0 * f64::from(month.days) / 30.0;
        assert!((month.cost_usd.mean - (total / replicas as f64 + fixed)).abs() < 1e-6);
    }
    // The month figure comes from the 5 full months, not a scaled 45-day total.
    assert!(!r.cost_usd.per_month.extrapolated);
    assert_eq!(r.cost_usd.per_month.months, 5);
    assert!((r.cost_usd.per_month.mean - r.timeline.months[0].cost_usd.mean).abs() < 1e-6);
}

#[test]
fn a_short_run_says_its_month_is_extrapolated() {
    let text =
        format!("[horizon]\ndays = 2\nreplicas = 3\n[traffic]\ntasks_per_day = 50\n{PENNY_TASK}");
    let r = run(&text);
    assert!(r.cost_usd.per_month.extrapolated);
    assert_eq!(r.cost_usd.per_month.months, 0);
    assert_eq!(r.timeline.months.len(), 1);
    assert_eq!(r.timeline.months[0].days, 2, "a partial month, not scaled");
    assert!(!r.timeline.traffic_changes);
}

/// Uniform arrivals, linear growth from 100 to 1,000 tasks a day over 10 days. The engine
/// draws day d's count (0-based) as the sum over its hours of the rate at mid-hour:
/// sum_h (100 + 900 (d + (h + 0.5) / 24) / 10) / 24 = 100 + 90 (d + 0.5) = 145 + 90 d,
/// so days cost $1.45, $2.35, $3.25, $4.15, $5.05, ... Against a $5.00 budget the first
/// breach is day index 4, day 5 counted from 1, in every replica.
const RAMP: &str = r#"
[horizon]
days = 8
replicas = 3

[traffic]
tasks_per_day = 100
arrivals = "uniform"
growth = { to_tasks_per_day = 1000, shape = "linear", over_days = 10 }

[budget]
daily_usd = 5
"#;

#[test]
fn first_breach_day_is_exact_on_a_deterministic_ramp() {
    let r = run(&format!("{RAMP}{PENNY_TASK}"));
    for (d, day) in r.timeline.days.iter().enumerate() {
        assert_eq!(day.tasks_mean, 145.0 + 90.0 * d as f64, "day {d}");
    }
    let first = r.budget.first_breach_day.expect("every replica breaches");
    assert_eq!((first.p05, first.p50, first.p95), (5, 5, 5));
    assert_eq!(r.budget.replicas_ever_breaching, 1.0);
}

#[test]
fn growth_has_its_own_span_whatever_days_says() {
    let sc = scenario(&format!("{RAMP}{PENNY_TASK}"));
    let short = run_with(
        &sc,
        &RunOptions {
            days: Some(3),
            ..RunOptions::default()
        },
    );
    let long = run_with(
        &sc,
        &RunOptions {
            days: Some(14),
            ..RunOptions::default()
        },
    );
    for d in 0..3 {
        assert_eq!(
            short.timeline.days[d].tasks_mean,
            long.timeline.days[d].tasks_mean
        );
    }
    // After the 10-day span traffic stays at the end value.
    assert_eq!(long.timeline.days[12].tasks_mean, 1000.0);
    // No replica breaches in 3 days.
    assert_eq!(short.budget.first_breach_day, None);
    assert_eq!(short.budget.replicas_ever_breaching, 0.0);
}

/// One model limited to 10 requests a minute; tasks arrive evenly every 3 s (28,800 a day),
/// twice what it serves. The bucket starts with 10 requests and refills one every 6 s, so
/// request n (0-based) is served at 6 (n - 9) s once the bucket is empty, and arrives at
/// 3 n + 1.5 s: it waits 3 n - 55.5 s, growing by one second per second of the day.
fn overloaded(deadline: &str) -> String {
    format!(
        r#"
[horizon]
days = 1
replicas = 1

[traffic]
tasks_per_day = 28800
arrivals = "uniform"

[models.slow]
based_on = "gpt-4o-mini"
requests_per_minute = 10
tokens_per_minute = 1000000000

[[steps]]
name = "answer"
model = "slow"
input_tokens = 100
output_tokens = 10

[limits]
max_retries = 0
{deadline}
"#
    )
}

#[track_caller]
fn assert_within(actual: f64, expected: f64, rel: f64) {
    assert!(
        (actual - expected).abs() <= rel * expected,
        "expected {expected} +- {}%, got {actual}",
        rel * 100.0
    );
}

#[test]
fn saturation_is_detected_and_the_wait_follows_the_queue_arithmetic() {
    // A deadline far away: nobody is abandoned, every request is served in order.
    let r = run(&overloaded("task_deadline_s = 1000000"));
    assert!(r.capacity.saturated);
    assert_eq!(r.capacity.binding.len(), 1);
    let b = &r.capacity.binding[0];
    assert_eq!((b.model.as_str(), b.limit.as_str()), ("slow", "RPM"));
    assert_eq!(b.first_hour, 0, "waits pass 60 s after ~40 arrivals");
    assert_eq!(r.tasks.abandoned, 0);
    assert_eq!(r.tasks.succeeded, 28_800);
    // Waits 3 n - 55.5 s for n >= ~19 (earlier ones wait 0): the median task is n = 14,400,
    // the p95 one n = 27,360. The histogram holds 2 significant digits (1%).
    assert_within(r.capacity.task_wait_s.p50, 3.0 * 14_400.0 - 55.5, 0.011);
    assert_within(r.capacity.task_wait_s.p95, 3.0 * 27_360.0 - 55.5, 0.011);
}

#[test]
fn an_overloaded_queue_abandons_tasks_after_the_default_bound() {
    let r = run(&overloaded(""));
    assert!(r.capacity.saturated);
    assert!(r.tasks.abandoned > 0);
    assert_eq!(r.tasks.succeeded + r.tasks.abandoned, 28_800);
    // Served calls wait at most the bound, and once the queue is that long every served call
    // has waited almost all of it (one service time, 6 s, less).
    let w = &r.capacity.binding[0].wait_s;
    assert!(w.p95 <= burnrate_sim::DEFAULT_MAX_QUEUE_WAIT_S * 1.01);
    assert_within(w.p50, burnrate_sim::DEFAULT_MAX_QUEUE_WAIT_S, 0.011);
    // 10 requests a minute for the day and the hour after it, plus the bucket's 10; each
    // served request paid $0.000021 (100 input, 10 output tokens at gpt-4o-mini prices).
    assert_within(
        r.tasks.succeeded as f64,
        10.0 + 10.0 * (1440.0 + 60.0),
        0.01,
    );
}

#[test]
fn abandoned_tasks_are_billed_for_the_calls_they_made() {
    // Two steps: a free-flowing first step on another model, then the overloaded one.
    let text = overloaded("task_deadline_s = 600").replace(
        "[[steps]]\nname = \"answer\"",
        "[[steps]]\nname = \"first\"\nmodel = \"gpt-4o-mini\"\ninput_tokens = 1000\noutput_tokens = 0\n\n[[steps]]\nname = \"answer\"",
    );
    let r = run(&text);
    assert!(r.tasks.abandoned > 10_000);
    // Every task made its first call, abandoned or not: 1,000 input tokens at $0.15/Mtok.
    assert_usd(r.cost_usd.by_step["first"], 28_800.0 * 1000.0 * 0.15e-6);
    // Per-task costs include the abandoned tasks' spend: their sum is the day's cost.
    let finished = r.tasks.succeeded + r.tasks.abandoned + r.tasks.failed + r.tasks.partial;
    assert_within(
        r.cost_usd.per_task.mean * finished as f64,
        r.cost_usd.per_day.mean,
        1e-9,
    );
}

/// One step on a model limited to 10 requests a minute: 14,400 calls, so 14,400 tasks, a day.
const TEN_RPM: &str = r#"
[horizon]
days = 2
replicas = 3

[traffic]
tasks_per_day = 10

[models.ten]
based_on = "gpt-4o-mini"
requests_per_minute = 10
tokens_per_minute = 1000000000

[[steps]]
name = "answer"
model = "ten"
input_tokens = 100
output_tokens = 10

[limits]
max_retries = 0
"#;

#[test]
fn sustainable_traffic_matches_the_analytic_limit_from_any_start() {
    let analytic = 10.0 * 1440.0;
    let low = run(TEN_RPM);
    let high = run(&TEN_RPM
        .replace("tasks_per_day = 10\n", "tasks_per_day = 5000\n")
        .replace("replicas = 3", "replicas = 7"));
    for r in [&low, &high] {
        let v = r.capacity.max_sustainable_tasks_per_day.expect("a limit");
        assert_within(v, analytic, 0.10);
        let l = r.capacity.limiting.as_ref().expect("a limiting model");
        assert_eq!((l.model.as_str(), l.limit.as_str()), ("ten", "RPM"));
        assert!(!r.capacity.saturated);
    }
    // Common random numbers and a fixed probe size: the same answer from both starts.
    assert_eq!(
        low.capacity.max_sustainable_tasks_per_day,
        high.capacity.max_sustainable_tasks_per_day
    );
}

#[test]
fn search_probes_are_reported_and_change_nothing() {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    let sc = scenario(&shipped("support-agent.toml"));
    let options = RunOptions {
        replicas: Some(2),
        days: Some(3),
        threads: Some(2),
        ..Default::default()
    };
    let (probes, tasks, replicas) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let progress = burnrate_sim::Progress {
        replica_done: &|| {
            replicas.fetch_add(1, Relaxed);
        },
        probe_done: &|t| {
            probes.fetch_add(1, Relaxed);
            tasks.fetch_add(t, Relaxed);
        },
    };
    let observed = burnrate_sim::simulate_with(&sc, &options, progress).unwrap();
    let plain = run_with(&sc, &options);
    assert_eq!(
        serde_json::to_string(&observed).unwrap(),
        serde_json::to_string(&plain).unwrap()
    );
    assert_eq!(replicas.load(Relaxed), 2);
    // The sustainable-traffic pilot, then both searches' probes. The warm starts (fluid bound,
    // the run's own p95) bracket support-agent in a few rounds: the old bisections took 8
    // probes each (16 + pilot); a regression to blind bisection fails here. (With OTPM
    // reserved at max_tokens the fluid bound is a rougher start: 14 probes measured.)
    let n = probes.load(Relaxed);
    assert!((3..=16).contains(&n), "{n} probes");
    // Every probe simulated tasks: the headroom probes alone run ~13x the run's traffic.
    assert!(
        tasks.load(Relaxed) > n * 1_000,
        "{} tasks",
        tasks.load(Relaxed)
    );
}
