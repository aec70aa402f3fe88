//! Statistical laws the engine must follow. Every tolerance is 4 standard deviations of the
//! estimator, computed from the law itself, with fixed seeds.

use crate::{run, run_with, scenario, shipped};
use burnrate_sim::RunOptions;

#[test]
fn cache_hit_rate_under_poisson_arrivals_is_one_minus_exp_lambda_ttl() {
    // One cacheable step, Poisson arrivals at 300/day, TTL refreshed on every hit: a call hits
    // iff the gap since the previous call is below the TTL. Gaps are iid exponential, so hits
    // are independent Bernoulli(p) with p = 1 - exp(-lambda * TTL).
    for (ttl, ttl_s) in [("5m", 300.0), ("1h", 3600.0)] {
        let text = format!(
            r#"
[horizon]
days = 30
replicas = 8
seed = 7
[traffic]
tasks_per_day = 300
[[steps]]
name = "draft"
model = "article-claude-sonnet"
prefix_tokens = 2000
input_tokens = 500
output_tokens = 100
[caching]
ttl = "{ttl}"
"#
        );
        let r = run(&text);
        let lambda = 300.0 / 86_400.0;
        let p = 1.0 - f64::exp(-lambda * ttl_s);
        let n = r.calls.total as f64;
        // The first call of each replica finds a cold cache.
        let p = p * (n - f64::from(r.replicas)) / n;
        let sigma = (p * (1.0 - p) / n).sqrt();
        let got = r.cache.by_step["draft"];
        assert!(
            (got - p).abs() < 4.0 * sigma,
            "ttl {ttl}: hit rate {got}, expected {p} +- {}",
            4.0 * sigma
        );
    }
}

#[test]
fn retries_follow_the_geometric_law() {
    // Each attempt fails (malformed) with probability q, independently; with retries unbounded
    // in practice (50), retries per call are geometric: mean q/(1-q), variance q/(1-q)^2.
    let q: f64 = 0.3;
    let text = format!(
        r#"
[horizon]
days = 10
replicas = 4
seed = 11
[traffic]
tasks_per_day = 500
[[steps]]
name = "extract"
model = "article-claude-haiku"
input_tokens = 1000
output_tokens = 100
error_tokens = 0
failures = {{ malformed = {q} }}
[limits]
max_retries = 50
"#
    );
    let r = run(&text);
    let calls = r.tasks.total as f64; // one logical call per task
    let mean = q / (1.0 - q);
    let sd = (q / (1.0 - q).powi(2) / calls).sqrt();
    let got = r.calls.retries as f64 / calls;
    assert!(
        (got - mean).abs() < 4.0 * sd,
        "retries per call {got}, expected {mean} +- {}",
        4.0 * sd
    );
    assert_eq!(
        r.tasks.succeeded, r.tasks.total,
        "50 retries at q=0.3 never run out here"
    );
    // The share of attempts that fail is q (binomial over all attempts).
    let attempts = r.calls.total as f64;
    let failed = r.calls.failures_by_kind["malformed"] as f64;
    let sd_share = (q * (1.0 - q) / attempts).sqrt();
    assert!((failed / attempts - q).abs() < 4.0 * sd_share);
}

#[test]
fn retry_limit_bounds_attempts_and_fails_the_task() {
    // With max_retries = 2, a call fails for good with probability q^3.
    let q: f64 = 0.5;
    let text = format!(
        r#"
[horizon]
days = 10
replicas = 4
seed = 3
[traffic]
tasks_per_day = 400
[[steps]]
name = "s"
model = "article-claude-haiku"
input_tokens = 100
output_tokens = 10
failures = {{ server_error = {q} }}
[limits]
max_retries = 2
backoff_base_s = 0.1
"#
    );
    let r = run(&text);
    let n = r.tasks.total as f64;
    let p = q.powi(3);
    let sd = (p * (1.0 - p) / n).sqrt();
    let got = r.tasks.failed as f64 / n;
    assert!(
        (got - p).abs() < 4.0 * sd,
        "failed share {got}, expected {p}"
    );
    assert!(r.calls.total <= 3 * r.tasks.total);
    // Server errors are not billed: cost is exactly one successful call per succeeded task.
    let call_usd = (100.0 * 0.25 + 10.0 * 1.25) / 1e6;
    let expected = call_usd * r.tasks.succeeded as f64 / f64::from(r.days * r.replicas);
    assert!((r.cost_usd.per_day.mean - expected).abs() < 1e-9);
}

