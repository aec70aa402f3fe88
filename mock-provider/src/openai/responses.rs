//! `POST /v1/responses`: the Responses API, JSON and typed SSE events.

use super::chat::EFFORTS;
use super::{
    Billed, CacheAsk, PromptBuilder, apply_tool_choice, cache_options, check_breakpoints,
    content_text, day_retention, json_format, plan_and_prepare, tool_list,
};
use crate::config::{FaultKind, ModelEntry};
use crate::error::{ApiError, Shape};
use crate::pipeline::{Call, RawBody, Req, off_thread, parse_json, unix_now};
use crate::plan::{Ask, Finish, Plan, Reasoning, ToolHistory};
use crate::streaming::{Frame, FrameFn, sse_event};
use crate::tokens;
use crate::validate::{self, Rule};
use axum::Extension;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

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
    pub prompt_cache_options: Option<Value>,
    pub prompt_cache_retention: Option<Value>,
    pub service_tier: Option<Value>,
    pub reasoning: Option<Value>,
}

/// Responses API fields by type and range.
const RULES: &[(&str, Rule)] = &[
    ("model", Rule::Str),
    ("input", Rule::StringOrArray),
    ("instructions", Rule::Str),
    ("stream", Rule::Bool),
    ("max_output_tokens", Rule::Integer(16, i64::MAX)),
    ("temperature", Rule::Number(0.0, 2.0)),
    ("top_p", Rule::Number(0.0, 1.0)),
    ("tools", Rule::Array),
    ("tool_choice", Rule::StringOrObject),
    ("parallel_tool_calls", Rule::Bool),
    ("text", Rule::Object),
    ("prompt_cache_key", Rule::Str),
    ("prompt_cache_options", Rule::Object),
    ("prompt_cache_retention", Rule::Str),
    ("service_tier", Rule::Str),
    ("reasoning", Rule::Object),
    ("previous_response_id", Rule::Str),
    ("store", Rule::Bool),
    ("metadata", Rule::Object),
    ("user", Rule::Str),
];

/// Reads a Responses API body: every documented field checked, then typed.
fn read(shape: Shape, v: Value) -> Result<ResponsesRequest, ApiError> {
    let o = validate::object(shape, &v)?;
    if o.get("model").is_none_or(Value::is_null) {
        return Err(validate::missing(shape, "model"));
    }
    validate::fields(shape, o, RULES)?;
    if let Some(Value::Array(items)) = o.get("input") {
        for (i, item) in items.iter().enumerate() {
            if item.get("role").is_some() {
                let roles = ["user", "assistant", "system", "developer"];
                validate::role(shape, i, item, &roles).map_err(|e| ApiError {
                    message: e.message.replace("messages", "input"),
                    ..e
                })?;
            }
        }
    }
    if let Some(t) = o.get("tools").filter(|t| !t.is_null()) {
        validate::tools(shape, t, false)?;
    }
    if let Some(effort) = o.get("reasoning").and_then(|r| r.get("effort")) {
        validate::check(shape, "reasoning.effort", effort, Rule::Str)?;
        if let Some(e) = effort.as_str()
            && !EFFORTS.contains(&e)
        {
            return Err(validate::enum_error(shape, "reasoning.effort", e, EFFORTS));
        }
    }
    serde_json::from_value(v)
        .map_err(|e| ApiError::bad_request(shape, format!("Invalid request body: {e}")))
}

/// A Responses request's input as the planner and the prompt cache see it.
struct ResponsesPrompt {
    /// The prompt as token ids.
    ids: Vec<u32>,
    /// The prompt lengths at its explicit cache breakpoints.
    breakpoints: Vec<u64>,
    /// The text of the last user message.
    last_user: String,
    /// The input ends with a tool result.
    after_tool_result: bool,
    /// The tool calls among the input items.
    history: ToolHistory,
}

/// The prompt of a Responses request: tools, instructions, then the input items.
fn responses_prompt(r: &ResponsesRequest) -> ResponsesPrompt {
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
    let mut history = ToolHistory::default();
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
                        history.other();
                    }
                    "function_call" => {
                        let text = format!(
                            "{}{}",
                            item.get("name").and_then(Value::as_str).unwrap_or(""),
                            item.get("arguments").and_then(Value::as_str).unwrap_or("")
                        );
                        b.message("assistant", &text, 0, None);
                        after_tool = false;
                        history.call(item.get("name").and_then(Value::as_str).unwrap_or(""));
                    }
                    _ => {
                        let role = item.get("role").and_then(Value::as_str).unwrap_or("user");
                        b.content_message(role, item.get("content"), None);
                        if role == "user" {
                            last_user = content_text(item.get("content")).0;
                            history.user_turn();
                        } else {
                            history.other();
                        }
                        after_tool = false;
                    }
                }
            }
        }
        _ => {}
    }
    let (ids, breakpoints) = b.finish();
    ResponsesPrompt {
        ids,
        breakpoints,
        last_user,
        after_tool_result: after_tool,
        history,
    }
}

