//! The fuzz targets' checked-in corpus replayed on stable in every `cargo test`: what CI runs
//! instead of nightly cargo-fuzz (`scripts/fuzz` runs the real fuzzer for as long as asked).
//! The target bodies are the fuzz crate's own (`fuzz/fuzz_targets/common.rs`), included here,
//! so a replay checks exactly what a fuzzing run checks: no 5xx, JSON error bodies, no panic.

#[path = "../../../fuzz/fuzz_targets/common.rs"]
#[allow(dead_code, unreachable_pub)]
mod fuzz_common;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "{}: an empty corpus replays nothing",
        dir.display()
    );
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn router_bodies_corpus_replays_without_a_failure() {
    let inputs = corpus("router_bodies");
    // Every endpoint is reached by some input, or the replay would test less than it claims.
    let reached: std::collections::BTreeSet<usize> = inputs
        .iter()
        .filter_map(|d| {
            d.first()
                .map(|&b| b as usize % fuzz_common::ENDPOINTS.len())
        })
        .collect();
    assert!(reached.len() >= 5, "corpus reaches endpoints {reached:?}");
    for data in &inputs {
        fuzz_common::router_body(data);
    }
}

#[test]
fn tool_schemas_corpus_replays_without_a_failure() {
    for data in corpus("tool_schemas") {
        fuzz_common::tool_schema(&data);
    }
}
