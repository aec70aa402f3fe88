//! `burnrate shard` and `burnrate merge`: split a large run across machines with any job-array
//! engine (Kubernetes Indexed Jobs, Slurm arrays, a CI matrix) and merge exactly: the merged
//! result equals the single-machine result bit for bit.

use crate::cmd::simulate::{Format, RunArgs, load_scenario};
use crate::{CliError, CliResult};
use anyhow::{Context, anyhow};
use burnrate_sim::{RunOptions, ShardSummary};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ShardArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// This shard's index, from 0 (e.g. `$JOB_COMPLETION_INDEX` or `$SLURM_ARRAY_TASK_ID`).
    #[arg(long)]
    pub index: u32,
    /// Number of shards.
    #[arg(long)]
    pub count: u32,
    /// Where to write the shard's summary (JSON).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The scenario the shards ran, with the same --replicas/--days/--seed.
    pub scenario: PathBuf,
    /// Shard summaries written by `burnrate shard`, in any order.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the HTML report and charts to this directory.
    #[arg(long = "out-dir")]
    pub out_dir: Option<PathBuf>,
}

fn options(run: &RunArgs) -> RunOptions {
    RunOptions {
        replicas: run.replicas,
        days: run.days,
        seed: run.seed,
        threads: run.threads,
        ..Default::default()
    }
}

pub fn run_shard(args: ShardArgs) -> CliResult {
    let (scenario, _) = load_scenario(&args.scenario)?;
    if args.run.precision.is_some() {
        // Shards are fixed replica ranges; a precision target needs the merged result.
        return Err(CliError::BadInput(anyhow!(
            "--precision does not apply to shards: give --replicas"
        )));
    }
    if args.count == 0 || args.index >= args.count {
        return Err(CliError::BadInput(anyhow!(
            "--index must be below --count, got {}/{}",
            args.index,
            args.count
        )));
    }
    let shard = burnrate_sim::simulate_shard(
        &scenario,
        &options(&args.run),
        args.index,
        args.count,
        &|| {},
    )
    .map_err(|e| CliError::BadInput(e.into()))?;
    let json = serde_json::to_vec(&shard).context("serialising the shard")?;
    // Write then rename, so a job killed mid-write leaves no half shard behind.
    let tmp = args.out.with_extension("partial");
    std::fs::write(&tmp, json).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if !args.run.quiet {
        eprintln!(
            "shard {}/{}: replicas {}..{} written to {}",
            args.index,
            args.count,
            shard.first_replica,
            shard.end_replica,
            args.out.display()
        );
    }
    Ok(())
}

pub fn run_merge(args: MergeArgs) -> CliResult {
    let (scenario, _) = load_scenario(&args.scenario)?;
    let mut shards = Vec::with_capacity(args.shards.len());
    for path in &args.shards {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read {}", path.display()))
            .map_err(CliError::BadInput)?;
        let shard: ShardSummary = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a burnrate shard summary", path.display()))
            .map_err(CliError::BadInput)?;
        shards.push(shard);
    }
    let result = burnrate_sim::merge_shards(&scenario, &options(&args.run), shards)
        .map_err(|e| CliError::BadInput(e.into()))?;
    crate::cmd::simulate::report(&result, args.format, args.out_dir.as_deref())
}
