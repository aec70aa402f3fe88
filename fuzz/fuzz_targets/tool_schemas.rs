//! The tool-argument generator over arbitrary JSON schemas: the input, when it is JSON, is the
//! `parameters` schema of a tool the model must call (chat completions) and the `input_schema`
//! of one it must use (messages), with a small `max_tokens`.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let chat = json!({
        "model": "gpt-4o-mini", "max_tokens": 64,
        "messages": [{"role": "user", "content": "go"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}],
        "tool_choice": "required",
    });
    let json = [("content-type", "application/json")];
    common::send("POST", "/v1/chat/completions", &json, chat.to_string().into_bytes());
    let msg = json!({
        "model": "claude-haiku-4-5", "max_tokens": 64,
        "messages": [{"role": "user", "content": "go"}],
        "tools": [{"name": "f", "input_schema": schema}],
        "tool_choice": {"type": "any"},
    });
    common::send("POST", "/v1/messages", &json, msg.to_string().into_bytes());
});
