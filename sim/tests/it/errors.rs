//! Every kind of bad scenario gives its documented error: file, line, column, field path and
//! what is allowed.

use burnrate_sim::Scenario;

const GOOD: &str = r#"[traffic]
tasks_per_day = 10

[[steps]]
name = "draft"
model = "article-claude-sonnet"
input_tokens = 100
output_tokens = 10
"#;

fn error(text: &str) -> burnrate_sim::ScenarioError {
    Scenario::from_toml("bad.toml", text).expect_err("must be rejected")
}

#[test]
fn the_good_scenario_is_accepted() {
    Scenario::from_toml("good.toml", GOOD).unwrap();
}

#[test]
fn unknown_key_names_the_nearest_valid_key() {
    let e = error(&GOOD.replace(
        "tasks_per_day = 10",
        "tasks_per_day = 10\ntasks_per_dya = 3",
    ));
    assert_eq!((e.file.as_str(), e.line), ("bad.toml", 3));
    assert!(e.message.contains("did you mean `tasks_per_day`"), "{e}");
    let e = error(&GOOD.replace("output_tokens = 10", "output_tokens = 10\nmax_token = 5"));
    assert_eq!(e.line, 9);
    assert!(e.message.contains("did you mean `max_tokens`"), "{e}");
}

#[test]
fn probabilities_must_be_in_0_1() {
    let e = error(&format!("{GOOD}failures = {{ malformed = 1.5 }}\n"));
    assert_eq!(e.field, "steps[0].failures.malformed");
    assert_eq!(e.line, 9);
    assert!(e.message.contains("between 0 and 1"), "{e}");
}

#[test]
fn failure_probabilities_must_not_sum_above_one() {
    let e = error(&format!(
        "{GOOD}\n[failures]\nmalformed = 0.6\nserver_error = 0.6\n"
    ));
    assert_eq!(e.field, "failures");
    assert!(e.message.contains("more than 1"), "{e}");
}

#[test]
fn unknown_model_suggests_a_catalog_entry() {
    let e = error(&GOOD.replace("article-claude-sonnet", "claude-sonet-4-5"));
    assert_eq!(e.field, "steps[0].model");
    assert_eq!(e.line, 6);
    assert!(
        e.message.contains("did you mean `claude-sonnet-4-5`"),
        "{e}"
    );
}

#[test]
fn negative_counts_and_prices_are_rejected() {
    let e = error(&GOOD.replace("input_tokens = 100", "input_tokens = -5"));
    assert_eq!((e.field.as_str(), e.line), ("steps[0].input_tokens", 7));
    assert!(e.message.contains("non-negative"), "{e}");
    let e = error(&format!(
        "{GOOD}\n[models.article-claude-sonnet]\ninput_usd_per_mtok = -3\n"
    ));
    assert_eq!(e.field, "models.article-claude-sonnet.input_usd_per_mtok");
    assert!(e.message.contains("non-negative price"), "{e}");
}

#[test]
fn referenced_steps_must_exist() {
    let e = error(&GOOD.replace(
        "tasks_per_day = 10",
        "tasks_per_day = 10\n[[traffic.kinds]]\nname = \"billing\"\nshare = 1\nsteps = [\"drfat\"]",
    ));
    assert_eq!(e.field, "traffic.kinds[0].steps[0]");
    assert!(
        e.message.contains("unknown step `drfat`; steps are: draft"),
        "{e}"
    );
}

#[test]
fn enumerations_list_what_is_allowed() {
    let e = error(&GOOD.replace(
        "output_tokens = 10",
        "output_tokens = 10\ncontext = \"growing\"",
    ));
    assert_eq!(e.field, "steps[0].context");
    assert!(e.message.contains("fresh, accumulate"), "{e}");
    let e = error(&format!("{GOOD}\n[caching]\nttl = \"10m\"\n"));
    assert!(e.message.contains("5m, 30m, 1h, 24h"), "{e}");
    let e = error(&GOOD.replace(
        "input_tokens = 100",
        "input_tokens = { dist = \"pareto\", mean = 3 }",
    ));
    assert!(e.message.contains("lognormal"), "{e}");
}

#[test]
fn syntax_errors_and_missing_tables_have_positions() {
    let e = error("[traffic\ntasks_per_day = 1\n");
    assert_eq!(e.line, 1);
    let e = error("[[steps]]\nname = \"a\"\nmodel = \"o1\"\noutput_tokens = 1\n");
    assert!(e.message.contains("traffic"), "{e}");
    let e = error(&GOOD.replace("tasks_per_day = 10", "tasks_per_day = \"many\""));
    assert_eq!(e.line, 2);
}

#[test]
fn routed_steps_need_routing() {
    let e = error(&GOOD.replace("model = \"article-claude-sonnet\"", "model = \"routed\""));
    assert_eq!(e.field, "steps[0].model");
    assert!(e.message.contains("[routing]"), "{e}");
}

#[test]
fn overrides_go_through_the_same_validation() {
    let ok = Scenario::from_toml_with(
        "s.toml",
        GOOD,
        &[("traffic.tasks_per_day".into(), "500".into())],
    )
    .unwrap();
    assert_eq!(ok.traffic.tasks_per_day, 500.0);
    let ok = Scenario::from_toml_with(
        "s.toml",
        GOOD,
        &[("steps.draft.max_tokens".into(), "5".into())],
    )
    .unwrap();
    assert_eq!(ok.steps[0].max_tokens, Some(5));
    let e = Scenario::from_toml_with(
        "s.toml",
        GOOD,
        &[("steps.nope.max_tokens".into(), "5".into())],
    )
    .unwrap_err();
    assert!(e.message.contains("no entry named `nope`"), "{e}");
    let e = Scenario::from_toml_with(
        "s.toml",
        GOOD,
        &[("traffic.tasks_per_day".into(), "-1".into())],
    )
    .unwrap_err();
    assert_eq!(e.field, "traffic.tasks_per_day");
}
