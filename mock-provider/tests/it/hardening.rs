//! Hostile input and bounded resources (issue 12): each test here failed on the mock before
//! the fix it names.

use super::{call, call_raw, cfg};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn usage(app: &axum::Router) -> Value {
    call_raw(app, "GET", "/_mock/usage", String::new(), &[])
        .await
        .2
}

fn tool_chat(schema: Value, max_tokens: Option<u64>) -> Value {
    let mut body = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "call it"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}],
        "tool_choice": "required",
    });
    if let Some(n) = max_tokens {
        body["max_tokens"] = json!(n);
    }
    body
}

/// Overflowing and non-finite schema bounds panicked in the generator and dropped the
/// connection; now they answer 200 and are billed.
#[tokio::test]
async fn hostile_schema_bounds_answer_instead_of_panicking() {
    let app = super::router(cfg("time_scale = 0.0"));
    let schemas = [
        json!({"type": "object", "properties": {"a": {"type": "array", "minItems": u64::MAX, "items": {"type": "integer"}}}}),
        json!({"type": "object", "properties": {"x": {"type": "number", "minimum": -1.7e308, "maximum": 1.7e308}}}),
        json!({"type": "object", "properties": {"i": {"type": "integer", "minimum": -1e300, "maximum": 1e300, "multipleOf": 7}}}),
        json!({"type": "object", "properties": {"s": {"type": "string", "minLength": u64::MAX}}}),
    ];
    for schema in &schemas {
        let (s, _, v) = call(
            &app,
            "/v1/chat/completions",
            tool_chat(schema.clone(), None),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{schema}: {v}");
        let args = v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap();
        let parsed: Value = serde_json::from_str(args).unwrap();
        for x in parsed.as_object().unwrap().values() {
            if let Some(f) = x.as_f64() {
                assert!(f.is_finite(), "{schema}: {x}");
            }
        }
    }
    assert_eq!(
        usage(&app).await["total"]["succeeded"],
        json!(schemas.len())
    );
}

/// A schema that refers to itself produced 100+ MB replies and billed 1.24M tokens with
/// `max_tokens: 50`; arguments are now bounded by max_tokens (and a depth limit).
#[tokio::test]
async fn recursive_schemas_are_bounded_by_max_tokens() {
    let app = super::router(cfg("time_scale = 0.0"));
    let schema = json!({"type": "object", "properties": {"a": {"$ref": "#"}, "b": {"$ref": "#"}, "c": {"$ref": "#"}}, "required": ["a", "b", "c"]});
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        tool_chat(schema.clone(), Some(50)),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["usage"]["completion_tokens"], json!(50));
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(usage(&app).await["total"]["output_tokens"], json!(50));
    // Without max_tokens: the model's output limit and the generator's budget (1 MiB).
    let (s, _, v) = call(&app, "/v1/chat/completions", tool_chat(schema, None), &[]).await;
    assert_eq!(s, StatusCode::OK);
    let args = v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap();
    assert!(args.len() <= 2 << 20, "{} bytes", args.len());
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() <= 16_384);
}

/// Tokenizing is linear and off the async threads with a time budget: a prompt past the
/// budget gets a 400 instead of stalling the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokenizing_has_a_time_budget() {
    let app = super::router(cfg(
        "time_scale = 0.0\n[server_limits]\ntokenize_timeout_s = 0.001",
    ));
    let word = "z".repeat(8 << 20);
    let (s, _, v) = call(&app, "/v1/chat/completions", super::chat(&word), &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tokenized within"),
        "{v}"
    );
    // Within the default budget a 400 KB word (quadratic before: about a minute) answers.
    let app = super::router(cfg("time_scale = 0.0"));
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        super::chat(&"ab".repeat(200_000)),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 1000);
}

