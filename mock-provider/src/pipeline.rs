//! The request pipeline every provider endpoint runs: the [`track`] layer (request id, key and
//! mock headers read once; errors recorded in the ledger and the log; the request id on every
//! response), then in the handler: model lookup and auth ([`Req::admit`]), spend cap, the
//! fault decision, rate limits, pricing and accounting ([`Req::charge`]).

pub use crate::bill::{Charged, Tokens};
use crate::cache::{hash_str, mix};
use crate::config::{FaultKind, Limits, MockConfig, ModelEntry, ScriptStep};
use crate::error::{ApiError, Shape};
use crate::ratelimit::{Refusal, Snapshot, Which, openai_duration, rfc3339};
use crate::reqlog::{Answer, ReqInfo, log_line};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use burnrate_sim::{Billing, CacheTtl, Provider, ServiceTier, TokenCounts};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    pub recorded: AtomicBool,
    pub forced_fault: Option<Result<FaultKind, String>>,
    pub forced_output: Option<Result<u64, String>>,
    pub forced_reasoning: Option<Result<u64, String>>,
    pub forced_tool_rounds: Option<Result<u64, String>>,
    pub model_name: OnceLock<String>,
    key_label: String,
    /// Output tokens reserved by `rate_limit` beyond what the reply uses, given back to the
    /// buckets when the answer's `Outcome` ends (providers that refund, `LimitRules`).
    pending_refund: AtomicU64,
}

/// What a request asks of the rate limits, before the provider's counting rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct Admission {
    /// Every input token of the prompt.
    pub input: u64,
    /// Of which read from the prompt cache (known before the request runs).
    pub cache_read: u64,
    /// Output (reasoning included) the reply will bill.
    pub output: u64,
    /// The request's output cap (`max_tokens`...), reserved at admission.
    pub output_cap: u64,
}

/// The buckets a model draws from: the pool its config names, else its provider's shared
/// pool (Anthropic's Opus 4.x), else its own.
fn limit_pool(call: &Call) -> &str {
    let spec = &call.model.spec;
    call.model
        .rate_limit_pool
        .as_deref()
        .or_else(|| burnrate_sim::LimitRules::default_pool(spec.provider, &spec.id))
        .unwrap_or(&spec.id)
}

/// A reservation to give back when a request ends.
#[derive(Debug, Clone)]
struct Refund {
    key: String,
    pool: String,
    limits: Limits,
    tokens: u64,
    /// The request's `limit_clock_speedup` (the refund lands on the same clock).
    limit_clock_speedup: f64,
}

