//! `burnrate drive` and `burnrate calibrate` end to end through the binary: exit codes and
//! messages for bad input, an unreachable endpoint, calibration of every accepted log format
//! into a scenario `simulate` accepts, and drive's own log calibrated back.

use crate::agreement::start_mock;
use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Upper bound on any one command here: they all finish in a few seconds; a hang fails the test.
const LIMIT: Duration = Duration::from_secs(60);

pub(crate) fn burnrate() -> Command {
    let mut c = Command::cargo_bin("burnrate").expect("the binary is built");
    c.timeout(LIMIT);
    c
}

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

/// Runs the command, asserts its exit code, returns stderr.
pub(crate) fn fails_with(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().expect("run burnrate");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status {:?}, stderr: {stderr}",
        out.status
    );
    stderr
}

#[test]
fn drive_rejects_bad_arguments_with_exit_2_and_says_why() {
    let sc = scenario("agreement.toml");
    let sc = sc.to_str().unwrap();
    // The endpoint is never contacted: arguments are checked first.
    let ep = "http://127.0.0.1:1";
    let cases: &[(&[&str], &str)] = &[
        (
            &[sc, "--endpoint", ep, "--speedup", "0"],
            "--speedup must be > 0",
        ),
        (
            &[sc, "--endpoint", ep, "--speedup", "NaN"],
            "--speedup must be > 0",
        ),
        (
            &[sc, "--endpoint", ep, "--concurrency", "0"],
            "--concurrency must be in 1..=",
        ),
        (
            &[sc, "--endpoint", ep, "--tasks", "0"],
            "the task count must be in 1..=",
        ),
        (
            &[sc, "--endpoint", ep, "--tasks", "2000000"],
            "the task count must be in 1..=",
        ),
        (
            &[sc, "--endpoint", ep, "--duration=-1"],
            "--duration must be > 0",
        ),
        (
            &[sc, "--endpoint", "ftp://example.com"],
            "--endpoint must be an http(s) URL",
        ),
        (
            &[sc, "--endpoint", ep, "--tasks", "5", "--duration", "3"],
            "cannot be used with",
        ),
        (&[sc], "--endpoint"),
        (
            &[sc, "--endpoint", ep, "--format", "xml"],
            "invalid value 'xml'",
        ),
        (
            &[sc, "--endpoint", ep, "--tasks", "many"],
            "invalid value 'many'",
        ),
    ];
    for (args, message) in cases {
        let stderr = fails_with(burnrate().arg("drive").args(*args), 2);
        assert!(
            stderr.contains(message),
            "drive {args:?}: expected {message:?} in {stderr}"
        );
    }
}

#[test]
fn drive_rejects_unreadable_and_invalid_scenarios_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let stderr = fails_with(
        burnrate()
            .arg("drive")
            .arg(&missing)
            .args(["--endpoint", "http://127.0.0.1:1"]),
        2,
    );
    assert!(
        stderr.contains("cannot read scenario") && stderr.contains("missing.toml"),
        "{stderr}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n[traffic]\ntasks_per_day = \"lots\"\n").unwrap();
    let stderr = fails_with(
        burnrate()
            .arg("drive")
            .arg(&bad)
            .args(["--endpoint", "http://127.0.0.1:1"]),
        2,
    );
    // Positioned: file, line and column, and the field.
    assert!(
        stderr.contains("bad.toml:3:") && stderr.contains("tasks_per_day"),
        "{stderr}"
    );

    let not_toml = dir.path().join("not.toml");
    std::fs::write(&not_toml, "this is [not toml\n").unwrap();
    let stderr = fails_with(
        burnrate()
            .arg("drive")
            .arg(&not_toml)
            .args(["--endpoint", "http://127.0.0.1:1"]),
        2,
    );
    assert!(stderr.contains("not.toml:1:"), "{stderr}");
}

