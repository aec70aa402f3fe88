//! The `burnrate` binary end to end: output, exit codes, and errors for bad input.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub(crate) fn burnrate() -> Command {
    Command::cargo_bin("burnrate").expect("the binary is built")
}

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

pub(crate) fn json_stdout(cmd: &mut Command) -> Value {
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

/// `burnrate check` on 8 replicas x 7 days of support-agent: too few to settle a 1% breach limit.
fn check_support_agent_8x7() -> Command {
    let mut c = burnrate();
    c.args(["check", "-q", "--replicas", "8", "--days", "7"])
        .arg(scenario("support-agent.toml"));
    c
}

#[test]
fn check_gate_is_honest_about_what_it_knows() {
    // 8 replicas x 7 days of support-agent, none over its $50 budget: with 56 correlated days a
    // breach rate up to 9% is consistent with seeing none, so a 1% limit cannot be told yet.
    let base = || {
        let mut c = check_support_agent_8x7();
        c.args(["--max-breach-probability", "0.01"]);
        c
    };
    let out = base().assert().code(1).get_output().stdout.clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("### Budget gate: support-agent\n\n⚠️ Budget gate inconclusive"),
        "{text}"
    );
    assert!(
        text.contains("replicas of 7 days would settle it"),
        "{text}"
    );
    base().arg("--inconclusive-ok").assert().code(0);

    // With --precision it runs until it can tell: holds (the scenario's own $50 budget).
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let out = base()
        .args(["--precision", "1%"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("✅ Budget gate holds"), "{text}");
    assert!(
        text.contains("precision: p95 daily cost known to within"),
        "{text}"
    );
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("Budget gate holds")
    );
    let v = json_stdout(base().args(["--precision", "1%", "--format", "json"]));
    assert_eq!(v["verdict"], "holds");
    assert_eq!(v["gates"][1]["name"], "share of days over budget");
    assert!(v["gates"][1]["ci95"][1].as_f64().unwrap() <= 0.01);

    // Surely over: breaches.
    let out = base()
        .args(["--daily-budget", "1"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("❌ Budget gate fails"));
    base().args(["--daily-budget", "-1"]).assert().code(2);
    base()
        .args(["--max-breach-probability", "2"])
        .assert()
        .code(2);
    base().args(["--percentile", "0"]).assert().code(2);
    base().args(["--precision", "one"]).assert().code(2);
    // A scenario without [budget] needs --daily-budget.
    burnrate()
        .args(["check", "-q", "--replicas", "2", "--days", "1"])
        .arg(scenario("retry-loop.toml"))
        .assert()
        .code(2);
}

/// The venv's Python (scripts/test creates it with tests/python/requirements.txt).
fn python() -> String {
    std::env::var("BURNRATE_PYTHON").unwrap_or_else(|_| {
        panic!("BURNRATE_PYTHON is not set: run the tests with scripts/test, which creates .venv with lxml")
    })
}

#[test]
fn check_junit_validates_against_the_junit_schema() {
    let dir = tempfile::tempdir().unwrap();
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit.xsd");
    for (budget, extra, code) in [
        ("50", None, 1),                      // inconclusive: a failure
        ("50", Some("--inconclusive-ok"), 0), // inconclusive: skipped
        ("1", None, 1),                       // breaches
    ] {
        let mut c = check_support_agent_8x7();
        c.args(["--format", "junit", "--daily-budget", budget])
            .args(["--max-breach-probability", "0.01"]);
        if let Some(e) = extra {
            c.arg(e);
        }
        let xml = c.assert().code(code).get_output().stdout.clone();
        let file = dir.path().join("junit.xml");
        std::fs::write(&file, &xml).unwrap();
        let check = std::process::Command::new(python())
            .args([
                "-c",
                "import sys; from lxml import etree\n\
                 schema = etree.XMLSchema(etree.parse(sys.argv[1]))\n\
                 doc = etree.parse(sys.argv[2])\n\
                 schema.assertValid(doc)\n\
                 print(len(doc.findall('.//testcase')))",
            ])
            .arg(&xsd)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&check.stderr),
            String::from_utf8_lossy(&xml)
        );
        // One test case per threshold.
        assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "2");
    }
}

