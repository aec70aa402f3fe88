//! `burnrate sweep`: cost and breach probability against one parameter, every point on the
//! same seed.

use crate::cmd::simulate::{RunArgs, run_scenario};
use crate::error::{CliError, CliResult};
use anyhow::{Context, anyhow};
use burnrate_reports::{Sweep, SweepPoint};
use burnrate_sim::Scenario;
use std::path::PathBuf;

/// Most points one sweep may run.
const MAX_POINTS: usize = 1_000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Dotted path of the parameter: `traffic.tasks_per_day`, `steps.draft.max_tokens`,
    /// `caching.ttl`, `failures.malformed`...
    #[arg(long)]
    pub param: String,
    /// Values: a list (`5,50,500`, `"5m","1h"`) or a range `LOW..HIGH` with `--points`.
    #[arg(long, allow_hyphen_values = true)]
    pub values: String,
    /// Points of a range, spaced on a log scale (linear when LOW is 0).
    #[arg(long, default_value_t = 8)]
    pub points: usize,
    #[command(flatten)]
    pub run: RunArgs,
    #[arg(long, value_enum, default_value_t = super::OutputFormat::Text)]
    pub format: super::OutputFormat,
    /// Also write the sweep chart (SVG, PNG), Markdown and JSON to this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The swept values as TOML literals.
fn parse_values(values: &str, points: usize) -> Result<Vec<String>, String> {
    if let Some((lo, hi)) = values.split_once("..") {
        let lo: f64 = lo
            .trim()
            .parse()
            .map_err(|_| format!("`{lo}` is not a number"))?;
        let hi: f64 = hi
            .trim()
            .parse()
            .map_err(|_| format!("`{hi}` is not a number"))?;
        if !(lo.is_finite() && hi.is_finite() && lo < hi && lo >= 0.0) {
            return Err(format!("a range needs 0 <= LOW < HIGH, got {lo}..{hi}"));
        }
        if !(2..=MAX_POINTS).contains(&points) {
            return Err(format!(
                "--points must be between 2 and {MAX_POINTS}, got {points}"
            ));
        }
        let step = |i: usize| i as f64 / (points - 1) as f64;
        return Ok((0..points)
            .map(|i| {
                let v = if lo > 0.0 {
                    lo * (hi / lo).powf(step(i))
                } else {
                    lo + (hi - lo) * step(i)
                };
                // Round to 4 significant digits so the values read well.
                let v = if v == 0.0 {
                    0.0
                } else {
                    let digits = 3 - v.abs().log10().floor() as i32;
                    let scale = 10f64.powi(digits);
                    (v * scale).round() / scale
                };
                format!("{v}")
            })
            .collect());
    }
    let list: Vec<String> = values
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if list.is_empty() || list.len() > MAX_POINTS {
        return Err(format!(
            "--values needs 1 to {MAX_POINTS} values, got {}",
            list.len()
        ));
    }
    Ok(list)
}

pub fn run(args: Args) -> CliResult {
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("cannot read scenario {}", args.scenario.display()))
        .map_err(CliError::BadInput)?;
    let file = args.scenario.display().to_string();
    let values = parse_values(&args.values, args.points)
        .map_err(|e| CliError::BadInput(anyhow!("--values: {e}")))?;
    // Validate every point before simulating any, so bad input fails fast and writes nothing.
    let mut scenarios: Vec<(String, Scenario)> = Vec::with_capacity(values.len());
    for v in values {
        let sc = Scenario::from_toml_with(&file, &text, &[(args.param.clone(), v.clone())])
            .map_err(|e| CliError::BadInput(e.into()))?;
        scenarios.push((v, sc));
    }
    let mut points = Vec::new();
    let mut budget = None;
    for (i, (literal, sc)) in scenarios.iter().enumerate() {
        budget = sc
            .daily_budget_pusd
            .map(|b| burnrate_sim::pusd_to_usd(u128::from(b)));
        let r = run_scenario(sc, &args.run)?;
        // Non-numeric values (e.g. "1h") are plotted by position.
        let value = literal.trim_matches('"').parse::<f64>().unwrap_or(i as f64);
        points.push(SweepPoint {
            value,
            p50: r.cost_usd.per_day.p50,
            p95: r.cost_usd.per_day.p95,
            p99: r.cost_usd.per_day.p99,
            breach_probability: r.budget.breach_probability,
        });
    }
    let sweep = Sweep {
        param: args.param.clone(),
        daily_budget: budget,
        points,
    };
    if let Some(dir) = &args.out {
        burnrate_reports::write_sweep_dir(&sweep, dir)
            .with_context(|| format!("cannot write to {}", dir.display()))
            .map_err(CliError::Other)?;
    }
    let out = match args.format {
        super::OutputFormat::Text => burnrate_reports::sweep_text(&sweep),
        super::OutputFormat::Json => burnrate_reports::sweep_json(&sweep),
        super::OutputFormat::Md => burnrate_reports::sweep_markdown(&sweep),
    };
    super::print(&out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_values;

    #[test]
    fn ranges_are_log_spaced_and_lists_kept() {
        assert_eq!(parse_values("5..500", 3).unwrap(), ["5", "50", "500"]);
        assert_eq!(parse_values("0..10", 3).unwrap(), ["0", "5", "10"]);
        assert_eq!(
            parse_values("\"5m\",\"1h\"", 8).unwrap(),
            ["\"5m\"", "\"1h\""]
        );
        assert!(parse_values("10..5", 3).is_err());
        assert!(parse_values("5..500", 1).is_err());
        assert!(parse_values("", 3).is_err());
    }
}