#[test]
fn drive_against_an_endpoint_that_refuses_connections_fails_fast_with_the_reason() {
    // A port nothing listens on: bind one, note it, close it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    // --speedup 1: were drive to retry every call against the dead endpoint, backoffs alone
    // would take 7.5 s per call; it must stop at the first refusal instead. LIMIT bounds a hang.
    let stderr = fails_with(
        burnrate()
            .arg("drive")
            .arg(scenario("agreement.toml"))
            .args(["--endpoint", &endpoint, "--tasks", "20", "--quiet"]),
        3,
    );
    assert!(
        stderr.contains(&format!("cannot reach the endpoint {endpoint}"))
            && stderr.to_lowercase().contains("refused"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

/// A log mixing every accepted format: OpenAI chat usage objects (step `classify`), Anthropic
/// usage objects (step `draft`, three 429s and their retries), and the mock's request log (step
/// `search`), all tagged with task ids. 30 tasks; `draft` runs 1 or 2 times per task.
fn fixture() -> String {
    let mut s = String::new();
    for task in 0..30u64 {
        // OpenAI chat: prompt 1500-1529 tokens of which 1024 cached, 40-69 out.
        s.push_str(&format!(
            "{{\"task\":{task},\"step\":\"classify\",\"model\":\"gpt-4o-mini\",\"usage\":{{\"prompt_tokens\":{},\"completion_tokens\":{},\"total_tokens\":0,\"prompt_tokens_details\":{{\"cached_tokens\":1024}}}}}}\n",
            1500 + task,
            40 + task
        ));
        for rep in 0..(1 + task % 2) {
            if task % 10 == 3 && rep == 0 {
                // A 429 with no usage, then its retry.
                s.push_str(&format!(
                    "{{\"task\":\"{task}\",\"step\":\"draft\",\"model\":\"claude-sonnet-4-5\",\"status\":429,\"error\":\"rate_limit\"}}\n"
                ));
            }
            // The call after a 429 is its retry: not a first attempt, not a clean call.
            let retry = u64::from(task % 10 == 3 && rep == 0);
            s.push_str(&format!(
                "{{\"task\":\"{task}\",\"step\":\"draft\",\"retry_count\":{retry},\"model\":\"claude-sonnet-4-5\",\"usage\":{{\"input_tokens\":{},\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":1200,\"output_tokens\":{}}}}}\n",
                300 + 7 * task,
                150 + 3 * task + rep
            ));
        }
        s.push_str(&format!(
            "{{\"ts\":\"2026-01-01T00:00:00Z\",\"request_id\":\"req_{task}\",\"provider\":\"openai\",\"api\":\"chat.completions\",\"model\":\"gpt-4o\",\"requested_model\":\"gpt-4o\",\"key\":\"(none)\",\"step\":\"search\",\"task\":\"{task}\",\"stream\":false,\"batch\":false,\"status\":200,\"error\":null,\"retry_count\":0,\"input_tokens\":{},\"cache_write_tokens\":0,\"cache_write_5m_tokens\":0,\"cache_write_1h_tokens\":0,\"cache_read_tokens\":0,\"output_tokens\":{},\"cost_usd\":0.0,\"cost_pusd\":0,\"latency_ms\":1}}\n",
            800 + 11 * task,
            90 + task
        ));
    }
    s
}

pub(crate) fn simulate_accepts(toml: &Path) -> Value {
    let out = burnrate()
        .args([
            "simulate",
            "--format",
            "json",
            "--quiet",
            "--replicas",
            "2",
            "--days",
            "1",
        ])
        .arg(toml)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "simulate rejected the calibrated scenario: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(toml).unwrap()
    );
    serde_json::from_slice(&out.stdout).expect("simulate --format json")
}

#[test]
fn calibrate_every_log_format_into_a_scenario_simulate_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("usage.jsonl");
    std::fs::write(&log, fixture()).unwrap();
    let toml = dir.path().join("fitted.toml");
    burnrate()
        .arg("calibrate")
        .arg(&log)
        .arg("--out")
        .arg(&toml)
        .assert()
        .success();
    let text = std::fs::read_to_string(&toml).unwrap();
    // 30 classify + 45 draft (3 of them retries) + 3 failed draft + 30 search lines.
    for expected in [
        "from 108 log lines (30 tagged tasks)",
        "name = \"classify\"",
        "name = \"draft\"",
        "name = \"search\"",
        // The observations each figure rests on.
        "# cached prefix: 30 calls that read or wrote the cache",
        "# input and output: 30 clean calls",
        "# input and output: 42 clean calls",
        "# calls per task: 30 tagged tasks",
        "# failures: 48 attempts: 3 429, 0 5xx, 0 timeouts, 0 malformed",
        "# failures: 30 attempts: 0 429",
        // draft: 15 tasks once, 15 twice, as whole counts.
        "repeat = { dist = \"empirical\", values = [1, 2], weights = [15, 15] }",
        "rate_limit = 0.0625",
    ] {
        assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
    }
    let sim = simulate_accepts(&toml);
    assert!(sim["tasks"]["total"].as_u64().unwrap() > 0, "{sim}");
    for step in ["classify", "draft", "search"] {
        assert!(
            sim["cost_usd"]["by_step"][step].as_f64().unwrap() > 0.0,
            "{step} costs something: {}",
            sim["cost_usd"]["by_step"]
        );
    }

    // JSON: the same fits with their counts; the exact means of what was written.
    let out = burnrate()
        .arg("calibrate")
        .arg(&log)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = |name: &str| {
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no {name} in {v}"))
            .clone()
    };
    let draft = step("draft");
    assert_eq!(draft["clean_calls"], 42);
    assert_eq!(draft["tasks"], 30);
    assert_eq!(draft["repeat"]["mean"], 1.5);
    assert_eq!(draft["failures"]["attempts"], 48);
    assert_eq!(draft["failures"]["rate_limit"], 3);
    let classify = step("classify");
    assert_eq!(classify["prefix_tokens"]["mean"], 1024.0);
    assert_eq!(classify["repeat"]["dist"], "constant");
}

#[test]
fn calibrate_bad_lines_and_files_exit_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture();
    let mut lines: Vec<&str> = good.lines().take(4).collect();
    let cases = [
        (
            "{\"model\":\"gpt-4o-mini\",\"usage\":{\"prompt_tokens\":",
            "line 3: not JSON",
        ),
        (
            "{\"model\":\"gpt-4o-mini\",\"foo\":1}",
            "line 3: no usage found",
        ),
        ("[1, 2]", "line 3: expected a JSON object"),
        (
            "{\"model\":\"gpt-4o-mini\",\"usage\":{\"prompt_tokens\":10,\"prompt_tokens_details\":{\"cached_tokens\":20}}}",
            "line 3: cached_tokens 20 exceed prompt_tokens 10",
        ),
        (
            "{\"model\":\"gpt-4o-mini\",\"status\":\"ok\",\"usage\":{}}",
            "line 3: `status`",
        ),
        (
            "{\"model\":\"gpt-9-imaginary\",\"usage\":{\"prompt_tokens\":10}}",
            "model `gpt-9-imaginary` (line 3 of",
        ),
        ("{\"usage\":{\"prompt_tokens\":10}}", "line 3: no `model`"),
    ];
    for (bad, message) in cases {
        lines.insert(2, bad);
        let log = dir.path().join("bad.jsonl");
        std::fs::write(&log, lines.join("\n")).unwrap();
        lines.remove(2);
        let stderr = fails_with(burnrate().args(["calibrate", "--strict"]).arg(&log), 2);
        assert!(
            stderr.contains("bad.jsonl") && stderr.contains(message),
            "{bad}: expected {message:?} in {stderr}"
        );
    }
    // Without --strict a malformed line is reported (file and line) and the run goes on.
    lines.insert(2, "{nope");
    let log = dir.path().join("bad.jsonl");
    std::fs::write(&log, lines.join("\n")).unwrap();
    let out = burnrate().arg("calibrate").arg(&log).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 malformed line") && stderr.contains("bad.jsonl line 3: not JSON"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("from 4 log lines"));

    let stderr = fails_with(
        burnrate()
            .arg("calibrate")
            .arg(dir.path().join("missing.jsonl")),
        2,
    );
    assert!(
        stderr.contains("cannot read") && stderr.contains("missing.jsonl"),
        "{stderr}"
    );
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "\n\n").unwrap();
    let stderr = fails_with(burnrate().arg("calibrate").arg(&empty), 2);
    assert!(stderr.contains("no usable observations"), "{stderr}");
}

