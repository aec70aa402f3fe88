//! One HTTP call in either provider's wire format: the request body (OpenAI chat completions or
//! Anthropic messages, with the prefix as a cacheable system block), the reply classified the
//! way the agent reacts to it, and the usage it reports.

use crate::prompt::{prefix_text, words};
use burnrate_sim::{CacheTtl, ModelSpec, Provider, ServiceTier, TokenCounts};
use rand_pcg::Pcg64Mcg;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest body read from a response.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Tokens of chat-format overhead (tiktoken's rule: 3 per message + the role, 3 priming).
const OPENAI_MESSAGE_OVERHEAD: u64 = 4;
const OPENAI_REPLY_PRIMING: u64 = 3;
/// Anthropic: the mock's approximation charges 3 tokens per message, none for `system`.
const ANTHROPIC_MESSAGE_OVERHEAD: u64 = 3;
/// Most request-log lines kept in memory.
const MAX_LOG_LINES: usize = 50_000_000;

/// What one attempt came back with.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// 2xx with readable usage.
    Ok {
        tokens: TokenCounts,
        cache_write_1h: u64,
        output: u64,
    },
    /// 2xx whose body could not be read (no usage): a content failure.
    Malformed,
    /// 429.
    RateLimit,
    /// 429 from one of the mock's simulated limits (`x-mock-rate-limited`): waited out for
    /// its `retry-after-ms` (scenario seconds on the mock's `limit_clock_speedup` clock), as
    /// the engine queues a call at a full bucket; not a failed attempt.
    LimitWait { wait_s: f64 },
    /// 500, 502, 503, 529, connection errors.
    ServerError,
    /// 504, 408 or no answer within the step's timeout.
    Timeout,
    /// Any other status: not retried.
    Fatal(u16, String),
}

impl Reply {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Reply::Ok { .. } => "ok",
            Reply::Malformed => "malformed",
            Reply::RateLimit => "rate_limit",
            // Only when a call ran out of waits: then it fails as a 429.
            Reply::LimitWait { .. } => "rate_limit",
            Reply::ServerError => "server_error",
            Reply::Timeout => "timeout",
            Reply::Fatal(..) => "client_error",
        }
    }
}

pub(crate) struct CallSpec<'a> {
    pub(crate) model: &'a ModelSpec,
    /// The step's service tier, sent as OpenAI's `service_tier` (flex, priority).
    pub(crate) tier: ServiceTier,
    pub(crate) step: &'a str,
    pub(crate) line: usize,
    pub(crate) prefix_tokens: u64,
    pub(crate) body_tokens: u64,
    pub(crate) output_tokens: u64,
    pub(crate) max_tokens: u64,
    pub(crate) cache: Option<CacheTtl>,
    pub(crate) retry_count: u32,
    pub(crate) timeout: Duration,
    pub(crate) task: u64,
}

/// The wait a 429 of the mock's simulated limits asks for, in seconds: `retry-after-ms`
/// (else `retry-after`) when `x-mock-rate-limited` names a limit; `None` for any other 429.
fn limit_wait_s(h: &reqwest::header::HeaderMap) -> Option<f64> {
    h.get("x-mock-rate-limited")?;
    let read = |name: &str| h.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
    let wait_s = read("retry-after-ms")
        .map(|ms| ms / 1000.0)
        .or_else(|| read("retry-after"))?;
    (wait_s.is_finite() && wait_s >= 0.0).then_some(wait_s)
}

/// The usage of a 2xx answer, read by the parser `burnrate calibrate` also uses
/// (`burnrate_sim::parse_usage`, one place that knows every provider's fields).
fn parse_usage(body: &Value) -> Option<(TokenCounts, u64, u64)> {
    let u = burnrate_sim::parse_usage(body.get("usage")?.as_object()?).ok()?;
    Some((u.tokens, u.cache_write_1h, u.tokens.output))
}

/// The HTTP side of a run: the client, the endpoint, the prompt prefixes, the request log.
pub(crate) struct Wire {
    pub endpoint: String,
    pub api_key: Option<String>,
    pub client: reqwest::Client,
    pub prefixes: Mutex<HashMap<(usize, u64), Arc<String>>>,
    /// Keep one JSONL line per attempt in `log_lines`.
    pub log: bool,
    pub log_lines: Mutex<Vec<String>>,
    /// Attempts that got no HTTP answer at all, since the last one that did / in total.
    pub no_answer_in_a_row: AtomicU64,
    pub no_answer_total: AtomicU64,
}

