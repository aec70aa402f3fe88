//! The `burnrate` binary end to end: output, exit codes, and errors for bad input.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn burnrate() -> Command {
    Command::cargo_bin("burnrate").expect("the binary is built")
}

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn json_stdout(cmd: &mut Command) -> Value {
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).expect("stdout is JSON")
}

#[test]
fn simulate_json_has_the_documented_keys() {
    let v = json_stdout(
        burnrate()
            .args([
                "simulate",
                "--format",
                "json",
                "--quiet",
                "--replicas",
                "3",
                "--days",
                "2",
            ])
            .arg(scenario("support-agent.toml")),
    );
    for path in [
        "/seed",
        "/replicas",
        "/days",
        "/tasks/total",
        "/tasks/succeeded",
        "/tasks/failed",
        "/tasks/partial",
        "/calls/total",
        "/calls/retries",
        "/cost_usd/per_task/mean",
        "/cost_usd/per_task/p50",
        "/cost_usd/per_task/p95",
        "/cost_usd/per_task/p99",
        "/cost_usd/per_task/max",
        "/cost_usd/per_day/mean",
        "/cost_usd/per_day/p95",
        "/cost_usd/per_day/p99",
        "/cost_usd/per_day/max",
        "/cost_usd/per_month/mean",
        "/cost_usd/per_month/p95",
        "/cost_usd/by_step/draft",
        "/cost_usd/by_model/article-claude-sonnet",
        "/cost_usd/by_kind/input",
        "/cost_usd/by_kind/cache_write",
        "/cost_usd/by_kind/cache_read",
        "/cost_usd/by_kind/output",
        "/budget/daily_usd",
        "/budget/breach_probability",
        "/cache/hit_rate",
        "/cache/by_step/draft",
        "/latency_s/task/p50",
        "/latency_s/task/p95",
        "/latency_s/task/p99",
    ] {
        assert!(v.pointer(path).is_some(), "missing {path}");
    }
    assert_eq!(v["replicas"], 3);
    assert_eq!(v["seed"], 42);
}

#[test]
fn simulate_reproduces_the_article_support_table() {
    let v = json_stdout(
        burnrate()
            .args(["simulate", "--format", "json", "-q"])
            .arg(scenario("support-budget-exact.toml")),
    );
    assert_eq!(v["cost_usd"]["per_day"]["mean"], 4.44375);
    assert_eq!(v["cost_usd"]["by_step"]["draft"], 4.05);
}

#[test]
fn every_shipped_scenario_simulates() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let v = json_stdout(
                burnrate()
                    .args([
                        "simulate",
                        "--format",
                        "json",
                        "-q",
                        "--replicas",
                        "2",
                        "--days",
                        "2",
                    ])
                    .arg(&path),
            );
            assert!(
                v["tasks"]["total"].as_u64().unwrap() > 0,
                "{}",
                path.display()
            );
            n += 1;
        }
    }
    assert!(n >= 8, "only {n} scenarios shipped");
}

#[test]
fn bad_scenario_exits_2_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[traffic]\ntasks_per_day = 10\n\n[[steps]]\nname = \"a\"\nmodel = \"gpt-4o\"\noutput_tokens = 10\nfailures = { timeout = 2 }\n").unwrap();
    let out = burnrate()
        .args(["simulate", "--out"])
        .arg(dir.path().join("report"))
        .arg(&path)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.toml:8:"), "{stderr}");
    assert!(stderr.contains("steps[0].failures.timeout"), "{stderr}");
    assert!(stderr.contains("between 0 and 1"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!dir.path().join("report").exists(), "nothing half-written");
    burnrate()
        .args(["simulate", "no-such-file.toml"])
        .assert()
        .code(2);
    burnrate()
        .args(["simulate", "--replicas", "0"])
        .arg(scenario("support-agent.toml"))
        .assert()
        .code(2);
    burnrate()
        .args(["simulate", "--format", "yaml"])
        .arg(scenario("support-agent.toml"))
        .assert()
        .code(2);
}

