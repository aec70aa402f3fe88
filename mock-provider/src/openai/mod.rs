//! OpenAI-compatible endpoints, one module each: chat completions, responses, embeddings,
//! models. This module holds what chat completions and responses share: the prompt as
//! tiktoken counts it, tools and tool choice, the prefix cache and the common steps between
//! planning an answer and sending it ([`plan_and_prepare`]).

pub(crate) mod chat;
pub(crate) mod embeddings;
pub(crate) mod models;
pub(crate) mod responses;

use crate::cache::{OpenAiBreakpoints, OpenAiCache, Ready, SEED_HASH, hash_str};
use crate::config::FaultKind;
use crate::error::{ApiError, Shape};
use crate::pipeline::{
    Admission, Call, Charge, Delivery, Inflight, Outcome, Req, Tokens, content_seed,
};
use crate::plan::{Ask, Plan, plan_choices};
use crate::streaming::{FrameFn, Timing, json_response, sse_response};
use crate::tokens;
use crate::validate::{self, Rule};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Placeholder token ids for the per-message overhead (hashed, never decoded).
const MARK: u32 = 0xFFFF_0000;

/// Text of a content value (a string or an array of parts) and extra tokens for images.
pub fn content_text(content: Option<&Value>) -> (String, u64) {
    match content {
        Some(Value::String(s)) => (s.clone(), 0),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            let mut extra = 0;
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("image_url" | "input_image" | "image") => extra += 85,
                    _ => {
                        for k in ["text", "output", "content"] {
                            if let Some(t) = p.get(k).and_then(Value::as_str) {
                                text.push_str(t);
                                break;
                            }
                        }
                    }
                }
            }
            (text, extra)
        }
        Some(Value::Null) | None => (String::new(), 0),
        Some(other) => (other.to_string(), 0),
    }
}

/// Whether a content part carries `prompt_cache_breakpoint`.
fn has_breakpoint(part: &Value) -> bool {
    part.get("prompt_cache_breakpoint")
        .is_some_and(|b| !b.is_null())
}

/// Builds the prompt as token ids following tiktoken's chat rule, tools first, and where its
/// explicit cache breakpoints fall.
struct PromptBuilder {
    ids: Vec<u32>,
    breakpoints: Vec<u64>,
}

impl PromptBuilder {
    fn new() -> Self {
        PromptBuilder {
            ids: Vec::new(),
            breakpoints: Vec::new(),
        }
    }
    /// A message whose content parts carry explicit breakpoints: each part tokenized on its
    /// own so the breakpoint falls exactly at the part's end.
    fn message_parts(&mut self, role: &str, parts: &[Value], name: Option<&str>) {
        self.marks(tokens::PER_MESSAGE);
        self.text(role);
        for p in parts {
            let (text, extra) = content_text(Some(&Value::Array(vec![p.clone()])));
            self.text(&text);
            self.marks(extra);
            if has_breakpoint(p) {
                self.breakpoints.push(self.ids.len() as u64);
            }
        }
        if let Some(n) = name {
            self.text(n);
            self.marks(1);
        }
    }
    /// A message: with exact breakpoints when a part has one, else tiktoken's rule.
    fn content_message(&mut self, role: &str, content: Option<&Value>, name: Option<&str>) {
        match content {
            Some(Value::Array(parts)) if parts.iter().any(has_breakpoint) => {
                self.message_parts(role, parts, name)
            }
            _ => {
                let (text, extra) = content_text(content);
                self.message(role, &text, extra, name);
            }
        }
    }
    fn text(&mut self, s: &str) {
        self.ids.extend_from_slice(&tokens::encode(s));
    }
    fn marks(&mut self, n: u64) {
        for i in 0..n {
            self.ids.push(MARK + i as u32);
        }
    }
    fn message(&mut self, role: &str, content: &str, extra: u64, name: Option<&str>) {
        self.marks(tokens::PER_MESSAGE);
        self.text(role);
        self.text(content);
        self.marks(extra);
        if let Some(n) = name {
            self.text(n);
            self.marks(1);
        }
    }
    fn finish(mut self) -> (Vec<u32>, Vec<u64>) {
        self.marks(tokens::REPLY_PRIMING);
        (self.ids, self.breakpoints)
    }
}

