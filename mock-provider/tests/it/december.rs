//! The mock of December 2026: one bill per request through the catalog (long context, service
//! tiers), OpenAI GPT-5.6 caching (`prompt_cache_options`, explicit breakpoints, writes at
//! 1.25x), cache readiness, reasoning and extended thinking, catalog windows, models added in
//! the config, and unknown models answered with the nearest ids. Every bill is checked against
//! hand arithmetic from the catalog's prices (USD per million tokens = pUSD per token / 1e6).

use super::{call, call_raw, cfg, o200k};
use axum::http::StatusCode;
use serde_json::{Value, json};

async fn ledger(app: &axum::Router) -> Value {
    call_raw(app, "GET", "/_mock/usage", String::new(), &[])
        .await
        .2
}

fn user(model: &str, text: &str) -> Value {
    json!({"model": model, "reasoning_effort": "none",
        "messages": [{"role": "user", "content": text}]})
}

/// Prompt tokens of one user message by tiktoken's chat rule.
fn user_prompt(text: &str) -> u64 {
    3 + o200k("user") + o200k(text) + 3
}

#[tokio::test]
async fn a_300k_token_gpt_5_4_request_is_billed_at_the_long_context_rates() {
    let app = super::router(cfg("time_scale = 0.0"));
    let text = "alpha beta gamma delta ".repeat(75_000);
    let prompt = user_prompt(&text);
    assert!(prompt > 272_000, "{prompt}");
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        user("gpt-5.4", &text),
        &[("x-mock-output-tokens", "10")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["usage"]["prompt_tokens"], json!(prompt));
    // gpt-5.4 above 272k: input 5.00, output 22.50 (short: 2.50 / 15.00).
    let led = ledger(&app).await;
    assert_eq!(
        led["models"]["gpt-5.4"]["cost_pusd"],
        json!(prompt * 5_000_000 + 10 * 22_500_000)
    );
    // Below the threshold: the standard rates.
    let app = super::router(cfg("time_scale = 0.0"));
    let short = "alpha beta gamma delta ".repeat(1_000);
    call(
        &app,
        "/v1/chat/completions",
        user("gpt-5.4", &short),
        &[("x-mock-output-tokens", "10")],
    )
    .await;
    let led = ledger(&app).await;
    assert_eq!(
        led["models"]["gpt-5.4"]["cost_pusd"],
        json!(user_prompt(&short) * 2_500_000 + 10 * 15_000_000)
    );
}