#[test]
fn same_seed_same_output_with_one_and_two_threads() {
    let run = |threads: &str| {
        burnrate()
            .args([
                "simulate",
                "--format",
                "json",
                "-q",
                "--replicas",
                "4",
                "--days",
                "3",
                "--seed",
                "5",
                "--threads",
                threads,
            ])
            .arg(scenario("support-agent.toml"))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    assert_eq!(run("1"), run("2"));
}

#[test]
fn check_gate_exit_codes() {
    let base = || {
        let mut c = burnrate();
        c.args(["check", "-q", "--replicas", "4", "--days", "3"])
            .arg(scenario("support-agent.toml"));
        c
    };
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let out = base()
        .args(["--daily-budget", "50"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with('✅'), "{text}");
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("Budget gate holds")
    );
    let out = base()
        .args(["--daily-budget", "1"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&out).starts_with('❌'));
    base().args(["--daily-budget", "-1"]).assert().code(2);
    base()
        .args(["--daily-budget", "50", "--max-breach-probability", "2"])
        .assert()
        .code(2);
    base()
        .args(["--daily-budget", "50", "--percentile", "0"])
        .assert()
        .code(2);
}

#[test]
fn levers_naive_poc_is_the_most_expensive_and_savings_are_attributed() {
    let v = json_stdout(
        burnrate()
            .args([
                "levers",
                "--format",
                "json",
                "-q",
                "--replicas",
                "4",
                "--days",
                "5",
            ])
            .arg(scenario("support-agent.toml")),
    );
    let steps = v
        .as_array()
        .or_else(|| v["steps"].as_array())
        .expect("lever steps")
        .clone();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "naive POC",
            "+ routing",
            "+ caching",
            "+ budgets",
            "+ batching"
        ]
    );
    let p50: Vec<f64> = steps
        .iter()
        .map(|s| s["p50_usd_per_day"].as_f64().unwrap())
        .collect();
    assert!(
        p50[0] > p50[4] * 1.5,
        "naive POC {} vs as written {}",
        p50[0],
        p50[4]
    );
    // Routing moves classify/retrieve/compliance off Sonnet: the biggest saving, as the article says.
    let savings: Vec<f64> = steps
        .iter()
        .map(|s| s["saving_usd"].as_f64().unwrap())
        .collect();
    assert!(savings[1] > savings[2] && savings[1] > 0.0);
    // Caching saves something, but far less than the article's $2.80.
    assert!(savings[2] > 0.0 && savings[2] < 2.26);
    // Savings add up to the total.
    let total: f64 = savings.iter().sum();
    assert!((total - (p50[0] - p50[4])).abs() < 1e-9);
}

#[test]
fn sweep_finds_the_largest_traffic_under_budget() {
    let v = json_stdout(
        burnrate()
            .args([
                "sweep",
                "--format",
                "json",
                "-q",
                "--replicas",
                "2",
                "--days",
                "3",
                "--param",
                "traffic.tasks_per_day",
                "--values",
                "5,500,5000",
            ])
            .arg(scenario("support-agent.toml")),
    );
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    let p95: Vec<f64> = points.iter().map(|p| p["p95"].as_f64().unwrap()).collect();
    assert!(p95[0] < p95[1] && p95[1] < p95[2]);
    assert_eq!(v["largest_value_under_budget"].as_f64(), Some(500.0));
    burnrate()
        .args([
            "sweep",
            "-q",
            "--param",
            "traffic.tasks_per_day",
            "--values",
            "-5",
        ])
        .arg(scenario("support-agent.toml"))
        .assert()
        .code(2);
    burnrate()
        .args([
            "sweep",
            "-q",
            "--param",
            "steps.nope.max_tokens",
            "--values",
            "5",
        ])
        .arg(scenario("support-agent.toml"))
        .assert()
        .code(2);
}

/// Evenly spaced tasks, each costing exactly $0.01 (1,000 input tokens at $10/Mtok): a day of
/// v tasks/day carries round(v) tasks, so p95 daily cost is round(v) / 100 and the $5 budget is
/// crossed between 500 and 501 tasks/day (at 500.5 where the rounding turns).
const PENNY: &str = r#"
[horizon]
days = 2
replicas = 2

[traffic]
tasks_per_day = 100
arrivals = "uniform"

[models.penny]
based_on = "gpt-4o-mini"
input_usd_per_mtok = 10
output_usd_per_mtok = 0

[[steps]]
name = "answer"
model = "penny"
input_tokens = 1000
output_tokens = 10

[budget]
daily_usd = 5
"#;

