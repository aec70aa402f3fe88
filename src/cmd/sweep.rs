//! `burnrate sweep`: cost and breach probability against one parameter, every point on the
//! same seed.

use crate::cmd::simulate::{RunArgs, run_scenario_costs};
use crate::error::{CliError, CliResult};
use anyhow::{Context, anyhow};
use burnrate_reports::{Crossing, Sweep, SweepPoint};
use burnrate_sim::{Scenario, SimResult};
use std::path::PathBuf;

/// Most points one sweep may run.
const MAX_POINTS: usize = 1_000;
/// Most extra runs the bisection for the budget crossing makes after the grid.
const MAX_BISECTIONS: usize = 12;
/// The bisection stops when the crossing is known to this fraction of its value.
const CROSSING_PRECISION: f64 = 0.005;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Dotted path of the parameter: `traffic.tasks_per_day`, `steps.draft.max_tokens`,
    /// `caching.ttl`, `failures.malformed`...
    #[arg(long)]
    pub param: String,
    /// Values: a list (`5,50,500`; words such as `5m,1h` are taken as strings) or a range
    /// `LOW..HIGH` with `--points`. For numbers, the budget crossing is then found by bisection.
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
        .map(|v| toml_literal(v.trim()))
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

/// A value as a TOML literal: numbers, booleans, quoted strings, arrays and inline tables as
/// written; a bare word (`5m`, as a shell leaves `"5m"`) becomes a string.
fn toml_literal(v: &str) -> String {
    let literal = v.parse::<f64>().is_ok()
        || v == "true"
        || v == "false"
        || v.starts_with(['"', '\'', '[', '{']);
    if literal || v.is_empty() {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A swept literal's label when it is not a number (quotes removed).
fn label(literal: &str) -> Option<String> {
    literal
        .parse::<f64>()
        .is_err()
        .then(|| literal.trim_matches(['"', '\'']).to_string())
}

fn point(value: f64, label: Option<String>, r: &SimResult) -> SweepPoint {
    SweepPoint {
        value,
        label,
        p50: r.cost_usd.per_day.p50,
        p95: r.cost_usd.per_day.p95,
        p99: r.cost_usd.per_day.p99,
        breach_probability: r.budget.breach_probability,
    }
}

/// Bisects between the last grid point under the budget (p95) and the first over it, running
/// the scenario at each midpoint on the same seed. Integer parameters stay integers.
/// `None` unless the grid is numeric and crosses the budget.
fn find_crossing(
    args: &Args,
    file: &str,
    text: &str,
    literals: &[String],
    points: &[SweepPoint],
    budget: f64,
) -> Result<Option<Crossing>, CliError> {
    if points.iter().any(|p| p.label.is_some()) {
        return Ok(None);
    }
    let mut sorted: Vec<&SweepPoint> = points.iter().collect();
    sorted.sort_by(|a, b| a.value.total_cmp(&b.value));
    let Some(i) = sorted
        .windows(2)
        .position(|w| w[0].p95 <= budget && w[1].p95 > budget)
    else {
        return Ok(None);
    };
    let integer = literals.iter().all(|l| l.parse::<i64>().is_ok());
    let (mut lo, mut hi) = (sorted[i].value, sorted[i + 1].value);
    let (mut lo_p95, mut hi_p95) = (sorted[i].p95, sorted[i + 1].p95);
    for _ in 0..MAX_BISECTIONS {
        if hi - lo <= CROSSING_PRECISION * hi.abs() || (integer && hi - lo <= 1.0) {
            break;
        }
        // Geometric midpoints on a log-spaced (positive) range, arithmetic otherwise.
        let mut mid = if lo > 0.0 {
            (lo * hi).sqrt()
        } else {
            (lo + hi) / 2.0
        };
        if integer {
            mid = mid.round().clamp(lo + 1.0, hi - 1.0);
        }
        let literal = if integer {
            format!("{}", mid as i64)
        } else {
            format!("{mid}")
        };
        let sc = Scenario::from_toml_with(file, text, &[(args.param.clone(), literal)])
            .map_err(|e| CliError::BadInput(e.into()))?;
        let p95 = run_scenario_costs(&sc, &args.run)?.cost_usd.per_day.p95;
        if p95 <= budget {
            (lo, lo_p95) = (mid, p95);
        } else {
            (hi, hi_p95) = (mid, p95);
        }
    }
    let t = if hi_p95 > lo_p95 {
        ((budget - lo_p95) / (hi_p95 - lo_p95)).clamp(0.0, 1.0)
    } else {
        0.5
    };
    Ok(Some(Crossing {
        value: lo + t * (hi - lo),
        low: lo,
        high: hi,
    }))
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
    for v in values.iter().cloned() {
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
        let r = run_scenario_costs(sc, &args.run)?;
        // Non-numeric values (e.g. "1h") keep their labels and are plotted by position.
        let label = label(literal);
        let value = if label.is_some() {
            i as f64
        } else {
            literal.parse::<f64>().unwrap_or(i as f64)
        };
        points.push(point(value, label, &r));
    }
    let crossing = match budget {
        Some(b) => find_crossing(&args, &file, &text, &values, &points, b)?,
        None => None,
    };
    let sweep = Sweep {
        param: args.param.clone(),
        daily_budget: budget,
        points,
        crossing,
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
        // What a shell passes for `--values "5m","1h"` or `--values 5m,1h`.
        assert_eq!(parse_values("5m,1h", 8).unwrap(), ["\"5m\"", "\"1h\""]);
        assert_eq!(parse_values("true,0.5", 8).unwrap(), ["true", "0.5"]);
        assert_eq!(super::label("\"5m\""), Some("5m".to_string()));
        assert_eq!(super::label("50"), None);
        assert!(parse_values("10..5", 3).is_err());
        assert!(parse_values("5..500", 1).is_err());
        assert!(parse_values("", 3).is_err());
    }
}
