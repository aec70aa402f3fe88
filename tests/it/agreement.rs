//! The simulator and the mock agree: simulate scenarios/agreement.toml, drive the same scenario
//! against the real `burnrate mock` (faults at the scenario's rates, instant latency), and check
//! the measured figures against the prediction with tolerances derived from the sample size.
//! Then calibrate from the mock's request log and check the fitted means.

use rand::SeedableRng;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Tasks driven: the "a few thousand". With the dev profile optimising dependencies
/// (opt-level 2: tiktoken, axum, the engine's hot paths) the mock no longer spends ~15 ms per
/// request, and the whole test runs in seconds on 2 shared cores (measured in the report that
/// raised it from 600). The tolerances below scale with this number (1/sqrt(TASKS)).
const TASKS: u64 = 2_000;

struct Mock(Child);

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn start_mock(config: &Path) -> (Mock, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .args(["mock", "--port", "0", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start burnrate mock");
    let stdout = child.stdout.take().expect("piped stdout");
    let mock = Mock(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the mock's first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (mock, url.to_string())
}

fn f(v: &Value, path: &str) -> f64 {
    v.pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("missing {path} in {v}"))
}

#[test]
fn simulator_and_mock_agree_and_calibration_recovers_the_scenario() {
    let scenario_path = root().join("scenarios/agreement.toml");
    let text = std::fs::read_to_string(&scenario_path).unwrap();
    let sc = burnrate_sim::Scenario::from_toml("agreement.toml", &text).unwrap();
    let fr = sc.steps[0].failures;
    assert!(
        sc.steps.iter().all(|s| s.failures == fr),
        "the mock config below applies one set of rates"
    );

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    // Faults at the scenario's rates (tool errors are the agent's own and drawn by drive);
    // no rate-limit buckets (the scenario's traffic is far below them; compressed in time it
    // would not be); instant latency. The OpenAI cache TTL is real time: at 2,000 tasks a day
    // and a 1-hour TTL the simulator predicts practically every call after the first hits
    // (lambda * TTL = 83 per step), so the mock's TTL only has to outlast the real gaps between
    // calls of a step, which a loaded debug build can stretch to seconds: 60 s.
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        format!(
            "seed = 3\ntime_scale = 0.0\nopenai_cache_ttl_s = 60.0\nrequest_log = {:?}\n\n[defaults]\nrpm = 0\ntpm = 0\ninput_tpm = 0\noutput_tpm = 0\n\n[defaults.faults]\nrate_limit = {}\nserver_error = {}\n",
            log.display().to_string(),
            fr.rate_limit,
            fr.server_error
        ),
    )
    .unwrap();
    let (mock, url) = start_mock(&config);

    let out = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("drive")
        .arg(&scenario_path)
        .args([
            "--endpoint",
            &url,
            "--tasks",
            &TASKS.to_string(),
            "--speedup",
            "30000",
        ])
        .args([
            "--concurrency",
            "8",
            "--seed",
            "11",
            "--format",
            "json",
            "--quiet",
        ])
        .output()
        .expect("run drive");
    assert!(
        out.status.success(),
        "drive failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("drive --format json");
    drop(mock); // flushes the request log

    let (m, p) = (&report["measured"], &report["predicted"]);
    let n = TASKS as f64;
    assert_eq!(f(m, "/tasks"), n);
    assert_eq!(
        report["unpriced_calls"], 0,
        "no malformed bodies were configured"
    );
    // Drive prices only the usage the responses carried; the mock's ledger prices what it
    // charged. With no unreadable bodies they must agree to the pico-dollar.
    let ledger = &report["endpoint_ledger"];
    assert_eq!(
        ledger["cost_pusd"].as_u64().map(|c| c.to_string()),
        ledger["measured_cost_pusd"].as_str().map(str::to_string),
        "drive's usage-based cost vs the mock's ledger: {ledger}"
    );

    // Mean cost per task: within the simulated distribution's interval for TASKS tasks,
    // mean +- 4 sd / sqrt(n). drive estimates the per-task sd from 400 one-day replicas with
    // uniform arrivals (exactly 2,000 tasks each): sd(day) / sqrt(2000), relative error about
    // 1/sqrt(2 * 399) = 3.5%, which 4 sigma absorbs. The simulated mean itself rests on 800,000
    // tasks: its own error is 1/20 of the measured mean's and is ignored. A wrong price, cache
    // accounting, retry policy or token count shifts the mean by far more than this (e.g.
    // missing the cache read discount: +60%).
    let (mm, pm, sd) = (
        f(m, "/cost_per_task_usd/mean"),
        f(p, "/cost_per_task_usd/mean"),
        f(p, "/cost_per_task_usd/sd"),
    );
    assert!(sd > 0.0, "the prediction has a spread");
    assert_eq!(report["predict_replicas"], 400);
    let tol = 4.0 * sd / n.sqrt();
    assert!(
        (mm - pm).abs() <= tol,
        "cost per task: measured {mm} predicted {pm} +- {tol} (sd {sd})"
    );

    // Logical calls per task K (one per step repeat): mean and variance from the scenario's
    // repeat distributions, by Monte Carlo (200,000 draws: error far below the tolerances).
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
    let draws = 200_000;
    let (mut k1, mut k2) = (0.0, 0.0);
    for _ in 0..draws {
        let k: u64 = sc
            .steps
            .iter()
            .map(|s| s.repeat.sample_count(&mut rng))
            .sum();
        k1 += k as f64;
        k2 += (k * k) as f64;
    }
    let k_mean = k1 / f64::from(draws);
    let k_var = k2 / f64::from(draws) - k_mean * k_mean;

    // Cache hit rate over L cacheable lookups: binomial, 4 sigma = 4 sqrt(p (1-p) / L), plus
    // the compulsory first-call misses (one per step and model: 2 keys) that either side may
    // have, 2 / L. Every logical call ends in one successful response, so L >= n * E[K]; the
    // lower bound widens the tolerance.
    let lookups = n * k_mean;
    let (mh, ph) = (f(m, "/cache_hit_rate"), f(p, "/cache_hit_rate"));
    let tol_h = 4.0 * (ph * (1.0 - ph) / lookups).sqrt() + 2.0 / lookups * 2.0;
    assert!(
        (mh - ph).abs() <= tol_h,
        "cache hit rate: measured {mh} predicted {ph} +- {tol_h}"
    );
    assert!(mh > 0.9, "caching works through drive and the mock: {mh}");

    // Retries per task: the sum over K logical calls of G, the retries of one call, geometric
    // with failure probability q per attempt: E[G] = q/(1-q), Var[G] = q/(1-q)^2 (ignoring the
    // cap at max_retries, which only lowers it). Var(sum) = E[K] Var[G] + Var[K] E[G]^2; the
    // mean over n tasks has sd sqrt(Var(sum) / n); 4 sigma.
    let q = fr.tool_error + fr.rate_limit + fr.server_error + fr.malformed + fr.timeout;
    let (eg, vg) = (q / (1.0 - q), q / (1.0 - q).powi(2));
    let (mr, pr) = (f(m, "/retries_per_task"), f(p, "/retries_per_task"));
    let tol_r = 4.0 * ((k_mean * vg + k_var * eg * eg) / n).sqrt();
    assert!(
        (mr - pr).abs() <= tol_r,
        "retries per task: measured {mr} predicted {pr} +- {tol_r}"
    );
    assert!(mr > 0.1, "failures happened and were retried: {mr}");

    // Calibrate from the mock's request log and check the fitted figures.
    let cal = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("calibrate")
        .arg(&log)
        .args(["--format", "json"])
        .output()
        .expect("run calibrate");
    assert!(
        cal.status.success(),
        "calibrate failed: {}",
        String::from_utf8_lossy(&cal.stderr)
    );
    let cal: Value = serde_json::from_slice(&cal.stdout).unwrap();
    let steps = cal["steps"].as_array().unwrap();
    for step in &sc.steps {
        let fit = steps
            .iter()
            .find(|s| s["step"] == step.name.as_str())
            .unwrap_or_else(|| panic!("no fit for step {}: {cal}", step.name));
        let clean = f(fit, "/clean_calls");
        assert!(clean > n * 0.5, "{}: {clean} clean calls", step.name);
        // Output: the scenario's lognormal capped at max_tokens. Lognormal MLE has about the
        // sample mean's standard error, mean * cv / sqrt(clean); 4 of them, plus the cap's effect
        // on the mean (computed here by Monte Carlo) because a lognormal fitted to capped data
        // sits between the capped and uncapped means.
        let (om, ocv) = (step.output_tokens.mean(), 0.6);
        let cap = step.max_tokens.unwrap_or(u64::MAX) as f64;
        let draws = 200_000;
        let capped = (0..draws)
            .map(|_| step.output_tokens.sample(&mut rng).round().min(cap))
            .sum::<f64>()
            / draws as f64;
        let fitted = f(fit, "/output_tokens/mean");
        let tol_o = 4.0 * om * ocv / clean.sqrt() + (om - capped).abs();
        assert!(
            (fitted - capped).abs() <= tol_o,
            "{} output: fitted {fitted}, scenario {capped} +- {tol_o}",
            step.name
        );
        // Input: calibrate splits total input into the cached prefix and the rest. The total
        // (prefix + fresh) must come back: drive sends exactly prefix + input tokens. OpenAI
        // caches 1024 of the 1100-token prefix (128-token steps), so only the sum is compared.
        // Tolerance: 4 standard errors of the fresh input (cv 0.5 at most) plus 3% for fitting a
        // lognormal to a shifted lognormal (the uncached part includes the prefix remainder).
        let want = step.prefix_tokens.mean() + step.input_tokens.mean();
        let got = f(fit, "/prefix_tokens/mean") + f(fit, "/input_tokens/mean");
        let tol_i =
            4.0 * step.input_tokens.mean() * 0.5 / clean.sqrt() + 0.03 * step.input_tokens.mean();
        assert!(
            (got - want).abs() <= tol_i,
            "{} input: fitted {got}, scenario {want} +- {tol_i}",
            step.name
        );
        // Failure rates by status: binomial over every attempt, 4 sigma.
        let attempts = f(fit, "/failures/attempts");
        for (kind, rate) in [
            ("rate_limit", fr.rate_limit),
            ("server_error", fr.server_error),
        ] {
            let got = f(fit, &format!("/failures/{kind}")) / attempts;
            let tol = 4.0 * (rate * (1.0 - rate) / attempts).sqrt();
            assert!(
                (got - rate).abs() <= tol,
                "{} {kind}: fitted {got}, scenario {rate} +- {tol}",
                step.name
            );
        }
    }
}
