//! Batch APIs of both providers, one module each ([`openai`]: files and batches;
//! [`anthropic`]: message batches), with a configurable completion delay. Batches are answered
//! lazily: the first retrieval after the delay runs every request (without latency, faults or
//! rate limits) and records it in the ledger at the batch price.

pub(crate) mod anthropic;
pub(crate) mod openai;

use crate::cache::mix;
use crate::error::{ApiError, Shape};
use crate::pipeline::{Call, Charge, Delivery, Req, content_seed, unix_now};
use crate::state::{MAX_BATCHES, StoredBatch};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

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
        requests: Arc::new(requests),
        settling: false,
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

/// Runs a due batch, exactly once whoever polls: the first poll after the delay claims it
/// under the lock; polls meanwhile see it unfinished. Returns the stored state.
fn settle(req: &Req, id: &str) -> Option<StoredBatch> {
    let snapshot = {
        let mut batches = req.state.batches.lock().unwrap_or_else(|e| e.into_inner());
        let b = batches.get_mut(id)?;
        if b.ended_at.is_some() || b.settling || b.created.elapsed() < req.cfg.batch_completion {
            return Some(b.clone());
        }
        b.settling = true;
        b.clone()
    };
    // Run the requests outside the lock, as the batch's key.
    let mut worker = Req::new(req.state.clone(), req.shape, "batch", &HeaderMap::new());
    worker.set_key(snapshot.key.clone());
    let mut lines = String::new();
    let (mut ok, mut failed) = (0u64, 0u64);
    for (i, (custom_id, url, body)) in snapshot.requests.iter().enumerate() {
        let seed = mix(content_seed(req.cfg.seed, snapshot.id.as_bytes()), i as u64);
        let result = if snapshot.anthropic {
            crate::anthropic::batch_line(&worker, body, seed)
        } else {
            openai::run_line(&worker, url, body, seed)
        };
        let answer = match result {
            Ok((resp, tokens, model)) => {
                ok += 1;
                let call = Call::batch(model);
                let _ = worker.model_name.set(call.model.spec.id.clone());
                drop(worker.charge(&call, Charge::answered(tokens, None, Delivery::Batch)));
                Ok(resp)
            }
            Err(e) => {
                failed += 1;
                Err(e)
            }
        };
        let line = if snapshot.anthropic {
            anthropic::result_line(custom_id, answer, &worker.request_id)
        } else {
            openai::result_line(custom_id, answer, &worker.request_id, seed)
        };
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let results = Bytes::from(lines);
    let out_id = (!snapshot.anthropic).then(|| openai::store_output(req, &snapshot, &results));
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
        Shape::OpenAi | Shape::Gemini => format!("No batch found with id '{id}'."),
        Shape::Anthropic => format!("No batch found with id {id}"),
    };
    ApiError::new(shape, StatusCode::NOT_FOUND, msg)
}
