//! The Gemini API (`/v1beta`): usage and bills derived by hand from Google's documentation and
//! the catalog's prices (gemini-3.5-flash: input $1.50, cache read $0.15, output $9.00 per
//! million tokens; storage $1.00 per million tokens per hour; gemini-embedding-001: $0.15).

use super::{call, call_raw, cfg, o200k};
use axum::http::StatusCode;
use burnrate_mock::router;
use serde_json::{Value, json};

const FLASH: &str = "/v1beta/models/gemini-3.5-flash:generateContent";

fn user(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
}

async fn ledger(app: &axum::Router, model: &str) -> Value {
    ledger_as(app, model, &[]).await
}

async fn ledger_as(app: &axum::Router, model: &str, key: &[(&str, &str)]) -> Value {
    let (_, _, v) = call_raw(app, "GET", "/_mock/usage", String::new(), key).await;
    v["models"][model].clone()
}

#[tokio::test]
async fn generate_content_usage_and_bill_to_the_pusd() {
    let app = router(cfg("time_scale = 0.0"));
    let (s, _, v) = call(
        &app,
        FLASH,
        user("Hello there."),
        &[
            ("x-mock-output-tokens", "7"),
            ("x-mock-reasoning-tokens", "5"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // One content: its role and text, plus the 3 tokens of the per-message rule.
    let prompt = o200k("user\nHello there.") + 3;
    let u = &v["usageMetadata"];
    assert_eq!(u["promptTokenCount"], json!(prompt));
    assert_eq!(u["candidatesTokenCount"], json!(7));
    assert_eq!(u["thoughtsTokenCount"], json!(5));
    assert_eq!(u["totalTokenCount"], json!(prompt + 12));
    assert!(u.get("cachedContentTokenCount").is_none());
    let c = &v["candidates"][0];
    assert_eq!(c["finishReason"], "STOP");
    assert_eq!(c["content"]["role"], "model");
    let text = c["content"]["parts"][0]["text"].as_str().unwrap();
    assert_eq!(o200k(text), 7, "{text:?}");
    // Thoughts bill as output: prompt x 1.5 + (7 + 5) x 9.0 pUSD per token (x 1e6).
    let row = ledger(&app, "gemini-3.5-flash").await;
    assert_eq!(row["cost_pusd"], json!(prompt * 1_500_000 + 12 * 9_000_000));
    assert_eq!(row["reasoning_tokens"], json!(5));
}

#[tokio::test]
async fn errors_have_googles_shape_and_retry_info() {
    let app = router(cfg("time_scale = 0.0\napi_keys = [\"k-good-key-123\"]"));
    let (s, _, v) = call(&app, FLASH, user("hi"), &[("x-goog-api-key", "wrong")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(v["error"]["code"], 400);
    assert_eq!(v["error"]["details"][0]["reason"], "API_KEY_INVALID");

    let key = [("x-goog-api-key", "k-good-key-123")];
    let (s, _, v) = call(
        &app,
        "/v1beta/models/gemini-9-ultra:generateContent",
        user("hi"),
        &key,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["status"], "NOT_FOUND");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("models/gemini-9-ultra is not found")
    );

    let (s, h, v) = call(&app, FLASH, user("hi"), &[key[0], ("x-mock-fault", "429")]).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
    let retry = v["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
        .expect("RetryInfo detail");
    // The default retry_after_ms is 1000: "1s", as the header says.
    assert_eq!(retry["retryDelay"], "1s");
    assert_eq!(h["retry-after"], "1");

    // Google has no 529: overloaded is 503 UNAVAILABLE.
    let (s, _, v) = call(&app, FLASH, user("hi"), &[key[0], ("x-mock-fault", "529")]).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["error"]["status"], "UNAVAILABLE");

    let (s, _, v) = call_raw(&app, "POST", FLASH, "{not json".into(), &key).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    let (s, _, v) = call(&app, FLASH, json!({"contents": []}), &key).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // Four answered errors for the model (the model is admitted before the body is read),
    // recorded with the status the client saw.
    let row = ledger_as(&app, "gemini-3.5-flash", &[("x-api-key", "k-good-key-123")]).await;
    assert_eq!(row["requests"], json!(4), "{row}");
    assert_eq!(
        row["errors_by_status"],
        json!({"400": 2, "429": 1, "503": 1})
    );
    assert_eq!(row["cost_pusd"], json!(0));
}

#[tokio::test]
async fn function_calling_then_text_after_the_response() {
    let app = router(cfg("time_scale = 0.0"));
    let tools = json!([{"functionDeclarations": [{
        "name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}, "days": {"type": "INTEGER"}}, "required": ["city", "days"]}
    }]}]);
    let mut body = user("Weather in Paris?");
    body["tools"] = tools.clone();
    let (s, _, v) = call(&app, FLASH, body, &[]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let fc = &v["candidates"][0]["content"]["parts"][0]["functionCall"];
    assert_eq!(fc["name"], "get_weather");
    assert!(fc["args"]["city"].is_string(), "{fc}");
    assert!(fc["args"]["days"].is_i64(), "{fc}");

    let body = json!({"tools": tools, "contents": [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {"role": "model", "parts": [{"functionCall": fc.clone()}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 21}}}]},
    ]});
    let (_, _, v) = call(&app, FLASH, body.clone(), &[]).await;
    assert!(
        v["candidates"][0]["content"]["parts"][0]["text"].is_string(),
        "{v}"
    );
    // The snake_case spelling google-genai 3.x sends for a Python callable's JSON schema.
    let mut snake = user("Weather?");
    snake["tools"] = json!([{"functionDeclarations": [{"name": "f", "parameters_json_schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}]}]);
    let (_, _, v) = call(&app, FLASH, snake, &[]).await;
    assert!(
        v["candidates"][0]["content"]["parts"][0]["functionCall"]["args"]["n"].is_i64(),
        "{v}"
    );
    // mode NONE: text even on the first turn; mode ANY with a name: that function.
    let mut none = user("Weather?");
    none["tools"] = json!([{"functionDeclarations": [{"name": "a"}, {"name": "b"}]}]);
    none["toolConfig"] = json!({"functionCallingConfig": {"mode": "NONE"}});
    let (_, _, v) = call(&app, FLASH, none.clone(), &[]).await;
    assert!(
        v["candidates"][0]["content"]["parts"][0]["text"].is_string(),
        "{v}"
    );
    none["toolConfig"] =
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["b"]}});
    let (_, _, v) = call(&app, FLASH, none.clone(), &[]).await;
    assert_eq!(
        v["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
        "b"
    );
    none["toolConfig"] = json!({"functionCallingConfig": {"mode": "SOMETIMES"}});
    let (s, _, v) = call(&app, FLASH, none, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SOMETIMES"),
        "{v}"
    );
}

#[tokio::test]
async fn response_schema_and_json_schema_are_honoured() {
    let app = router(cfg("time_scale = 0.0"));
    let schema = json!({"type": "OBJECT", "properties": {"name": {"type": "STRING"}, "age": {"type": "INTEGER"}}, "required": ["name", "age"]});
    for (field, s) in [
        ("responseSchema", schema.clone()),
        (
            "responseJsonSchema",
            json!({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}, "required": ["tags"]}),
        ),
    ] {
        let mut body = user("Who?");
        body["generationConfig"] = json!({"responseMimeType": "application/json", field: s});
        let (st, _, v) = call(&app, FLASH, body, &[]).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let text = v["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap();
        let parsed: Value = serde_json::from_str(text).expect("valid JSON");
        if field == "responseSchema" {
            assert!(
                parsed["name"].is_string() && parsed["age"].is_i64(),
                "{parsed}"
            );
        } else {
            assert!(parsed["tags"].is_array(), "{parsed}");
        }
    }
    let mut body = user("Who?");
    body["generationConfig"] = json!({"responseMimeType": "text/html", "responseSchema": schema});
    let (st, _, _) = call(&app, FLASH, body, &[]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn stream_sends_each_token_then_usage() {
    let app = router(cfg("time_scale = 0.0"));
    let (s, h, v) = call(
        &app,
        "/v1beta/models/gemini-3.5-flash:streamGenerateContent?alt=sse",
        user("Stream please."),
        &[
            ("x-mock-output-tokens", "6"),
            ("x-mock-reasoning-tokens", "0"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = v.as_str().unwrap();
    let chunks: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(o200k(&text), 6, "{text:?}");
    let last = chunks.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], json!(6));
    let (s, _, _) = call(
        &app,
        "/v1beta/models/gemini-3.5-flash:streamGenerateContent",
        user("x"),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn count_tokens_matches_generate_and_is_free() {
    let app = router(cfg("time_scale = 0.0"));
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "First question."}]},
        {"role": "model", "parts": [{"text": "An answer."}]},
        {"role": "user", "parts": [{"text": "Second question."}]},
    ]});
    let (s, _, c) = call(
        &app,
        "/v1beta/models/gemini-3.5-flash:countTokens",
        body.clone(),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let expected = o200k("user\nFirst question.model\nAn answer.user\nSecond question.") + 9;
    assert_eq!(c["totalTokens"], json!(expected));
    let (_, _, g) = call(&app, FLASH, body.clone(), &[]).await;
    assert_eq!(g["usageMetadata"]["promptTokenCount"], c["totalTokens"]);
    let wrapped = json!({"generateContentRequest": {"model": "models/gemini-3.5-flash", "contents": body["contents"]}});
    let (_, _, w) = call(
        &app,
        "/v1beta/models/gemini-3.5-flash:countTokens",
        wrapped,
        &[],
    )
    .await;
    assert_eq!(w["totalTokens"], c["totalTokens"]);
    // google-genai 3.x calls the v1 paths: the same API.
    let (s, _, v1) = call(
        &app,
        "/v1/models/gemini-3.5-flash:generateContent",
        body,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v1}");
    assert_eq!(v1["usageMetadata"]["promptTokenCount"], c["totalTokens"]);
    let (s, _, e) = call(&app, "/v1/models/nope:generateContent", user("x"), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(e["error"]["status"], "NOT_FOUND");
}

#[tokio::test]
async fn embeddings_are_unit_vectors_billed_as_input() {
    let app = router(cfg("time_scale = 0.0"));
    let body = json!({"requests": [
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "alpha beta"}]}, "outputDimensionality": 768},
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "gamma"}]}, "outputDimensionality": 768},
    ]});
    let (s, _, v) = call(
        &app,
        "/v1beta/models/gemini-embedding-001:batchEmbedContents",
        body,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let e = v["embeddings"].as_array().unwrap();
    assert_eq!(e.len(), 2);
    for x in e {
        let vals: Vec<f64> = x["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_f64().unwrap())
            .collect();
        assert_eq!(vals.len(), 768);
        let norm: f64 = vals.iter().map(|f| f * f).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "{norm}");
    }
    let (s, _, one) = call(
        &app,
        "/v1beta/models/gemini-embedding-001:embedContent",
        json!({"content": {"parts": [{"text": "gamma"}]}, "outputDimensionality": 768}),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        one["embedding"]["values"], e[1]["values"],
        "deterministic per text"
    );
    let tokens = o200k("alpha beta") + 2 * o200k("gamma");
    let row = ledger(&app, "gemini-embedding-001").await;
    assert_eq!(row["cost_pusd"], json!(tokens * 150_000));
    let (s, _, _) = call(
        &app,
        "/v1beta/models/gemini-3.5-flash:embedContent",
        json!({"content": {"parts": [{"text": "x"}]}}),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// A system instruction of about 5,000 tokens (over gemini-3.5-flash's 4,096 minimum).
fn long_system() -> Value {
    json!({"parts": [{"text": "You are a careful support agent for a bicycle shop. ".repeat(500)}]})
}

#[tokio::test]
async fn explicit_cache_bills_creation_storage_and_reads() {
    let app = router(cfg("time_scale = 0.0"));
    let create = json!({
        "model": "models/gemini-3.5-flash", "systemInstruction": long_system(),
        "contents": [{"role": "user", "parts": [{"text": "The manual."}]}], "ttl": "1800s",
    });
    let (s, _, c) = call(&app, "/v1beta/cachedContents", create, &[]).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let name = c["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("cachedContents/"));
    let cached = c["usageMetadata"]["totalTokenCount"].as_u64().unwrap();
    assert!(cached > 4096, "{cached}");
    // Creation: tokens at the input price, plus 30 minutes of storage at $1.00/M/hour.
    let create_pusd = cached * 1_500_000 + cached * 1_000_000 / 2;
    assert_eq!(
        ledger(&app, "gemini-3.5-flash").await["cost_pusd"],
        json!(create_pusd)
    );

    let mut body = user("What is the return policy?");
    body["cachedContent"] = json!(name);
    let (s, _, v) = call(
        &app,
        FLASH,
        body.clone(),
        &[
            ("x-mock-output-tokens", "4"),
            ("x-mock-reasoning-tokens", "0"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let u = &v["usageMetadata"];
    let fresh = o200k("user\nWhat is the return policy?") + 3;
    assert_eq!(u["cachedContentTokenCount"], json!(cached));
    assert_eq!(u["promptTokenCount"], json!(cached + fresh));
    let call_pusd = cached * 150_000 + fresh * 1_500_000 + 4 * 9_000_000;
    assert_eq!(
        ledger(&app, "gemini-3.5-flash").await["cost_pusd"],
        json!(create_pusd + call_pusd)
    );

    // Get, list, a request that also sets a system instruction (Google's 400), delete.
    let id = name.strip_prefix("cachedContents/").unwrap();
    let (s, _, g) = call_raw(&app, "GET", &format!("/v1beta/{name}"), String::new(), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(g["model"], "models/gemini-3.5-flash");
    let (_, _, l) = call_raw(&app, "GET", "/v1beta/cachedContents", String::new(), &[]).await;
    assert_eq!(l["cachedContents"].as_array().unwrap().len(), 1);
    let mut bad = body.clone();
    bad["systemInstruction"] = json!({"parts": [{"text": "x"}]});
    let (s, _, _) = call(&app, FLASH, bad, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = call_raw(
        &app,
        "DELETE",
        &format!("/v1beta/cachedContents/{id}"),
        String::new(),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, v) = call(&app, FLASH, body, &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"]["status"], "PERMISSION_DENIED");
}

#[tokio::test]
async fn explicit_cache_too_small_and_ttl_extension() {
    let app = router(cfg("time_scale = 0.0"));
    let small = json!({"model": "models/gemini-3.5-flash", "contents": [{"role": "user", "parts": [{"text": "short"}]}]});
    let (s, _, v) = call(&app, "/v1beta/cachedContents", small, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("min_total_token_count=4096"),
        "{v}"
    );
    let create = json!({"model": "models/gemini-3.5-flash", "systemInstruction": long_system(), "ttl": "3600s"});
    let (_, _, c) = call(&app, "/v1beta/cachedContents", create, &[]).await;
    let cached = c["usageMetadata"]["totalTokenCount"].as_u64().unwrap();
    let before = ledger(&app, "gemini-3.5-flash").await["cost_pusd"]
        .as_u64()
        .unwrap();
    assert_eq!(before, cached * 1_500_000 + cached * 1_000_000);
    // Two hours from now: one more hour than the current expiry, billed (to a few ms).
    let path = format!("/v1beta/{}", c["name"].as_str().unwrap());
    let (s, _, _) = call_raw(
        &app,
        "PATCH",
        &path,
        json!({"ttl": "7200s"}).to_string(),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let extra = ledger(&app, "gemini-3.5-flash").await["cost_pusd"]
        .as_u64()
        .unwrap()
        - before;
    let hour = cached * 1_000_000;
    assert!(
        extra <= hour && extra + hour / 3600 >= hour,
        "{extra} vs {hour}"
    );
    let (s, _, _) = call_raw(
        &app,
        "PATCH",
        &path,
        json!({"ttl": "ten minutes"}).to_string(),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn implicit_cache_reads_a_repeated_prefix() {
    let app = router(cfg("time_scale = 0.0"));
    let mut body = user("First question about gears.");
    body["systemInstruction"] = long_system();
    let (_, _, first) = call(&app, FLASH, body.clone(), &[]).await;
    assert!(
        first["usageMetadata"]
            .get("cachedContentTokenCount")
            .is_none()
    );
    body["contents"][0]["parts"][0]["text"] = json!("Second question, about brakes.");
    let (_, _, second) = call(&app, FLASH, body, &[]).await;
    let read = second["usageMetadata"]["cachedContentTokenCount"]
        .as_u64()
        .unwrap();
    // The shared prefix is the system instruction and "user\n"; hits come in 128-token steps
    // from the 4,096 minimum, never beyond the shared prefix.
    let shared = o200k(long_system()["parts"][0]["text"].as_str().unwrap());
    assert!(read >= 4096 && (read - 4096) % 128 == 0, "{read}");
    assert!(
        read <= shared + 2 && read + 128 > shared,
        "{read} vs {shared}"
    );
}