fn tool_list(tools: Option<&Vec<Value>>, nested: bool) -> Vec<(String, Value)> {
    tools
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let f = if nested { t.get("function")? } else { t };
            let name = f.get("name")?.as_str()?.to_string();
            let schema = f
                .get("parameters")
                .cloned()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            Some((name, schema))
        })
        .collect()
}

fn apply_tool_choice(ask: &mut Ask, choice: Option<&Value>) {
    match choice {
        Some(Value::String(s)) if s == "none" => ask.tools_disabled = true,
        Some(Value::String(s)) if s == "required" => ask.tool_required = true,
        Some(Value::Object(o)) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| o.get("name"))
                .and_then(Value::as_str);
            ask.forced_tool = name.map(str::to_string);
        }
        _ => {}
    }
}

fn json_format(ask: &mut Ask, format: Option<&Value>) {
    let Some(f) = format else { return };
    match f.get("type").and_then(Value::as_str) {
        Some("json_object") => ask.json_object = true,
        Some("json_schema") => {
            let schema = f
                .get("json_schema")
                .and_then(|j| j.get("schema"))
                .or_else(|| f.get("schema"))
                .cloned()
                .unwrap_or_else(|| json!({"type": "object"}));
            ask.json_schema = Some(schema);
        }
        _ => {}
    }
}

/// What an OpenAI request asks of the prompt cache.
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheAsk {
    pub key: Option<String>,
    /// `prompt_cache_options.mode = "explicit"`: no implicit breakpoint.
    pub explicit_mode: bool,
    /// Prompt lengths at the explicit breakpoints.
    pub breakpoints: Vec<u64>,
    /// `prompt_cache_retention: "24h"` on GPT-5.6+: entries kept a day, writes at the 24-hour
    /// price.
    pub day_retention: bool,
}

/// The TTL of GPT-5.6+ writes (`prompt_cache_options.ttl`, the only value): a minimum, so the
/// mock keeps entries at least this long whatever `openai_cache_ttl_s` says.
const TTL_30M: Duration = Duration::from_secs(1800);
/// `prompt_cache_retention: "24h"`.
const TTL_24H: Duration = Duration::from_secs(86_400);

/// Runs the prefix cache for one request. Models before GPT-5.6 write for free (reported as
/// 0 written, billed as input); GPT-5.6+ report and bill what they write.
fn openai_cache(req: &Req, call: &Call, ids: &[u32], ask: &CacheAsk, ready: Ready) -> OpenAiCache {
    let spec = &call.model.spec;
    let premium = spec.has_write_premium();
    let mut scope = hash_str(SEED_HASH, &spec.id);
    scope = hash_str(scope, &req.key);
    scope = hash_str(scope, ask.key.as_deref().unwrap_or(""));
    let bps = OpenAiBreakpoints {
        implicit: !(premium && ask.explicit_mode),
        explicit: if premium {
            ask.breakpoints.clone()
        } else {
            Vec::new()
        },
    };
    let day = premium && ask.day_retention;
    let ttl = if day {
        req.cfg.openai_cache_ttl.max(TTL_24H)
    } else if premium {
        req.cfg.openai_cache_ttl.max(TTL_30M)
    } else {
        req.cfg.openai_cache_ttl
    };
    let c = req.state.cache.openai(
        scope,
        ids,
        u64::from(spec.min_cacheable_tokens),
        u64::from(spec.cache_granularity_tokens.max(1)),
        ttl,
        Instant::now(),
        ready,
        &bps,
    );
    OpenAiCache {
        read: c.read,
        write: if premium { c.write } else { 0 },
        day,
    }
}

/// The billed tokens of an OpenAI answer: GPT-5.6+ writes at the 30-minute price, or the
/// 24-hour one with `prompt_cache_retention: "24h"`.
pub(crate) fn openai_tokens(
    prompt: u64,
    cache: OpenAiCache,
    plan_out: u64,
    reasoning: u64,
) -> Tokens {
    Tokens {
        input: prompt - cache.read - cache.write,
        cache_write_30m: if cache.day { 0 } else { cache.write },
        cache_write_24h: if cache.day { cache.write } else { 0 },
        cache_read: cache.read,
        output: plan_out + reasoning,
        reasoning,
        ..Tokens::default()
    }
}

