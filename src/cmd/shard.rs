//! `burnrate shard` and `burnrate merge`: split a large run across machines with any job-array
//! engine (Kubernetes Indexed Jobs, Slurm arrays, a CI matrix) and merge exactly: the merged
//! result equals the single-machine result bit for bit.
//!
//! `shard` takes its index and count from flags or, when they are absent, from the engine's
//! environment ([`resolve_place`]), so the same command line runs unchanged in every task of an
//! array.

use crate::cmd::simulate::{Format, RunArgs, load_scenario};
use crate::error::{CliError, CliResult};
use anyhow::{Context, anyhow};
use burnrate_sim::{MergeError, RunOptions, ShardSummary};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct ShardArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// This shard's index, from 0. Default: from the job array's environment
    /// (`JOB_COMPLETION_INDEX`, `SLURM_ARRAY_TASK_ID`, or the variable named by --index-env).
    #[arg(long)]
    pub index: Option<u32>,
    /// Number of shards. Default: `BURNRATE_SHARDS`, or `SLURM_ARRAY_TASK_COUNT` in a Slurm
    /// array.
    #[arg(long)]
    pub count: Option<u32>,
    /// Read the index from this environment variable (a CI matrix's, e.g. `SHARD`).
    #[arg(long, value_name = "VAR", conflicts_with = "index")]
    pub index_env: Option<String>,
    /// Where to write the shard's summary (JSON). A directory (existing, or a path ending in
    /// `/`) gets `shard-IIII-of-NNNN.json`, which `merge DIR` reads.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The scenario the shards ran, with the same --replicas/--days/--seed.
    pub scenario: PathBuf,
    /// Shard summaries written by `burnrate shard`, in any order, or directories of them (every
    /// `*.json` file inside).
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the HTML report, charts, Markdown, JSON and CSV to this directory.
    #[arg(long, alias = "out-dir")]
    pub out: Option<PathBuf>,
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

/// Where a shard sits in its array, and where that came from (for the log line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub index: u32,
    pub count: u32,
    pub source: String,
}

const NO_INDEX: &str = "no shard index: pass --index I --count N, or run inside a job array \
(Kubernetes: JOB_COMPLETION_INDEX with --count or BURNRATE_SHARDS; Slurm: SLURM_ARRAY_TASK_ID \
and SLURM_ARRAY_TASK_COUNT), or name the CI matrix's index variable with --index-env VAR";

/// Resolves the shard's index and count from flags, then the environment (`env` looks a
/// variable up; injected for tests): `--index-env VAR`, Kubernetes' `JOB_COMPLETION_INDEX`,
/// Slurm's `SLURM_ARRAY_TASK_ID` (minus `SLURM_ARRAY_TASK_MIN`, divided by
/// `SLURM_ARRAY_TASK_STEP`). The count comes from `--count`, else `BURNRATE_SHARDS`, else (in
/// Slurm) `SLURM_ARRAY_TASK_COUNT`.
pub fn resolve_place(
    index: Option<u32>,
    count: Option<u32>,
    index_env: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Place, String> {
    let number = |name: &str| -> Result<Option<u32>, String> {
        match env(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<u32>().map(Some).map_err(|_| {
                format!("{name}={v:?} is not a non-negative whole number (a shard index or count)")
            }),
        }
    };
    let shards_env = || -> Result<Option<(u32, String)>, String> {
        Ok(number("BURNRATE_SHARDS")?.map(|n| (n, format!("BURNRATE_SHARDS={n}"))))
    };
    let count_or = |fallback: Option<(u32, String)>| -> Result<(u32, String), String> {
        if let Some(n) = count {
            return Ok((n, format!("--count {n}")));
        }
        if let Some(found) = shards_env()? {
            return Ok(found);
        }
        fallback.ok_or_else(|| {
            "the shard count is missing: pass --count N or set BURNRATE_SHARDS".to_string()
        })
    };
    let (index, (count, count_source), index_source) = if let Some(i) = index {
        (i, count_or(None)?, format!("--index {i}"))
    } else if let Some(var) = index_env {
        let i = number(var)?.ok_or_else(|| format!("--index-env {var}: {var} is not set"))?;
        (i, count_or(None)?, format!("{var}={i}"))
    } else if let Some(i) = number("JOB_COMPLETION_INDEX")? {
        (i, count_or(None)?, format!("JOB_COMPLETION_INDEX={i}"))
    } else if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
        let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        if id < min || (id - min) % step != 0 {
            return Err(format!(
                "SLURM_ARRAY_TASK_ID={id} is not on the array's grid (min {min}, step {step})"
            ));
        }
        let slurm_count =
            number("SLURM_ARRAY_TASK_COUNT")?.map(|n| (n, format!("SLURM_ARRAY_TASK_COUNT={n}")));
        if let (Some(max), Some((n, _))) = (number("SLURM_ARRAY_TASK_MAX")?, &slurm_count)
            && max >= min
            && (max - min) / step + 1 != *n
        {
            return Err(format!(
                "the Slurm array is not contiguous ({n} tasks between {min} and {max} with \
                 step {step}): submit it as --array=0-{}",
                n - 1
            ));
        }
        let i = (id - min) / step;
        (
            i,
            count_or(slurm_count)?,
            format!("SLURM_ARRAY_TASK_ID={id}, SLURM_ARRAY_TASK_MIN={min}"),
        )
    } else {
        return Err(NO_INDEX.to_string());
    };
    if count == 0 || index >= count {
        return Err(format!(
            "the shard index must be below the shard count, got index {index} ({index_source}) \
             and count {count} ({count_source})"
        ));
    }
    Ok(Place {
        index,
        count,
        source: format!("{index_source}; {count_source}"),
    })
}

