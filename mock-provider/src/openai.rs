//! OpenAI-compatible endpoints: chat completions, responses, embeddings, models.

use crate::cache::{SEED_HASH, hash_str, mix};
use crate::common::*;
use crate::config::FaultKind;
use crate::error::{ApiError, Shape};
use crate::plan::{Ask, Finish, Plan, plan};
use crate::state::AppState;
use crate::tokens;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// Placeholder token ids for the per-message overhead (hashed, never decoded).
const MARK: u32 = 0xFFFF_0000;

#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub stream: Option<bool>,
    pub stream_options: Option<StreamOptions>,
    pub max_tokens: Option<u64>,
    pub max_completion_tokens: Option<u64>,
    pub tools: Option<Vec<Value>>,
    pub tool_choice: Option<Value>,
    pub response_format: Option<Value>,
    pub prompt_cache_key: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct StreamOptions {
    pub include_usage: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: Option<Value>,
    pub name: Option<String>,
    pub tool_calls: Option<Vec<Value>>,
}

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

fn chat_prompt(r: &ChatRequest) -> Vec<u32> {
    let mut b = PromptBuilder::new();
    if let Some(tools) = &r.tools
        && !tools.is_empty()
    {
        b.text(&Value::Array(tools.clone()).to_string());
    }
    if let Some(rf) = &r.response_format
        && rf.get("type").and_then(Value::as_str) == Some("json_schema")
    {
        b.text(&rf.to_string());
    }
    for m in &r.messages {
        let (mut text, extra) = content_text(m.content.as_ref());
        for call in m.tool_calls.iter().flatten() {
            if let Some(f) = call.get("function") {
                text.push_str(f.get("name").and_then(Value::as_str).unwrap_or(""));
                text.push_str(f.get("arguments").and_then(Value::as_str).unwrap_or(""));
            }
        }
        b.message(&m.role, &text, extra, m.name.as_deref());
    }
    b.finish()
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

fn usage_json(prompt: u64, cached: u64, completion: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    })
}

/// The `usage` object of a chat completion (typed: serialized without a `Value` tree).
#[derive(Debug, Clone, Copy, Serialize)]
struct ChatUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct PromptDetails {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

impl ChatUsage {
    fn new(prompt: u64, cached: u64, completion: u64) -> ChatUsage {
        ChatUsage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            prompt_tokens_details: PromptDetails {
                cached_tokens: cached,
                audio_tokens: 0,
            },
            completion_tokens_details: CompletionDetails {
                reasoning_tokens: 0,
                audio_tokens: 0,
                accepted_prediction_tokens: 0,
                rejected_prediction_tokens: 0,
            },
        }
    }
}

/// A non-streamed chat completion, serialized directly.
#[derive(Debug, Serialize)]
struct ChatCompletion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [ChatChoice<'a>; 1],
    usage: ChatUsage,
    service_tier: &'static str,
    system_fingerprint: &'static str,
}

#[derive(Debug, Serialize)]
struct ChatChoice<'a> {
    index: u32,
    message: ChatMessageOut<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Debug, Serialize)]
struct ChatMessageOut<'a> {
    role: &'static str,
    content: Option<String>,
    refusal: Option<()>,
    annotations: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<Vec<ToolCallOut<'a>>>,
}

#[derive(Debug, Serialize)]
struct ToolCallOut<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<'a>,
}

#[derive(Debug, Serialize)]
struct FunctionOut<'a> {
    name: &'a str,
    arguments: &'a str,
}

fn finish_str(f: Finish) -> &'static str {
    match f {
        Finish::Stop => "stop",
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
    }
}

/// Prefix-cache lookup for an OpenAI prompt.
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
    pub snapshot: crate::ratelimit::Snapshot,
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
    req.base_headers(&mut headers);
    req.limit_headers(&snapshot, &mut headers);
    Ok(Prepared {
        snapshot,
        outcome,
        prompt,
        cached,
        timing: Timing::new(&req.cfg, call, seed),
        headers,
        inflight: Inflight::new(&req.state),
    })
}

