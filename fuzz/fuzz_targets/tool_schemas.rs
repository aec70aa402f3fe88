//! The tool-argument generator over arbitrary JSON schemas: the input, when it is JSON, is the
//! `parameters` schema of a tool the model must call (chat completions) and the `input_schema`
//! of one it must use (messages), with a small `max_tokens`.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::tool_schema(data));