#[test]
fn baseline_gate_catches_longer_draft_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("base");
    let run = ["-q", "--days", "7", "--precision", "1%"];
    burnrate()
        .arg("simulate")
        .args(run)
        .arg("--out")
        .arg(&out)
        .arg(scenario("support-agent.toml"))
        .assert()
        .success();
    let baseline = out.join("result.json");
    // The draft step's outputs 20% longer (mean 400 -> 480 tokens). Draft is ~90% of the cost
    // and output ~40% of draft, so p95 daily cost rises ~8%: over a 5% limit beyond noise (at 1%
    // precision), while the unchanged scenario holds.
    let text = std::fs::read_to_string(scenario("support-agent.toml")).unwrap();
    let longer = text.replacen(
        "output_tokens = { dist = \"lognormal\", mean = 400, cv = 0.5 }",
        "output_tokens = { dist = \"lognormal\", mean = 480, cv = 0.5 }",
        1,
    );
    assert_ne!(longer, text, "the draft step's output line moved");
    let longer_path = dir.path().join("support-agent.toml");
    std::fs::write(&longer_path, longer).unwrap();
    let gate = |path: &Path| {
        let mut c = burnrate();
        c.arg("check")
            .args(run)
            .arg("--baseline")
            .arg(&baseline)
            .args(["--max-increase", "5%"])
            .arg(path);
        c
    };
    let stdout = gate(&longer_path)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let md = String::from_utf8_lossy(&stdout);
    assert!(md.contains("p95 daily cost / baseline"), "{md}");
    // Wholly beyond the limit: a breach, not merely inconclusive.
    assert!(md.contains("❌ Budget gate fails"), "{md}");
    assert!(md.contains("| step | draft |"), "{md}");
    assert!(md.contains("| model | article-claude-sonnet |"), "{md}");
    gate(&scenario("support-agent.toml")).assert().code(0);
}

#[test]
fn compare_says_when_a_difference_is_within_noise() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(scenario("support-agent.toml")).unwrap();
    let variant = |from: &str, to: &str, name: &str| {
        let changed = text.replacen(from, to, 1);
        assert_ne!(changed, text, "{from} moved");
        let path = dir.path().join(name);
        std::fs::write(&path, changed).unwrap();
        path
    };
    // Draft outputs 20% longer: surely dearer. A changed description only: no difference, which
    // must read as within noise. (With common random numbers even classify outputs one token
    // longer is resolved as a real, tiny rise: every task draws the same randomness.)
    let longer = variant(
        "mean = 400, cv = 0.5",
        "mean = 480, cv = 0.5",
        "longer.toml",
    );
    let tiny = variant(
        "description = \"",
        "description = \"Same agent. ",
        "same.toml",
    );
    let row = |b: &Path, metric: &str| {
        let v = json_stdout(
            burnrate()
                .args([
                    "compare",
                    "-q",
                    "--replicas",
                    "16",
                    "--days",
                    "7",
                    "--format",
                    "json",
                ])
                .arg(scenario("support-agent.toml"))
                .arg(b),
        );
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["metric"] == metric)
            .unwrap()
            .clone()
    };
    for metric in ["daily cost p95", "daily cost mean", "monthly cost p50"] {
        let r = row(&longer, metric);
        assert_eq!(r["paired"], true, "{r}");
        assert_eq!(r["within_noise"], false, "{r}");
        assert!(r["difference_ci95"][0].as_f64().unwrap() > 0.0, "{r}");
        let r = row(&tiny, metric);
        assert_eq!(r["within_noise"], true, "{r}");
    }
    let out = burnrate()
        .args(["compare", "-q", "--replicas", "16", "--days", "7"])
        .arg(scenario("support-agent.toml"))
        .arg(&tiny)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.lines().next().unwrap().contains("within noise"),
        "{text}"
    );
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
    assert_eq!(
        find("article-claude-haiku")["prices"]["standard"]["input_pusd"],
        250_000
    );
    assert_eq!(
        find("claude-sonnet-4-6")["prices"]["standard"]["cache_write_pusd"]["1h"],
        6_000_000
    );
    assert_eq!(
        find("gpt-4o-mini")["prices"]["standard"]["cache_read_pusd"],
        75_000
    );
    assert_eq!(
        find("gpt-5.6")["prices"]["standard"]["cache_write_pusd"]["30m"],
        5_000_000
    );
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
        toml.contains("[models.gpt-4o-mini]") && toml.contains("input_usd_per_mtok = 0.15"),
        "{toml}"
    );
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(
        report.contains("skipped dall-e-3: mode `image_generation`"),
        "{report}"
    );
    assert!(report.starts_with("imported 1 models"), "{report}");
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
fn catalog_current_hides_retired_models_and_keeps_the_snapshot_prices() {
    let current = json_stdout(burnrate().args([
        "catalog",
        "--current",
        "--as-of",
        "2026-12-01",
        "--format",
        "json",
    ]));
    let all = json_stdout(burnrate().args(["catalog", "--format", "json"]));
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (current_ids, all_ids) = (ids(&current), ids(&all));
    for retired in [
        "claude-sonnet-4-5",
        "gemini-2.5-pro",
        "o1",
        "article-claude-haiku",
    ] {
        assert!(all_ids.iter().any(|i| i == retired), "{retired}");
        assert!(!current_ids.iter().any(|i| i == retired), "{retired}");
    }
    for model in ["gpt-5.6", "claude-sonnet-4-6", "gemini-3.5-flash", "gpt-5"] {
        assert!(current_ids.iter().any(|i| i == model), "{model}");
    }
    // Every current model's billing equals LiteLLM's December map imported through the CLI.
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("sim/tests/fixtures/litellm-prices-2026-12.json");
    let snapshot = json_stdout(
        burnrate()
            .args([
                "catalog",
                "--format",
                "json",
                "--as-of",
                "2026-12-01",
                "--import-litellm",
            ])
            .arg(&fixture),
    );
    let snap = snapshot.as_array().unwrap();
    for m in current.as_array().unwrap() {
        let id = m["id"].as_str().unwrap();
        if m["source"]
            .as_str()
            .unwrap()
            .contains("no longer in LiteLLM")
        {
            continue;
        }
        let s = snap
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id} is not in the snapshot"));
        for field in [
            "prices",
            "long_context",
            "cache_ttls",
            "min_cacheable_tokens",
            "regions",
        ] {
            assert_eq!(m[field], s[field], "{id}: {field}");
        }
    }
    // gpt-5 retires on 2026-12-11: current on the 1st, gone on the 12th.
    let later = ids(&json_stdout(burnrate().args([
        "catalog",
        "--current",
        "--as-of",
        "2026-12-12",
        "--format",
        "json",
    ])));
    assert!(!later.iter().any(|i| i == "gpt-5"));
    burnrate()
        .args(["catalog", "--current", "--as-of", "12/01/2026"])
        .assert()
        .code(2);
}

