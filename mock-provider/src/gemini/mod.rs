//! Google's Gemini API (`/v1beta`), as the official `google-genai` SDKs call it
//! (github.com/googleapis/python-genai, `models.py`/`caches.py`; reference
//! <https://ai.google.dev/api/generate-content>): `models/{model}:generateContent`,
//! `:streamGenerateContent?alt=sse`, `:countTokens`, `:embedContent`, `:batchEmbedContents`
//! and `cachedContents` (explicit caching, [`caches`]). Implicit caching, `usageMetadata`,
//! function calling, `responseSchema`/`responseJsonSchema`, thinking, and Google's error shape
//! (error.rs) with latency, faults, rate limits and the ledger from the shared pipeline.

mod caches;
mod embed;

pub(crate) use caches::{create_cache, delete_cache, get_cache, list_caches, update_cache};

use crate::cache::{SEED_HASH, hash_str};
use crate::config::FaultKind;
use crate::error::{ApiError, Shape};
use crate::pipeline::{
    Admission, Call, Charge, Delivery, Inflight, RawBody, Req, Tokens, content_seed, off_thread,
    parse_json,
};
use crate::plan::{Ask, Finish, Plan, Reasoning, plan};
use crate::streaming::{Frame, FrameFn, Timing, json_response, ok_json, sse_data, sse_response};
use crate::tokens;
use crate::validate::{self, Rule};
use axum::Extension;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Implicit caching keeps a prefix this long after its last use. Google documents implicit
/// caching (<https://ai.google.dev/gemini-api/docs/caching#implicit-caching>) but not its
/// lifetime or granularity: the mock keeps 5 minutes and counts hits in 128-token steps from the
/// model's minimum (the catalog's `min_cacheable_tokens`), never more than the exact prefix.
const IMPLICIT_TTL: Duration = Duration::from_secs(300);
const IMPLICIT_STEP: u64 = 128;

/// `POST /v1beta/models/{model}:{method}`.
pub(crate) async fn model_method(
    Extension(req): Extension<Arc<Req>>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    body: Result<RawBody, ApiError>,
) -> Result<Response, ApiError> {
    req.check_auth()?;
    let RawBody(bytes) = body?;
    let Some((model, method)) = rest.rsplit_once(':') else {
        return Err(ApiError::not_found_route(
            req.shape,
            "POST",
            &format!("/v1beta/models/{rest}"),
        ));
    };
    let model = model.to_string();
    match method {
        "generateContent" => generate(req, model, bytes, false).await,
        "streamGenerateContent" => {
            // Without alt=sse the API streams one JSON array; the SDKs always ask for SSE.
            if !query
                .as_deref()
                .unwrap_or("")
                .split('&')
                .any(|p| p == "alt=sse")
            {
                return Err(ApiError::bad_request(
                    req.shape,
                    "The mock streams Server-Sent Events only: add ?alt=sse (as the google-genai SDKs do).",
                ));
            }
            generate(req, model, bytes, true).await
        }
        "countTokens" => count_tokens(req, model, bytes).await,
        "embedContent" => embed::embed_content(req, model, bytes, false).await,
        "batchEmbedContents" => embed::embed_content(req, model, bytes, true).await,
        other => Err(ApiError::not_found_route(
            req.shape,
            "POST",
            &format!("/v1beta/models/{model}:{other}"),
        )),
    }
}

/// generateContent fields by type (<https://ai.google.dev/api/generate-content#request-body>).
const RULES: &[(&str, Rule)] = &[
    ("contents", Rule::Array),
    ("systemInstruction", Rule::Object),
    ("tools", Rule::Array),
    ("toolConfig", Rule::Object),
    ("safetySettings", Rule::Array),
    ("generationConfig", Rule::Object),
    ("cachedContent", Rule::Str),
];

