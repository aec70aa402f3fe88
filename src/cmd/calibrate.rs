//! `burnrate calibrate`: fit a scenario from traces and usage logs (OTLP JSON with GenAI or
//! OpenInference attributes, LiteLLM spend logs as JSONL or CSV, the mock's request log,
//! provider usage objects), files, gzipped files or directories of them. The reading and
//! fitting are in `burnrate_sim` (streaming, pure); this file opens files and shows progress.

use crate::error::{CliError, CliResult};
use anyhow::Context;
use burnrate_sim::{
    CalibrateError, Calibration, Catalog, Fit, Gof, HoldoutDay, Ingest, IngestOptions,
    IngestReport, InputFormat,
};
use serde_json::json;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Trace or log files, or directories of them (`.gz` files are decompressed).
    #[arg(required = true, value_name = "TRACES")]
    pub traces: Vec<PathBuf>,
    /// Write the result here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `toml`: a scenario `simulate` accepts; `json`: the fits with their observation counts.
    #[arg(long, value_enum, default_value_t = Format::Toml)]
    pub format: Format,
    /// Scenario name (default: the first input's file stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Input format; `auto` detects it line by line (CSV by file).
    #[arg(long, value_enum, default_value_t = Input::Auto)]
    pub input_format: Input,
    /// Span attribute (or LiteLLM field) naming the task (default: `gen_ai.conversation.id`,
    /// else the trace id; LiteLLM: `session_id`).
    #[arg(long, value_name = "ATTR")]
    pub task_key: Option<String>,
    /// Span attribute (or LiteLLM field) naming the step (default: `gen_ai.agent.name`, else
    /// the parent span's name, else the span name; LiteLLM: `model_group`).
    #[arg(long, value_name = "ATTR")]
    pub step_key: Option<String>,
    /// Stop at the first malformed line (default: count it, report it, go on).
    #[arg(long)]
    pub strict: bool,
    /// Fit on all but the last DAYS days (`7d` or `7`), then compare each held-out day's real
    /// cost (its own tokens priced with the catalog) with the fitted scenario's p05-p95 band.
    #[arg(long, value_name = "DAYS", value_parser = parse_days)]
    pub holdout: Option<u32>,
    /// With --holdout: also write the check as `holdout.md`, `holdout.html` (with its chart),
    /// `holdout.svg` and `holdout.png` into DIR.
    #[arg(long, value_name = "DIR", requires = "holdout")]
    pub report: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Toml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Input {
    Auto,
    Otlp,
    Litellm,
    Usage,
}

fn parse_days(s: &str) -> Result<u32, String> {
    let n = s.strip_suffix('d').unwrap_or(s);
    match n.parse::<u32>() {
        Ok(d) if (1..=366).contains(&d) => Ok(d),
        _ => Err(format!(
            "`{s}` is not a number of days from 1 to 366 (e.g. 7d)"
        )),
    }
}

const DAY_US: i64 = 86_400_000_000;
/// Replicas of the hold-out simulation: its p05-p95 band per day rests on them.
const HOLDOUT_REPLICAS: u32 = 200;

/// Fits on all but the last `days` days, simulates them with the fitted scenario and sets
/// the held-out days' real cost against its band.
fn holdout(
    calls: &burnrate_sim::Calls,
    days: u32,
    name: &str,
) -> Result<(Calibration, String, Vec<HoldoutDay>), CliError> {
    let bad = |m: String| CliError::BadInput(anyhow::anyhow!(m));
    let last = calls.calls.iter().filter_map(|c| c.start_us).max();
    let last = last.ok_or_else(|| bad("--holdout needs start times in the traces".into()))?;
    let cutoff = (last.div_euclid(DAY_US) + 1 - i64::from(days)) * DAY_US;
    let (fit_on, held) = calls.split_at_us(cutoff);
    if fit_on.calls.is_empty() || held.calls.is_empty() {
        return Err(bad(format!(
            "--holdout {days}d leaves no calls to fit on or none to hold out; the traces cover fewer days"
        )));
    }
    let catalog = Catalog::builtin();
    let mut cal =
        burnrate_sim::calibrate_calls(&fit_on, &catalog).map_err(|e| bad(e.to_string()))?;
    // Simulated day 0 is the first held-out day: turn the weekly profile to its weekday.
    if let Some(a) = cal.arrivals.as_mut()
        && let Some(w) = a.weekly_profile.as_mut()
    {
        w.rotate_left((a.whole_days % 7) as usize);
    }
    let toml = cal.to_scenario_toml(name).map_err(|e| bad(e.to_string()))?;
    let sc = burnrate_sim::Scenario::from_toml(&format!("{name}.toml"), &toml)
        .map_err(|e| bad(e.to_string()))?;
    let options = burnrate_sim::RunOptions {
        days: Some(days),
        replicas: Some(HOLDOUT_REPLICAS),
        skip_capacity_searches: true,
        ..burnrate_sim::RunOptions::default()
    };
    let result = burnrate_sim::simulate(&sc, &options, &|| {}).map_err(|e| bad(e.to_string()))?;
    let actual = burnrate_sim::daily_cost_usd(&held, &catalog, cutoff, days)
        .map_err(|e| bad(e.to_string()))?;
    let out = actual
        .iter()
        .zip(&result.timeline.days)
        .enumerate()
        .map(|(i, ((n, usd), sim))| HoldoutDay {
            day_start_us: cutoff + i as i64 * DAY_US,
            calls: *n,
            actual_usd: *usd,
            p05_usd: sim.cost_usd.p05,
            mean_usd: sim.cost_usd.mean,
            p95_usd: sim.cost_usd.p95,
        })
        .collect();
    Ok((cal, toml, out))
}