/// Runs the common steps after planning: faults, rate limit, cache, accounting.
pub(crate) struct Billed {
    pub outcome: Outcome,
    pub prompt: u64,
    pub cache: OpenAiCache,
    pub timing: Timing,
    pub headers: HeaderMap,
    pub inflight: Inflight,
}

async fn admit_and_bill(
    req: &Req,
    call: &Call,
    ids: &[u32],
    cache_ask: &CacheAsk,
    plan: &Plan,
    stream: bool,
    seed: u64,
) -> Result<Billed, ApiError> {
    let prompt = ids.len() as u64;
    if let Some(kind) = call.fault {
        if kind == FaultKind::Timeout {
            // The prompt was processed: billed as input, with the prefix cache applied (its
            // writes never become readable through this request: no response begins).
            let cache = openai_cache(req, call, ids, cache_ask, None);
            return Err(req
                .timeout(call, openai_tokens(prompt, cache, 0, 0), stream)
                .await);
        }
        if !(stream && kind == FaultKind::StreamError)
            && let Some(e) = req.fault_error(call, kind)
        {
            return Err(e);
        }
    }
    // OpenAI counts cached tokens like any other (LimitRules), so no cache lookup here.
    let snapshot = req.rate_limit(
        call,
        Admission {
            input: prompt,
            cache_read: 0,
            output: plan.billed_output(),
            output_cap: plan.output_cap,
        },
    )?;
    let mut timing = Timing::new(&req.cfg, call, seed);
    // Hidden reasoning happens before the first visible token.
    timing.think(plan.reasoning_tokens);
    let cache = openai_cache(
        req,
        call,
        ids,
        cache_ask,
        Some(Instant::now() + timing.ttft),
    );
    let output = match call.fault {
        Some(FaultKind::StreamCut | FaultKind::StreamError) if stream => plan.output_tokens / 2,
        _ => plan.output_tokens,
    };
    let outcome = req.charge(
        call,
        Charge::answered(
            openai_tokens(prompt, cache, output, plan.reasoning_tokens),
            call.fault,
            Delivery::live(stream),
        ),
    );
    let mut headers = HeaderMap::new();
    req.limit_headers(&snapshot, &mut headers);
    Ok(Billed {
        outcome,
        prompt,
        cache,
        timing,
        headers,
        inflight: Inflight::new(&req.state),
    })
}

impl Billed {
    /// Sends a JSON answer once the latency of `output_tokens` has passed; the request's
    /// outcome and in-flight count end with it.
    async fn send_json<T: serde::Serialize + ?Sized>(
        mut self,
        body: &T,
        output_tokens: u64,
        fault: Option<FaultKind>,
    ) -> Response {
        let delay = self.timing.total(output_tokens);
        let resp = json_response(body, self.headers, delay, fault).await;
        drop(self.outcome);
        drop(self.inflight);
        resp
    }

    /// Streams `frames` at the planned pace, ending at frame `cut_at` for a `stream_cut`
    /// fault.
    fn send_sse(self, frames: FrameFn, cut_at: Option<usize>) -> Response {
        sse_response(
            frames,
            self.timing,
            self.outcome,
            self.inflight,
            cut_at,
            self.headers,
        )
    }
}

/// Plans the answer (`ask.choices` of them), seeded by the request body, and runs [`prepare`]
/// on what they bill together: the step chat completions and responses share once each has
/// read its own request into `ask` and `ids`.
async fn plan_and_prepare(
    req: &Req,
    call: &Call,
    body: &[u8],
    ask: &Ask,
    ids: &[u32],
    cache_ask: &CacheAsk,
    stream: bool,
) -> Result<(Vec<Plan>, Billed), ApiError> {
    let seed = content_seed(req.cfg.seed, body);
    let plans = plan_choices(&req.cfg, &call.model, call.forced(), ask, seed);
    let total = Plan::total(&plans);
    let mut prepared = admit_and_bill(req, call, ids, cache_ask, &total, stream, seed).await?;
    for p in &plans {
        p.warn(&mut prepared.headers);
    }
    Ok((plans, prepared))
}

