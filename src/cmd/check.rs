//! `burnrate check`: the CI budget gate. Exit 0 when every threshold holds on its 95% interval,
//! 1 when one breaches or the run cannot tell yet (inconclusive; 0 with `--inconclusive-ok`),
//! 2 on bad input. Writes Markdown (default), JSON or JUnit XML, and appends the Markdown to
//! `$GITHUB_STEP_SUMMARY`.

use crate::cmd::simulate::{RunArgs, Searches, load_scenario, parse_fraction, run_scenario_until};
use crate::error::{CliError, CliResult};
use anyhow::{Context, anyhow};
use burnrate_reports::{CheckSpec, Verdict};
use burnrate_sim::SimResult;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Md,
    Json,
    Junit,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// The daily budget in USD the chosen percentile of daily cost must stay under (default:
    /// the scenario's [budget] daily_usd).
    #[arg(long)]
    pub daily_budget: Option<f64>,
    /// Highest acceptable share of days over the budget.
    #[arg(long, default_value_t = 0.05)]
    pub max_breach_probability: f64,
    /// Percentile of daily cost compared with the budget (any in (0, 100]).
    #[arg(long, default_value_t = 95.0)]
    pub percentile: f64,
    /// A `result.json` written by `simulate --out DIR`: also fail when p95 daily cost rose by
    /// more than --max-increase over it, beyond noise.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Largest acceptable rise of p95 daily cost over --baseline, e.g. `10%`.
    #[arg(long, value_parser = parse_fraction, default_value = "10%", requires = "baseline")]
    pub max_increase: f64,
    /// Exit 0 when the run cannot tell yet (inconclusive) instead of 1.
    #[arg(long)]
    pub inconclusive_ok: bool,
    /// Output on stdout: Markdown, the outcome as JSON, or JUnit XML (one test case per
    /// threshold) for CI test reports.
    #[arg(long, value_enum, default_value_t = CheckFormat::Md)]
    pub format: CheckFormat,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: Args) -> CliResult {
    if let Some(b) = args.daily_budget
        && !(b.is_finite() && b >= 0.0)
    {
        return Err(CliError::BadInput(anyhow!(
            "--daily-budget must be a non-negative amount, got {b}"
        )));
    }
    if !(0.0..=1.0).contains(&args.max_breach_probability) {
        return Err(CliError::BadInput(anyhow!(
            "--max-breach-probability must be between 0 and 1, got {}",
            args.max_breach_probability
        )));
    }
    if !(args.percentile > 0.0 && args.percentile <= 100.0) {
        return Err(CliError::BadInput(anyhow!(
            "--percentile must be in (0, 100], got {}",
            args.percentile
        )));
    }
    let (mut scenario, _) = load_scenario(&args.scenario)?;
    let daily_budget = match (args.daily_budget, scenario.daily_budget_pusd) {
        (Some(b), _) => b,
        (None, Some(pusd)) => burnrate_sim::pusd_to_usd(u128::from(pusd)),
        (None, None) => {
            return Err(CliError::BadInput(anyhow!(
                "{}: no --daily-budget given and the scenario has no [budget] daily_usd",
                args.scenario.display()
            )));
        }
    };
    // Breach probability is measured against the budget checked here.
    scenario.daily_budget_pusd = burnrate_sim::usd_to_pusd(daily_budget);
    let baseline = match &args.baseline {
        Some(path) => Some((read_baseline(path)?, args.max_increase)),
        None => None,
    };
    let spec = CheckSpec {
        daily_budget,
        max_breach_probability: args.max_breach_probability,
        percentile: args.percentile,
        baseline,
    };
    // With --precision, keep adding replicas until the gate can tell as well.
    let conclusive =
        |r: &SimResult| burnrate_reports::check(r, &spec).verdict != Verdict::Inconclusive;
    let result = run_scenario_until(&scenario, &args.run, Some(&conclusive), Searches::Skip)?;
    let outcome = burnrate_reports::check(&result, &spec);
    let markdown = burnrate_reports::check_markdown(&result, &outcome);
    let out = match args.format {
        CheckFormat::Md => markdown.clone(),
        CheckFormat::Json => burnrate_reports::check_json(&outcome),
        CheckFormat::Junit => burnrate_reports::check_junit(&outcome, args.inconclusive_ok),
    };
    super::print(&out);
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "cannot open $GITHUB_STEP_SUMMARY ({})",
                    path.to_string_lossy()
                )
            })?;
        writeln!(file, "{markdown}").context("cannot write $GITHUB_STEP_SUMMARY")?;
    }
    if let Some(problem) = &outcome.problem {
        return Err(CliError::BadInput(anyhow!("{problem}")));
    }
    match outcome.verdict {
        Verdict::Holds => Ok(()),
        Verdict::Inconclusive if args.inconclusive_ok => Ok(()),
        Verdict::Inconclusive | Verdict::Breaches => Err(CliError::CheckFailed),
    }
}

fn read_baseline(path: &std::path::Path) -> Result<SimResult, CliError> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read baseline {}", path.display()))
        .map_err(CliError::BadInput)?;
    serde_json::from_str(&text)
        .with_context(|| {
            format!(
                "{} is not a burnrate result.json (written by simulate --out DIR)",
                path.display()
            )
        })
        .map_err(CliError::BadInput)
}
