//! Anthropic's Message Batches API: `POST /v1/messages/batches`,
//! `GET /v1/messages/batches/{id}` and `GET /v1/messages/batches/{id}/results`.

use super::{batch_not_found, new_batch, settle, store_batch};
use crate::error::ApiError;
use crate::pipeline::{RawBody, Req, parse_json};
use crate::ratelimit::rfc3339;
use crate::state::StoredBatch;
use crate::streaming::ok_json;
use axum::Extension;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const MAX_BATCH_REQUESTS: usize = 100_000;

#[derive(Debug, Deserialize)]
struct CreateMessageBatch {
    requests: Vec<BatchItem>,
}

#[derive(Debug, Deserialize)]
struct BatchItem {
    custom_id: String,
    params: Value,
}

fn batch_json(b: &StoredBatch, host: &str) -> Value {
    let total = b.requests.len() as u64;
    let ended = b.ended_at.is_some();
    let ts = |secs: u64| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
    json!({
        "id": b.id, "type": "message_batch",
        "processing_status": if ended { "ended" } else { "in_progress" },
        "request_counts": {"processing": if ended { 0 } else { total }, "succeeded": b.completed, "errored": b.failed, "canceled": 0, "expired": 0},
        "ended_at": b.ended_at.map(ts), "created_at": ts(b.created_at), "expires_at": ts(b.created_at + 86_400),
        "archived_at": null, "cancel_initiated_at": null,
        "results_url": if ended { json!(format!("http://{host}/v1/messages/batches/{}/results", b.id)) } else { Value::Null },
    })
}

fn host_of(headers: &HeaderMap) -> String {
    headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

/// `POST /v1/messages/batches`.
pub(crate) async fn create_message_batch(
    Extension(req): Extension<Arc<Req>>,
    headers: HeaderMap,
    body: Result<RawBody, ApiError>,
) -> Result<Response, ApiError> {
    let RawBody(bytes) = body?;
    let c: CreateMessageBatch = parse_json(req.shape, &bytes)?;
    req.check_auth()?;
    if c.requests.is_empty() || c.requests.len() > MAX_BATCH_REQUESTS {
        return Err(ApiError::bad_request(
            req.shape,
            "requests: between 1 and 100,000 requests",
        ));
    }
    let requests = c
        .requests
        .into_iter()
        .map(|r| (r.custom_id, "/v1/messages".to_string(), r.params))
        .collect();
    let b = new_batch(
        &req,
        "msgbatch_",
        true,
        "/v1/messages".into(),
        None,
        requests,
    );
    let body = batch_json(&b, &host_of(&headers));
    store_batch(&req, b)?;
    Ok(ok_json(body))
}

/// `GET /v1/messages/batches/{id}`: settles the batch when it is due.
pub(crate) async fn get_message_batch(
    Extension(req): Extension<Arc<Req>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    req.check_auth()?;
    match settle(&req, &id) {
        Some(b) if b.anthropic => Ok(ok_json(batch_json(&b, &host_of(&headers)))),
        _ => Err(batch_not_found(req.shape, &id)),
    }
}

/// `GET /v1/messages/batches/{id}/results` (JSONL).
pub(crate) async fn message_batch_results(
    Extension(req): Extension<Arc<Req>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    req.check_auth()?;
    match settle(&req, &id) {
        Some(b) if b.anthropic => match b.results {
            Some(results) => {
                let mut resp = results.into_response();
                resp.headers_mut().insert(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/binary"),
                );
                Ok(resp)
            }
            None => Err(ApiError::bad_request(
                req.shape,
                format!("Batch {id} is still processing"),
            )),
        },
        _ => Err(batch_not_found(req.shape, &id)),
    }
}

/// One line of the results file.
pub(super) fn result_line(
    custom_id: &str,
    answer: Result<Value, ApiError>,
    request_id: &str,
) -> Value {
    match answer {
        Ok(message) => {
            json!({"custom_id": custom_id, "result": {"type": "succeeded", "message": message}})
        }
        Err(e) => {
            json!({"custom_id": custom_id, "result": {"type": "errored", "error": e.body(request_id)}})
        }
    }
}