#[test]
fn sweep_crossing_lies_within_its_interval_of_a_bisection_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("penny.toml");
    std::fs::write(&file, PENNY).unwrap();
    let v = json_stdout(
        burnrate()
            .args([
                "sweep",
                "--format",
                "json",
                "-q",
                "--param",
                "traffic.tasks_per_day",
                "--values",
                "5..5000",
                "--points",
                "6",
            ])
            .arg(&file),
    );
    // The grid: 5, 19.91, 79.24, 315.5, 1256, 5000; 315.5 holds and 1,256 does not.
    assert_eq!(v["largest_value_under_budget"].as_f64(), Some(315.5));
    let c = &v["crossing"];
    let (low, high, value) = (
        c["low"].as_f64().unwrap(),
        c["high"].as_f64().unwrap(),
        c["value"].as_f64().unwrap(),
    );
    assert!(low <= value && value <= high, "{c}");
    assert!((high - low) / high <= 0.01, "known to 0.5%: {c}");
    // A bisection by hand on the library, 30 halvings of the same bracket.
    let p95 = |tasks: f64| {
        let sc = burnrate_sim::Scenario::from_toml_with(
            "penny.toml",
            PENNY,
            &[("traffic.tasks_per_day".into(), format!("{tasks}"))],
        )
        .unwrap();
        burnrate_sim::simulate(&sc, &burnrate_sim::RunOptions::default(), &|| {})
            .unwrap()
            .cost_usd
            .per_day
            .p95
    };
    let (mut lo, mut hi) = (315.5, 1256.0);
    for _ in 0..30 {
        let mid = (lo + hi) / 2.0;
        if p95(mid) <= 5.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let by_hand = (lo + hi) / 2.0;
    assert!((by_hand - 500.5).abs() < 1e-3, "by hand: {by_hand}");
    assert!(low <= by_hand && by_hand <= high, "{by_hand} outside {c}");

    // A non-numeric parameter keeps its labels, pasted as a shell passes them.
    let v = json_stdout(
        burnrate()
            .args([
                "sweep",
                "--format",
                "json",
                "-q",
                "--param",
                "caching.ttl",
                "--values",
                "5m,1h",
            ])
            .arg(&file),
    );
    let labels: Vec<&str> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["5m", "1h"]);
    assert!(v["crossing"].is_null());
}

#[test]
fn compare_shows_both_and_the_difference() {
    let out = burnrate()
        .args(["compare", "-q", "--replicas", "2", "--days", "2"])
        .arg(scenario("support-agent.toml"))
        .arg(scenario("support-budget-exact.toml"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("support-agent") && text.contains("support-budget-exact"),
        "{text}"
    );
}

#[test]
fn catalog_lists_article_and_current_prices() {
    let v = json_stdout(burnrate().args(["catalog", "--format", "json"]));
    let models = v.as_array().unwrap();
    let find = |id: &str| {
        models
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(find("article-claude-haiku")["input_pusd"], 250_000);
    assert_eq!(find("claude-sonnet-4-5")["cache_write_1h_pusd"], 6_000_000);
    assert_eq!(find("gpt-4o-mini")["cache_read_pusd"], 75_000);
    assert!(
        models
            .iter()
            .all(|m| m["as_of"].as_str().is_some_and(|s| !s.is_empty()))
    );
}

#[test]
fn catalog_imports_litellm_and_rejects_what_is_not_a_price_map() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("prices.json");
    std::fs::write(&map, r#"{"sample_spec": {}, "gpt-4o-mini": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07, "litellm_provider": "openai", "mode": "chat"}, "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation"}}"#).unwrap();
    let out = burnrate()
        .args([
            "catalog",
            "--format",
            "toml",
            "--as-of",
            "2026-11-01",
            "--import-litellm",
        ])
        .arg(&map)
        .assert()
        .success()
        .get_output()
        .clone();
    let toml = String::from_utf8(out.stdout).unwrap();
    assert!(
        toml.contains("[models.\"gpt-4o-mini\"]") && toml.contains("input_usd_per_mtok = 0.15"),
        "{toml}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped dall-e-3"));
    // The tables paste into a scenario as they are.
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, format!("{toml}\n[traffic]\ntasks_per_day = 10\n[[steps]]\nname = \"a\"\nmodel = \"gpt-4o-mini\"\noutput_tokens = 5\n")).unwrap();
    burnrate()
        .args(["simulate", "-q", "--replicas", "1", "--days", "1"])
        .arg(&scenario)
        .assert()
        .success();
    std::fs::write(&map, "[1, 2]").unwrap();
    burnrate()
        .args(["catalog", "--import-litellm"])
        .arg(&map)
        .assert()
        .code(2);
}