/// What a chat completions request asks of the planner; the live endpoint and the batch API
/// read it the same way.
fn chat_ask(r: &ChatRequest) -> Ask {
    let mut ask = Ask {
        last_user: r
            .messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| content_text(m.content.as_ref()).0)
            .unwrap_or_default(),
        tools: tool_list(r.tools.as_ref(), true),
        after_tool_result: r.messages.last().is_some_and(|m| m.role == "tool"),
        max_tokens: r.max_completion_tokens.or(r.max_tokens),
        ..Ask::default()
    };
    apply_tool_choice(&mut ask, r.tool_choice.as_ref());
    json_format(&mut ask, r.response_format.as_ref());
    ask
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
    let plan = plan(
        &req.cfg,
        &call.model.output_tokens,
        call.forced_output,
        ask,
        seed,
    );
    let prepared = prepare(req, call, ids, cache_key, &plan, stream, seed).await?;
    Ok((plan, prepared))
}

pub async fn chat(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<RawBody, ApiError>,
) -> Response {
    let req = Req::new(st, Shape::OpenAi, "chat.completions", &headers);
    match chat_inner(&req, body).await {
        Ok(r) => r,
        Err(e) => req.fail(e),
    }
}

async fn chat_inner(req: &Req, body: Result<RawBody, ApiError>) -> Result<Response, ApiError> {
    let RawBody(bytes) = body?;
    let r: ChatRequest = parse_json(req.shape, &bytes)?;
    let call = req.admit(&r.model)?;
    if r.messages.is_empty() {
        return Err(
            ApiError::bad_request(req.shape, "[] is too short - 'messages'").with_param("messages"),
        );
    }
    let ids = chat_prompt(&r);
    let ask = chat_ask(&r);
    let stream = r.stream.unwrap_or(false);
    let (plan, mut p) = plan_and_prepare(
        req,
        &call,
        &bytes,
        &ask,
        &ids,
        r.prompt_cache_key.as_deref(),
        stream,
    )
    .await?;
    let id = format!("chatcmpl-{}", &req.request_id[4..]);
    let created = unix_now();
    let model = r.model.clone();
    let usage = ChatUsage::new(p.prompt, p.cached, plan.output_tokens);
    if !stream {
        let tool_calls: Option<Vec<ToolCallOut>> = (!plan.tool_calls.is_empty()).then(|| {
            plan.tool_calls
                .iter()
                .map(|c| ToolCallOut {
                    id: format!("call_{}", c.id_suffix),
                    kind: "function",
                    function: FunctionOut {
                        name: &c.name,
                        arguments: &c.arguments_text,
                    },
                })
                .collect()
        });
        let body = ChatCompletion {
            id: &id,
            object: "chat.completion",
            created,
            model: &model,
            choices: [ChatChoice {
                index: 0,
                message: ChatMessageOut {
                    role: "assistant",
                    content: tool_calls.is_none().then(|| plan.text()),
                    refusal: None,
                    annotations: [],
                    tool_calls,
                },
                logprobs: None,
                finish_reason: finish_str(plan.finish),
            }],
            usage,
            service_tier: "default",
            system_fingerprint: "fp_burnrate_mock",
        };
        let delay = p.timing.total(plan.output_tokens);
        let resp = json_response(&body, p.headers, delay, call.fault).await;
        drop(p.outcome);
        drop(p.inflight);
        return Ok(resp);
    }
    let include_usage = r
        .stream_options
        .as_ref()
        .and_then(|o| o.include_usage)
        .unwrap_or(false);
    // Frame plan: role, tokens (text pieces or tool head + argument pieces), finish, usage, DONE.
    #[derive(Debug)]
    enum Spec {
        Role,
        Text(usize),
        ToolHead(usize),
        ToolArg(usize, usize),
        Finish,
        Usage,
        Done,
        Error,
        Malformed,
    }
    let arg_pieces: Vec<Vec<String>> = plan
        .tool_calls
        .iter()
        .map(|c| tokens::token_pieces(&c.arguments_text, usize::MAX).0)
        .collect();
    let mut specs = vec![Spec::Role];
    if plan.tool_calls.is_empty() {
        specs.extend((0..plan.pieces.len()).map(Spec::Text));
    } else {
        for (t, pieces) in arg_pieces.iter().enumerate() {
            specs.push(Spec::ToolHead(t));
            specs.extend((0..pieces.len()).map(|i| Spec::ToolArg(t, i)));
        }
    }
    let mut cut_at = None;
    match call.fault {
        Some(FaultKind::StreamError) => {
            specs.truncate(specs.len() / 2 + 1);
            specs.push(Spec::Error);
        }
        Some(FaultKind::StreamCut) => cut_at = Some(specs.len() / 2 + 1),
        Some(FaultKind::Malformed) => {
            let at = specs.len() / 2 + 1;
            specs.insert(at, Spec::Malformed);
        }
        _ => {}
    }
    if !matches!(call.fault, Some(FaultKind::StreamError)) {
        specs.push(Spec::Finish);
        if include_usage {
            specs.push(Spec::Usage);
        }
        specs.push(Spec::Done);
    }
    let usage_tail = if include_usage { ",\"usage\":null" } else { "" };
    let head = format!(
        "{{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":{},\"system_fingerprint\":\"fp_burnrate_mock\",\"choices\":[{{\"index\":0,\"delta\":",
        Value::String(model.clone())
    );
    let finish = finish_str(plan.finish);
    let tool_ids: Vec<(String, String)> = plan
        .tool_calls
        .iter()
        .map(|c| (format!("call_{}", c.id_suffix), c.name.clone()))
        .collect();
    let pieces = plan.pieces;
    let usage_text = serde_json::to_string(&usage).unwrap_or_default();
    let frames: FrameFn = Box::new(move |i| {
        let spec = specs.get(i)?;
        let chunk = |delta: String, finish: &str, token: bool| Frame {
            data: sse_data(&format!(
                "{head}{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]{usage_tail}}}"
            )),
            token,
        };
        Some(match spec {
            Spec::Role => chunk("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}".into(), "null", false),
            Spec::Text(k) => chunk(format!("{{\"content\":{}}}", Value::String(pieces[*k].to_string())), "null", true),
            Spec::ToolHead(t) => chunk(
                format!(
                    "{{\"tool_calls\":[{{\"index\":{t},\"id\":\"{}\",\"type\":\"function\",\"function\":{{\"name\":{},\"arguments\":\"\"}}}}]}}",
                    tool_ids[*t].0,
                    Value::String(tool_ids[*t].1.clone())
                ),
                "null",
                true,
            ),
            Spec::ToolArg(t, k) => chunk(
                format!("{{\"tool_calls\":[{{\"index\":{t},\"function\":{{\"arguments\":{}}}}}]}}", Value::String(arg_pieces[*t][*k].clone())),
                "null",
                true,
            ),
            Spec::Finish => chunk("{}".into(), &format!("\"{finish}\""), false),
            Spec::Usage => Frame {
                data: sse_data(&format!(
                    "{{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":{},\"system_fingerprint\":\"fp_burnrate_mock\",\"choices\":[],\"usage\":{usage_text}}}",
                    Value::String(model.clone())
                )),
                token: false,
            },
            Spec::Done => Frame { data: sse_data("[DONE]"), token: false },
            Spec::Error => Frame {
                data: sse_data(&json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": null, "code": null}}).to_string()),
                token: false,
            },
            Spec::Malformed => Frame { data: sse_data("{\"id\":\"chatcmpl-broken\",\"choices\":[{\"delta\":"), token: false },
        })
    });
    let _ = p.snapshot;
    let timing = std::mem::replace(&mut p.timing, Timing::new(&req.cfg, &call, 0));
    Ok(sse_response(
        frames, timing, p.outcome, p.inflight, cut_at, p.headers,
    ))
}

// ---------------------------------------------------------------- Responses API

#[derive(Debug, Deserialize)]
pub struct ResponsesRequest {
    pub model: String,
    pub input: Option<Value>,
    pub instructions: Option<String>,
    pub stream: Option<bool>,
    pub max_output_tokens: Option<u64>,
    pub tools: Option<Vec<Value>>,
    pub tool_choice: Option<Value>,
    pub text: Option<Value>,
    pub prompt_cache_key: Option<String>,
}

fn responses_prompt(r: &ResponsesRequest) -> (Vec<u32>, String, bool) {
    let mut b = PromptBuilder::new();
    if let Some(tools) = &r.tools
        && !tools.is_empty()
    {
        b.text(&Value::Array(tools.clone()).to_string());
    }
    if let Some(i) = &r.instructions {
        b.message("system", i, 0, None);
    }
    let mut last_user = String::new();
    let mut after_tool = false;
    match &r.input {
        Some(Value::String(s)) => {
            b.message("user", s, 0, None);
            last_user = s.clone();
        }
        Some(Value::Array(items)) => {
            for item in items {
                let ty = item
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("message");
                match ty {
                    "function_call_output" => {
                        let out = item.get("output").map(|o| {
                            o.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| o.to_string())
                        });
                        b.message("tool", &out.unwrap_or_default(), 0, None);
                        after_tool = true;
                    }
                    "function_call" => {
                        let text = format!(
                            "{}{}",
                            item.get("name").and_then(Value::as_str).unwrap_or(""),
                            item.get("arguments").and_then(Value::as_str).unwrap_or("")
                        );
                        b.message("assistant", &text, 0, None);
                        after_tool = false;
                    }
                    _ => {
                        let role = item.get("role").and_then(Value::as_str).unwrap_or("user");
                        let (text, extra) = content_text(item.get("content"));
                        b.message(role, &text, extra, None);
                        if role == "user" {
                            last_user = text;
                        }
                        after_tool = false;
                    }
                }
            }
        }
        _ => {}
    }
    (b.finish(), last_user, after_tool)
}

