//! The mock's rate limits count as the providers do (`burnrate_sim::LimitRules`), read from
//! the headers it answers with:
//!
//! - Anthropic, <https://docs.anthropic.com/en/api/rate-limits> (read 2026-12-06): ITPM counts
//!   `input_tokens` + `cache_creation_input_tokens`, not `cache_read_input_tokens` (except on
//!   dagger-marked models such as Claude 3 Haiku); OTPM is estimated from `max_tokens` at the
//!   start and corrected to the real output at the end; the Opus 4.x models share one limit.
//! - OpenAI, <https://platform.openai.com/docs/guides/rate-limits>: TPM counts the prompt
//!   plus `max_tokens` (`max_completion_tokens`); no refund documented, so none.
//!
//! Buckets refill continuously at limit / 60 per second, so a header read after `t` seconds
//! may be up to `t x limit / 60` above the hand-computed figure (`slack`), never below.

use super::{call, cfg, o200k};
use axum::http::{HeaderMap, StatusCode};
use burnrate_mock::router;
use serde_json::{Value, json};
use std::time::Instant;

fn num(h: &HeaderMap, name: &str) -> u64 {
    h[name].to_str().unwrap().parse().unwrap()
}

#[track_caller]
fn assert_refilled_from(actual: u64, expected: u64, start: Instant, limit_per_min: f64) {
    let slack = (start.elapsed().as_secs_f64() * limit_per_min / 60.0).ceil() as u64 + 1;
    assert!(
        actual >= expected && actual <= expected + slack,
        "expected {expected} (+ at most {slack} refilled), got {actual}"
    );
}

fn u(v: &Value, field: &str) -> u64 {
    v["usage"][field].as_u64().unwrap()
}

