//! The `scenario_toml` and `calibrate_log` fuzz targets' checked-in corpus replayed on stable
//! in every `cargo test` (what CI runs instead of nightly cargo-fuzz; `scripts/fuzz` fuzzes
//! for as long as asked). Same calls as the targets in `fuzz/fuzz_targets/`: any input gives a
//! value or an error, never a panic.

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
fn scenario_toml_corpus_replays_without_a_panic() {
    let mut valid = 0;
    for data in corpus("scenario_toml") {
        if let Ok(text) = std::str::from_utf8(&data) {
            valid += usize::from(burnrate_sim::Scenario::from_toml("fuzz.toml", text).is_ok());
        }
    }
    // The seeds include shipped scenarios, so some inputs get past validation.
    assert!(valid > 0, "no corpus input was a valid scenario");
}

#[test]
fn calibrate_log_corpus_replays_without_a_panic() {
    for data in corpus("calibrate_log") {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        if let Ok(obs) = burnrate_sim::parse_log(text)
            && let Ok(cal) = burnrate_sim::calibrate(&obs, &burnrate_sim::Catalog::builtin())
        {
            let _ = cal.to_scenario_toml("fuzz");
        }
    }
}
