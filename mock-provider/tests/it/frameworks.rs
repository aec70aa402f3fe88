//! What agent frameworks rely on (issue 21): the tool policy that ends loops, JSON mode with
//! the schema in the prompt, Anthropic structured outputs (GA `output_config.format` and the
//! beta `output_format`), streamed and billed.

use super::{call, call_raw, cfg, o200k};
use axum::http::StatusCode;
use burnrate_mock::router;
use serde_json::{Value, json};

fn tool(name: &str) -> Value {
    json!({"type": "function", "function": {"name": name, "parameters": {"type": "object",
        "properties": {"q": {"type": "string"}}, "required": ["q"]}}})
}

fn called(name: &str, id: &str) -> [Value; 2] {
    [
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": id, "type": "function",
            "function": {"name": name, "arguments": "{\"q\":\"x\"}"}}]}),
        json!({"role": "tool", "tool_call_id": id, "content": "42"}),
    ]
}

fn tool_call_name(v: &Value) -> Option<&str> {
    v["choices"][0]["message"]["tool_calls"][0]["function"]["name"].as_str()
}

/// `tool_choice: required` calls a tool the conversation has not called before repeating
/// one: the second round reaches the output tool, as Pydantic AI's tool output needs.
#[tokio::test]
async fn required_tool_choice_reaches_every_tool_before_repeating() {
    let app = router(cfg("time_scale = 0.0\nseed = 3"));
    let tools = json!([tool("search"), tool("final_result")]);
    let mut messages = vec![json!({"role": "user", "content": "find it"})];
    let body = |m: &Vec<Value>| json!({"model": "gpt-5.6", "messages": m, "tools": tools, "tool_choice": "required"});
    let (s, _, a) = call(&app, "/v1/chat/completions", body(&messages), &[]).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(tool_call_name(&a), Some("search"));
    messages.extend(called("search", "call_1"));
    let (_, _, b) = call(&app, "/v1/chat/completions", body(&messages), &[]).await;
    assert_eq!(tool_call_name(&b), Some("final_result"));
    // Every tool called: a seeded pick, the same for the same request.
    messages.extend(called("final_result", "call_2"));
    let (_, _, c1) = call(&app, "/v1/chat/completions", body(&messages), &[]).await;
    let (_, _, c2) = call(&app, "/v1/chat/completions", body(&messages), &[]).await;
    let pick = tool_call_name(&c1).unwrap();
    assert!(["search", "final_result"].contains(&pick));
    assert_eq!(tool_call_name(&c2), Some(pick));
}

/// `auto`: a tool call while the turn has had fewer than `tool_rounds` rounds, then text.
#[tokio::test]
async fn auto_tool_choice_answers_text_after_tool_rounds() {
    let app = router(cfg(
        "time_scale = 0.0\n[models.\"gpt-5.4\"]\ntool_rounds = 2",
    ));
    let tools = json!([tool("search"), tool("fetch")]);
    let run = |model: &str, m: &Vec<Value>| json!({"model": model, "messages": m, "tools": tools, "tool_choice": "auto"});
    let mut m = vec![json!({"role": "user", "content": "go"})];
    m.extend(called("search", "call_1"));
    // Default 1 round: text now.
    let (_, _, a) = call(&app, "/v1/chat/completions", run("gpt-5.6", &m), &[]).await;
    assert_eq!(a["choices"][0]["finish_reason"], json!("stop"));
    assert!(a["choices"][0]["message"]["content"].is_string());
    // The model's `tool_rounds = 2`: a second round, with the tool not called yet.
    let (_, _, b) = call(&app, "/v1/chat/completions", run("gpt-5.4", &m), &[]).await;
    assert_eq!(tool_call_name(&b), Some("fetch"));
    // The header overrides the model's setting both ways.
    let h = [("x-mock-tool-rounds", "2")];
    let (_, _, c) = call(&app, "/v1/chat/completions", run("gpt-5.6", &m), &h).await;
    assert_eq!(tool_call_name(&c), Some("fetch"));
    let h0 = [("x-mock-tool-rounds", "1")];
    let (_, _, d) = call(&app, "/v1/chat/completions", run("gpt-5.4", &m), &h0).await;
    assert_eq!(d["choices"][0]["finish_reason"], json!("stop"));
    // Two rounds taken: text under tool_rounds = 2.
    m.extend(called("fetch", "call_2"));
    let (_, _, e) = call(&app, "/v1/chat/completions", run("gpt-5.4", &m), &[]).await;
    assert_eq!(e["choices"][0]["finish_reason"], json!("stop"));
    // A new user message starts a new turn: a tool again.
    m.push(json!({"role": "user", "content": "and now?"}));
    let (_, _, f) = call(&app, "/v1/chat/completions", run("gpt-5.6", &m), &[]).await;
    assert_eq!(f["choices"][0]["finish_reason"], json!("tool_calls"));
    // A bad header is a 400 in the caller's shape.
    let bad = [("x-mock-tool-rounds", "many")];
    let (s, _, g) = call(&app, "/v1/chat/completions", run("gpt-5.6", &m), &bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        g["error"]["message"]
            .as_str()
            .unwrap()
            .contains("x-mock-tool-rounds")
    );
}

