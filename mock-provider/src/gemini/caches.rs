//! Explicit context caching, `/v1beta/cachedContents` (<https://ai.google.dev/api/caching>,
//! <https://ai.google.dev/gemini-api/docs/caching#explicit-caching>): create, get, list, update
//! the TTL, delete. Billing (<https://ai.google.dev/gemini-api/docs/pricing>): creating a cache
//! bills its tokens once at the input price plus storage for the TTL asked
//! ([`burnrate_sim::ModelSpec::cache_storage_pusd_per_token_hour`] x tokens x hours); an
//! update that extends the expiry bills the extra hours; requests naming the cache
//! (`cachedContent`) read its tokens at the cache read price. Deleting early refunds nothing
//! (conservative: Google's docs do not say storage is prorated on delete).

use super::{build_prompt, model_id};
use crate::cache::CachedContent as Cached;
use crate::error::{ApiError, Shape};
use crate::pipeline::{Admission, Call, Charge, Delivery, RawBody, Req, Tokens, parse_json};
use crate::ratelimit::rfc3339;
use crate::streaming::ok_json;
use crate::validate::{self, Rule};
use axum::Extension;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// At most this many live caches are kept (creating more is a 429, as a quota would).
const MAX_CACHES: usize = 10_000;
/// Google's default TTL: one hour.
const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// The longest TTL the mock accepts (Google sets no maximum; a year bounds the bill math).
const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

fn not_found(name: &str) -> ApiError {
    ApiError::new(
        Shape::Gemini,
        StatusCode::FORBIDDEN,
        format!("CachedContent not found (or permission denied): {name}"),
    )
}

/// The tokens of cache `name` for a request to `model` (catalog id).
pub(super) fn tokens_for(req: &Req, name: &str, model: &str) -> Result<u64, ApiError> {
    let c = req
        .state
        .gemini_caches
        .get(name, req.key_label())
        .ok_or_else(|| not_found(name))?;
    if c.model != model {
        return Err(ApiError::bad_request(
            req.shape,
            format!(
                "Model used by GenerateContent request (models/{model}) and CachedContent (models/{}) has to be the same.",
                c.model
            ),
        ));
    }
    Ok(c.tokens)
}

/// A protobuf `Duration` in JSON (`"300s"`, `"1.5s"`).
fn duration(field: &str, v: &Value) -> Result<Duration, ApiError> {
    let bad = || {
        ApiError::bad_request(
            Shape::Gemini,
            format!(
                "Invalid value at '{field}' (type.googleapis.com/google.protobuf.Duration), {v}: a duration like \"3600s\" from 0 to one year"
            ),
        )
    };
    let s = v.as_str().ok_or_else(bad)?;
    let secs: f64 = s
        .strip_suffix('s')
        .ok_or_else(bad)?
        .parse()
        .map_err(|_| bad())?;
    if !secs.is_finite() || secs < 0.0 || secs > MAX_TTL.as_secs_f64() {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Storage of `tokens` for `d`, in pUSD (rounded down to the pUSD).
fn storage_pusd(rate_per_token_hour: u64, tokens: u64, d: Duration) -> u64 {
    let v = u128::from(rate_per_token_hour) * u128::from(tokens) * d.as_millis() / 3_600_000;
    u64::try_from(v).unwrap_or(u64::MAX)
}

fn render(c: &Cached) -> Value {
    let mut v = json!({
        "name": c.name,
        "model": format!("models/{}", c.model),
        "createTime": rfc3339(c.created),
        "updateTime": rfc3339(c.updated),
        "expireTime": rfc3339(c.expires),
        "usageMetadata": {"totalTokenCount": c.tokens},
    });
    if let Some(d) = &c.display_name {
        v["displayName"] = json!(d);
    }
    v
}

/// The TTL of a create or update body: `ttl`, else Google's default of an hour.
/// `expireTime` is not parsed by the mock (a 400 says so: send `ttl`).
fn ttl_of(o: &serde_json::Map<String, Value>) -> Result<Duration, ApiError> {
    if o.get("expireTime").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::bad_request(
            Shape::Gemini,
            "expireTime is not supported by the mock; set ttl (e.g. \"3600s\") instead.",
        ));
    }
    match o.get("ttl").filter(|v| !v.is_null()) {
        Some(v) => duration("ttl", v),
        None => Ok(DEFAULT_TTL),
    }
}