#[test]
fn simulate_warns_about_retired_models_and_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.toml");
    std::fs::write(
        &path,
        "[traffic]\ntasks_per_day = 5\n[[steps]]\nname = \"a\"\nmodel = \"claude-sonnet-4-5\"\noutput_tokens = 5\n",
    )
    .unwrap();
    let out = burnrate()
        .args([
            "simulate",
            "-q",
            "--replicas",
            "1",
            "--days",
            "1",
            "--as-of",
            "2026-12-01",
        ])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "warning: model `claude-sonnet-4-5` was retired by its provider on 2026-11-30"
        ) && err.contains("claude-sonnet-5-5"),
        "{err}"
    );
    let out = burnrate()
        .args([
            "simulate",
            "-q",
            "--replicas",
            "1",
            "--days",
            "1",
            "--as-of",
            "2026-11-01",
        ])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

/// Serves `body` over plain HTTP on a loopback port 0 for `requests` requests, answering
/// `status` (a minimal HTTP/1.1 server: the fetch sends one GET per connection).
fn serve(
    body: &'static [u8],
    status: &'static str,
    requests: usize,
) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/model_prices_and_context_window.json",
        listener.local_addr().unwrap()
    );
    let handle = std::thread::spawn(move || {
        for _ in 0..requests {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            // Read the request head up to the blank line.
            while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                line.clear();
            }
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            stream.write_all(body).unwrap();
        }
    });
    (url, handle)
}

#[test]
fn catalog_imports_litellm_from_a_url() {
    const MAP: &[u8] = br#"{"gpt-5.6": {"input_cost_per_token": 4e-06, "output_cost_per_token": 2e-05, "cache_read_input_token_cost": 4e-07, "cache_creation_input_token_cost": 5e-06, "cache_creation_input_token_cost_above_12hr": 1e-05, "input_cost_per_token_above_272k_tokens": 8e-06, "output_cost_per_token_above_272k_tokens": 3e-05, "litellm_provider": "openai", "mode": "chat"}}"#;
    let (url, server) = serve(MAP, "200 OK", 1);
    let out = burnrate()
        .args([
            "catalog",
            "--format",
            "toml",
            "--as-of",
            "2026-12-01",
            "--import-litellm",
        ])
        .arg(&url)
        .assert()
        .success()
        .get_output()
        .clone();
    server.join().unwrap();
    let toml = String::from_utf8(out.stdout).unwrap();
    assert!(toml.contains("\"30m\" = 5"), "{toml}");
    assert!(toml.contains("above_input_tokens = 272000"), "{toml}");
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("imported 1 models"));
    // A server error is not bad input (exit 3) and names the URL.
    let (url, server) = serve(b"gone", "404 Not Found", 1);
    let out = burnrate()
        .args(["catalog", "--import-litellm"])
        .arg(&url)
        .assert()
        .code(3)
        .get_output()
        .clone();
    server.join().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("answered 404"));
    // Plain http:// is refused for anything but loopback (exit 2, nothing fetched).
    let out = burnrate()
        .args([
            "catalog",
            "--import-litellm",
            "http://example.com/prices.json",
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("only https://"));
}

/// `burnrate mock --prices FILE` takes `catalog --format toml` output; anything else is bad
/// input (exit 2) naming the file and what it needs, and a bad price names the entry's field.
#[test]
fn mock_prices_file_errors_name_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let stderr_of = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = burnrate()
            .args(["mock", "--port", "0", "--prices"])
            .arg(&path)
            .assert()
            .code(2)
            .get_output()
            .clone();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = stderr_of("none.toml", "seed = 1\n");
    assert!(
        err.contains("none.toml") && err.contains("burnrate catalog --format toml"),
        "{err}"
    );
    let err = stderr_of(
        "bad.toml",
        "[models.\"acme-1\"]\nprovider = \"generic\"\ninput_usd_per_mtok = -1\noutput_usd_per_mtok = 1\n",
    );
    assert!(
        err.contains("prices.\"acme-1\".input_usd_per_mtok") && err.contains("bad.toml"),
        "{err}"
    );
}
