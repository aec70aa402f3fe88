//! The simulator and the mock agree under a binding rate limit (issue 18, point 5): drive plays
//! `scenarios/agreement-ratelimit.toml` against `burnrate mock`, whose limits' clock runs at
//! drive's speed-up (`limit_clock_speedup`), and the calls that met the limit match the
//! engine's `calls.rate_limit_waits`.
//!
//! The rule both sides follow is OpenAI's request limit
//! (<https://platform.openai.com/docs/guides/rate-limits>): RPM is a per-minute allowance that
//! refills continuously; a request beyond it is answered 429 with the wait in `retry-after`
//! (`retry-after-ms`) and `x-ratelimit-*` headers. The engine queues the call until the bucket
//! holds a request; drive waits out the mock's `retry-after-ms` and asks again. At 1 RPM and
//! Poisson arrivals at 0.6 a minute, about 60% of calls wait (a call waits when the one-request
//! bucket has not refilled since the last admission).

use crate::agreement::{drive_json, f, start_mock};
use std::path::{Path, PathBuf};

/// Tasks driven: 300 calls, 500 scenario minutes, about 10 s of wall time at 3,000x; a timer
/// error of 1 ms is 3 scenario seconds, 5% of the 60 s a request takes to refill.
const TASKS: u64 = 300;
const SPEEDUP: u32 = 3_000;

/// Share of calls that waited, per one-day replica of the engine, for seeds 1..=n.
fn engine_wait_shares(sc: &burnrate_sim::Scenario, n: u64) -> Vec<f64> {
    (1..=n)
        .map(|seed| {
            let opts = burnrate_sim::RunOptions {
                replicas: Some(1),
                seed: Some(seed),
                skip_capacity_searches: true,
                ..Default::default()
            };
            let r = burnrate_sim::simulate(sc, &opts, &|| {}).expect("simulate");
            r.calls.rate_limit_waits as f64 / r.calls.total as f64
        })
        .collect()
}

/// Drives `scenario` against a mock configured with `mock_limits` (TOML lines under the
/// model) and checks the share of calls that waited against the engine's, within 4 sd of the
/// share over TASKS tasks. Returns (measured, engine).
fn waits_agree(
    scenario: &Path,
    mock_limits: &str,
    expected_share: std::ops::Range<f64>,
) -> (f64, f64) {
    let text = std::fs::read_to_string(scenario).unwrap();
    let sc = burnrate_sim::Scenario::from_toml("agreement-ratelimit.toml", &text).unwrap();

    // The tolerance, from the engine's own spread: the share over one day's tasks varies by
    // sd_day between replicas, and over drive's TASKS (a stretch of the same stationary
    // process) by sd_day * sqrt(tasks per day / TASKS).
    let shares = engine_wait_shares(&sc, 40);
    let mean_day = shares.iter().sum::<f64>() / shares.len() as f64;
    let sd_day = (shares.iter().map(|s| (s - mean_day).powi(2)).sum::<f64>()
        / (shares.len() - 1) as f64)
        .sqrt();
    let sd_drive = sd_day * (sc.traffic.tasks_per_day / TASKS as f64).sqrt();
    assert!(
        expected_share.contains(&mean_day),
        "share of calls that wait: {mean_day}, expected in {expected_share:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        format!(
            "seed = 1\ntime_scale = 0.0\nlimit_clock_speedup = {SPEEDUP}\n\n[models.\"gpt-5.4-mini\"]\n{mock_limits}"
        ),
    )
    .unwrap();
    let (mock, url) = start_mock(&config);
    let (speedup, tasks) = (SPEEDUP.to_string(), TASKS.to_string());
    let report = drive_json(
        scenario,
        &url,
        &[
            "--speedup",
            &speedup,
            "--tasks",
            &tasks,
            "--concurrency",
            "64",
        ],
        mock,
    );
    let (m, p) = (&report["measured"], &report["predicted"]);

    // Every task finishes: a limit is waited out, never a failure.
    assert_eq!(f(m, "/succeeded"), TASKS as f64, "{m}");
    assert_eq!(
        f(m, "/calls_per_task"),
        1.0,
        "one admitted call per task: {m}"
    );
    // drive's prediction is the engine's run of the scenario (40 replicas).
    let predicted = f(p, "/rate_limit_waits_per_task");
    assert!(
        (predicted - mean_day).abs() < 4.0 * sd_day / 40f64.sqrt() + 1e-9,
        "drive's prediction {predicted} vs the seeds' mean {mean_day}"
    );
    let measured = f(m, "/rate_limit_waits_per_task");
    let tolerance = 4.0 * sd_drive;
    assert!(
        (measured - predicted).abs() <= tolerance,
        "calls that waited for the limit: measured {measured:.3} per task, engine {predicted:.3}, tolerance {tolerance:.3} (4 sd at {TASKS} tasks)"
    );
    eprintln!(
        "rate-limit agreement ({mock_limits:?}): measured {measured:.3}, engine {predicted:.3}, 4 sd {tolerance:.3}"
    );
    (measured, predicted)
}

#[test]
fn drive_against_the_mock_waits_for_a_binding_limit_as_often_as_the_engine_queues() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scenario = root.join("scenarios/agreement-ratelimit.toml");
    let text = std::fs::read_to_string(&scenario).unwrap();
    let sc = burnrate_sim::Scenario::from_toml("agreement-ratelimit.toml", &text).unwrap();
    assert_eq!(sc.models[0].rate_limits.requests_per_minute, Some(1));
    waits_agree(&scenario, "rpm = 1\ntpm = 0\n", 0.5..0.7);
}

/// The same traffic held by OpenAI's TPM instead, where a request counts its prompt plus its
/// `max_tokens` at admission (<https://platform.openai.com/docs/guides/rate-limits>, "rate
/// limits are calculated from the maximum of max_tokens and the estimated tokens"): 200 prompt
/// tokens + `max_tokens = 800` against 1,050 TPM admit about one call a minute though each
/// writes only 20 tokens, so about 57% of calls wait (utilisation 0.6 x 1,000 / 1,050). If
/// drive, the mock or the engine counted the 20 written tokens instead, nothing would wait.
/// The mock's prompt count includes its chat framing, a few tokens above 200, which moves the
/// refill interval by under 1%.
#[test]
fn drive_and_the_engine_count_max_tokens_against_openai_tpm_alike() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("scenarios/agreement-ratelimit.toml")).unwrap();
    let tpm_bound = text
        .replace(
            "requests_per_minute = 1\ntokens_per_minute = 10000000",
            "tokens_per_minute = 1050",
        )
        .replace(
            "output_tokens = { dist = \"constant\", value = 20 }",
            "output_tokens = { dist = \"constant\", value = 20 }\nmax_tokens = 800",
        );
    assert!(
        tpm_bound.contains("tokens_per_minute = 1050") && tpm_bound.contains("max_tokens = 800")
    );
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("agreement-ratelimit-tpm.toml");
    std::fs::write(&scenario, tpm_bound).unwrap();
    waits_agree(&scenario, "rpm = 0\ntpm = 1050\n", 0.45..0.7);
}