const GEN_RULES: &[(&str, Rule)] = &[
    ("maxOutputTokens", Rule::Integer(1, i64::MAX)),
    ("temperature", Rule::Number(0.0, 2.0)),
    ("topP", Rule::Number(0.0, 1.0)),
    ("topK", Rule::Integer(1, i64::MAX)),
    ("candidateCount", Rule::Integer(1, 8)),
    ("stopSequences", Rule::Array),
    ("responseMimeType", Rule::Str),
    ("responseSchema", Rule::Object),
    ("responseJsonSchema", Rule::Object),
    ("thinkingConfig", Rule::Object),
];

/// The model id of a path segment: `gemini-3.5-flash` or `models/gemini-3.5-flash`.
fn model_id(name: &str) -> &str {
    name.strip_prefix("models/").unwrap_or(name)
}

/// A prompt as the mock counts it: its token ids (for the implicit prefix cache) and the
/// tokens that have no text (images, files).
#[derive(Debug, Default)]
pub(crate) struct Prompt {
    pub ids: Vec<u32>,
    pub extra: u64,
    pub last_user: String,
    pub after_tool_result: bool,
}

impl Prompt {
    pub fn total(&self) -> u64 {
        self.ids.len() as u64 + self.extra
    }
}

/// The text of one part and the tokens it counts without text.
fn part_text(p: &Value) -> (String, u64) {
    if let Some(t) = p.get("text").and_then(Value::as_str) {
        return (t.to_string(), 0);
    }
    if let Some(fc) = p.get("functionCall") {
        let name = fc.get("name").and_then(Value::as_str).unwrap_or("");
        let args = fc.get("args").map(Value::to_string).unwrap_or_default();
        return (format!("{name}{args}"), 0);
    }
    if let Some(fr) = p.get("functionResponse") {
        let name = fr.get("name").and_then(Value::as_str).unwrap_or("");
        let resp = fr.get("response").map(Value::to_string).unwrap_or_default();
        return (format!("{name}{resp}"), 0);
    }
    if p.get("inlineData").is_some() || p.get("fileData").is_some() {
        return (String::new(), tokens::IMAGE_TOKENS);
    }
    (String::new(), 0)
}

/// Checks one `Content` (`{role, parts}`) and returns its parts.
fn parts_of<'a>(field: &str, c: &'a Value) -> Result<&'a Vec<Value>, ApiError> {
    let shape = Shape::Gemini;
    let o = validate::object(shape, c)?;
    if let Some(r) = o.get("role").filter(|r| !r.is_null()) {
        let role = r.as_str().unwrap_or("");
        if !matches!(role, "user" | "model" | "function" | "system") {
            return Err(ApiError::bad_request(
                shape,
                format!("Please use a valid role: user, model. (got {role:?} at {field}.role)"),
            ));
        }
    }
    match o.get("parts") {
        Some(Value::Array(parts)) => Ok(parts),
        None | Some(Value::Null) => Err(ApiError::bad_request(
            shape,
            format!("* GenerateContentRequest.{field}.parts: contents.parts must not be empty."),
        )),
        Some(_) => Err(ApiError::bad_request(
            shape,
            format!("Invalid value at '{field}.parts', expected a list of Part"),
        )),
    }
}

/// What a request (or a cached content) puts in the prompt, in the model's order: system
/// instruction, tools, then the contents. Each content counts 3 tokens more (the mock's
/// per-message rule, as for Claude: Gemini has no offline tokenizer).
pub(crate) fn build_prompt(o: &Map<String, Value>) -> Result<Prompt, ApiError> {
    let mut text = String::new();
    let mut p = Prompt::default();
    let mut messages = 0u64;
    if let Some(si) = o.get("systemInstruction").filter(|v| !v.is_null()) {
        for part in parts_of("systemInstruction", si)? {
            let (t, e) = part_text(part);
            text.push_str(&t);
            p.extra += e;
        }
        messages += 1;
    }
    for (name, desc, schema) in declarations(o.get("tools"))? {
        text.push_str(&name);
        text.push_str(&desc);
        text.push_str(&schema.to_string());
    }
    let empty = Vec::new();
    let contents = match o.get("contents") {
        Some(Value::Array(c)) => c,
        _ => &empty,
    };
    for (i, c) in contents.iter().enumerate() {
        let parts = parts_of(&format!("contents[{i}]"), c)?;
        let role = c.get("role").and_then(Value::as_str).unwrap_or("user");
        text.push_str(role);
        text.push('\n');
        let mut user_text = String::new();
        let mut tool_result = false;
        for part in parts {
            let (t, e) = part_text(part);
            if part.get("text").is_some() {
                user_text.push_str(&t);
            }
            tool_result |= part.get("functionResponse").is_some();
            text.push_str(&t);
            p.extra += e;
        }
        if role != "model" {
            p.after_tool_result = tool_result;
            if !user_text.is_empty() {
                p.last_user = user_text;
            }
        } else {
            p.after_tool_result = false;
        }
        messages += 1;
    }
    p.ids = tokens::encode(&text).to_vec();
    p.extra += messages * tokens::PER_MESSAGE;
    Ok(p)
}