impl Refund {
    fn clock_now(&self, state: &AppState) -> Instant {
        state.limit_clock_now(self.limit_clock_speedup)
    }
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
            // The google-genai SDKs send `x-goog-api-key`.
            Shape::Gemini => header_str(headers, "x-goog-api-key").or(bearer),
        }
        .unwrap_or("")
        .to_string();
        Req {
            cfg,
            shape,
            api,
            request_id,
            step: header_str(headers, "x-mock-step").map(|s| s.chars().take(200).collect()),
            task: header_str(headers, "x-mock-task").map(|s| s.chars().take(200).collect()),
            recorded: AtomicBool::new(false),
            retry_count: header_str(headers, "x-stainless-retry-count")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            started: Instant::now(),
            forced_fault: header_str(headers, "x-mock-fault")
                .map(|v| FaultKind::parse(v).ok_or_else(|| v.to_string())),
            forced_output: header_str(headers, "x-mock-output-tokens")
                .map(|v| v.trim().parse::<u64>().map_err(|_| v.to_string())),
            forced_reasoning: header_str(headers, "x-mock-reasoning-tokens")
                .map(|v| v.trim().parse::<u64>().map_err(|_| v.to_string())),
            forced_tool_rounds: header_str(headers, "x-mock-tool-rounds")
                .map(|v| v.trim().parse::<u64>().map_err(|_| v.to_string())),
            model_name: OnceLock::new(),
            pending_refund: AtomicU64::new(0),
            key_label: redact_key(&key),
            key,
            state,
        }
    }

    /// Acts as `key` (a batch's lines run as the key that created the batch).
    pub fn set_key(&mut self, key: String) {
        self.key_label = redact_key(&key);
        self.key = key;
    }

    /// The key as the ledger, the buckets and the log show it: redacted (see [`redact_key`]).
    pub fn key_label(&self) -> &str {
        &self.key_label
    }

    pub fn check_auth(&self) -> Result<(), ApiError> {
        let max = self.cfg.limits.max_api_key_bytes;
        if self.key.len() > max {
            return Err(too_long(self.shape, "api key", None, max, self.key.len()));
        }
        if self.cfg.api_keys.is_empty() || self.cfg.api_keys.contains(&self.key) {
            Ok(())
        } else {
            Err(ApiError::unauthorized(self.shape))
        }
    }

    /// May call `/_mock/*`: anyone when no keys are configured, else the `admin_key` (or,
    /// without one, any of `api_keys`).
    pub fn is_admin(&self) -> bool {
        if self.cfg.api_keys.is_empty() {
            return true;
        }
        match &self.cfg.admin_key {
            Some(admin) => *admin == self.key,
            None => self.cfg.api_keys.contains(&self.key),
        }
    }

    /// Checks a model name's length before it is stored anywhere.
    pub fn check_model_name(&self, name: &str) -> Result<(), ApiError> {
        let max = self.cfg.limits.max_model_name_bytes;
        if name.len() > max {
            let _ = self.model_name.set("(too long)".to_string());
            return Err(too_long(
                self.shape,
                "model",
                Some("model"),
                max,
                name.len(),
            ));
        }
        let _ = self.model_name.set(name.to_string());
        Ok(())
    }

    pub fn provider(&self) -> Provider {
        match self.shape {
            Shape::Anthropic => Provider::Anthropic,
            Shape::OpenAi => Provider::OpenAi,
            Shape::Gemini => Provider::Google,
        }
    }

    /// Headers every response carries.
    pub fn base_headers(&self, headers: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            let name = match self.shape {
                Shape::Anthropic => "request-id",
                Shape::OpenAi | Shape::Gemini => "x-request-id",
            };
            headers.insert(HeaderName::from_static(name), v);
        }
    }

    /// Records an error answer in the ledger and the log, unless already recorded (a timeout
    /// is, with its input tokens).
    pub fn record_failure(&self, err: &ApiError) {
        if self.recorded.swap(true, Ordering::Relaxed) {
            return;
        }
        let model = self
            .model_name
            .get()
            .map(String::as_str)
            .unwrap_or("(unknown)");
        let kind = error_kind(err);
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
            &self.state,
            &self.info(),
            &Answer {
                model,
                requested: model,
                status: err.status.as_u16(),
                error: Some(kind),
                charged: &Charged::default(),
                stream: false,
            },
        );
    }

    /// What the request log needs to know about the request.
    pub fn info(&self) -> ReqInfo {
        ReqInfo {
            shape: self.shape,
            api: self.api,
            request_id: self.request_id.clone(),
            key: self.key_label().to_string(),
            step: self.step.clone(),
            task: self.task.clone(),
            retry_count: self.retry_count,
            started: self.started,
        }
    }

    /// The 404 of an unknown model, naming the nearest served ones.
    pub fn unknown_model(&self, name: &str) -> ApiError {
        ApiError::model_not_found(self.shape, name, &self.cfg.nearest_models(name))
    }

    /// Looks the model up and decides the fault of this call.
    pub fn admit(&self, model_name: &str) -> Result<Call, ApiError> {
        self.check_model_name(model_name)?;
        self.check_auth()?;
        let model = self
            .cfg
            .model(model_name, self.provider())
            .ok_or_else(|| self.unknown_model(model_name))?;
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
        let forced_reasoning = match &self.forced_reasoning {
            Some(Ok(n)) if *n <= 1_000_000 => Some(*n),
            Some(_) => {
                return Err(ApiError::bad_request(
                    self.shape,
                    "x-mock-reasoning-tokens must be an integer in [0, 1000000]",
                ));
            }
            None => None,
        };
        let max_rounds = crate::config::MAX_TOOL_ROUNDS;
        let forced_tool_rounds = match &self.forced_tool_rounds {
            Some(Ok(n)) if *n <= max_rounds => Some(*n),
            Some(_) => {
                return Err(ApiError::bad_request(
                    self.shape,
                    format!("x-mock-tool-rounds must be an integer in [0, {max_rounds}]"),
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
            tier: ServiceTier::Standard,
            fault,
            forced_output,
            forced_reasoning,
            forced_tool_rounds,
        })
    }

    /// Applies the rate limits as the model's provider counts them
    /// (`burnrate_sim::LimitRules`, sources there): input without cache reads where they do
    /// not count, output as the request's cap (at least what it bills); where the provider
    /// corrects the estimate at the end, the unused cap is refunded when the answer ends.
    pub fn rate_limit(&self, call: &Call, a: Admission) -> Result<Snapshot, ApiError> {
        let limits = self.limits(call);
        let rules = call.model.spec.limit_rules();
        let input = rules.counted_input(a.input, a.cache_read);
        let reserved = a.output_cap.max(a.output);
        if let (Shape::OpenAi, Some(tpm)) = (self.shape, limits.tpm)
            && input + reserved > tpm
        {
            return Err(self.too_large(call, tpm, input + reserved));
        }
        let snapshot = self
            .state
            .limiter
            .admit(
                self.key_label(),
                limit_pool(call),
                limits,
                input,
                reserved,
                true,
                self.limit_clock_now(),
            )
            .map_err(|r| self.rate_limit_error(call, &r))?;
        if rules.refunds_output {
            self.pending_refund
                .store(reserved - a.output, Ordering::Relaxed);
        }
        Ok(snapshot)
    }

    /// OpenAI's answer to a request larger than the whole TPM limit: no wait helps (quoted
    /// from the API, e.g. github.com/TheR1D/shell_gpt/issues/653). Anthropic documents no such
    /// answer: there such a request waits for a full bucket and goes into debt.
    fn too_large(&self, call: &Call, tpm: u64, requested: u64) -> ApiError {
        ApiError::new(
            self.shape,
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Request too large for {} in organization org-mock on tokens per min (TPM): Limit {tpm}, Requested {requested}. The input or output tokens must be reduced in order to run successfully. Visit https://platform.openai.com/account/rate-limits to learn more.",
                call.model.spec.id
            ),
        )
        .with_type("tokens", None)
        .with_code("rate_limit_exceeded")
    }

    /// The refund `rate_limit` left for the answer's `Outcome`, once.
    fn take_refund(&self, call: &Call) -> Option<Refund> {
        let tokens = self.pending_refund.swap(0, Ordering::Relaxed);
        (tokens > 0).then(|| Refund {
            key: self.key_label().to_string(),
            pool: limit_pool(call).to_string(),
            limits: self.limits(call),
            tokens,
            limit_clock_speedup: self.cfg.limit_clock_speedup,
        })
    }

    /// Now on the rate limits' clock (`limit_clock_speedup`).
    fn limit_clock_now(&self) -> Instant {
        self.state.limit_clock_now(self.cfg.limit_clock_speedup)
    }

    fn limits(&self, call: &Call) -> Limits {
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
                limit_pool(call),
                limits,
                0,
                0,
                false,
                self.limit_clock_now(),
            )
            .unwrap_or_default()
    }

    fn rate_limit_error(&self, call: &Call, r: &Refusal) -> ApiError {
        let wait_ms = r.wait.as_millis().max(1) as u64;
        let model = &call.model.spec.id;
        let err = match self.shape {
            Shape::OpenAi => {
                let (unit, ty) = match r.which {
                    Which::Requests => ("requests per min (RPM)", "requests"),
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
            // The delay goes into google.rpc.RetryInfo (error.rs) from retry-after-ms.
            Shape::Gemini => ApiError::new(
                self.shape,
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "You exceeded your current quota, please check your plan and billing details. Quota exceeded for metric: {} per minute, limit: {}, model: {model}. Please retry in {}s.",
                    r.which.as_str().replace('_', " "),
                    r.limit,
                    wait_ms.div_ceil(1000)
                ),
            ),
        };
        // `x-mock-rate-limited` names the limit that ran out, so `burnrate drive` can tell a
        // simulated limit (waited out, as the engine queues) from an injected 429 fault.
        let mut err = err
            .with_header("retry-after", &wait_ms.div_ceil(1000).max(1).to_string())
            .with_header("retry-after-ms", &wait_ms.to_string())
            .with_header("x-mock-rate-limited", r.which.as_str());
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
            // The Gemini API sends no rate-limit headers (limits are in AI Studio).
            Shape::Gemini => {}
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
                    Shape::Gemini => ApiError::new(
                        s,
                        StatusCode::TOO_MANY_REQUESTS,
                        "Resource has been exhausted (e.g. check quota).",
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
        let outcome = self.charge(
            call,
            Charge {
                status: StatusCode::GATEWAY_TIMEOUT.as_u16(),
                ..Charge::answered(
                    Tokens { output: 0, ..t },
                    Some(FaultKind::Timeout),
                    Delivery::live(stream),
                )
            },
        );
        self.recorded.store(true, Ordering::Relaxed);
        drop(outcome);
        ApiError::new(
            self.shape,
            StatusCode::GATEWAY_TIMEOUT,
            "Request timed out.",
        )
    }

    /// Prices a request's [`Charge`] with the catalog and records it in the ledger, once;
    /// returns the outcome whose drop writes the log line and the latency.
    pub fn charge(&self, call: &Call, charge: Charge) -> Outcome {
        let Charge {
            tokens: t,
            status,
            fault: kind,
            delivery,
            extra_pusd,
        } = charge;
        let stream = delivery == Delivery::Stream;
        let tier = if delivery == Delivery::Batch {
            ServiceTier::Batch
        } else {
            call.tier
        };
        let mut charged = price(&call.model, t, tier);
        charged.cost_pusd += extra_pusd;
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
            req: self.info(),
            model: call.model.spec.id.clone(),
            requested: self.model_name.get().cloned().unwrap_or_default(),
            status,
            kind,
            charged,
            stream,
            entry: call.model.clone(),
            tokens: t,
            refund: self.take_refund(call),
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

/// How an answer reached its client: it picks the price list (the batch API's) and how a cut
/// is billed (a stream's tokens sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Json,
    Stream,
    Batch,
}

impl Delivery {
    /// A live request's delivery.
    pub fn live(stream: bool) -> Delivery {
        if stream {
            Delivery::Stream
        } else {
            Delivery::Json
        }
    }
}

/// One request's bill, built once by its handler and charged by [`Req::charge`].
#[derive(Debug, Clone, Copy)]
pub struct Charge {
    pub tokens: Tokens,
    /// The HTTP status the request is recorded with.
    pub status: u16,
    /// A fault drawn for the request that still answers (malformed, cut streams, timeouts).
    pub fault: Option<FaultKind>,
    pub delivery: Delivery,
    /// pUSD that is not a token price (Gemini's explicit-cache storage, per token-hour).
    pub extra_pusd: u64,
}

impl Charge {
    /// An answered (200) request.
    pub fn answered(tokens: Tokens, fault: Option<FaultKind>, delivery: Delivery) -> Charge {
        Charge {
            tokens,
            status: 200,
            fault,
            delivery,
            extra_pusd: 0,
        }
    }
}

/// Exact cost of one request with the simulator's catalog: one bill for the whole request
/// (so the long-context threshold sees every input token, writes of each TTL included) at the
/// request's service tier (`Batch` for batch lines).
pub fn price(model: &ModelEntry, t: Tokens, tier: ServiceTier) -> Charged {
    let spec = &model.spec;
    let cost = spec.bill_writes(
        &TokenCounts {
            input: t.input,
            cache_write: 0,
            cache_read: t.cache_read,
            output: t.output,
        },
        &[
            (CacheTtl::FiveMinutes, t.cache_write_5m),
            (CacheTtl::ThirtyMinutes, t.cache_write_30m),
            (CacheTtl::OneHour, t.cache_write_1h),
            (CacheTtl::OneDay, t.cache_write_24h),
        ],
        &Billing {
            ttl: spec.default_ttl(),
            tier,
            uplift_permille: 1000,
        },
    );
    Charged {
        tokens: t,
        cost_pusd: cost.total(),
        batch: tier == ServiceTier::Batch,
        tier,
    }
}

/// A model call admitted past lookup and spend cap.
#[derive(Debug)]
pub struct Call {
    pub model: Arc<ModelEntry>,
    /// The service tier the request is billed at (set from `service_tier` once read).
    pub tier: ServiceTier,
    pub fault: Option<FaultKind>,
    pub forced_output: Option<u64>,
    /// `x-mock-reasoning-tokens`: the reasoning draw replaced (still 0 where the request asks
    /// for none, still capped by the thinking budget and the output limit).
    pub forced_reasoning: Option<u64>,
    /// `x-mock-tool-rounds`: the model's `tool_rounds` replaced for this request.
    pub forced_tool_rounds: Option<u64>,
    /// Latency multiplier from the requests in flight.
    pub slowdown: f64,
}

impl Call {
    /// A call that is no model run (a Gemini cache's storage): no faults or slowdown.
    pub fn plain(model: Arc<ModelEntry>) -> Call {
        Call {
            model,
            tier: ServiceTier::Standard,
            fault: None,
            forced_output: None,
            forced_reasoning: None,
            forced_tool_rounds: None,
            slowdown: 1.0,
        }
    }

    /// The call behind one batch line: batch lines see no faults, forced output or slowdown.
    pub fn batch(model: Arc<ModelEntry>) -> Call {
        Call {
            model,
            tier: ServiceTier::Batch,
            fault: None,
            forced_output: None,
            forced_reasoning: None,
            forced_tool_rounds: None,
            slowdown: 1.0,
        }
    }

    /// What the mock headers force on this call's reply.
    pub fn forced(&self) -> crate::plan::Forced {
        crate::plan::Forced {
            output: self.forced_output,
            reasoning: self.forced_reasoning,
            tool_rounds: self.forced_tool_rounds,
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
    /// What was priced, to re-price a stream the client cut.
    entry: Arc<ModelEntry>,
    tokens: Tokens,
    /// Given back to the rate limits when the answer ends (its last byte sent or dropped).
    refund: Option<Refund>,
}

impl Outcome {
    /// Re-prices the call with at most `delivered` output tokens (a stream the client left)
    /// and corrects the ledger; the log line written on drop shows what was billed.
    pub fn bill_cut(&mut self, delivered: u64) {
        if delivered >= self.tokens.output {
            return;
        }
        // Reasoning comes first in a reply: what was cut is visible output first.
        let tokens = Tokens {
            output: delivered,
            reasoning: self.tokens.reasoning.min(delivered),
            ..self.tokens
        };
        let billed = price(&self.entry, tokens, self.charged.tier);
        self.state
            .total_cost_pusd
            .fetch_sub(self.charged.cost_pusd - billed.cost_pusd, Ordering::Relaxed);
        self.state
            .ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .correct(&self.model, &self.req.key, &self.charged, &billed);
        self.charged = billed;
        self.tokens = tokens;
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        if let Some(r) = self.refund.take() {
            self.state.limiter.refund(
                &r.key,
                &r.pool,
                r.limits,
                r.tokens,
                r.clock_now(&self.state),
            );
        }
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
                &Answer {
                    model: &self.model,
                    requested: &self.requested,
                    status: self.status,
                    error: self.kind.map(FaultKind::as_str),
                    charged: &self.charged,
                    stream: self.stream,
                },
                latency,
            ));
        }
    }
}

/// Writes the log line of a request that has no [`Outcome`] (an error answer) and records
/// its latency.
pub fn write_log(state: &AppState, info: &ReqInfo, answer: &Answer) {
    let latency = info.started.elapsed();
    let mut log = state.log.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(log) = log.as_mut() {
        log.write(&log_line(info, answer, latency));
    }
    drop(log);
    state
        .ledger
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .observe_latency(answer.model, latency.as_secs_f64());
}

/// A duration from seconds, clamped to [0, 1 h] (latency draws and hangs).
pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 3600.0))
}

