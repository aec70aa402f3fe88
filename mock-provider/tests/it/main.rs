//! Integration tests of the mock: the router in-process with `oneshot`, and real loopback
//! servers on port 0.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use burnrate_mock::{MockConfig, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

mod billing;
mod december;
mod frameworks;
mod fuzz_corpus;
mod gemini;
mod generic;
mod hardening;
mod properties;
mod ratelimits;
mod spelling;

fn cfg(toml: &str) -> MockConfig {
    MockConfig::from_toml_str(toml).unwrap()
}

fn o200k(s: &str) -> u64 {
    tiktoken_rs::o200k_base_singleton().encode_ordinary(s).len() as u64
}

async fn call(
    app: &axum::Router,
    path: &str,
    body: Value,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Value) {
    call_raw(app, "POST", path, body.to_string(), headers).await
}

async fn call_raw(
    app: &axum::Router,
    method: &str,
    path: &str,
    body: String,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, v)
}

fn chat(content: &str) -> Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]})
}

#[tokio::test]
async fn openai_usage_is_exact_tiktoken() {
    let app = router(cfg("time_scale = 0.0"));
    let (s, h, v) = call(
        &app,
        "/v1/chat/completions",
        chat("The quick brown fox jumps."),
        &[("x-mock-output-tokens", "11")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let expected = 3 + o200k("user") + o200k("The quick brown fox jumps.") + 3;
    assert_eq!(v["usage"]["prompt_tokens"], json!(expected));
    assert_eq!(v["usage"]["completion_tokens"], json!(11));
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(o200k(text), 11, "the reply really is 11 tokens: {text:?}");
    assert!(h.contains_key("x-ratelimit-remaining-requests"));
    assert!(h.contains_key("x-request-id"));
}

#[tokio::test]
async fn errors_use_the_calling_providers_shape() {
    let app = router(cfg(
        "time_scale = 0.0\nbody_limit_bytes = 2048\napi_keys = [\"sk-good\"]",
    ));
    // Bad JSON.
    let (s, _, v) = call_raw(
        &app,
        "POST",
        "/v1/messages",
        "{nope".into(),
        &[("x-api-key", "sk-good")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(v["request_id"].as_str().unwrap().starts_with("req_"));
    let (s, _, v) = call_raw(
        &app,
        "POST",
        "/v1/chat/completions",
        "{nope".into(),
        &[("authorization", "Bearer sk-good")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    // Wrong types.
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        json!({"model": "gpt-4o-mini", "messages": 5}),
        &[("authorization", "Bearer sk-good")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("messages")
            || v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("invalid type")
    );
    // 401 in each shape.
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        chat("x"),
        &[("authorization", "Bearer sk-bad")],
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_api_key"))
    );
    let (s, _, v) = call(
        &app,
        "/v1/messages",
        json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": []}),
        &[("x-api-key", "nope")],
    )
    .await;
    assert_eq!(
        (s, v["error"]["type"].clone()),
        (StatusCode::UNAUTHORIZED, json!("authentication_error"))
    );
    // 413.
    let big = chat(&"x".repeat(5000));
    let (s, _, v) = call(
        &app,
        "/v1/messages",
        big.clone(),
        &[("x-api-key", "sk-good")],
    )
    .await;
    assert_eq!(
        (s, v["error"]["type"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("request_too_large"))
    );
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        big,
        &[("authorization", "Bearer sk-good")],
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(v["error"]["message"].is_string());
    // Unknown model and unknown route.
    let (s, _, v) = call(&app, "/v1/messages", json!({"model": "claude-9", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}), &[("x-api-key", "sk-good")]).await;
    assert_eq!(
        (s, v["error"]["type"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found_error"))
    );
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        json!({"model": "gpt-7", "messages": [{"role": "user", "content": "x"}]}),
        &[("authorization", "Bearer sk-good")],
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("model_not_found"))
    );
    let (s, _, v) = call_raw(&app, "GET", "/v1/nothing", String::new(), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["error"]["message"].is_string());
    let (s, _, v) = call_raw(&app, "GET", "/v1/messages", String::new(), &[]).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(v["type"], "error");
}

/// |observed - n p| < 4 sigma with sigma = sqrt(n p (1 - p)).
fn within_4_sigma(observed: u64, n: u64, p: f64) {
    let mean = n as f64 * p;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        ((observed as f64) - mean).abs() < 4.0 * sigma,
        "observed {observed}, expected {mean} +- 4 x {sigma}"
    );
}

#[tokio::test]
async fn fault_rates_match_their_probabilities() {
    let app = router(cfg(
        "seed = 11\ntime_scale = 0.0\n[defaults.faults]\nrate_limit = 0.2\nserver_error = 0.1\noverloaded = 0.05\n",
    ));
    let n = 2000u64;
    let (mut r429, mut r500, mut r529, mut ok) = (0, 0, 0, 0);
    for i in 0..n {
        let (s, h, _) = call(
            &app,
            "/v1/chat/completions",
            chat(&format!("q{i}")),
            &[("x-mock-output-tokens", "1")],
        )
        .await;
        match s.as_u16() {
            429 => {
                assert!(h.contains_key("retry-after") && h.contains_key("retry-after-ms"));
                assert!(h.contains_key("x-ratelimit-limit-requests"));
                r429 += 1
            }
            500 => r500 += 1,
            529 => r529 += 1,
            200 => ok += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    within_4_sigma(r429, n, 0.2);
    within_4_sigma(r500, n, 0.1);
    within_4_sigma(r529, n, 0.05);
    within_4_sigma(ok, n, 0.65);
    // Every request is in the ledger, errors by status.
    let (_, _, u) = call_raw(&app, "GET", "/_mock/usage", String::new(), &[]).await;
    assert_eq!(u["total"]["requests"], json!(n));
    assert_eq!(u["total"]["errors_by_status"]["429"], json!(r429));
}

#[tokio::test]
async fn same_seed_same_faults() {
    let run = || async {
        let app = router(cfg(
            "seed = 5\ntime_scale = 0.0\n[defaults.faults]\nserver_error = 0.3\n",
        ));
        let mut seq = Vec::new();
        for _ in 0..50 {
            seq.push(
                call(&app, "/v1/chat/completions", chat("x"), &[])
                    .await
                    .0
                    .as_u16(),
            );
        }
        seq
    };
    assert_eq!(run().await, run().await);
}

#[tokio::test]
async fn scripted_sequence_then_success_and_forced_header() {
    let app = router(cfg(
        "time_scale = 0.0\n[models.\"gpt-4o-mini\"]\nscript = [\"500\", \"429\", \"ok\"]\n",
    ));
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(
                call(&app, "/v1/chat/completions", chat("x"), &[])
                    .await
                    .0
                    .as_u16(),
            );
        }
        v
    };
    assert_eq!(statuses, vec![500, 429, 200, 200]);
    let (s, _, v) = call(&app, "/v1/messages", json!({"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}), &[("x-mock-fault", "529")]).await;
    assert_eq!(s.as_u16(), 529);
    assert_eq!(v["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn rate_limit_bucket_never_over_admits() {
    let app = router(cfg("time_scale = 0.0\n[models.\"gpt-4o\"]\nrpm = 50\n"));
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]});
            call(
                &app,
                "/v1/chat/completions",
                body,
                &[("x-mock-output-tokens", "1")],
            )
            .await
        }));
    }
    let mut admitted = 0u64;
    for t in tasks {
        let (s, h, v) = t.await.unwrap();
        if s == StatusCode::OK {
            admitted += 1;
        } else {
            assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(v["error"]["code"], "rate_limit_exceeded");
            let ms: u64 = h["retry-after-ms"].to_str().unwrap().parse().unwrap();
            assert!(
                ms > 0 && ms <= 1200,
                "one request refills in 1.2 s at 50 RPM, got {ms} ms"
            );
            assert_eq!(h["x-ratelimit-remaining-requests"], "0");
        }
    }
    let refill = (start.elapsed().as_secs_f64() * 50.0 / 60.0).ceil() as u64;
    assert!(
        admitted >= 50 && admitted <= 50 + refill,
        "admitted {admitted}, refill {refill}"
    );
}

#[tokio::test]
async fn anthropic_cache_accounting_to_the_token() {
    let app = router(cfg("time_scale = 0.0"));
    let sys = "Policy line about refunds and returns. ".repeat(150);
    let sys_tokens = o200k(&sys);
    assert!(sys_tokens >= 1024);
    let body = |q: &str, ttl: &str| {
        json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
            "system": [{"type": "text", "text": sys, "cache_control": {"type": "ephemeral", "ttl": ttl}}],
            "messages": [{"role": "user", "content": q}]})
    };
    let (_, _, a) = call(
        &app,
        "/v1/messages",
        body("first question", "1h"),
        &[("x-mock-output-tokens", "3")],
    )
    .await;
    let u = &a["usage"];
    assert_eq!(u["cache_creation_input_tokens"], json!(sys_tokens));
    assert_eq!(
        u["cache_creation"]["ephemeral_1h_input_tokens"],
        json!(sys_tokens)
    );
    assert_eq!(u["cache_creation"]["ephemeral_5m_input_tokens"], json!(0));
    assert_eq!(u["cache_read_input_tokens"], json!(0));
    assert_eq!(u["input_tokens"], json!(3 + o200k("first question")));
    let (_, _, b) = call(
        &app,
        "/v1/messages",
        body("second", "1h"),
        &[("x-mock-output-tokens", "3")],
    )
    .await;
    let u = &b["usage"];
    assert_eq!(u["cache_read_input_tokens"], json!(sys_tokens));
    assert_eq!(u["cache_creation_input_tokens"], json!(0));
    assert_eq!(u["input_tokens"], json!(3 + o200k("second")));
    // Cost with the catalog: 1h write at 6, read at 0.30, input 3, output 15 USD/MTok.
    let (_, _, led) = call_raw(&app, "GET", "/_mock/usage", String::new(), &[]).await;
    let m = &led["models"]["claude-sonnet-4-5"];
    let input = 3 + o200k("first question") + 3 + o200k("second");
    let expected =
        sys_tokens * 6_000_000 + sys_tokens * 300_000 + input * 3_000_000 + 6 * 15_000_000;
    assert_eq!(m["cost_pusd"], json!(expected));
    // Haiku 4.5 needs 4096 tokens: the same prefix is not cached and nothing fails.
    let mut h = body("x", "5m");
    h["model"] = json!("claude-haiku-4-5");
    let (s, _, c) = call(&app, "/v1/messages", h, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["usage"]["cache_creation_input_tokens"], json!(0));
    assert_eq!(c["usage"]["cache_read_input_tokens"], json!(0));
}

#[tokio::test]
async fn openai_prefix_cache_in_128_token_steps() {
    let app = router(cfg("time_scale = 0.0"));
    let long = "Reference text for the agent to consult. ".repeat(160);
    let (_, _, a) = call(
        &app,
        "/v1/chat/completions",
        chat(&long),
        &[("x-mock-output-tokens", "1")],
    )
    .await;
    let prompt = a["usage"]["prompt_tokens"].as_u64().unwrap();
    assert!(prompt >= 1024);
    assert_eq!(
        a["usage"]["prompt_tokens_details"]["cached_tokens"],
        json!(0)
    );
    let (_, _, b) = call(
        &app,
        "/v1/chat/completions",
        chat(&long),
        &[("x-mock-output-tokens", "1")],
    )
    .await;
    assert_eq!(
        b["usage"]["prompt_tokens_details"]["cached_tokens"],
        json!(prompt / 128 * 128)
    );
    // Billing: (prompt - cached) x 0.15 + cached x 0.075 + 1 x 0.60 USD/MTok.
    let cached = prompt / 128 * 128;
    let (_, _, led) = call_raw(&app, "GET", "/_mock/usage", String::new(), &[]).await;
    let expected =
        prompt * 150_000 + 600_000 + (prompt - cached) * 150_000 + cached * 75_000 + 600_000;
    assert_eq!(led["models"]["gpt-4o-mini"]["cost_pusd"], json!(expected));
}

#[tokio::test]
async fn spend_cap_answers_quota_errors() {
    let app = router(cfg("time_scale = 0.0\nspend_cap_usd = 0.000000001"));
    let (s, _, _) = call(&app, "/v1/chat/completions", chat("x"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, v) = call(&app, "/v1/chat/completions", chat("x"), &[]).await;
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (StatusCode::TOO_MANY_REQUESTS, json!("insufficient_quota"))
    );
}

#[tokio::test]
async fn request_log_has_the_documented_fields() {
    let path = std::env::temp_dir().join(format!("burnrate-mock-log-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let app = router(cfg(&format!(
        "time_scale = 0.0\nrequest_log = {:?}",
        path.display().to_string()
    )));
    call(
        &app,
        "/v1/chat/completions",
        chat("x"),
        &[("x-mock-step", "classify"), ("x-mock-output-tokens", "2")],
    )
    .await;
    call(
        &app,
        "/v1/chat/completions",
        chat("x"),
        &[("x-mock-fault", "500")],
    )
    .await;
    call_raw(&app, "POST", "/_mock/reset", String::new(), &[]).await; // flushes the log
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let a = &lines[0];
    for field in [
        "ts",
        "request_id",
        "provider",
        "api",
        "model",
        "key",
        "step",
        "status",
        "input_tokens",
        "cache_write_tokens",
        "cache_read_tokens",
        "output_tokens",
        "cost_usd",
        "latency_ms",
    ] {
        assert!(a.get(field).is_some(), "missing {field}");
    }
    assert_eq!(a["step"], "classify");
    assert_eq!(a["output_tokens"], 2);
    assert_eq!(lines[1]["status"], 500);
    assert_eq!(lines[1]["error"], "server_error");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn config_errors_name_the_field() {
    let e = MockConfig::from_toml_str("[models.\"gpt-7\"]\nrpm = 1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("models.\"gpt-7\""), "{e}");
    let e = MockConfig::from_toml_str("[defaults.faults]\nrate_limit = 2.0")
        .unwrap_err()
        .to_string();
    assert!(e.contains("defaults.faults.rate_limit"), "{e}");
    let e = MockConfig::from_toml_str("[models.\"gpt-4o\"]\nscript = [\"boom\"]")
        .unwrap_err()
        .to_string();
    assert!(e.contains("script[0]"), "{e}");
    let e = MockConfig::from_toml_str("time_scale = -1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("time_scale"), "{e}");
    let e = MockConfig::from_toml_str("bogus = 1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("bogus"), "{e}");
}

/// A real server on port 0: chunks arrive spread over time (not one buffered body).
#[tokio::test]
async fn streams_are_really_streamed_over_loopback() {
    let config = cfg(
        "time_scale = 1.0\n[defaults]\nttft = { dist = \"constant\", value = 0.05 }\ninter_token = { dist = \"constant\", value = 0.01 }\n",
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(burnrate_mock::serve(config, listener, async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let start = std::time::Instant::now();
    let mut resp = client
        .post(format!("http://{addr}/v1/chat/completions"))
        .header("x-mock-output-tokens", "20")
        .json(&json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    let mut arrivals = Vec::new();
    let mut body = String::new();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        arrivals.push(start.elapsed().as_secs_f64());
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(body.ends_with("data: [DONE]\n\n"));
    assert_eq!(body.matches("\"content\":").count(), 21); // role chunk + 20 tokens
    let total = *arrivals.last().unwrap();
    assert!(total >= 0.05 + 19.0 * 0.01, "total {total}");
    assert!(
        arrivals.len() >= 10,
        "chunks were flushed one by one: {}",
        arrivals.len()
    );
    // Graceful shutdown: start a stream, signal, and the stream still completes.
    let pending = client
        .post(format!("http://{addr}/v1/chat/completions"))
        .header("x-mock-output-tokens", "10")
        .json(&json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    tx.send(()).unwrap();
    let text = pending.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn admin_config_put_changes_behaviour() {
    let app = router(cfg("time_scale = 0.0"));
    let (s, _, _) = call_raw(
        &app,
        "PUT",
        "/_mock/config",
        json!({"time_scale": 0.0, "defaults": {"faults": {"server_error": 1.0}}}).to_string(),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(&app, "/v1/chat/completions", chat("x"), &[]).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    let (s, _, v) = call_raw(
        &app,
        "PUT",
        "/_mock/config",
        json!({"defaults": {"faults": {"server_error": 3.0}}}).to_string(),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("defaults.faults.server_error")
    );
    let (s, _, m) = call_raw(&app, "GET", "/metrics", String::new(), &[]).await;
    assert_eq!(s, StatusCode::OK);
    let m = m.as_str().unwrap().to_string();
    assert!(
        m.contains("burnrate_mock_requests_total{model=\"gpt-4o-mini\",status=\"500\"} 1"),
        "{m}"
    );
}
