//! Batch APIs of both providers: files, batches and results, with a configurable completion
//! delay. Batches are answered lazily: the first retrieval after the delay runs every request
//! (without latency, faults or rate limits) and records it in the ledger at the batch price.

use crate::common::*;
use crate::error::{ApiError, Shape};
use crate::ratelimit::rfc3339;
use crate::state::{AppState, MAX_BATCHES, MAX_FILES, StoredBatch, StoredFile};
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const MAX_BATCH_REQUESTS_OPENAI: usize = 50_000;
const MAX_BATCH_REQUESTS_ANTHROPIC: usize = 100_000;

fn file_json(f: &StoredFile) -> Value {
    json!({"id": f.id, "object": "file", "bytes": f.bytes.len(), "created_at": f.created_at, "filename": f.filename,
        "purpose": f.purpose, "status": "processed", "expires_at": null, "status_details": null})
}

pub async fn upload_file(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let req = Req::new(st, Shape::OpenAi, "files", &headers);
    let result = async {
        req.check_auth()?;
        let mut multipart =
            multipart.map_err(|e| ApiError::bad_request(req.shape, e.body_text()))?;
        let mut purpose = None;
        let mut file = None;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::new(req.shape, e.status(), e.body_text()))?
        {
            match field.name() {
                Some("purpose") => {
                    purpose = Some(
                        field
                            .text()
                            .await
                            .map_err(|e| ApiError::bad_request(req.shape, e.body_text()))?,
                    )
                }
                Some("file") => {
                    let name = field.file_name().unwrap_or("upload.jsonl").to_string();
                    let data = field
                        .bytes()
                        .await
                        .map_err(|e| ApiError::new(req.shape, e.status(), e.body_text()))?;
                    file = Some((name, data));
                }
                _ => {}
            }
        }
        let (filename, bytes) = file.ok_or_else(|| {
            ApiError::bad_request(req.shape, "Missing required parameter: 'file'.")
                .with_param("file")
        })?;
        let purpose = purpose.ok_or_else(|| {
            ApiError::bad_request(req.shape, "Missing required parameter: 'purpose'.")
                .with_param("purpose")
        })?;
        let f = StoredFile {
            id: req.state.new_id("file-", req.cfg.seed),
            filename,
            purpose,
            created_at: unix_now(),
            bytes,
        };
        let body = file_json(&f);
        let mut files = req.state.files.lock().unwrap_or_else(|e| e.into_inner());
        if files.len() >= MAX_FILES {
            return Err(ApiError::bad_request(
                req.shape,
                format!("at most {MAX_FILES} files are kept; POST /_mock/reset"),
            ));
        }
        files.insert(f.id.clone(), f);
        drop(files);
        let mut h = HeaderMap::new();
        req.base_headers(&mut h);
        Ok(with_headers(ok_json(body), h))
    }
    .await;
    result.unwrap_or_else(|e| req.fail(e))
}

fn get_file(st: &AppState, id: &str) -> Option<StoredFile> {
    st.files
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(id)
        .cloned()
}

fn file_not_found(id: &str) -> ApiError {
    ApiError::new(
        Shape::OpenAi,
        StatusCode::NOT_FOUND,
        format!("No such File object: {id}"),
    )
    .with_param("id")
}

pub async fn file_meta(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let req = Req::new(st, Shape::OpenAi, "files", &headers);
    match get_file(&req.state, &id) {
        Some(f) => ok_json(file_json(&f)),
        None => req.fail(file_not_found(&id)),
    }
}

