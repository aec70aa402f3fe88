//! `burnrate levers`: the article's four levers as a waterfall, from the naive POC to the
//! scenario as written, every variant on the same seed.

use crate::cmd::simulate::{RunArgs, load_scenario, run_scenario_costs};
use crate::error::{CliError, CliResult};
use anyhow::Context;
use burnrate_reports::LeverStep;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
    #[arg(long, value_enum, default_value_t = super::OutputFormat::Text)]
    pub format: super::OutputFormat,
    /// Also write the waterfall chart (SVG, PNG), Markdown and JSON to this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> CliResult {
    let (scenario, _) = load_scenario(&args.scenario)?;
    let mut steps: Vec<LeverStep> = Vec::new();
    let mut previous: Option<f64> = None;
    for (name, variant) in burnrate_sim::lever_variants(&scenario) {
        let result = run_scenario_costs(&variant, &args.run)?;
        let p50 = result.cost_usd.per_day.p50;
        let (saving_usd, saving_percent) = match previous {
            Some(prev) if prev > 0.0 => (prev - p50, (prev - p50) / prev * 100.0),
            Some(prev) => (prev - p50, 0.0),
            None => (0.0, 0.0),
        };
        previous = Some(p50);
        steps.push(LeverStep {
            name: name.to_string(),
            p50_usd_per_day: p50,
            p95_usd_per_day: result.cost_usd.per_day.p95,
            saving_usd,
            saving_percent,
        });
    }
    let budget = scenario
        .daily_budget_pusd
        .map(|b| burnrate_sim::pusd_to_usd(u128::from(b)));
    if let Some(dir) = &args.out {
        burnrate_reports::write_levers_dir(&steps, budget, dir)
            .with_context(|| format!("cannot write to {}", dir.display()))
            .map_err(CliError::Other)?;
    }
    let out = match args.format {
        super::OutputFormat::Text => burnrate_reports::levers_text(&steps),
        super::OutputFormat::Json => burnrate_reports::levers_json(&steps),
        super::OutputFormat::Md => burnrate_reports::levers_markdown(&steps),
    };
    super::print(&out);
    Ok(())
}