#[test]
fn a_task_budget_is_never_exceeded_by_more_than_one_call() {
    // A quarter of the agents get stuck and loop on their step, carrying every earlier output
    // (`[stuck] context = "accumulate"`): call i costs (3000 + 500 i) * $3/M + 500 * $15/M =
    // $0.0165 + $0.0015 i.
    let text = r#"
[horizon]
days = 3
replicas = 4
seed = 5
[traffic]
tasks_per_day = 200
[[steps]]
name = "act"
model = "article-claude-sonnet"
input_tokens = 3000
output_tokens = 500
[stuck]
probability = 0.25
extra_calls = 500
context = "accumulate"
[limits]
max_usd_per_task = 0.05
"#;
    let r = run(text);
    let call = |i: f64| 0.0165 + 0.0015 * i;
    assert!(r.tasks.partial > 0, "stuck tasks must hit the budget");
    assert!(r.tasks.runaway > 0);
    // Cumulative 0.0165, 0.0345, 0.054: the third call crosses $0.05 and the task stops there.
    assert!(
        r.cost_usd.per_task.max <= 0.05 + call(2.0) + 1e-12,
        "max task {}",
        r.cost_usd.per_task.max
    );
    crate::assert_usd(r.cost_usd.per_task.max, call(0.0) + call(1.0) + call(2.0));
    // Without a budget a stuck task makes all its 501 calls: sum of call(i), i = 0..=500.
    let r = run(&text.replace("max_usd_per_task = 0.05", "max_retries = 3"));
    crate::assert_usd(
        r.cost_usd.per_task.max,
        (0..=500).map(|i| call(f64::from(i))).sum(),
    );
    assert_eq!(r.tasks.partial, 0);
    // By default the loop follows the step's context (fresh here): every call costs $0.0165,
    // so the fourth call crosses $0.05 and a budget-free stuck task costs 501 x $0.0165.
    let fresh = text.replace("context = \"accumulate\"\n", "");
    let r = run(&fresh);
    crate::assert_usd(r.cost_usd.per_task.max, 4.0 * call(0.0));
    let r = run(&fresh.replace("max_usd_per_task = 0.05", "max_retries = 3"));
    crate::assert_usd(r.cost_usd.per_task.max, 501.0 * call(0.0));
}

#[test]
fn same_seed_same_json_whatever_the_thread_count() {
    let sc = scenario(&shipped("support-agent.toml"));
    let opts = |threads| RunOptions {
        replicas: Some(6),
        days: Some(3),
        seed: Some(9),
        threads: Some(threads),
        ..Default::default()
    };
    let one = serde_json::to_string(&run_with(&sc, &opts(1))).unwrap();
    let two = serde_json::to_string(&run_with(&sc, &opts(2))).unwrap();
    let three = serde_json::to_string(&run_with(&sc, &opts(3))).unwrap();
    assert_eq!(one, two);
    assert_eq!(one, three);
    let other_seed = RunOptions {
        seed: Some(10),
        ..opts(2)
    };
    assert_ne!(
        one,
        serde_json::to_string(&run_with(&sc, &other_seed)).unwrap()
    );
}

