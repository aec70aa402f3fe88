//! Rate limits as the providers count them (`LimitRules`), each case's sustainable traffic
//! derived by hand from the provider's rule:
//!
//! - Anthropic, <https://docs.anthropic.com/en/api/rate-limits> (read 2026-12-06): only
//!   `input_tokens` + `cache_creation_input_tokens` count against ITPM; cache reads do not,
//!   except on the dagger-marked models (Haiku 3, Haiku 3.5, Sonnet 3.5, Opus 3). OTPM is
//!   estimated from `max_tokens` when a request starts and adjusted to the real output when it
//!   ends. The Opus 4.x models share one limit.
//! - OpenAI, <https://platform.openai.com/docs/guides/rate-limits>: a request counts against
//!   TPM from its prompt estimate and its `max_tokens`; no refund documented (conservative:
//!   none).
//!
//! The search answers within its 2% bracket of the largest traffic with no saturated hour
//! (5% of an hour's calls waiting 60 s or more). Near a limit the queue's waits grow without
//! bound, so that traffic is a little below the fluid limit; the tolerance below is the
//! existing capacity tests' 10% (below only: the answer can never exceed the fluid limit by
//! more than the 2% bracket).

use crate::{NO_FAILURES, run, scenario};

/// One replica of one day: the probes set their own traffic.
const ONE_DAY: &str = "[horizon]\ndays = 1\nreplicas = 1\n[traffic]\ntasks_per_day = 1000\n";

#[track_caller]
fn assert_sustains(text: &str, fluid_limit: f64, model: &str, limit: &str) {
    let r = run(text);
    let v = r.capacity.max_sustainable_tasks_per_day.expect("a limit");
    assert!(
        v <= fluid_limit * 1.02 && v >= fluid_limit * 0.90,
        "expected 90-102% of {fluid_limit}, got {v}"
    );
    let l = r.capacity.limiting.as_ref().expect("a limiting model");
    assert_eq!((l.model.as_str(), l.limit.as_str()), (model, limit));
}

/// The issue's example: one step on Claude Sonnet 4.6 with a 20,000-token cached prefix and
/// 500 uncached input tokens a call, ITPM `itpm`, nothing else limited.
fn cached_prefix(model: &str, itpm: u32) -> String {
    format!(
        r#"{ONE_DAY}
[models.{model}]
requests_per_minute = 0
tokens_per_minute = 0
input_tokens_per_minute = {itpm}
output_tokens_per_minute = 0

[caching]
enabled = true
ttl = "1h"

[[steps]]
name = "answer"
model = "{model}"
prefix_tokens = 20000
input_tokens = 500
output_tokens = 100
"#
    )
}

#[test]
fn a_cached_prefix_does_not_count_against_claude_4_itpm() {
    // Cache reads are free of ITPM: 100,000 / 500 = 200 calls a minute = 288,000 a day.
    assert_sustains(
        &cached_prefix("claude-sonnet-4-6", 100_000),
        100_000.0 / 500.0 * 1440.0,
        "claude-sonnet-4-6",
        "ITPM",
    );
}

#[test]
fn a_cached_prefix_counts_against_haiku_3_itpm() {
    // Haiku 3 is dagger-marked: every input token counts, 1,000,000 / 20,500 a minute. (At
    // ITPM 100,000 a bucket holds under 5 such requests and the queue, not the fluid limit,
    // decides: waits pass 60 s at about 80% of 100,000 / 20,500.)
    assert_sustains(
        &cached_prefix("claude-3-haiku", 1_000_000),
        1_000_000.0 / 20_500.0 * 1440.0,
        "claude-3-haiku",
        "ITPM",
    );
}

/// OpenAI counts prompt + max_tokens against TPM at admission: 1,000 input + 4,000 cap =
/// 5,000 tokens a call against 1,000,000 TPM = 200 calls a minute = 288,000 a day, although
/// the call only writes 200 tokens (1,200 a call would allow 1,200,000 a day).
#[test]
fn an_openai_step_is_bound_by_its_max_tokens() {
    let text = &format!(
        r#"{ONE_DAY}
[models.gpt-5-mini]
requests_per_minute = 0
tokens_per_minute = 1000000

[[steps]]
name = "answer"
model = "gpt-5-mini"
input_tokens = 1000
output_tokens = 200
max_tokens = 4000
"#
    );
    assert_sustains(text, 1_000_000.0 / 5_000.0 * 1440.0, "gpt-5-mini", "TPM");
    let uncapped = text.replace("max_tokens = 4000\n", "");
    assert_sustains(
        &uncapped,
        1_000_000.0 / 1_200.0 * 1440.0,
        "gpt-5-mini",
        "TPM",
    );
}

