//! `burnrate compare A B`: two scenarios side by side, on the same seed.

use crate::cmd::simulate::{RunArgs, load_scenario, run_scenario_costs};
use crate::error::CliResult;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The baseline scenario.
    pub a: PathBuf,
    /// The scenario compared with it.
    pub b: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
    #[arg(long, value_enum, default_value_t = super::OutputFormat::Text)]
    pub format: super::OutputFormat,
}

pub fn run(args: Args) -> CliResult {
    let (a, _) = load_scenario(&args.a)?;
    let (b, _) = load_scenario(&args.b)?;
    // Same seed for both unless the user set one: common random numbers.
    let mut run = args.run.clone();
    run.seed = Some(run.seed.unwrap_or(a.horizon.seed));
    let mut ra = run_scenario_costs(&a, &run)?;
    let mut rb = run_scenario_costs(&b, &run)?;
    // With --precision each may stop at a different count: rerun the shorter one to the longer's
    // replicas, so replica i of A pairs with replica i of B (paired intervals).
    if run.precision.is_some() && ra.replicas != rb.replicas {
        let fixed = RunArgs {
            replicas: Some(ra.replicas.max(rb.replicas)),
            precision: None,
            max_replicas: None,
            ..run.clone()
        };
        if ra.replicas < rb.replicas {
            ra = run_scenario_costs(&a, &fixed)?;
        } else {
            rb = run_scenario_costs(&b, &fixed)?;
        }
    }
    let out = match args.format {
        super::OutputFormat::Text => burnrate_reports::compare_text(&ra, &rb),
        super::OutputFormat::Json => burnrate_reports::compare_json(&ra, &rb),
        super::OutputFormat::Md => burnrate_reports::compare_markdown(&ra, &rb),
    };
    super::print(&out);
    Ok(())
}
