//! `POST /v1/embeddings`: deterministic unit vectors, billed by their input tokens.

use crate::cache::{hash_str, mix};
use crate::config::FaultKind;
use crate::error::ApiError;
use crate::pipeline::{
    Admission, Charge, Delivery, RawBody, Req, Tokens, content_seed, off_thread, parse_json,
};
use crate::streaming::{Timing, json_response};
use crate::tokens;
use crate::validate::{self, Rule};
use axum::Extension;
use axum::http::HeaderMap;
use axum::response::Response;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug, Deserialize)]
pub struct EmbeddingsRequest {
    pub model: String,
    pub input: Value,
    pub dimensions: Option<u64>,
    pub encoding_format: Option<String>,
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// A deterministic unit vector for a text.
pub fn embed(seed: u64, model: &str, text: &str, dims: usize) -> Vec<f32> {
    let mut rng = Pcg64Mcg::seed_from_u64(hash_str(hash_str(mix(seed, 0xe3b), model), text));
    let mut v: Vec<f32> = (0..dims).map(|_| StandardNormal.sample(&mut rng)).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    for x in &mut v {
        *x /= norm;
    }
    v
}

/// The inputs as (text, token count), or `None` when `input` has none of the allowed shapes.
fn inputs_of(input: &Value) -> Option<Vec<(String, u64)>> {
    Some(match input {
        Value::String(s) => vec![(s.clone(), tokens::count_cl100k(s))],
        Value::Array(items) if !items.is_empty() => {
            if items.iter().all(Value::is_string) {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| (s.to_string(), tokens::count_cl100k(s)))
                    .collect()
            } else if items.iter().all(Value::is_u64) {
                vec![(input.to_string(), items.len() as u64)]
            } else if items
                .iter()
                .all(|i| i.as_array().is_some_and(|a| a.iter().all(Value::is_u64)))
            {
                items
                    .iter()
                    .map(|i| (i.to_string(), i.as_array().map_or(0, |a| a.len() as u64)))
                    .collect()
            } else {
                return None;
            }
        }
        _ => return None,
    })
}

/// `POST /v1/embeddings`.
pub(crate) async fn embeddings(
    Extension(req): Extension<Arc<Req>>,
    body: Result<RawBody, ApiError>,
) -> Result<Response, ApiError> {
    // Providers check the key before the body.
    req.check_auth()?;
    let RawBody(bytes) = body?;
    let v: Value = parse_json(req.shape, &bytes)?;
    let o = validate::object(req.shape, &v)?;
    for field in ["model", "input"] {
        if o.get(field).is_none_or(Value::is_null) {
            return Err(validate::missing(req.shape, field));
        }
    }
    validate::fields(
        req.shape,
        o,
        &[
            ("model", Rule::Str),
            ("dimensions", Rule::Integer(1, i64::MAX)),
            ("encoding_format", Rule::Str),
            ("user", Rule::Str),
        ],
    )?;
    let r: EmbeddingsRequest = serde_json::from_value(v)
        .map_err(|e| ApiError::bad_request(req.shape, format!("Invalid request body: {e}")))?;
    let call = req.admit(&r.model)?;
    let invalid = || {
        ApiError::bad_request(
            req.shape,
            "'input' must be a string, an array of strings, or an array of token arrays",
        )
        .with_param("input")
    };
    let input = r.input.clone();
    let inputs = off_thread(&req, bytes.len(), move || inputs_of(&input)).await?;
    let Some(inputs) = inputs else {
        return Err(invalid());
    };
    if inputs.len() > 2048 {
        return Err(
            ApiError::bad_request(req.shape, "'input' has more than 2048 items")
                .with_param("input"),
        );
    }
    let native = if call.model.spec.id.contains("large") {
        3072
    } else {
        1536
    };
    let dims = r.dimensions.unwrap_or(native);
    if dims == 0 || dims > native {
        return Err(ApiError::bad_request(
            req.shape,
            format!("'dimensions' must be between 1 and {native}"),
        )
        .with_param("dimensions"));
    }
    // Each input must fit the model's context window (8,191 tokens).
    if let Some(longest) = inputs.iter().map(|(_, n)| *n).max() {
        validate::context(req.shape, longest, 0, call.model.window)
            .map_err(|e| e.with_param("input"))?;
    }
    let prompt: u64 = inputs.iter().map(|(_, n)| n).sum();
    if let Some(kind) = call.fault {
        if kind == FaultKind::Timeout {
            let t = Tokens {
                input: prompt,
                ..Tokens::default()
            };
            return Err(req.timeout(&call, t, false).await);
        }
        if let Some(e) = req.fault_error(&call, kind) {
            return Err(e);
        }
    }
    let snapshot = req.rate_limit(
        &call,
        Admission {
            input: prompt,
            ..Admission::default()
        },
    )?;
    let outcome = req.charge(
        &call,
        Charge::answered(
            Tokens {
                input: prompt,
                ..Tokens::default()
            },
            call.fault,
            Delivery::Json,
        ),
    );
    let b64 = r.encoding_format.as_deref() == Some("base64");
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, (text, _))| {
            let v = embed(req.cfg.seed, &call.model.spec.id, text, dims as usize);
            let embedding = if b64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::String(base64(&bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let body = json!({"object": "list", "data": data, "model": r.model, "usage": {"prompt_tokens": prompt, "total_tokens": prompt}});
    let mut headers = HeaderMap::new();
    req.limit_headers(&snapshot, &mut headers);
    let timing = Timing::new(&req.cfg, &call, content_seed(req.cfg.seed, &bytes));
    let resp = json_response(&body, headers, timing.ttft, call.fault).await;
    drop(outcome);
    Ok(resp)
}