/// The shard file's path: `out` itself, or `out/shard-IIII-of-NNNN.json` when `out` is a
/// directory (or ends with a separator).
fn shard_path(out: &Path, place: &Place) -> PathBuf {
    let is_dir = out.is_dir() || out.as_os_str().to_string_lossy().ends_with(['/', '\\']);
    if is_dir {
        out.join(format!(
            "shard-{:04}-of-{:04}.json",
            place.index, place.count
        ))
    } else {
        out.to_path_buf()
    }
}

pub fn run_shard(args: ShardArgs) -> CliResult {
    let place = resolve_place(args.index, args.count, args.index_env.as_deref(), &|name| {
        std::env::var(name).ok()
    })
    .map_err(|e| CliError::BadInput(anyhow!(e)))?;
    let (scenario, _) = load_scenario(&args.scenario)?;
    if args.run.precision.is_some() {
        // Shards are fixed replica ranges; a precision target needs the merged result.
        return Err(CliError::BadInput(anyhow!(
            "--precision does not apply to shards: give --replicas"
        )));
    }
    let shard = burnrate_sim::simulate_shard(
        &scenario,
        &options(&args.run),
        place.index,
        place.count,
        &|| {},
    )
    .map_err(|e| CliError::BadInput(e.into()))?;
    let json = serde_json::to_vec(&shard).context("serialising the shard")?;
    let path = shard_path(&args.out, &place);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Write then rename, so a job killed mid-write leaves no half shard behind (`merge DIR`
    // only reads `*.json`).
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, json).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    if !args.run.quiet {
        eprintln!(
            "shard {}/{} ({}): replicas {}..{} written to {}",
            place.index,
            place.count,
            place.source,
            shard.first_replica,
            shard.end_replica,
            path.display()
        );
    }
    Ok(())
}