/// Anthropic reserves `max_tokens` of OTPM at the start and gives back the unused part at
/// the end. With OTPM 10,000, max_tokens 8,192 and 100 tokens written in exactly 2 s (1 s to
/// the first token, 100 tokens/s, no latency noise), a second request never fits beside one
/// in flight (10,000 - 8,192 + 2 s x 166.7/s = 2,141 < 8,192); each completion refunds 8,092,
/// so the bucket is full again at once: one request every 2 s = 43,200 a day. Without the
/// reservation OTPM would allow 10,000 / 100 = 100 a minute = 144,000 a day.
#[test]
fn anthropic_reserves_max_tokens_of_otpm_until_the_call_ends() {
    let text = &format!(
        r#"{ONE_DAY}
[models.claude-sonnet-4-6]
requests_per_minute = 0
tokens_per_minute = 0
input_tokens_per_minute = 0
output_tokens_per_minute = 10000
time_to_first_token_s = 1.0
output_tokens_per_s = 100
latency_cv = 0

[[steps]]
name = "answer"
model = "claude-sonnet-4-6"
input_tokens = 100
output_tokens = 100
max_tokens = 8192
"#
    );
    assert_sustains(text, 43_200.0, "claude-sonnet-4-6", "OTPM");
}

/// Two steps a task, one on Opus 4.6 and one on Opus 4.5, each model 100 RPM: the Opus 4.x
/// models draw from one pool, so 100 requests a minute serve 50 tasks = 72,000 a day (each
/// model alone would allow 144,000). Two OpenAI models named into one pool do the same.
#[test]
fn models_of_one_pool_share_its_limits() {
    let pool = |a: &str, b: &str, extra: &str| {
        format!(
            r#"{ONE_DAY}
[models.{a}]
requests_per_minute = 100
tokens_per_minute = 0
input_tokens_per_minute = 0
output_tokens_per_minute = 0
{extra}

[models.{b}]
requests_per_minute = 100
tokens_per_minute = 0
input_tokens_per_minute = 0
output_tokens_per_minute = 0
{extra}

[[steps]]
name = "first"
model = "{a}"
input_tokens = 100
output_tokens = 10

[[steps]]
name = "second"
model = "{b}"
input_tokens = 100
output_tokens = 10
"#
        )
    };
    let r = run(&pool("claude-opus-4-6", "claude-opus-4-5", ""));
    let v = r.capacity.max_sustainable_tasks_per_day.expect("a limit");
    assert!((64_800.0..=73_440.0).contains(&v), "one pool: {v}");
    let l = r.capacity.limiting.as_ref().expect("a limiting model");
    assert_eq!(l.limit, "RPM");
    // "Claude Sonnet 4.x (Sonnet 4.6 and 4.5 combined)" is one row too; Haiku 4.5 is not.
    let v = run(&pool("claude-sonnet-4-6", "claude-sonnet-4-5", ""))
        .capacity
        .max_sustainable_tasks_per_day
        .expect("a limit");
    assert!((64_800.0..=73_440.0).contains(&v), "Sonnet 4.x pool: {v}");
    let v = run(&pool("claude-sonnet-4-6", "claude-haiku-4-5", ""))
        .capacity
        .max_sustainable_tasks_per_day
        .expect("a limit");
    assert!((129_600.0..=146_880.0).contains(&v), "own limits: {v}");

    let shared = pool(
        "gpt-5-mini",
        "gpt-5-nano",
        "rate_limit_pool = \"gpt-5 family\"",
    );
    let v = run(&shared)
        .capacity
        .max_sustainable_tasks_per_day
        .expect("a limit");
    assert!((64_800.0..=73_440.0).contains(&v), "named pool: {v}");
    let apart = pool("gpt-5-mini", "gpt-5-nano", "");
    let v = run(&apart)
        .capacity
        .max_sustainable_tasks_per_day
        .expect("a limit");
    assert!((129_600.0..=146_880.0).contains(&v), "own limits: {v}");
}

#[test]
fn a_pool_of_models_with_different_limits_is_an_error() {
    let text = r#"
[traffic]
tasks_per_day = 10

[models.claude-opus-4-6]
requests_per_minute = 100

[[steps]]
name = "first"
model = "claude-opus-4-6"
input_tokens = 100
output_tokens = 10

[[steps]]
name = "second"
model = "claude-opus-4-5"
input_tokens = 100
output_tokens = 10
"#;
    let e = burnrate_sim::Scenario::from_toml("pool.toml", text)
        .expect_err("different limits in one pool")
        .to_string();
    assert!(e.contains("rate_limit_pool"), "{e}");
    assert!(e.contains("claude-opus-4.x"), "{e}");
    // An empty pool name is refused with what is allowed.
    let e = burnrate_sim::Scenario::from_toml(
        "pool.toml",
        &text.replace(
            "requests_per_minute = 100\n",
            "requests_per_minute = 100\nrate_limit_pool = \"\"\n",
        ),
    )
    .expect_err("empty pool name")
    .to_string();
    assert!(e.contains("models.claude-opus-4-6.rate_limit_pool"), "{e}");
    // Naming them apart is accepted.
    scenario(&text.replace(
        "requests_per_minute = 100\n",
        "requests_per_minute = 100\nrate_limit_pool = \"mine\"\n",
    ));
}