/// `(name, description, JSON schema)` of every function declaration.
fn declarations(tools: Option<&Value>) -> Result<Vec<(String, String, Value)>, ApiError> {
    let shape = Shape::Gemini;
    let mut out = Vec::new();
    let Some(tools) = tools.filter(|t| !t.is_null()) else {
        return Ok(out);
    };
    let Some(tools) = tools.as_array() else {
        return Err(ApiError::bad_request(
            shape,
            "Invalid value at 'tools', expected a list of Tool",
        ));
    };
    for (i, t) in tools.iter().enumerate() {
        let Some(decls) = t.get("functionDeclarations").and_then(Value::as_array) else {
            continue;
        };
        for (j, d) in decls.iter().enumerate() {
            let Some(name) = d
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            else {
                return Err(ApiError::bad_request(
                    shape,
                    format!(
                        "* GenerateContentRequest.tools[{i}].function_declarations[{j}].name: Name cannot be empty."
                    ),
                ));
            };
            // Proto JSON accepts a field's lowerCamel and original names alike; google-genai
            // 3.x sends `parameters_json_schema` for a Python callable.
            let schema = d
                .get("parametersJsonSchema")
                .or_else(|| d.get("parameters_json_schema"))
                .cloned()
                .or_else(|| d.get("parameters").map(lower_types))
                .unwrap_or_else(|| json!({"type": "object"}));
            let desc = d.get("description").and_then(Value::as_str).unwrap_or("");
            out.push((name.to_string(), desc.to_string(), schema));
        }
    }
    Ok(out)
}

/// Google's OpenAPI-subset `Schema` (`"type": "OBJECT"`) as JSON Schema (`"object"`), for
/// `responseSchema` and function `parameters` (<https://ai.google.dev/api/caching#Schema>).
fn lower_types(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let x = match (k.as_str(), x) {
                        ("type", Value::String(s)) => Value::String(s.to_ascii_lowercase()),
                        _ => lower_types(x),
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(lower_types).collect()),
        other => other.clone(),
    }
}

