//! The request pipeline shared by every model endpoint: identity and auth, model lookup,
//! spend cap, fault decision, rate limits, accounting, the request log, latency and streaming.

use crate::cache::{hash_str, mix};
use crate::config::{FaultKind, MockConfig, ModelEntry, ScriptStep};
use crate::error::{ApiError, Shape};
use crate::ratelimit::{Refusal, Snapshot, openai_duration, rfc3339};
use crate::state::{AppState, Charged};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use burnrate_sim::{CacheTtl, Provider, TokenCounts};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The raw body, with limit and read errors answered in the calling provider's shape.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let shape = Shape::from_path(req.uri().path());
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(RawBody(b)),
            Err(rej) => {
                let status = rej.status();
                let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "Request exceeds the maximum allowed number of bytes.".to_string()
                } else {
                    rej.body_text()
                };
                Err(ApiError::new(shape, status, msg))
            }
        }
    }
}

/// Parses a JSON body into `T`, answering parse and type errors with a 400.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    shape: Shape,
    body: &Bytes,
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let msg = if e.is_syntax() || e.is_eof() {
            format!("We could not parse the JSON body of your request. ({e})")
        } else {
            format!("Invalid request body: {e}")
        };
        ApiError::bad_request(shape, msg)
    })
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// One incoming request, before its model is known.
#[derive(Debug)]
pub struct Req {
    pub state: Arc<AppState>,
    pub cfg: Arc<MockConfig>,
    pub shape: Shape,
    pub api: &'static str,
    pub request_id: String,
    pub key: String,
    pub step: Option<String>,
    pub task: Option<String>,
    pub retry_count: u32,
    pub started: Instant,
    /// Set once the request has been recorded in the ledger and the log (so [`Req::fail`]
    /// does not record it twice).
    pub recorded: std::sync::atomic::AtomicBool,
    pub forced_fault: Option<Result<FaultKind, String>>,
    pub forced_output: Option<Result<u64, String>>,
    pub model_name: OnceLock<String>,
}

impl Req {
    pub fn new(state: Arc<AppState>, shape: Shape, api: &'static str, headers: &HeaderMap) -> Req {
        let cfg = state.config();
        let n = state.request_counter.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("req_{:016x}{:08x}", mix(cfg.seed ^ 0x5eed, n), n as u32);
        let bearer = header_str(headers, "authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let key = match shape {
            Shape::Anthropic => header_str(headers, "x-api-key").or(bearer),
            Shape::OpenAi => bearer.or_else(|| header_str(headers, "x-api-key")),
        }
        .unwrap_or("")
        .to_string();
        Req {
            cfg,
            shape,
            api,
            request_id,
            key,
            step: header_str(headers, "x-mock-step").map(|s| s.chars().take(200).collect()),
            task: header_str(headers, "x-mock-task").map(|s| s.chars().take(200).collect()),
            recorded: std::sync::atomic::AtomicBool::new(false),
            retry_count: header_str(headers, "x-stainless-retry-count")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            started: Instant::now(),
            forced_fault: header_str(headers, "x-mock-fault")
                .map(|v| FaultKind::parse(v).ok_or_else(|| v.to_string())),
            forced_output: header_str(headers, "x-mock-output-tokens")
                .map(|v| v.trim().parse::<u64>().map_err(|_| v.to_string())),
            model_name: OnceLock::new(),
            state,
        }
    }

    /// The key as the ledger shows it.
    pub fn key_label(&self) -> &str {
        if self.key.is_empty() {
            "(none)"
        } else {
            &self.key
        }
    }

    pub fn check_auth(&self) -> Result<(), ApiError> {
        if self.cfg.api_keys.is_empty() || self.cfg.api_keys.contains(&self.key) {
            Ok(())
        } else {
            Err(ApiError::unauthorized(self.shape))
        }
    }

    pub fn provider(&self) -> Provider {
        match self.shape {
            Shape::Anthropic => Provider::Anthropic,
            Shape::OpenAi => Provider::OpenAi,
        }
    }