/// The request's tools as a response echoes them: function tools carry the defaults the API
/// fills in (`strict` true, `parameters` and `description` null), which the spec requires.
fn echo_tools(tools: Option<&[Value]>) -> Vec<Value> {
    let mut tools = tools.unwrap_or_default().to_vec();
    for t in &mut tools {
        if let Some(o) = t.as_object_mut()
            && o.get("type").and_then(Value::as_str) == Some("function")
        {
            o.entry("strict").or_insert(json!(true));
            o.entry("parameters").or_insert(Value::Null);
            o.entry("description").or_insert(Value::Null);
        }
    }
    tools
}

/// What a Responses request's fields that need the model come to, checked against it.
struct ModelOptions {
    /// `service_tier` as the response echoes it.
    service_tier: &'static str,
    /// `prompt_cache_options.mode = "explicit"`: no implicit breakpoint.
    explicit_mode: bool,
    /// `prompt_cache_options` as the response echoes it (GPT-5.6+).
    cache_echo: Option<Value>,
    /// `prompt_cache_retention: "24h"` on GPT-5.6+.
    day_retention: bool,
    reasoning: Reasoning,
}

/// Checks `service_tier`, the prompt cache options and breakpoints against the model, sets
/// the call's tier and reads `reasoning.effort`.
fn model_options(
    shape: Shape,
    r: &ResponsesRequest,
    call: &mut Call,
) -> Result<ModelOptions, ApiError> {
    let spec = &call.model.spec;
    let (tier, service_tier) = validate::openai_tier(shape, r.service_tier.as_ref(), spec)?;
    call.tier = tier;
    let (explicit_mode, cache_echo) = cache_options(shape, r.prompt_cache_options.as_ref(), spec)?;
    let day_retention = day_retention(shape, r.prompt_cache_retention.as_ref(), spec)?;
    let items: &[Value] = match &r.input {
        Some(Value::Array(items)) => items,
        _ => &[],
    };
    check_breakpoints(shape, "input", items.iter().map(|i| i.get("content")), spec)?;
    let effort = r
        .reasoning
        .as_ref()
        .and_then(|x| x.get("effort"))
        .and_then(Value::as_str);
    Ok(ModelOptions {
        service_tier,
        explicit_mode,
        cache_echo,
        day_retention,
        reasoning: Reasoning::effort(spec.reasoning, effort),
    })
}

/// The checks that need the model and the prompt: output limit and context window.
fn fits(
    shape: Shape,
    r: &ResponsesRequest,
    model: &ModelEntry,
    prompt: u64,
) -> Result<(), ApiError> {
    if let Some(n) = r.max_output_tokens {
        validate::max_output(shape, "max_output_tokens", n, &model.spec.id, model.window)?;
    }
    validate::context(
        shape,
        prompt,
        r.max_output_tokens.unwrap_or(0),
        model.window,
    )
}

/// What a Responses request asks of the planner.
fn responses_ask(r: &ResponsesRequest, prompt: &ResponsesPrompt, reasoning: Reasoning) -> Ask {
    let mut ask = Ask {
        last_user: prompt.last_user.clone(),
        tools: tool_list(r.tools.as_ref(), false),
        after_tool_result: prompt.after_tool_result,
        history: prompt.history.clone(),
        max_tokens: r.max_output_tokens,
        reasoning,
        ..Ask::default()
    };
    apply_tool_choice(&mut ask, r.tool_choice.as_ref());
    json_format(&mut ask, r.text.as_ref().and_then(|t| t.get("format")));
    ask
}

