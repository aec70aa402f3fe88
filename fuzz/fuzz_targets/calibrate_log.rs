//! `burnrate calibrate`'s request-log parser and fit: any log text gives observations and a
//! calibration or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(obs) = burnrate_sim::parse_log(text)
        && let Ok(cal) = burnrate_sim::calibrate(&obs, &burnrate_sim::Catalog::builtin())
    {
        let _ = cal.to_scenario_toml("fuzz");
    }
});
