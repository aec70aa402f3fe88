//! Anthropic-compatible endpoints: messages (JSON and SSE) and count_tokens.

use crate::cache::{AnthropicCache, Block, SEED_HASH, hash_str};
use crate::config::{FaultKind, ModelEntry};
use crate::error::{ApiError, Shape};
use crate::pipeline::{
    Admission, Call, Charge, Delivery, Inflight, Outcome, RawBody, Req, Tokens, content_seed,
    off_thread, parse_json,
};
use crate::plan::{Ask, Finish, Forced, Plan, Reasoning, ToolHistory, plan};
use crate::streaming::{Frame, FrameFn, Timing, json_response, ok_json, sse_event, sse_response};
use crate::tokens;
use crate::validate::{self, Rule};
use axum::Extension;
use axum::http::HeaderMap;
use axum::response::Response;
use burnrate_sim::{CacheTtl, Provider};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Deserialize)]
pub struct MessagesRequest {
    pub model: String,
    pub messages: Vec<AMessage>,
    pub system: Option<Value>,
    pub max_tokens: Option<u64>,
    pub stream: Option<bool>,
    pub tools: Option<Vec<Value>>,
    pub tool_choice: Option<Value>,
    pub cache_control: Option<Value>,
    pub stop_sequences: Option<Vec<String>>,
    pub thinking: Option<Value>,
    pub service_tier: Option<Value>,
    pub output_config: Option<Value>,
    pub output_format: Option<Value>,
}

/// Messages fields by type and range (Anthropic's API reference).
const RULES: &[(&str, Rule)] = &[
    ("model", Rule::Str),
    ("messages", Rule::Array),
    ("max_tokens", Rule::Integer(1, i64::MAX)),
    ("system", Rule::StringOrArray),
    ("temperature", Rule::Number(0.0, 1.0)),
    ("top_p", Rule::Number(0.0, 1.0)),
    ("top_k", Rule::Integer(0, i64::MAX)),
    ("stop_sequences", Rule::Array),
    ("stream", Rule::Bool),
    ("tools", Rule::Array),
    ("tool_choice", Rule::Object),
    ("metadata", Rule::Object),
    ("cache_control", Rule::Object),
    ("thinking", Rule::Object),
    ("service_tier", Rule::Str),
    ("output_config", Rule::Object),
    ("output_format", Rule::Object),
];

/// The JSON schema a request constrains the reply to. Anthropic's structured outputs
/// (https://platform.claude.com/docs/en/build-with-claude/structured-outputs): GA as
/// `output_config.format = {type: "json_schema", schema}`; the beta's `output_format` (sent
/// with `anthropic-beta: structured-outputs-2025-11-13`) keeps working during the migration,
/// so both are taken (the header is not required). Both at once: the docs are silent; the
/// mock rejects it rather than guess. Recursive and external `$ref`s are documented as
/// unsupported and rejected with a 400; other constraints no value meets get a best effort.
fn output_schema(shape: Shape, r: &MessagesRequest) -> Result<Option<Value>, ApiError> {
    let ga = r
        .output_config
        .as_ref()
        .and_then(|c| c.get("format"))
        .filter(|f| !f.is_null());
    let beta = r.output_format.as_ref().filter(|f| !f.is_null());
    let (field, format) = match (ga, beta) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                shape,
                "output_format: cannot be used together with output_config.format; use output_config.format",
            ));
        }
        (Some(f), None) => ("output_config.format", f),
        (None, Some(f)) => ("output_format", f),
        (None, None) => return Ok(None),
    };
    validate::check(shape, field, format, Rule::Object)?;
    match format.get("type") {
        None => return Err(validate::missing(shape, &format!("{field}.type"))),
        Some(t) if t != "json_schema" => {
            let got = t.as_str().map_or_else(|| t.to_string(), str::to_string);
            return Err(validate::enum_error(
                shape,
                &format!("{field}.type"),
                &got,
                &["json_schema"],
            ));
        }
        Some(_) => {}
    }
    let path = format!("{field}.schema");
    let Some(schema) = format.get("schema").filter(|s| !s.is_null()) else {
        return Err(validate::missing(shape, &path));
    };
    validate::check(shape, &path, schema, Rule::Object)?;
    if let Some(why) = crate::schema::unsupported_ref(schema) {
        return Err(ApiError::bad_request(
            shape,
            format!("{path}: {why} is not supported by structured outputs"),
        ));
    }
    Ok(Some(schema.clone()))
}

