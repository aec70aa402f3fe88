//! `burnrate simulate`: run a scenario and report its distributions.

use crate::{CliError, CliResult};
use anyhow::Context;
use burnrate_sim::{RunOptions, Scenario, SimError, SimResult};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the HTML report, charts (SVG and PNG), Markdown, JSON and CSV to this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Horizon and execution options shared by every command that simulates.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Replicas (independent Monte Carlo runs of the whole horizon).
    #[arg(long)]
    pub replicas: Option<u32>,
    /// Simulated days per replica.
    #[arg(long)]
    pub days: Option<u32>,
    /// Seed; the same seed gives the same output whatever the thread count.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// The day retirements are judged at (YYYY-MM-DD; default: the scenario's `as_of`, else
    /// today, UTC). A retired model still runs, with a warning naming its successor.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Md,
    Csv,
}

/// Reads and validates a scenario file; errors are bad input (exit 2).
pub fn load_scenario(path: &Path) -> Result<(Scenario, String), CliError> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read scenario {}", path.display()))
        .map_err(CliError::BadInput)?;
    let scenario = Scenario::from_toml(&path.display().to_string(), &text)
        .map_err(|e| CliError::BadInput(e.into()))?;
    Ok((scenario, text))
}

/// Runs a scenario with a progress bar on stderr (hidden when stderr is not a terminal).
pub fn run_scenario(scenario: &Scenario, args: &RunArgs) -> Result<SimResult, CliError> {
    crate::asof::warn_retired(scenario, args.as_of.as_deref())?;
    let options = RunOptions {
        replicas: args.replicas,
        days: args.days,
        seed: args.seed,
        threads: args.threads,
    };
    let replicas = args.replicas.unwrap_or(scenario.horizon.replicas);
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(u64::from(replicas)),
            indicatif::ProgressDrawTarget::stderr(),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} simulating {pos}/{len} replicas [{elapsed_precise}] {wide_bar} eta {eta}",
            )
            .expect("static template"),
        );
        bar
    };
    let tick = || bar.inc(1);
    let result = burnrate_sim::simulate(scenario, &options, &tick).map_err(|e| match e {
        SimError::InvalidOption(_) => CliError::BadInput(e.into()),
        other => CliError::Other(other.into()),
    })?;
    bar.finish_and_clear();
    Ok(result)
}

pub fn run(args: Args) -> CliResult {
    let (scenario, _) = load_scenario(&args.scenario)?;
    let result = run_scenario(&scenario, &args.run)?;
    report(&result, args.format, args.out.as_deref())
}

/// Writes the report directory (when asked) and prints the result in `format`.
pub fn report(result: &SimResult, format: Format, out_dir: Option<&Path>) -> CliResult {
    if let Some(dir) = out_dir {
        burnrate_reports::write_report_dir(result, dir)
            .with_context(|| format!("cannot write the report to {}", dir.display()))?;
    }
    let out = match format {
        Format::Text => burnrate_reports::text(result),
        Format::Json => burnrate_reports::json(result),
        Format::Md => burnrate_reports::markdown(result),
        Format::Csv => burnrate_reports::csv(result)
            .into_iter()
            .find(|(name, _)| name == "summary.csv")
            .map(|(_, body)| body)
            .unwrap_or_default(),
    };
    super::print(&out);
    Ok(())
}