/// The `api` label of a route (request log and ledger), or `None` for routes whose errors are
/// not recorded (control endpoints, unknown routes).
fn api_of(route: Option<&str>) -> Option<&'static str> {
    Some(match route? {
        "/v1/chat/completions" => "chat.completions",
        "/v1/responses" => "responses",
        "/v1/embeddings" => "embeddings",
        "/v1/messages" => "messages",
        "/v1/messages/count_tokens" => "count_tokens",
        // Refined by the method in the path (`gemini_api_label`) in `track`.
        "/v1beta/models/{*rest}" => "generate_content",
        "/v1beta/cachedContents"
        | "/v1beta/cachedContents/{id}"
        | "/v1/cachedContents"
        | "/v1/cachedContents/{id}" => "cached_contents",
        "/v1/models" | "/v1/models/{id}" => "models",
        "/v1/files" | "/v1/files/{id}" | "/v1/files/{id}/content" => "files",
        "/v1/batches"
        | "/v1/batches/{id}"
        | "/v1/messages/batches"
        | "/v1/messages/batches/{id}"
        | "/v1/messages/batches/{id}/results" => "batches",
        _ => return None,
    })
}

/// The layer around every route: reads the request's identity once into a [`Req`] that
/// handlers take as `Extension<Arc<Req>>`, and on the way out records an error answer of a
/// provider endpoint in the ledger and the log, renders it with the request id, and puts
/// the request id on every response.
pub async fn track(State(st): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    // `/v1/models` answers in Anthropic's conventions when the client sends its version header.
    let shape =
        if path.starts_with("/v1/models") && request.headers().contains_key("anthropic-version") {
            Shape::Anthropic
        } else {
            Shape::from_path(path)
        };
    let api = api_of(
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let api = match api {
        Some("generate_content") => Some(gemini_api_label(path)),
        Some("models") if shape == Shape::Gemini => Some(gemini_api_label(path)),
        other => other,
    };
    let admin = path.starts_with("/_mock/");
    let req = Arc::new(Req::new(
        st,
        shape,
        api.unwrap_or("other"),
        request.headers(),
    ));
    let mut resp = if admin && !req.is_admin() {
        ApiError::unauthorized(shape).unrecorded().into_response()
    } else {
        request.extensions_mut().insert(req.clone());
        next.run(request).await
    };
    if let Some(err) = resp.extensions_mut().remove::<ApiError>() {
        if api.is_some() && err.record {
            req.record_failure(&err);
        }
        resp = err.render(&req.request_id);
    }
    req.base_headers(resp.headers_mut());
    resp
}

/// Bodies up to this size are tokenized on the async thread (well under a millisecond).
const INLINE_BYTES: usize = 64 * 1024;

/// Runs the CPU-heavy part of a request (tokenizing its prompt) off the async threads when the
/// body is large, within the configured time budget, so that big prompts cannot stall
/// `/healthz` or other requests. Past the budget the request gets a 400 in its provider's
/// shape; the work itself is linear in the body (see `tokens::MAX_RUN_BYTES`) and finishes
/// on the blocking pool.
pub async fn off_thread<T: Send + 'static>(
    req: &Req,
    body_bytes: usize,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    if body_bytes <= INLINE_BYTES {
        return Ok(work());
    }
    let budget = req.cfg.limits.tokenize_timeout;
    match tokio::time::timeout(budget, tokio::task::spawn_blocking(work)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ApiError::new(
            req.shape,
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("tokenizer failed: {e}"),
        )),
        Err(_) => Err(ApiError::bad_request(
            req.shape,
            format!(
                "The prompt could not be tokenized within {} s (limits.tokenize_timeout_s).",
                budget.as_secs_f64()
            ),
        )),
    }
}

