//! OpenAI's Files and Batch APIs: `POST /v1/files`, `GET /v1/files/{id}[/content]`,
//! `POST /v1/batches`, `GET /v1/batches[/{id}]`.

use super::{batch_not_found, new_batch, settle, store_batch};
use crate::error::{ApiError, Shape};
use crate::pipeline::{RawBody, Req, Tokens, parse_json, unix_now};
use crate::state::{MAX_FILES, StoredBatch, StoredFile};
use crate::streaming::ok_json;
use axum::Extension;
use axum::extract::{Multipart, Path, Query};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const MAX_BATCH_REQUESTS: usize = 50_000;

/// A File object. Fields without a value are left out: the spec types them as plain integers
/// or strings, not nullable.
fn file_json(f: &StoredFile) -> Value {
    json!({"id": f.id, "object": "file", "bytes": f.bytes.len(), "created_at": f.created_at, "filename": f.filename,
        "purpose": f.purpose, "status": "processed"})
}

/// `POST /v1/files` (multipart: `purpose` and `file`).
pub(crate) async fn upload_file(
    Extension(req): Extension<Arc<Req>>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    req.check_auth()?;
    let mut multipart = multipart.map_err(|e| ApiError::bad_request(req.shape, e.body_text()))?;
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
        ApiError::bad_request(req.shape, "Missing required parameter: 'file'.").with_param("file")
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
    let kept: u64 = files.values().map(|f| f.bytes.len() as u64).sum();
    let cap = req.cfg.limits.max_stored_file_bytes;
    if kept + f.bytes.len() as u64 > cap {
        return Err(ApiError::bad_request(
            req.shape,
            format!(
                "File storage is full: {kept} bytes are kept and this file is {} bytes, over limits.max_stored_file_bytes ({cap}); POST /_mock/reset",
                f.bytes.len()
            ),
        )
        .with_param("file"));
    }
    files.insert(f.id.clone(), f);
    Ok(ok_json(body))
}

fn get_file(req: &Req, id: &str) -> Result<StoredFile, ApiError> {
    req.state
        .files
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(id)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                Shape::OpenAi,
                StatusCode::NOT_FOUND,
                format!("No such File object: {id}"),
            )
            .with_param("id")
        })
}

/// `GET /v1/files/{id}`.
pub(crate) async fn file_meta(
    Extension(req): Extension<Arc<Req>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok_json(file_json(&get_file(&req, &id)?)))
}

/// `GET /v1/files/{id}/content` (a batch's output file exists once the batch is seen complete).
pub(crate) async fn file_content(
    Extension(req): Extension<Arc<Req>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut resp = get_file(&req, &id)?.bytes.into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(resp)
}

#[derive(Debug, Deserialize)]
struct CreateBatch {
    input_file_id: String,
    endpoint: String,
    completion_window: String,
}

fn batch_json(b: &StoredBatch, delay: Duration) -> Value {
    let total = b.requests.len() as u64;
    let ended = b.ended_at.is_some();
    let status = if ended {
        "completed"
    } else if b.created.elapsed() >= delay {
        "finalizing"
    } else {
        "in_progress"
    };
    let mut body = json!({
        "id": b.id, "object": "batch", "endpoint": b.endpoint, "input_file_id": b.input_file_id,
        "completion_window": "24h", "status": status,
        "created_at": b.created_at, "in_progress_at": b.created_at, "expires_at": b.created_at + 86_400,
        "request_counts": {"total": total, "completed": b.completed, "failed": b.failed},
        "metadata": {},
    });
    // The spec types these as plain strings and integers (not nullable): absent until set.
    if let Some(out) = &b.output_file_id {
        body["output_file_id"] = json!(out);
    }
    if let Some(t) = b.ended_at {
        body["finalizing_at"] = json!(t);
        body["completed_at"] = json!(t);
    }
    body
}