#[test]
fn tool_rounds_config_is_checked() {
    let e = burnrate_mock::MockConfig::from_toml_str("[defaults]\ntool_rounds = 101")
        .unwrap_err()
        .to_string();
    assert!(e.contains("tool_rounds") && e.contains("[0, 100]"), "{e}");
}

/// Anthropic: `any` goes through the tools in order; `auto` ends after one round.
#[tokio::test]
async fn anthropic_tool_policy() {
    let app = router(cfg("time_scale = 0.0"));
    let tools = json!([
        {"name": "search", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}},
        {"name": "final_result", "input_schema": {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}}
    ]);
    let first = json!({"role": "user", "content": "find it"});
    let used = json!({"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"q": "x"}}]});
    let result = json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "42"}]});
    let body = |choice: &str| {
        json!({"model": "claude-sonnet-4-6", "max_tokens": 200, "tools": tools,
            "tool_choice": {"type": choice}, "messages": [first, used, result]})
    };
    let (_, _, a) = call(&app, "/v1/messages", body("any"), &[]).await;
    assert_eq!(a["stop_reason"], json!("tool_use"), "{a}");
    assert_eq!(a["content"][0]["name"], json!("final_result"));
    assert!(a["content"][0]["input"]["answer"].is_i64());
    let (_, _, b) = call(&app, "/v1/messages", body("auto"), &[]).await;
    assert_eq!(b["stop_reason"], json!("end_turn"));
    assert_eq!(b["content"][0]["type"], json!("text"));
}