pub async fn file_content(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let req = Req::new(st, Shape::OpenAi, "files", &headers);
    // A batch's output file is produced when the batch is first seen complete.
    match get_file(&req.state, &id) {
        Some(f) => {
            let mut resp = f.bytes.into_response();
            resp.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            resp
        }
        None => req.fail(file_not_found(&id)),
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateBatch {
    pub input_file_id: String,
    pub endpoint: String,
    pub completion_window: String,
    pub metadata: Option<Value>,
}

fn openai_batch_json(b: &StoredBatch, delay: Duration) -> Value {
    let total = b.requests.len() as u64;
    let ended = b.ended_at.is_some();
    let status = if ended {
        "completed"
    } else if b.created.elapsed() >= delay {
        "finalizing"
    } else {
        "in_progress"
    };
    json!({
        "id": b.id, "object": "batch", "endpoint": b.endpoint, "errors": null, "input_file_id": b.input_file_id,
        "completion_window": "24h", "status": status, "output_file_id": b.output_file_id, "error_file_id": null,
        "created_at": b.created_at, "in_progress_at": b.created_at, "expires_at": b.created_at + 86_400,
        "finalizing_at": b.ended_at, "completed_at": b.ended_at, "failed_at": null, "expired_at": null,
        "cancelling_at": null, "cancelled_at": null,
        "request_counts": {"total": total, "completed": b.completed, "failed": b.failed},
        "metadata": {},
    })
}

pub async fn create_batch(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<RawBody, ApiError>,
) -> Response {
    let req = Req::new(st, Shape::OpenAi, "batches", &headers);
    let result = async {
        let RawBody(bytes) = body?;
        let c: CreateBatch = parse_json(req.shape, &bytes)?;
        req.check_auth()?;
        if c.completion_window != "24h" {
            return Err(
                ApiError::bad_request(req.shape, "completion_window must be '24h'")
                    .with_param("completion_window"),
            );
        }
        if c.endpoint != "/v1/chat/completions" {
            return Err(ApiError::bad_request(
                req.shape,
                "the mock batches /v1/chat/completions only",
            )
            .with_param("endpoint"));
        }
        let file = get_file(&req.state, &c.input_file_id)
            .ok_or_else(|| file_not_found(&c.input_file_id))?;
        let text = std::str::from_utf8(&file.bytes)
            .map_err(|_| ApiError::bad_request(req.shape, "input file is not UTF-8"))?;
        let mut requests = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: Value = serde_json::from_str(line).map_err(|e| {
                ApiError::bad_request(req.shape, format!("input file line {}: {e}", i + 1))
            })?;
            let custom_id = v.get("custom_id").and_then(Value::as_str).ok_or_else(|| {
                ApiError::bad_request(
                    req.shape,
                    format!("input file line {}: missing custom_id", i + 1),
                )
            })?;
            let url = v
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            requests.push((
                custom_id.to_string(),
                url,
                v.get("body").cloned().unwrap_or(Value::Null),
            ));
            if requests.len() > MAX_BATCH_REQUESTS_OPENAI {
                return Err(ApiError::bad_request(
                    req.shape,
                    "a batch holds at most 50,000 requests",
                ));
            }
        }
        let _ = c.metadata;
        let b = new_batch(
            &req,
            "batch_",
            false,
            c.endpoint,
            Some(c.input_file_id),
            requests,
        );
        let mut body = openai_batch_json(&b, req.cfg.batch_completion);
        body["status"] = json!("validating");
        store_batch(&req, b)?;
        let mut h = HeaderMap::new();
        req.base_headers(&mut h);
        Ok(with_headers(ok_json(body), h))
    }
    .await;
    result.unwrap_or_else(|e| req.fail(e))
}

/// A batch just accepted for the caller's key: nothing run yet, no results, not ended.
fn new_batch(
    req: &Req,
    id_prefix: &str,
    anthropic: bool,
    endpoint: String,
    input_file_id: Option<String>,
    requests: Vec<(String, String, Value)>,
) -> StoredBatch {
    StoredBatch {
        id: req.state.new_id(id_prefix, req.cfg.seed),
        anthropic,
        created_at: unix_now(),
        created: Instant::now(),
        key: req.key.clone(),
        endpoint,
        input_file_id,
        requests,
        output_file_id: None,
        results: None,
        completed: 0,
        failed: 0,
        ended_at: None,
    }
}

fn store_batch(req: &Req, b: StoredBatch) -> Result<(), ApiError> {
    let mut batches = req.state.batches.lock().unwrap_or_else(|e| e.into_inner());
    if batches.len() >= MAX_BATCHES {
        return Err(ApiError::bad_request(
            req.shape,
            format!("at most {MAX_BATCHES} batches are kept; POST /_mock/reset"),
        ));
    }
    batches.insert(b.id.clone(), b);
    Ok(())
}

/// Runs a due batch once; returns the stored state.
fn settle(req: &Req, id: &str) -> Option<StoredBatch> {
    let snapshot = req
        .state
        .batches
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(id)
        .cloned()?;
    if snapshot.ended_at.is_some() || snapshot.created.elapsed() < req.cfg.batch_completion {
        return Some(snapshot);
    }
    // Run the requests outside the lock.
    let mut worker = Req::new(req.state.clone(), req.shape, "batch", &HeaderMap::new());
    worker.key = snapshot.key.clone();
    let mut lines = String::new();
    let (mut ok, mut failed) = (0u64, 0u64);
    for (i, (custom_id, url, body)) in snapshot.requests.iter().enumerate() {
        let seed = crate::cache::mix(content_seed(req.cfg.seed, snapshot.id.as_bytes()), i as u64);
        let result = if snapshot.anthropic {
            crate::anthropic::batch_message(&worker, body, seed)
        } else if url == "/v1/chat/completions" {
            crate::openai::batch_chat(&worker, body, seed)
        } else {
            Err(ApiError::bad_request(
                worker.shape,
                format!("unsupported url {url:?}"),
            ))
        };
        let line = match result {
            Ok((resp, tokens, model)) => {
                ok += 1;
                let call = Call::batch(model);
                let _ = worker.model_name.set(call.model.spec.id.clone());
                drop(worker.charge(&call, tokens, 200, None, true, false));
                if snapshot.anthropic {
                    json!({"custom_id": custom_id, "result": {"type": "succeeded", "message": resp}})
                } else {
                    json!({"id": format!("batch_req_{seed:016x}"), "custom_id": custom_id,
                        "response": {"status_code": 200, "request_id": format!("req_{seed:016x}"), "body": resp}, "error": null})
                }
            }
            Err(e) => {
                failed += 1;
                if snapshot.anthropic {
                    json!({"custom_id": custom_id, "result": {"type": "errored", "error": e.body(&worker.request_id)}})
                } else {
                    json!({"id": format!("batch_req_{seed:016x}"), "custom_id": custom_id,
                        "response": {"status_code": e.status.as_u16(), "request_id": worker.request_id, "body": e.body(&worker.request_id)}, "error": null})
                }
            }
        };
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let results = Bytes::from(lines);
    let mut out_id = None;
    if !snapshot.anthropic {
        let f = StoredFile {
            id: req.state.new_id("file-", req.cfg.seed),
            filename: format!("{}_output.jsonl", snapshot.id),
            purpose: "batch_output".into(),
            created_at: unix_now(),
            bytes: results.clone(),
        };
        out_id = Some(f.id.clone());
        req.state
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(f.id.clone(), f);
    }
    let mut batches = req.state.batches.lock().unwrap_or_else(|e| e.into_inner());
    let b = batches.get_mut(id)?;
    if b.ended_at.is_none() {
        b.ended_at = Some(unix_now());
        b.results = Some(results);
        b.output_file_id = out_id;
        b.completed = ok;
        b.failed = failed;
    }
    Some(b.clone())
}

fn batch_not_found(shape: Shape, id: &str) -> ApiError {
    let msg = match shape {
        Shape::OpenAi => format!("No batch found with id '{id}'."),
        Shape::Anthropic => format!("No batch found with id {id}"),
    };
    ApiError::new(shape, StatusCode::NOT_FOUND, msg)
}

pub async fn get_batch(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let req = Req::new(st, Shape::OpenAi, "batches", &headers);
    if let Err(e) = req.check_auth() {
        return req.fail(e);
    }
    match settle(&req, &id) {
        Some(b) if !b.anthropic => ok_json(openai_batch_json(&b, req.cfg.batch_completion)),
        _ => req.fail(batch_not_found(req.shape, &id)),
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateMessageBatch {
    pub requests: Vec<BatchItem>,
}

#[derive(Debug, Deserialize)]
pub struct BatchItem {
    pub custom_id: String,
    pub params: Value,
}

fn anthropic_batch_json(b: &StoredBatch, host: &str) -> Value {
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

pub async fn create_message_batch(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<RawBody, ApiError>,
) -> Response {
    let req = Req::new(st, Shape::Anthropic, "batches", &headers);
    let result = async {
        let RawBody(bytes) = body?;
        let c: CreateMessageBatch = parse_json(req.shape, &bytes)?;
        req.check_auth()?;
        if c.requests.is_empty() || c.requests.len() > MAX_BATCH_REQUESTS_ANTHROPIC {
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
        let body = anthropic_batch_json(&b, &host_of(&headers));
        store_batch(&req, b)?;
        let mut h = HeaderMap::new();
        req.base_headers(&mut h);
        Ok(with_headers(ok_json(body), h))
    }
    .await;
    result.unwrap_or_else(|e| req.fail(e))
}

pub async fn get_message_batch(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let req = Req::new(st, Shape::Anthropic, "batches", &headers);
    if let Err(e) = req.check_auth() {
        return req.fail(e);
    }
    match settle(&req, &id) {
        Some(b) if b.anthropic => ok_json(anthropic_batch_json(&b, &host_of(&headers))),
        _ => req.fail(batch_not_found(req.shape, &id)),
    }
}

pub async fn message_batch_results(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let req = Req::new(st, Shape::Anthropic, "batches", &headers);
    if let Err(e) = req.check_auth() {
        return req.fail(e);
    }
    match settle(&req, &id) {
        Some(b) if b.anthropic => match b.results {
            Some(results) => {
                let mut resp = results.into_response();
                resp.headers_mut().insert(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/binary"),
                );
                resp
            }
            None => req.fail(ApiError::bad_request(
                req.shape,
                format!("Batch {id} is still processing"),
            )),
        },
        _ => req.fail(batch_not_found(req.shape, &id)),
    }
}