pub async fn responses(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<RawBody, ApiError>,
) -> Response {
    let req = Req::new(st, Shape::OpenAi, "responses", &headers);
    match responses_inner(&req, body).await {
        Ok(r) => r,
        Err(e) => req.fail(e),
    }
}

async fn responses_inner(req: &Req, body: Result<RawBody, ApiError>) -> Result<Response, ApiError> {
    let RawBody(bytes) = body?;
    let r: ResponsesRequest = parse_json(req.shape, &bytes)?;
    let call = req.admit(&r.model)?;
    if r.input.is_none() {
        return Err(
            ApiError::bad_request(req.shape, "Missing required parameter: 'input'.")
                .with_param("input"),
        );
    }
    let (ids, last_user, after_tool) = responses_prompt(&r);
    let mut ask = Ask {
        last_user,
        tools: tool_list(r.tools.as_ref(), false),
        after_tool_result: after_tool,
        max_tokens: r.max_output_tokens,
        ..Ask::default()
    };
    apply_tool_choice(&mut ask, r.tool_choice.as_ref());
    json_format(&mut ask, r.text.as_ref().and_then(|t| t.get("format")));
    let stream = r.stream.unwrap_or(false);
    let (plan, mut p) = plan_and_prepare(
        req,
        &call,
        &bytes,
        &ask,
        &ids,
        r.prompt_cache_key.as_deref(),
        stream,
    )
    .await?;
    let id = format!("resp_{}", &req.request_id[4..]);
    let msg_id = format!("msg_{}", &req.request_id[4..]);
    let created = unix_now();
    let usage = json!({
        "input_tokens": p.prompt,
        "input_tokens_details": {"cached_tokens": p.cached},
        "output_tokens": plan.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": p.prompt + plan.output_tokens,
    });
    let text = plan.text();
    let output: Vec<Value> = if plan.tool_calls.is_empty() {
        vec![
            json!({"type": "message", "id": msg_id, "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}),
        ]
    } else {
        plan.tool_calls
            .iter()
            .map(|c| json!({"type": "function_call", "id": format!("fc_{}", c.id_suffix), "call_id": format!("call_{}", c.id_suffix),
                "name": c.name, "arguments": c.arguments_text, "status": "completed"}))
            .collect()
    };
    let incomplete = plan.finish == Finish::Length;
    let response = |status: &str, output: Vec<Value>, usage: Value| {
        json!({
            "id": id, "object": "response", "created_at": created, "status": status, "error": null,
            "incomplete_details": if incomplete && status != "in_progress" { json!({"reason": "max_output_tokens"}) } else { Value::Null },
            "instructions": r.instructions, "max_output_tokens": r.max_output_tokens, "model": r.model,
            "output": output, "parallel_tool_calls": true, "previous_response_id": null,
            "temperature": 1.0, "top_p": 1.0, "tool_choice": r.tool_choice.clone().unwrap_or(json!("auto")),
            "tools": r.tools.clone().unwrap_or_default(), "truncation": "disabled", "metadata": {},
            "text": r.text.clone().unwrap_or(json!({"format": {"type": "text"}})),
            "usage": usage,
        })
    };
    let final_status = if incomplete {
        "incomplete"
    } else {
        "completed"
    };
    if !stream {
        let body = response(final_status, output, usage);
        let delay = p.timing.total(plan.output_tokens);
        let resp = json_response(&body, p.headers, delay, call.fault).await;
        drop(p.outcome);
        drop(p.inflight);
        return Ok(resp);
    }
    // Typed SSE events: every frame is rendered up front except the per-token deltas.
    let mut frames: Vec<(String, Value, bool)> = Vec::new();
    frames.push((
        "response.created".into(),
        json!({"response": response("in_progress", vec![], Value::Null)}),
        false,
    ));
    frames.push((
        "response.in_progress".into(),
        json!({"response": response("in_progress", vec![], Value::Null)}),
        false,
    ));
    if plan.tool_calls.is_empty() {
        frames.push((
            "response.output_item.added".into(),
            json!({"output_index": 0, "item": {"type": "message", "id": msg_id, "status": "in_progress", "role": "assistant", "content": []}}),
            false,
        ));
        frames.push((
            "response.content_part.added".into(),
            json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
            false,
        ));
        for piece in &plan.pieces {
            frames.push((
                "response.output_text.delta".into(),
                json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []}),
                true,
            ));
        }
        frames.push((
            "response.output_text.done".into(),
            json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "text": text, "logprobs": []}),
            false,
        ));
        frames.push((
            "response.content_part.done".into(),
            json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": text, "annotations": []}}),
            false,
        ));
        frames.push((
            "response.output_item.done".into(),
            json!({"output_index": 0, "item": output[0]}),
            false,
        ));
    } else {
        for (i, (c, item)) in plan.tool_calls.iter().zip(&output).enumerate() {
            let fc_id = format!("fc_{}", c.id_suffix);
            let mut added = item.clone();
            added["arguments"] = json!("");
            added["status"] = json!("in_progress");
            frames.push((
                "response.output_item.added".into(),
                json!({"output_index": i, "item": added}),
                false,
            ));
            for piece in tokens::token_pieces(&c.arguments_text, usize::MAX).0 {
                frames.push((
                    "response.function_call_arguments.delta".into(),
                    json!({"item_id": fc_id, "output_index": i, "delta": piece}),
                    true,
                ));
            }
            frames.push((
                "response.function_call_arguments.done".into(),
                json!({"item_id": fc_id, "output_index": i, "name": c.name, "arguments": c.arguments_text}),
                false,
            ));
            frames.push((
                "response.output_item.done".into(),
                json!({"output_index": i, "item": item}),
                false,
            ));
        }
    }
    let done_event = if incomplete {
        "response.incomplete"
    } else {
        "response.completed"
    };
    frames.push((
        done_event.into(),
        json!({"response": response(final_status, output.clone(), usage)}),
        false,
    ));
    let mut cut_at = None;
    match call.fault {
        Some(FaultKind::StreamError) => {
            frames.truncate(frames.len() / 2);
            frames.push(("error".into(), json!({"code": "server_error", "message": "The server had an error while processing your request.", "param": null}), false));
        }
        Some(FaultKind::StreamCut) => cut_at = Some(frames.len() / 2),
        _ => {}
    }
    let malformed_at = if call.fault == Some(FaultKind::Malformed) {
        Some(frames.len() / 2)
    } else {
        None
    };
    let frame_fn: FrameFn = Box::new(move |i| {
        if malformed_at == Some(i) {
            return Some(Frame {
                data: sse_event("response.output_text.delta", "{\"type\":\"response.output_"),
                token: false,
            });
        }
        let idx = match malformed_at {
            Some(m) if i > m => i - 1,
            _ => i,
        };
        let (event, data, token) = frames.get(idx)?;
        let mut data = data.clone();
        data["type"] = json!(event);
        data["sequence_number"] = json!(idx);
        Some(Frame {
            data: sse_event(event, &data.to_string()),
            token: *token,
        })
    });
    let timing = std::mem::replace(&mut p.timing, Timing::new(&req.cfg, &call, 0));
    Ok(sse_response(
        frame_fn, timing, p.outcome, p.inflight, cut_at, p.headers,
    ))
}