/// A key as the mock shows it anywhere (ledger, log, buckets, `GET /_mock/config`): never the
/// key itself. Keys of 12 characters or more show their first 3 and last 4 (`sk-…a1b2`, as
/// providers' dashboards do); shorter ones a hash (`key-1a2b3c4d`); no key is `(none)`.
pub fn redact_key(key: &str) -> String {
    let n = key.chars().count();
    if n == 0 {
        "(none)".to_string()
    } else if n >= 12 {
        let head: String = key.chars().take(3).collect();
        let tail: String = key.chars().skip(n - 4).collect();
        format!("{head}…{tail}")
    } else {
        format!("key-{:08x}", hash_str(0x006b_6579, key) as u32)
    }
}

/// A string field over its length limit, in the provider's wording.
fn too_long(
    shape: Shape,
    what: &str,
    param: Option<&'static str>,
    max: usize,
    len: usize,
) -> ApiError {
    let msg = match shape {
        Shape::OpenAi | Shape::Gemini => format!(
            "Invalid '{what}': string too long. Expected a string with maximum length {max}, but got a string with length {len} instead."
        ),
        Shape::Anthropic => format!("{what}: String should have at most {max} characters"),
    };
    let err = ApiError::bad_request(shape, msg).with_code("string_above_max_length");
    match param {
        Some(p) => err.with_param(p),
        None => err,
    }
}

/// The request log's `api` label of a Gemini path (`/v1beta/models/m:method`).
fn gemini_api_label(path: &str) -> &'static str {
    match path.rsplit(':').next().unwrap_or("") {
        "generateContent" => "generate_content",
        "streamGenerateContent" => "stream_generate_content",
        "countTokens" => "count_tokens",
        "embedContent" | "batchEmbedContents" => "embeddings",
        _ => "other",
    }
}