/// Model names and keys are bounded: longer ones get a 400 in the provider's shape and are
/// stored nowhere; keys are never echoed.
#[tokio::test]
async fn long_model_names_and_keys_are_rejected_and_keys_redacted() {
    let app = super::router(cfg("time_scale = 0.0\naccept_unknown_models = true"));
    let long = "m".repeat(1 << 20);
    let body = json!({"model": long, "messages": [{"role": "user", "content": "x"}]});
    let (s, _, v) = call(&app, "/v1/chat/completions", body, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["param"], "model");
    assert_eq!(v["error"]["code"], "string_above_max_length");
    let body =
        json!({"model": long, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]});
    let (s, _, v) = call(&app, "/v1/messages", body, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["type"], "error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("model: String should have at most 256")
    );
    let key = format!("Bearer sk-{}", "k".repeat(100_000));
    let (s, _, _) = call(
        &app,
        "/v1/chat/completions",
        super::chat("x"),
        &[("authorization", &key)],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // A normal key shows up redacted in the ledger.
    let (s, _, _) = call(
        &app,
        "/v1/chat/completions",
        super::chat("x"),
        &[("authorization", "Bearer sk-proj-abcdefgh12345678")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let u = usage(&app).await;
    let text = u.to_string();
    assert!(
        !text.contains("mmmmmmmm") && !text.contains("kkkkkkkk"),
        "nothing long is stored"
    );
    assert!(!text.contains("sk-proj-abcdefgh12345678"));
    assert!(u["keys"].get("sk-…5678").is_some(), "{u}");
    // Client-chosen model names share one metrics label.
    for i in 0..50 {
        let body = json!({"model": format!("my-model-{i}"), "messages": [{"role": "user", "content": "x"}]});
        call(&app, "/v1/chat/completions", body, &[]).await;
    }
    let (_, _, m) = call_raw(&app, "GET", "/metrics", String::new(), &[]).await;
    let m = m.as_str().unwrap();
    assert!(!m.contains("my-model-"), "unknown models are not labels");
    assert!(m.contains("model=\"(unknown)\",status=\"200\"} 50"), "{m}");
}

/// With keys configured, admin endpoints and the model list need a key; the config API shows
/// no key and may not name files outside the log directory.
#[tokio::test]
async fn admin_endpoints_need_the_admin_key_and_never_echo_keys() {
    let config = cfg(
        "time_scale = 0.0\napi_keys = [\"sk-user-000000000001\"]\nadmin_key = \"sk-admin-00000000002\"",
    );
    let dir = std::env::temp_dir().join(format!("burnrate-mock-logdir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let app = super::router(config.with_log_dir(dir.clone()));
    for path in ["/_mock/usage", "/_mock/config"] {
        let (s, h, _) = call_raw(&app, "GET", path, String::new(), &[]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
        assert!(h.contains_key("x-request-id"));
        let user = [("authorization", "Bearer sk-user-000000000001")];
        let (s, _, _) = call_raw(&app, "GET", path, String::new(), &user).await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "a user key is not the admin key"
        );
    }
    let (s, _, _) = call_raw(&app, "POST", "/_mock/reset", String::new(), &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = call_raw(&app, "GET", "/v1/models", String::new(), &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let admin = [("authorization", "Bearer sk-admin-00000000002")];
    let (s, _, v) = call_raw(&app, "GET", "/_mock/config", String::new(), &admin).await;
    assert_eq!(s, StatusCode::OK);
    let text = v.to_string();
    assert!(
        !text.contains("sk-user-000000000001") && !text.contains("sk-admin-00000000002"),
        "{text}"
    );
    let put = |log: &str| {
        json!({"time_scale": 0.0, "api_keys": ["sk-user-000000000001"], "admin_key": "sk-admin-00000000002", "request_log": log})
            .to_string()
    };
    for bad in [
        "/tmp/burnrate-anywhere.jsonl",
        "../escape.jsonl",
        "sub/../../x.jsonl",
    ] {
        let (s, _, v) = call_raw(&app, "PUT", "/_mock/config", put(bad), &admin).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert_eq!(v["error"]["param"], "request_log");
    }
    assert!(!std::path::Path::new("/tmp/burnrate-anywhere.jsonl").exists());
    let (s, _, v) = call_raw(&app, "PUT", "/_mock/config", put("inside.jsonl"), &admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(dir.join("inside.jsonl").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without a log directory, the config API cannot name a log file at all.
#[tokio::test]
async fn config_api_cannot_create_files_without_a_log_dir() {
    let app = super::router(cfg("time_scale = 0.0"));
    let path =
        std::env::temp_dir().join(format!("burnrate-mock-nolog-{}.jsonl", std::process::id()));
    let body = json!({"request_log": path}).to_string();
    let (s, _, _) = call_raw(&app, "PUT", "/_mock/config", body, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!path.exists());
}

/// Request ids on every answer, and Anthropic's 404 body carries the real one.
#[tokio::test]
async fn every_response_has_a_request_id() {
    let app = super::router(cfg("time_scale = 0.0"));
    let (s, h, v) = call_raw(&app, "POST", "/v1/messages/nope", "{}".into(), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let id = h["request-id"].to_str().unwrap();
    assert_eq!(v["request_id"], id);
    assert_ne!(id, "req_mock");
    let (s, h, _) = call_raw(&app, "GET", "/v1/chat/completions", String::new(), &[]).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert!(h.contains_key("x-request-id"));
    let (_, h, _) = call_raw(&app, "GET", "/v1/models", String::new(), &[]).await;
    assert!(h.contains_key("x-request-id"));
    let (_, h, _) = call_raw(&app, "GET", "/nowhere", String::new(), &[]).await;
    assert!(h.contains_key("x-request-id"));
}

/// Uploaded files are capped in total.
#[tokio::test]
async fn stored_files_are_capped() {
    let app = super::router(cfg(
        "time_scale = 0.0\n[server_limits]\nmax_stored_file_bytes = 1000",
    ));
    let upload = |n: usize| {
        let boundary = "XyZ";
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jsonl\"\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--{boundary}--\r\n",
            "x".repeat(n)
        )
    };
    let ct = [("content-type", "multipart/form-data; boundary=XyZ")];
    let send = |body: String| {
        let app = app.clone();
        async move {
            use tower::ServiceExt;
            let req = axum::http::Request::builder()
                .method("POST")
                .uri("/v1/files")
                .header(ct[0].0, ct[0].1)
                .body(axum::body::Body::from(body))
                .unwrap();
            app.oneshot(req).await.unwrap().status()
        }
    };
    assert_eq!(send(upload(600)).await, StatusCode::OK);
    assert_eq!(send(upload(600)).await, StatusCode::BAD_REQUEST);
    call_raw(&app, "POST", "/_mock/reset", String::new(), &[]).await;
    assert_eq!(send(upload(600)).await, StatusCode::OK);
}

/// A batch polled by many clients at once is settled (and billed) once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_polls_settle_a_batch_once() {
    let app = super::router(cfg("time_scale = 0.0\nbatch_completion_s = 0.0"));
    let n = 3000;
    let requests: Vec<Value> = (0..n)
        .map(|i| json!({"custom_id": format!("r{i}"), "params": {"model": "claude-haiku-4-5", "max_tokens": 20, "messages": [{"role": "user", "content": format!("q {i}")}]}}))
        .collect();
    let (s, _, b) = call(
        &app,
        "/v1/messages/batches",
        json!({"requests": requests}),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    let polls: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            let id = id.clone();
            tokio::spawn(async move {
                call_raw(
                    &app,
                    "GET",
                    &format!("/v1/messages/batches/{id}"),
                    String::new(),
                    &[],
                )
                .await
            })
        })
        .collect();
    for p in polls {
        assert_eq!(p.await.unwrap().0, StatusCode::OK);
    }
    // Wait until the batch has ended (one of the polls settles it).
    loop {
        let (_, _, b) = call_raw(
            &app,
            "GET",
            &format!("/v1/messages/batches/{id}"),
            String::new(),
            &[],
        )
        .await;
        if b["processing_status"] == "ended" {
            break;
        }
        tokio::task::yield_now().await;
    }
    let u = usage(&app).await;
    assert_eq!(u["total"]["batch_requests"], json!(n), "{}", u["total"]);
}

async fn serve(toml: &str) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(burnrate_mock::serve(cfg(toml), listener, async move {
        let _ = rx.await;
    }));
    (addr, tx)
}

/// Reads until the server closes the connection; `None` if it is still open after `limit`
/// (the failure bound of these tests, not a synchronisation).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| got)
}

/// A connection that sends half its header is closed after the header read timeout.
#[tokio::test]
async fn half_sent_headers_are_timed_out() {
    let (addr, _stop) =
        serve("time_scale = 0.0\n[server_limits]\nheader_read_timeout_s = 0.2").await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-")
        .await
        .unwrap();
    assert!(
        closed_within(&mut s, Duration::from_secs(20))
            .await
            .is_some()
    );
}

/// A client that stops sending its body is cut after the idle timeout.
#[tokio::test]
async fn stalled_bodies_are_timed_out() {
    let (addr, _stop) = serve("time_scale = 0.0\n[server_limits]\nidle_timeout_s = 0.2").await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"mo").await.unwrap();
    assert!(
        closed_within(&mut s, Duration::from_secs(20))
            .await
            .is_some()
    );
}

/// Beyond `max_connections`, a connection waits until one closes.
#[tokio::test]
async fn connections_are_limited() {
    let (addr, _stop) = serve("time_scale = 0.0\n[server_limits]\nmax_connections = 1").await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    assert!(first.read(&mut buf).await.unwrap() > 0);
    let mut second = TcpStream::connect(addr).await.unwrap();
    second
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let early = tokio::time::timeout(Duration::from_millis(300), second.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "the second connection waits while the first is open"
    );
    drop(first);
    let reply = closed_within(&mut second, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 200"));
}

/// A client that leaves mid-stream is billed what was generated up to the cut.
#[tokio::test]
async fn streams_cut_by_the_client_bill_what_was_sent() {
    let (addr, _stop) = serve(
        "time_scale = 1.0\n[defaults]\nttft = { dist = \"constant\", value = 0.0 }\ninter_token = { dist = \"constant\", value = 0.02 }\n",
    )
    .await;
    let client = reqwest::Client::new();
    let mut resp = client
        .post(format!("http://{addr}/v1/chat/completions"))
        .header("x-mock-output-tokens", "500")
        .json(&json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    let mut seen = 0;
    while seen < 5 {
        let chunk = resp.chunk().await.unwrap().unwrap();
        seen += String::from_utf8_lossy(&chunk)
            .matches("\"content\":")
            .count();
    }
    drop(resp);
    // The server notices the cut at its next write; poll the ledger until it has.
    let out = loop {
        let u: Value = client
            .get(format!("http://{addr}/_mock/usage"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let out = u["total"]["output_tokens"].as_u64().unwrap();
        if out < 500 {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!((4..100).contains(&out), "billed {out} of 500 planned");
}

/// `stop` / `stop_sequences` end the text before the sequence, with the right stop reason.
#[tokio::test]
async fn stop_sequences_are_honoured() {
    let app = super::router(cfg("time_scale = 0.0\ncontent = \"echo\""));
    let body = json!({"model": "gpt-4o-mini", "stop": ["STOP"], "messages": [{"role": "user", "content": "alpha beta STOP gamma"}]});
    let (s, _, v) = call(&app, "/v1/chat/completions", body, &[]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "alpha beta ");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["usage"]["completion_tokens"],
        json!(super::o200k("alpha beta "))
    );
    let body = json!({"model": "claude-haiku-4-5", "max_tokens": 100, "stop_sequences": ["gamma", "beta"], "messages": [{"role": "user", "content": "alpha beta STOP gamma"}]});
    let (s, _, v) = call(&app, "/v1/messages", body, &[]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["content"][0]["text"], "alpha ");
    assert_eq!(v["stop_reason"], "stop_sequence");
    assert_eq!(v["stop_sequence"], "beta");
}

/// Every documented field is checked by type and range, in each provider's wording.
#[tokio::test]
async fn fields_are_validated_in_each_providers_wording() {
    let app = super::router(cfg("time_scale = 0.0"));
    let chat = |extra: Value| {
        let mut b = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let cases = [
        (
            chat(json!({"temperature": "hot"})),
            "temperature",
            "Invalid type for 'temperature': expected a decimal, but got a string instead.",
        ),
        (
            chat(json!({"temperature": 5})),
            "temperature",
            "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 5 instead.",
        ),
        (
            chat(json!({"max_tokens": 0})),
            "max_tokens",
            "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
        ),
        (
            chat(json!({"max_tokens": 1_000_000_000u64})),
            "max_tokens",
            "max_tokens is too large: 1000000000. This model supports at most 16384 completion tokens, whereas you provided 1000000000.",
        ),
        (
            chat(json!({"tools": [1]})),
            "tools[0]",
            "Invalid type for 'tools[0]': expected an object, but got an integer instead.",
        ),
        (
            chat(json!({"messages": [{"role": "robot", "content": "x"}]})),
            "messages[0].role",
            "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.",
        ),
        (
            chat(json!({"stop": ["a", "b", "c", "d", "e"]})),
            "stop",
            "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length 5 instead.",
        ),
    ];
    for (body, param, message) in cases {
        let (s, _, v) = call(&app, "/v1/chat/completions", body, &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["error"]["param"], param, "{v}");
        assert_eq!(v["error"]["message"], message);
        assert_eq!(v["error"]["type"], "invalid_request_error");
    }
    // A prompt longer than the context window (128k for gpt-4o-mini).
    let (s, _, v) = call(
        &app,
        "/v1/chat/completions",
        super::chat(&"hello ".repeat(130_000)),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "context_length_exceeded");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("This model's maximum context length is 128000 tokens.")
    );
    // Anthropic: pydantic-style messages, its own limits (temperature <= 1, 64k output).
    let msg = |extra: Value| {
        let mut b = json!({"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let cases = [
        (
            msg(json!({"temperature": 1.5})),
            "temperature: Input should be less than or equal to 1",
        ),
        (
            msg(json!({"temperature": "hot"})),
            "temperature: Input should be a valid number",
        ),
        (
            msg(json!({"max_tokens": 0})),
            "max_tokens: Input should be greater than or equal to 1",
        ),
        (
            msg(json!({"max_tokens": 1_000_000})),
            "max_tokens: 1000000 > 64000, which is the maximum allowed number of output tokens for claude-haiku-4-5",
        ),
        (
            msg(json!({"tools": [1]})),
            "tools.0: Input should be a valid dictionary",
        ),
        (
            msg(json!({"messages": [{"role": "system", "content": "x"}]})),
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        (
            msg(json!({"messages": [{"role": "user", "content": "hello ".repeat(210_000)}]})),
            "prompt is too long: ",
        ),
    ];
    for (body, message) in cases {
        let (s, _, v) = call(&app, "/v1/messages", body, &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(
            v["error"]["message"].as_str().unwrap().starts_with(message),
            "{v}"
        );
    }
}

/// Reads one chunked HTTP/1.1 response from a kept-alive connection; returns when its
/// terminating chunk has arrived.
async fn read_chunked_response(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    while !got.ends_with(b"\r\n0\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed a kept-alive connection");
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// `TCP_NODELAY` on accepted sockets. Without it, Nagle's algorithm holds each small SSE write
/// while an earlier one is unacknowledged, and on a reused connection the client's kernel
/// delays its ACK by its delayed-ACK timer (40 ms minimum on Linux): a stream whose tokens
/// are all generated within ~10 ms then took 40+ ms to arrive (44 ms measured in issue 12).
///
/// Why this does not flake on a loaded machine: the stall is a kernel timer, so load can only
/// add to it, never remove it, while load only ever makes the fast case slower. The test
/// therefore takes the *minimum* over several requests on one kept-alive connection (the
/// first, fresh-connection request is excluded: a new connection starts in quick-ACK mode and
/// hides the stall). A single unloaded run out of eight is enough to pass with the option set,
/// and without it every run is at least the 40 ms timer, far above the 25 ms bound.
#[tokio::test]
async fn streamed_replies_on_a_reused_connection_are_not_held_by_nagle() {
    let (addr, _stop) = serve(
        "time_scale = 1.0\n[defaults]\nttft = { dist = \"constant\", value = 0.0 }\ninter_token = { dist = \"constant\", value = 0.001 }\n",
    )
    .await;
    let body = json!({"model": "gpt-4o-mini", "stream": true,
        "messages": [{"role": "user", "content": "x"}]})
    .to_string();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-mock-output-tokens: 10\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap(); // the client side is not under test
    let mut fastest = Duration::MAX;
    for i in 0..9 {
        let start = std::time::Instant::now();
        s.write_all(request.as_bytes()).await.unwrap();
        let reply = read_chunked_response(&mut s).await;
        let took = start.elapsed();
        let text = String::from_utf8_lossy(&reply);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("data: [DONE]"), "{text}");
        if i > 0 {
            fastest = fastest.min(took);
        }
    }
    // 10 tokens 1 ms apart: ~10 ms of generation.
    assert!(
        fastest < Duration::from_millis(25),
        "fastest streamed reply on a reused connection took {fastest:?}: writes waited for \
         the client's delayed ACK (TCP_NODELAY not set?)"
    );
}
