//! Every shipped scenario's result, snapshotted: an engine refactor must not move a single byte
//! (issue 8). A change that is meant to move numbers updates these with `cargo insta review`
//! (or `INSTA_UPDATE=always`), and the diff shows exactly which figures moved.

use crate::{run_with, scenario, shipped};
use burnrate_sim::RunOptions;

#[test]
fn every_shipped_scenario_is_unchanged() {
    let dir = format!("{}/../scenarios", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "scenarios found: {names:?}");
    // Small enough for a debug build, large enough that every policy is exercised.
    let options = RunOptions {
        replicas: Some(3),
        days: Some(2),
        seed: None,
        threads: Some(2),
        ..RunOptions::default()
    };
    for name in names {
        let result = run_with(&scenario(&shipped(&name)), &options);
        let json = serde_json::to_string_pretty(&result).unwrap();
        insta::assert_snapshot!(name.trim_end_matches(".toml"), json);
    }
}
