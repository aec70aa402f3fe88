//! `burnrate`: one thin binary over the library crates. Each subcommand lives in `cmd/`; this
//! file parses arguments and maps errors to exit codes:
//! 0 success, 1 a check that did not hold, 2 bad input (arguments, scenario, config), 3 anything
//! else (IO, network, internal).

mod asof;
mod cmd;
mod error;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use error::CliError;
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
    #[command(after_help = cmd::examples::SIMULATE)]
    Simulate(cmd::simulate::Args),
    /// List the built-in price catalog (or a scenario's, with its overrides).
    #[command(after_help = cmd::examples::CATALOG)]
    Catalog(cmd::catalog::Args),
    /// The article's four levers as a waterfall: naive POC, then routing, caching, budgets,
    /// batching switched on in turn.
    #[command(after_help = cmd::examples::LEVERS)]
    Levers(cmd::levers::Args),
    /// Cost and budget-breach probability against one parameter.
    #[command(after_help = cmd::examples::SWEEP)]
    Sweep(cmd::sweep::Args),
    /// Two scenarios side by side, on the same seed.
    #[command(after_help = cmd::examples::COMPARE)]
    Compare(cmd::compare::Args),
    /// The CI budget gate: exit 0 when the budget holds, 1 when it does not, 2 on bad input.
    #[command(after_help = cmd::examples::CHECK)]
    Check(cmd::check::Args),
    /// Run shard i of N of a simulation (for job arrays); `merge` combines the shards.
    #[command(after_help = cmd::examples::SHARD)]
    Shard(cmd::shard::ShardArgs),
    /// Merge shard summaries into exactly the single-machine result.
    #[command(after_help = cmd::examples::MERGE)]
    Merge(cmd::shard::MergeArgs),
    /// Run the mock OpenAI- and Anthropic-compatible provider.
    #[command(after_help = cmd::examples::MOCK)]
    Mock(cmd::mock::Args),
    /// Play a scenario's traffic against an OpenAI/Anthropic-compatible endpoint and compare
    /// measured cost with the prediction.
    #[command(after_help = cmd::examples::DRIVE)]
    Drive(cmd::drive::Args),
    /// Fit a scenario from traces (OTLP GenAI/OpenInference, LiteLLM spend logs) or usage logs.
    #[command(after_help = cmd::examples::CALIBRATE)]
    Calibrate(cmd::calibrate::Args),
    /// Shell completions for bash, zsh or fish, on stdout.
    #[command(after_help = cmd::examples::COMPLETIONS)]
    Completions(cmd::shell::CompletionsArgs),
    /// The man page (roff) of burnrate or of one subcommand, on stdout.
    #[command(after_help = cmd::examples::MAN)]
    Man(cmd::shell::ManArgs),
}

/// `--version`: the crate's version, the date of the built-in price catalog (its newest
/// entry), since prices are what go stale, and the git commit it was built from (build.rs).
fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        let catalog = burnrate_sim::Catalog::builtin();
        let date = catalog
            .models()
            .map(|m| m.as_of.as_str())
            .max()
            .unwrap_or("unknown");
        format!(
            "{} (price catalog of {date}, commit {})",
            env!("CARGO_PKG_VERSION"),
            env!("BURNRATE_GIT_COMMIT")
        )
    })
}

/// The CLI definition with the runtime version string (for parsing, completions and man).
fn cli_command() -> clap::Command {
    Cli::command().version(version())
}

fn main() -> ExitCode {
    let cli = Cli::from_arg_matches(&cli_command().get_matches()).unwrap_or_else(|e| e.exit());
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
        Command::Completions(args) => cmd::shell::run_completions(args, cli_command()),
        Command::Man(args) => cmd::shell::run_man(args, cli_command()),
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
