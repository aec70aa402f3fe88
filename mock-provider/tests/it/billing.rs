//! Billing of faults: timeouts cost their input, malformed bodies are billed and logged with
//! their usage, and the request log carries the task header.

use super::{call, call_raw, cfg, chat, o200k};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn log_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("burnrate-mock-{name}-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

async fn log_lines(app: &axum::Router, path: &std::path::Path) -> Vec<Value> {
    // A reset flushes the log (and clears the ledger, so callers read the ledger first).
    call_raw(app, "POST", "/_mock/reset", String::new(), &[]).await;
    let text = std::fs::read_to_string(path).unwrap();
    let _ = std::fs::remove_file(path);
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn usage(app: &axum::Router) -> Value {
    call_raw(app, "GET", "/_mock/usage", String::new(), &[])
        .await
        .2
}

#[tokio::test]
async fn timeout_bills_its_input_and_is_immediate_at_time_scale_zero() {
    let path = log_path("timeout");
    let app = super::router(cfg(&format!(
        "time_scale = 0.0\nrequest_log = {:?}\n[defaults.faults]\ntimeout_s = 30",
        path.display().to_string()
    )));
    let prompt = 3 + o200k("user") + o200k("hello there") + 3;
    // With time_scale = 0 the 30 s hang is scaled to nothing: an immediate 504.
    let (s, _, v) = tokio::time::timeout(
        Duration::from_secs(5),
        call(
            &app,
            "/v1/chat/completions",
            chat("hello there"),
            &[("x-mock-fault", "timeout"), ("x-mock-output-tokens", "7")],
        ),
    )
    .await
    .expect("a timeout fault at time_scale 0 answers at once");
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(v["error"]["type"], "server_error");
    let embed_input = tiktoken_rs::cl100k_base_singleton()
        .encode_ordinary("abc def")
        .len() as u64;
    let (s, _, _) = call(
        &app,
        "/v1/embeddings",
        json!({"model": "text-embedding-3-small", "input": "abc def"}),
        &[("x-mock-fault", "timeout")],
    )
    .await;
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT);
    let (s, _, v) = call(
        &app,
        "/v1/messages",
        json!({"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hello there"}]}),
        &[("x-mock-fault", "timeout")],
    )
    .await;
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(v["error"]["type"], "timeout_error");
    let claude_input = 3 + o200k("hello there");

    let u = usage(&app).await;
    let m = &u["models"]["gpt-4o-mini"];
    assert_eq!(m["requests"], json!(1));
    assert_eq!(m["succeeded"], json!(0));
    assert_eq!(m["input_tokens"], json!(prompt));
    assert_eq!(m["output_tokens"], json!(0));
    assert_eq!(m["errors_by_status"]["504"], json!(1));
    assert_eq!(m["errors_by_kind"]["timeout"], json!(1));
    // gpt-4o-mini: 0.15 USD/MTok input.
    assert_eq!(m["cost_pusd"], json!(prompt * 150_000));
    let e = &u["models"]["text-embedding-3-small"];
    assert_eq!(e["input_tokens"], json!(embed_input));
    assert_eq!(e["cost_pusd"], json!(embed_input * 20_000));
    let c = &u["models"]["claude-haiku-4-5"];
    assert_eq!(c["input_tokens"], json!(claude_input));
    assert_eq!(c["output_tokens"], json!(0));
    // claude-haiku-4-5: 1 USD/MTok input.
    assert_eq!(c["cost_pusd"], json!(claude_input * 1_000_000));
    assert_eq!(u["total"]["requests"], json!(3));

    let lines = log_lines(&app, &path).await;
    assert_eq!(lines.len(), 3, "each timeout is logged once: {lines:?}");
    let a = &lines[0];
    assert_eq!(a["status"], 504);
    assert_eq!(a["error"], "timeout");
    assert_eq!(a["input_tokens"], json!(prompt));
    assert_eq!(a["output_tokens"], 0);
    assert_eq!(a["cost_pusd"], json!(prompt * 150_000));
    assert_eq!(lines[1]["input_tokens"], json!(embed_input));
    assert_eq!(lines[2]["provider"], "anthropic");
    assert_eq!(lines[2]["input_tokens"], json!(claude_input));
    assert_eq!(lines[2]["error"], "timeout");
}

