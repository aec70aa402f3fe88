//! OpenAI-compatible endpoints, one module each: chat completions, responses, embeddings,
//! models. This module holds what chat completions and responses share: the prompt as
//! tiktoken counts it, tools and tool choice, the prefix cache and the common steps between
//! planning an answer and sending it ([`plan_and_prepare`]).

pub(crate) mod chat;
pub(crate) mod embeddings;
pub(crate) mod models;
pub(crate) mod responses;

use crate::cache::{SEED_HASH, hash_str};
use crate::config::FaultKind;
use crate::error::ApiError;
use crate::pipeline::{Call, Inflight, Outcome, Req, Tokens, content_seed};
use crate::plan::{Ask, Plan, plan};
use crate::streaming::Timing;
use crate::tokens;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::time::Instant;

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

/// Builds the prompt as token ids following tiktoken's chat rule, tools first.
struct PromptBuilder {
    ids: Vec<u32>,
}

impl PromptBuilder {
    fn new() -> Self {
        PromptBuilder { ids: Vec::new() }
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
    fn finish(mut self) -> Vec<u32> {
        self.marks(tokens::REPLY_PRIMING);
        self.ids
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

fn openai_cache(req: &Req, call: &Call, ids: &[u32], cache_key: Option<&str>) -> u64 {
    let spec = &call.model.spec;
    let mut scope = hash_str(SEED_HASH, &spec.id);
    scope = hash_str(scope, &req.key);
    scope = hash_str(scope, cache_key.unwrap_or(""));
    req.state.cache.openai(
        scope,
        ids,
        u64::from(spec.min_cacheable_tokens),
        u64::from(spec.cache_granularity_tokens.max(1)),
        req.cfg.openai_cache_ttl,
        Instant::now(),
    )
}

/// Runs the common steps after planning: faults, rate limit, cache, accounting.
pub(crate) struct Prepared {
    pub outcome: Outcome,
    pub prompt: u64,
    pub cached: u64,
    pub timing: Timing,
    pub headers: HeaderMap,
    pub inflight: Inflight,
}

async fn prepare(
    req: &Req,
    call: &Call,
    ids: &[u32],
    cache_key: Option<&str>,
    plan: &Plan,
    stream: bool,
    seed: u64,
) -> Result<Prepared, ApiError> {
    if let Some(kind) = call.fault {
        if kind == FaultKind::Timeout {
            // The prompt was processed: billed as input, with the prefix cache applied.
            let prompt = ids.len() as u64;
            let cached = openai_cache(req, call, ids, cache_key);
            let t = Tokens {
                input: prompt - cached,
                cache_read: cached,
                ..Tokens::default()
            };
            return Err(req.timeout(call, t, stream).await);
        }
        if !(stream && kind == FaultKind::StreamError)
            && let Some(e) = req.fault_error(call, kind)
        {
            return Err(e);
        }
    }
    let prompt = ids.len() as u64;
    let snapshot = req.rate_limit(call, prompt, plan.output_tokens)?;
    let cached = openai_cache(req, call, ids, cache_key);
    let output = match call.fault {
        Some(FaultKind::StreamCut | FaultKind::StreamError) if stream => plan.output_tokens / 2,
        _ => plan.output_tokens,
    };
    let outcome = req.charge(
        call,
        Tokens {
            input: prompt - cached,
            cache_read: cached,
            output,
            ..Tokens::default()
        },
        200,
        call.fault,
        false,
        stream,
    );
    let mut headers = HeaderMap::new();
    req.limit_headers(&snapshot, &mut headers);
    Ok(Prepared {
        outcome,
        prompt,
        cached,
        timing: Timing::new(&req.cfg, call, seed),
        headers,
        inflight: Inflight::new(&req.state),
    })
}

/// Plans the answer, seeded by the request body, and runs [`prepare`] on it: the step chat
/// completions and responses share once each has read its own request into `ask` and `ids`.
async fn plan_and_prepare(
    req: &Req,
    call: &Call,
    body: &[u8],
    ask: &Ask,
    ids: &[u32],
    cache_key: Option<&str>,
    stream: bool,
) -> Result<(Plan, Prepared), ApiError> {
    let seed = content_seed(req.cfg.seed, body);
    let plan = plan(&req.cfg, &call.model, call.forced_output, ask, seed);
    let prepared = prepare(req, call, ids, cache_key, &plan, stream, seed).await?;
    Ok((plan, prepared))
}
