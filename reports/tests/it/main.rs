//! Integration tests of burnrate-reports (one binary): snapshots of the text formats, SVG
//! structure of the charts, the report directory, and the HTML report in a real browser.
mod browser;
mod charts;
mod fixtures;
mod report_dir;
mod snapshots;