/// Extended thinking as Anthropic validates it: `{type: "enabled", budget_tokens}` with
/// 1024 <= budget_tokens < max_tokens on a model that thinks, or `{type: "disabled"}`.
fn thinking_of(
    shape: Shape,
    thinking: Option<&Value>,
    model: &ModelEntry,
    max_tokens: u64,
) -> Result<Reasoning, ApiError> {
    let Some(t) = thinking.filter(|t| !t.is_null()) else {
        return Ok(Reasoning::Off);
    };
    let kind = match t.get("type") {
        None => return Err(validate::missing(shape, "thinking.type")),
        Some(k) => {
            validate::check(shape, "thinking.type", k, Rule::Str)?;
            k.as_str().unwrap_or_default()
        }
    };
    match kind {
        "disabled" => return Ok(Reasoning::Off),
        "enabled" => {}
        other => {
            return Err(validate::enum_error(
                shape,
                "thinking.type",
                other,
                &["enabled", "disabled"],
            ));
        }
    }
    let field = "thinking.enabled.budget_tokens";
    let Some(b) = t.get("budget_tokens").filter(|b| !b.is_null()) else {
        return Err(validate::missing(shape, field));
    };
    validate::check(shape, field, b, Rule::Integer(1024, i64::MAX))?;
    let budget = b.as_u64().unwrap_or(0);
    if budget >= max_tokens {
        return Err(ApiError::bad_request(
            shape,
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
        ));
    }
    if !model.spec.reasoning {
        return Err(ApiError::bad_request(
            shape,
            format!("'{}' does not support thinking.", model.spec.id),
        ));
    }
    Ok(Reasoning::Thinking { budget })
}

/// The `signature` of a thinking block: opaque, deterministic per request.
fn signature(seed: u64) -> String {
    format!(
        "EqQBCkYIBxgCKkB{:016x}{:016x}",
        crate::cache::mix(seed, 0x516e),
        crate::cache::mix(seed, 0x7a11)
    )
}

/// Reads a messages body (`count_tokens` needs no `max_tokens`): every documented field
/// checked, then typed.
fn read<T: serde::de::DeserializeOwned>(
    shape: Shape,
    v: Value,
    needs_max_tokens: bool,
) -> Result<T, ApiError> {
    let o = validate::object(shape, &v)?;
    let required: &[&str] = if needs_max_tokens {
        &["model", "max_tokens", "messages"]
    } else {
        &["model", "messages"]
    };
    for field in required {
        if o.get(*field).is_none_or(Value::is_null) {
            return Err(validate::missing(shape, field));
        }
    }
    validate::fields(shape, o, RULES)?;
    for (i, m) in o["messages"].as_array().into_iter().flatten().enumerate() {
        validate::role(shape, i, m, &["user", "assistant"])?;
    }
    if let Some(Value::Array(stops)) = o.get("stop_sequences") {
        for (i, s) in stops.iter().enumerate() {
            validate::check(shape, &format!("stop_sequences.{i}"), s, Rule::Str)?;
        }
    }
    if let Some(t) = o.get("tools").filter(|t| !t.is_null()) {
        validate::tools(shape, t, false)?;
    }
    if o["messages"].as_array().is_some_and(Vec::is_empty) {
        return Err(ApiError::bad_request(
            shape,
            "messages: at least one message is required",
        ));
    }
    serde_json::from_value(v).map_err(|e| ApiError::bad_request(shape, format!("{e}")))
}

/// The checks that need the model: output limit and context window.
fn fits(shape: Shape, max_tokens: u64, model: &ModelEntry, prompt: u64) -> Result<(), ApiError> {
    validate::max_output(
        shape,
        "max_tokens",
        max_tokens,
        &model.spec.id,
        model.window,
    )?;
    validate::context(shape, prompt, max_tokens, model.window)
}

#[derive(Debug, Deserialize)]
pub struct AMessage {
    pub role: String,
    pub content: Value,
}

/// One block of the prompt before accumulation.
#[derive(Debug)]
struct PBlock {
    tokens: u64,
    hash: u64,
    breakpoint: Option<CacheTtl>,
}

