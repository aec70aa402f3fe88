//! `burnrate drive`: play a scenario's agent as a real HTTP client against an OpenAI- or
//! Anthropic-compatible endpoint (the mock, or a real provider) and compare what it measured
//! with what the simulator predicts.
//!
//! The agent follows the engine's policies (sim/src/engine.rs): task kinds by share, a stuck
//! share that loops on its last step, routing (classifier call, tier, quality check,
//! escalation), steps in order with drawn repeat counts, fresh or accumulated context, tool
//! results (optionally summarized by a cheap model), budgets checked before every attempt, a
//! per-model circuit breaker, content retries that append the failed output and an error
//! message, transport retries after exponential backoff with jitter.
//!
//! What comes from where:
//! - 429 / 5xx / 504 / client timeouts / unreadable bodies come from the endpoint (configure
//!   the mock with the scenario's rates); drive only reacts to them.
//! - Tool errors are the agent's own tools failing: drive draws them, conditional on a
//!   successful response, with probability `tool_error / P(success)` so the unconditional rate
//!   is the scenario's when the endpoint fails at the scenario's rates.
//! - Cost is counted only from the `usage` each response returns (OpenAI `prompt_tokens` and
//!   `cached_tokens`; Anthropic `input_tokens`, `cache_creation_input_tokens` with its 5m/1h
//!   split, `cache_read_input_tokens`), priced with the catalog. A response whose body cannot
//!   be read (malformed) and a timeout (504, 408 or no answer) carry no usage, though a
//!   provider bills both (the engine bills malformed output in full and a timeout's input, and
//!   so does the mock): they are counted in `unpriced_calls`, and the measured cost is then a
//!   lower bound; against the mock, `endpoint_ledger` has what it billed.
//!
//! Prompts are real text whose token count matches the draw: words that are exactly one
//! o200k_base token each (checked with tiktoken-rs). The static prefix is the same text on
//! every call of a step (so caching can work); the fresh input is new words per attempt, so
//! only the prefix can be cached, as the simulator assumes.

use crate::cmd::simulate::load_scenario;
use crate::{CliError, CliResult};
use anyhow::{Context, anyhow};
use burnrate_sim::{
    CacheTtl, ContextMode, ModelSpec, Provider, RunOptions, Scenario, SimResult, StepModel,
    TokenCounts, ceilings, pusd_to_usd,
};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Most tasks one run may drive.
const MAX_TASKS: u64 = 1_000_000;
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most concurrent tasks.
const MAX_CONCURRENCY: usize = 10_000;
/// Longest body read from a response.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Tokens of chat-format overhead (tiktoken's rule: 3 per message + the role, 3 priming).
const OPENAI_MESSAGE_OVERHEAD: u64 = 4;
const OPENAI_REPLY_PRIMING: u64 = 3;
/// Anthropic: the mock's approximation charges 3 tokens per message, none for `system`.
const ANTHROPIC_MESSAGE_OVERHEAD: u64 = 3;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Base URL of the endpoint, e.g. http://127.0.0.1:8080 (no trailing /v1).
    #[arg(long)]
    pub endpoint: String,
    /// API key for every model (default: OPENAI_API_KEY / ANTHROPIC_API_KEY by provider).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Number of tasks to drive.
    #[arg(long, conflicts_with = "duration")]
    pub tasks: Option<u64>,
    /// Drive for this many real seconds of arrivals instead of a task count.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Time compression of arrivals, backoffs and breaker cooldowns (scenario seconds per
    /// real second).
    #[arg(long, default_value_t = 1.0)]
    pub speedup: f64,
    /// Tasks in flight at most; later arrivals wait for a slot (reported as `queued_tasks`).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seed of every draw (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replicas of one simulated day for the prediction. The per-task cost sd is estimated
    /// from their spread with relative error about 1/sqrt(2 (R - 1)): 3.5% at 400.
    #[arg(long, default_value_t = 400)]
    pub predict_replicas: u32,
    /// Also write one JSONL line per attempt (task, step, model, status, usage) for `calibrate`.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// No progress line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Md,
}

// ----- prompt text -----

const WORDS: &[&str] = &[
    "the", "cost", "of", "an", "agent", "is", "not", "price", "per", "token", "but", "how", "many",
    "calls", "it", "makes", "and", "what", "each", "call", "model", "cache", "budget", "retry",
    "request", "data", "time", "system", "tool", "result", "answer", "user", "support", "team",
    "day", "month", "plan", "search", "report", "value", "risk", "rate", "limit", "context",
    "prompt", "output", "input", "step", "task", "work", "first", "then", "more", "less", "with",
    "from", "into", "over", "under", "after", "before", "every", "some", "this", "that", "which",
    "when", "where", "there", "here", "can", "will", "should", "would", "could", "must", "also",
    "only", "just", "very", "well", "good", "new", "old", "high", "low", "long", "short", "fast",
    "slow", "small", "large", "simple", "clear", "real", "true",
];

/// Words that are exactly one o200k_base token with a leading space, so `n` of them joined by
/// spaces are `n` tokens (the pre-tokenizer splits at each space-letter boundary).
fn vocabulary() -> &'static [String] {
    static V: OnceLock<Vec<String>> = OnceLock::new();
    V.get_or_init(|| {
        let bpe = tiktoken_rs::o200k_base_singleton();
        let mut v: Vec<String> = WORDS
            .iter()
            .map(|w| format!(" {w}"))
            .filter(|w| bpe.encode_ordinary(w).len() == 1)
            .collect();
        v.dedup();
        if v.is_empty() {
            v.push(" the".to_string());
        }
        v
    })
}

/// `n` tokens of text drawn from `rng`.
fn words<R: Rng>(rng: &mut R, n: u64) -> String {
    let vocab = vocabulary();
    let mut s = String::with_capacity(n as usize * 7);
    for _ in 0..n {
        s.push_str(&vocab[rng.random_range(0..vocab.len())]);
    }
    s
}