/// The answer to a Responses request: what its response objects are made of, in progress
/// and finished.
struct Answer<'a> {
    r: &'a ResponsesRequest,
    /// `resp_…`.
    id: String,
    /// The message item's id, `msg_…`.
    msg_id: String,
    /// Unix seconds.
    created_at: u64,
    /// Cut short by `max_output_tokens`.
    incomplete: bool,
    service_tier: &'static str,
    /// `prompt_cache_options` as the response echoes it (GPT-5.6+).
    cache_echo: Option<Value>,
    /// The output items: one message, or one `function_call` per tool call.
    output: Vec<Value>,
    usage: Value,
    /// The message's text (empty for tool calls).
    text: String,
}

impl<'a> Answer<'a> {
    /// The answer of `plan` (Responses has no `n`: one plan), with the tokens `p` bills.
    fn new(
        r: &'a ResponsesRequest,
        request_id: &str,
        plan: &Plan,
        p: &Billed,
        opts: ModelOptions,
    ) -> Answer<'a> {
        let msg_id = format!("msg_{}", &request_id[4..]);
        let usage = json!({
            "input_tokens": p.prompt,
            "input_tokens_details": {"cached_tokens": p.cache.read, "cache_write_tokens": p.cache.write},
            "output_tokens": plan.billed_output(),
            "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
            "total_tokens": p.prompt + plan.billed_output(),
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
        Answer {
            r,
            id: format!("resp_{}", &request_id[4..]),
            msg_id,
            created_at: unix_now(),
            incomplete: plan.finish == Finish::Length,
            service_tier: opts.service_tier,
            cache_echo: opts.cache_echo,
            output,
            usage,
            text,
        }
    }

    /// The response object with `status`, `output` and `usage` (`None` while in progress:
    /// the spec's `usage` is an object, never null).
    fn response(&self, status: &str, output: Vec<Value>, usage: Option<&Value>) -> Value {
        let r = self.r;
        let mut body = json!({
            "id": self.id, "object": "response", "created_at": self.created_at, "status": status, "error": null,
            "incomplete_details": if self.incomplete && status != "in_progress" { json!({"reason": "max_output_tokens"}) } else { Value::Null },
            "instructions": r.instructions, "max_output_tokens": r.max_output_tokens, "model": r.model,
            "output": output, "parallel_tool_calls": true, "previous_response_id": null,
            "temperature": 1.0, "top_p": 1.0, "tool_choice": r.tool_choice.clone().unwrap_or(json!("auto")),
            "tools": echo_tools(r.tools.as_deref()), "truncation": "disabled", "metadata": {},
            "text": r.text.clone().unwrap_or(json!({"format": {"type": "text"}})),
            "service_tier": self.service_tier,
        });
        if let Some(u) = usage {
            body["usage"] = u.clone();
        }
        if let Some(o) = &self.cache_echo {
            body["prompt_cache_options"] = o.clone();
        }
        body
    }

    /// The finished response object: the JSON answer, and the stream's last event.
    fn finished(&self) -> Value {
        let status = if self.incomplete {
            "incomplete"
        } else {
            "completed"
        };
        self.response(status, self.output.clone(), Some(&self.usage))
    }
}

/// A typed SSE event before it is numbered: its type, its data (without `type` and
/// `sequence_number`) and whether it carries a token.
type Event = (String, Value, bool);

/// The events of a streamed response, every one rendered up front except the per-token
/// deltas: created, in progress, the output items, then completed or incomplete.
fn stream_events(a: &Answer, plan: &Plan) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::new();
    events.push((
        "response.created".into(),
        json!({"response": a.response("in_progress", vec![], None)}),
        false,
    ));
    events.push((
        "response.in_progress".into(),
        json!({"response": a.response("in_progress", vec![], None)}),
        false,
    ));
    if plan.tool_calls.is_empty() {
        message_events(a, plan, &mut events);
    } else {
        function_call_events(a, plan, &mut events);
    }
    let done_event = if a.incomplete {
        "response.incomplete"
    } else {
        "response.completed"
    };
    events.push((done_event.into(), json!({"response": a.finished()}), false));
    events
}

/// The events of a message answer: the item and its text part added, one delta a token,
/// then text, part and item done.
fn message_events(a: &Answer, plan: &Plan, events: &mut Vec<Event>) {
    let (msg_id, text) = (&a.msg_id, &a.text);
    events.push((
        "response.output_item.added".into(),
        json!({"output_index": 0, "item": {"type": "message", "id": msg_id, "status": "in_progress", "role": "assistant", "content": []}}),
        false,
    ));
    events.push((
        "response.content_part.added".into(),
        json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
        false,
    ));
    for piece in &plan.pieces {
        events.push((
            "response.output_text.delta".into(),
            json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []}),
            true,
        ));
    }
    events.push((
        "response.output_text.done".into(),
        json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "text": text, "logprobs": []}),
        false,
    ));
    events.push((
        "response.content_part.done".into(),
        json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []}}),
        false,
    ));
    events.push((
        "response.output_item.done".into(),
        json!({"output_index": 0, "item": a.output[0]}),
        false,
    ));
}