fn ttl_of(shape: Shape, cc: Option<&Value>) -> Result<Option<CacheTtl>, ApiError> {
    let Some(cc) = cc else { return Ok(None) };
    if cc.is_null() {
        return Ok(None);
    }
    if cc.get("type").and_then(Value::as_str) != Some("ephemeral") {
        return Err(ApiError::bad_request(
            shape,
            "cache_control.type: Input should be 'ephemeral'",
        ));
    }
    match cc.get("ttl").and_then(Value::as_str) {
        None => Ok(Some(CacheTtl::FiveMinutes)),
        Some(t) => CacheTtl::parse(t)
            .filter(|t| matches!(t, CacheTtl::FiveMinutes | CacheTtl::OneHour))
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(
                    shape,
                    format!("cache_control.ttl: Input should be '5m' or '1h', got {t:?}"),
                )
            }),
    }
}

fn strip_cc(v: &Value) -> String {
    match v {
        Value::Object(o) if o.contains_key("cache_control") => {
            let mut o = o.clone();
            o.remove("cache_control");
            Value::Object(o).to_string()
        }
        other => other.to_string(),
    }
}

fn block_text(b: &Value) -> (String, u64) {
    match b.get("type").and_then(Value::as_str) {
        Some("text") => (
            b.get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            0,
        ),
        Some("image" | "document") => (String::new(), tokens::IMAGE_TOKENS),
        Some("tool_use") => (
            format!(
                "{}{}",
                b.get("name").and_then(Value::as_str).unwrap_or(""),
                b.get("input").map(Value::to_string).unwrap_or_default()
            ),
            0,
        ),
        Some("tool_result") => match b.get("content") {
            Some(Value::String(s)) => (s.clone(), 0),
            Some(Value::Array(parts)) => {
                let mut s = String::new();
                let mut extra = 0;
                for p in parts {
                    let (t, e) = block_text(p);
                    s.push_str(&t);
                    extra += e;
                }
                (s, extra)
            }
            _ => (String::new(), 0),
        },
        _ => (b.to_string(), 0),
    }
}

/// The prompt as blocks in cache order (tools, system, messages) and the last user text.
struct Prompt {
    blocks: Vec<Block>,
    total: u64,
    last_user: String,
    after_tool_result: bool,
    history: ToolHistory,
}

/// The `system` prompt's blocks (a string or a list of blocks).
fn push_system(shape: Shape, r: &MessagesRequest, raw: &mut Vec<PBlock>) -> Result<(), ApiError> {
    match &r.system {
        Some(Value::String(s)) => raw.push(PBlock {
            tokens: tokens::count(s),
            hash: hash_str(SEED_HASH, s),
            breakpoint: None,
        }),
        Some(Value::Array(blocks)) => {
            for b in blocks {
                let (t, extra) = block_text(b);
                raw.push(PBlock {
                    tokens: tokens::count(&t) + extra,
                    hash: hash_str(SEED_HASH, &strip_cc(b)),
                    breakpoint: ttl_of(shape, b.get("cache_control"))?,
                });
            }
        }
        Some(Value::Null) | None => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                shape,
                "system: Input should be a valid string or list of blocks",
            ));
        }
    }
    Ok(())
}

