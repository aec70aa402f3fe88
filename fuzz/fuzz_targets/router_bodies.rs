//! Request bodies of every endpoint through the mock's router: the first byte picks the
//! endpoint, the rest is the body.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/responses"),
    ("POST", "/v1/embeddings"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/messages/count_tokens"),
    ("POST", "/v1/messages/batches"),
    ("POST", "/v1/batches"),
    ("POST", "/v1/files"),
    ("PUT", "/_mock/config"),
    ("GET", "/v1/models"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (method, path) = ENDPOINTS[pick as usize % ENDPOINTS.len()];
    let content_type = if path == "/v1/files" {
        "multipart/form-data; boundary=XyZ"
    } else {
        "application/json"
    };
    common::send(method, path, &[("content-type", content_type)], body.to_vec());
    if path == "/_mock/config" {
        // Put the fuzz config back, so later inputs run against it.
        common::send(
            "PUT",
            "/_mock/config",
            &[("content-type", "application/json")],
            br#"{"time_scale": 0.0, "batch_completion_s": 0.0, "limits": {"max_stored_file_bytes": 16777216}}"#.to_vec(),
        );
    }
});