/// The shard files named on the command line: files as given, directories expanded to their
/// `*.json` files (sorted, so errors are reproducible).
fn shard_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .with_context(|| format!("cannot read the directory {}", path.display()))
                .map_err(CliError::BadInput)?;
            let mut found = Vec::new();
            for entry in entries {
                let entry = entry
                    .with_context(|| format!("cannot read the directory {}", path.display()))
                    .map_err(CliError::BadInput)?;
                let p = entry.path();
                if p.is_file() && p.extension().is_some_and(|e| e == "json") {
                    found.push(p);
                }
            }
            if found.is_empty() {
                return Err(CliError::BadInput(anyhow!(
                    "{} holds no shard files (*.json)",
                    path.display()
                )));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

pub fn run_merge(args: MergeArgs) -> CliResult {
    let (scenario, _) = load_scenario(&args.scenario)?;
    let files = shard_files(&args.shards)?;
    let mut shards = Vec::with_capacity(files.len());
    let mut by_index: BTreeMap<u32, &Path> = BTreeMap::new();
    for path in &files {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read {}", path.display()))
            .map_err(CliError::BadInput)?;
        let shard: ShardSummary = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a burnrate shard summary", path.display()))
            .map_err(CliError::BadInput)?;
        if let Some(first) = by_index.insert(shard.index, path) {
            return Err(CliError::BadInput(anyhow!(
                "shard {} appears twice: {} and {}",
                shard.index,
                first.display(),
                path.display()
            )));
        }
        shards.push(shard);
    }
    let file_of = |index: u32| {
        by_index
            .get(&index)
            .map_or_else(String::new, |p| p.display().to_string())
    };
    let result =
        burnrate_sim::merge_shards(&scenario, &options(&args.run), shards).map_err(|e| {
            CliError::BadInput(match e {
                MergeError::Scenario {
                    index,
                    count,
                    found,
                    expected,
                } => anyhow!(
                    "{}: shard {index}/{count} was run with another scenario or other options \
                 (seed, --replicas, --days) than this merge of {}: scenario hash {found}, \
                 expected {expected}",
                    file_of(index),
                    args.scenario.display()
                ),
                MergeError::Missing(missing) => anyhow!(
                    "shards missing: {missing:?} (found {} of the {} shards: {})",
                    by_index.len(),
                    by_index.len() + missing.len(),
                    by_index
                        .keys()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                MergeError::Version { index, .. }
                | MergeError::Range { index, .. }
                | MergeError::Count { index, .. } => anyhow!("{}: {e}", file_of(index)),
                other => other.into(),
            })
        })?;
    crate::cmd::simulate::report(&result, args.format, args.out.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn place(
        index: Option<u32>,
        count: Option<u32>,
        var: Option<&str>,
        vars: &[(&str, &str)],
    ) -> Result<(u32, u32), String> {
        resolve_place(index, count, var, &env(vars)).map(|p| (p.index, p.count))
    }

    #[test]
    fn flags_win_over_the_environment() {
        let vars = [("JOB_COMPLETION_INDEX", "3"), ("BURNRATE_SHARDS", "9")];
        assert_eq!(place(Some(1), Some(4), None, &vars), Ok((1, 4)));
        assert_eq!(place(Some(1), None, None, &vars), Ok((1, 9)));
    }

    #[test]
    fn kubernetes_index_with_count_from_flag_or_env() {
        assert_eq!(
            place(None, Some(4), None, &[("JOB_COMPLETION_INDEX", "3")]),
            Ok((3, 4))
        );
        assert_eq!(
            place(
                None,
                None,
                None,
                &[("JOB_COMPLETION_INDEX", "2"), ("BURNRATE_SHARDS", "5")]
            ),
            Ok((2, 5))
        );
        let err = place(None, None, None, &[("JOB_COMPLETION_INDEX", "2")]).unwrap_err();
        assert!(err.contains("BURNRATE_SHARDS"), "{err}");
    }

    #[test]
    fn slurm_ids_are_offset_by_the_array_minimum_and_step() {
        let vars = [
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_MAX", "8"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert_eq!(place(None, None, None, &vars), Ok((2, 4)));
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "9"),
            ("SLURM_ARRAY_TASK_STEP", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert_eq!(place(None, None, None, &stepped), Ok((2, 4)));
        let sparse = [
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "9"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        let err = place(None, None, None, &sparse).unwrap_err();
        assert!(err.contains("not contiguous"), "{err}");
    }

    #[test]
    fn a_matrix_variable_named_by_flag() {
        assert_eq!(
            place(None, Some(3), Some("SHARD"), &[("SHARD", "2")]),
            Ok((2, 3))
        );
        let err = place(None, Some(3), Some("SHARD"), &[]).unwrap_err();
        assert!(err.contains("SHARD is not set"), "{err}");
        let err = place(None, Some(3), Some("SHARD"), &[("SHARD", "x")]).unwrap_err();
        assert!(err.contains("not a non-negative whole number"), "{err}");
    }

    #[test]
    fn nothing_to_go_on_is_a_clear_error() {
        let err = place(None, None, None, &[]).unwrap_err();
        assert!(
            err.contains("--index I --count N") && err.contains("--index-env"),
            "{err}"
        );
        let err = place(None, Some(2), None, &[("JOB_COMPLETION_INDEX", "2")]).unwrap_err();
        assert!(err.contains("must be below the shard count"), "{err}");
    }
}