#[test]
fn poisson_arrival_counts_match_the_rate() {
    // Daily counts are Poisson(300): the mean over N days has sd sqrt(300/N).
    let r = run(&shipped("support-agent.toml").replace("replicas = 50", "replicas = 4"));
    let days = f64::from(r.days * r.replicas);
    let mean = r.tasks.total as f64 / days;
    assert!(
        (mean - 300.0).abs() < 4.0 * (300.0 / days).sqrt(),
        "mean tasks/day {mean}"
    );
}

#[test]
fn daily_cap_stops_spending() {
    let text = shipped("support-budget-exact.toml")
        .replace("[budget]", "[limits]\ndaily_cap_usd = 1.0\n\n[budget]");
    let r = run(&text);
    // Every call costs at most $0.0135 (draft); the cap holds to within the calls in flight.
    assert!(
        r.cost_usd.per_day.max <= 1.0 + 0.0135 + 1e-9,
        "{}",
        r.cost_usd.per_day.max
    );
    assert!(r.tasks.rejected_by_daily_cap > 0);
}

#[test]
fn routing_resolves_easy_tasks_on_the_cheap_tier() {
    // easy share 0.8, misroute 0, cheap tier passes every easy task: cheap share = 0.8.
    let text = r#"
[horizon]
days = 10
replicas = 2
[traffic]
tasks_per_day = 500
[[steps]]
name = "answer"
model = "routed"
input_tokens = 1000
output_tokens = 200
[routing]
classifier_model = "article-claude-haiku"
cheap_model = "article-claude-haiku"
strong_model = "article-claude-sonnet"
easy_share = 0.8
misroute_rate = 0.0
cheap_resolution_rate = 1.0
"#;
    let r = run(text);
    let routing = r.routing.expect("routing summary");
    let n = r.tasks.total as f64;
    let sd = (0.8 * 0.2 / n).sqrt();
    assert!((routing.cheap_tier_share - 0.8).abs() < 4.0 * sd);
    assert_eq!(routing.escalation_rate, 0.0);
    assert!(r.cost_usd.by_step.contains_key("router"));
}

#[test]
fn rate_limits_queue_calls_first_come_first_served() {
    // 2000 tasks a day, evenly spaced (one every 43.2 s), against a 1-request-per-minute
    // bucket that starts full. Call n is admitted at max(arrival_n, 60 (n - 1)) s, so the last
    // task (arrival 86,378.4 s) starts at 119,940 s: it waits 33,561.6 s in the queue (the
    // deadline keeps the default one-hour bound on a queue wait from abandoning it).
    let text = r#"
[horizon]
days = 1
replicas = 1
[traffic]
tasks_per_day = 2000
arrivals = "uniform"
[models.article-claude-haiku]
requests_per_minute = 1
latency_cv = 0
[[steps]]
name = "s"
model = "article-claude-haiku"
input_tokens = 100
output_tokens = 10
[limits]
task_deadline_s = 200000
"#;
    let r = run(text);
    assert_eq!(r.tasks.succeeded, 2000, "queued calls all run in the end");
    let cap = &r.capacity.by_model["article-claude-haiku"];
    // In any calendar minute: at most the refill (1) plus what the bucket held (at most 1).
    assert!(cap.peak_rpm <= 2, "peak rpm {}", cap.peak_rpm);
    assert!(r.calls.rate_limit_waits > 500);
    // Haiku latency: 0.4 s to first token + 10 tokens at 150/s, no noise.
    let wait = 119_940.0 - 86_378.4 + 0.4 + 10.0 / 150.0;
    // The latency histogram is exact to 3 significant digits.
    assert!(
        (r.latency_s.task.max - wait).abs() < wait * 1e-3,
        "max latency {}",
        r.latency_s.task.max
    );
}