    /// Headers every response carries.
    pub fn base_headers(&self, headers: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            let name = match self.shape {
                Shape::Anthropic => "request-id",
                Shape::OpenAi => "x-request-id",
            };
            headers.insert(HeaderName::from_static(name), v);
        }
    }

    /// Answers an error: records it in the ledger and the log (unless already recorded, as a
    /// timeout is, with its input tokens).
    pub fn fail(&self, err: ApiError) -> Response {
        if self.recorded.load(Ordering::Relaxed) {
            let mut err = err;
            self.base_headers(&mut err.headers);
            return err.into_response();
        }
        let model = self
            .model_name
            .get()
            .map(String::as_str)
            .unwrap_or("(unknown)");
        let kind = error_kind(&err);
        self.state
            .ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(
                model,
                self.key_label(),
                err.status.as_u16(),
                Some(kind),
                &Charged::default(),
                self.retry_count > 0,
            );
        write_log(
            self,
            model,
            model,
            err.status.as_u16(),
            Some(kind),
            &Charged::default(),
            false,
            self.started.elapsed(),
        );
        let mut err = err;
        self.base_headers(&mut err.headers);
        err.into_response()
    }

    /// Looks the model up and decides the fault of this call.
    pub fn admit(&self, model_name: &str) -> Result<Call, ApiError> {
        let _ = self.model_name.set(model_name.to_string());
        self.check_auth()?;
        let model = self
            .cfg
            .model(model_name, self.provider())
            .ok_or_else(|| ApiError::model_not_found(self.shape, model_name))?;
        if let Some(cap) = self.cfg.spend_cap_pusd
            && self.state.total_cost_pusd.load(Ordering::Relaxed) >= cap
        {
            return Err(ApiError::quota(self.shape));
        }
        let forced = match &self.forced_fault {
            Some(Ok(k)) => Some(*k),
            Some(Err(v)) => {
                return Err(ApiError::bad_request(
                    self.shape,
                    format!("x-mock-fault: unknown fault {v:?}"),
                ));
            }
            None => None,
        };
        let forced_output = match &self.forced_output {
            Some(Ok(n)) if *n <= 1_000_000 => Some(*n),
            Some(_) => {
                return Err(ApiError::bad_request(
                    self.shape,
                    "x-mock-output-tokens must be an integer in [0, 1000000]",
                ));
            }
            None => None,
        };
        let n = self.state.next_call(&model.spec.id);
        let model_hash = hash_str(crate::cache::SEED_HASH, &model.spec.id);
        let fault = forced.or_else(|| match model.script.get(n as usize) {
            Some(ScriptStep::Fault(k)) => Some(*k),
            Some(ScriptStep::Ok) => None,
            None => {
                let total = model.faults.total_probability();
                if total <= 0.0 {
                    return None;
                }
                let mut rng = Pcg64Mcg::seed_from_u64(mix(mix(self.cfg.seed, model_hash), n));
                let u: f64 = rng.random();
                let mut acc = 0.0;
                for (kind, p) in &model.faults.probabilities {
                    acc += p;
                    if u < acc {
                        return Some(*kind);
                    }
                }
                None
            }
        });
        let inflight = self.state.inflight.load(Ordering::Relaxed) as f64;
        Ok(Call {
            slowdown: 1.0 + model.slowdown_per_inflight * inflight,
            model,
            fault,
            forced_output,
            call_index: n,
        })
    }

    /// Applies the rate limits for `input` + `output` tokens.
    pub fn rate_limit(&self, call: &Call, input: u64, output: u64) -> Result<Snapshot, ApiError> {
        let limits = self.limits(call);
        self.state
            .limiter
            .admit(
                self.key_label(),
                &call.model.spec.id,
                limits,
                input,
                output,
                true,
                Instant::now(),
            )
            .map_err(|r| self.rate_limit_error(call, &r))
    }

    fn limits(&self, call: &Call) -> crate::config::Limits {
        let mut limits = call.model.limits;
        if let Some(k) = self.cfg.keys.get(&self.key) {
            let pick = |v: Option<u64>, d: Option<u64>| match v {
                Some(0) => None,
                Some(n) => Some(n),
                None => d,
            };
            limits.rpm = pick(k.rpm, limits.rpm);
            limits.tpm = pick(k.tpm, limits.tpm);
            limits.input_tpm = pick(k.input_tpm, limits.input_tpm);
            limits.output_tpm = pick(k.output_tpm, limits.output_tpm);
        }
        limits
    }

    /// The current bucket state without debiting (for injected faults).
    pub fn peek_limits(&self, call: &Call) -> Snapshot {
        let limits = self.limits(call);
        self.state
            .limiter
            .admit(
                self.key_label(),
                &call.model.spec.id,
                limits,
                0,
                0,
                false,
                Instant::now(),
            )
            .unwrap_or_default()
    }

    fn rate_limit_error(&self, call: &Call, r: &Refusal) -> ApiError {
        let wait_ms = r.wait.as_millis().max(1) as u64;
        let model = &call.model.spec.id;
        let err = match self.shape {
            Shape::OpenAi => {
                let (unit, ty) = match r.which {
                    crate::ratelimit::Which::Requests => ("requests per min (RPM)", "requests"),
                    _ => ("tokens per min (TPM)", "tokens"),
                };
                ApiError::new(
                    self.shape,
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "Rate limit reached for {model} in organization org-mock on {unit}: Limit {}, Used {}, Requested {}. Please try again in {}.",
                        r.limit,
                        r.used,
                        r.requested,
                        openai_duration(r.wait)
                    ),
                )
                .with_type(ty, None)
                .with_code("rate_limit_exceeded")
            }
            Shape::Anthropic => ApiError::new(
                self.shape,
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "This request would exceed the rate limit for your organization of {} {} per minute. Please try again in {}s.",
                    r.limit,
                    r.which.as_str().replace('_', " "),
                    wait_ms.div_ceil(1000)
                ),
            ),
        };
        let mut err = err
            .with_header("retry-after", &wait_ms.div_ceil(1000).max(1).to_string())
            .with_header("retry-after-ms", &wait_ms.to_string());
        self.limit_headers(&r.snapshot, &mut err.headers);
        err
    }

    /// Rate-limit headers in the provider's format.
    pub fn limit_headers(&self, s: &Snapshot, h: &mut HeaderMap) {
        let mut put = |name: String, value: String| {
            if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
                h.insert(n, v);
            }
        };
        match self.shape {
            Shape::OpenAi => {
                let tokens = s.tokens.or(s.input_tokens);
                for (what, line) in [("requests", s.requests), ("tokens", tokens)] {
                    if let Some(l) = line {
                        put(format!("x-ratelimit-limit-{what}"), l.limit.to_string());
                        put(
                            format!("x-ratelimit-remaining-{what}"),
                            l.remaining.to_string(),
                        );
                        put(
                            format!("x-ratelimit-reset-{what}"),
                            openai_duration(l.reset),
                        );
                    }
                }
            }
            Shape::Anthropic => {
                let now = SystemTime::now();
                // `tokens` is the most restrictive token limit in effect.
                let tokens = [s.tokens, s.input_tokens, s.output_tokens]
                    .into_iter()
                    .flatten()
                    .min_by_key(|l| l.remaining);
                for (what, line) in [
                    ("requests", s.requests),
                    ("tokens", tokens),
                    ("input-tokens", s.input_tokens),
                    ("output-tokens", s.output_tokens),
                ] {
                    if let Some(l) = line {
                        put(
                            format!("anthropic-ratelimit-{what}-limit"),
                            l.limit.to_string(),
                        );
                        put(
                            format!("anthropic-ratelimit-{what}-remaining"),
                            l.remaining.to_string(),
                        );
                        put(
                            format!("anthropic-ratelimit-{what}-reset"),
                            rfc3339(now + l.reset + Duration::from_millis(999)),
                        );
                    }
                }
            }
        }
    }

    /// The error an injected fault answers with (for the kinds that are plain errors).
    pub fn fault_error(&self, call: &Call, kind: FaultKind) -> Option<ApiError> {
        let retry = call.model.faults.retry_after;
        let retry_ms = retry.as_millis().max(1) as u64;
        let with_retry = |e: ApiError| {
            e.with_header("retry-after", &retry_ms.div_ceil(1000).max(1).to_string())
                .with_header("retry-after-ms", &retry_ms.to_string())
        };
        let s = self.shape;
        Some(match kind {
            FaultKind::RateLimit => {
                let snapshot = self.peek_limits(call);
                let mut e = match s {
                    Shape::OpenAi => ApiError::new(
                        s,
                        StatusCode::TOO_MANY_REQUESTS,
                        format!(
                            "Rate limit reached for {} in organization org-mock on requests per min (RPM). Please try again in {}.",
                            call.model.spec.id,
                            openai_duration(retry)
                        ),
                    )
                    .with_type("requests", None)
                    .with_code("rate_limit_exceeded"),
                    Shape::Anthropic => ApiError::new(
                        s,
                        StatusCode::TOO_MANY_REQUESTS,
                        "This request would exceed the rate limit for your organization. Please try again later.",
                    ),
                };
                self.limit_headers(&snapshot, &mut e.headers);
                with_retry(e)
            }
            FaultKind::ServerError => ApiError::new(
                s,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server had an error while processing your request. Sorry about that!",
            ),
            FaultKind::BadGateway => ApiError::new(s, StatusCode::BAD_GATEWAY, "Bad gateway."),
            FaultKind::Unavailable => with_retry(ApiError::new(
                s,
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is currently unavailable.",
            )),
            FaultKind::Overloaded => with_retry(
                ApiError::new(s, overloaded_status(), "Overloaded")
                    .with_type("server_error", Some("overloaded_error")),
            ),
            FaultKind::Quota => ApiError::quota(s),
            FaultKind::StreamError => ApiError::new(
                s,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server had an error while processing your request.",
            ),
            FaultKind::Timeout | FaultKind::Malformed | FaultKind::StreamCut => return None,
        })
    }

    /// The hang of a `timeout` fault: the model's `timeout_s` times the global time scale
    /// (zero, so an immediate 504, when `time_scale = 0`).
    pub fn timeout_hang(&self, call: &Call) -> Duration {
        secs(call.model.faults.timeout.as_secs_f64() * self.cfg.time_scale)
    }

    /// A `timeout` fault: hangs for [`Req::timeout_hang`], then answers 504. The provider
    /// processed the prompt, so the call is billed its input tokens `t` (cache reads and
    /// writes included; the output is not billed) in the ledger and the request log.
    pub async fn timeout(&self, call: &Call, t: Tokens, stream: bool) -> ApiError {
        let _inflight = Inflight::new(&self.state);
        let hang = self.timeout_hang(call);
        if hang > Duration::ZERO {
            tokio::time::sleep(hang).await;
        }
        let t = Tokens { output: 0, ..t };
        let outcome = self.charge(
            call,
            t,
            StatusCode::GATEWAY_TIMEOUT.as_u16(),
            Some(FaultKind::Timeout),
            false,
            stream,
        );
        self.recorded.store(true, Ordering::Relaxed);
        drop(outcome);
        ApiError::new(
            self.shape,
            StatusCode::GATEWAY_TIMEOUT,
            "Request timed out.",
        )
    }

    /// Prices tokens with the catalog and records the request; returns the outcome whose drop
    /// writes the log line and the latency.
    pub fn charge(
        &self,
        call: &Call,
        t: Tokens,
        status: u16,
        kind: Option<FaultKind>,
        batch: bool,
        stream: bool,
    ) -> Outcome {
        let charged = price(&call.model, t, batch);
        self.state
            .total_cost_pusd
            .fetch_add(charged.cost_pusd, Ordering::Relaxed);
        self.state
            .ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(
                &call.model.spec.id,
                self.key_label(),
                status,
                kind.map(FaultKind::as_str),
                &charged,
                self.retry_count > 0,
            );
        Outcome {
            state: self.state.clone(),
            req: ReqInfo {
                shape: self.shape,
                api: self.api,
                request_id: self.request_id.clone(),
                key: self.key_label().to_string(),
                step: self.step.clone(),
                task: self.task.clone(),
                retry_count: self.retry_count,
                started: self.started,
            },
            model: call.model.spec.id.clone(),
            requested: self.model_name.get().cloned().unwrap_or_default(),
            status,
            kind,
            charged,
            stream,
        }
    }
}