impl Wire {
    pub(crate) async fn call(&self, spec: &CallSpec<'_>, rng: &mut Pcg64Mcg) -> (Reply, Duration) {
        let provider = spec.model.provider;
        let key = self.api_key.clone().or_else(|| {
            let var = if provider == Provider::Anthropic {
                "ANTHROPIC_API_KEY"
            } else {
                "OPENAI_API_KEY"
            };
            std::env::var(var).ok()
        });
        let total = spec.prefix_tokens + spec.body_tokens;
        let (url, body) = if provider == Provider::Anthropic {
            let user_n = total
                .saturating_sub(spec.prefix_tokens + ANTHROPIC_MESSAGE_OVERHEAD)
                .max(1);
            let user = words(rng, user_n);
            let mut req = json!({
                "model": spec.model.id,
                "max_tokens": spec.max_tokens.max(1),
                "messages": [{"role": "user", "content": user}],
            });
            if spec.prefix_tokens > 0 {
                let text = prefix_text(&self.prefixes, spec.line, spec.prefix_tokens);
                let mut block = json!({"type": "text", "text": *text});
                if let Some(ttl) = spec.cache {
                    block["cache_control"] = match ttl {
                        CacheTtl::FiveMinutes => json!({"type": "ephemeral"}),
                        // Validation lets only Anthropic's TTLs (5m, 1h) reach here.
                        ttl => json!({"type": "ephemeral", "ttl": ttl.as_str()}),
                    };
                }
                req["system"] = json!([block]);
            }
            (format!("{}/v1/messages", self.endpoint), req)
        } else {
            let mut messages = Vec::new();
            let mut used = OPENAI_REPLY_PRIMING;
            if spec.prefix_tokens > OPENAI_MESSAGE_OVERHEAD {
                let n = spec.prefix_tokens - OPENAI_MESSAGE_OVERHEAD;
                let text = prefix_text(&self.prefixes, spec.line, n);
                messages.push(json!({"role": "system", "content": *text}));
                used += spec.prefix_tokens;
            }
            let user_n = total.saturating_sub(used + OPENAI_MESSAGE_OVERHEAD).max(1);
            messages.push(json!({"role": "user", "content": words(rng, user_n)}));
            let mut req = json!({
                "model": spec.model.id,
                "max_tokens": spec.max_tokens.max(1),
                "messages": messages,
            });
            match spec.tier {
                ServiceTier::Flex => req["service_tier"] = json!("flex"),
                ServiceTier::Priority => req["service_tier"] = json!("priority"),
                _ => {}
            }
            (format!("{}/v1/chat/completions", self.endpoint), req)
        };
        let mut rb = self
            .client
            .post(&url)
            .timeout(spec.timeout)
            .header("x-mock-output-tokens", spec.output_tokens.to_string())
            // Drive does not draw reasoning tokens: the mock must not invent any.
            .header("x-mock-reasoning-tokens", "0")
            .header("x-mock-step", spec.step)
            .header("x-mock-task", spec.task.to_string())
            .header("x-stainless-retry-count", spec.retry_count.to_string())
            .json(&body);
        if provider == Provider::Anthropic {
            rb = rb.header("anthropic-version", "2023-06-01");
            if let Some(k) = &key {
                rb = rb.header("x-api-key", k);
            }
        } else if let Some(k) = &key {
            rb = rb.bearer_auth(k);
        }
        let started = Instant::now();
        let reply = match rb.send().await {
            Err(e) if e.is_timeout() => Reply::Timeout,
            Err(_) => {
                // No answer at all (refused, reset): retried like a 5xx, and counted so a dead
                // endpoint is noticed (see `run::drive_all`).
                self.no_answer_in_a_row.fetch_add(1, Ordering::Relaxed);
                self.no_answer_total.fetch_add(1, Ordering::Relaxed);
                Reply::ServerError
            }
            Ok(resp) => {
                self.no_answer_in_a_row.store(0, Ordering::Relaxed);
                let status = resp.status().as_u16();
                let limit_wait_s = limit_wait_s(resp.headers());
                let bytes = read_limited(resp).await;
                match (status, bytes) {
                    (200..=299, Ok(b)) => match serde_json::from_slice::<Value>(&b)
                        .ok()
                        .and_then(|v| parse_usage(&v))
                    {
                        Some((tokens, w1h, output)) => Reply::Ok {
                            tokens,
                            cache_write_1h: w1h,
                            output,
                        },
                        None => Reply::Malformed,
                    },
                    (200..=299, Err(_)) => Reply::Malformed,
                    (429, _) => match limit_wait_s {
                        Some(wait_s) => Reply::LimitWait { wait_s },
                        None => Reply::RateLimit,
                    },
                    (504 | 408, _) => Reply::Timeout,
                    (500..=599, _) => Reply::ServerError,
                    (s, b) => {
                        let text = b
                            .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned())
                            .unwrap_or_default();
                        Reply::Fatal(s, text)
                    }
                }
            }
        };
        let elapsed = started.elapsed();
        if self.log {
            let usage = match &reply {
                Reply::Ok { tokens, .. } => json!({
                    "input_tokens": tokens.input,
                    "cache_creation_input_tokens": tokens.cache_write,
                    "cache_read_input_tokens": tokens.cache_read,
                    "output_tokens": tokens.output,
                }),
                _ => Value::Null,
            };
            let status = match &reply {
                Reply::Ok { .. } | Reply::Malformed => 200,
                Reply::RateLimit | Reply::LimitWait { .. } => 429,
                Reply::ServerError => 500,
                Reply::Timeout => 504,
                Reply::Fatal(s, _) => *s,
            };
            let line = json!({
                "task": spec.task, "step": spec.step, "model": spec.model.id, "status": status,
                "error": if matches!(reply, Reply::Ok { .. }) { Value::Null } else { json!(reply.kind()) },
                "retry_count": spec.retry_count, "usage": usage,
            });
            let mut out = self.log_lines.lock().unwrap_or_else(|e| e.into_inner());
            if out.len() < MAX_LOG_LINES {
                out.push(line.to_string());
            }
        }
        (reply, elapsed)
    }
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if out.len() + c.len() > MAX_BODY_BYTES {
                    return Err(());
                }
                out.extend_from_slice(&c);
            }
            Ok(None) => return Ok(out),
            Err(_) => return Err(()),
        }
    }
}