/// Thinking as `generationConfig.thinkingConfig` asks
/// (<https://ai.google.dev/gemini-api/docs/thinking>): `thinkingBudget` 0 turns it off, -1 (or
/// none) is the model's dynamic default, N caps it; `thinkingLevel` scales the draw. Models
/// without reasoning in the catalog never think.
fn thinking(reasons: bool, tc: Option<&Value>) -> Result<(Reasoning, bool), ApiError> {
    let include = tc
        .and_then(|t| t.get("includeThoughts"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !reasons {
        return Ok((Reasoning::Off, false));
    }
    let budget = tc
        .and_then(|t| t.get("thinkingBudget"))
        .filter(|b| !b.is_null());
    let level = tc
        .and_then(|t| t.get("thinkingLevel"))
        .and_then(Value::as_str);
    let scale = match level.map(str::to_ascii_lowercase).as_deref() {
        None | Some("medium") | Some("thinking_level_unspecified") => 1.0,
        Some("minimal") => 0.125,
        Some("low") => 0.5,
        Some("high") => 2.0,
        Some(other) => {
            return Err(validate::enum_error(
                Shape::Gemini,
                "generationConfig.thinkingConfig.thinkingLevel",
                other,
                &["MINIMAL", "LOW", "MEDIUM", "HIGH"],
            ));
        }
    };
    let r = match budget.map(|b| b.as_i64().ok_or(b)) {
        None | Some(Ok(-1)) if include => Reasoning::Thinking { budget: u64::MAX },
        None | Some(Ok(-1)) => Reasoning::Hidden { scale },
        Some(Ok(0)) => Reasoning::Off,
        Some(Ok(n)) if n > 0 => Reasoning::Thinking { budget: n as u64 },
        Some(_) => {
            return Err(ApiError::bad_request(
                Shape::Gemini,
                "generationConfig.thinkingConfig.thinkingBudget must be -1, 0 or a positive integer",
            ));
        }
    };
    Ok((r, include))
}

/// What a generateContent request asks of the planner.
fn ask_of(
    o: &Map<String, Value>,
    gen_cfg: &Map<String, Value>,
    prompt: &Prompt,
    reasoning: Reasoning,
) -> Result<Ask, ApiError> {
    let shape = Shape::Gemini;
    let mut ask = Ask {
        reasoning,
        last_user: prompt.last_user.clone(),
        after_tool_result: prompt.after_tool_result,
        max_tokens: gen_cfg.get("maxOutputTokens").and_then(Value::as_u64),
        ..Ask::default()
    };
    ask.tools = declarations(o.get("tools"))?
        .into_iter()
        .map(|(n, _, s)| (n, s))
        .collect();
    let fcc = o
        .get("toolConfig")
        .and_then(|t| t.get("functionCallingConfig"));
    let mode = fcc.and_then(|f| f.get("mode")).and_then(Value::as_str);
    match mode.unwrap_or("AUTO") {
        "AUTO" | "MODE_UNSPECIFIED" | "VALIDATED" => {}
        "NONE" => ask.tools_disabled = true,
        "ANY" => {
            ask.tool_required = true;
            let allowed: Vec<&str> = fcc
                .and_then(|f| f.get("allowedFunctionNames"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            ask.forced_tool = allowed.first().map(|s| s.to_string());
        }
        other => {
            return Err(validate::enum_error(
                shape,
                "toolConfig.functionCallingConfig.mode",
                other,
                &["AUTO", "ANY", "NONE", "VALIDATED"],
            ));
        }
    }
    for (i, s) in gen_cfg
        .get("stopSequences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        validate::check(
            shape,
            &format!("generationConfig.stopSequences[{i}]"),
            s,
            Rule::Str,
        )?;
        ask.stop.push(s.as_str().unwrap_or("").to_string());
    }
    let mime = gen_cfg.get("responseMimeType").and_then(Value::as_str);
    let schema = match (
        gen_cfg.get("responseJsonSchema"),
        gen_cfg.get("responseSchema"),
    ) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                shape,
                "generationConfig: responseSchema and responseJsonSchema cannot both be set.",
            ));
        }
        (Some(s), None) => Some(s.clone()),
        (None, Some(s)) => Some(lower_types(s)),
        (None, None) => None,
    };
    match (mime.unwrap_or("text/plain"), schema) {
        ("application/json", s) => {
            ask.json_object = s.is_none();
            ask.json_schema = s;
        }
        ("text/plain" | "text/x.enum", None) => {}
        (m, Some(_)) => {
            // Google: a schema needs a JSON (or enum) mime type.
            return Err(ApiError::bad_request(
                shape,
                format!(
                    "* GenerateContentRequest.generation_config.response_mime_type: only supports application/json or text/x.enum when response_schema is set, got {m:?}."
                ),
            ));
        }
        _ => {}
    }
    Ok(ask)
}

/// A validated generateContent request.
struct Generate {
    body: Value,
    prompt: Prompt,
    /// Tokens of the explicit cache the request names (`cachedContent`), read at the cache
    /// read price.
    cached: u64,
}

