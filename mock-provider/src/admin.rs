//! Control endpoints: health, Prometheus metrics, the ledger, reset and run-time config.

use crate::config::MockConfig;
use crate::error::{ApiError, Shape};
use crate::pipeline::{RawBody, redact_key};
use crate::reqlog::LOG_ERRORS;
use crate::state::{AppState, Histogram, LATENCY_BUCKETS};
use crate::streaming::ok_json;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub async fn healthz() -> Response {
    ok_json(json!({"status": "ok"}))
}

pub async fn usage(State(st): State<Arc<AppState>>) -> Response {
    let report = st.ledger.lock().unwrap_or_else(|e| e.into_inner()).report();
    ok_json(report)
}

pub async fn reset(State(st): State<Arc<AppState>>) -> Response {
    st.reset();
    ok_json(json!({"reset": true}))
}

/// The config as parsed, keys redacted (a `PUT` must carry the real keys).
pub async fn get_config(State(st): State<Arc<AppState>>) -> Response {
    let mut raw = st.config().raw.clone();
    if let Some(keys) = raw.api_keys.as_mut() {
        for k in keys.iter_mut() {
            *k = redact_key(k);
        }
    }
    raw.keys = std::mem::take(&mut raw.keys)
        .into_iter()
        .map(|(k, v)| (redact_key(&k), v))
        .collect();
    raw.admin_key = raw.admin_key.as_deref().map(redact_key);
    ok_json(serde_json::to_value(&raw).unwrap_or_default())
}

/// Where a `PUT` may put the request log: inside the directory given on the command line
/// (`burnrate mock --log-dir`), by a relative path without `..` or an absolute one below it.
fn log_path(new: Option<&Path>, old: &MockConfig) -> Result<Option<PathBuf>, String> {
    let Some(p) = new else { return Ok(None) };
    if old.request_log.as_deref() == Some(p) {
        return Ok(Some(p.to_path_buf()));
    }
    let Some(dir) = old.log_dir.as_deref() else {
        return Err(
            "request_log can be changed at run time only inside the directory given with `burnrate mock --log-dir`"
                .into(),
        );
    };
    let plain = p.components().all(|c| {
        matches!(
            c,
            Component::Normal(_) | Component::RootDir | Component::Prefix(_)
        )
    });
    let resolved = if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    };
    if !plain || !resolved.starts_with(dir) {
        return Err(format!(
            "request_log must be a path inside {} (no `..`)",
            dir.display()
        ));
    }
    Ok(Some(resolved))
}

/// Replaces the configuration with a JSON (or TOML) document of the config-file format.
pub async fn put_config(
    State(st): State<Arc<AppState>>,
    body: Result<RawBody, ApiError>,
) -> Response {
    let bytes = match body {
        Ok(RawBody(b)) => b,
        Err(e) => return e.into_response(),
    };
    let parsed = match MockConfig::from_json_slice(&bytes) {
        Ok(c) => Ok(c),
        Err(json_err) => match std::str::from_utf8(&bytes) {
            Ok(text) if !text.trim_start().starts_with('{') => MockConfig::from_toml_str(text),
            _ => Err(json_err),
        },
    };
    let mut cfg = match parsed {
        Ok(cfg) => cfg,
        Err(e) => return ApiError::bad_request(Shape::OpenAi, e.to_string()).into_response(),
    };
    let old = st.config();
    match log_path(cfg.request_log.as_deref(), &old) {
        Ok(p) => cfg.request_log = p,
        Err(m) => {
            return ApiError::bad_request(Shape::OpenAi, format!("request_log: {m}"))
                .with_param("request_log")
                .into_response();
        }
    }
    cfg.log_dir = old.log_dir.clone();
    let warnings = cfg.warnings.join("; ");
    match st.set_config(cfg) {
        Ok(()) => {
            let mut response = get_config(State(st)).await;
            // Deprecated spellings still apply; the caller learns the new form.
            if let Ok(v) = HeaderValue::from_str(&warnings)
                && !warnings.is_empty()
            {
                response.headers_mut().insert("x-mock-warning", v);
            }
            response
        }
        Err(e) => ApiError::new(
            Shape::OpenAi,
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("request_log: {e}"),
        )
        .into_response(),
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `# HELP` and `# TYPE` lines that open one metric in the Prometheus text format.
fn metric_header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The `model` label: catalog ids and aliases as they are; any other name a client chose
/// (unknown models, accepted or not) under one label, so clients cannot add series.
fn model_label<'a>(cfg: &MockConfig, model: &'a str) -> &'a str {
    if cfg.models.contains_key(model) {
        model
    } else {
        UNKNOWN_MODEL
    }
}

const UNKNOWN_MODEL: &str = "(unknown)";