fn build_prompt(shape: Shape, scope: u64, r: &MessagesRequest) -> Result<Prompt, ApiError> {
    let mut raw: Vec<PBlock> = Vec::new();
    for t in r.tools.iter().flatten() {
        let text = format!(
            "{}{}{}",
            t.get("name").and_then(Value::as_str).unwrap_or(""),
            t.get("description").and_then(Value::as_str).unwrap_or(""),
            t.get("input_schema")
                .map(Value::to_string)
                .unwrap_or_default()
        );
        raw.push(PBlock {
            tokens: tokens::count(&text),
            hash: hash_str(SEED_HASH, &strip_cc(t)),
            breakpoint: ttl_of(shape, t.get("cache_control"))?,
        });
    }
    if let Ok(Some(schema)) = output_schema(shape, r) {
        // The schema reaches the model as prompt (input tokens), after the tools.
        let text = schema.to_string();
        raw.push(PBlock {
            tokens: tokens::count(&text),
            hash: hash_str(SEED_HASH, &text),
            breakpoint: None,
        });
    }
    push_system(shape, r, &mut raw)?;
    let mut last_user = String::new();
    let mut after_tool_result = false;
    let mut history = ToolHistory::default();
    for (i, m) in r.messages.iter().enumerate() {
        note_tools(&mut history, m);
        if m.role != "user" && m.role != "assistant" {
            return Err(ApiError::bad_request(
                shape,
                format!("messages.{i}.role: Input should be 'user' or 'assistant'"),
            ));
        }
        let role_hash = hash_str(SEED_HASH, &m.role);
        let first = raw.len();
        match &m.content {
            Value::String(s) => {
                raw.push(PBlock {
                    tokens: tokens::count(s),
                    hash: hash_str(role_hash, s),
                    breakpoint: None,
                });
                if m.role == "user" {
                    last_user = s.clone();
                    after_tool_result = false;
                }
            }
            Value::Array(blocks) => {
                if m.role == "user" {
                    after_tool_result = blocks
                        .iter()
                        .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"));
                }
                let mut text_of_msg = String::new();
                for b in blocks {
                    let (t, extra) = block_text(b);
                    if b.get("type").and_then(Value::as_str) == Some("text") {
                        text_of_msg.push_str(&t);
                    }
                    raw.push(PBlock {
                        tokens: tokens::count(&t) + extra,
                        hash: hash_str(role_hash, &strip_cc(b)),
                        breakpoint: ttl_of(shape, b.get("cache_control"))?,
                    });
                }
                if m.role == "user" && !text_of_msg.is_empty() {
                    last_user = text_of_msg;
                }
            }
            _ => {
                return Err(ApiError::bad_request(
                    shape,
                    format!("messages.{i}.content: Input should be a valid string or list"),
                ));
            }
        }
        if m.role == "assistant" {
            after_tool_result = false;
        }
        if let Some(b) = raw.get_mut(first) {
            b.tokens += tokens::PER_MESSAGE;
        } else {
            raw.push(PBlock {
                tokens: tokens::PER_MESSAGE,
                hash: role_hash,
                breakpoint: None,
            });
        }
    }
    // A top-level cache_control puts the breakpoint on the last cacheable block.
    if let Some(ttl) = ttl_of(shape, r.cache_control.as_ref())?
        && let Some(last) = raw.last_mut()
    {
        last.breakpoint = Some(ttl);
    }
    let n_bp = raw.iter().filter(|b| b.breakpoint.is_some()).count();
    if n_bp > 4 {
        return Err(ApiError::bad_request(
            shape,
            format!("A maximum of 4 blocks with cache_control may be provided. Found {n_bp}."),
        ));
    }
    let mut cum = 0;
    let mut h = scope;
    let blocks: Vec<Block> = raw
        .iter()
        .map(|b| {
            cum += b.tokens;
            h = crate::cache::mix(h, b.hash);
            Block {
                cum_tokens: cum,
                cum_hash: h,
                breakpoint: b.breakpoint,
            }
        })
        .collect();
    Ok(Prompt {
        blocks,
        total: cum,
        last_user,
        after_tool_result,
        history,
    })
}

/// A message's part in the tool history: an assistant message's `tool_use` blocks are one
/// round; a user message with text (not only tool results) starts a new turn.
fn note_tools(h: &mut ToolHistory, m: &AMessage) {
    let blocks = m.content.as_array().map(Vec::as_slice).unwrap_or_default();
    let kind = |b: &Value| b.get("type").and_then(Value::as_str).map(str::to_string);
    if m.role == "user" {
        if m.content.is_string() || blocks.iter().any(|b| kind(b).as_deref() == Some("text")) {
            h.user_turn();
        }
        return;
    }
    h.other();
    for b in blocks
        .iter()
        .filter(|b| kind(b).as_deref() == Some("tool_use"))
    {
        h.call(b.get("name").and_then(Value::as_str).unwrap_or(""));
    }
}

fn tools_of(r: &MessagesRequest) -> Vec<(String, Value)> {
    r.tools
        .iter()
        .flatten()
        .filter_map(|t| {
            let name = t.get("name")?.as_str()?.to_string();
            Some((
                name,
                t.get("input_schema")
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object"})),
            ))
        })
        .collect()
}