/// Reads and validates the body; `model` is the catalog id the call was admitted as.
fn read_generate(req: &Req, model: &str, bytes: &axum::body::Bytes) -> Result<Generate, ApiError> {
    let shape = req.shape;
    let body: Value = parse_json(shape, bytes)?;
    let o = validate::object(shape, &body)?;
    validate::fields(shape, o, RULES)?;
    if let Some(g) = o.get("generationConfig").and_then(Value::as_object) {
        validate::fields(shape, g, GEN_RULES)?;
        if g.get("candidateCount").and_then(Value::as_u64).unwrap_or(1) > 1 {
            return Err(ApiError::bad_request(
                shape,
                "generationConfig.candidateCount > 1 is not supported by the mock (one candidate per request).",
            ));
        }
    }
    let mut cached = 0;
    if let Some(name) = o.get("cachedContent").and_then(Value::as_str) {
        for field in ["systemInstruction", "tools", "toolConfig"] {
            if o.get(field).is_some_and(|v| !v.is_null()) {
                // Google's rule: these belong in the cached content.
                return Err(ApiError::bad_request(
                    shape,
                    "CachedContent can not be used with GenerateContent request setting system_instruction, tools or tool_config.\n\nProposed fix: move those values to CachedContent from GenerateContent request.",
                ));
            }
        }
        cached = caches::tokens_for(req, name, model)?;
    }
    let contents_empty = o
        .get("contents")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if contents_empty {
        return Err(ApiError::bad_request(
            shape,
            "* GenerateContentRequest.contents: contents is not specified",
        ));
    }
    let prompt = build_prompt(o)?;
    Ok(Generate {
        body,
        prompt,
        cached,
    })
}

/// `usageMetadata` (<https://ai.google.dev/api/generate-content#UsageMetadata>):
/// `promptTokenCount` includes `cachedContentTokenCount`; `thoughtsTokenCount` is apart from
/// `candidatesTokenCount`; the total is their sum.
fn usage(prompt: u64, cached: u64, candidates: u64, thoughts: u64) -> Value {
    let mut u = json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    });
    if cached > 0 {
        u["cachedContentTokenCount"] = json!(cached);
        u["cacheTokensDetails"] = json!([{"modality": "TEXT", "tokenCount": cached}]);
    }
    if thoughts > 0 {
        u["thoughtsTokenCount"] = json!(thoughts);
    }
    u
}

fn finish_reason(plan: &Plan) -> &'static str {
    match plan.finish {
        Finish::Length => "MAX_TOKENS",
        _ => "STOP",
    }
}

/// The parts of the reply: the thought summary when asked, then text or function calls.
fn parts(plan: &Plan, include_thoughts: bool) -> Vec<Value> {
    let mut parts = Vec::new();
    if include_thoughts && !plan.thinking.is_empty() {
        parts.push(json!({"text": plan.thinking.concat(), "thought": true}));
    }
    if plan.tool_calls.is_empty() {
        parts.push(json!({"text": plan.text()}));
    }
    for c in &plan.tool_calls {
        parts.push(json!({"functionCall": {"name": c.name, "args": c.arguments}}));
    }
    parts
}

/// The prompt cache split of a request: (uncached input, cache read).
fn implicit_cache(req: &Req, call: &Call, g: &Generate, ready: Option<Instant>) -> (u64, u64) {
    let total = g.prompt.total() + g.cached;
    if g.cached > 0 || call.model.spec.cache_ttls.is_empty() {
        return (total - g.cached, g.cached);
    }
    let scope = hash_str(hash_str(SEED_HASH ^ 0x6e6d, &call.model.spec.id), &req.key);
    let c = req.state.cache.openai(
        scope,
        &g.prompt.ids,
        u64::from(call.model.spec.min_cacheable_tokens),
        IMPLICIT_STEP,
        IMPLICIT_TTL,
        Instant::now(),
        ready,
        &crate::cache::OpenAiBreakpoints {
            implicit: true,
            explicit: Vec::new(),
        },
    );
    (total - c.read, c.read)
}

