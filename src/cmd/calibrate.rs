//! `burnrate calibrate`: fit a scenario from usage logs (the mock's request log, OpenAI chat or
//! Responses usage objects, Anthropic usage objects; each line optionally tagged with `step`,
//! `model`, `task` and `status`). The fitting itself is pure and lives in `burnrate_sim`.

use crate::error::{CliError, CliResult};
use anyhow::Context;
use burnrate_sim::{CalibrateError, Catalog, Fit};
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Usage log (JSONL).
    pub log: PathBuf,
    /// Write the result here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `toml`: a scenario `simulate` accepts; `json`: the fits with their observation counts.
    #[arg(long, value_enum, default_value_t = Format::Toml)]
    pub format: Format,
    /// Scenario name (default: the log's file stem).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Toml,
    Json,
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

pub fn run(args: Args) -> CliResult {
    let text = std::fs::read_to_string(&args.log)
        .with_context(|| format!("cannot read {}", args.log.display()))
        .map_err(CliError::BadInput)?;
    let bad =
        |e: CalibrateError| CliError::BadInput(anyhow::anyhow!("{}: {e}", args.log.display()));
    let obs = burnrate_sim::parse_log(&text).map_err(bad)?;
    if obs.is_empty() {
        return Err(bad(CalibrateError::Empty));
    }
    let cal = burnrate_sim::calibrate(&obs, &Catalog::builtin()).map_err(bad)?;
    let name = args.name.clone().unwrap_or_else(|| {
        args.log.file_stem().map_or_else(
            || "calibrated".to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    });
    let toml = cal.to_scenario_toml(&name).map_err(bad)?;
    let output = match args.format {
        Format::Toml => toml,
        Format::Json => {
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
                        "input_tokens": fit_json(&s.input),
                        "output_tokens": fit_json(&s.output),
                        "repeat": s.repeat.as_ref().map(fit_json),
                        "tasks": s.tasks,
                        "failures": {
                            "attempts": f.attempts, "malformed": f.malformed, "rate_limit": f.rate_limit,
                            "server_error": f.server_error, "timeout": f.timeout, "other": f.other,
                        },
                    })
                })
                .collect();
            serde_json::to_string_pretty(&json!({
                "lines": cal.lines,
                "tasks": cal.tasks,
                "caching_seen": cal.caching_seen,
                "steps": steps,
                "scenario_toml": toml,
            }))
            .context("json")?
        }
    };
    match &args.out {
        Some(path) => std::fs::write(path, output)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => super::print(output.trim_end()),
    }
    Ok(())
}