fn usage_json(input: u64, c: &AnthropicCache, output: u64) -> Value {
    json!({
        "input_tokens": input,
        "cache_creation_input_tokens": c.write_5m + c.write_1h,
        "cache_read_input_tokens": c.read,
        "cache_creation": {"ephemeral_5m_input_tokens": c.write_5m, "ephemeral_1h_input_tokens": c.write_1h},
        "output_tokens": output,
        "service_tier": "standard",
    })
}

/// The prompt-cache scope of a request: model and key.
fn scope_for(req: &Req, model_id: &str) -> u64 {
    hash_str(hash_str(SEED_HASH, model_id), &req.key)
}

/// What a messages request asks of the planner (live and batched alike).
fn message_ask(
    r: &MessagesRequest,
    prompt: &Prompt,
    max_tokens: u64,
    reasoning: Reasoning,
    json_schema: Option<Value>,
) -> Ask {
    let mut ask = Ask {
        json_schema,
        reasoning,
        last_user: prompt.last_user.clone(),
        tools: tools_of(r),
        after_tool_result: prompt.after_tool_result,
        history: prompt.history.clone(),
        max_tokens: Some(max_tokens),
        stop: r.stop_sequences.clone().unwrap_or_default(),
        ..Ask::default()
    };
    let choice = r.tool_choice.as_ref();
    match choice.and_then(|c| c.get("type")).and_then(Value::as_str) {
        Some("none") => ask.tools_disabled = true,
        Some("any") => ask.tool_required = true,
        Some("tool") => {
            ask.forced_tool = choice
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
                .map(str::to_string)
        }
        _ => {}
    }
    ask
}

fn stop_reason(plan: &Plan) -> &'static str {
    match plan.finish {
        Finish::Stop if plan.stop_sequence.is_some() => "stop_sequence",
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ToolCalls => "tool_use",
    }
}

/// The reply's content blocks: the thinking block when asked for, then text, or one
/// `tool_use` block per call.
fn content_blocks(plan: &Plan, seed: u64) -> Vec<Value> {
    let mut content: Vec<Value> = Vec::new();
    if plan.reasoning_tokens > 0 {
        content.push(json!({"type": "thinking", "thinking": plan.thinking.concat(), "signature": signature(seed)}));
    }
    if plan.tool_calls.is_empty() {
        content.push(json!({"type": "text", "text": plan.text()}));
    }
    for c in &plan.tool_calls {
        content.push(json!({"type": "tool_use", "id": format!("toolu_{}", c.id_suffix), "name": c.name, "input": c.arguments}));
    }
    content
}

/// The answer to a messages request, live or batched: the message object and the tokens it
/// bills (the output as planned; a stream cut short bills less, see [`messages`]).
fn message(
    id: &str,
    model: &str,
    plan: &Plan,
    input: u64,
    cache: &AnthropicCache,
    seed: u64,
) -> (Value, Tokens) {
    let body = json!({
        "id": id, "type": "message", "role": "assistant", "model": model, "content": content_blocks(plan, seed),
        "stop_reason": stop_reason(plan), "stop_sequence": plan.stop_sequence, "usage": usage_json(input, cache, plan.billed_output()),
    });
    (
        body,
        anthropic_tokens(input, cache, plan.output_tokens, plan.reasoning_tokens),
    )
}

/// The billed tokens of an answer: thinking bills as output.
fn anthropic_tokens(input: u64, cache: &AnthropicCache, output: u64, thinking: u64) -> Tokens {
    Tokens {
        input,
        cache_write_5m: cache.write_5m,
        cache_write_1h: cache.write_1h,
        cache_read: cache.read,
        output: output + thinking,
        reasoning: thinking,
        ..Tokens::default()
    }
}

/// Reads a messages request's required fields (live and batched alike).
fn required(shape: Shape, r: &MessagesRequest) -> Result<u64, ApiError> {
    let Some(max_tokens) = r.max_tokens else {
        return Err(ApiError::bad_request(shape, "max_tokens: Field required"));
    };
    if r.messages.is_empty() {
        return Err(ApiError::bad_request(
            shape,
            "messages: at least one message is required",
        ));
    }
    Ok(max_tokens)
}

/// A live messages request once planned: what admission, billing and the answer need.
struct Planned {
    prompt: Prompt,
    plan: Plan,
    /// The request's content seed (plan, latency and the thinking signature).
    seed: u64,
    stream: bool,
}

