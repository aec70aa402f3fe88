//! Split a run across machines and merge it exactly: shard `i` of `n` runs a contiguous range
//! of replica indices (each replica's RNG depends only on the seed and its index), and merging
//! the shards' summaries in index order gives bit for bit the single-machine result.

use crate::model::Scenario;
use crate::replicas::{SimError, run_summary};
use crate::result::SimResult;
use crate::run::{RunOptions, build_result, scenario_hash, with_options};
use crate::tally::Tally;
use serde::{Deserialize, Serialize};

/// One shard's mergeable summary, as written by `burnrate shard` and read by `burnrate merge`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardSummary {
    /// Format version of this file.
    pub version: u32,
    /// Hash of the scenario as run (overrides applied); shards of other scenarios do not merge.
    pub scenario_hash: String,
    pub index: u32,
    pub count: u32,
    /// Replica indices this shard ran: `first..end`.
    pub first_replica: u32,
    pub end_replica: u32,
    summary: Tally,
}

/// 2: summaries carry per-replica quantiles (for intervals).
const VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no shards to merge")]
    Empty,
    #[error("shard {index}/{count}: version {version} is not supported (expected {VERSION})")]
    Version {
        index: u32,
        count: u32,
        version: u32,
    },
    #[error(
        "shard {index}/{count} is of another scenario or options (hash {found}, expected {expected})"
    )]
    Scenario {
        index: u32,
        count: u32,
        found: String,
        expected: String,
    },
    #[error("shard {index} says there are {found} shards, others say {expected}")]
    Count {
        index: u32,
        found: u32,
        expected: u32,
    },
    #[error("shard {0} appears twice")]
    Duplicate(u32),
    #[error("shards missing: {0:?} (every index from 0 to count - 1 is needed)")]
    Missing(Vec<u32>),
    #[error("shard {index}: replicas {first}..{end} do not match this scenario's split")]
    Range { index: u32, first: u32, end: u32 },
}

/// Replica range of shard `index` of `count` out of `replicas`: contiguous, as even as possible.
fn range(replicas: u32, index: u32, count: u32) -> std::ops::Range<u32> {
    let at = |i: u32| (u64::from(replicas) * u64::from(i) / u64::from(count)) as u32;
    at(index)..at(index + 1)
}

/// Runs shard `index` (0-based) of `count`.
pub fn simulate_shard(
    scenario: &Scenario,
    options: &RunOptions,
    index: u32,
    count: u32,
    on_replica_done: &(dyn Fn() + Sync),
) -> Result<ShardSummary, SimError> {
    if count == 0 || index >= count {
        return Err(SimError::InvalidOption(format!(
            "shard index must be below the shard count, got {index}/{count}"
        )));
    }
    let sc = with_options(scenario, options)?;
    let replicas = range(sc.horizon.replicas, index, count);
    let summary = run_summary(&sc, replicas.clone(), options.threads, on_replica_done)?;
    Ok(ShardSummary {
        version: VERSION,
        scenario_hash: scenario_hash(&sc),
        index,
        count,
        first_replica: replicas.start,
        end_replica: replicas.end,
        summary,
    })
}

/// Merges every shard of a run (any order) into the result the whole run gives on one machine.
pub fn merge_shards(
    scenario: &Scenario,
    options: &RunOptions,
    mut shards: Vec<ShardSummary>,
) -> Result<SimResult, MergeError> {
    let sc = with_options(scenario, options).map_err(|_| MergeError::Empty)?;
    let expected = scenario_hash(&sc);
    let count = shards.first().ok_or(MergeError::Empty)?.count;
    for s in &shards {
        if s.version != VERSION {
            return Err(MergeError::Version {
                index: s.index,
                count: s.count,
                version: s.version,
            });
        }
        if s.scenario_hash != expected {
            return Err(MergeError::Scenario {
                index: s.index,
                count: s.count,
                found: s.scenario_hash.clone(),
                expected: expected.clone(),
            });
        }
        if s.count != count {
            return Err(MergeError::Count {
                index: s.index,
                found: s.count,
                expected: count,
            });
        }
        let r = range(sc.horizon.replicas, s.index, count);
        if (s.first_replica, s.end_replica) != (r.start, r.end) {
            return Err(MergeError::Range {
                index: s.index,
                first: s.first_replica,
                end: s.end_replica,
            });
        }
    }
    shards.sort_by_key(|s| s.index);
    for pair in shards.windows(2) {
        if pair[0].index == pair[1].index {
            return Err(MergeError::Duplicate(pair[0].index));
        }
    }
    let missing: Vec<u32> = (0..count)
        .filter(|i| shards.binary_search_by_key(i, |s| s.index).is_err())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing(missing));
    }
    let mut merged: Option<Tally> = None;
    for s in &shards {
        match &mut merged {
            None => merged = Some(s.summary.clone()),
            Some(m) => m.merge(&s.summary),
        }
    }
    Ok(build_result(&sc, &merged.expect("at least one shard")))
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn ranges_cover_every_replica_once() {
        for (replicas, count) in [(7, 3), (1, 1), (100, 8), (3, 5)] {
            let mut next = 0;
            for i in 0..count {
                let r = range(replicas, i, count);
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, replicas);
        }
    }
}