/// The events of a tool-call answer, per call: the item added, one arguments delta a token,
/// then arguments and item done.
fn function_call_events(a: &Answer, plan: &Plan, events: &mut Vec<Event>) {
    for (i, (c, item)) in plan.tool_calls.iter().zip(&a.output).enumerate() {
        let fc_id = format!("fc_{}", c.id_suffix);
        let mut added = item.clone();
        added["arguments"] = json!("");
        added["status"] = json!("in_progress");
        events.push((
            "response.output_item.added".into(),
            json!({"output_index": i, "item": added}),
            false,
        ));
        for piece in tokens::token_pieces(&c.arguments_text, usize::MAX).0 {
            events.push((
                "response.function_call_arguments.delta".into(),
                json!({"item_id": fc_id, "output_index": i, "delta": piece}),
                true,
            ));
        }
        events.push((
            "response.function_call_arguments.done".into(),
            json!({"item_id": fc_id, "output_index": i, "name": c.name, "arguments": c.arguments_text}),
            false,
        ));
        events.push((
            "response.output_item.done".into(),
            json!({"output_index": i, "item": item}),
            false,
        ));
    }
}

/// The stream's frames, numbered, with the call's stream fault applied (an error event
/// halfway, or a malformed frame halfway), and where a `stream_cut` fault ends them.
fn stream_frames(mut events: Vec<Event>, fault: Option<FaultKind>) -> (FrameFn, Option<usize>) {
    let mut cut_at = None;
    match fault {
        Some(FaultKind::StreamError) => {
            events.truncate(events.len() / 2);
            events.push(("error".into(), json!({"code": "server_error", "message": "The server had an error while processing your request.", "param": null}), false));
        }
        Some(FaultKind::StreamCut) => cut_at = Some(events.len() / 2),
        _ => {}
    }
    let malformed_at = if fault == Some(FaultKind::Malformed) {
        Some(events.len() / 2)
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
        let (event, data, token) = events.get(idx)?;
        let mut data = data.clone();
        data["type"] = json!(event);
        data["sequence_number"] = json!(idx);
        Some(Frame {
            data: sse_event(event, &data.to_string()),
            token: *token,
        })
    });
    (frame_fn, cut_at)
}

/// `POST /v1/responses`.
pub(crate) async fn responses(
    Extension(req): Extension<Arc<Req>>,
    body: Result<RawBody, ApiError>,
) -> Result<Response, ApiError> {
    // Providers check the key before the body.
    req.check_auth()?;
    let RawBody(bytes) = body?;
    let r = read(req.shape, parse_json(req.shape, &bytes)?)?;
    let mut call = req.admit(&r.model)?;
    if r.input.is_none() {
        return Err(
            ApiError::bad_request(req.shape, "Missing required parameter: 'input'.")
                .with_param("input"),
        );
    }
    let opts = model_options(req.shape, &r, &mut call)?;
    let (r, prompt) = off_thread(&req, bytes.len(), move || {
        let prompt = responses_prompt(&r);
        (r, prompt)
    })
    .await?;
    fits(req.shape, &r, &call.model, prompt.ids.len() as u64)?;
    let ask = responses_ask(&r, &prompt, opts.reasoning);
    let stream = r.stream.unwrap_or(false);
    let cache_ask = CacheAsk {
        key: r.prompt_cache_key.clone(),
        explicit_mode: opts.explicit_mode,
        breakpoints: prompt.breakpoints,
        day_retention: opts.day_retention,
    };
    let (mut plans, p) =
        plan_and_prepare(&req, &call, &bytes, &ask, &prompt.ids, &cache_ask, stream).await?;
    // Responses has no `n`: one plan.
    let plan = plans.swap_remove(0);
    let answer = Answer::new(&r, &req.request_id, &plan, &p, opts);
    if !stream {
        return Ok(p
            .send_json(&answer.finished(), plan.output_tokens, call.fault)
            .await);
    }
    let (frames, cut_at) = stream_frames(stream_events(&answer, &plan), call.fault);
    Ok(p.send_sse(frames, cut_at))
}