/// `POST /v1/batches`: reads the input file's JSONL lines.
pub(crate) async fn create_batch(
    Extension(req): Extension<Arc<Req>>,
    body: Result<RawBody, ApiError>,
) -> Result<Response, ApiError> {
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
        return Err(
            ApiError::bad_request(req.shape, "the mock batches /v1/chat/completions only")
                .with_param("endpoint"),
        );
    }
    let file = get_file(&req, &c.input_file_id)?;
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
        if requests.len() > MAX_BATCH_REQUESTS {
            return Err(ApiError::bad_request(
                req.shape,
                "a batch holds at most 50,000 requests",
            ));
        }
    }
    let b = new_batch(
        &req,
        "batch_",
        false,
        c.endpoint,
        Some(c.input_file_id),
        requests,
    );
    let mut body = batch_json(&b, req.cfg.batch_completion);
    body["status"] = json!("validating");
    store_batch(&req, b)?;
    Ok(ok_json(body))
}

/// `GET /v1/batches/{id}`: settles the batch when it is due.
pub(crate) async fn get_batch(
    Extension(req): Extension<Arc<Req>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    req.check_auth()?;
    match settle(&req, &id) {
        Some(b) if !b.anthropic => Ok(ok_json(batch_json(&b, req.cfg.batch_completion))),
        _ => Err(batch_not_found(req.shape, &id)),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/batches?after=ID&limit=N` (1 to 100, default 20): newest first, without running
/// due batches (a retrieval does that).
pub(crate) async fn list_batches(
    Extension(req): Extension<Arc<Req>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    req.check_auth()?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(req.shape, e.body_text()))?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request(
            req.shape,
            format!("Invalid 'limit': {limit}. It must be between 1 and 100."),
        )
        .with_param("limit"));
    }
    let mut all: Vec<StoredBatch> = req
        .state
        .batches
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .filter(|b| !b.anthropic)
        .cloned()
        .collect();
    all.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    let start = match &q.after {
        Some(after) => all
            .iter()
            .position(|b| b.id == *after)
            .map_or(all.len(), |i| i + 1),
        None => 0,
    };
    let page = all.get(start..).unwrap_or_default();
    let data: Vec<Value> = page
        .iter()
        .take(limit)
        .map(|b| batch_json(b, req.cfg.batch_completion))
        .collect();
    let mut body = json!({"object": "list", "data": data, "has_more": page.len() > limit});
    // The spec types the ids as strings (not nullable): absent on an empty page.
    if let (Some(first), Some(last)) = (data.first(), data.last()) {
        body["first_id"] = first["id"].clone();
        body["last_id"] = last["id"].clone();
    }
    Ok(ok_json(body))
}

/// Runs one line of an OpenAI batch.
pub(super) fn run_line(
    worker: &Req,
    url: &str,
    body: &Value,
    seed: u64,
) -> Result<(Value, Tokens, Arc<crate::config::ModelEntry>), ApiError> {
    if url == "/v1/chat/completions" {
        crate::openai::chat::batch_line(worker, body, seed)
    } else {
        Err(ApiError::bad_request(
            worker.shape,
            format!("unsupported url {url:?}"),
        ))
    }
}

/// One line of the output file.
pub(super) fn result_line(
    custom_id: &str,
    answer: Result<Value, ApiError>,
    request_id: &str,
    seed: u64,
) -> Value {
    match answer {
        Ok(resp) => json!({"id": format!("batch_req_{seed:016x}"), "custom_id": custom_id,
            "response": {"status_code": 200, "request_id": format!("req_{seed:016x}"), "body": resp}, "error": null}),
        Err(e) => json!({"id": format!("batch_req_{seed:016x}"), "custom_id": custom_id,
            "response": {"status_code": e.status.as_u16(), "request_id": request_id, "body": e.body(request_id)}, "error": null}),
    }
}

/// Stores a settled batch's output file; returns its id.
pub(super) fn store_output(req: &Req, batch: &StoredBatch, results: &Bytes) -> String {
    let f = StoredFile {
        id: req.state.new_id("file-", req.cfg.seed),
        filename: format!("{}_output.jsonl", batch.id),
        purpose: "batch_output".into(),
        created_at: unix_now(),
        bytes: results.clone(),
    };
    let id = f.id.clone();
    req.state
        .files
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(f.id.clone(), f);
    id
}