/// The static prefix of a step line: the same `n`-token text on every call.
fn prefix_text(
    cache: &Mutex<HashMap<(usize, u64), Arc<String>>>,
    line: usize,
    n: u64,
) -> Arc<String> {
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = map.get(&(line, n)) {
        return s.clone();
    }
    let mut rng =
        Pcg64Mcg::seed_from_u64(0x7072_6566_6978 ^ (line as u64).wrapping_mul(0x9E37_79B9));
    let text = Arc::new(words(&mut rng, n));
    if map.len() < 10_000 {
        map.insert((line, n), text.clone());
    }
    text
}

// ----- one HTTP call -----

/// What one attempt came back with.
#[derive(Debug, Clone)]
enum Reply {
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
    /// 500, 502, 503, 529, connection errors.
    ServerError,
    /// 504, 408 or no answer within the step's timeout.
    Timeout,
    /// Any other status: not retried.
    Fatal(u16, String),
}

impl Reply {
    fn kind(&self) -> &'static str {
        match self {
            Reply::Ok { .. } => "ok",
            Reply::Malformed => "malformed",
            Reply::RateLimit => "rate_limit",
            Reply::ServerError => "server_error",
            Reply::Timeout => "timeout",
            Reply::Fatal(..) => "client_error",
        }
    }
}

struct CallSpec<'a> {
    model: &'a ModelSpec,
    step: &'a str,
    line: usize,
    prefix_tokens: u64,
    body_tokens: u64,
    output_tokens: u64,
    max_tokens: u64,
    cache: Option<CacheTtl>,
    retry_count: u32,
    timeout: Duration,
    task: u64,
}

fn parse_usage(provider: Provider, body: &Value) -> Option<(TokenCounts, u64, u64)> {
    let u = body.get("usage")?;
    let n = |v: Option<&Value>| v.and_then(Value::as_u64);
    match provider {
        Provider::Anthropic => {
            let input = n(u.get("input_tokens"))?;
            let write = n(u.get("cache_creation_input_tokens")).unwrap_or(0);
            let read = n(u.get("cache_read_input_tokens")).unwrap_or(0);
            let output = n(u.get("output_tokens"))?;
            let w1h = n(u
                .get("cache_creation")
                .and_then(|c| c.get("ephemeral_1h_input_tokens")));
            let w1h = w1h.unwrap_or(0).min(write);
            Some((
                TokenCounts {
                    input,
                    cache_write: write,
                    cache_read: read,
                    output,
                },
                w1h,
                output,
            ))
        }
        _ => {
            let prompt = n(u.get("prompt_tokens"))?;
            let cached = n(u
                .get("prompt_tokens_details")
                .and_then(|d| d.get("cached_tokens")))
            .unwrap_or(0);
            let output = n(u.get("completion_tokens"))?;
            let cached = cached.min(prompt);
            Some((
                TokenCounts {
                    input: prompt - cached,
                    cache_write: 0,
                    cache_read: cached,
                    output,
                },
                0,
                output,
            ))
        }
    }
}

