//! `GET /v1/models` and `GET /v1/models/{id}`.

use crate::error::{ApiError, Shape};
use crate::pipeline::Req;
use crate::streaming::ok_json;
use axum::Extension;
use axum::extract::Path;
use axum::response::Response;
use burnrate_sim::Provider;
use serde_json::{Value, json};
use std::sync::Arc;

fn model_json(id: &str, provider: Provider, anthropic: bool) -> Value {
    if anthropic {
        json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"})
    } else {
        json!({"id": id, "object": "model", "created": 1_735_689_600u64, "owned_by": provider.as_str()})
    }
}

/// `GET /v1/models`: the catalog, in Anthropic's shape when the client sends
/// `anthropic-version`.
pub(crate) async fn list_models(Extension(req): Extension<Arc<Req>>) -> Result<Response, ApiError> {
    req.check_auth()?;
    let cfg = &req.cfg;
    let anthropic = req.shape == Shape::Anthropic;
    let mut seen = std::collections::BTreeSet::new();
    let data: Vec<Value> = cfg
        .models
        .values()
        .filter(|m| seen.insert(m.spec.id.clone()))
        .filter(|m| !anthropic || m.spec.provider == Provider::Anthropic)
        .map(|m| model_json(&m.spec.id, m.spec.provider, anthropic))
        .collect();
    if anthropic {
        let first = data.first().and_then(|d| d.get("id")).cloned();
        let last = data.last().and_then(|d| d.get("id")).cloned();
        return Ok(ok_json(
            json!({"data": data, "has_more": false, "first_id": first, "last_id": last}),
        ));
    }
    Ok(ok_json(json!({"object": "list", "data": data})))
}

/// `GET /v1/models/{id}`.
pub(crate) async fn get_model(
    Extension(req): Extension<Arc<Req>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let anthropic = req.shape == Shape::Anthropic;
    req.check_model_name(&id)?;
    req.check_auth()?;
    match req.cfg.models.get(&id) {
        Some(m) => Ok(ok_json(model_json(&id, m.spec.provider, anthropic))),
        None => Err(req
            .unknown_model(&id)
            .with_type("invalid_request_error", None)),
    }
}