// ---------------------------------------------------------------- Embeddings

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

pub async fn embeddings(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<RawBody, ApiError>,
) -> Response {
    let req = Req::new(st, Shape::OpenAi, "embeddings", &headers);
    match embeddings_inner(&req, body).await {
        Ok(r) => r,
        Err(e) => req.fail(e),
    }
}

async fn embeddings_inner(
    req: &Req,
    body: Result<RawBody, ApiError>,
) -> Result<Response, ApiError> {
    let RawBody(bytes) = body?;
    let r: EmbeddingsRequest = parse_json(req.shape, &bytes)?;
    let call = req.admit(&r.model)?;
    let invalid = || {
        ApiError::bad_request(
            req.shape,
            "'input' must be a string, an array of strings, or an array of token arrays",
        )
        .with_param("input")
    };
    // Inputs as (text, token count).
    let inputs: Vec<(String, u64)> = match &r.input {
        Value::String(s) => vec![(s.clone(), tokens::count_cl100k(s))],
        Value::Array(items) if !items.is_empty() => {
            if items.iter().all(Value::is_string) {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| (s.to_string(), tokens::count_cl100k(s)))
                    .collect()
            } else if items.iter().all(Value::is_u64) {
                vec![(r.input.to_string(), items.len() as u64)]
            } else if items
                .iter()
                .all(|i| i.as_array().is_some_and(|a| a.iter().all(Value::is_u64)))
            {
                items
                    .iter()
                    .map(|i| (i.to_string(), i.as_array().map_or(0, |a| a.len() as u64)))
                    .collect()
            } else {
                return Err(invalid());
            }
        }
        _ => return Err(invalid()),
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
    let snapshot = req.rate_limit(&call, prompt, 0)?;
    let outcome = req.charge(
        &call,
        Tokens {
            input: prompt,
            ..Tokens::default()
        },
        200,
        call.fault,
        false,
        false,
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
    req.base_headers(&mut headers);
    req.limit_headers(&snapshot, &mut headers);
    let timing = Timing::new(&req.cfg, &call, content_seed(req.cfg.seed, &bytes));
    let resp = json_response(&body, headers, timing.ttft, call.fault).await;
    drop(outcome);
    Ok(resp)
}

// ---------------------------------------------------------------- Models

fn model_json(id: &str, provider: burnrate_sim::Provider, anthropic: bool) -> Value {
    if anthropic {
        json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"})
    } else {
        json!({"id": id, "object": "model", "created": 1_735_689_600u64, "owned_by": provider.as_str()})
    }
}

pub async fn list_models(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let cfg = st.config();
    let anthropic = headers.contains_key("anthropic-version");
    let mut seen = std::collections::BTreeSet::new();
    let data: Vec<Value> = cfg
        .models
        .values()
        .filter(|m| seen.insert(m.spec.id.clone()))
        .filter(|m| !anthropic || m.spec.provider == burnrate_sim::Provider::Anthropic)
        .map(|m| model_json(&m.spec.id, m.spec.provider, anthropic))
        .collect();
    if anthropic {
        let first = data.first().and_then(|d| d.get("id")).cloned();
        let last = data.last().and_then(|d| d.get("id")).cloned();
        return ok_json(
            json!({"data": data, "has_more": false, "first_id": first, "last_id": last}),
        );
    }
    ok_json(json!({"object": "list", "data": data}))
}

pub async fn get_model(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let cfg = st.config();
    let anthropic = headers.contains_key("anthropic-version");
    let shape = if anthropic {
        Shape::Anthropic
    } else {
        Shape::OpenAi
    };
    match cfg.models.get(&id) {
        Some(m) => ok_json(model_json(&id, m.spec.provider, anthropic)),
        None => {
            let req = Req::new(st.clone(), shape, "models", &headers);
            let _ = req.model_name.set(id.clone());
            req.fail(ApiError::model_not_found(shape, &id).with_type("invalid_request_error", None))
        }
    }
}

pub fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Answers one batch line of `/v1/chat/completions` (no latency, faults or rate limits).
pub(crate) fn batch_chat(
    req: &Req,
    body: &Value,
    seed: u64,
) -> Result<(Value, Tokens, Arc<crate::config::ModelEntry>), ApiError> {
    let r: ChatRequest = serde_json::from_value(body.clone())
        .map_err(|e| ApiError::bad_request(req.shape, format!("Invalid request body: {e}")))?;
    let model = req
        .cfg
        .model(&r.model, burnrate_sim::Provider::OpenAi)
        .ok_or_else(|| ApiError::model_not_found(req.shape, &r.model))?;
    let ids = chat_prompt(&r);
    let ask = chat_ask(&r);
    let plan = plan(&req.cfg, &model.output_tokens, None, &ask, seed);
    let call = Call::batch(model.clone());
    let cached = openai_cache(req, &call, &ids, r.prompt_cache_key.as_deref());
    let prompt = ids.len() as u64;
    let tool_calls: Vec<Value> = plan
        .tool_calls
        .iter()
        .map(|c| json!({"id": format!("call_{}", c.id_suffix), "type": "function", "function": {"name": c.name, "arguments": c.arguments_text}}))
        .collect();
    let content = if plan.tool_calls.is_empty() {
        Value::String(plan.text())
    } else {
        Value::Null
    };
    let mut message =
        json!({"role": "assistant", "content": content, "refusal": null, "annotations": []});
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    let body = json!({
        "id": format!("chatcmpl-{seed:016x}"), "object": "chat.completion", "created": unix_now(), "model": r.model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_str(plan.finish)}],
        "usage": usage_json(prompt, cached, plan.output_tokens), "service_tier": "default", "system_fingerprint": "fp_burnrate_mock",
    });
    Ok((
        body,
        Tokens {
            input: prompt - cached,
            cache_read: cached,
            output: plan.output_tokens,
            ..Tokens::default()
        },
        model,
    ))
}