impl Ctx {
    async fn call(&self, spec: &CallSpec<'_>, rng: &mut Pcg64Mcg) -> (Reply, Duration) {
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
            let req = json!({
                "model": spec.model.id,
                "max_tokens": spec.max_tokens.max(1),
                "messages": messages,
            });
            (format!("{}/v1/chat/completions", self.endpoint), req)
        };
        let mut rb = self
            .client
            .post(&url)
            .timeout(spec.timeout)
            .header("x-mock-output-tokens", spec.output_tokens.to_string())
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
            Err(_) => Reply::ServerError,
            Ok(resp) => {
                let status = resp.status().as_u16();
                let bytes = read_limited(resp).await;
                match (status, bytes) {
                    (200..=299, Ok(b)) => match serde_json::from_slice::<Value>(&b)
                        .ok()
                        .and_then(|v| parse_usage(provider, &v))
                    {
                        Some((tokens, w1h, output)) => Reply::Ok {
                            tokens,
                            cache_write_1h: w1h,
                            output,
                        },
                        None => Reply::Malformed,
                    },
                    (200..=299, Err(_)) => Reply::Malformed,
                    (429, _) => Reply::RateLimit,
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
        if self.log.is_some() {
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
                Reply::RateLimit => 429,
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
            if out.len() < 50_000_000 {
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

// ----- the agent -----

struct Ctx {
    sc: Scenario,
    endpoint: String,
    api_key: Option<String>,
    client: reqwest::Client,
    speedup: f64,
    prefixes: Mutex<HashMap<(usize, u64), Arc<String>>>,
    breakers: Mutex<Vec<(u32, Option<Instant>)>>,
    day_spend: Mutex<BTreeMap<u64, u128>>,
    log: Option<PathBuf>,
    log_lines: Mutex<Vec<String>>,
    /// Per step line names: steps, then "router", then "summarize".
    lines: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    None,
    Cheap,
    Strong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Succeeded,
    Failed,
    Partial,
    Prefiltered,
    Rejected,
}

/// What one task did.
#[derive(Debug, Default, Clone)]
struct TaskRecord {
    end: Option<End>,
    cost_pusd: u128,
    tokens: u64,
    calls: u64,
    retries: u64,
    cost_by_line: BTreeMap<usize, u128>,
    errors: BTreeMap<&'static str, u64>,
    cache_lookups: u64,
    cache_hits: u64,
    unpriced: u64,
    /// Call time (real) plus backoff waits (scenario seconds).
    latency_s: f64,
    fatal: Option<String>,
}

struct Task {
    kind: usize,
    day: u64,
    index: u64,
    tier: Tier,
    easy: bool,
    escalated: bool,
    first_routed: Option<usize>,
    context: u64,
    rec: TaskRecord,
}

enum CallKind {
    Step(usize),
    Router,
    Summarize(usize),
}

/// How a call ended for the task.
enum CallEnd {
    /// Output tokens of the successful attempt.
    Ok(u64),
    GaveUp {
        breaker: bool,
    },
    Stop,
}

impl Ctx {
    fn must_stop(&self, t: &Task) -> bool {
        let l = &self.sc.limits;
        l.max_tokens_per_task.is_some_and(|m| t.rec.tokens >= m)
            || l.max_pusd_per_task
                .is_some_and(|m| t.rec.cost_pusd >= u128::from(m))
            || l.daily_cap_pusd.is_some_and(|cap| {
                self.day_spend
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&t.day)
                    .copied()
                    .unwrap_or(0)
                    >= u128::from(cap)
            })
            || t.rec.calls >= u64::from(ceilings::MAX_CALLS_PER_TASK)
    }

    fn model_for(&self, tier: Tier, step: usize) -> usize {
        self.sc.step_model(step, tier == Tier::Strong)
    }

    /// Plays one call with its retries. Returns how it ended.
    #[allow(clippy::too_many_arguments)]
    async fn play_call(
        &self,
        t: &mut Task,
        rng: &mut Pcg64Mcg,
        kind: CallKind,
        model: usize,
        prefix: u64,
        mut body: u64,
    ) -> CallEnd {
        let sc = &self.sc;
        let spec = &sc.models[model];
        let (line, failures, cacheable, step_name) = match kind {
            CallKind::Step(s) => (
                s,
                sc.steps[s].failures,
                sc.steps[s].cache,
                sc.steps[s].name.as_str(),
            ),
            CallKind::Router => (
                sc.steps.len(),
                burnrate_sim::FailureRates::default(),
                true,
                "router",
            ),
            CallKind::Summarize(_) => (
                sc.steps.len() + 1,
                burnrate_sim::FailureRates::default(),
                false,
                "summarize",
            ),
        };
        let cache = (sc.caching.enabled && cacheable)
            .then(|| sc.cache_ttl((line < sc.steps.len()).then_some(line), model));
        let max_retries = sc.limits.max_retries.min(ceilings::MAX_RETRIES_PER_CALL);
        let timeout_s = if failures.timeout_s > 0.0 {
            failures.timeout_s
        } else {
            60.0
        };
        let p_ok = (1.0
            - failures.malformed
            - failures.rate_limit
            - failures.server_error
            - failures.timeout)
            .max(1e-9);
        let tool_error_given_ok = (failures.tool_error / p_ok).min(1.0);
        let scale = sc.traffic.kinds[t.kind].token_scale;
        let mut attempt = 0u32;
        let mut content_retries = 0usize;
        loop {
            if self.must_stop(t) {
                return CallEnd::Stop;
            }
            {
                let br = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
                if br[model].1.is_some_and(|until| until > Instant::now()) {
                    drop(br);
                    *t.rec.errors.entry("breaker_open").or_default() += 1;
                    return CallEnd::GaveUp { breaker: true };
                }
            }
            let output = match kind {
                CallKind::Step(s) => {
                    let step = &sc.steps[s];
                    let o = (step.output_tokens.sample(rng) * scale).round() as u64;
                    (o, step.max_tokens.unwrap_or(o.max(1)))
                }
                CallKind::Router => {
                    let r = sc.routing.as_ref().expect("router calls need routing");
                    let o = r.classifier_output_tokens.sample_count(rng);
                    (o, o.max(1))
                }
                CallKind::Summarize(s) => {
                    let sm = sc.steps[s]
                        .summarize
                        .as_ref()
                        .expect("summarize calls need it");
                    let o = sm.output_tokens.sample_count(rng);
                    (o, o.max(1))
                }
            };
            let cs = CallSpec {
                model: spec,
                step: step_name,
                line,
                prefix_tokens: prefix,
                body_tokens: body,
                output_tokens: output.0,
                max_tokens: output.1,
                cache,
                retry_count: attempt,
                timeout: Duration::from_secs_f64(timeout_s.clamp(0.001, 3600.0)),
                task: t.index,
            };
            let (reply, elapsed) = self.call(&cs, rng).await;
            t.rec.calls += 1;
            t.rec.latency_s += elapsed.as_secs_f64();
            if attempt > 0 {
                t.rec.retries += 1;
            }
            let mut out_tokens = 0;
            let mut failed_kind: Option<&'static str> = None;
            let mut content = false;
            match &reply {
                Reply::Ok {
                    tokens,
                    cache_write_1h,
                    output,
                } => {
                    let c5 = TokenCounts {
                        cache_write: tokens.cache_write - cache_write_1h,
                        ..*tokens
                    };
                    let ttl = if spec.provider == Provider::Anthropic {
                        CacheTtl::FiveMinutes
                    } else {
                        sc.caching.ttl
                    };
                    let mut cost = u128::from(spec.cost_pusd(&c5, ttl, false).total());
                    if *cache_write_1h > 0 {
                        let w = TokenCounts {
                            cache_write: *cache_write_1h,
                            ..TokenCounts::default()
                        };
                        cost += u128::from(spec.cost_pusd(&w, CacheTtl::OneHour, false).total());
                    }
                    t.rec.cost_pusd += cost;
                    *t.rec.cost_by_line.entry(line).or_default() += cost;
                    *self
                        .day_spend
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(t.day)
                        .or_default() += cost;
                    t.rec.tokens += tokens.total_input() + tokens.output;
                    if cache.is_some() && spec.cacheable_tokens(prefix) > 0 {
                        t.rec.cache_lookups += 1;
                        if tokens.cache_read > 0 {
                            t.rec.cache_hits += 1;
                        }
                    }
                    out_tokens = *output;
                    if matches!(kind, CallKind::Step(_))
                        && rng.random::<f64>() < tool_error_given_ok
                    {
                        failed_kind = Some("tool_error");
                        content = true;
                    }
                }
                Reply::Malformed => {
                    t.rec.unpriced += 1;
                    out_tokens = output.0.min(output.1);
                    failed_kind = Some("malformed");
                    content = true;
                }
                Reply::Fatal(status, text) => {
                    *t.rec.errors.entry("client_error").or_default() += 1;
                    if t.rec.fatal.is_none() {
                        t.rec.fatal = Some(format!("HTTP {status}: {text}"));
                    }
                    return CallEnd::GaveUp { breaker: false };
                }
                Reply::Timeout => {
                    t.rec.unpriced += 1;
                    failed_kind = Some("timeout");
                }
                other => failed_kind = Some(other.kind()),
            }
            if let Some(b) = &sc.limits.breaker {
                let mut br = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
                let state = &mut br[model];
                if failed_kind.is_some() {
                    // Half-open like the engine's: the count is kept while open, so one failed
                    // probe after the cooldown opens the breaker again.
                    state.0 = state.0.saturating_add(1);
                    if state.0 >= b.consecutive_failures {
                        state.1 = Some(
                            Instant::now()
                                + Duration::from_secs_f64(
                                    (b.cooldown_s / self.speedup).min(86_400.0),
                                ),
                        );
                    }
                } else {
                    state.0 = 0;
                }
            }
            let Some(kind_name) = failed_kind else {
                return CallEnd::Ok(out_tokens);
            };
            *t.rec.errors.entry(kind_name).or_default() += 1;
            if attempt >= max_retries {
                return CallEnd::GaveUp { breaker: false };
            }
            if content {
                // Retry with the failed attempt and the error appended: the context grows.
                let growth = match &kind {
                    CallKind::Step(s) => {
                        let step = &sc.steps[*s];
                        match &step.retry_growth_tokens {
                            Some(list) => list[content_retries.min(list.len() - 1)],
                            None => out_tokens + step.error_tokens.sample_count(rng),
                        }
                    }
                    _ => 0,
                };
                content_retries += 1;
                body = (body + growth).min(ceilings::MAX_CONTEXT_TOKENS);
            } else {
                let l = &sc.limits;
                let exp = l.backoff_base_s * 2f64.powi(attempt.min(30) as i32);
                let wait_s = exp.min(l.backoff_max_s) * (1.0 - l.jitter * rng.random::<f64>());
                t.rec.latency_s += wait_s;
                tokio::time::sleep(Duration::from_secs_f64(
                    (wait_s / self.speedup).clamp(0.0, 3600.0),
                ))
                .await;
            }
            attempt += 1;
        }
    }

    /// Plays a whole task, like the engine: router, steps with repeats, escalation, stuck loop.
    async fn play_task(&self, index: u64, day: u64, seed: u64) -> TaskRecord {
        let sc = &self.sc;
        let mut rng = Pcg64Mcg::seed_from_u64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut rec = TaskRecord::default();
        if sc.batching.prefilter_share > 0.0 && rng.random::<f64>() < sc.batching.prefilter_share {
            rec.end = Some(End::Prefiltered);
            return rec;
        }
        if let Some(cap) = sc.limits.daily_cap_pusd
            && self
                .day_spend
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&day)
                .copied()
                .unwrap_or(0)
                >= u128::from(cap)
        {
            rec.end = Some(End::Rejected);
            return rec;
        }
        let kinds = &sc.traffic.kinds;
        let kind = if kinds.len() == 1 {
            0
        } else {
            let u: f64 = rng.random();
            let mut acc = 0.0;
            kinds
                .iter()
                .position(|k| {
                    acc += k.share;
                    u < acc
                })
                .unwrap_or(kinds.len() - 1)
        };
        let mut stuck_calls = match &sc.stuck {
            Some(s) if rng.random::<f64>() < s.probability => s.extra_calls.sample_count(&mut rng),
            _ => 0,
        };
        let steps = kinds[kind].steps.clone();
        let first_routed = steps
            .iter()
            .position(|&s| sc.steps[s].model == StepModel::Routed);
        let mut t = Task {
            kind,
            day,
            index,
            tier: Tier::None,
            easy: false,
            escalated: false,
            first_routed,
            context: 0,
            rec,
        };
        let end = 'task: {
            if first_routed.is_some()
                && let Some(r) = &sc.routing
            {
                let prefix = r.classifier_prefix_tokens.sample_count(&mut rng);
                let body = r.classifier_input_tokens.sample_count(&mut rng);
                match self
                    .play_call(
                        &mut t,
                        &mut rng,
                        CallKind::Router,
                        r.classifier_model,
                        prefix,
                        body,
                    )
                    .await
                {
                    CallEnd::Ok(_) => {}
                    CallEnd::Stop => break 'task End::Partial,
                    CallEnd::GaveUp { .. } => break 'task End::Failed,
                }
                t.easy = rng.random::<f64>() < r.easy_share;
                let misrouted = rng.random::<f64>() < r.misroute_rate;
                t.tier = if t.easy != misrouted {
                    Tier::Cheap
                } else {
                    Tier::Strong
                };
            }
            let mut cursor = 0usize;
            // Bounded: each pass issues at least one call or moves the cursor; calls are capped
            // per task by `must_stop`, escalation happens at most once.
            loop {
                if cursor >= steps.len() {
                    if let (Some(r), Some(_)) = (&sc.routing, t.first_routed)
                        && t.tier == Tier::Cheap
                        && !t.escalated
                    {
                        let pass_rate = if t.easy {
                            r.cheap_resolution_rate
                        } else {
                            r.hard_on_cheap_pass_rate
                        };
                        let passed = rng.random::<f64>() < pass_rate;
                        let just_in_case = passed && rng.random::<f64>() < r.fallback_rate;
                        if !passed || just_in_case {
                            t.tier = Tier::Strong;
                            t.escalated = true;
                            cursor = t.first_routed.unwrap_or(0);
                            continue;
                        }
                    }
                    if stuck_calls > 0
                        && let Some(&last) = steps.last()
                    {
                        stuck_calls -= 1;
                        match self.step_call(&mut t, &mut rng, last, true).await {
                            Ok(()) => continue,
                            Err(e) => break 'task e,
                        }
                    }
                    break 'task End::Succeeded;
                }
                let s = steps[cursor];
                let reps = sc.steps[s]
                    .repeat
                    .sample_count(&mut rng)
                    .min(ceilings::MAX_REPEAT);
                let mut escalated_now = false;
                for _ in 0..reps {
                    match self.step_call(&mut t, &mut rng, s, false).await {
                        Ok(()) => {}
                        Err(End::Failed) if self.can_escalate(&t, s) => {
                            t.tier = Tier::Strong;
                            t.escalated = true;
                            cursor = t.first_routed.unwrap_or(0);
                            escalated_now = true;
                            break;
                        }
                        Err(e) => break 'task e,
                    }
                }
                if !escalated_now {
                    cursor += 1;
                }
            }
        };
        t.rec.end = Some(end);
        t.rec
    }

    fn can_escalate(&self, t: &Task, step: usize) -> bool {
        self.sc.steps[step].model == StepModel::Routed
            && t.tier == Tier::Cheap
            && !t.escalated
            && self
                .sc
                .routing
                .as_ref()
                .is_some_and(|r| r.escalate_on_failure)
    }

    /// One call of a step and what follows it (tool result, summary). `Err` ends the task
    /// (Failed covers "gave up"; the caller decides about escalation).
    async fn step_call(
        &self,
        t: &mut Task,
        rng: &mut Pcg64Mcg,
        s: usize,
        looping: bool,
    ) -> Result<(), End> {
        let sc = &self.sc;
        let step = &sc.steps[s];
        let scale = sc.traffic.kinds[t.kind].token_scale;
        let model = self.model_for(t.tier, s);
        let context = if looping || step.context == ContextMode::Accumulate {
            t.context
        } else {
            0
        };
        let fresh = (step.input_tokens.sample(rng) * scale).round() as u64;
        let body = (fresh + context).min(ceilings::MAX_CONTEXT_TOKENS);
        let prefix = (step.prefix_tokens.sample(rng) * scale).round() as u64;
        let output = match self
            .play_call(t, rng, CallKind::Step(s), model, prefix, body)
            .await
        {
            CallEnd::Ok(o) => o,
            CallEnd::Stop => return Err(End::Partial),
            CallEnd::GaveUp { breaker } => {
                // A breaker-open give-up never escalates (engine: `give_up(c, true)`).
                if breaker {
                    t.escalated = true;
                }
                return Err(End::Failed);
            }
        };
        t.context = (t.context + output).min(ceilings::MAX_CONTEXT_TOKENS);
        if let Some(tool) = &step.tool_result_tokens {
            let tool_tokens = (tool.sample(rng) * scale).round() as u64;
            if let Some(sm) = &step.summarize {
                match self
                    .play_call(t, rng, CallKind::Summarize(s), sm.model, 0, tool_tokens)
                    .await
                {
                    CallEnd::Ok(o) => t.context = (t.context + o).min(ceilings::MAX_CONTEXT_TOKENS),
                    CallEnd::Stop => return Err(End::Partial),
                    CallEnd::GaveUp { .. } => {
                        t.escalated = true;
                        return Err(End::Failed);
                    }
                }
            } else {
                t.context = (t.context + tool_tokens).min(ceilings::MAX_CONTEXT_TOKENS);
            }
        }
        Ok(())
    }
}

// ----- figures -----

#[derive(Debug, Clone, Serialize, Default)]
pub struct Spread {
    pub mean: f64,
    pub sd: f64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

/// The figures both sides report, with the same keys.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Figures {
    pub tasks: f64,
    pub succeeded: f64,
    pub failed: f64,
    pub partial: f64,
    pub cost_total_usd: f64,
    pub cost_per_task_usd: Spread,
    /// Mean USD per task by step name (plus `router` and `summarize` lines when used).
    pub cost_per_step_usd: BTreeMap<String, f64>,
    pub calls_per_task: f64,
    pub retries_per_task: f64,
    pub cache_hit_rate: f64,
    pub errors_per_task: BTreeMap<String, f64>,
    pub latency_s: Spread,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn spread(values: &[f64]) -> Spread {
    if values.is_empty() {
        return Spread::default();
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Spread {
        mean,
        sd: var.sqrt(),
        p50: quantile(&sorted, 0.5),
        p95: quantile(&sorted, 0.95),
        max: *sorted.last().unwrap_or(&0.0),
    }
}

fn measured(ctx: &Ctx, records: &[TaskRecord]) -> Figures {
    let n = records.len().max(1) as f64;
    let finished: Vec<&TaskRecord> = records
        .iter()
        .filter(|r| matches!(r.end, Some(End::Succeeded | End::Failed | End::Partial)))
        .collect();
    let costs: Vec<f64> = finished.iter().map(|r| pusd_to_usd(r.cost_pusd)).collect();
    let total: u128 = records.iter().map(|r| r.cost_pusd).sum();
    let mut by_line: BTreeMap<usize, u128> = BTreeMap::new();
    let mut errors: BTreeMap<String, f64> = BTreeMap::new();
    for r in records {
        for (l, c) in &r.cost_by_line {
            *by_line.entry(*l).or_default() += c;
        }
        for (k, c) in &r.errors {
            *errors.entry((*k).to_string()).or_default() += *c as f64;
        }
    }
    let count = |e: End| records.iter().filter(|r| r.end == Some(e)).count() as f64;
    let lookups: u64 = records.iter().map(|r| r.cache_lookups).sum();
    let hits: u64 = records.iter().map(|r| r.cache_hits).sum();
    let per_finished = finished.len().max(1) as f64;
    Figures {
        tasks: records.len() as f64,
        succeeded: count(End::Succeeded),
        failed: count(End::Failed),
        partial: count(End::Partial),
        cost_total_usd: pusd_to_usd(total),
        cost_per_task_usd: spread(&costs),
        cost_per_step_usd: by_line
            .iter()
            .map(|(l, c)| (ctx.lines[*l].clone(), pusd_to_usd(*c) / per_finished))
            .collect(),
        calls_per_task: records.iter().map(|r| r.calls).sum::<u64>() as f64 / n,
        retries_per_task: records.iter().map(|r| r.retries).sum::<u64>() as f64 / n,
        cache_hit_rate: if lookups == 0 {
            0.0
        } else {
            hits as f64 / lookups as f64
        },
        errors_per_task: errors.into_iter().map(|(k, v)| (k, v / n)).collect(),
        latency_s: spread(&finished.iter().map(|r| r.latency_s).collect::<Vec<_>>()),
    }
}

/// The per-task cost sd of a prediction. [`SimResult`] has per-task quantiles but no sd, so it
/// comes from the spread of whole simulated days. With uniform arrivals every one-day replica
/// holds exactly N tasks, its mean cost per task is day / N, and sd(day / N) * sqrt(N) =
/// sd(day) / sqrt(N) is the per-task sd when tasks are independent; whatever couples them
/// (shared cache state, the daily cap, the breaker) is in the day's spread, and so in the
/// interval for a mean over N tasks, which is what the figure is used for. With Poisson
/// arrivals a day's count varies too, Var(day) = lambda (sigma^2 + mu^2), and dividing by lambda
/// would overstate sigma^2 by mu^2 (for a cost with cv 0.5, a sd 2.2 times too large): the
/// caller passes a run with uniform arrivals. A day is a sum of N tasks, near normal, so the
/// estimate's relative error is about 1 / sqrt(2 (R - 1)) for R replicas.
fn per_task_sd(r: &SimResult) -> f64 {
    let replica_days = (f64::from(r.replicas) * f64::from(r.days)).max(1.0);
    let per_day = r.tasks.total as f64 / replica_days;
    if per_day > 0.0 {
        spread(&r.daily_costs_usd).sd / per_day.sqrt()
    } else {
        0.0
    }
}

/// The simulator's figures for `tasks` tasks, with the per-task sd from [`per_task_sd`].
fn predicted(r: &SimResult, tasks: u64, sd_task: f64) -> Figures {
    let n = tasks as f64;
    let total = r.tasks.total.max(1) as f64;
    let replica_days = (f64::from(r.replicas) * f64::from(r.days)).max(1.0);
    let per_day = total / replica_days;
    let pt = &r.cost_usd.per_task;
    let share = |x: u64| x as f64 / total * n;
    let lat = &r.latency_s.task;
    Figures {
        tasks: n,
        succeeded: share(r.tasks.succeeded),
        failed: share(r.tasks.failed),
        partial: share(r.tasks.partial),
        cost_total_usd: pt.mean * n,
        cost_per_task_usd: Spread {
            mean: pt.mean,
            sd: sd_task,
            p50: pt.p50,
            p95: pt.p95,
            max: pt.max,
        },
        cost_per_step_usd: r
            .cost_usd
            .by_step
            .iter()
            .filter(|(_, v)| **v > 0.0)
            .map(|(k, v)| (k.clone(), v / per_day))
            .collect(),
        calls_per_task: r.calls.total as f64 / total,
        retries_per_task: r.calls.retries_per_task,
        cache_hit_rate: r.cache.hit_rate,
        errors_per_task: r
            .calls
            .failures_by_kind
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| (k.clone(), *v as f64 / total))
            .collect(),
        latency_s: Spread {
            mean: lat.mean,
            sd: 0.0,
            p50: lat.p50,
            p95: lat.p95,
            max: lat.max,
        },
    }
}

fn diff_maps(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    a.keys()
        .chain(b.keys())
        .map(|k| {
            (
                k.clone(),
                a.get(k).unwrap_or(&0.0) - b.get(k).unwrap_or(&0.0),
            )
        })
        .collect()
}

fn difference(m: &Figures, p: &Figures) -> Value {
    let se = p.cost_per_task_usd.sd / m.tasks.max(1.0).sqrt();
    json!({
        "cost_per_task_usd": m.cost_per_task_usd.mean - p.cost_per_task_usd.mean,
        "cost_per_task_relative": if p.cost_per_task_usd.mean > 0.0 { m.cost_per_task_usd.mean / p.cost_per_task_usd.mean - 1.0 } else { 0.0 },
        // Measured minus predicted mean, in standard errors of a mean over this many tasks.
        "cost_per_task_z": if se > 0.0 { (m.cost_per_task_usd.mean - p.cost_per_task_usd.mean) / se } else { 0.0 },
        "cost_total_usd": m.cost_total_usd - p.cost_total_usd,
        "cost_per_step_usd": diff_maps(&m.cost_per_step_usd, &p.cost_per_step_usd),
        "calls_per_task": m.calls_per_task - p.calls_per_task,
        "retries_per_task": m.retries_per_task - p.retries_per_task,
        "cache_hit_rate": m.cache_hit_rate - p.cache_hit_rate,
        "errors_per_task": diff_maps(&m.errors_per_task, &p.errors_per_task),
        "latency_s_mean": m.latency_s.mean - p.latency_s.mean,
    })
}

// ----- running -----

pub fn run(args: Args) -> CliResult {
    let (sc, _) = load_scenario(&args.scenario)?;
    let bad = |m: String| CliError::BadInput(anyhow!(m));
    if !(args.speedup.is_finite() && args.speedup > 0.0) {
        return Err(bad(format!("--speedup must be > 0, got {}", args.speedup)));
    }
    if args.concurrency == 0 || args.concurrency > MAX_CONCURRENCY {
        return Err(bad(format!(
            "--concurrency must be in 1..={MAX_CONCURRENCY}"
        )));
    }
    let rate_per_s = sc.traffic.tasks_per_day / 86_400.0;
    if rate_per_s <= 0.0 {
        return Err(bad("the scenario has no traffic (tasks_per_day = 0)".into()));
    }
    let tasks = match (args.tasks, args.duration) {
        (Some(n), _) => n,
        (None, Some(d)) if d.is_finite() && d > 0.0 => {
            (d * args.speedup * rate_per_s).ceil() as u64
        }
        (None, Some(d)) => return Err(bad(format!("--duration must be > 0, got {d}"))),
        (None, None) => 100,
    };
    if tasks == 0 || tasks > MAX_TASKS {
        return Err(bad(format!(
            "the task count must be in 1..={MAX_TASKS}, got {tasks}"
        )));
    }
    let endpoint = args
        .endpoint
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(bad(format!(
            "--endpoint must be an http(s) URL, got {:?}",
            args.endpoint
        )));
    }
    let mut warnings = Vec::new();
    if sc.steps.iter().any(|s| s.batch) {
        warnings.push(
            "batch steps are sent as regular calls (drive does not use the batch APIs)".to_string(),
        );
    }
    if sc.steps.iter().any(|s| s.items_per_call > 1) {
        warnings.push("combined calls (items_per_call > 1) are sent one item per call".to_string());
    }
    if !sc.incidents.is_empty() {
        warnings.push(
            "incidents are in the prediction only; configure the endpoint to reproduce them"
                .to_string(),
        );
    }
    let seed = args.seed.unwrap_or(sc.horizon.seed);

    // The prediction: one simulated day per replica.
    let options = RunOptions {
        replicas: Some(args.predict_replicas.max(2)),
        days: Some(1),
        seed: Some(seed),
        threads: None,
    };
    let prediction =
        burnrate_sim::simulate(&sc, &options, &|| {}).map_err(|e| CliError::BadInput(e.into()))?;
    // The per-task sd needs days with a fixed task count (see `per_task_sd`): with Poisson
    // arrivals, a second run of the same scenario with uniform arrivals at the same rate.
    let sd_task = if sc.traffic.arrivals == burnrate_sim::Arrivals::Uniform {
        per_task_sd(&prediction)
    } else {
        let mut uniform = sc.clone();
        uniform.traffic.arrivals = burnrate_sim::Arrivals::Uniform;
        let r = burnrate_sim::simulate(&uniform, &options, &|| {})
            .map_err(|e| CliError::BadInput(e.into()))?;
        per_task_sd(&r)
    };

    let mut lines: Vec<String> = sc.steps.iter().map(|s| s.name.clone()).collect();
    lines.push("router".into());
    lines.push("summarize".into());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency.min(256))
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .context("cannot build the HTTP client")?;
    let n_models = sc.models.len();
    let ctx = Arc::new(Ctx {
        sc,
        endpoint: endpoint.clone(),
        api_key: args.api_key.clone(),
        client,
        speedup: args.speedup,
        prefixes: Mutex::new(HashMap::new()),
        breakers: Mutex::new(vec![(0, None); n_models]),
        day_spend: Mutex::new(BTreeMap::new()),
        log: args.log.clone(),
        log_lines: Mutex::new(Vec::new()),
        lines,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Fail fast, with the reason, when the endpoint cannot be reached at all (rather than
    // retrying every call of every task against it). Any HTTP answer, even a 404, will do.
    rt.block_on(async {
        ctx.client
            .get(format!("{endpoint}/"))
            .timeout(CONNECT_TIMEOUT * 2)
            .send()
            .await
    })
    .map_err(|e| anyhow::Error::new(e).context(format!("cannot reach the endpoint {endpoint}")))?;
    let started = Instant::now();
    let (records, ledger_before, ledger_after, queued) = rt.block_on(drive_all(
        ctx.clone(),
        tasks,
        seed,
        args.concurrency,
        args.quiet,
    ));
    let wall_s = started.elapsed().as_secs_f64();

    if let Some(path) = &args.log {
        let lines = ctx.log_lines.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let m = measured(&ctx, &records);
    let p = predicted(&prediction, tasks, sd_task);
    let fatal: Vec<&String> = records
        .iter()
        .filter_map(|r| r.fatal.as_ref())
        .take(3)
        .collect();
    let unpriced: u64 = records.iter().map(|r| r.unpriced).sum();
    let ledger = match (ledger_before, ledger_after) {
        (Some(b), Some(a)) => {
            let cost = |v: &Value| {
                v.pointer("/total/cost_pusd")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            let reqs = |v: &Value| {
                v.pointer("/total/requests")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            let measured_pusd: u128 = records.iter().map(|r| r.cost_pusd).sum();
            let delta = cost(&a).saturating_sub(cost(&b));
            json!({
                "requests": reqs(&a).saturating_sub(reqs(&b)),
                "cost_pusd": delta,
                "cost_usd": delta as f64 / 1e12,
                // What the endpoint billed per driven task, unreadable responses included.
                "cost_per_task_usd": delta as f64 / 1e12 / tasks as f64,
                "measured_cost_pusd": measured_pusd.to_string(),
            })
        }
        _ => Value::Null,
    };
    let out = json!({
        "scenario": ctx.sc.name,
        "endpoint": endpoint,
        "seed": seed,
        "tasks": tasks,
        "speedup": args.speedup,
        "concurrency": args.concurrency,
        "wall_s": wall_s,
        "queued_tasks": queued,
        "unpriced_calls": unpriced,
        "predict_replicas": prediction.replicas,
        "measured": m,
        "predicted": p,
        "difference": difference(&m, &p),
        "endpoint_ledger": ledger,
        "warnings": warnings,
        "fatal_errors": fatal,
    });
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&out).context("json")?,
        Format::Text => render(&out, &m, &p, false),
        Format::Md => render(&out, &m, &p, true),
    };
    println!("{text}");
    if m.calls_per_task > 0.0 && records.iter().all(|r| r.fatal.is_some()) {
        return Err(CliError::Other(anyhow!(
            "every task failed with a client error: {}",
            fatal.first().map_or("", |s| s.as_str())
        )));
    }
    Ok(())
}

async fn fetch_ledger(ctx: &Ctx) -> Option<Value> {
    let resp = ctx
        .client
        .get(format!("{}/_mock/usage", ctx.endpoint))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json::<Value>().await.ok()
}

async fn drive_all(
    ctx: Arc<Ctx>,
    tasks: u64,
    seed: u64,
    concurrency: usize,
    quiet: bool,
) -> (Vec<TaskRecord>, Option<Value>, Option<Value>, u64) {
    let before = fetch_ledger(&ctx).await;
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
    // The simulator's own arrival process (profiles, growth, surges included); when one
    // horizon's arrivals run out, the next replica's horizon follows it.
    let horizon_s = f64::from(ctx.sc.horizon.days) * 86_400.0;
    let mut replica = 0u32;
    let mut arrivals = burnrate_sim::ArrivalProcess::for_scenario(&ctx.sc, seed, replica);
    let start = tokio::time::Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut records: Vec<TaskRecord> = Vec::with_capacity(tasks.min(1 << 20) as usize);
    let mut t_s = 0.0f64;
    let mut queued = 0u64;
    let mut last_report = Instant::now();
    for i in 0..tasks {
        t_s = loop {
            match arrivals.next() {
                Some(t) => break f64::from(replica) * horizon_s + t,
                // Bounded: a horizon with no arrivals at all ends the run.
                None if replica > 0 && t_s < f64::from(replica) * horizon_s => break f64::NAN,
                None => {
                    replica += 1;
                    arrivals = burnrate_sim::ArrivalProcess::for_scenario(&ctx.sc, seed, replica);
                }
            }
        };
        if t_s.is_nan() {
            break;
        }
        let at = start + Duration::from_secs_f64((t_s / ctx.speedup).min(1e9));
        tokio::time::sleep_until(at).await;
        // Bounded: at most `concurrency` tasks in flight; a late arrival waits for a slot.
        let permit = match sem.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                queued += 1;
                sem.clone()
                    .acquire_owned()
                    .await
                    .expect("semaphore never closed")
            }
        };
        while let Some(done) = set.try_join_next() {
            records.push(done.expect("tasks do not panic"));
        }
        let ctx2 = ctx.clone();
        let day = (t_s / 86_400.0) as u64;
        set.spawn(async move {
            let r = ctx2.play_task(i, day, seed).await;
            drop(permit);
            r
        });
        if !quiet && last_report.elapsed() > Duration::from_secs(2) {
            eprintln!("drive: {} of {tasks} tasks started", i + 1);
            last_report = Instant::now();
        }
    }
    while let Some(done) = set.join_next().await {
        records.push(done.expect("tasks do not panic"));
    }
    let after = if before.is_some() {
        fetch_ledger(&ctx).await
    } else {
        None
    };
    (records, before, after, queued)
}

fn render(out: &Value, m: &Figures, p: &Figures, md: bool) -> String {
    let mut s = String::new();
    use std::fmt::Write as _;
    let title = format!(
        "drive {}: {} tasks against {} (speedup {}, {:.1}s)",
        out["scenario"].as_str().unwrap_or(""),
        m.tasks,
        out["endpoint"].as_str().unwrap_or(""),
        out["speedup"],
        out["wall_s"].as_f64().unwrap_or(0.0)
    );
    let row = |s: &mut String, name: &str, a: String, b: String| {
        if md {
            let _ = writeln!(s, "| {name} | {a} | {b} |");
        } else {
            let _ = writeln!(s, "  {name:<28} {a:>14} {b:>14}");
        }
    };
    if md {
        let _ = writeln!(
            s,
            "## {title}\n\n| | measured | predicted |\n|---|---:|---:|"
        );
    } else {
        let _ = writeln!(
            s,
            "{title}\n  {:<28} {:>14} {:>14}",
            "", "measured", "predicted"
        );
    }
    row(
        &mut s,
        "cost per task (mean)",
        format!("${:.6}", m.cost_per_task_usd.mean),
        format!("${:.6}", p.cost_per_task_usd.mean),
    );
    row(
        &mut s,
        "cost per task (p95)",
        format!("${:.6}", m.cost_per_task_usd.p95),
        format!("${:.6}", p.cost_per_task_usd.p95),
    );
    row(
        &mut s,
        "cost total",
        format!("${:.4}", m.cost_total_usd),
        format!("${:.4}", p.cost_total_usd),
    );
    let steps: std::collections::BTreeSet<&String> = m
        .cost_per_step_usd
        .keys()
        .chain(p.cost_per_step_usd.keys())
        .collect();
    for k in steps {
        row(
            &mut s,
            &format!("  step {k}"),
            format!("${:.6}", m.cost_per_step_usd.get(k).unwrap_or(&0.0)),
            format!("${:.6}", p.cost_per_step_usd.get(k).unwrap_or(&0.0)),
        );
    }
    row(
        &mut s,
        "calls per task",
        format!("{:.3}", m.calls_per_task),
        format!("{:.3}", p.calls_per_task),
    );
    row(
        &mut s,
        "retries per task",
        format!("{:.3}", m.retries_per_task),
        format!("{:.3}", p.retries_per_task),
    );
    row(
        &mut s,
        "cache hit rate",
        format!("{:.3}", m.cache_hit_rate),
        format!("{:.3}", p.cache_hit_rate),
    );
    let kinds: std::collections::BTreeSet<&String> = m
        .errors_per_task
        .keys()
        .chain(p.errors_per_task.keys())
        .collect();
    for k in kinds {
        row(
            &mut s,
            &format!("errors/task {k}"),
            format!("{:.4}", m.errors_per_task.get(k).unwrap_or(&0.0)),
            format!("{:.4}", p.errors_per_task.get(k).unwrap_or(&0.0)),
        );
    }
    row(
        &mut s,
        "task latency mean (s)",
        format!("{:.3}", m.latency_s.mean),
        format!("{:.3}", p.latency_s.mean),
    );
    let _ = writeln!(
        s,
        "{}cost per task differs by {:+.2}% ({:+.2} standard errors)",
        if md { "\n" } else { "" },
        out["difference"]["cost_per_task_relative"]
            .as_f64()
            .unwrap_or(0.0)
            * 100.0,
        out["difference"]["cost_per_task_z"].as_f64().unwrap_or(0.0)
    );
    if let Some(u) = out["unpriced_calls"].as_u64().filter(|u| *u > 0) {
        let _ = writeln!(
            s,
            "{u} responses (malformed or timed out) had no readable usage and are not in the measured cost"
        );
        if let Some(b) = out["endpoint_ledger"]["cost_per_task_usd"].as_f64() {
            let _ = writeln!(
                s,
                "the endpoint's ledger billed ${b:.6} per task, those responses included"
            );
        }
    }
    for w in out["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(s, "warning: {}", w.as_str().unwrap_or(""));
    }
    s.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_text_has_the_requested_token_count() {
        let bpe = tiktoken_rs::o200k_base_singleton();
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        for n in [1u64, 7, 128, 1500] {
            assert_eq!(bpe.encode_ordinary(&words(&mut rng, n)).len() as u64, n);
        }
        assert!(vocabulary().len() > 50);
    }
}