/// instructor's `Mode.JSON`: `json_object` with the schema in the system message.
#[tokio::test]
async fn json_object_answers_the_schema_found_in_the_messages() {
    let app = router(cfg("time_scale = 0.0"));
    let schema = json!({"title": "User", "type": "object", "properties": {
        "name": {"type": "string"}, "age": {"type": "integer", "minimum": 18, "maximum": 99},
        "role": {"enum": ["admin", "guest"]}}, "required": ["name", "age", "role"]});
    let system = format!(
        "Answer in json matching this json_schema:\n\n{}\n\nan example that is no schema: {{\"name\": \"x\"}}",
        serde_json::to_string_pretty(&schema).unwrap()
    );
    let body = json!({"model": "gpt-5.6", "response_format": {"type": "json_object"},
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": "Jason is 25"}]});
    let (s, h, v) = call(&app, "/v1/chat/completions", body, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!h.contains_key("x-mock-warning"));
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    let out: Value = serde_json::from_str(text).unwrap();
    assert!(out["name"].is_string(), "{out}");
    let age = out["age"].as_i64().unwrap();
    assert!((18..=99).contains(&age), "{out}");
    assert!(["admin", "guest"].contains(&out["role"].as_str().unwrap()));
    let reasoning = v["usage"]["completion_tokens_details"]["reasoning_tokens"]
        .as_u64()
        .unwrap();
    assert_eq!(
        v["usage"]["completion_tokens"],
        json!(o200k(text) + reasoning)
    );
    // Without a schema in the prompt: still a JSON object.
    let plain = json!({"model": "gpt-5.6", "response_format": {"type": "json_object"},
        "messages": [{"role": "user", "content": "hi"}]});
    let (_, _, p) = call(&app, "/v1/chat/completions", plain, &[]).await;
    let text = p["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(serde_json::from_str::<Value>(text).unwrap().is_object());
}

fn anthropic_schema() -> Value {
    json!({"type": "object", "properties": {
        "city": {"type": "string"}, "rain": {"type": "boolean"},
        "days": {"type": "array", "items": {"$ref": "#/$defs/Day"}, "minItems": 1}},
        "required": ["city", "rain", "days"], "additionalProperties": false,
        "$defs": {"Day": {"type": "object", "properties": {"date": {"type": "string", "format": "date"}},
            "required": ["date"], "additionalProperties": false}}})
}

fn check_weather(v: &Value) {
    assert!(v["city"].is_string(), "{v}");
    assert!(v["rain"].is_boolean(), "{v}");
    let days = v["days"].as_array().unwrap();
    assert!(!days.is_empty());
    assert_eq!(days[0]["date"], json!("2026-01-15"));
}

/// `output_config.format` (GA) and `output_format` (beta): the text block is the JSON, the
/// schema counts as input, output bills the JSON's tokens.
#[tokio::test]
async fn anthropic_structured_outputs_json_and_stream() {
    let app = router(cfg("time_scale = 0.0"));
    let format = json!({"type": "json_schema", "schema": anthropic_schema()});
    let ga = json!({"model": "claude-sonnet-4-6", "max_tokens": 500,
        "output_config": {"format": format, "effort": "low"},
        "messages": [{"role": "user", "content": "weather?"}]});
    let (s, _, v) = call(&app, "/v1/messages", ga.clone(), &[]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let text = v["content"][0]["text"].as_str().unwrap();
    check_weather(&serde_json::from_str(text).unwrap());
    assert_eq!(v["usage"]["output_tokens"], json!(o200k(text)));
    let schema_tokens = o200k(&anthropic_schema().to_string());
    assert_eq!(
        v["usage"]["input_tokens"],
        json!(3 + o200k("weather?") + schema_tokens)
    );
    // count_tokens counts the schema the same way.
    let mut count = ga.clone();
    count.as_object_mut().unwrap().remove("max_tokens");
    let (_, _, c) = call(&app, "/v1/messages/count_tokens", count, &[]).await;
    assert_eq!(c["input_tokens"], v["usage"]["input_tokens"]);

    // The beta field, streamed: text_delta events whose concatenation is the JSON.
    let beta = json!({"model": "claude-sonnet-4-6", "max_tokens": 500, "stream": true,
        "output_format": format, "messages": [{"role": "user", "content": "weather?"}]});
    let h = [("anthropic-beta", "structured-outputs-2025-11-13")];
    let (s, _, body) = call(&app, "/v1/messages", beta, &h).await;
    assert_eq!(s, StatusCode::OK);
    let sse = body.as_str().unwrap();
    let mut streamed = String::new();
    let mut billed = 0;
    for data in sse.lines().filter_map(|l| l.strip_prefix("data: ")) {
        let e: Value = serde_json::from_str(data).unwrap();
        if e["delta"]["type"] == "text_delta" {
            streamed.push_str(e["delta"]["text"].as_str().unwrap());
        }
        if e["type"] == "message_delta" {
            billed = e["usage"]["output_tokens"].as_u64().unwrap();
        }
    }
    check_weather(&serde_json::from_str(&streamed).unwrap());
    assert_eq!(billed, o200k(&streamed));
    // The ledger: two answers at Sonnet 4.6's 3 / 15 USD per MTok.
    let (_, _, led) = call_raw(&app, "GET", "/_mock/usage", String::new(), &[]).await;
    let m = &led["models"]["claude-sonnet-4-6"];
    let input = 2 * (3 + o200k("weather?") + schema_tokens);
    let output = o200k(text) + billed;
    assert_eq!(
        m["cost_pusd"],
        json!(input * 3_000_000 + output * 15_000_000)
    );
}

#[tokio::test]
async fn anthropic_structured_outputs_bad_input() {
    let app = router(cfg("time_scale = 0.0"));
    let send = |extra: Value| {
        let mut b = json!({"model": "claude-sonnet-4-6", "max_tokens": 100,
            "messages": [{"role": "user", "content": "x"}]});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let app = app.clone();
        async move { call(&app, "/v1/messages", b, &[]).await }
    };
    let recursive = json!({"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}},
        "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}});
    let cases = [
        (
            json!({"output_config": {"format": {"type": "json_schema", "schema": recursive}}}),
            "recursive $ref",
        ),
        (
            json!({"output_config": {"format": {"type": "json"}}}),
            "output_config.format.type",
        ),
        (
            json!({"output_config": {"format": {"type": "json_schema"}}}),
            "output_config.format.schema",
        ),
        (
            json!({"output_format": {"type": "json_schema", "schema": {"$ref": "https://x/s.json"}}}),
            "external $ref",
        ),
        (
            json!({"output_format": {"type": "json_schema", "schema": {}}, "output_config": {"format": {"type": "json_schema", "schema": {}}}}),
            "together",
        ),
        (json!({"output_config": 3}), "output_config"),
    ];
    for (extra, needle) in cases {
        let (s, _, v) = send(extra.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{extra}: {v}");
        assert_eq!(v["type"], json!("error"));
        assert_eq!(v["error"]["type"], json!("invalid_request_error"));
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{extra}: {msg}");
    }
    // Contradictory bounds: no value satisfies them; a best effort and a warning header.
    let impossible = json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 10, "maximum": 5}}, "required": ["n"]});
    let (s, h, v) =
        send(json!({"output_config": {"format": {"type": "json_schema", "schema": impossible}}}))
            .await;
    assert_eq!(s, StatusCode::OK);
    let w = h["x-mock-warning"].to_str().unwrap();
    assert!(w.contains("minimum 10 exceeds maximum 5"), "{w}");
    let out: Value = serde_json::from_str(v["content"][0]["text"].as_str().unwrap()).unwrap();
    assert!(out["n"].is_i64());
}

/// `n`: n choices, billed n times the output (gpt-4o-mini: 0.15 in / 0.60 out USD per MTok).
#[tokio::test]
async fn n_choices_json_and_stream_billed_per_choice() {
    let app = router(cfg("time_scale = 0.0"));
    let body =
        json!({"model": "gpt-4o-mini", "n": 3, "messages": [{"role": "user", "content": "hi"}]});
    let (s, _, v) = call(&app, "/v1/chat/completions", body, &[]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 3);
    let texts: Vec<&str> = choices
        .iter()
        .map(|c| c["message"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(choices[2]["index"], json!(2));
    assert!(texts[0] != texts[1] || texts[1] != texts[2], "{texts:?}");
    let out: u64 = texts.iter().map(|t| o200k(t)).sum();
    assert_eq!(v["usage"]["completion_tokens"], json!(out));
    let prompt = v["usage"]["prompt_tokens"].as_u64().unwrap();
    // Streamed: each choice's chunks carry its index; usage sums the choices.
    let body = json!({"model": "gpt-4o-mini", "n": 2, "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hi"}]});
    let (_, _, sse) = call(&app, "/v1/chat/completions", body, &[]).await;
    let mut streamed = [String::new(), String::new()];
    let mut finishes = 0;
    let mut usage = Value::Null;
    for data in sse
        .as_str()
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
    {
        if data == "[DONE]" {
            continue;
        }
        let e: Value = serde_json::from_str(data).unwrap();
        if let Some(c) = e["choices"].as_array().and_then(|c| c.first()) {
            let i = c["index"].as_u64().unwrap() as usize;
            if let Some(t) = c["delta"]["content"].as_str() {
                streamed[i].push_str(t);
            }
            finishes += usize::from(c["finish_reason"].is_string());
        }
        if e["usage"].is_object() {
            usage = e["usage"].clone();
        }
    }
    assert_eq!(finishes, 2);
    let stream_out = o200k(&streamed[0]) + o200k(&streamed[1]);
    assert_eq!(usage["completion_tokens"], json!(stream_out));
    let (_, _, led) = call_raw(&app, "GET", "/_mock/usage", String::new(), &[]).await;
    let m = &led["models"]["gpt-4o-mini"];
    assert_eq!(
        m["cost_pusd"],
        json!(2 * prompt * 150_000 + (out + stream_out) * 600_000)
    );
}

/// `logprobs`: one entry per sent token, in order, log-probabilities at most 0.
#[tokio::test]
async fn logprobs_cover_the_tokens_sent() {
    let app = router(cfg("time_scale = 0.0"));
    let body = json!({"model": "gpt-4o-mini", "logprobs": true, "top_logprobs": 3,
        "messages": [{"role": "user", "content": "hi"}]});
    let (s, _, v) = call(&app, "/v1/chat/completions", body, &[]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    let content = v["choices"][0]["logprobs"]["content"].as_array().unwrap();
    assert_eq!(content.len() as u64, o200k(text));
    let joined: String = content
        .iter()
        .map(|t| t["token"].as_str().unwrap())
        .collect();
    assert_eq!(joined, text);
    for t in content {
        let lp = t["logprob"].as_f64().unwrap();
        assert!(lp <= 0.0);
        assert_eq!(t["bytes"], json!(t["token"].as_str().unwrap().as_bytes()));
        let top = t["top_logprobs"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        let mass: f64 = top
            .iter()
            .map(|x| x["logprob"].as_f64().unwrap().exp())
            .sum();
        assert!(mass <= 1.0 + 1e-9);
    }
    // Streamed: each content chunk carries its token's entry.
    let body = json!({"model": "gpt-4o-mini", "logprobs": true, "stream": true,
        "messages": [{"role": "user", "content": "hi"}]});
    let (_, _, sse) = call(&app, "/v1/chat/completions", body, &[]).await;
    for data in sse
        .as_str()
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
    {
        let Ok(e) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        let c = &e["choices"][0];
        if let Some(t) = c["delta"]["content"].as_str().filter(|t| !t.is_empty()) {
            assert_eq!(c["logprobs"]["content"][0]["token"], json!(t));
        }
    }
    let bad = json!({"model": "gpt-4o-mini", "top_logprobs": 2, "messages": [{"role": "user", "content": "hi"}]});
    let (s, _, e) = call(&app, "/v1/chat/completions", bad, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["param"], json!("top_logprobs"));
}