/// Anthropic's overloaded status.
pub fn overloaded_status() -> StatusCode {
    StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

fn error_kind(err: &ApiError) -> &'static str {
    match err.status.as_u16() {
        400 if err.message.starts_with("Your credit balance") => "quota",
        429 if err.code == Some("insufficient_quota") => "quota",
        400 => "invalid_request",
        401 => "authentication",
        404 => "not_found",
        413 => "request_too_large",
        429 => "rate_limit",
        500 => "server_error",
        502 => "bad_gateway",
        503 => "unavailable",
        504 => "timeout",
        529 => "overloaded",
        _ => "other",
    }
}

/// Token counts of one call by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    pub cache_read: u64,
    pub output: u64,
}

/// Exact cost with the simulator's catalog (the 5m and 1h writes priced separately).
pub fn price(model: &ModelEntry, t: Tokens, batch: bool) -> Charged {
    let spec = &model.spec;
    let main = spec.cost_pusd(
        &TokenCounts {
            input: t.input,
            cache_write: t.cache_write_5m,
            cache_read: t.cache_read,
            output: t.output,
        },
        CacheTtl::FiveMinutes,
        batch,
    );
    let hour = spec.cost_pusd(
        &TokenCounts {
            cache_write: t.cache_write_1h,
            ..TokenCounts::default()
        },
        CacheTtl::OneHour,
        batch,
    );
    Charged {
        input: t.input,
        cache_write_5m: t.cache_write_5m,
        cache_write_1h: t.cache_write_1h,
        cache_read: t.cache_read,
        output: t.output,
        cost_pusd: main.total() + hour.total(),
        batch,
    }
}

