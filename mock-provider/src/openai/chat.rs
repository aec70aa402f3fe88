//! `POST /v1/chat/completions`: JSON and SSE answers, and batch lines.

use super::{
    CacheAsk, PromptBuilder, apply_tool_choice, cache_options, check_breakpoints, content_text,
    day_retention, json_format, openai_cache, openai_tokens, plan_and_prepare, tool_list,
};
use crate::cache::OpenAiCache;
use crate::config::{FaultKind, ModelEntry};
use crate::error::{ApiError, Shape};
use crate::pipeline::{Call, RawBody, Req, Tokens, content_seed, off_thread, parse_json, unix_now};
use crate::plan::{Ask, Finish, Forced, Plan, Reasoning, ToolHistory, plan_choices};
use crate::streaming::{Frame, FrameFn, sse_data};
use crate::tokens;
use crate::validate::{self, Rule};
use axum::Extension;
use axum::http::StatusCode;
use axum::response::Response;
use burnrate_sim::Provider;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

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
    pub prompt_cache_options: Option<Value>,
    pub prompt_cache_retention: Option<Value>,
    pub service_tier: Option<Value>,
    pub reasoning_effort: Option<String>,
    pub stop: Option<Value>,
    pub n: Option<u64>,
    pub logprobs: Option<bool>,
    pub top_logprobs: Option<u64>,
}

/// Chat completion fields by type and range (the API reference's limits).
const RULES: &[(&str, Rule)] = &[
    ("model", Rule::Str),
    ("messages", Rule::Array),
    ("temperature", Rule::Number(0.0, 2.0)),
    ("top_p", Rule::Number(0.0, 1.0)),
    ("n", Rule::Integer(1, 128)),
    ("max_tokens", Rule::Integer(1, i64::MAX)),
    ("max_completion_tokens", Rule::Integer(1, i64::MAX)),
    ("presence_penalty", Rule::Number(-2.0, 2.0)),
    ("frequency_penalty", Rule::Number(-2.0, 2.0)),
    ("stop", Rule::StringOrStrings(4)),
    ("stream", Rule::Bool),
    ("stream_options", Rule::Object),
    ("tools", Rule::Array),
    ("tool_choice", Rule::StringOrObject),
    ("parallel_tool_calls", Rule::Bool),
    ("response_format", Rule::Object),
    ("seed", Rule::Integer(i64::MIN, i64::MAX)),
    ("logprobs", Rule::Bool),
    ("top_logprobs", Rule::Integer(0, 20)),
    ("user", Rule::Str),
    ("prompt_cache_key", Rule::Str),
    ("prompt_cache_options", Rule::Object),
    ("prompt_cache_retention", Rule::Str),
    ("service_tier", Rule::Str),
    ("reasoning_effort", Rule::Str),
    ("metadata", Rule::Object),
    ("store", Rule::Bool),
];

/// `reasoning_effort` values of OpenAI's spec (`ReasoningEffort`, August 2026).
pub(crate) const EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high", "xhigh", "max"];

const ROLES: &[&str] = &[
    "system",
    "assistant",
    "user",
    "function",
    "tool",
    "developer",
];

/// Reads a chat completions body: every documented field checked, then typed.
fn read(shape: Shape, v: Value) -> Result<ChatRequest, ApiError> {
    let o = validate::object(shape, &v)?;
    for required in ["model", "messages"] {
        if o.get(required).is_none_or(Value::is_null) {
            return Err(validate::missing(shape, required));
        }
    }
    validate::fields(shape, o, RULES)?;
    for (i, m) in o["messages"].as_array().into_iter().flatten().enumerate() {
        validate::role(shape, i, m, ROLES)?;
    }
    if let Some(t) = o.get("tools").filter(|t| !t.is_null()) {
        validate::tools(shape, t, true)?;
    }
    if let Some(Value::String(e)) = o.get("reasoning_effort")
        && !EFFORTS.contains(&e.as_str())
    {
        return Err(validate::enum_error(shape, "reasoning_effort", e, EFFORTS));
    }
    let r: ChatRequest = serde_json::from_value(v)
        .map_err(|e| ApiError::bad_request(shape, format!("Invalid request body: {e}")))?;
    if r.top_logprobs.is_some() && r.logprobs != Some(true) {
        // The API reference: "logprobs must be set to true if this parameter is used".
        return Err(ApiError::bad_request(
            shape,
            "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is used.",
        )
        .with_param("top_logprobs"));
    }
    if r.messages.is_empty() {
        return Err(
            ApiError::bad_request(shape, "[] is too short - 'messages'").with_param("messages")
        );
    }
    Ok(r)
}