/// A live messages request admitted and billed: what sending its answer needs.
struct Billed {
    outcome: Outcome,
    /// Input tokens neither read from the prompt cache nor written to it.
    input: u64,
    cache: AnthropicCache,
    timing: Timing,
    headers: HeaderMap,
    inflight: Inflight,
}

/// The steps after planning: faults, rate limit, prompt cache and accounting.
async fn admit_and_bill(req: &Req, call: &Call, planned: &Planned) -> Result<Billed, ApiError> {
    let (prompt, plan, stream) = (&planned.prompt, &planned.plan, planned.stream);
    let min = u64::from(call.model.spec.min_cacheable_tokens);
    if let Some(kind) = call.fault {
        if kind == FaultKind::Timeout {
            // The prompt was processed: billed as input, with the prompt cache applied (its
            // writes never become readable through this request: no response begins).
            let cache = req
                .state
                .cache
                .anthropic(&prompt.blocks, min, Instant::now(), None);
            let input = prompt.total - cache.read - cache.write_5m - cache.write_1h;
            return Err(req
                .timeout(call, anthropic_tokens(input, &cache, 0, 0), stream)
                .await);
        }
        if !(stream && kind == FaultKind::StreamError)
            && let Some(e) = req.fault_error(call, kind)
        {
            return Err(e);
        }
    }
    let cache_read = req
        .state
        .cache
        .anthropic_peek(&prompt.blocks, Instant::now());
    let snapshot = req.rate_limit(
        call,
        Admission {
            input: prompt.total,
            cache_read,
            output: plan.billed_output(),
            output_cap: plan.output_cap,
        },
    )?;
    let timing = Timing::new(&req.cfg, call, planned.seed);
    let now = Instant::now();
    // Readable once this response begins (its first token, thinking included).
    let cache = req
        .state
        .cache
        .anthropic(&prompt.blocks, min, now, Some(now + timing.ttft));
    let input = prompt.total - cache.read - cache.write_5m - cache.write_1h;
    let output = match call.fault {
        Some(FaultKind::StreamCut | FaultKind::StreamError) if stream => plan.output_tokens / 2,
        _ => plan.output_tokens,
    };
    let outcome = req.charge(
        call,
        Charge::answered(
            anthropic_tokens(input, &cache, output, plan.reasoning_tokens),
            call.fault,
            Delivery::live(stream),
        ),
    );
    let mut headers = HeaderMap::new();
    req.limit_headers(&snapshot, &mut headers);
    plan.warn(&mut headers);
    Ok(Billed {
        outcome,
        input,
        cache,
        timing,
        headers,
        inflight: Inflight::new(&req.state),
    })
}

/// A server-sent event before it is framed: its name, its data and whether it carries a
/// token.
type Event = (&'static str, String, bool);

/// The events of a streamed message: message_start, then per block: start, ping (after the
/// first), deltas, stop; message_delta, message_stop.
fn stream_events(id: &str, model: &str, planned: &Planned, billed: &Billed) -> Vec<Event> {
    let (plan, input, cache) = (&planned.plan, billed.input, &billed.cache);
    let mut events: Vec<Event> = Vec::new();
    let mut start_usage = usage_json(input, cache, 1);
    start_usage["output_tokens"] = json!(1);
    events.push((
        "message_start",
        json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null, "usage": start_usage}})
        .to_string(),
        false,
    ));
    // Extended thinking: a `thinking` block first; the reply's blocks follow it.
    let first = usize::from(plan.reasoning_tokens > 0);
    if first == 1 {
        thinking_events(plan, planned.seed, &mut events);
    }
    if plan.tool_calls.is_empty() {
        text_events(plan, first, &mut events);
    }
    tool_use_events(plan, first, &mut events);
    events.push((
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(plan), "stop_sequence": plan.stop_sequence},
            "usage": {"input_tokens": input, "cache_creation_input_tokens": cache.write_5m + cache.write_1h,
                "cache_read_input_tokens": cache.read, "output_tokens": plan.billed_output()}})
        .to_string(),
        false,
    ));
    events.push((
        "message_stop",
        "{\"type\":\"message_stop\"}".to_string(),
        false,
    ));
    events
}