/// "What would it take", by hand: the cached Sonnet 4.6 step with RPM 300, ITPM 100,000 and
/// OTPM 40,000 (output 100 tokens, no `max_tokens`: the reservation is the output itself).
/// The fluid figures come from the search's pilot, about 2,000 tasks over 3 hours: calls 5.4 s
/// apart keep refreshing the 1-hour cache, so the 20,000-token prefix is written once, 10
/// tokens a task. ITPM binds at 100,000 / 510 x 1,440 = 282,353 tasks/day (the pilot's task
/// count is Poisson, sd 45 of 2,000: 0.05% on this figure), RPM at 300 x 1,440 = 432,000, OTPM
/// at 40,000 / 100 x 1,440 = 576,000. Raising ITPM to 100,000 x 432,000 / 282,353 = 153,000
/// lets RPM bind next; raising RPM to 300 x 576/432 = 400 lets OTPM bind.
#[test]
fn what_it_would_take_lists_each_limit_in_the_order_traffic_meets_it() {
    let text = cached_prefix("claude-sonnet-4-6", 100_000)
        .replace("requests_per_minute = 0", "requests_per_minute = 300")
        .replace(
            "output_tokens_per_minute = 0",
            "output_tokens_per_minute = 40000",
        );
    let r = run(&text);
    let rungs = &r.capacity.what_it_would_take;
    let got: Vec<(&str, &str, u64)> = rungs
        .iter()
        .map(|x| (x.model.as_str(), x.limit.as_str(), x.limit_per_min))
        .collect();
    assert_eq!(
        got,
        [
            ("claude-sonnet-4-6", "ITPM", 100_000),
            ("claude-sonnet-4-6", "RPM", 300),
            ("claude-sonnet-4-6", "OTPM", 40_000)
        ]
    );
    for (rung, want, tolerance) in [
        (&rungs[0], 282_353.0, 0.002),
        (&rungs[1], 432_000.0, 1e-9),
        (&rungs[2], 576_000.0, 1e-9),
    ] {
        let got = rung.binds_at_tasks_per_day;
        assert!((got / want - 1.0).abs() <= tolerance, "{rung:?}");
    }
    let raise: Vec<Option<u64>> = rungs.iter().map(|x| x.raise_to_per_min).collect();
    assert!(
        raise[0].is_some_and(|v| (152_700..=153_300).contains(&v)),
        "{raise:?}"
    );
    assert_eq!(&raise[1..], [Some(400), None]);
    // The bisected answer is the first rung's, refined (the file's 90-102% rule).
    let v = r.capacity.max_sustainable_tasks_per_day.unwrap();
    assert!((282_353.0 * 0.90..=282_353.0 * 1.02).contains(&v), "{v}");
}

/// A request counting more than the whole TPM limit: OpenAI answers "Request too large for
/// MODEL ... on tokens per min (TPM): Limit L, Requested R. The input or output tokens must
/// be reduced in order to run successfully." (a 429 no wait cures), so the call fails at once
/// and costs nothing; Anthropic documents no such answer, so there it is admitted once the
/// bucket is full (into debt) and the task finishes.
#[test]
fn a_request_larger_than_the_whole_tpm_fails_on_openai_and_waits_on_anthropic() {
    let openai = format!(
        r#"{ONE_DAY}
{NO_FAILURES}
[models.gpt-5-mini]
requests_per_minute = 0
tokens_per_minute = 5000

[[steps]]
name = "answer"
model = "gpt-5-mini"
input_tokens = 1000
output_tokens = 200
max_tokens = 8000
"#
    );
    let r = run(&openai);
    assert!(r.tasks.total > 900, "{}", r.tasks.total);
    assert_eq!(r.tasks.failed, r.tasks.total);
    assert_eq!(r.calls.failures_by_kind["rate_limit"], r.tasks.total);
    assert_eq!(r.cost_usd.per_day.mean, 0.0);
    // 1,000 + 4,000 = 5,000 fits exactly: every task succeeds.
    let r = run(&openai.replace("max_tokens = 8000", "max_tokens = 4000"));
    assert_eq!(r.tasks.succeeded, r.tasks.total);

    let anthropic = openai.replace("gpt-5-mini", "claude-sonnet-4-6").replace(
        "tokens_per_minute = 5000",
        "tokens_per_minute = 0\noutput_tokens_per_minute = 5000",
    );
    let r = run(&anthropic);
    assert_eq!(r.tasks.failed, 0);
    assert!(r.tasks.succeeded > 0);
}