/// The request-latency histogram of every model, in Prometheus text format.
fn write_latency(out: &mut String, latency: &BTreeMap<&str, Histogram>) {
    metric_header(
        out,
        "burnrate_mock_request_duration_seconds",
        "histogram",
        "Request latency by model (to the last byte for streams).",
    );
    for (model, h) in latency {
        let m = esc(model);
        let mut cum = 0;
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            cum += h.counts[i];
            let _ = writeln!(
                out,
                "burnrate_mock_request_duration_seconds_bucket{{model=\"{m}\",le=\"{le}\"}} {cum}"
            );
        }
        let _ = writeln!(
            out,
            "burnrate_mock_request_duration_seconds_bucket{{model=\"{m}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "burnrate_mock_request_duration_seconds_sum{{model=\"{m}\"}} {}",
            h.sum
        );
        let _ = writeln!(
            out,
            "burnrate_mock_request_duration_seconds_count{{model=\"{m}\"}} {}",
            h.count
        );
    }
}

/// `GET /metrics`: the ledger in Prometheus text format (models outside the catalog share one
/// label).
pub async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    let mut out = String::with_capacity(8192);
    let cfg = st.config();
    {
        let l = st.ledger.lock().unwrap_or_else(|e| e.into_inner());
        let mut by_status: BTreeMap<(&str, u16), u64> = BTreeMap::new();
        for ((model, status), n) in &l.by_status {
            *by_status
                .entry((model_label(&cfg, model), *status))
                .or_default() += n;
        }
        let mut by_model: BTreeMap<&str, [u64; 9]> = BTreeMap::new();
        for (model, u) in &l.by_model {
            let row = by_model.entry(model_label(&cfg, model)).or_default();
            for (acc, n) in row.iter_mut().zip([
                u.input_tokens,
                u.cache_write_5m_tokens,
                u.cache_write_1h_tokens,
                u.cache_read_tokens,
                u.output_tokens,
                u.cost_pusd,
                u.cache_write_30m_tokens,
                u.reasoning_tokens,
                u.cache_write_24h_tokens,
            ]) {
                *acc += n;
            }
        }
        let mut latency: BTreeMap<&str, Histogram> = BTreeMap::new();
        for (model, h) in &l.latency {
            latency
                .entry(model_label(&cfg, model))
                .or_default()
                .merge(h);
        }
        metric_header(
            &mut out,
            "burnrate_mock_requests_total",
            "counter",
            "Requests by model and HTTP status.",
        );
        for ((model, status), n) in &by_status {
            let _ = writeln!(
                out,
                "burnrate_mock_requests_total{{model=\"{}\",status=\"{status}\"}} {n}",
                esc(model)
            );
        }
        metric_header(
            &mut out,
            "burnrate_mock_tokens_total",
            "counter",
            "Tokens by model and kind.",
        );
        for (model, u) in &by_model {
            for (kind, n) in [
                ("input", u[0]),
                ("cache_write_5m", u[1]),
                ("cache_write_30m", u[6]),
                ("cache_write_1h", u[2]),
                ("cache_write_24h", u[8]),
                ("cache_read", u[3]),
                ("output", u[4]),
                ("reasoning", u[7]),
            ] {
                let _ = writeln!(
                    out,
                    "burnrate_mock_tokens_total{{model=\"{}\",kind=\"{kind}\"}} {n}",
                    esc(model)
                );
            }
        }
        metric_header(
            &mut out,
            "burnrate_mock_cost_usd_total",
            "counter",
            "Cost in USD by model (catalog prices).",
        );
        for (model, u) in &by_model {
            let _ = writeln!(
                out,
                "burnrate_mock_cost_usd_total{{model=\"{}\"}} {}",
                esc(model),
                u[5] as f64 / 1e12
            );
        }
        metric_header(
            &mut out,
            "burnrate_mock_errors_total",
            "counter",
            "Error answers by kind.",
        );
        for (kind, n) in &l.total.errors_by_kind {
            let _ = writeln!(
                out,
                "burnrate_mock_errors_total{{kind=\"{}\"}} {n}",
                esc(kind)
            );
        }
        write_latency(&mut out, &latency);
    }
    metric_header(
        &mut out,
        "burnrate_mock_inflight_requests",
        "gauge",
        "Requests in flight.",
    );
    let _ = writeln!(
        out,
        "burnrate_mock_inflight_requests {}",
        st.inflight.load(Ordering::Relaxed)
    );
    metric_header(
        &mut out,
        "burnrate_mock_log_write_errors_total",
        "counter",
        "Failed request-log writes.",
    );
    let _ = writeln!(
        out,
        "burnrate_mock_log_write_errors_total {}",
        LOG_ERRORS.load(Ordering::Relaxed)
    );
    let mut resp = out.into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    resp
}

/// Unknown routes: the calling provider's 404.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    ApiError::not_found_route(Shape::from_path(uri.path()), method.as_str(), uri.path())
        .unrecorded()
        .into_response()
}

/// Known route, wrong method: 405 in the provider's shape.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    ApiError::new(
        Shape::from_path(uri.path()),
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method {} not allowed for {}.", method.as_str(), uri.path()),
    )
    .unrecorded()
    .into_response()
}
