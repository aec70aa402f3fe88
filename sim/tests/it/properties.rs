//! Properties of the engine over random valid scenarios (issue 12): every run ends, within the
//! hard ceilings of [`burnrate_sim::ceilings`], every task ends exactly once, and no money
//! figure is negative or non-finite. Scenarios are generated as TOML text and go through the
//! public parser and validation, like a user's file.

use super::scenario;
use burnrate_sim::{Quantiles, RunOptions, SimResult, ceilings, simulate};
use proptest::prelude::*;

const MODELS: [&str; 5] = [
    "gpt-4o-mini",
    "claude-haiku-4-5",
    "gpt-5.4-nano",
    "claude-sonnet-4-6",
    "gpt-5.6",
];

#[derive(Debug, Clone)]
struct StepGen {
    model: usize,
    input_tokens: u32,
    output_lognormal: bool,
    output_tokens: u32,
    repeat_high: u32,
    tool_result_tokens: Option<u32>,
    accumulate: bool,
    cache: bool,
}

fn step() -> impl Strategy<Value = StepGen> {
    (
        0..MODELS.len(),
        0u32..20_000,
        any::<bool>(),
        1u32..2_000,
        1u32..4,
        prop::option::of(0u32..3_000),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                model,
                input_tokens,
                output_lognormal,
                output_tokens,
                repeat_high,
                tool_result_tokens,
                accumulate,
                cache,
            )| StepGen {
                model,
                input_tokens,
                output_lognormal,
                output_tokens,
                repeat_high,
                tool_result_tokens,
                accumulate,
                cache,
            },
        )
}

#[derive(Debug, Clone)]
struct ScenarioGen {
    days: u32,
    replicas: u32,
    seed: u64,
    tasks_per_day: u32,
    uniform: bool,
    steps: Vec<StepGen>,
    /// Failure probabilities: malformed, tool_error, rate_limit, server_error, timeout (each
    /// below 0.19, so that they add up to less than 1, as validation requires).
    failures: [f64; 5],
    max_retries: u32,
    /// Stuck agents: probability, and the low and high of their extra calls.
    stuck: Option<(f64, u32, u32)>,
    /// A runaway scenario: every task is stuck for at least 1,500 extra calls, with no
    /// failures, budgets, deadline or cap to stop it first, so every task must be stopped by
    /// `MAX_CALLS_PER_TASK` exactly (the other fields' limits and failures are left out).
    runaway: bool,
    max_usd_per_task: Option<f64>,
    max_tokens_per_task: Option<u32>,
    daily_cap_usd: Option<f64>,
    task_deadline_s: Option<u32>,
    breaker: bool,
    prefilter_share: f64,
}

fn scenario_gen() -> impl Strategy<Value = ScenarioGen> {
    (
        (1u32..3, 1u32..3, any::<u64>(), 1u32..30, any::<bool>()),
        prop::collection::vec(step(), 1..4),
        (
            prop::array::uniform5(0.0..0.19f64),
            0u32..=ceilings::MAX_RETRIES_PER_CALL,
        ),
        prop::option::of((0.0..=1.0f64, Just(1u32), 1u32..3_000)),
        (
            prop::option::of(0.0001..2.0f64),
            prop::option::of(1u32..500_000),
            prop::option::of(0.001..5.0f64),
            prop::option::of(1u32..7_200),
        ),
        (any::<bool>(), 0.0..0.5f64, prop::bool::weighted(0.25)),
    )
        .prop_map(
            |(
                (days, replicas, seed, tasks_per_day, uniform),
                steps,
                (failures, max_retries),
                stuck,
                (max_usd_per_task, max_tokens_per_task, daily_cap_usd, task_deadline_s),
                (breaker, prefilter_share, runaway),
            )| ScenarioGen {
                days,
                replicas,
                seed,
                tasks_per_day,
                uniform,
                steps,
                failures,
                max_retries,
                stuck,
                max_usd_per_task,
                max_tokens_per_task,
                daily_cap_usd,
                task_deadline_s,
                breaker,
                prefilter_share,
                runaway,
            },
        )
}