#[test]
fn shards_merge_to_the_single_machine_output() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--replicas", "5", "--days", "2", "--seed", "3", "-q"];
    let whole = burnrate()
        .args(["simulate", "--format", "json"])
        .args(args)
        .arg(scenario("support-agent.toml"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut files = Vec::new();
    for i in ["1", "0"] {
        let out = dir.path().join(format!("shard-{i}.json"));
        burnrate()
            .args(["shard", "--count", "2", "--index", i, "--out"])
            .arg(&out)
            .args(args)
            .arg(scenario("support-agent.toml"))
            .assert()
            .success();
        files.push(out);
    }
    let merged = burnrate()
        .args(["merge", "--format", "json"])
        .args(args)
        .arg(scenario("support-agent.toml"))
        .args(&files)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(merged, whole);
    // A missing shard or other options are bad input.
    burnrate()
        .args(["merge"])
        .args(args)
        .arg(scenario("support-agent.toml"))
        .arg(&files[0])
        .assert()
        .code(2);
    burnrate()
        .args(["merge", "--seed", "9"])
        .arg(scenario("support-agent.toml"))
        .args(&files)
        .assert()
        .code(2);
    burnrate()
        .args(["shard", "--count", "2", "--index", "2", "--out"])
        .arg(dir.path().join("x.json"))
        .arg(scenario("support-agent.toml"))
        .assert()
        .code(2);
}

#[test]
fn analysis_commands_reject_bad_arguments_and_write_charts() {
    burnrate()
        .args(["compare", "-q"])
        .arg(scenario("support-agent.toml"))
        .arg("missing.toml")
        .assert()
        .code(2);
    burnrate()
        .args(["levers", "-q", "--format", "pdf"])
        .arg(scenario("support-agent.toml"))
        .assert()
        .code(2);
    burnrate()
        .args([
            "sweep",
            "-q",
            "--param",
            "traffic.tasks_per_day",
            "--values",
            "5..500",
            "--points",
            "1",
        ])
        .arg(scenario("support-agent.toml"))
        .assert()
        .code(2);
    burnrate()
        .args(["check", "-q"])
        .arg(scenario("support-agent.toml"))
        .assert()
        .code(2); // --daily-budget is required
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("levers");
    burnrate()
        .args(["levers", "-q", "--replicas", "2", "--days", "2", "--out"])
        .arg(&out)
        .arg(scenario("support-agent.toml"))
        .assert()
        .success();
    for file in [
        "lever_waterfall.svg",
        "lever_waterfall.png",
        "levers.md",
        "levers.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let svg = std::fs::read_to_string(out.join("lever_waterfall.svg")).unwrap();
    assert!(svg.contains("naive POC") && svg.contains("+ caching"));
    let out = dir.path().join("sweep");
    burnrate()
        .args([
            "sweep",
            "-q",
            "--replicas",
            "2",
            "--days",
            "2",
            "--param",
            "caching.ttl",
            "--values",
            "\"5m\",\"1h\"",
            "--out",
        ])
        .arg(&out)
        .arg(scenario("support-agent.toml"))
        .assert()
        .success();
    assert!(out.join("sweep.svg").is_file() && out.join("sweep.png").is_file());
}

#[test]
fn the_readme_scenario_reference_is_a_valid_scenario() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let section = readme
        .split("### Scenario format (TOML)")
        .nth(1)
        .expect("README has the section");
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a toml block");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("readme.toml");
    std::fs::write(&path, block).unwrap();
    let v = json_stdout(
        burnrate()
            .args([
                "simulate",
                "--format",
                "json",
                "-q",
                "--replicas",
                "2",
                "--days",
                "3",
            ])
            .arg(&path),
    );
    assert!(v["tasks"]["total"].as_u64().unwrap() > 0);
    assert!(v["routing"]["cheap_tier_share"].as_f64().is_some());
}