/// generateContent and streamGenerateContent.
async fn generate(
    req: Arc<Req>,
    model: String,
    bytes: axum::body::Bytes,
    stream: bool,
) -> Result<Response, ApiError> {
    let mut call = req.admit(model_id(&model))?;
    call.tier = burnrate_sim::ServiceTier::Standard;
    let id = call.model.spec.id.clone();
    let r2 = req.clone();
    let b2 = bytes.clone();
    let g = off_thread(&req, bytes.len(), move || read_generate(&r2, &id, &b2)).await??;
    let o = g.body.as_object().cloned().unwrap_or_default();
    let gen_cfg = o
        .get("generationConfig")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (reasoning, include_thoughts) =
        thinking(call.model.spec.reasoning, gen_cfg.get("thinkingConfig"))?;
    let ask = ask_of(&o, &gen_cfg, &g.prompt, reasoning)?;
    let prompt_total = g.prompt.total() + g.cached;
    let max_out = ask
        .max_tokens
        .unwrap_or(call.model.window.max_output_tokens);
    validate::max_output(
        req.shape,
        "generationConfig.maxOutputTokens",
        max_out,
        &call.model.spec.id,
        call.model.window,
    )?;
    validate::context(req.shape, prompt_total, 0, call.model.window)?;
    let seed = content_seed(req.cfg.seed, &bytes);
    let plan = plan(&req.cfg, &call.model, call.forced(), &ask, seed);
    if let Some(kind) = call.fault {
        if kind == FaultKind::Timeout {
            let (input, read) = implicit_cache(&req, &call, &g, None);
            let t = gemini_tokens(input, read, 0, 0);
            return Err(req.timeout(&call, t, stream).await);
        }
        if !(stream && kind == FaultKind::StreamError)
            && let Some(e) = req.fault_error(&call, kind)
        {
            return Err(e);
        }
    }
    // Google: the same conservative rule as OpenAI (LimitRules), so no cache lookup here.
    req.rate_limit(
        &call,
        Admission {
            input: prompt_total,
            cache_read: 0,
            output: plan.billed_output(),
            output_cap: plan.output_cap,
        },
    )?;
    let mut timing = Timing::new(&req.cfg, &call, seed);
    timing.think(plan.reasoning_tokens);
    let (input, read) = implicit_cache(&req, &call, &g, Some(Instant::now() + timing.ttft));
    let output = match call.fault {
        Some(FaultKind::StreamCut | FaultKind::StreamError) if stream => plan.output_tokens / 2,
        _ => plan.output_tokens,
    };
    let outcome = req.charge(
        &call,
        Charge::answered(
            gemini_tokens(input, read, output, plan.reasoning_tokens),
            call.fault,
            Delivery::live(stream),
        ),
    );
    let inflight = Inflight::new(&req.state);
    let response_id = req.request_id[4..].to_string();
    let usage = usage(
        prompt_total,
        read,
        plan.output_tokens,
        plan.reasoning_tokens,
    );
    if !stream {
        let body = json!({
            "candidates": [{
                "content": {"parts": parts(&plan, include_thoughts), "role": "model"},
                "finishReason": finish_reason(&plan),
                "index": 0,
            }],
            "usageMetadata": usage,
            "modelVersion": model_id(&model),
            "responseId": response_id,
        });
        let delay = timing.total(plan.output_tokens.max(1));
        let resp = json_response(&body, HeaderMap::new(), delay, call.fault).await;
        drop(outcome);
        drop(inflight);
        return Ok(resp);
    }
    let frames = stream_frames(&plan, include_thoughts, &usage, &model, &response_id);
    let mut frames: Vec<(String, bool)> = frames;
    let mut cut_at = None;
    match call.fault {
        Some(FaultKind::StreamError) => {
            frames.truncate(frames.len() / 2);
            let err = ApiError::new(
                req.shape,
                StatusCode::INTERNAL_SERVER_ERROR,
                "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
            );
            frames.push((err.body(&req.request_id).to_string(), false));
        }
        Some(FaultKind::StreamCut) => cut_at = Some(frames.len() / 2),
        Some(FaultKind::Malformed) => {
            let at = frames.len() / 2;
            frames.insert(at, ("{\"candidates\": [{\"content\": {".to_string(), false));
        }
        _ => {}
    }
    let frame_fn: FrameFn = Box::new(move |i| {
        let (data, token) = frames.get(i)?;
        Some(Frame {
            data: sse_data(data),
            token: *token,
        })
    });
    Ok(sse_response(
        frame_fn,
        timing,
        outcome,
        inflight,
        cut_at,
        HeaderMap::new(),
    ))
}

