//! The day prices and retirements are judged at. The simulator reads no clock, so the binary
//! decides: `--as-of`, else the scenario's `as_of`, else today's UTC date.

use crate::CliError;
use burnrate_sim::{Scenario, is_iso_date};

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    date_of_unix_day((secs / 86_400) as i64)
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn date_of_unix_day(days: i64) -> String {
    burnrate_sim::civil_date(days)
}

/// The as-of date for `scenario`: the flag, else its `as_of`, else today.
pub fn resolve(scenario: Option<&Scenario>, flag: Option<&str>) -> Result<String, CliError> {
    match flag {
        Some(d) if is_iso_date(d) => Ok(d.to_string()),
        Some(d) => Err(CliError::BadInput(anyhow::anyhow!(
            "--as-of: `{d}` is not a date; write YYYY-MM-DD, e.g. 2026-12-01"
        ))),
        None => Ok(scenario
            .and_then(|s| s.as_of.clone())
            .unwrap_or_else(today_utc)),
    }
}

/// Prints a warning for each retired model the scenario uses (it still runs).
pub fn warn_retired(scenario: &Scenario, flag: Option<&str>) -> Result<(), CliError> {
    let as_of = resolve(Some(scenario), flag)?;
    for w in scenario.retirement_warnings(&as_of) {
        eprintln!("warning: {w}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_days_map_to_civil_dates() {
        assert_eq!(date_of_unix_day(0), "1970-01-01");
        assert_eq!(date_of_unix_day(-1), "1969-12-31");
        // 2026-12-01 is day 20,788; 2028-02-29 (leap day) is day 21,243.
        assert_eq!(date_of_unix_day(20_788), "2026-12-01");
        assert_eq!(date_of_unix_day(21_243), "2028-02-29");
        assert_eq!(date_of_unix_day(21_244), "2028-03-01");
        assert!(is_iso_date(&today_utc()));
    }
}
