//! Issue 21 point 4: every vendor of LiteLLM's map (the project's copy, imported under the
//! generic rule) served on the OpenAI-compatible API and billed as the map prices it.

use super::{call, o200k};
use axum::http::StatusCode;
use burnrate_mock::{MockConfig, RawConfig, router};
use serde_json::json;

fn imported_config() -> MockConfig {
    let map = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sim/tests/fixtures/litellm-prices-2026-12.json"
    ))
    .unwrap();
    let imp = burnrate_sim::import_litellm(&map, "2026-12-01", &burnrate_sim::Catalog::builtin())
        .unwrap();
    let mut raw: RawConfig = toml::from_str("time_scale = 0.0").unwrap();
    let added = raw
        .add_catalog_toml(&burnrate_sim::models_to_toml(&imp.models))
        .unwrap();
    assert_eq!(added, imp.models.len());
    MockConfig::from_raw(raw).unwrap()
}

#[tokio::test]
async fn generic_vendor_served_on_the_openai_api_at_the_maps_prices() {
    let app = router(imported_config());
    // Amazon Nova 2 Lite on Bedrock: input $0.30, cache read $0.075, output $2.50 per MTok in
    // the map, no write price (writes bill as input).
    let model = "amazon.nova-2-lite-v1:0";
    let long = "Route every parcel through the nearest depot first. ".repeat(200);
    let body = json!({"model": model, "messages": [{"role": "user", "content": long}]});
    let hdr = [
        ("x-mock-output-tokens", "10"),
        ("x-mock-reasoning-tokens", "0"),
    ];
    let (s, _, v) = call(&app, "/v1/chat/completions", body.clone(), &hdr).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let prompt = 3 + o200k("user") + o200k(&long) + 3;
    assert_eq!(v["usage"]["prompt_tokens"], json!(prompt));
    let (_, _, v2) = call(&app, "/v1/chat/completions", body, &hdr).await;
    let read = v2["usage"]["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap();
    // Cached in 128-token steps from the 1,024 minimum (the OpenAI-compatible wire's rule).
    assert!(
        read >= 1024 && (read - 1024) % 128 == 0 && read <= prompt,
        "{read}"
    );
    let (_, _, u) = super::call_raw(&app, "GET", "/_mock/usage", String::new(), &[]).await;
    let row = &u["models"][model];
    let expected = prompt * 300_000
        + 10 * 2_500_000
        + (prompt - read) * 300_000
        + read * 75_000
        + 10 * 2_500_000;
    assert_eq!(row["cost_pusd"], json!(expected), "{row}");
    assert_eq!(row["cache_write_tokens"], json!(0));
}

#[test]
fn catalog_toml_without_models_is_a_clear_error() {
    let mut raw = RawConfig::default();
    let e = raw.add_catalog_toml("seed = 1").unwrap_err().to_string();
    assert!(e.contains("burnrate catalog --format toml"), "{e}");
}
