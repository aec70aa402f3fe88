//! `burnrate calibrate` on traces written by real OpenTelemetry instrumentation: a small agent
//! (tests/otel/agent.py) makes 300 tasks of two calls each through the official `openai` and
//! `anthropic` SDKs against `burnrate mock` with injected 429s and 500s (retried by the SDKs)
//! and a cached system prompt; the OpenTelemetry project's `openai-v2` instrumentation,
//! OpenLLMetry's anthropic instrumentation and the anthropic SDK's own record the calls (so
//! every Claude call is recorded twice), exported as OTLP JSON. The fitted scenario must find
//! what drove it, and simulating it must predict what the mock's ledger charged.
//!
//! Needs the venv `scripts/test` prepares (BURNRATE_PYTHON, tests/python/requirements.txt).

use crate::cli_drive::{burnrate, simulate_accepts};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const TASKS: u64 = 300;
/// The agent spaces task starts 10 s apart in the exported times.
const SPACING_S: f64 = 10.0;

fn step<'a>(fitted: &'a toml::Table, name: &str) -> &'a toml::Table {
    fitted["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_table())
        .find(|s| s["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no step {name} in {fitted:#?}"))
}

fn num(v: &toml::Value) -> f64 {
    v.as_float()
        .or_else(|| v.as_integer().map(|i| i as f64))
        .unwrap()
}

#[test]
fn traces_of_real_instrumentation_calibrate_a_scenario_that_predicts_the_ledger() {
    let python = std::env::var("BURNRATE_PYTHON")
        .unwrap_or_else(|_| panic!("BURNRATE_PYTHON is not set: run the tests with scripts/test"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        "seed = 7\ntime_scale = 0.0\n[defaults]\n\
         output_tokens = { dist = \"lognormal\", mean = 200, cv = 0.5 }\n\
         [defaults.faults]\nrate_limit = 0.05\nserver_error = 0.03\nretry_after_ms = 1\n",
    )
    .unwrap();
    let mut mock = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .args(["mock", "--port", "0", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(mock.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();

    let spans = dir.path().join("spans.jsonl");
    let agent = Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otel/agent.py"))
        .arg(&url)
        .arg(TASKS.to_string())
        .arg(&spans)
        .output()
        .unwrap();
    let ledger: Value = {
        let out = Command::new(&python)
            .args([
                "-c",
                "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
            ])
            .arg(format!("{url}/_mock/usage"))
            .output()
            .unwrap();
        let _ = mock.kill();
        let _ = mock.wait();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert!(
        agent.status.success(),
        "the agent failed: {}",
        String::from_utf8_lossy(&agent.stderr)
    );
    let total = &ledger["total"];
    // The faults happened, and the SDKs retried them.
    assert!(total["retries"].as_u64().unwrap() > 20, "{total}");

    let fitted_path = dir.path().join("fitted.toml");
    let out = burnrate()
        .args(["calibrate", "--out"])
        .arg(&fitted_path)
        .arg(&spans)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Each Claude call was recorded by two instrumentations and counted once.
    let claude_ok = ledger["models"]["claude-sonnet-4-6"]["succeeded"]
        .as_u64()
        .unwrap();
    assert!(
        stderr.contains(&format!(
            "skipped {claude_ok} LLM span of a call another span already recorded"
        )),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&fitted_path).unwrap();
    let fitted: toml::Table = text.parse().unwrap();

    // Arrivals: 300 tasks 10 s apart over 2,990 s: 300 / 2990 x 86,400 = 8,669 a day.
    let per_day = num(&fitted["traffic"]["tasks_per_day"]);
    let expected = TASKS as f64 / ((TASKS - 1) as f64 * SPACING_S) * 86_400.0;
    assert!(
        (per_day / expected - 1.0).abs() < 0.01,
        "{per_day} vs {expected}"
    );
    // Steps are the agent's spans, each on the model it called.
    let classify = step(&fitted, "classify");
    let draft = step(&fitted, "draft");
    assert_eq!(classify["model"].as_str(), Some("gpt-4o-mini"));
    assert_eq!(draft["model"].as_str(), Some("claude-sonnet-4-6"));
    // The cached system prompt is exactly what the mock wrote to its cache once.
    assert_eq!(
        draft["prefix_tokens"].as_integer(),
        ledger["models"]["claude-sonnet-4-6"]["cache_write_tokens"].as_i64()
    );
    // Output lengths: the mock draws lognormal, mean 200, cv 0.5. The mean of ~300 draws has
    // a standard error of 200 x 0.5 / sqrt(300) = 5.8 tokens: within 4 sigma = 23 tokens.
    for s in [classify, draft] {
        let dist = s["output_tokens"].as_table().unwrap();
        let mean = num(&dist["mean"]);
        assert!((mean - 200.0).abs() < 23.0, "{dist:?}");
    }

    // Simulating the fitted scenario predicts the ledger's cost per task. The ledger's figure
    // is the mean of 300 tasks; its standard error is sd_task / sqrt(300), where
    // sd_task^2 <= E[X^2] = Var(daily cost) / tasks_per_day (a compound Poisson day) and the
    // daily cost, a sum of ~8,700 tasks, is near normal: sd_day = (p95 - p50) / 1.645.
    let sim = simulate_accepts(&fitted_path);
    let per_task = sim["cost_usd"]["per_task"]["mean"].as_f64().unwrap();
    let day = &sim["cost_usd"]["per_day"];
    let sd_day = (day["p95"].as_f64().unwrap() - day["p50"].as_f64().unwrap()) / 1.645;
    let se_of_300 = (sd_day.powi(2) / per_day).sqrt() / (TASKS as f64).sqrt();
    let ledger_per_task = total["cost_usd"].as_f64().unwrap() / TASKS as f64;
    assert!(
        (ledger_per_task - per_task).abs() <= 4.0 * se_of_300,
        "ledger ${ledger_per_task:.6}/task, simulated ${per_task:.6}/task (4 se = {:.6})",
        4.0 * se_of_300
    );
}
