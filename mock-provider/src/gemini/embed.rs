//! `:embedContent` and `:batchEmbedContents` (<https://ai.google.dev/api/embeddings>): one
//! deterministic unit vector per content, billed as input tokens at the model's price.

use super::{build_prompt, model_id};
use crate::config::FaultKind;
use crate::error::{ApiError, Shape};
use crate::openai::embeddings::embed;
use crate::pipeline::{
    Admission, Charge, Delivery, Req, Tokens, content_seed, off_thread, parse_json,
};
use crate::streaming::{Timing, json_response};
use crate::validate::{self, Rule};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use burnrate_sim::ModelKind;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// `batchEmbedContents` takes at most this many requests (Google's documented batch limit).
const MAX_BATCH: usize = 100;
/// The native size of Gemini embeddings (gemini-embedding-001: 3072, truncatable with
/// `outputDimensionality`, <https://ai.google.dev/gemini-api/docs/embeddings>).
const NATIVE_DIMS: u64 = 3072;

/// One request: the text of its content, its tokens and its dimensions.
fn one(o: &Map<String, Value>, at: &str) -> Result<(String, u64, u64), ApiError> {
    let shape = Shape::Gemini;
    validate::fields(
        shape,
        o,
        &[
            ("content", Rule::Object),
            ("outputDimensionality", Rule::Integer(1, NATIVE_DIMS as i64)),
            ("taskType", Rule::Str),
            ("title", Rule::Str),
        ],
    )?;
    let Some(content) = o.get("content").filter(|c| !c.is_null()) else {
        return Err(ApiError::bad_request(
            shape,
            format!("* {at}content: content is not specified"),
        ));
    };
    let mut m = Map::new();
    m.insert("contents".to_string(), json!([content]));
    let p = build_prompt(&m)?;
    let text: String = content
        .get("parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect();
    // An embedding input is its text alone: no role, no message framing.
    let tokens = crate::tokens::count(&text) + p.extra - crate::tokens::PER_MESSAGE;
    let dims = o
        .get("outputDimensionality")
        .and_then(Value::as_u64)
        .unwrap_or(NATIVE_DIMS);
    Ok((text, tokens, dims))
}

fn inputs(v: &Value, batch: bool) -> Result<Vec<(String, u64, u64)>, ApiError> {
    let shape = Shape::Gemini;
    let o = validate::object(shape, v)?;
    if !batch {
        return Ok(vec![one(o, "EmbedContentRequest.")?]);
    }
    let Some(reqs) = o.get("requests").and_then(Value::as_array) else {
        return Err(ApiError::bad_request(
            shape,
            "* BatchEmbedContentsRequest.requests: requests is not specified",
        ));
    };
    if reqs.is_empty() || reqs.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            shape,
            format!(
                "* BatchEmbedContentsRequest.requests: at most {MAX_BATCH} requests can be in one batch, got {}",
                reqs.len()
            ),
        ));
    }
    reqs.iter()
        .enumerate()
        .map(|(i, r)| {
            one(
                validate::object(shape, r)?,
                &format!("BatchEmbedContentsRequest.requests[{i}]."),
            )
        })
        .collect()
}

/// `POST /v1beta/models/{model}:embedContent` / `:batchEmbedContents`.
pub(super) async fn embed_content(
    req: Arc<Req>,
    model: String,
    bytes: axum::body::Bytes,
    batch: bool,
) -> Result<Response, ApiError> {
    let name = model_id(&model).to_string();
    let call = req.admit(&name)?;
    if call.model.spec.kind != ModelKind::Embedding {
        return Err(ApiError::new(
            req.shape,
            StatusCode::NOT_FOUND,
            format!(
                "models/{name} is not found for API version v1beta, or is not supported for embedContent. Call ListModels to see the list of available models and their supported methods."
            ),
        ));
    }
    let v: Value = parse_json(req.shape, &bytes)?;
    let inputs = off_thread(&req, bytes.len(), move || inputs(&v, batch)).await??;
    if let Some(longest) = inputs.iter().map(|(_, n, _)| *n).max() {
        validate::context(req.shape, longest, 0, call.model.window)?;
    }
    let prompt: u64 = inputs.iter().map(|(_, n, _)| n).sum();
    let t = Tokens {
        input: prompt,
        ..Tokens::default()
    };
    if let Some(kind) = call.fault {
        if kind == FaultKind::Timeout {
            return Err(req.timeout(&call, t, false).await);
        }
        if let Some(e) = req.fault_error(&call, kind) {
            return Err(e);
        }
    }
    req.rate_limit(
        &call,
        Admission {
            input: prompt,
            ..Admission::default()
        },
    )?;
    let outcome = req.charge(&call, Charge::answered(t, call.fault, Delivery::Json));
    let vectors: Vec<Value> = inputs
        .iter()
        .map(|(text, _, dims)| {
            json!({"values": embed(req.cfg.seed, &call.model.spec.id, text, *dims as usize)})
        })
        .collect();
    let body = if batch {
        json!({ "embeddings": vectors })
    } else {
        json!({ "embedding": vectors.into_iter().next().unwrap_or(Value::Null) })
    };
    let timing = Timing::new(&req.cfg, &call, content_seed(req.cfg.seed, &bytes));
    let resp = json_response(&body, HeaderMap::new(), timing.ttft, call.fault).await;
    drop(outcome);
    Ok(resp)
}