#[tokio::test]
async fn service_tiers_are_billed_echoed_and_checked() {
    let app = super::router(cfg("time_scale = 0.0"));
    let text = "How long do refunds take?";
    let prompt = user_prompt(text);
    let mut costs = Vec::new();
    for (tier, echoed) in [
        (None, "default"),
        (Some("flex"), "flex"),
        (Some("priority"), "priority"),
        (Some("fast"), "priority"),
        (Some("auto"), "default"),
    ] {
        let mut body = user("gpt-5.6", text);
        if let Some(t) = tier {
            body["service_tier"] = json!(t);
        }
        let before = ledger(&app).await["total"]["cost_pusd"].as_u64().unwrap();
        let (s, _, v) = call(
            &app,
            "/v1/chat/completions",
            body,
            &[("x-mock-output-tokens", "20")],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["service_tier"], echoed);
        costs.push(ledger(&app).await["total"]["cost_pusd"].as_u64().unwrap() - before);
    }
    // gpt-5.6: 4.00 in / 20.00 out; flex 2.00 / 10.00; priority 8.00 / 40.00.
    let standard = prompt * 4_000_000 + 20 * 20_000_000;
    assert_eq!(costs[0], standard);
    assert_eq!(costs[1], prompt * 2_000_000 + 20 * 10_000_000);
    assert_eq!(costs[1] * 2, standard, "flex halves");
    assert_eq!(costs[2], standard * 2, "priority doubles");
    assert_eq!(costs[3], standard * 2);
    assert_eq!(costs[4], standard);
    let led = ledger(&app).await;
    assert_eq!(
        led["models"]["gpt-5.6"]["service_tiers"],
        json!({"standard": 2, "flex": 1, "priority": 2})
    );
    // Responses too.
    let (s, _, v) = call(
        &app,
        "/v1/responses",
        json!({"model": "gpt-5.6", "input": text, "service_tier": "flex", "reasoning": {"effort": "none"}}),
        &[("x-mock-output-tokens", "20")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["service_tier"], "flex");
    // A tier the model does not offer, and a value outside the enum: 400 naming the field.
    let mut body = user("gpt-4o", text);
    body["service_tier"] = json!("flex");
    let (s, _, v) = call(&app, "/v1/chat/completions", body, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["param"], "service_tier");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not support the 'flex' service tier"),
        "{v}"
    );
    let mut body = user("gpt-5.6", text);
    body["service_tier"] = json!("turbo");
    let (s, _, v) = call(&app, "/v1/chat/completions", body, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "invalid_value");
    // Anthropic: auto / standard_only, echoed in usage.
    let msg = |tier: Value| {
        json!({"model": "claude-sonnet-4-6", "max_tokens": 10, "service_tier": tier,
            "messages": [{"role": "user", "content": "hi"}]})
    };
    let (s, _, v) = call(&app, "/v1/messages", msg(json!("standard_only")), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["usage"]["service_tier"], "standard");
    let (s, _, v) = call(&app, "/v1/messages", msg(json!("priority")), &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["type"], "error");
    assert_eq!(
        v["error"]["message"],
        "service_tier: Input should be 'auto' or 'standard_only'"
    );
    let (s, _, _) = call(&app, "/v1/messages", msg(json!(5)), &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

fn sys_chat(model: &str, sys_part: Value, q: &str) -> Value {
    json!({"model": model, "reasoning_effort": "none", "messages": [
        {"role": "system", "content": [sys_part]},
        {"role": "user", "content": q}]})
}

#[tokio::test]
async fn gpt_5_6_writes_the_cache_at_1_25x_and_reports_it() {
    let app = super::router(cfg("time_scale = 0.0"));
    let sys = "Reference text for the agent to consult. ".repeat(160);
    let part = json!({"type": "text", "text": sys});
    let (s, _, a) = call(
        &app,
        "/v1/chat/completions",
        sys_chat("gpt-5.6", part.clone(), "one"),
        &[("x-mock-output-tokens", "5")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let p1 = a["usage"]["prompt_tokens"].as_u64().unwrap();
    // The implicit breakpoint: the prompt's last 128-token step.
    let w1 = p1 / 128 * 128;
    assert_eq!(
        a["usage"]["prompt_tokens_details"]["cache_write_tokens"],
        json!(w1)
    );
    assert_eq!(a["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    // input 4.00, 30-minute write 5.00 (1.25x), read 0.40, output 20.00.
    let first = (p1 - w1) * 4_000_000 + w1 * 5_000_000 + 5 * 20_000_000;
    let led = ledger(&app).await;
    assert_eq!(led["models"]["gpt-5.6"]["cost_pusd"], json!(first));
    assert_eq!(
        led["models"]["gpt-5.6"]["cache_write_30m_tokens"],
        json!(w1)
    );
    // The same prompt reads what was written, writes nothing more.
    let (_, _, b) = call(
        &app,
        "/v1/chat/completions",
        sys_chat("gpt-5.6", part.clone(), "one"),
        &[("x-mock-output-tokens", "5")],
    )
    .await;
    assert_eq!(
        b["usage"]["prompt_tokens_details"]["cached_tokens"],
        json!(w1)
    );
    assert_eq!(b["usage"]["prompt_tokens_details"]["cache_write_tokens"], 0);
    let led = ledger(&app).await;
    let second = (p1 - w1) * 4_000_000 + w1 * 400_000 + 5 * 20_000_000;
    assert_eq!(led["models"]["gpt-5.6"]["cost_pusd"], json!(first + second));
    // gpt-5.4 writes for free: the field says 0 and the tokens bill as input.
    let (_, _, c) = call(
        &app,
        "/v1/chat/completions",
        sys_chat("gpt-5.4", part, "one"),
        &[("x-mock-output-tokens", "5")],
    )
    .await;
    assert_eq!(c["usage"]["prompt_tokens_details"]["cache_write_tokens"], 0);
    let led = ledger(&app).await;
    assert_eq!(
        led["models"]["gpt-5.4"]["cost_pusd"],
        json!(p1 * 2_500_000 + 5 * 15_000_000)
    );
}

#[tokio::test]
async fn prompt_cache_retention_24h_writes_at_the_day_price() {
    let app = super::router(cfg("time_scale = 0.0"));
    let sys = "Reference text kept for a whole day of agent runs. ".repeat(160);
    let part = json!({"type": "text", "text": sys});
    let mut body = sys_chat("gpt-5.6", part.clone(), "one");
    body["prompt_cache_retention"] = json!("24h");
    let (s, _, a) = call(
        &app,
        "/v1/chat/completions",
        body,
        &[("x-mock-output-tokens", "5")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let p1 = a["usage"]["prompt_tokens"].as_u64().unwrap();
    let w1 = p1 / 128 * 128;
    assert_eq!(
        a["usage"]["prompt_tokens_details"]["cache_write_tokens"],
        json!(w1)
    );
    // input 4.00, 24-hour write 10.00 (2.5x input, the map's `_above_12hr` price), output 20.00.
    let led = ledger(&app).await;
    let m = &led["models"]["gpt-5.6"];
    assert_eq!(
        m["cost_pusd"],
        json!((p1 - w1) * 4_000_000 + w1 * 10_000_000 + 5 * 20_000_000)
    );
    assert_eq!(m["cache_write_24h_tokens"], json!(w1));
    assert_eq!(m["cache_write_30m_tokens"], 0);
    // Responses takes it too; a value outside the enum is a 400 naming the field.
    let (s, _, e) = call(
        &app,
        "/v1/responses",
        json!({"model": "gpt-5.6", "input": "hi", "prompt_cache_retention": "1w"}),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["param"], "prompt_cache_retention", "{e}");
    // Before GPT-5.6 the value is accepted and writes still bill as input.
    let mut old = sys_chat("gpt-5.4", part, "one");
    old["prompt_cache_retention"] = json!("24h");
    let (s, _, c) = call(
        &app,
        "/v1/chat/completions",
        old,
        &[("x-mock-output-tokens", "5")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let led = ledger(&app).await;
    assert_eq!(
        led["models"]["gpt-5.4"]["cost_pusd"],
        json!(p1 * 2_500_000 + 5 * 15_000_000)
    );
}

#[tokio::test]
async fn explicit_breakpoints_and_prompt_cache_options() {
    let app = super::router(cfg("time_scale = 0.0"));
    let sys = "Reference text for the agent to consult. ".repeat(160);
    let bp = json!({"type": "text", "text": sys, "prompt_cache_breakpoint": {"mode": "explicit"}});
    // The breakpoint falls exactly after the system part: 3 per message + role + text.
    let at = 3 + o200k("system") + o200k(&sys);
    assert_ne!(at % 128, 0, "the test needs a boundary off the 128 grid");
    let explicit = |part: Value, q: &str| {
        let mut b = sys_chat("gpt-5.6", part, q);
        b["prompt_cache_options"] = json!({"ttl": "30m", "mode": "explicit"});
        b
    };
    // Explicit mode without a breakpoint: no caching at all.
    let plain = json!({"type": "text", "text": sys});
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        explicit(plain.clone(), "q"),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["usage"]["prompt_tokens_details"]["cache_write_tokens"], 0);
    let (_, _, v) = call(&app, "/v1/chat/completions", explicit(plain, "q"), &[]).await;
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    // With one: written and then read exactly, not rounded to 128.
    let (_, _, v) = call(
        &app,
        "/v1/chat/completions",
        explicit(bp.clone(), "q1"),
        &[],
    )
    .await;
    assert_eq!(
        v["usage"]["prompt_tokens_details"]["cache_write_tokens"],
        json!(at)
    );
    let (_, _, v) = call(
        &app,
        "/v1/chat/completions",
        explicit(bp.clone(), "q2"),
        &[],
    )
    .await;
    assert_eq!(
        v["usage"]["prompt_tokens_details"]["cached_tokens"],
        json!(at)
    );
    assert_eq!(v["usage"]["prompt_tokens_details"]["cache_write_tokens"], 0);
    // Responses (a fresh cache): the options are echoed and the usage carries both counters.
    let app = super::router(cfg("time_scale = 0.0"));
    let input = json!([{"role": "system", "content": [{"type": "input_text", "text": sys,
        "prompt_cache_breakpoint": {"mode": "explicit"}}]}, {"role": "user", "content": "r"}]);
    let (s, _, v) = call(
        &app,
        "/v1/responses",
        json!({"model": "gpt-5.6", "input": input, "reasoning": {"effort": "none"},
            "prompt_cache_options": {"mode": "explicit"}}),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["prompt_cache_options"],
        json!({"ttl": "30m", "mode": "explicit"})
    );
    assert_eq!(
        v["usage"]["input_tokens_details"]["cache_write_tokens"],
        json!(at)
    );
    assert_eq!(v["usage"]["input_tokens_details"]["cached_tokens"], 0);
    // Models before 5.6 reject both, naming the parameter; bad values get the enum.
    let mut old = explicit(json!({"type": "text", "text": "x"}), "q");
    old["model"] = json!("gpt-5.4");
    let (s, _, v) = call(&app, "/v1/chat/completions", old, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["param"], "prompt_cache_options");
    assert_eq!(v["error"]["code"], "unsupported_parameter");
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        sys_chat("gpt-5.4", bp, "q"),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["error"]["param"],
        "messages[0].content[0].prompt_cache_breakpoint"
    );
    let mut bad = user("gpt-5.6", "q");
    bad["prompt_cache_options"] = json!({"ttl": "1h"});
    let (s, _, v) = call(&app, "/v1/chat/completions", bad, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["param"], "prompt_cache_options.ttl");
    let bad = sys_chat(
        "gpt-5.6",
        json!({"type": "text", "text": "x", "prompt_cache_breakpoint": {"mode": "auto"}}),
        "q",
    );
    let (s, _, v) = call(&app, "/v1/chat/completions", bad, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["error"]["param"],
        "messages[0].content[0].prompt_cache_breakpoint.mode"
    );
}

/// Two concurrent requests on one prefix, the first with a 2-second time to first token: the
/// second arrives while the first is still before its first token, so it writes again; a third
/// sent after the first answered reads. Ordering comes from the ledger (the first is charged
/// before its latency), not from sleeps.
#[tokio::test]
async fn a_cache_entry_is_readable_only_once_its_writer_began() {
    let app = super::router(cfg(
        "time_scale = 1.0\n[defaults]\nttft = { dist = \"constant\", value = 2.0 }\ninter_token = { dist = \"constant\", value = 0.0 }",
    ));
    let sys = "Policy line about refunds and returns. ".repeat(150);
    let sys_tokens = o200k(&sys);
    let body = |q: &str| {
        json!({"model": "claude-sonnet-4-6", "max_tokens": 10,
            "system": [{"type": "text", "text": sys, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": q}]})
    };
    let first = {
        let app = app.clone();
        let b = body("a");
        tokio::spawn(async move {
            call(&app, "/v1/messages", b, &[("x-mock-output-tokens", "2")]).await
        })
    };
    // Wait until the first request is charged (it then sleeps its 2 s before answering).
    let t0 = std::time::Instant::now();
    while ledger(&app).await["total"]["requests"] != 1 {
        assert!(
            t0.elapsed().as_secs() < 10,
            "the first request never started"
        );
        tokio::task::yield_now().await;
    }
    let (_, _, second) = call(
        &app,
        "/v1/messages",
        body("b"),
        &[("x-mock-output-tokens", "2")],
    )
    .await;
    assert!(
        t0.elapsed().as_secs_f64() < 4.0,
        "the second request must have started within the first's 2 s"
    );
    assert_eq!(second["usage"]["cache_read_input_tokens"], 0);
    assert_eq!(
        second["usage"]["cache_creation_input_tokens"],
        json!(sys_tokens)
    );
    let (_, _, a) = first.await.unwrap();
    assert_eq!(a["usage"]["cache_creation_input_tokens"], json!(sys_tokens));
    let (_, _, third) = call(
        &app,
        "/v1/messages",
        body("c"),
        &[("x-mock-output-tokens", "2")],
    )
    .await;
    assert_eq!(third["usage"]["cache_read_input_tokens"], json!(sys_tokens));
    assert_eq!(third["usage"]["cache_creation_input_tokens"], 0);
}

#[tokio::test]
async fn reasoning_tokens_bill_as_output_and_count_against_the_limit() {
    let app = super::router(cfg(
        "time_scale = 0.0\n[models.\"gpt-5.6\"]\nreasoning_tokens = { dist = \"constant\", value = 100 }\n[models.\"claude-sonnet-4-6\"]\nreasoning_tokens = { dist = \"constant\", value = 500 }",
    ));
    let text = "Plan the migration.";
    let prompt = user_prompt(text);
    let body = |effort: &str| {
        json!({"model": "gpt-5.6", "reasoning_effort": effort,
            "messages": [{"role": "user", "content": text}]})
    };
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        body("medium"),
        &[("x-mock-output-tokens", "20")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["usage"]["completion_tokens"], 120);
    assert_eq!(
        v["usage"]["completion_tokens_details"]["reasoning_tokens"],
        100
    );
    let led = ledger(&app).await;
    assert_eq!(
        led["models"]["gpt-5.6"]["cost_pusd"],
        json!(prompt * 4_000_000 + 120 * 20_000_000)
    );
    assert_eq!(led["models"]["gpt-5.6"]["reasoning_tokens"], 100);
    // High effort doubles the draw; the limit holds reasoning and reply together.
    let mut b = body("high");
    b["max_completion_tokens"] = json!(150);
    let (_, _, v) = call(
        &app,
        "/v1/chat/completions",
        b,
        &[("x-mock-output-tokens", "20")],
    )
    .await;
    assert_eq!(
        v["usage"]["completion_tokens_details"]["reasoning_tokens"],
        150
    );
    assert_eq!(v["usage"]["completion_tokens"], 150);
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    // `x-mock-reasoning-tokens` replaces the draw (drive sends 0).
    let (_, _, v) = call(
        &app,
        "/v1/chat/completions",
        body("medium"),
        &[
            ("x-mock-output-tokens", "20"),
            ("x-mock-reasoning-tokens", "7"),
        ],
    )
    .await;
    assert_eq!(
        v["usage"]["completion_tokens_details"]["reasoning_tokens"],
        7
    );
    let (s, _, _) = call(
        &app,
        "/v1/chat/completions",
        body("medium"),
        &[("x-mock-reasoning-tokens", "many")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, v) = call(&app, "/v1/chat/completions", body("huge"), &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["param"], "reasoning_effort");
    // Responses.
    let (_, _, v) = call(
        &app,
        "/v1/responses",
        json!({"model": "gpt-5.6", "input": text, "reasoning": {"effort": "low"}}),
        &[("x-mock-output-tokens", "20")],
    )
    .await;
    assert_eq!(v["usage"]["output_tokens_details"]["reasoning_tokens"], 50);
    assert_eq!(v["usage"]["output_tokens"], 70);
    // A model without reasoning reports none.
    let (_, _, v) = call(
        &app,
        "/v1/chat/completions",
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}),
        &[("x-mock-output-tokens", "20")],
    )
    .await;
    assert_eq!(
        v["usage"]["completion_tokens_details"]["reasoning_tokens"],
        0
    );
    assert_eq!(v["usage"]["completion_tokens"], 20);
}

fn thinking(model: &str, budget: Value, max_tokens: u64, stream: bool) -> Value {
    json!({"model": model, "max_tokens": max_tokens, "stream": stream,
        "thinking": {"type": "enabled", "budget_tokens": budget},
        "messages": [{"role": "user", "content": "Why is the sky blue?"}]})
}

#[tokio::test]
async fn anthropic_extended_thinking_blocks_bills_and_stream_events() {
    let app = super::router(cfg(
        "time_scale = 0.0\n[models.\"claude-sonnet-4-6\"]\nreasoning_tokens = { dist = \"constant\", value = 500 }",
    ));
    let input = 3 + o200k("Why is the sky blue?");
    let (s, _, v) = call(
        &app,
        "/v1/messages",
        thinking("claude-sonnet-4-6", json!(2000), 3000, false),
        &[("x-mock-output-tokens", "20")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["content"][0]["type"], "thinking");
    assert!(!v["content"][0]["signature"].as_str().unwrap().is_empty());
    assert_eq!(o200k(v["content"][0]["thinking"].as_str().unwrap()), 500);
    assert_eq!(v["content"][1]["type"], "text");
    assert_eq!(v["usage"]["output_tokens"], 520);
    let led = ledger(&app).await;
    assert_eq!(
        led["models"]["claude-sonnet-4-6"]["cost_pusd"],
        json!(input * 3_000_000 + 520 * 15_000_000)
    );
    // The budget caps the thinking.
    let (_, _, v) = call(
        &app,
        "/v1/messages",
        thinking("claude-sonnet-4-6", json!(1024), 1100, false),
        &[("x-mock-output-tokens", "20")],
    )
    .await;
    assert_eq!(v["usage"]["output_tokens"], 520);
    // Streamed: thinking_delta per token, then signature_delta, then the text at index 1.
    let (s, _, v) = call(
        &app,
        "/v1/messages",
        thinking("claude-sonnet-4-6", json!(2000), 3000, true),
        &[("x-mock-output-tokens", "20")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let sse = v.as_str().unwrap();
    let events: Vec<Value> = sse
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let delta = |ty: &str| {
        events
            .iter()
            .filter(|e| e["type"] == "content_block_delta" && e["delta"]["type"] == ty)
            .count()
    };
    assert_eq!(delta("thinking_delta"), 500);
    assert_eq!(delta("signature_delta"), 1);
    assert_eq!(delta("text_delta"), 20);
    let starts: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "content_block_start")
        .collect();
    assert_eq!(starts[0]["content_block"]["type"], "thinking");
    assert_eq!(starts[1]["index"], 1);
    let last = events
        .iter()
        .rev()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(last["usage"]["output_tokens"], 520);
    // Anthropic's validation.
    for (body, msg) in [
        (
            thinking("claude-sonnet-4-6", json!(1000), 3000, false),
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        ),
        (
            thinking("claude-sonnet-4-6", json!(3000), 3000, false),
            "`max_tokens` must be greater than `thinking.budget_tokens`",
        ),
        (
            thinking("claude-3-haiku", json!(2000), 3000, false),
            "'claude-3-haiku' does not support thinking.",
        ),
    ] {
        let (s, _, v) = call(&app, "/v1/messages", body, &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.starts_with(msg), "{m}");
    }
}

#[tokio::test]
async fn windows_come_from_the_catalog() {
    let app = super::router(cfg("time_scale = 0.0"));
    let mut b = user("gpt-5.6", "hi");
    b["max_completion_tokens"] = json!(128_001);
    let (s, _, v) = call(&app, "/v1/chat/completions", b, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 128000"),
        "{v}"
    );
    let (s, _, v) = call(
        &app,
        "/v1/messages",
        json!({"model": "claude-haiku-4-5", "max_tokens": 64_001, "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test]
async fn models_added_in_the_config_are_served_with_their_prices() {
    let app = super::router(cfg(
        "time_scale = 0.0\n[prices.\"acme-large\"]\nprovider = \"openai\"\ninput_usd_per_mtok = 1.5\noutput_usd_per_mtok = 6.0\n[prices.\"my-sonnet\"]\nbased_on = \"claude-sonnet-4-6\"\noutput_usd_per_mtok = 12.0\n[models.\"acme-large\"]\nrpm = 5",
    ));
    let text = "hello";
    let (s, h, v) = call(
        &app,
        "/v1/chat/completions",
        user("acme-large", text),
        &[("x-mock-output-tokens", "10")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(h["x-ratelimit-limit-requests"], "5");
    let (s, _, _) = call(
        &app,
        "/v1/messages",
        json!({"model": "my-sonnet", "max_tokens": 50, "messages": [{"role": "user", "content": text}]}),
        &[("x-mock-output-tokens", "10")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let led = ledger(&app).await;
    assert_eq!(
        led["models"]["acme-large"]["cost_pusd"],
        json!(user_prompt(text) * 1_500_000 + 10 * 6_000_000)
    );
    assert_eq!(
        led["models"]["my-sonnet"]["cost_pusd"],
        json!((3 + o200k(text)) * 3_000_000 + 10 * 12_000_000)
    );
    // Errors name the field, as a scenario's do.
    let e = burnrate_mock::MockConfig::from_toml_str(
        "[prices.\"x\"]\nprovider = \"openai\"\ninput_usd_per_mtok = -1.0\noutput_usd_per_mtok = 1.0",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("prices.\"x\".input_usd_per_mtok: "), "{e}");
    let e = burnrate_mock::MockConfig::from_toml_str("[prices.\"x\"]\nbased_on = \"gpt-99\"")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("prices.\"x\".based_on: unknown model"), "{e}");
}

#[tokio::test]
async fn unknown_models_get_a_404_naming_the_nearest_ids() {
    let app = super::router(cfg("time_scale = 0.0"));
    let (s, _, v) = call(&app, "/v1/chat/completions", user("gpt-5.66", "hi"), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "model_not_found");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(m.contains("Did you mean `gpt-5.6`"), "{m}");
    let (s, _, v) = call(
        &app,
        "/v1/messages",
        json!({"model": "claude-sonet-4-6", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["type"], "not_found_error");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(
        m.starts_with("model: claude-sonet-4-6 Did you mean `claude-sonnet-4-6`"),
        "{m}"
    );
    // Accepted unknown models are priced like a current stand-in of their provider.
    let app = super::router(cfg("time_scale = 0.0\naccept_unknown_models = true"));
    call(
        &app,
        "/v1/chat/completions",
        user("gpt-9-imaginary", "hi"),
        &[("x-mock-output-tokens", "10")],
    )
    .await;
    let led = ledger(&app).await;
    // gpt-5.4-mini: 0.75 in, 4.50 out.
    assert_eq!(
        led["models"]["gpt-9-imaginary"]["cost_pusd"],
        json!(user_prompt("hi") * 750_000 + 10 * 4_500_000)
    );
}
