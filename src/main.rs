//! `burnrate`: one thin binary over the library crates. Each subcommand lives in `cmd/`; this
//! file parses arguments and maps errors to exit codes:
//! 0 success, 1 a check that did not hold, 2 bad input (arguments, scenario, config), 3 anything
//! else (IO, network, internal).

mod asof;
mod cmd;
mod fetch;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// What will this AI agent really cost? A Monte Carlo simulator of agent traffic and a mock
/// OpenAI/Anthropic provider.
#[derive(Debug, Parser)]
#[command(name = "burnrate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a scenario and report cost, budget, cache, routing and latency distributions.
    Simulate(cmd::simulate::Args),
    /// List the built-in price catalog (or a scenario's, with its overrides).
    Catalog(cmd::catalog::Args),
    /// The article's four levers as a waterfall: naive POC, then routing, caching, budgets,
    /// batching switched on in turn.
    Levers(cmd::levers::Args),
    /// Cost and budget-breach probability against one parameter.
    Sweep(cmd::sweep::Args),
    /// Two scenarios side by side, on the same seed.
    Compare(cmd::compare::Args),
    /// The CI budget gate: exit 0 when the budget holds, 1 when it does not, 2 on bad input.
    Check(cmd::check::Args),
    /// Run shard i of N of a simulation (for job arrays); `merge` combines the shards.
    Shard(cmd::shard::ShardArgs),
    /// Merge shard summaries into exactly the single-machine result.
    Merge(cmd::shard::MergeArgs),
    /// Run the mock OpenAI- and Anthropic-compatible provider.
    Mock(cmd::mock::Args),
    /// Play a scenario's traffic against an OpenAI/Anthropic-compatible endpoint and compare
    /// measured cost with the prediction.
    Drive(cmd::drive::Args),
    /// Fit a scenario from usage logs (the mock's request log, OpenAI or Anthropic usage).
    Calibrate(cmd::calibrate::Args),
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments, scenario or config: exit 2.
    BadInput(anyhow::Error),
    /// A gate that did not hold (e.g. `check`): exit 1. The verdict was already printed.
    CheckFailed,
    /// IO, network or internal failure: exit 3.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for CliError {
    fn from(err: anyhow::Error) -> Self {
        CliError::Other(err)
    }
}

pub type CliResult = Result<(), CliError>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Catalog(args) => cmd::catalog::run(args),
        Command::Levers(args) => cmd::levers::run(args),
        Command::Sweep(args) => cmd::sweep::run(args),
        Command::Compare(args) => cmd::compare::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Shard(args) => cmd::shard::run_shard(args),
        Command::Merge(args) => cmd::shard::run_merge(args),
        Command::Mock(args) => cmd::mock::run(args),
        Command::Drive(args) => cmd::drive::run(args),
        Command::Calibrate(args) => cmd::calibrate::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::CheckFailed) => ExitCode::from(1),
        Err(CliError::BadInput(err)) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
        Err(CliError::Other(err)) => {
            eprintln!("error: {err:#}");
            ExitCode::from(3)
        }
    }
}