fn fit_json(f: &Fit) -> serde_json::Value {
    match f {
        Fit::Constant(v) => json!({"dist": "constant", "value": v, "mean": v}),
        Fit::LogNormal { mean, cv } => json!({"dist": "lognormal", "mean": mean, "cv": cv}),
        Fit::Empirical { values, weights } => {
            json!({"dist": "empirical", "values": values, "weights": weights, "mean": f.mean()})
        }
    }
}

fn gof_json(g: &Option<Gof>) -> serde_json::Value {
    g.map_or(
        serde_json::Value::Null,
        |g| json!({"ks_d": g.ks_d, "p_value": g.p_value, "observations": g.observations}),
    )
}

/// Every file named, directories walked in name order (hidden files skipped).
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if !meta.is_dir() {
            files.push(p.clone());
            continue;
        }
        for entry in walkdir::WalkDir::new(p).sort_by_file_name() {
            let entry = entry.with_context(|| format!("cannot read {}", p.display()))?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if entry.file_type().is_file() && !hidden {
                files.push(entry.into_path());
            }
        }
    }
    Ok(files)
}

fn open(path: &Path, bar: &indicatif::ProgressBar) -> anyhow::Result<Box<dyn Read>> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut magic = [0u8; 2];
    let n = file
        .read(&mut magic)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let raw = bar.wrap_read(head.chain(file));
    // Gzip by its magic number, whatever the name (several members, as `cat a.gz b.gz`).
    Ok(if magic[..n] == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    })
}

fn ingest(args: &Args) -> Result<burnrate_sim::Calls, CliError> {
    let files = expand(&args.traces).map_err(CliError::BadInput)?;
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::stderr(),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} reading traces {bytes}/{total_bytes} [{elapsed_precise}] {wide_bar} eta {eta}",
            )
            .expect("static template"),
        );
        bar
    };
    let mut ing = Ingest::new(IngestOptions {
        format: match args.input_format {
            Input::Auto => InputFormat::Auto,
            Input::Otlp => InputFormat::Otlp,
            Input::Litellm => InputFormat::Litellm,
            Input::Usage => InputFormat::Usage,
        },
        task_key: args.task_key.clone(),
        step_key: args.step_key.clone(),
        strict: args.strict,
    });
    for f in &files {
        let reader = open(f, &bar).map_err(CliError::BadInput)?;
        let name = f.display().to_string();
        ing.read(&name, BufReader::with_capacity(1 << 20, reader))
            .map_err(|e| CliError::BadInput(e.into()))?;
    }
    bar.finish_and_clear();
    Ok(ing.finish())
}

/// What was read and skipped, on stderr: the user sees why spans did not count.
fn report_skips(r: &IngestReport) {
    if r.malformed > 0 {
        eprintln!(
            "calibrate: {} malformed line(s) skipped (--strict stops at the first):",
            r.malformed
        );
        for p in &r.problems {
            eprintln!("  {p}");
        }
    }
    for (why, n) in &r.skipped {
        eprintln!("calibrate: skipped {n} {why}");
    }
}