/// The `thinking` block at index 0, as Anthropic streams it: start, ping, a thinking_delta
/// per token, the signature_delta, stop.
fn thinking_events(plan: &Plan, seed: u64, events: &mut Vec<Event>) {
    events.push(("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}).to_string(), false));
    events.push(("ping", "{\"type\": \"ping\"}".to_string(), false));
    for p in &plan.thinking {
        events.push((
            "content_block_delta",
            format!("{{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"thinking_delta\",\"thinking\":{}}}}}", Value::String(p.to_string())),
            true,
        ));
    }
    events.push((
        "content_block_delta",
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": signature(seed)}}).to_string(),
        false,
    ));
    events.push((
        "content_block_stop",
        "{\"type\":\"content_block_stop\",\"index\":0}".to_string(),
        false,
    ));
}

/// The text block at index `first`: start, ping (when it is the first block), a text_delta
/// per token, stop.
fn text_events(plan: &Plan, first: usize, events: &mut Vec<Event>) {
    events.push(("content_block_start", json!({"type": "content_block_start", "index": first, "content_block": {"type": "text", "text": ""}}).to_string(), false));
    if first == 0 {
        events.push(("ping", "{\"type\": \"ping\"}".to_string(), false));
    }
    for p in &plan.pieces {
        events.push((
            "content_block_delta",
            format!("{{\"type\":\"content_block_delta\",\"index\":{first},\"delta\":{{\"type\":\"text_delta\",\"text\":{}}}}}", Value::String(p.to_string())),
            true,
        ));
    }
    events.push((
        "content_block_stop",
        format!("{{\"type\":\"content_block_stop\",\"index\":{first}}}"),
        false,
    ));
}

/// One `tool_use` block per call from index `first`: start, ping (for the first block), an
/// input_json_delta per token, stop.
fn tool_use_events(plan: &Plan, first: usize, events: &mut Vec<Event>) {
    for (i, c) in plan.tool_calls.iter().enumerate() {
        let i = i + first;
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": format!("toolu_{}", c.id_suffix), "name": c.name, "input": {}}}).to_string(),
            false,
        ));
        if i == 0 {
            events.push(("ping", "{\"type\": \"ping\"}".to_string(), false));
        }
        for p in tokens::token_pieces(&c.arguments_text, usize::MAX).0 {
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": p}}).to_string(),
                true,
            ));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": i}).to_string(),
            false,
        ));
    }
}

/// The stream's frames with the call's stream fault applied (an error event halfway, or a
/// malformed frame halfway), and where a `stream_cut` fault ends them.
fn stream_frames(mut events: Vec<Event>, fault: Option<FaultKind>) -> (FrameFn, Option<usize>) {
    let mut cut_at = None;
    match fault {
        Some(FaultKind::StreamError) => {
            events.truncate(events.len() / 2);
            events.push(("error", json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}).to_string(), false));
        }
        Some(FaultKind::StreamCut) => cut_at = Some(events.len() / 2),
        Some(FaultKind::Malformed) => {
            let at = events.len() / 2;
            events.insert(
                at,
                (
                    "content_block_delta",
                    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{".to_string(),
                    false,
                ),
            );
        }
        _ => {}
    }
    let frame_fn: FrameFn = Box::new(move |i| {
        let (event, data, token) = events.get(i)?;
        Some(Frame {
            data: sse_event(event, data),
            token: *token,
        })
    });
    (frame_fn, cut_at)
}

