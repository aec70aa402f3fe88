//! Shards run on different machines merge to exactly the single-machine result.

use crate::{run_with, scenario, shipped};
use burnrate_sim::{MergeError, RunOptions, ShardSummary, merge_shards, simulate_shard};

fn through_json(s: ShardSummary) -> ShardSummary {
    serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap()
}

#[test]
fn merged_shards_equal_the_single_machine_run() {
    let sc = scenario(&shipped("support-agent.toml"));
    let options = RunOptions {
        replicas: Some(7),
        days: Some(3),
        seed: Some(4),
        threads: Some(2),
        ..Default::default()
    };
    let whole = serde_json::to_string(&run_with(&sc, &options)).unwrap();
    let shards: Vec<ShardSummary> = [2, 0, 1]
        .into_iter()
        .map(|i| through_json(simulate_shard(&sc, &options, i, 3, &|| {}).unwrap()))
        .collect();
    let merged = merge_shards(&sc, &options, shards.clone()).unwrap();
    assert_eq!(serde_json::to_string(&merged).unwrap(), whole);

    let err = merge_shards(&sc, &options, shards[..2].to_vec()).unwrap_err();
    assert!(
        matches!(err, MergeError::Missing(ref m) if m == &[1]),
        "{err}"
    );
    let mut dup = shards.clone();
    dup.push(shards[0].clone());
    assert!(matches!(
        merge_shards(&sc, &options, dup),
        Err(MergeError::Duplicate(2))
    ));
    let other = RunOptions {
        seed: Some(5),
        ..options.clone()
    };
    assert!(matches!(
        merge_shards(&sc, &other, shards),
        Err(MergeError::Scenario { .. })
    ));
    assert!(simulate_shard(&sc, &options, 3, 3, &|| {}).is_err());
}
