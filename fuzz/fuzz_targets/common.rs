// Shared by the router targets: one mock router and one runtime per fuzzing process, and the
// body of each target. The mock's integration tests include this file (`#[path]`) to replay
// the checked-in corpus on stable in every `cargo test` (CI), so the checks live once.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::OnceLock;
use tower::ServiceExt;

pub struct Mock {
    pub rt: tokio::runtime::Runtime,
    pub app: axum::Router,
}

pub fn mock() -> &'static Mock {
    static M: OnceLock<Mock> = OnceLock::new();
    M.get_or_init(|| {
        let config = burnrate_mock::MockConfig::from_toml_str(
            "time_scale = 0.0\nbatch_completion_s = 0.0\n[limits]\nmax_stored_file_bytes = 16777216",
        )
        .expect("fuzz config");
        Mock {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            app: burnrate_mock::router(config),
        }
    })
}

/// Sends one request; checks what must hold for any input: no 5xx (the fuzz config injects
/// no faults), and every non-2xx answer is a JSON error body.
pub fn send(method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) {
    let m = mock();
    m.rt.block_on(async {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let Ok(req) = req.body(Body::from(body)) else {
            return;
        };
        let resp = m.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.map(|b| b.to_bytes());
        assert!(!status.is_server_error(), "{path}: {status}");
        if !status.is_success()
            && let Ok(bytes) = bytes
        {
            assert!(
                serde_json::from_slice::<Value>(&bytes).is_ok(),
                "{path}: {status} with a non-JSON body"
            );
        }
    });
}

/// The endpoints `router_body` picks from by an input's first byte.
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/responses"),
    ("POST", "/v1/embeddings"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/messages/count_tokens"),
    ("POST", "/v1/messages/batches"),
    ("POST", "/v1/batches"),
    ("POST", "/v1/files"),
    ("PUT", "/_mock/config"),
    ("GET", "/v1/models"),
];

/// `router_bodies`: the first byte picks the endpoint, the rest is the body.
pub fn router_body(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (method, path) = ENDPOINTS[pick as usize % ENDPOINTS.len()];
    let content_type = if path == "/v1/files" {
        "multipart/form-data; boundary=XyZ"
    } else {
        "application/json"
    };
    send(
        method,
        path,
        &[("content-type", content_type)],
        body.to_vec(),
    );
    if path == "/_mock/config" {
        // Put the fuzz config back, so later inputs run against it.
        send(
            "PUT",
            "/_mock/config",
            &[("content-type", "application/json")],
            br#"{"time_scale": 0.0, "batch_completion_s": 0.0, "limits": {"max_stored_file_bytes": 16777216}}"#.to_vec(),
        );
    }
}

/// `tool_schemas`: the input, when it is JSON, is a tool's schema on both providers.
pub fn tool_schema(data: &[u8]) {
    let Ok(schema) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let chat = json!({
        "model": "gpt-4o-mini", "max_tokens": 64,
        "messages": [{"role": "user", "content": "go"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}],
        "tool_choice": "required",
    });
    let json = [("content-type", "application/json")];
    send(
        "POST",
        "/v1/chat/completions",
        &json,
        chat.to_string().into_bytes(),
    );
    let msg = json!({
        "model": "claude-haiku-4-5", "max_tokens": 64,
        "messages": [{"role": "user", "content": "go"}],
        "tools": [{"name": "f", "input_schema": schema}],
        "tool_choice": {"type": "any"},
    });
    send("POST", "/v1/messages", &json, msg.to_string().into_bytes());
}