#[test]
fn drive_against_the_mock_then_calibrate_its_log_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        "seed = 5\ntime_scale = 0.0\n\n[defaults]\nrpm = 0\ntpm = 0\ninput_tpm = 0\noutput_tpm = 0\n\n[defaults.faults]\nrate_limit = 0.05\n",
    )
    .unwrap();
    let (mock, url) = start_mock(&config);
    let log = dir.path().join("drive.jsonl");
    let out = burnrate()
        .arg("drive")
        .arg(scenario("agreement.toml"))
        .args(["--endpoint", &url, "--tasks", "40", "--speedup", "100000"])
        .args([
            "--seed",
            "3",
            "--format",
            "json",
            "--quiet",
            "--predict-replicas",
            "20",
        ])
        .arg("--log")
        .arg(&log)
        .output()
        .unwrap();
    mock.stop();
    assert!(
        out.status.success(),
        "drive: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // `measured` and `predicted` have the same keys; `difference` is there.
    let keys = |o: &Value| o.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&v["measured"]), keys(&v["predicted"]));
    assert_eq!(v["measured"]["tasks"], 40.0);
    assert_eq!(v["predict_replicas"], 20);
    assert!(v["difference"]["cost_per_task_usd"].is_number(), "{v}");
    assert!(v["endpoint_ledger"]["cost_per_task_usd"].as_f64().unwrap() > 0.0);

    // drive's own log (one line per attempt, with task ids) calibrates into a scenario with
    // both steps, and simulate accepts it.
    let toml = dir.path().join("from-drive.toml");
    burnrate()
        .arg("calibrate")
        .arg(&log)
        .arg("--out")
        .arg(&toml)
        .assert()
        .success();
    let text = std::fs::read_to_string(&toml).unwrap();
    assert!(
        text.contains("(40 tagged tasks)") && text.contains("name = \"draft\""),
        "{text}"
    );
    simulate_accepts(&toml);
}

#[test]
fn drive_exits_3_with_one_line_when_the_endpoint_dies_mid_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        format!(
            "time_scale = 0.0\nrequest_log = {:?}\n",
            log.display().to_string()
        ),
    )
    .unwrap();
    let (mock, url) = start_mock(&config);
    // 2,000 tasks at 3,000x: about 29 s of arrivals, so the mock dies early in the run.
    let mut drive = std::process::Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("drive")
        .arg(scenario("agreement.toml"))
        .args(["--endpoint", &url, "--tasks", "2000", "--speedup", "3000"])
        .args(["--format", "json", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start drive");
    // Wait (bounded) until the mock has logged answered requests, then kill it (SIGKILL).
    let deadline = std::time::Instant::now() + LIMIT;
    while std::fs::read_to_string(&log).map_or(0, |t| t.lines().count()) < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "the mock never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(mock);
    let status = loop {
        if let Some(s) = drive.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = drive.kill();
            panic!("drive did not stop after its endpoint died");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = drive.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(3), "stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(&format!(
            "the endpoint {url} stopped answering during the run"
        )),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no figures from a dead endpoint");
}