impl ScenarioGen {
    fn toml(&self) -> String {
        let mut t = format!(
            "[horizon]\ndays = {}\nreplicas = {}\nseed = {}\n[traffic]\ntasks_per_day = {}\narrivals = \"{}\"\n",
            self.days,
            self.replicas,
            self.seed,
            self.tasks_per_day,
            if self.uniform { "uniform" } else { "poisson" },
        );
        // Looping agents make the sustainable-traffic search that every run ends with
        // (bisection over probe simulations of the catalog's rate limits) take minutes in
        // the debug profile: scenarios with stuck agents run on copies of the models without
        // rate limits, the others on the catalog's limits.
        let unlimited = self.runaway || self.stuck.is_some();
        for (i, s) in self.steps.iter().enumerate() {
            let model = if unlimited {
                t += &format!(
                    "[models.m{i}]\nbased_on = \"{}\"\nrequests_per_minute = 0\ntokens_per_minute = 0\ninput_tokens_per_minute = 0\noutput_tokens_per_minute = 0\n",
                    MODELS[s.model]
                );
                format!("m{i}")
            } else {
                MODELS[s.model].to_string()
            };
            t += &format!(
                "[[steps]]\nname = \"s{i}\"\nmodel = \"{model}\"\nprefix_tokens = 1200\ninput_tokens = {}\n",
                s.input_tokens
            );
            if s.output_lognormal {
                t += &format!(
                    "output_tokens = {{ dist = \"lognormal\", mean = {}, cv = 1.5, max = 100000 }}\n",
                    s.output_tokens
                );
            } else {
                t += &format!("output_tokens = {}\n", s.output_tokens);
            }
            t += &format!(
                "repeat = {{ dist = \"uniform\", low = 1, high = {} }}\n",
                s.repeat_high
            );
            if let Some(tr) = s.tool_result_tokens {
                t += &format!("tool_result_tokens = {tr}\n");
            }
            t += &format!(
                "context = \"{}\"\ncache = {}\n",
                if s.accumulate { "accumulate" } else { "fresh" },
                s.cache
            );
        }
        t += "[caching]\nenabled = true\n";
        t += &format!("[batching]\nprefilter_share = {}\n", self.prefilter_share);
        if self.runaway {
            return t
                + "[stuck]\nprobability = 1.0\nextra_calls = { dist = \"uniform\", low = 1500, high = 4000 }\n";
        }
        let [malformed, tool_error, rate_limit, server_error, timeout] = self.failures;
        t += &format!(
            "[failures]\nmalformed = {malformed}\ntool_error = {tool_error}\nrate_limit = {rate_limit}\nserver_error = {server_error}\ntimeout = {timeout}\ntimeout_s = 30\n"
        );
        if let Some((p, low, high)) = self.stuck {
            t += &format!(
                "[stuck]\nprobability = {p}\nextra_calls = {{ dist = \"uniform\", low = {low}, high = {high} }}\ncontext = \"accumulate\"\n"
            );
        }
        t += &format!(
            "[limits]\nmax_retries = {}\nbackoff_base_s = 0.5\nbackoff_max_s = 8\n",
            self.max_retries
        );
        if let Some(v) = self.max_usd_per_task {
            t += &format!("max_usd_per_task = {v}\n");
        }
        if let Some(v) = self.max_tokens_per_task {
            t += &format!("max_tokens_per_task = {v}\n");
        }
        if let Some(v) = self.daily_cap_usd {
            t += &format!("daily_cap_usd = {v}\n");
        }
        if let Some(v) = self.task_deadline_s {
            t += &format!("task_deadline_s = {v}\n");
        }
        if self.breaker {
            t += "breaker = { consecutive_failures = 5, cooldown_s = 60 }\n";
        }
        t
    }
}

/// A money figure: finite and not negative.
#[track_caller]
fn money(what: &str, usd: f64) {
    assert!(usd.is_finite() && usd >= 0.0, "{what} = {usd}");
}

fn quantiles(what: &str, q: &Quantiles) {
    for (name, v) in [
        ("mean", q.mean),
        ("p50", q.p50),
        ("p95", q.p95),
        ("p99", q.p99),
        ("max", q.max),
        ("cvar95", q.cvar95),
    ] {
        money(&format!("{what}.{name}"), v);
    }
    for (name, ci) in [
        ("mean_ci95", q.mean_ci95),
        ("p50_ci95", q.p50_ci95),
        ("p95_ci95", q.p95_ci95),
        ("p99_ci95", q.p99_ci95),
    ] {
        money(&format!("{what}.{name}.low"), ci.low());
        if let Some(high) = ci.high() {
            money(&format!("{what}.{name}.high"), high);
        }
    }
    assert!(
        q.p50 <= q.p95 && q.p95 <= q.p99 && q.p99 <= q.max,
        "{what}: quantiles out of order: {q:?}"
    );
}