#[derive(Debug, Clone)]
struct ReqInfo {
    shape: Shape,
    api: &'static str,
    request_id: String,
    key: String,
    step: Option<String>,
    task: Option<String>,
    retry_count: u32,
    started: Instant,
}

/// A recorded request; dropping it records the latency and writes the log line.
#[derive(Debug)]
pub struct Outcome {
    state: Arc<AppState>,
    req: ReqInfo,
    model: String,
    requested: String,
    status: u16,
    kind: Option<FaultKind>,
    charged: Charged,
    stream: bool,
}

impl Drop for Outcome {
    fn drop(&mut self) {
        let latency = self.req.started.elapsed();
        self.state
            .ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .observe_latency(&self.model, latency.as_secs_f64());
        let mut log = self.state.log.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(log) = log.as_mut() {
            log.write(&log_line(
                &self.req,
                &self.model,
                &self.requested,
                self.status,
                self.kind.map(FaultKind::as_str),
                &self.charged,
                self.stream,
                latency,
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn log_line(
    r: &ReqInfo,
    model: &str,
    requested: &str,
    status: u16,
    error: Option<&str>,
    c: &Charged,
    stream: bool,
    latency: Duration,
) -> serde_json::Value {
    serde_json::json!({
        "ts": rfc3339(SystemTime::now()),
        "request_id": r.request_id,
        "provider": match r.shape { Shape::OpenAi => "openai", Shape::Anthropic => "anthropic" },
        "api": r.api,
        "model": model,
        "requested_model": requested,
        "key": r.key,
        "step": r.step,
        "task": r.task,
        "stream": stream,
        "batch": c.batch,
        "status": status,
        "error": error,
        "retry_count": r.retry_count,
        "input_tokens": c.input,
        "cache_write_tokens": c.cache_write_5m + c.cache_write_1h,
        "cache_write_5m_tokens": c.cache_write_5m,
        "cache_write_1h_tokens": c.cache_write_1h,
        "cache_read_tokens": c.cache_read,
        "output_tokens": c.output,
        "cost_usd": c.cost_pusd as f64 / 1e12,
        "cost_pusd": c.cost_pusd,
        "latency_ms": latency.as_secs_f64() * 1000.0,
    })
}

#[allow(clippy::too_many_arguments)]
fn write_log(
    req: &Req,
    model: &str,
    requested: &str,
    status: u16,
    kind: Option<&str>,
    c: &Charged,
    stream: bool,
    latency: Duration,
) {
    let mut log = req.state.log.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(log) = log.as_mut() {
        let info = ReqInfo {
            shape: req.shape,
            api: req.api,
            request_id: req.request_id.clone(),
            key: req.key_label().to_string(),
            step: req.step.clone(),
            task: req.task.clone(),
            retry_count: req.retry_count,
            started: req.started,
        };
        log.write(&log_line(
            &info, model, requested, status, kind, c, stream, latency,
        ));
    }
    drop(log);
    req.state
        .ledger
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .observe_latency(model, latency.as_secs_f64());
}

/// A model call admitted past lookup and spend cap.
#[derive(Debug)]
pub struct Call {
    pub model: Arc<ModelEntry>,
    pub fault: Option<FaultKind>,
    pub forced_output: Option<u64>,
    pub call_index: u64,
    /// Latency multiplier from the requests in flight.
    pub slowdown: f64,
}

impl Call {
    /// The call behind one batch line: batch lines see no faults, forced output or slowdown.
    pub fn batch(model: Arc<ModelEntry>) -> Call {
        Call {
            model,
            fault: None,
            forced_output: None,
            call_index: 0,
            slowdown: 1.0,
        }
    }
}

/// Counts a request in flight while alive.
#[derive(Debug)]
pub struct Inflight(Arc<AppState>);

impl Inflight {
    pub fn new(state: &Arc<AppState>) -> Inflight {
        state.inflight.fetch_add(1, Ordering::Relaxed);
        Inflight(state.clone())
    }
}

impl Drop for Inflight {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Latency draws for one call.
#[derive(Debug)]
pub struct Timing {
    pub factor: f64,
    pub ttft: Duration,
    inter: crate::dist::Dist,
    rng: Pcg64Mcg,
}

impl Timing {
    pub fn new(cfg: &MockConfig, call: &Call, seed: u64) -> Timing {
        let mut rng = Pcg64Mcg::seed_from_u64(mix(seed, 0x7131));
        let factor = cfg.time_scale * call.slowdown;
        let ttft = if factor > 0.0 {
            secs(call.model.ttft.sample(&mut rng) * factor)
        } else {
            Duration::ZERO
        };
        Timing {
            factor,
            ttft,
            inter: call.model.inter_token.clone(),
            rng,
        }
    }

    pub fn instant(&self) -> bool {
        self.factor <= 0.0
    }

    pub fn next_gap(&mut self) -> Duration {
        if self.instant() {
            Duration::ZERO
        } else {
            secs(self.inter.sample(&mut self.rng) * self.factor)
        }
    }

    /// Time of a whole non-streamed reply of `n` tokens.
    pub fn total(&mut self, n: u64) -> Duration {
        if self.instant() {
            return Duration::ZERO;
        }
        let mut t = self.ttft;
        for _ in 1..n.min(1_000_000) {
            t += self.next_gap();
        }
        t
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 3600.0))
}

/// One SSE frame: its bytes and whether it carries a token (and so waits for one).
#[derive(Debug)]
pub struct Frame {
    pub data: Bytes,
    pub token: bool,
}

/// Renders frame `i` of a stream, or `None` at the end.
pub type FrameFn = Box<dyn FnMut(usize) -> Option<Frame> + Send>;

struct StreamState {
    frames: FrameFn,
    idx: usize,
    timing: Timing,
    start: tokio::time::Instant,
    deadline: Option<tokio::time::Instant>,
    cut_at: Option<usize>,
    done: bool,
    _outcome: Outcome,
    _inflight: Inflight,
}

/// A streamed SSE response: token frames are released at `start + ttft`, then one
/// inter-token gap after another (absolute deadlines, so errors do not accumulate).
/// `cut_at` aborts the connection before that frame.
pub fn sse_response(
    frames: FrameFn,
    timing: Timing,
    outcome: Outcome,
    inflight: Inflight,
    cut_at: Option<usize>,
    headers: HeaderMap,
) -> Response {
    let st = StreamState {
        frames,
        idx: 0,
        timing,
        start: tokio::time::Instant::now(),
        deadline: None,
        cut_at,
        done: false,
        _outcome: outcome,
        _inflight: inflight,
    };
    let stream = futures::stream::unfold(st, |mut s| async move {
        if s.done {
            return None;
        }
        if s.cut_at == Some(s.idx) {
            s.done = true;
            return Some((Err(std::io::Error::other("mock: stream cut")), s));
        }
        let frame = (s.frames)(s.idx)?;
        if frame.token && !s.timing.instant() {
            let next = match s.deadline {
                None => s.start + s.timing.ttft,
                Some(d) => d + s.timing.next_gap(),
            };
            s.deadline = Some(next);
            tokio::time::sleep_until(next).await;
        }
        s.idx += 1;
        Some((Ok::<Bytes, std::io::Error>(frame.data), s))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    with_headers(resp, headers)
}

/// A JSON response with headers, after the simulated latency; `malformed` truncates the body
/// and `cut` aborts the connection mid-body.
pub async fn json_response<T: serde::Serialize + ?Sized>(
    body: &T,
    headers: HeaderMap,
    delay: Duration,
    fault: Option<FaultKind>,
) -> Response {
    if delay > Duration::ZERO {
        tokio::time::sleep(delay).await;
    }
    let mut bytes = Vec::with_capacity(1024);
    let _ = serde_json::to_writer(&mut bytes, body);
    let mut resp = match fault {
        Some(FaultKind::Malformed) => {
            let half = bytes.len() / 2;
            Response::new(Body::from(bytes[..half].to_vec()))
        }
        Some(FaultKind::StreamCut) => {
            let half = Bytes::from(bytes[..bytes.len() / 2].to_vec());
            let parts: Vec<Result<Bytes, std::io::Error>> =
                vec![Ok(half), Err(std::io::Error::other("mock: connection cut"))];
            Response::new(Body::from_stream(futures::stream::iter(parts)))
        }
        _ => Response::new(Body::from(bytes)),
    };
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    with_headers(resp, headers)
}

/// Seed of the content of a request: the config seed and the request body.
pub fn content_seed(seed: u64, body: &[u8]) -> u64 {
    let mut h = mix(seed, body.len() as u64);
    for chunk in body.chunks(8) {
        let mut buf = [0u8; 8];
        buf[..chunk.len()].copy_from_slice(chunk);
        h = mix(h, u64::from_le_bytes(buf));
    }
    h
}

/// Formats an SSE `data:` line.
pub fn sse_data(json: &str) -> Bytes {
    let mut s = String::with_capacity(json.len() + 8);
    s.push_str("data: ");
    s.push_str(json);
    s.push_str("\n\n");
    Bytes::from(s)
}

/// Formats an SSE event with a name.
pub fn sse_event(event: &str, json: &str) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {json}\n\n"))
}

/// Convenience for responses assembled by handlers.
pub fn with_headers(mut resp: Response, headers: HeaderMap) -> Response {
    for (k, v) in headers.iter() {
        resp.headers_mut().insert(k.clone(), v.clone());
    }
    resp
}

pub fn ok_json(value: serde_json::Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}