/// The checks that need the model: output limit and context window.
fn fits(shape: Shape, r: &ChatRequest, model: &ModelEntry, prompt: u64) -> Result<(), ApiError> {
    let (field, asked) = match (r.max_completion_tokens, r.max_tokens) {
        (Some(n), _) => ("max_completion_tokens", Some(n)),
        (None, n) => ("max_tokens", n),
    };
    if let Some(n) = asked {
        validate::max_output(shape, field, n, &model.spec.id, model.window)?;
    }
    validate::context(shape, prompt, asked.unwrap_or(0), model.window)
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

/// The prompt as token ids (tools, then the JSON schema of `response_format`, then messages)
/// and the prompt lengths at its explicit cache breakpoints.
fn chat_prompt(r: &ChatRequest) -> (Vec<u32>, Vec<u64>) {
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
        if m.tool_calls.is_none() {
            b.content_message(&m.role, m.content.as_ref(), m.name.as_deref());
            continue;
        }
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
    /// Written to the cache (GPT-5.6+; 0 before, where writes are free and bill as input).
    cache_write_tokens: u64,
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
    fn new(prompt: u64, cache: OpenAiCache, plan: &Plan) -> ChatUsage {
        let completion = plan.billed_output();
        ChatUsage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            prompt_tokens_details: PromptDetails {
                cached_tokens: cache.read,
                cache_write_tokens: cache.write,
                audio_tokens: 0,
            },
            completion_tokens_details: CompletionDetails {
                reasoning_tokens: plan.reasoning_tokens,
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
    choices: Vec<ChatChoice<'a>>,
    usage: ChatUsage,
    service_tier: &'static str,
    system_fingerprint: &'static str,
}

#[derive(Debug, Serialize)]
struct ChatChoice<'a> {
    index: u64,
    message: ChatMessageOut<'a>,
    logprobs: Option<ChoiceLogprobs>,
    finish_reason: &'static str,
}

/// A choice's `logprobs` (`logprobs: true`): one entry per text token; none for tool calls.
#[derive(Debug, Serialize)]
struct ChoiceLogprobs {
    content: Option<Vec<crate::logprobs::TokenLogprob>>,
    refusal: Option<()>,
}

/// `Some(top_logprobs)` when the request asks for log-probabilities.
fn logprobs_ask(r: &ChatRequest) -> Option<usize> {
    (r.logprobs == Some(true)).then(|| r.top_logprobs.unwrap_or(0).min(20) as usize)
}

fn choice_logprobs(plan: &Plan, top: usize, seed: u64) -> ChoiceLogprobs {
    ChoiceLogprobs {
        content: plan
            .tool_calls
            .is_empty()
            .then(|| crate::logprobs::for_pieces(&plan.pieces, top, seed)),
        refusal: None,
    }
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

/// The tool calls of the conversation: assistant `tool_calls` (one round a message); a user
/// message starts a new turn.
fn chat_history(messages: &[ChatMessage]) -> ToolHistory {
    let mut h = ToolHistory::default();
    for m in messages {
        match (m.role.as_str(), &m.tool_calls) {
            ("user", _) => h.user_turn(),
            ("assistant", Some(calls)) if !calls.is_empty() => {
                h.other();
                for c in calls {
                    let name = c.get("function").and_then(|f| f.get("name"));
                    h.call(name.and_then(Value::as_str).unwrap_or(""));
                }
            }
            ("tool" | "function", _) => {}
            _ => h.other(),
        }
    }
    h
}

/// What a chat completions request asks of the planner.
fn chat_ask(r: &ChatRequest, reasons: bool) -> Ask {
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
        history: chat_history(&r.messages),
        max_tokens: r.max_completion_tokens.or(r.max_tokens),
        reasoning: Reasoning::effort(reasons, r.reasoning_effort.as_deref()),
        stop: match &r.stop {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        },
        choices: r.n.unwrap_or(1),
        ..Ask::default()
    };
    apply_tool_choice(&mut ask, r.tool_choice.as_ref());
    json_format(&mut ask, r.response_format.as_ref());
    if ask.json_object {
        // JSON mode with the schema in the prompt (instructor `Mode.JSON`, LangChain
        // `json_mode`): answer an instance of the last schema the system or user wrote.
        let texts: Vec<String> = r
            .messages
            .iter()
            .filter(|m| matches!(m.role.as_str(), "system" | "developer" | "user"))
            .map(|m| content_text(m.content.as_ref()).0)
            .collect();
        ask.json_schema = crate::schema::last_schema(texts.iter().map(String::as_str));
    }
    ask
}

/// The answer to a chat completions request, live or batched: the completion object (one
/// choice per plan) and the tokens it bills, every choice's output (a stream cut short bills
/// less, see [`chat`]). `logprobs`: `Some(top)` adds log-probabilities seeded by `seed`.
fn completion<'a>(
    id: &'a str,
    model: &'a str,
    plans: &'a [Plan],
    (prompt, cache): (u64, OpenAiCache),
    service_tier: &'static str,
    (logprobs, seed): (Option<usize>, u64),
) -> (ChatCompletion<'a>, Tokens) {
    let choices = plans
        .iter()
        .zip(0u64..)
        .map(|(plan, index)| {
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
            ChatChoice {
                index,
                message: ChatMessageOut {
                    role: "assistant",
                    content: tool_calls.is_none().then(|| plan.text()),
                    refusal: None,
                    annotations: [],
                    tool_calls,
                },
                logprobs: logprobs
                    .map(|top| choice_logprobs(plan, top, crate::cache::mix(seed, index))),
                finish_reason: finish_str(plan.finish),
            }
        })
        .collect();
    let total = Plan::total(plans);
    let body = ChatCompletion {
        id,
        object: "chat.completion",
        created: unix_now(),
        model,
        choices,
        usage: ChatUsage::new(prompt, cache, &total),
        service_tier,
        system_fingerprint: "fp_burnrate_mock",
    };
    let tokens = openai_tokens(prompt, cache, total.output_tokens, total.reasoning_tokens);
    (body, tokens)
}

/// Checks `prompt_cache_options`, `prompt_cache_retention` and the messages'
/// `prompt_cache_breakpoint`s against the model; whether the request asks for explicit mode
/// and for 24-hour writes.
fn cache_mode(
    shape: Shape,
    r: &ChatRequest,
    spec: &burnrate_sim::ModelSpec,
) -> Result<(bool, bool), ApiError> {
    let (explicit, _) = cache_options(shape, r.prompt_cache_options.as_ref(), spec)?;
    let day = day_retention(shape, r.prompt_cache_retention.as_ref(), spec)?;
    check_breakpoints(
        shape,
        "messages",
        r.messages.iter().map(|m| m.content.as_ref()),
        spec,
    )?;
    Ok((explicit, day))
}

/// `POST /v1/chat/completions`.
pub(crate) async fn chat(
    Extension(req): Extension<Arc<Req>>,
    body: Result<RawBody, ApiError>,
) -> Result<Response, ApiError> {
    // Providers check the key before the body.
    req.check_auth()?;
    let RawBody(bytes) = body?;
    let r = read(req.shape, parse_json(req.shape, &bytes)?)?;
    let mut call = req.admit(&r.model)?;
    let spec = &call.model.spec;
    let (tier, service_tier) = validate::openai_tier(req.shape, r.service_tier.as_ref(), spec)?;
    call.tier = tier;
    let (explicit_mode, day_retention) = cache_mode(req.shape, &r, spec)?;
    let (r, (ids, breakpoints)) = off_thread(&req, bytes.len(), move || {
        let ids = chat_prompt(&r);
        (r, ids)
    })
    .await?;
    fits(req.shape, &r, &call.model, ids.len() as u64)?;
    let ask = chat_ask(&r, call.model.spec.reasoning);
    let stream = r.stream.unwrap_or(false);
    let cache_ask = CacheAsk {
        key: r.prompt_cache_key.clone(),
        explicit_mode,
        breakpoints,
        day_retention,
    };
    let (plans, p) = plan_and_prepare(&req, &call, &bytes, &ask, &ids, &cache_ask, stream).await?;
    let id = format!("chatcmpl-{}", &req.request_id[4..]);
    let logprobs = logprobs_ask(&r);
    // Log-probabilities are seeded by the request, as its content is.
    let lp_seed = logprobs.map_or(0, |_| content_seed(req.cfg.seed, &bytes));
    if !stream {
        let (body, _) = completion(
            &id,
            &r.model,
            &plans,
            (p.prompt, p.cache),
            service_tier,
            (logprobs, lp_seed),
        );
        let longest = plans.iter().map(|x| x.output_tokens).max().unwrap_or(0);
        return Ok(p.send_json(&body, longest, call.fault).await);
    }
    let total = Plan::total(&plans);
    let include_usage = r
        .stream_options
        .as_ref()
        .and_then(|o| o.include_usage)
        .unwrap_or(false);
    let frames = stream_frames(StreamSetup {
        id,
        model: r.model.clone(),
        service_tier,
        usage: ChatUsage::new(p.prompt, p.cache, &total),
        include_usage,
        plans,
        fault: call.fault,
        logprobs: logprobs.map(|top| (top, lp_seed)),
    });
    Ok(p.send_sse(frames.0, frames.1))
}

/// What a streamed chat completion is made of.
struct StreamSetup {
    id: String,
    model: String,
    service_tier: &'static str,
    usage: ChatUsage,
    include_usage: bool,
    plans: Vec<Plan>,
    fault: Option<FaultKind>,
    /// `(top_logprobs, seed)` when log-probabilities are asked for.
    logprobs: Option<(usize, u64)>,
}

/// The chunks of a streamed chat completion, made one at a time, and where a `stream_cut`
/// fault ends them: per choice (index order) a role chunk, its tokens (text pieces, or a tool
/// head and its argument pieces) and its finish chunk; then usage and `[DONE]`.
/// Per choice, per text token: the serialized `logprobs` of its chunk (none without
/// `logprobs`).
fn chunk_logprobs(s: &StreamSetup) -> Vec<Vec<String>> {
    match s.logprobs {
        None => Vec::new(),
        Some((n, seed)) => s
            .plans
            .iter()
            .zip(0u64..)
            .map(|(plan, c)| {
                let seed = crate::cache::mix(seed, c);
                crate::logprobs::for_pieces(&plan.pieces, n, seed)
                    .iter()
                    .map(|t| {
                        let t = serde_json::to_string(t).unwrap_or_default();
                        format!("{{\"content\":[{t}],\"refusal\":null}}")
                    })
                    .collect()
            })
            .collect(),
    }
}

fn stream_frames(s: StreamSetup) -> (FrameFn, Option<usize>) {
    #[derive(Debug)]
    enum Spec {
        Role(usize),
        Text(usize, usize),
        ToolHead(usize, usize),
        ToolArg(usize, usize, usize),
        Finish(usize),
        Usage,
        Done,
        Error,
        Malformed,
    }
    let arg_pieces: Vec<Vec<Vec<String>>> = s
        .plans
        .iter()
        .map(|plan| {
            plan.tool_calls
                .iter()
                .map(|c| tokens::token_pieces(&c.arguments_text, usize::MAX).0)
                .collect()
        })
        .collect();
    let mut specs = Vec::new();
    for (c, plan) in s.plans.iter().enumerate() {
        specs.push(Spec::Role(c));
        if plan.tool_calls.is_empty() {
            specs.extend((0..plan.pieces.len()).map(|k| Spec::Text(c, k)));
        } else {
            for (t, pieces) in arg_pieces[c].iter().enumerate() {
                specs.push(Spec::ToolHead(c, t));
                specs.extend((0..pieces.len()).map(|k| Spec::ToolArg(c, t, k)));
            }
        }
        if c + 1 < s.plans.len() {
            specs.push(Spec::Finish(c));
        }
    }
    let last = s.plans.len().saturating_sub(1);
    let mut cut_at = None;
    match s.fault {
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
    if !matches!(s.fault, Some(FaultKind::StreamError)) {
        specs.push(Spec::Finish(last));
        if s.include_usage {
            specs.push(Spec::Usage);
        }
        specs.push(Spec::Done);
    }
    let usage_tail = if s.include_usage {
        ",\"usage\":null"
    } else {
        ""
    };
    let created = unix_now();
    let (id, tier) = (&s.id, s.service_tier);
    let model = Value::String(s.model.clone()).to_string();
    let top = format!(
        "{{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":{model},\"service_tier\":\"{tier}\",\"system_fingerprint\":\"fp_burnrate_mock\",\"choices\":"
    );
    let head = format!("{top}[{{\"index\":");
    let usage_frame = format!(
        "{top}[],\"usage\":{}}}",
        serde_json::to_string(&s.usage).unwrap_or_default()
    );
    let lp = chunk_logprobs(&s);
    let finishes: Vec<&'static str> = s.plans.iter().map(|p| finish_str(p.finish)).collect();
    let tool_ids: Vec<Vec<(String, String)>> = s
        .plans
        .iter()
        .map(|plan| {
            plan.tool_calls
                .iter()
                .map(|c| (format!("call_{}", c.id_suffix), c.name.clone()))
                .collect()
        })
        .collect();
    let pieces: Vec<Vec<std::borrow::Cow<'static, str>>> =
        s.plans.into_iter().map(|p| p.pieces).collect();
    let frames: FrameFn = Box::new(move |i| {
        let spec = specs.get(i)?;
        let chunk = |c: usize, delta: String, logprobs: &str, finish: &str, token: bool| Frame {
            data: sse_data(&format!(
                "{head}{c},\"delta\":{delta},\"logprobs\":{logprobs},\"finish_reason\":{finish}}}]{usage_tail}}}"
            )),
            token,
        };
        Some(match spec {
            Spec::Role(c) => chunk(*c, "{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}".into(), "null", "null", false),
            Spec::Text(c, k) => chunk(
                *c,
                format!("{{\"content\":{}}}", Value::String(pieces[*c][*k].to_string())),
                lp.get(*c).and_then(|l| l.get(*k)).map_or("null", String::as_str),
                "null",
                true,
            ),
            Spec::ToolHead(c, t) => chunk(
                *c,
                format!(
                    "{{\"tool_calls\":[{{\"index\":{t},\"id\":\"{}\",\"type\":\"function\",\"function\":{{\"name\":{},\"arguments\":\"\"}}}}]}}",
                    tool_ids[*c][*t].0,
                    Value::String(tool_ids[*c][*t].1.clone())
                ),
                "null",
                "null",
                true,
            ),
            Spec::ToolArg(c, t, k) => chunk(
                *c,
                format!("{{\"tool_calls\":[{{\"index\":{t},\"function\":{{\"arguments\":{}}}}}]}}", Value::String(arg_pieces[*c][*t][*k].clone())),
                "null",
                "null",
                true,
            ),
            Spec::Finish(c) => chunk(*c, "{}".into(), "null", &format!("\"{}\"", finishes[*c]), false),
            Spec::Usage => Frame { data: sse_data(&usage_frame), token: false },
            Spec::Done => Frame { data: sse_data("[DONE]"), token: false },
            Spec::Error => Frame {
                data: sse_data(&json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": null, "code": null}}).to_string()),
                token: false,
            },
            Spec::Malformed => Frame { data: sse_data("{\"id\":\"chatcmpl-broken\",\"choices\":[{\"delta\":"), token: false },
        })
    });
    (frames, cut_at)
}

/// Answers one batch line of `/v1/chat/completions` (no latency, faults or rate limits): the
/// completion body and its tokens, priced by the caller at the batch rate.
pub(crate) fn batch_line(
    req: &Req,
    body: &Value,
    seed: u64,
) -> Result<(Value, Tokens, Arc<ModelEntry>), ApiError> {
    let r = read(req.shape, body.clone())?;
    let model = req
        .cfg
        .model(&r.model, Provider::OpenAi)
        .ok_or_else(|| req.unknown_model(&r.model))?;
    let (ids, breakpoints) = chat_prompt(&r);
    fits(req.shape, &r, &model, ids.len() as u64)?;
    let spec = &model.spec;
    let (explicit_mode, day_retention) = cache_mode(req.shape, &r, spec)?;
    let plans = plan_choices(
        &req.cfg,
        &model,
        Forced::default(),
        &chat_ask(&r, spec.reasoning),
        seed,
    );
    let cache = openai_cache(
        req,
        &Call::batch(model.clone()),
        &ids,
        &CacheAsk {
            key: r.prompt_cache_key.clone(),
            explicit_mode,
            breakpoints,
            day_retention,
        },
        Some(std::time::Instant::now()),
    );
    let id = format!("chatcmpl-{seed:016x}");
    let (body, tokens) = completion(
        &id,
        &r.model,
        &plans,
        (ids.len() as u64, cache),
        "default",
        (logprobs_ask(&r), seed),
    );
    let body = serde_json::to_value(&body)
        .map_err(|e| ApiError::new(req.shape, StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((body, tokens, model))
}