fn check(g: &ScenarioGen, r: &SimResult) {
    let t = &r.tasks;
    // Every task that arrived ended exactly once (or is counted as unfinished).
    assert_eq!(
        t.total,
        t.succeeded
            + t.failed
            + t.partial
            + t.abandoned
            + t.prefiltered
            + t.rejected_by_daily_cap
            + t.unfinished,
        "{t:?}"
    );
    // Call ceiling: no task makes more than MAX_CALLS_PER_TASK calls, retries included.
    let started = t.total - t.prefiltered - t.rejected_by_daily_cap;
    let ceiling = started * u64::from(ceilings::MAX_CALLS_PER_TASK);
    assert!(
        r.calls.total <= ceiling,
        "{} calls for {started} started tasks",
        r.calls.total
    );
    if g.runaway {
        // Nothing else stops a runaway task: each one makes exactly the ceiling's calls.
        assert_eq!(r.calls.total, ceiling, "{started} runaway tasks");
        assert_eq!(t.runaway, started);
    }
    // Retry ceiling: each first attempt is retried at most max_retries (<= 50) times.
    let first_attempts = r.calls.total - r.calls.retries;
    let per_call = u64::from(g.max_retries.min(ceilings::MAX_RETRIES_PER_CALL));
    assert!(
        r.calls.retries <= first_attempts * per_call,
        "{} retries after {first_attempts} first attempts, at most {per_call} each",
        r.calls.retries
    );
    // Time ceiling: the run covers exactly its horizon, within the event ceiling.
    assert_eq!((r.days, r.replicas), (g.days, g.replicas));
    assert!(r.days <= ceilings::MAX_DAYS);
    assert_eq!(r.daily_costs_usd.len(), (g.days * g.replicas) as usize);
    assert_eq!(r.timeline.days.len(), g.days as usize);
    assert!(r.events <= u64::from(g.replicas) * ceilings::MAX_EVENTS_PER_REPLICA);
    for (hour, usd) in &r.sample_day {
        assert!((0.0..=24.0).contains(hour), "sample_day hour {hour}");
        money("sample_day", *usd);
    }
    let lat = &r.latency_s.task;
    for v in [lat.mean, lat.p50, lat.p95, lat.p99, lat.max] {
        assert!(v.is_finite() && v >= 0.0, "task latency {lat:?}");
    }
    // Money: every cost figure is finite and not negative.
    let c = &r.cost_usd;
    quantiles("per_task", &c.per_task);
    quantiles("per_day", &c.per_day);
    let m = &c.per_month;
    for (name, v) in [
        ("mean", m.mean),
        ("p50", m.p50),
        ("p95", m.p95),
        ("p99", m.p99),
        ("fixed", m.fixed),
    ] {
        money(&format!("per_month.{name}"), v);
    }
    for (k, v) in c.by_step.iter().chain(&c.by_model) {
        money(k, *v);
    }
    let kind = &c.by_kind;
    for v in [kind.input, kind.cache_write, kind.cache_read, kind.output] {
        money("by_kind", v);
    }
    money("batch_per_day", c.batch_per_day);
    money("retry_overhead_per_day", c.retry_overhead_per_day);
    for d in &r.daily_costs_usd {
        money("daily_costs_usd", *d);
    }
    for d in &r.timeline.days {
        let b = &d.cost_usd;
        for v in [b.mean, b.p05, b.p50, b.p95] {
            money(&format!("timeline day {}", d.day), v);
        }
    }
    for mo in &r.timeline.months {
        let b = &mo.cost_usd;
        for v in [b.mean, b.p50, b.p95] {
            money(&format!("timeline month {}", mo.month), v);
        }
    }
    // Every call bills at least its 1,200-token prefix, so a run with work bills something.
    if t.succeeded > 0 {
        assert!(
            c.per_day.max > 0.0,
            "tasks succeeded but nothing was billed"
        );
    }
}

proptest! {
    // 16 cases of at most 2 replicas x 2 days x 30 tasks: a few seconds in the debug profile.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn engine_runs_end_within_their_ceilings_and_money_is_never_negative(g in scenario_gen()) {
        let text = g.toml();
        let sc = scenario(&text);
        let options = RunOptions { threads: Some(1), ..RunOptions::default() };
        let r = simulate(&sc, &options, &|| {}).unwrap_or_else(|e| panic!("{e}\n{text}"));
        check(&g, &r);
    }
}