/// The timed-out prompt is billed its cache write, but no response began, so the entry is not
/// readable (as in the engine): the next request writes again, the one after reads.
#[tokio::test]
async fn a_timed_out_prompt_is_written_but_readable_only_after_a_response_began() {
    let app = super::router(cfg("time_scale = 0.0"));
    let sys = "Policy line about refunds and returns. ".repeat(150);
    let sys_tokens = o200k(&sys);
    let body = |q: &str| {
        json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
            "system": [{"type": "text", "text": sys, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": q}]})
    };
    let (s, _, _) = call(
        &app,
        "/v1/messages",
        body("a"),
        &[("x-mock-fault", "timeout")],
    )
    .await;
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT);
    let u = usage(&app).await;
    assert_eq!(
        u["models"]["claude-sonnet-4-5"]["cache_write_5m_tokens"],
        json!(sys_tokens)
    );
    assert_eq!(
        u["models"]["claude-sonnet-4-5"]["input_tokens"],
        json!(3 + o200k("a"))
    );
    let (s, _, v) = call(&app, "/v1/messages", body("b"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["usage"]["cache_read_input_tokens"], 0);
    assert_eq!(v["usage"]["cache_creation_input_tokens"], json!(sys_tokens));
    let (_, _, v) = call(&app, "/v1/messages", body("c"), &[]).await;
    assert_eq!(v["usage"]["cache_read_input_tokens"], json!(sys_tokens));
}

#[tokio::test]
async fn timeout_hang_follows_the_time_scale() {
    // 20 s at time_scale 1; at 0.01 it is 200 ms.
    let app = super::router(cfg("time_scale = 0.01\n[defaults.faults]\ntimeout_s = 20"));
    let t0 = Instant::now();
    let (s, _, _) = tokio::time::timeout(
        Duration::from_secs(5),
        call(
            &app,
            "/v1/chat/completions",
            chat("x"),
            &[("x-mock-fault", "timeout")],
        ),
    )
    .await
    .expect("the scaled hang is 200 ms, not 20 s");
    let took = t0.elapsed();
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT);
    assert!(took >= Duration::from_millis(200), "{took:?}");
}

#[tokio::test]
async fn malformed_bodies_are_billed_and_logged_with_their_usage() {
    let path = log_path("malformed");
    let app = super::router(cfg(&format!(
        "time_scale = 0.0\nrequest_log = {:?}",
        path.display().to_string()
    )));
    let prompt = 3 + o200k("user") + o200k("hello") + 3;
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        chat("hello"),
        &[("x-mock-fault", "malformed"), ("x-mock-output-tokens", "6")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.is_string(), "the body is not valid JSON: {v}");
    let (s, _, v) = call(
        &app,
        "/v1/messages",
        json!({"model": "claude-haiku-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "hello"}]}),
        &[("x-mock-fault", "malformed"), ("x-mock-output-tokens", "4")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.is_string(), "the body is not valid JSON: {v}");
    let claude_input = 3 + o200k("hello");
    let u = usage(&app).await;
    assert_eq!(
        u["models"]["gpt-4o-mini"]["cost_pusd"],
        json!(prompt * 150_000 + 6 * 600_000)
    );
    assert_eq!(
        u["models"]["claude-haiku-4-5"]["cost_pusd"],
        json!(claude_input * 1_000_000 + 4 * 5_000_000)
    );
    let lines = log_lines(&app, &path).await;
    assert_eq!(lines.len(), 2);
    for (line, input, output) in [(&lines[0], prompt, 6), (&lines[1], claude_input, 4)] {
        assert_eq!(line["error"], "malformed");
        assert_eq!(line["status"], 200);
        assert_eq!(line["input_tokens"], json!(input), "{line}");
        assert_eq!(line["output_tokens"], json!(output), "{line}");
        assert_eq!(line["cache_read_tokens"], json!(0));
    }
    assert_eq!(lines[0]["cost_pusd"], json!(prompt * 150_000 + 6 * 600_000));
    assert_eq!(
        lines[1]["cost_pusd"],
        json!(claude_input * 1_000_000 + 4 * 5_000_000)
    );
}

#[tokio::test]
async fn task_header_is_logged() {
    let path = log_path("task");
    let app = super::router(cfg(&format!(
        "time_scale = 0.0\nrequest_log = {:?}",
        path.display().to_string()
    )));
    call(
        &app,
        "/v1/chat/completions",
        chat("x"),
        &[("x-mock-task", "task-17"), ("x-mock-step", "plan")],
    )
    .await;
    call(
        &app,
        "/v1/chat/completions",
        chat("x"),
        &[("x-mock-task", "task-17"), ("x-mock-fault", "500")],
    )
    .await;
    call(&app, "/v1/chat/completions", chat("x"), &[]).await;
    let lines = log_lines(&app, &path).await;
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["task"], "task-17");
    assert_eq!(lines[0]["step"], "plan");
    assert_eq!(lines[1]["task"], "task-17", "errors carry the task too");
    assert_eq!(lines[2]["task"], Value::Null);
    assert!(lines[2].as_object().unwrap().contains_key("task"));
}