pub fn run(args: Args) -> CliResult {
    let calls = ingest(&args)?;
    report_skips(&calls.report);
    let first = args.traces[0].display().to_string();
    // Line errors name their file already; the others are about the input as a whole.
    let bad = |e: CalibrateError| match e {
        CalibrateError::At { .. } | CalibrateError::UnknownModel { .. } => {
            CliError::BadInput(e.into())
        }
        e => CliError::BadInput(anyhow::anyhow!("{first}: {e}")),
    };
    if calls.calls.is_empty() {
        return Err(bad(CalibrateError::Empty));
    }
    let name = args.name.clone().unwrap_or_else(|| {
        let stem = args.traces[0]
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned());
        // `traces.jsonl.gz` is named `traces`.
        stem.map_or_else(
            || "calibrated".to_string(),
            |s| s.split('.').next().unwrap_or(&s).to_string(),
        )
    });
    let (cal, toml, held) = match args.holdout {
        Some(days) => {
            let (cal, toml, held) = holdout(&calls, days, &name)?;
            (cal, toml, Some(held))
        }
        None => {
            let cal = burnrate_sim::calibrate_calls(&calls, &Catalog::builtin()).map_err(bad)?;
            let toml = cal.to_scenario_toml(&name).map_err(bad)?;
            (cal, toml, None)
        }
    };
    let output = match args.format {
        Format::Toml => {
            if let Some(h) = &held {
                eprint!("{}", burnrate_reports::holdout_text(h));
            }
            toml
        }
        Format::Json => {
            let mut v = calibration_json(&cal, &calls.report, &toml);
            if let Some(h) = &held {
                v["holdout"] = h
                    .iter()
                    .map(|d| {
                        json!({"day": d.date(), "calls": d.calls,
                            "actual_usd": d.actual_usd, "p05_usd": d.p05_usd,
                            "mean_usd": d.mean_usd, "p95_usd": d.p95_usd, "inside": d.inside()})
                    })
                    .collect();
            }
            serde_json::to_string_pretty(&v).context("json")?
        }
    };
    if let (Some(dir), Some(h)) = (&args.report, &held) {
        burnrate_reports::write_holdout_dir(&name, h, dir)
            .with_context(|| format!("cannot write the hold-out report to {}", dir.display()))?;
    }
    match &args.out {
        Some(path) => std::fs::write(path, output)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => super::print(output.trim_end()),
    }
    Ok(())
}

fn calibration_json(cal: &Calibration, report: &IngestReport, toml: &str) -> serde_json::Value {
    let steps: Vec<_> = cal
        .steps
        .iter()
        .map(|s| {
            let f = &s.failures;
            json!({
                "step": s.step,
                "model": s.model,
                "clean_calls": s.clean_calls,
                "prefix_tokens": s.prefix.as_ref().map(fit_json),
                "prefix_observations": s.prefix_observations,
                "cache_hit_rate": s.cache_hit_rate,
                "input_tokens": fit_json(&s.input),
                "input_gof": gof_json(&s.input_gof),
                "output_tokens": fit_json(&s.output),
                "output_gof": gof_json(&s.output_gof),
                "reasoning_tokens": s.reasoning.as_ref().map(fit_json),
                "repeat": s.repeat.as_ref().map(fit_json),
                "tasks": s.tasks,
                "failures": {
                    "attempts": f.attempts, "malformed": f.malformed, "rate_limit": f.rate_limit,
                    "server_error": f.server_error, "timeout": f.timeout, "other": f.other,
                    "retries": f.retries, "by_type": f.by_type,
                },
            })
        })
        .collect();
    let arrivals = cal.arrivals.as_ref().map(|a| {
        json!({
            "tasks": a.tasks, "days": a.days, "whole_days": a.whole_days,
            "tasks_per_day": a.tasks_per_day, "daily_profile": a.daily_profile,
            "weekly_profile": a.weekly_profile, "first_weekday": a.first_weekday,
            "slope_per_day": a.slope_per_day, "slope_t": a.slope_t,
            "growth_end_tasks_per_day": a.growth_end_tasks_per_day, "per_day": a.per_day,
        })
    });
    let latency: Vec<_> = cal
        .latency
        .iter()
        .map(|l| {
            json!({
                "model": l.model, "calls": l.calls, "ttft_observations": l.ttft_observations,
                "time_to_first_token_s": l.time_to_first_token_s,
                "output_tokens_per_s": l.output_tokens_per_s, "cv": l.cv,
            })
        })
        .collect();
    json!({
        "lines": cal.lines,
        "tasks": cal.tasks,
        "caching_seen": cal.caching_seen,
        "arrivals": arrivals,
        "latency": latency,
        "escalated_tasks": cal.escalated_tasks,
        "model_mix": cal.model_mix,
        "read": {
            "files": report.sources, "lines": report.lines, "spans": report.spans,
            "malformed": report.malformed, "skipped": report.skipped,
        },
        "steps": steps,
        "scenario_toml": toml,
    })
}