/// The SSE chunks of a streamed reply: one `GenerateContentResponse` per token (thought
/// parts first when asked), function calls whole, `finishReason` and `usageMetadata` on the
/// last chunk, as the API streams them.
fn stream_frames(
    plan: &Plan,
    include_thoughts: bool,
    usage: &Value,
    model: &str,
    response_id: &str,
) -> Vec<(String, bool)> {
    let chunk = |parts: Value| {
        json!({
            "candidates": [{"content": {"parts": parts, "role": "model"}, "index": 0}],
            "modelVersion": model_id(model),
            "responseId": response_id,
        })
        .to_string()
    };
    let mut frames = Vec::new();
    if include_thoughts {
        for p in &plan.thinking {
            frames.push((chunk(json!([{"text": p, "thought": true}])), true));
        }
    }
    if plan.tool_calls.is_empty() {
        for p in &plan.pieces {
            frames.push((chunk(json!([{"text": p}])), true));
        }
    }
    for c in &plan.tool_calls {
        frames.push((
            chunk(json!([{"functionCall": {"name": c.name, "args": c.arguments}}])),
            true,
        ));
    }
    let last = json!({
        "candidates": [{"content": {"parts": [{"text": ""}], "role": "model"}, "finishReason": finish_reason(plan), "index": 0}],
        "usageMetadata": usage,
        "modelVersion": model_id(model),
        "responseId": response_id,
    });
    frames.push((last.to_string(), false));
    frames
}

/// The billed tokens: thoughts bill as output (<https://ai.google.dev/gemini-api/docs/pricing>:
/// "output price (including thinking tokens)"); cached tokens at the cache read price.
fn gemini_tokens(input: u64, read: u64, output: u64, thoughts: u64) -> Tokens {
    Tokens {
        input,
        cache_read: read,
        output: output + thoughts,
        reasoning: thoughts,
        ..Tokens::default()
    }
}

/// `:countTokens` (<https://ai.google.dev/api/tokens>): `{contents}` or
/// `{generateContentRequest}`; answers `totalTokens` (and `cachedContentTokenCount`). Free, and
/// not a model call: no faults, limits or ledger cost (recorded with no tokens).
async fn count_tokens(
    req: Arc<Req>,
    model: String,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let shape = req.shape;
    let name = model_id(&model).to_string();
    req.check_model_name(&name)?;
    let entry = req
        .cfg
        .model(&name, burnrate_sim::Provider::Google)
        .ok_or_else(|| req.unknown_model(&name))?;
    let body: Value = parse_json(shape, &bytes)?;
    let o = validate::object(shape, &body)?.clone();
    let inner = match o.get("generateContentRequest") {
        Some(Value::Object(g)) => g.clone(),
        Some(_) => {
            return Err(ApiError::bad_request(
                shape,
                "Invalid value at 'generate_content_request', expected a GenerateContentRequest",
            ));
        }
        None => o,
    };
    validate::fields(shape, &inner, RULES)?;
    let cached = match inner.get("cachedContent").and_then(Value::as_str) {
        Some(c) => caches::tokens_for(&req, c, &entry.spec.id)?,
        None => 0,
    };
    let p = off_thread(&req, bytes.len(), move || build_prompt(&inner)).await??;
    let total = p.total() + cached;
    let mut out = json!({
        "totalTokens": total,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}],
    });
    if cached > 0 {
        out["cachedContentTokenCount"] = json!(cached);
    }
    Ok(ok_json(out))
}
