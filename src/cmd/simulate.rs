//! `burnrate simulate`: run a scenario and report its distributions.

use crate::error::{CliError, CliResult};
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
    /// Run replicas in batches of 16 until the 95% interval of the p95 daily cost is within
    /// this of it, e.g. `1%` or `0.01` (`--replicas` is then the minimum).
    #[arg(long, value_parser = parse_fraction)]
    pub precision: Option<f64>,
    /// Cap on replicas for --precision (default 10000); the report says when it was hit.
    #[arg(long, requires = "precision")]
    pub max_replicas: Option<u32>,
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

/// A fraction written as a percentage (`1%`, `10%`) or a plain number (`0.01`).
pub fn parse_fraction(s: &str) -> Result<f64, String> {
    let (num, scale) = match s.trim().strip_suffix('%') {
        Some(n) => (n, 100.0),
        None => (s.trim(), 1.0),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("expected a percentage like 1% or a fraction like 0.01, got {s:?}"))?;
    let v = v / scale;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("must be a non-negative percentage, got {s:?}"));
    }
    Ok(v)
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
    run_scenario_until(scenario, args, None, Searches::Run)
}

/// Whether a run does the capacity searches (sustainable traffic, budget headroom): the
/// commands that report only costs skip them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Searches {
    Run,
    Skip,
}

/// [`run_scenario`] without the capacity searches (for check, compare, levers and sweep).
pub fn run_scenario_costs(scenario: &Scenario, args: &RunArgs) -> Result<SimResult, CliError> {
    run_scenario_until(scenario, args, None, Searches::Skip)
}

/// [`run_scenario`], and with `--precision` stopping when both the precision target is reached
/// and `also_done` (if any) accepts the result.
pub fn run_scenario_until(
    scenario: &Scenario,
    args: &RunArgs,
    also_done: Option<&dyn Fn(&SimResult) -> bool>,
    searches: Searches,
) -> Result<SimResult, CliError> {
    crate::asof::warn_retired(scenario, args.as_of.as_deref())?;
    let options = RunOptions {
        replicas: args.replicas,
        days: args.days,
        seed: args.seed,
        threads: args.threads,
        precision: args.precision,
        max_replicas: args.max_replicas,
        skip_capacity_searches: searches == Searches::Skip,
    };
    let replicas = args.replicas.unwrap_or(scenario.horizon.replicas);
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        // With a precision target the total is not known in advance.
        let len = args.precision.is_none().then_some(u64::from(replicas));
        let bar =
            indicatif::ProgressBar::with_draw_target(len, indicatif::ProgressDrawTarget::stderr());
        let template = if len.is_some() {
            "{spinner} simulating {pos}/{len} replicas [{elapsed_precise}] {wide_bar} eta {eta} {msg}"
        } else {
            "{spinner} simulating {pos} replicas until the target precision [{elapsed_precise}] {msg}"
        };
        bar.set_style(indicatif::ProgressStyle::with_template(template).expect("static template"));
        bar
    };
    let tick = || bar.inc(1);
    // The capacity and headroom searches run after the replicas: their probes and simulated
    // tasks, so a user sees what they cost.
    let probes = std::sync::atomic::AtomicU64::new(0);
    let probe_tasks = std::sync::atomic::AtomicU64::new(0);
    let probe_done = |tasks: u64| {
        use std::sync::atomic::Ordering::Relaxed;
        let n = probes.fetch_add(1, Relaxed) + 1;
        let t = probe_tasks.fetch_add(tasks, Relaxed) + tasks;
        bar.set_message(format!("| capacity searches: {n} probes, {t} tasks"));
    };
    let progress = burnrate_sim::Progress {
        replica_done: &tick,
        probe_done: &probe_done,
    };
    let outcome = match (args.precision, also_done) {
        (Some(target), Some(extra)) => burnrate_sim::simulate_until_with(
            scenario,
            &options,
            &|r| burnrate_sim::precision_reached(r, target) && extra(r),
            progress,
        ),
        _ => burnrate_sim::simulate_with(scenario, &options, progress),
    };
    let result = outcome.map_err(|e| match e {
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
