//! burnrate-sim's integration tests: one binary, one module per concern.

mod arithmetic;
mod billing;
mod capacity;
mod catalog;
mod errors;
mod fuzz_corpus;
mod intervals;
mod laws;
mod properties;
mod ratelimits;
mod scenarios;
mod shards;
mod tiers;
mod traces;

use burnrate_sim::{RunOptions, Scenario, SimResult, simulate};

/// A `[failures]` table with every failure off, for cases derived by hand.
pub const NO_FAILURES: &str =
    "[failures]\nmalformed = 0\ntool_error = 0\nrate_limit = 0\nserver_error = 0\ntimeout = 0";

pub fn scenario(text: &str) -> Scenario {
    Scenario::from_toml("test.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

pub fn run(text: &str) -> SimResult {
    run_with(&scenario(text), &RunOptions::default())
}

pub fn run_with(sc: &Scenario, options: &RunOptions) -> SimResult {
    simulate(sc, options, &|| {}).expect("simulation runs")
}

pub fn shipped(name: &str) -> String {
    let path = format!("{}/../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Asserts two dollar figures are equal to the pico-dollar (results are exact integers
/// converted to f64 once).
#[track_caller]
pub fn assert_usd(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "expected ${expected}, got ${actual}"
    );
}