/// Two requests sharing a cached system prompt: the first writes it, the second reads it.
/// Returns (ITPM remaining after the write, after the read, the usages).
async fn write_then_read(model: &str) -> (u64, u64, Value, Value, Instant) {
    let app = router(cfg(&format!(
        "time_scale = 0.0\n[models.\"{model}\"]\ninput_tpm = 60000\noutput_tpm = 600000\n"
    )));
    let sys = "Policy line about refunds and returns. ".repeat(400);
    assert!(o200k(&sys) >= 2048, "cacheable on every Claude model");
    let body = |q: &str| {
        json!({"model": model, "max_tokens": 10,
            "system": [{"type": "text", "text": sys, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": q}]})
    };
    let start = Instant::now();
    let out = [("x-mock-output-tokens", "3")];
    let (s1, h1, a) = call(&app, "/v1/messages", body("first question"), &out).await;
    let (s2, h2, b) = call(&app, "/v1/messages", body("second"), &out).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    let remaining = "anthropic-ratelimit-input-tokens-remaining";
    (num(&h1, remaining), num(&h2, remaining), a, b, start)
}

#[tokio::test]
async fn claude_4_itpm_counts_uncached_input_and_cache_writes_not_reads() {
    let (r1, r2, a, b, start) = write_then_read("claude-sonnet-4-6").await;
    assert!(u(&a, "cache_creation_input_tokens") > 2000);
    assert_refilled_from(
        r1,
        60_000 - u(&a, "input_tokens") - u(&a, "cache_creation_input_tokens"),
        start,
        60_000.0,
    );
    // The read is free of ITPM: only the second question's uncached tokens are taken.
    assert!(u(&b, "cache_read_input_tokens") > 2000);
    assert_refilled_from(r2, r1 - u(&b, "input_tokens"), start, 60_000.0);
}

#[tokio::test]
async fn claude_3_haiku_itpm_counts_cache_reads_too() {
    let (r1, r2, _, b, start) = write_then_read("claude-3-haiku").await;
    let read = u(&b, "cache_read_input_tokens");
    assert!(read > 2000);
    assert_refilled_from(r2, r1 - u(&b, "input_tokens") - read, start, 60_000.0);
}

/// OTPM 10,000 and `max_tokens` 8,000 for a 10-token reply: 8,000 is reserved at the start
/// (2,000 remain), 7,990 come back at the end, so a second such request fits (it would not
/// without the correction: 2,000 < 8,000) and leaves 10,000 - 10 - 8,000 = 1,990.
#[tokio::test]
async fn anthropic_reserves_max_tokens_of_otpm_and_refunds_the_unused_part() {
    let app = router(cfg(
        "time_scale = 0.0\n[models.\"claude-sonnet-4-6\"]\ninput_tpm = 1000000\noutput_tpm = 10000\n",
    ));
    let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 8000,
        "messages": [{"role": "user", "content": "hello"}]});
    let out = [("x-mock-output-tokens", "10")];
    let start = Instant::now();
    let (s1, h1, _) = call(&app, "/v1/messages", body.clone(), &out).await;
    let (s2, h2, _) = call(&app, "/v1/messages", body, &out).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    let remaining = "anthropic-ratelimit-output-tokens-remaining";
    assert_refilled_from(num(&h1, remaining), 2_000, start, 10_000.0);
    assert_refilled_from(num(&h2, remaining), 1_990, start, 10_000.0);
}

/// TPM 20,000 and `max_tokens` 8,000: each request takes its prompt + 8,000 and keeps it,
/// so the third of a burst is refused with OpenAI's TPM error and a retry-after.
#[tokio::test]
async fn openai_counts_max_tokens_against_tpm_and_refuses_the_third_of_a_burst() {
    let app = router(cfg(
        "time_scale = 0.0\n[models.\"gpt-4o-mini\"]\nrpm = 1000\ntpm = 20000\n",
    ));
    let body = json!({"model": "gpt-4o-mini", "max_completion_tokens": 8000,
        "messages": [{"role": "user", "content": "hello"}]});
    let out = [("x-mock-output-tokens", "10")];
    let start = Instant::now();
    let (s1, h1, v1) = call(&app, "/v1/chat/completions", body.clone(), &out).await;
    let (s2, h2, _) = call(&app, "/v1/chat/completions", body.clone(), &out).await;
    let (s3, h3, v3) = call(&app, "/v1/chat/completions", body, &out).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    let prompt = v1["usage"]["prompt_tokens"].as_u64().unwrap();
    let remaining = "x-ratelimit-remaining-tokens";
    assert_refilled_from(
        num(&h1, remaining),
        20_000 - prompt - 8_000,
        start,
        20_000.0,
    );
    assert_refilled_from(
        num(&h2, remaining),
        20_000 - 2 * (prompt + 8_000),
        start,
        20_000.0,
    );
    assert_eq!(s3, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v3["error"]["code"], "rate_limit_exceeded");
    let msg = v3["error"]["message"].as_str().unwrap();
    assert!(msg.contains("tokens per min (TPM)"), "{msg}");
    assert!(
        msg.contains(&format!("Requested {}", prompt + 8_000)),
        "{msg}"
    );
    assert!(num(&h3, "retry-after") >= 1);
}

/// Opus 4.6 and Opus 4.5 draw from one pool: two requests to one use up an RPM of 2 for both;
/// Sonnet 4.6 and 4.5 from another.
#[tokio::test]
async fn the_opus_4_models_share_one_pool() {
    let app = router(cfg("time_scale = 0.0\n[defaults]\nrpm = 2\n"));
    let body = |model: &str| {
        json!({"model": model, "max_tokens": 5,
            "messages": [{"role": "user", "content": "hello"}]})
    };
    let mut statuses = Vec::new();
    for model in ["claude-opus-4-6", "claude-opus-4-6", "claude-opus-4-5"] {
        statuses.push(call(&app, "/v1/messages", body(model), &[]).await.0);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Sonnet 4.x is a pool of its own ("Sonnet 4.6 and 4.5 combined"): its third request is
    // refused, Haiku 4.5's first is not.
    let mut statuses = Vec::new();
    for model in [
        "claude-sonnet-4-6",
        "claude-sonnet-4-5",
        "claude-sonnet-4-6",
        "claude-haiku-4-5",
    ] {
        statuses.push(call(&app, "/v1/messages", body(model), &[]).await.0);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::OK
        ]
    );
}

/// A request larger than the whole limit: OpenAI refuses it at once with its "Request too
/// large" 429 (no wait would help); Anthropic (no documented answer) admits it once the
/// bucket is full, into debt, so a client never waits forever.
#[tokio::test]
async fn a_request_larger_than_the_whole_limit_never_waits_forever() {
    let app = router(cfg(
        "time_scale = 0.0\n[models.\"gpt-4o-mini\"]\nrpm = 1000\ntpm = 5000\n\n[models.\"claude-sonnet-4-6\"]\ninput_tpm = 1000000\noutput_tpm = 5000\n",
    ));
    let openai = json!({"model": "gpt-4o-mini", "max_completion_tokens": 8000,
        "messages": [{"role": "user", "content": "hello"}]});
    let (s, h, v) = call(&app, "/v1/chat/completions", openai, &[]).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Request too large for gpt-4o-mini"),
        "{msg}"
    );
    assert!(msg.contains("Limit 5000, Requested 80"), "{msg}");
    assert!(!h.contains_key("retry-after"), "waiting does not help");
    let anthropic = json!({"model": "claude-sonnet-4-6", "max_tokens": 8000,
        "messages": [{"role": "user", "content": "hello"}]});
    let (s, h, _) = call(
        &app,
        "/v1/messages",
        anthropic,
        &[("x-mock-output-tokens", "5")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "a full bucket admits it");
    assert_eq!(h["anthropic-ratelimit-output-tokens-remaining"], "0");
}

/// `usage_tier`: Anthropic's Start tab gives Claude Sonnet 4.x 1,000 RPM, 2,000,000 ITPM and
/// 400,000 OTPM, Fable 5.x 500,000 ITPM, and caps a month at $500
/// (<https://platform.claude.com/docs/en/api/rate-limits>, read 2026-12-07), which the
/// headers and the spend cap report; a model's own `rpm` still overrides; OpenAI's Tier 1
/// on GPT-5.5 is 500 RPM and 500,000 TPM (its model page).
#[tokio::test]
async fn a_usage_tier_sets_the_class_limits_and_the_spend_cap() {
    let config = cfg(
        "time_scale = 0.0\nusage_tier = \"start\"\n[models.\"claude-haiku-4-5\"]\nrpm = 7\n[models.\"gpt-5.5\"]\nusage_tier = \"tier-1\"\n",
    );
    assert_eq!(config.spend_cap_pusd, Some(500 * 1_000_000_000_000));
    let app = router(config);
    let body = |model: &str| {
        json!({"model": model, "max_tokens": 10,
            "messages": [{"role": "user", "content": "hello"}]})
    };
    let out = [("x-mock-output-tokens", "3")];
    let (s, h, _) = call(&app, "/v1/messages", body("claude-sonnet-4-6"), &out).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["anthropic-ratelimit-requests-limit"], "1000");
    assert_eq!(h["anthropic-ratelimit-input-tokens-limit"], "2000000");
    assert_eq!(h["anthropic-ratelimit-output-tokens-limit"], "400000");
    let (_, h, _) = call(&app, "/v1/messages", body("claude-fable-5-1"), &out).await;
    assert_eq!(h["anthropic-ratelimit-input-tokens-limit"], "500000");
    let (_, h, _) = call(&app, "/v1/messages", body("claude-haiku-4-5"), &out).await;
    assert_eq!(h["anthropic-ratelimit-requests-limit"], "7");
    let openai = json!({"model": "gpt-5.5", "max_completion_tokens": 10,
        "messages": [{"role": "user", "content": "hello"}]});
    let (_, h, _) = call(&app, "/v1/chat/completions", openai, &out).await;
    assert_eq!(h["x-ratelimit-limit-requests"], "500");
    assert_eq!(h["x-ratelimit-limit-tokens"], "500000");
}

#[test]
fn usage_tier_and_pool_errors_name_the_field_and_the_allowed_values() {
    let err = |toml: &str| match burnrate_mock::MockConfig::from_toml_str(toml) {
        Ok(_) => panic!("expected an error for {toml}"),
        Err(e) => e.to_string(),
    };
    let e = err("usage_tier = \"tier-9\"\n");
    assert!(
        e.contains("usage_tier")
            && e.contains(
                "anthropic start, build, scale; openai tier-1, tier-2, tier-3, tier-4, tier-5"
            ),
        "{e}"
    );
    let e = err("[models.\"claude-sonnet-4-6\"]\nusage_tier = \"tier-5\"\n");
    assert!(
        e.contains("models.\"claude-sonnet-4-6\".usage_tier")
            && e.contains("use one of: start, build, scale"),
        "{e}"
    );
    let e = err("[defaults]\nrate_limit_pool = \"all\"\n");
    assert!(e.contains("defaults.rate_limit_pool"), "{e}");
    let e = err("[models.\"gpt-5\"]\nrate_limit_pool = \" \"\n");
    assert!(e.contains("models.\"gpt-5\".rate_limit_pool"), "{e}");
    let e = err(
        "[models.\"gpt-5\"]\nrate_limit_pool = \"p\"\n[models.\"gpt-5-mini\"]\nrate_limit_pool = \"p\"\n",
    );
    assert!(
        e.contains("rate_limit_pool") && e.contains("different limits"),
        "{e}"
    );
}

/// Two OpenAI models named into one pool (as an organization's per-family limit) share its
/// buckets: an RPM of 2 used by one refuses the other. (Models of one pool must have the
/// same limits, so both set their TPM.)
#[tokio::test]
async fn models_naming_one_pool_share_its_buckets() {
    let app = router(cfg(
        "time_scale = 0.0\n[models.\"gpt-5\"]\nrpm = 2\ntpm = 1000000\nrate_limit_pool = \"gpt-5 family\"\n[models.\"gpt-5-mini\"]\nrpm = 2\ntpm = 1000000\nrate_limit_pool = \"gpt-5 family\"\n",
    ));
    let body = |model: &str| {
        json!({"model": model, "max_completion_tokens": 5,
            "messages": [{"role": "user", "content": "hello"}]})
    };
    let mut statuses = Vec::new();
    for model in ["gpt-5", "gpt-5-mini", "gpt-5-mini"] {
        statuses.push(call(&app, "/v1/chat/completions", body(model), &[]).await.0);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // gpt-4.1 keeps buckets of its own.
    let (s, _, _) = call(&app, "/v1/chat/completions", body("gpt-4.1"), &[]).await;
    assert_eq!(s, StatusCode::OK);
}

/// `limit_clock_speedup = 600`: the limits' clock runs 600x the wall clock, so at 1 RPM the
/// second request waits one scaled minute, which is 0.1 s of wall time: `retry-after-ms` says
/// 60,000 less what the scaled clock moved between the two requests, and the request is
/// admitted again about 0.1 s later (at speedup 1 that would take a minute). A bucket 429 names
/// its limit in `x-mock-rate-limited`, which an injected 429 fault does not send.
#[tokio::test]
async fn the_limit_clock_runs_at_its_speedup_and_a_limit_429_names_its_limit() {
    let app = router(cfg(
        "time_scale = 0.0\nlimit_clock_speedup = 600\n[models.\"gpt-5.5\"]\nrpm = 1\n",
    ));
    let body = json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]});
    let start = Instant::now();
    let (s1, _, _) = call(&app, "/v1/chat/completions", body.clone(), &[]).await;
    let (s2, h2, _) = call(&app, "/v1/chat/completions", body.clone(), &[]).await;
    let moved_scaled_ms = start.elapsed().as_secs_f64() * 600.0 * 1000.0;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(h2["x-mock-rate-limited"], "requests");
    let wait_ms = num(&h2, "retry-after-ms");
    assert!(
        wait_ms <= 60_000 && wait_ms as f64 >= 60_000.0 - moved_scaled_ms - 1.0,
        "retry-after-ms {wait_ms}, the scaled clock moved {moved_scaled_ms} ms"
    );
    // Bounded polling: at most 2 s of wall time (20x the scaled minute) before failing.
    let admitted = loop {
        let (s, _, _) = call(&app, "/v1/chat/completions", body.clone(), &[]).await;
        if s == StatusCode::OK {
            break start.elapsed();
        }
        assert!(
            start.elapsed().as_secs_f64() < 2.0,
            "not admitted after 2 s"
        );
        tokio::task::yield_now().await;
    };
    assert!(
        admitted.as_secs_f64() >= 0.09,
        "admitted after {admitted:?}"
    );

    // An injected 429 is a fault, not a limit: no `x-mock-rate-limited`.
    let faulty = router(cfg(
        "time_scale = 0.0\n[models.\"gpt-5.5\"]\n[models.\"gpt-5.5\".faults]\nrate_limit = 1.0\n",
    ));
    let (s, h, _) = call(&faulty, "/v1/chat/completions", body, &[]).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(h.get("retry-after").is_some() && h.get("x-mock-rate-limited").is_none());
}

#[test]
fn limit_clock_speedup_out_of_range_is_refused_naming_the_field() {
    for bad in ["0.5", "0", "-3", "2000000", "nan"] {
        let e = burnrate_mock::MockConfig::from_toml_str(&format!("limit_clock_speedup = {bad}"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("limit_clock_speedup") && e.contains("[1, 1000000]"),
            "{bad}: {e}"
        );
    }
}
