//! `burnrate drive`: play a scenario's agent as a real HTTP client against an OpenAI- or
//! Anthropic-compatible endpoint (the mock, or a real provider) and compare what it measured
//! with what the simulator predicts. The work is in burnrate-drive (the agent over the engine's
//! own policy, the wire, the figures) and burnrate-reports (the report); this is arguments, the
//! runtime and printing.

use crate::cmd::simulate::load_scenario;
use crate::error::{CliError, CliResult};
use anyhow::{Context, anyhow};
use burnrate_drive::{DriveError, DriveOptions};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Base URL of the endpoint, e.g. http://127.0.0.1:8080 (no trailing /v1).
    #[arg(long)]
    pub endpoint: String,
    /// API key for every model (default: OPENAI_API_KEY / ANTHROPIC_API_KEY by provider).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Number of tasks to drive.
    #[arg(long, conflicts_with = "duration")]
    pub tasks: Option<u64>,
    /// Drive for this many real seconds of arrivals instead of a task count.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Time compression of arrivals, backoffs and breaker cooldowns (scenario seconds per
    /// real second).
    #[arg(long, default_value_t = 1.0)]
    pub speedup: f64,
    /// Tasks in flight at most; later arrivals wait for a slot (reported as `queued_tasks`).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seed of every draw (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replicas of one simulated day for the prediction. The per-task cost sd is estimated
    /// from their spread with relative error about 1/sqrt(2 (R - 1)): 3.5% at 400.
    #[arg(long, default_value_t = 400)]
    pub predict_replicas: u32,
    /// Also write one JSONL line per attempt (task, step, model, status, usage) for `calibrate`.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// No progress line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Md,
}

/// Tasks driven when neither `--tasks` nor `--duration` is given.
const DEFAULT_TASKS: u64 = 100;

pub fn run(args: Args) -> CliResult {
    let (sc, _) = load_scenario(&args.scenario)?;
    let bad = |m: String| CliError::BadInput(anyhow!(m));
    let tasks = match (args.tasks, args.duration) {
        (Some(n), _) => n,
        (None, Some(d)) if d.is_finite() && d > 0.0 => {
            // Arrivals at the scenario's base rate over `d` real seconds.
            (d * args.speedup * sc.traffic.tasks_per_day / 86_400.0).ceil() as u64
        }
        (None, Some(d)) => return Err(bad(format!("--duration must be > 0, got {d}"))),
        (None, None) => DEFAULT_TASKS,
    };
    let options = DriveOptions {
        endpoint: args.endpoint.clone(),
        api_key: args.api_key.clone(),
        tasks,
        speedup: args.speedup,
        concurrency: args.concurrency,
        seed: args.seed.unwrap_or(sc.horizon.seed),
        predict_replicas: args.predict_replicas,
        log: args.log.is_some(),
    };
    // Arguments are checked before anything runs (the endpoint is not contacted).
    burnrate_drive::check_options(&sc, &options).map_err(|e| bad(e.to_string()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let quiet = args.quiet;
    let progress = move |started: u64, total: u64| {
        if !quiet {
            eprintln!("drive: {started} of {total} tasks started");
        }
    };
    let driven = rt
        .block_on(burnrate_drive::drive(sc, &options, &progress))
        .map_err(|e| match e {
            DriveError::BadInput(_) | DriveError::Prediction(_) => CliError::BadInput(e.into()),
            other => CliError::Other(other.into()),
        })?;
    if let Some(path) = &args.log {
        let mut text = driven.log_lines.join("\n");
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let r = &driven.report;
    let text = match args.format {
        Format::Json => burnrate_reports::drive_json(r),
        Format::Text => burnrate_reports::drive_text(r),
        Format::Md => burnrate_reports::drive_markdown(r),
    };
    super::print(&text);
    Ok(())
}
