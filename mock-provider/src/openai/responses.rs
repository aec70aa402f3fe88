//! `POST /v1/responses`: the Responses API, JSON and typed SSE events.

use super::chat::EFFORTS;
use super::{
    CacheAsk, PromptBuilder, apply_tool_choice, cache_options, check_breakpoints, content_text,
    day_retention, json_format, plan_and_prepare, tool_list,
};
use crate::config::FaultKind;
use crate::error::{ApiError, Shape};
use crate::pipeline::{RawBody, Req, off_thread, parse_json, unix_now};
use crate::plan::{Ask, Finish, Reasoning, ToolHistory};
use crate::streaming::{Frame, FrameFn, Timing, json_response, sse_event, sse_response};
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

/// The prompt as token ids, its explicit cache breakpoints, the last user text and whether
/// the input ends with a tool result.
/// (and the tool calls among its items).
fn responses_prompt(r: &ResponsesRequest) -> ((Vec<u32>, Vec<u64>), String, bool, ToolHistory) {
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
    (b.finish(), last_user, after_tool, history)
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
    let spec = &call.model.spec;
    let (tier, service_tier) = validate::openai_tier(req.shape, r.service_tier.as_ref(), spec)?;
    call.tier = tier;
    let (explicit_mode, cache_echo) =
        cache_options(req.shape, r.prompt_cache_options.as_ref(), spec)?;
    let day_retention = day_retention(req.shape, r.prompt_cache_retention.as_ref(), spec)?;
    let items: &[Value] = match &r.input {
        Some(Value::Array(items)) => items,
        _ => &[],
    };
    check_breakpoints(
        req.shape,
        "input",
        items.iter().map(|i| i.get("content")),
        spec,
    )?;
    let effort = r
        .reasoning
        .as_ref()
        .and_then(|x| x.get("effort"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let reasoning = Reasoning::effort(spec.reasoning, effort.as_deref());
    let (r, ((ids, breakpoints), last_user, after_tool, history)) =
        off_thread(&req, bytes.len(), move || {
            let prompt = responses_prompt(&r);
            (r, prompt)
        })
        .await?;
    if let Some(n) = r.max_output_tokens {
        validate::max_output(
            req.shape,
            "max_output_tokens",
            n,
            &call.model.spec.id,
            call.model.window,
        )?;
    }
    validate::context(
        req.shape,
        ids.len() as u64,
        r.max_output_tokens.unwrap_or(0),
        call.model.window,
    )?;
    let mut ask = Ask {
        last_user,
        tools: tool_list(r.tools.as_ref(), false),
        after_tool_result: after_tool,
        history,
        max_tokens: r.max_output_tokens,
        reasoning,
        ..Ask::default()
    };
    apply_tool_choice(&mut ask, r.tool_choice.as_ref());
    json_format(&mut ask, r.text.as_ref().and_then(|t| t.get("format")));
    let stream = r.stream.unwrap_or(false);
    let cache_ask = CacheAsk {
        key: r.prompt_cache_key.clone(),
        explicit_mode,
        breakpoints,
        day_retention,
    };
    let (mut plans, mut p) =
        plan_and_prepare(&req, &call, &bytes, &ask, &ids, &cache_ask, stream).await?;
    // Responses has no `n`: one plan.
    let plan = plans.swap_remove(0);
    let id = format!("resp_{}", &req.request_id[4..]);
    let msg_id = format!("msg_{}", &req.request_id[4..]);
    let created = unix_now();
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
    let incomplete = plan.finish == Finish::Length;
    // `usage` is `None` while in progress: the spec's `usage` is an object, never null.
    let response = |status: &str, output: Vec<Value>, usage: Option<&Value>| {
        let mut body = json!({
            "id": id, "object": "response", "created_at": created, "status": status, "error": null,
            "incomplete_details": if incomplete && status != "in_progress" { json!({"reason": "max_output_tokens"}) } else { Value::Null },
            "instructions": r.instructions, "max_output_tokens": r.max_output_tokens, "model": r.model,
            "output": output, "parallel_tool_calls": true, "previous_response_id": null,
            "temperature": 1.0, "top_p": 1.0, "tool_choice": r.tool_choice.clone().unwrap_or(json!("auto")),
            "tools": echo_tools(r.tools.as_deref()), "truncation": "disabled", "metadata": {},
            "text": r.text.clone().unwrap_or(json!({"format": {"type": "text"}})),
            "service_tier": service_tier,
        });
        if let Some(u) = usage {
            body["usage"] = u.clone();
        }
        if let Some(o) = &cache_echo {
            body["prompt_cache_options"] = o.clone();
        }
        body
    };
    let final_status = if incomplete {
        "incomplete"
    } else {
        "completed"
    };
    if !stream {
        let body = response(final_status, output, Some(&usage));
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
        json!({"response": response("in_progress", vec![], None)}),
        false,
    ));
    frames.push((
        "response.in_progress".into(),
        json!({"response": response("in_progress", vec![], None)}),
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
            json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
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
            json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []}}),
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
        json!({"response": response(final_status, output.clone(), Some(&usage))}),
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
