//! The simulator and the mock agree: simulate scenarios/agreement.toml, drive the same scenario
//! against the real `burnrate mock` (faults at the scenario's rates, instant latency), and check
//! the measured figures against the prediction with tolerances derived from the sample size.
//! Then calibrate from the mock's request log and check the fitted means.

use rand::SeedableRng;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Tasks driven: the "a few thousand", and four simulated days of the scenario's
/// traffic. With the dev profile optimising dependencies (opt-level 2: tiktoken, axum, the
/// engine's hot paths) the mock no longer spends ~15 ms per request; 2,000 tasks took 6 s and
/// 8,000 take about 20 s on 2 shared cores, so the larger count fits the one-minute budget and
/// buys a tighter cost check: 4 sigma of the mean cost is 2.3% of it at 8,000 tasks, 4.6% at
/// 2,000, which would not catch a provider leaving malformed bodies and timeouts unbilled
/// (-4.3% here). The tolerances below scale with this number (1/sqrt(TASKS)).
const TASKS: u64 = 8_000;

pub(crate) struct Mock(Child);

impl Mock {
    /// Stops the mock gracefully (SIGTERM: it drains, drops its state and flushes the request
    /// log, which it otherwise writes in 200 ms batches) and waits for it to exit.
    pub(crate) fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM the mock");
        let exit = self.0.wait().expect("wait for the mock");
        assert!(exit.success(), "the mock exits cleanly on SIGTERM: {exit}");
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `burnrate drive` against the mock at `url` (JSON report, 30,000x speed-up), stops the
/// mock, and returns the report and the mock's request-log lines.
fn drive_and_read_log(
    scenario: &Path,
    url: &str,
    tasks: u64,
    concurrency: u32,
    seed: u64,
    mock: Mock,
    log: &Path,
) -> (Value, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("drive")
        .arg(scenario)
        .args(["--endpoint", url, "--speedup", "30000", "--format", "json"])
        .args(["--tasks", &tasks.to_string()])
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--seed", &seed.to_string(), "--quiet"])
        .output()
        .expect("run drive");
    assert!(
        out.status.success(),
        "drive failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("drive --format json");
    mock.stop();
    let lines = std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (report, lines)
}

pub(crate) fn start_mock(config: &Path) -> (Mock, String) {
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

/// Runs `burnrate drive SCENARIO --endpoint URL --format json --quiet ARGS...` against `mock`,
/// stops the mock, and returns the JSON report (panicking with drive's stderr on failure).
pub(crate) fn drive_json(scenario: &Path, url: &str, args: &[&str], mock: Mock) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("drive")
        .arg(scenario)
        .args(["--endpoint", url, "--format", "json", "--quiet"])
        .args(args)
        .output()
        .expect("run drive");
    mock.stop();
    assert!(
        out.status.success(),
        "drive failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("drive --format json")
}

pub(crate) fn f(v: &Value, path: &str) -> f64 {
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
    // Faults at the scenario's rates (tool errors are the agent's own and drawn by drive;
    // malformed bodies and timeouts are billed by the mock as by the engine: in full, and the
    // input only; at time_scale 0 a timeout is an immediate 504);
    // no rate-limit buckets (the scenario's traffic is far below them; compressed in time it
    // would not be); instant latency. The OpenAI cache TTL is real time: at 2,000 tasks a day
    // and a 1-hour TTL the simulator predicts practically every call after the first hits
    // (lambda * TTL = 83 per step), so the mock's TTL only has to outlast the real gaps between
    // calls of a step, which a loaded debug build can stretch to seconds: 60 s.
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        format!(
            "seed = 3\ntime_scale = 0.0\nopenai_cache_ttl_s = 60.0\nrequest_log = {:?}\n\n[defaults]\nrpm = 0\ntpm = 0\ninput_tpm = 0\noutput_tpm = 0\n\n[defaults.faults]\nrate_limit = {}\nserver_error = {}\nmalformed = {}\ntimeout = {}\n",
            log.display().to_string(),
            fr.rate_limit,
            fr.server_error,
            fr.malformed,
            fr.timeout,
        ),
    )
    .unwrap();
    let (mock, url) = start_mock(&config);

    let (report, log_lines) = drive_and_read_log(&scenario_path, &url, TASKS, 8, 11, mock, &log);

    let (m, p) = (&report["measured"], &report["predicted"]);
    let n = TASKS as f64;
    assert_eq!(f(m, "/tasks"), n);
    // Drive prices only the usage the responses carried; malformed bodies and timeouts carry
    // none, but the mock billed them (its request log has their tokens and cost). So: drive's
    // unpriced calls are exactly the log's malformed and timeout lines, and drive's cost plus
    // theirs is the ledger's, to the pico-dollar.
    let unreadable: Vec<&Value> = log_lines
        .iter()
        .filter(|l| matches!(l["error"].as_str(), Some("malformed" | "timeout")))
        .collect();
    assert!(
        unreadable.len() > 100,
        "malformed bodies and timeouts were injected: {}",
        unreadable.len()
    );
    assert_eq!(report["unpriced_calls"], unreadable.len() as u64);
    let unreadable_pusd: u128 = unreadable
        .iter()
        .map(|l| u128::from(l["cost_pusd"].as_u64().expect("cost_pusd")))
        .sum();
    assert!(unreadable_pusd > 0, "the mock billed them");
    let ledger = &report["endpoint_ledger"];
    let drive_pusd: u128 = ledger["measured_cost_pusd"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("measured_cost_pusd in {ledger}"));
    assert_eq!(
        u128::from(ledger["cost_pusd"].as_u64().unwrap()),
        drive_pusd + unreadable_pusd,
        "the mock's ledger vs drive's usage-based cost plus the unreadable calls' bills: {ledger}"
    );
    assert_eq!(
        log_lines.len() as u64,
        ledger["requests"].as_u64().unwrap(),
        "one log line per request"
    );
    // The engine's semantics, line by line: a malformed body is billed in full (input and the
    // planned output), a timeout its input only. (Whether the rates match is checked from the
    // calibration below.)
    let tok = |l: &Value, k: &str| l[k].as_u64().unwrap_or_else(|| panic!("{k} in {l}"));
    let total_in = |l: &Value| {
        tok(l, "input_tokens") + tok(l, "cache_write_tokens") + tok(l, "cache_read_tokens")
    };
    for l in &unreadable {
        assert!(total_in(l) > 1000, "input billed: {l}");
        if l["error"] == "timeout" {
            assert_eq!(
                (l["status"].as_u64(), tok(l, "output_tokens")),
                (Some(504), 0),
                "{l}"
            );
        }
    }
    let mean_out = |kind: Option<&str>| {
        let outs: Vec<u64> = log_lines
            .iter()
            .filter(|l| l["error"].as_str() == kind && l["status"] == 200)
            .map(|l| tok(l, "output_tokens"))
            .collect();
        outs.iter().sum::<u64>() as f64 / outs.len().max(1) as f64
    };
    // Malformed and clean calls draw their output from the same distributions: their means
    // agree within far less than half (a few hundred malformed calls, cv <= 0.6).
    let (mo, co) = (mean_out(Some("malformed")), mean_out(None));
    assert!(
        mo > 0.5 * co && mo < 1.5 * co,
        "malformed output billed in full: {mo} vs clean {co}"
    );

    // Mean cost per task, as billed (the mock's ledger, which the check above ties to drive's
    // usage-based cost): within the simulated distribution's interval for TASKS tasks,
    // mean +- 4 sd / sqrt(n). drive estimates the per-task sd from 400 one-day replicas with
    // uniform arrivals (exactly 2,000 tasks each): sd(day) / sqrt(2000), relative error about
    // 1/sqrt(2 * 399) = 3.5%, which 4 sigma absorbs. The simulated mean itself rests on 800,000
    // tasks: its own error is a tenth of the measured mean's and is ignored. A wrong price, cache
    // accounting, retry policy, failure billing or token count shifts the mean by more than
    // the tolerance (e.g. missing the cache read discount: +60%; malformed bodies and timeouts
    // unbilled: -4.3%, drive's usage-based figure).
    let (mm, pm, sd) = (
        f(ledger, "/cost_per_task_usd"),
        f(p, "/cost_per_task_usd/mean"),
        f(p, "/cost_per_task_usd/sd"),
    );
    assert!(sd > 0.0, "the prediction has a spread");
    assert_eq!(report["predict_replicas"], 400);
    let tol = 4.0 * sd / n.sqrt();
    assert!(
        (mm - pm).abs() <= tol,
        "cost per task: billed {mm} predicted {pm} +- {tol} (sd {sd})"
    );
    eprintln!(
        "agreement: cost per task billed {mm:.7} predicted {pm:.7} +- {tol:.7} (sd {sd:.7}); \
         drive's usage-based {:.7}",
        f(m, "/cost_per_task_usd/mean")
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
    eprintln!("agreement: cache hit rate measured {mh:.5} predicted {ph:.5} +- {tol_h:.5}");

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
    eprintln!("agreement: retries per task measured {mr:.4} predicted {pr:.4} +- {tol_r:.4}");

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
            ("malformed", fr.malformed),
            ("timeout", fr.timeout),
        ] {
            let got = f(fit, &format!("/failures/{kind}")) / attempts;
            let tol = 4.0 * (rate * (1.0 - rate) / attempts).sqrt();
            assert!(
                (got - rate).abs() <= tol,
                "{} {kind}: fitted {got}, scenario {rate} +- {tol}",
                step.name
            );
        }
        // Calls per task (first attempts of the step per task id, from the x-mock-task header
        // drive sends): calibrate fits the counts as an empirical distribution, whose mean is
        // the sample mean, so the tolerance is 4 standard errors, 4 sd(repeat) / sqrt(tasks),
        // with sd(repeat) by Monte Carlo from the scenario. Plus 0.01: a task that gives up
        // (q^5 = 3.2e-4 per call, about one task in 2,000) stops before its remaining repeats
        // (at most 2), which 0.01 covers for up to 10 such tasks.
        // Tasks that reached the step: all of them for the first; for later ones all but those
        // that gave up on an earlier call, expected n * E[K] * q^(max_retries + 1) (about 4
        // here), Poisson: 10 sigma above that (or 10) bounds it.
        let tasks_seen = f(fit, "/tasks");
        let gave_up = n * k_mean * q.powi(sc.limits.max_retries as i32 + 1);
        let allowed = (gave_up + 10.0 * gave_up.sqrt()).max(10.0).floor();
        if step.name == sc.steps[0].name {
            assert_eq!(tasks_seen, n, "{}: every task reached the step", step.name);
        } else {
            assert!(
                tasks_seen <= n && tasks_seen >= n - allowed,
                "{}: {tasks_seen} of {n} tasks reached the step (at most {allowed} give up before)",
                step.name
            );
        }
        let reps: Vec<f64> = (0..draws)
            .map(|_| step.repeat.sample_count(&mut rng) as f64)
            .collect();
        let rm = reps.iter().sum::<f64>() / draws as f64;
        let rsd = (reps.iter().map(|r| (r - rm).powi(2)).sum::<f64>() / draws as f64).sqrt();
        let got = f(fit, "/repeat/mean");
        let tol_k = 4.0 * rsd / tasks_seen.sqrt() + 0.01;
        assert!(
            (got - rm).abs() <= tol_k,
            "{} calls per task: fitted {got}, scenario {rm} +- {tol_k}",
            step.name
        );
        eprintln!(
            "agreement: {} calls per task fitted {got:.4} scenario {rm:.4} +- {tol_k:.4}",
            step.name
        );
    }
    assert_eq!(f(&cal, "/tasks"), n, "calibrate saw every task id");
}

/// A flex step on gpt-5.6 with a cached prefix: drive sends the step's `service_tier` and bills
/// the call as the engine does (`Scenario::billing`: flex prices, 30-minute writes at 1.25x
/// input); the mock bills what it received the same way, to the pUSD.
#[test]
fn drive_and_the_mock_bill_a_flex_gpt_5_6_step_alike() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("flex.toml");
    std::fs::write(
        &scenario,
        "name = \"flex\"\n[horizon]\ndays = 1\nreplicas = 2\nseed = 5\n[traffic]\ntasks_per_day = 500\narrivals = \"uniform\"\n[caching]\nenabled = true\n[[steps]]\nname = \"answer\"\nmodel = \"gpt-5.6\"\ntier = \"flex\"\nprefix_tokens = 1300\ninput_tokens = 200\noutput_tokens = 40\n",
    )
    .unwrap();
    let log = dir.path().join("requests.jsonl");
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        format!(
            "seed = 3\ntime_scale = 0.0\nrequest_log = {:?}\n[defaults]\nrpm = 0\ntpm = 0\n",
            log.display().to_string()
        ),
    )
    .unwrap();
    let (mock, url) = start_mock(&config);
    let (report, lines) = drive_and_read_log(&scenario, &url, 20, 1, 2, mock, &log);
    assert_eq!(lines.len(), 20);
    assert!(
        lines.iter().all(|l| l["service_tier"] == "flex"),
        "{lines:?}"
    );
    // The first call writes the prefix (30m writes), later ones read it.
    assert!(lines[0]["cache_write_30m_tokens"].as_u64().unwrap() >= 1024);
    assert!(lines[19]["cache_read_tokens"].as_u64().unwrap() >= 1024);
    let ledger = &report["endpoint_ledger"];
    let drive_pusd: u128 = ledger["measured_cost_pusd"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("measured_cost_pusd in {ledger}"));
    assert_eq!(
        u128::from(ledger["cost_pusd"].as_u64().unwrap()),
        drive_pusd
    );
    // Each line at gpt-5.6's flex prices: input 2.00, 30m write 2.50, read 0.20, output 10.00.
    for l in &lines {
        let g = |k: &str| l[k].as_u64().unwrap();
        assert_eq!(
            g("cost_pusd"),
            g("input_tokens") * 2_000_000
                + g("cache_write_30m_tokens") * 2_500_000
                + g("cache_read_tokens") * 200_000
                + g("output_tokens") * 10_000_000,
            "{l}"
        );
    }
}
