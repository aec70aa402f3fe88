//! Scenario TOML through parsing and validation: any text gives a scenario or an error,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = burnrate_sim::Scenario::from_toml("fuzz.toml", text);
    }
});
