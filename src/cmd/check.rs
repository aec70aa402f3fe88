//! `burnrate check`: the CI budget gate. Exit 0 when the budget holds, 1 when it does not,
//! 2 on bad input. Prints the Markdown verdict and appends it to `$GITHUB_STEP_SUMMARY`.

use crate::cmd::simulate::{RunArgs, load_scenario, run_scenario};
use crate::error::{CliError, CliResult};
use anyhow::{Context, anyhow};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// The daily budget in USD the chosen percentile of daily cost must stay under.
    #[arg(long)]
    pub daily_budget: f64,
    /// Highest acceptable share of days over the budget.
    #[arg(long, default_value_t = 0.05)]
    pub max_breach_probability: f64,
    /// Percentile of daily cost compared with the budget (50, 95 or 99, or any in (0, 100]).
    #[arg(long, default_value_t = 95.0)]
    pub percentile: f64,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: Args) -> CliResult {
    if !(args.daily_budget.is_finite() && args.daily_budget >= 0.0) {
        return Err(CliError::BadInput(anyhow!(
            "--daily-budget must be a non-negative amount, got {}",
            args.daily_budget
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
    // Breach probability is measured against the budget given here.
    scenario.daily_budget_pusd = burnrate_sim::usd_to_pusd(args.daily_budget);
    let result = run_scenario(&scenario, &args.run)?;
    let (holds, markdown) = burnrate_reports::check_markdown(
        &result,
        args.daily_budget,
        args.max_breach_probability,
        args.percentile,
    );
    super::print(&markdown);
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
    if holds {
        Ok(())
    } else {
        Err(CliError::CheckFailed)
    }
}