#[test]
fn surges_and_profiles_shape_poisson_arrivals() {
    // 1000/day with a 3x surge over day 2 (hours 24..48) and a profile that sends every task to
    // the first 12 hours: the total is Poisson with mean 1000 * (1 + 3 + 1) per replica.
    let profile = [vec!["2"; 12], vec!["0"; 12]].concat().join(", ");
    let text = format!(
        r#"
[horizon]
days = 3
replicas = 4
seed = 21
[traffic]
tasks_per_day = 1000
daily_profile = [{profile}]
[[steps]]
name = "s"
model = "article-claude-haiku"
input_tokens = 10
output_tokens = 1
[[incidents]]
kind = "surge"
start_hour = 24
duration_hours = 24
multiplier = 3
"#
    );
    let r = run(&text);
    let mean = 4.0 * 5000.0;
    let got = r.tasks.total as f64;
    assert!(
        (got - mean).abs() < 4.0 * mean.sqrt(),
        "{got} tasks, expected {mean}"
    );
    // No task arrives in the second half of a day: the latest arrival-to-spend minute of the
    // sample day is before noon (plus the call's latency).
    let last_hour = r.sample_day.last().unwrap().0;
    assert!(last_hour < 12.01, "spend at hour {last_hour}");
}

#[test]
fn the_public_arrival_process_is_the_engines() {
    // `burnrate drive` replays arrivals with `ArrivalProcess`; it must be the very process the
    // engine simulates: same count per replica, evenly spaced when uniform.
    let sc = scenario(&shipped("support-agent.toml"));
    let r = run_with(
        &sc,
        &RunOptions {
            replicas: Some(1),
            days: Some(5),
            seed: Some(8),
            threads: Some(1),
            ..Default::default()
        },
    );
    let mut five_days = sc.clone();
    five_days.horizon.days = 5;
    let times: Vec<f64> = burnrate_sim::ArrivalProcess::for_scenario(&five_days, 8, 0).collect();
    assert_eq!(times.len() as u64, r.tasks.total);
    assert!(times.windows(2).all(|w| w[0] < w[1]) && *times.last().unwrap() < 5.0 * 86_400.0);
    let exact = scenario(&shipped("support-budget-exact.toml"));
    let times: Vec<f64> = burnrate_sim::ArrivalProcess::for_scenario(&exact, 1, 0).collect();
    assert_eq!(times.len(), 300);
    assert!((times[1] - times[0] - 288.0).abs() < 1e-6 && (times[0] - 144.0).abs() < 1e-6);
}

#[test]
fn a_circuit_breaker_fails_fast_through_an_outage() {
    // 1000 tasks a day, 86.4 s apart; the model is down for 2 hours (83 arrivals), no retries.
    let text = |breaker: &str| {
        format!(
            r#"
[horizon]
days = 1
replicas = 1
[traffic]
tasks_per_day = 1000
arrivals = "uniform"
[[steps]]
name = "s"
model = "article-claude-haiku"
input_tokens = 100
output_tokens = 10
[[incidents]]
kind = "outage"
start_hour = 6
duration_hours = 2
[limits]
max_retries = 0
{breaker}
"#
        )
    };
    let without = run(&text(""));
    assert_eq!(without.calls.failures_by_kind["outage"], 83);
    assert_eq!(without.tasks.failed, 83);
    // 3 failures open it for 10 minutes; then each failed probe re-opens it at once: at most
    // 3 + 7200 / 600 = 15 calls reach the dead model, the rest fail fast.
    let with = run(&text(
        "breaker = { consecutive_failures = 3, cooldown_s = 600 }",
    ));
    let outage = with.calls.failures_by_kind["outage"];
    assert!((3..=15).contains(&outage), "{outage} calls hit the outage");
    // Every failed task either hit the outage or met the open breaker; the breaker can stay
    // open up to one cooldown (7 arrivals) past the end of the outage.
    assert_eq!(
        with.calls.failures_by_kind["breaker_open"] + outage,
        with.tasks.failed
    );
    assert!(
        (83..=90).contains(&with.tasks.failed),
        "{} failed",
        with.tasks.failed
    );
    assert_eq!(with.tasks.succeeded + with.tasks.failed, 1000);
}