/// `POST /v1beta/cachedContents`.
pub(crate) async fn create_cache(
    Extension(req): Extension<Arc<Req>>,
    body: Result<RawBody, ApiError>,
) -> Result<Response, ApiError> {
    req.check_auth()?;
    let RawBody(bytes) = body?;
    let shape = req.shape;
    let v: Value = parse_json(shape, &bytes)?;
    let o = validate::object(shape, &v)?;
    validate::fields(
        shape,
        o,
        &[
            ("model", Rule::Str),
            ("contents", Rule::Array),
            ("systemInstruction", Rule::Object),
            ("tools", Rule::Array),
            ("toolConfig", Rule::Object),
            ("displayName", Rule::Str),
        ],
    )?;
    let Some(model) = o.get("model").and_then(Value::as_str) else {
        return Err(validate::missing(shape, "model"));
    };
    let call = req.admit(model_id(model))?;
    if let Some(kind) = call.fault
        && let Some(e) = req.fault_error(&call, kind)
    {
        return Err(e);
    }
    let ttl = ttl_of(o)?;
    let spec = &call.model.spec;
    let Some(rate) = spec.cache_storage_pusd_per_token_hour() else {
        return Err(ApiError::bad_request(
            shape,
            format!(
                "Model models/{} does not support explicit caching.",
                spec.id
            ),
        ));
    };
    let prompt = build_prompt(o)?;
    let tokens = prompt.total();
    let min = u64::from(spec.min_cacheable_tokens);
    if tokens < min {
        return Err(ApiError::bad_request(
            shape,
            format!(
                "Cached content is too small. total_token_count={tokens}, min_total_token_count={min}"
            ),
        ));
    }
    req.rate_limit(
        &call,
        Admission {
            input: tokens,
            ..Admission::default()
        },
    )?;
    let now = SystemTime::now();
    let name = req.state.new_id("cachedContents/", req.cfg.seed);
    let cached = Cached {
        name: name.clone(),
        model: spec.id.clone(),
        key: req.key_label().to_string(),
        tokens,
        display_name: o
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_string),
        created: now,
        updated: now,
        expires: now + ttl,
    };
    {
        let mut m = req.state.gemini_caches.lock();
        m.retain(|_, c| c.expires > now);
        if m.len() >= MAX_CACHES {
            return Err(ApiError::new(
                shape,
                StatusCode::TOO_MANY_REQUESTS,
                format!("At most {MAX_CACHES} cached contents can be live at once."),
            ));
        }
        m.insert(name, cached.clone());
    }
    let t = Tokens {
        input: tokens,
        ..Tokens::default()
    };
    let storage = storage_pusd(rate, tokens, ttl);
    drop(req.charge(
        &call,
        Charge {
            extra_pusd: storage,
            ..Charge::answered(t, None, Delivery::Json)
        },
    ));
    Ok(ok_json(render(&cached)))
}

/// `GET /v1beta/cachedContents`.
pub(crate) async fn list_caches(Extension(req): Extension<Arc<Req>>) -> Result<Response, ApiError> {
    req.check_auth()?;
    let now = SystemTime::now();
    let mut m = req.state.gemini_caches.lock();
    m.retain(|_, c| c.expires > now);
    let mut mine: Vec<&Cached> = m.values().filter(|c| c.key == req.key_label()).collect();
    mine.sort_by(|a, b| a.name.cmp(&b.name));
    let list: Vec<Value> = mine.into_iter().map(render).collect();
    Ok(ok_json(json!({ "cachedContents": list })))
}

/// `GET /v1beta/cachedContents/{id}`.
pub(crate) async fn get_cache(
    Extension(req): Extension<Arc<Req>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    req.check_auth()?;
    let name = format!("cachedContents/{id}");
    let c = req
        .state
        .gemini_caches
        .get(&name, req.key_label())
        .ok_or_else(|| not_found(&name))?;
    Ok(ok_json(render(&c)))
}

/// `PATCH /v1beta/cachedContents/{id}` (`ttl` only, as Google allows): a later expiry bills
/// the storage of the extra time.
pub(crate) async fn update_cache(
    Extension(req): Extension<Arc<Req>>,
    Path(id): Path<String>,
    body: Result<RawBody, ApiError>,
) -> Result<Response, ApiError> {
    req.check_auth()?;
    let RawBody(bytes) = body?;
    let v: Value = parse_json(req.shape, &bytes)?;
    let o = validate::object(req.shape, &v)?;
    let ttl = ttl_of(o)?;
    let name = format!("cachedContents/{id}");
    let c = req
        .state
        .gemini_caches
        .get(&name, req.key_label())
        .ok_or_else(|| not_found(&name))?;
    req.check_model_name(&c.model)?;
    let model = req
        .cfg
        .model(&c.model, burnrate_sim::Provider::Google)
        .ok_or_else(|| req.unknown_model(&c.model))?;
    let now = SystemTime::now();
    let expires = now + ttl;
    let extra = expires.duration_since(c.expires).unwrap_or(Duration::ZERO);
    let rate = model.spec.cache_storage_pusd_per_token_hour().unwrap_or(0);
    let updated = {
        let mut m = req.state.gemini_caches.lock();
        let Some(e) = m.get_mut(&name) else {
            return Err(not_found(&name));
        };
        e.expires = expires;
        e.updated = now;
        e.clone()
    };
    let call = Call::plain(model);
    let storage = storage_pusd(rate, c.tokens, extra);
    drop(req.charge(
        &call,
        Charge {
            extra_pusd: storage,
            ..Charge::answered(Tokens::default(), None, Delivery::Json)
        },
    ));
    Ok(ok_json(render(&updated)))
}

/// `DELETE /v1beta/cachedContents/{id}`.
pub(crate) async fn delete_cache(
    Extension(req): Extension<Arc<Req>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    req.check_auth()?;
    let name = format!("cachedContents/{id}");
    let mut m = req.state.gemini_caches.lock();
    match m.get(&name) {
        Some(c) if c.key == req.key_label() => {
            m.remove(&name);
            Ok(ok_json(json!({})))
        }
        _ => Err(not_found(&name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_is_tokens_times_hours_times_rate() {
        // 10,000 tokens for 30 minutes on a Pro model: 10_000 x $4.50/M x 0.5 h = $0.0225.
        let pusd = storage_pusd(4_500_000, 10_000, Duration::from_secs(1800));
        assert_eq!(pusd, 22_500_000_000);
    }

    #[test]
    fn durations_parse_as_protobuf_json() {
        assert_eq!(
            duration("ttl", &json!("1.5s")).unwrap(),
            Duration::from_millis(1500)
        );
        assert!(duration("ttl", &json!("10m")).is_err());
        assert!(duration("ttl", &json!("-1s")).is_err());
    }
}