/// `prompt_cache_options` of a request (validated: an object with `ttl` "30m" and `mode`
/// implicit | explicit), and whether the model takes it: GPT-5.6 and later (a write price
/// above input). Returns `(explicit mode, the options echoed on the response)`.
pub(crate) fn cache_options(
    shape: Shape,
    v: Option<&Value>,
    spec: &burnrate_sim::ModelSpec,
) -> Result<(bool, Option<Value>), ApiError> {
    let premium = spec.has_write_premium() && spec.provider == burnrate_sim::Provider::OpenAi;
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok((
            false,
            premium.then(|| json!({"ttl": "30m", "mode": "implicit"})),
        ));
    };
    validate::check(shape, "prompt_cache_options", v, Rule::Object)?;
    let ttl = v.get("ttl").filter(|t| !t.is_null());
    if let Some(t) = ttl {
        validate::check(shape, "prompt_cache_options.ttl", t, Rule::Str)?;
        if t != "30m" {
            return Err(validate::enum_error(
                shape,
                "prompt_cache_options.ttl",
                t.as_str().unwrap_or_default(),
                &["30m"],
            ));
        }
    }
    let mode = v.get("mode").filter(|m| !m.is_null());
    if let Some(m) = mode {
        validate::check(shape, "prompt_cache_options.mode", m, Rule::Str)?;
        if m != "implicit" && m != "explicit" {
            return Err(validate::enum_error(
                shape,
                "prompt_cache_options.mode",
                m.as_str().unwrap_or_default(),
                &["implicit", "explicit"],
            ));
        }
    }
    if !premium {
        return Err(unsupported(shape, "prompt_cache_options"));
    }
    let explicit = mode.is_some_and(|m| m == "explicit");
    let echo = json!({"ttl": "30m", "mode": if explicit { "explicit" } else { "implicit" }});
    Ok((explicit, Some(echo)))
}

/// `prompt_cache_retention` of a request (`in_memory` | `24h`, deprecated by OpenAI but
/// still sent): whether it asks GPT-5.6+ for 24-hour writes. Earlier models take both values
/// and bill writes as input either way.
pub(crate) fn day_retention(
    shape: Shape,
    v: Option<&Value>,
    spec: &burnrate_sim::ModelSpec,
) -> Result<bool, ApiError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(false);
    };
    validate::check(shape, "prompt_cache_retention", v, Rule::Str)?;
    let value = v.as_str().unwrap_or_default();
    if value != "in_memory" && value != "24h" {
        return Err(validate::enum_error(
            shape,
            "prompt_cache_retention",
            value,
            &["in_memory", "24h"],
        ));
    }
    let premium = spec.has_write_premium() && spec.provider == burnrate_sim::Provider::OpenAi;
    Ok(premium && value == "24h")
}

/// Checks the `prompt_cache_breakpoint` of every content part in `contents` (the content of
/// each message or Responses input item; `field` names the array): an object with `mode: "explicit"`, and
/// only on GPT-5.6+.
pub(crate) fn check_breakpoints<'a>(
    shape: Shape,
    field: &str,
    contents: impl Iterator<Item = Option<&'a Value>>,
    spec: &burnrate_sim::ModelSpec,
) -> Result<(), ApiError> {
    let premium = spec.has_write_premium() && spec.provider == burnrate_sim::Provider::OpenAi;
    for (i, content) in contents.enumerate() {
        let parts = content.and_then(Value::as_array);
        for (j, part) in parts.into_iter().flatten().enumerate() {
            let Some(bp) = part.get("prompt_cache_breakpoint").filter(|b| !b.is_null()) else {
                continue;
            };
            let path = format!("{field}[{i}].content[{j}].prompt_cache_breakpoint");
            validate::check(shape, &path, bp, Rule::Object)?;
            match bp.get("mode") {
                None => return Err(validate::missing(shape, &format!("{path}.mode"))),
                Some(m) if m != "explicit" => {
                    return Err(validate::enum_error(
                        shape,
                        &format!("{path}.mode"),
                        &m.as_str().map_or_else(|| m.to_string(), str::to_string),
                        &["explicit"],
                    ));
                }
                Some(_) => {}
            }
            if !premium {
                return Err(unsupported(shape, &path));
            }
        }
    }
    Ok(())
}

/// A parameter the model does not take, in OpenAI's wording.
fn unsupported(shape: Shape, param: &str) -> ApiError {
    ApiError::bad_request(
        shape,
        format!(
            "Unsupported parameter: '{param}' is not supported with this model. It is supported for gpt-5.6 and later models."
        ),
    )
    .with_code("unsupported_parameter")
    .with_param(param)
}
