//! One spelling of distributions in every file a user writes (issue 20): the mock's config
//! takes the scenario's `{ dist, low, high }`, still reads its first spelling `{ kind, min, max }`
//! with a warning that names the field and the new form, and refuses what would mean something
//! else here (a scenario's `min`/`max` are clamps, which the mock does not apply).

use crate::call_raw;
use burnrate_mock::{MockConfig, router};

fn behaviour(toml: &str) -> (String, Vec<String>) {
    let c = MockConfig::from_toml_str(toml).unwrap();
    let m = &c.models["gpt-4o-mini"];
    (
        format!(
            "{:?} {:?} {:?}",
            m.ttft, m.output_tokens, m.reasoning_tokens
        ),
        c.warnings.clone(),
    )
}

#[test]
fn the_scenario_spelling_and_the_old_one_give_the_same_distributions() {
    let (new, warnings) = behaviour(
        "[models.\"gpt-4o-mini\"]\nttft = { dist = \"uniform\", low = 0.5, high = 1.5 }\noutput_tokens = { dist = \"lognormal\", mean = 120, cv = 0.4 }",
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let (old, warnings) = behaviour(
        "[models.\"gpt-4o-mini\"]\nttft = { kind = \"uniform\", min = 0.5, max = 1.5 }\noutput_tokens = { kind = \"lognormal\", mean = 120, cv = 0.4 }",
    );
    assert_eq!(new, old);
    assert!(new.contains("Uniform { low: 0.5, high: 1.5 }"), "{new}");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("models.\"gpt-4o-mini\".ttft: ")
            && warnings[0].contains("write { dist = \"uniform\", low = 0.5, high = 1.5 }"),
        "{}",
        warnings[0]
    );
    assert!(warnings[1].starts_with("models.\"gpt-4o-mini\".output_tokens: "));
}

#[test]
fn spellings_that_mean_something_else_are_refused_naming_the_field() {
    for (toml, field, says) in [
        (
            "[defaults]\nttft = { dist = \"uniform\", min = 1, max = 2 }",
            "defaults.ttft",
            "the mock does not clamp",
        ),
        (
            "[defaults]\nttft = { dist = \"gamma\", mean = 1 }",
            "defaults.ttft",
            "one of constant, uniform, normal, lognormal",
        ),
        (
            "[models.\"gpt-4o\"]\noutput_tokens = { dist = \"lognormal\", mean = 100 }",
            "models.\"gpt-4o\".output_tokens",
            "`lognormal` takes `mean` and `cv`",
        ),
        (
            "[defaults]\nttft = { dist = \"constant\", kind = \"constant\", value = 1 }",
            "defaults.ttft",
            "not both",
        ),
        (
            "[defaults]\nttft = { dist = \"uniform\", low = 3, high = 1 }",
            "defaults.ttft",
            "0 <= low <= high",
        ),
    ] {
        let e = MockConfig::from_toml_str(toml).unwrap_err().to_string();
        assert!(e.contains(field) && e.contains(says), "{toml}: {e}");
    }
}

#[tokio::test]
async fn a_put_in_the_old_spelling_applies_and_answers_the_new_form() {
    let app = router(MockConfig::from_toml_str("").unwrap());
    let body = serde_json::json!({
        "defaults": {"output_tokens": {"kind": "constant", "value": 7}}
    });
    let (status, headers, config) =
        call_raw(&app, "PUT", "/_mock/config", body.to_string(), &[]).await;
    assert_eq!(status, 200, "{config}");
    let warning = headers["x-mock-warning"].to_str().unwrap();
    assert!(
        warning.starts_with("defaults.output_tokens: ")
            && warning.contains("{ dist = \"constant\", value = 7 }"),
        "{warning}"
    );
    // Applied: a reply is exactly 7 tokens.
    let chat = serde_json::json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let (status, _, v) =
        call_raw(&app, "POST", "/v1/chat/completions", chat.to_string(), &[]).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["usage"]["completion_tokens"], 7, "{v}");
    // The new spelling answers no warning.
    let body = serde_json::json!({
        "defaults": {"output_tokens": {"dist": "constant", "value": 7}}
    });
    let (status, headers, _) = call_raw(&app, "PUT", "/_mock/config", body.to_string(), &[]).await;
    assert_eq!(status, 200);
    assert!(!headers.contains_key("x-mock-warning"));
}

#[test]
fn the_servers_limits_table_has_its_own_name_and_the_old_one_still_reads() {
    let new = MockConfig::from_toml_str("[server_limits]\nmax_connections = 7").unwrap();
    assert_eq!(new.limits.max_connections, 7);
    assert!(new.warnings.is_empty(), "{:?}", new.warnings);
    let old = MockConfig::from_toml_str("[limits]\nmax_connections = 7").unwrap();
    assert_eq!(old.limits.max_connections, 7);
    assert_eq!(old.warnings.len(), 1);
    assert!(
        old.warnings[0].contains("now `[server_limits]`"),
        "{:?}",
        old.warnings
    );
    // Errors name the table as written.
    let e = MockConfig::from_toml_str("[limits]\nidle_timeout_s = -1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("limits.idle_timeout_s"), "{e}");
    let e = MockConfig::from_toml_str("[server_limits]\nidle_timeout_s = -1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("server_limits.idle_timeout_s"), "{e}");
    let e = MockConfig::from_toml_str(
        "[limits]\nmax_connections = 1\n[server_limits]\nmax_connections = 2",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not both"), "{e}");
}