/// `POST /v1/messages`.
pub(crate) async fn messages(
    Extension(req): Extension<Arc<Req>>,
    body: Result<RawBody, ApiError>,
) -> Result<Response, ApiError> {
    // Providers check the key before the body.
    req.check_auth()?;
    let RawBody(bytes) = body?;
    let r: MessagesRequest = read(req.shape, parse_json(req.shape, &bytes)?, true)?;
    let mut call = req.admit(&r.model)?;
    let max_tokens = required(req.shape, &r)?;
    call.tier = validate::anthropic_tier(req.shape, r.service_tier.as_ref())?;
    let reasoning = thinking_of(req.shape, r.thinking.as_ref(), &call.model, max_tokens)?;
    let json_schema = output_schema(req.shape, &r)?;
    let (shape, scope) = (req.shape, scope_for(&req, &call.model.spec.id));
    let (r, prompt) = off_thread(&req, bytes.len(), move || {
        let prompt = build_prompt(shape, scope, &r);
        (r, prompt)
    })
    .await?;
    let prompt = prompt?;
    fits(req.shape, max_tokens, &call.model, prompt.total)?;
    let ask = message_ask(&r, &prompt, max_tokens, reasoning, json_schema);
    let seed = content_seed(req.cfg.seed, &bytes);
    let planned = Planned {
        plan: plan(&req.cfg, &call.model, call.forced(), &ask, seed),
        prompt,
        seed,
        stream: r.stream.unwrap_or(false),
    };
    let mut billed = admit_and_bill(&req, &call, &planned).await?;
    let id = format!("msg_{}", &req.request_id[4..]);
    let plan = &planned.plan;
    if !planned.stream {
        let (body, _) = message(&id, &r.model, plan, billed.input, &billed.cache, seed);
        let delay = billed.timing.total(plan.billed_output());
        let resp = json_response(&body, billed.headers, delay, call.fault).await;
        drop(billed.outcome);
        drop(billed.inflight);
        return Ok(resp);
    }
    let events = stream_events(&id, &r.model, &planned, &billed);
    let (frames, cut_at) = stream_frames(events, call.fault);
    Ok(sse_response(
        frames,
        billed.timing,
        billed.outcome,
        billed.inflight,
        cut_at,
        billed.headers,
    ))
}

#[derive(Debug, Deserialize)]
pub struct CountRequest {
    pub model: String,
    pub messages: Vec<AMessage>,
    pub system: Option<Value>,
    pub tools: Option<Vec<Value>>,
    pub output_config: Option<Value>,
    pub output_format: Option<Value>,
}

/// `POST /v1/messages/count_tokens`: the prompt's input tokens by the mock's rule.
pub(crate) async fn count_tokens(
    Extension(req): Extension<Arc<Req>>,
    body: Result<RawBody, ApiError>,
) -> Result<Response, ApiError> {
    // Providers check the key before the body.
    req.check_auth()?;
    let RawBody(bytes) = body?;
    let c: CountRequest = read(req.shape, parse_json(req.shape, &bytes)?, false)?;
    req.check_model_name(&c.model)?;
    req.check_auth()?;
    if req.cfg.model(&c.model, Provider::Anthropic).is_none() {
        return Err(req.unknown_model(&c.model));
    }
    let r = MessagesRequest {
        model: c.model,
        messages: c.messages,
        system: c.system,
        max_tokens: None,
        stream: None,
        tools: c.tools,
        tool_choice: None,
        cache_control: None,
        stop_sequences: None,
        thinking: None,
        service_tier: None,
        output_config: c.output_config,
        output_format: c.output_format,
    };
    let shape = req.shape;
    let p = off_thread(&req, bytes.len(), move || build_prompt(shape, 0, &r)).await??;
    Ok(ok_json(json!({"input_tokens": p.total})))
}

/// Answers one batch request (no latency, faults or rate limits): the message body and its
/// tokens, priced by the caller at the batch rate.
pub(crate) fn batch_line(
    req: &Req,
    params: &Value,
    seed: u64,
) -> Result<(Value, Tokens, Arc<ModelEntry>), ApiError> {
    let r: MessagesRequest = read(req.shape, params.clone(), true)?;
    let model = req
        .cfg
        .model(&r.model, Provider::Anthropic)
        .ok_or_else(|| req.unknown_model(&r.model))?;
    let max_tokens = required(req.shape, &r)?;
    validate::anthropic_tier(req.shape, r.service_tier.as_ref())?;
    let reasoning = thinking_of(req.shape, r.thinking.as_ref(), &model, max_tokens)?;
    let json_schema = output_schema(req.shape, &r)?;
    let prompt = build_prompt(req.shape, scope_for(req, &model.spec.id), &r)?;
    fits(req.shape, max_tokens, &model, prompt.total)?;
    let ask = message_ask(&r, &prompt, max_tokens, reasoning, json_schema);
    let plan = plan(&req.cfg, &model, Forced::default(), &ask, seed);
    let now = Instant::now();
    let cache = req.state.cache.anthropic(
        &prompt.blocks,
        u64::from(model.spec.min_cacheable_tokens),
        now,
        Some(now),
    );
    let input = prompt.total - cache.read - cache.write_5m - cache.write_1h;
    let (body, tokens) = message(
        &format!("msg_{seed:016x}"),
        &r.model,
        &plan,
        input,
        &cache,
        seed,
    );
    Ok((body, tokens, model))
}
