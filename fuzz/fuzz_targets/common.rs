// Shared by the router targets: one mock router and one runtime per fuzzing process.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
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
                serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
                "{path}: {status} with a non-JSON body"
            );
        }
    });
}
