//! burnrate-reports: everything a run shows to people and machines.
//!
//! * Plain text for a terminal, Markdown for a pull-request comment or a CI job summary (the
//!   verdict first, then a short table), stable pretty JSON and CSV files.
//! * Charts drawn with plotters as SVG and PNG. They use an embedded font (DejaVu Sans, Bitstream
//!   Vera licence, `assets/`), so they render on a machine without any system font.
//! * A self-contained HTML report (charts inline as SVG, no network, no JavaScript) and
//!   [`write_report_dir`], which writes every artefact at once and never leaves a half-written
//!   report behind.
//! * Renderers for the analysis commands: the lever waterfall ([`LeverStep`]), parameter sweeps
//!   ([`Sweep`], [`SweepPoint`]), side-by-side comparisons and the CI budget gate
//!   ([`check_markdown`]).

mod analysis;
mod charts;
mod check;
mod compare;
mod csv;
mod data;
mod drive;
mod error;
mod files;
mod fmt;
mod holdout;
mod html;
mod summary;
mod timeline;

pub use analysis::{
    levers_json, levers_markdown, levers_text, sweep_json, sweep_markdown, sweep_text,
    write_levers_dir, write_sweep_dir,
};
pub use charts::{
    BAR_COLOR, BUDGET_COLOR, Chart, FONT_FAMILY, FONT_LICENCE, FONT_NAME, holdout_chart,
    lever_waterfall_chart, simulation_charts, sweep_chart,
};
pub use check::{
    Change, CheckOutcome, CheckSpec, Gate, Verdict, check, check_json, check_junit, check_markdown,
};
pub use compare::{compare_json, compare_markdown, compare_text};
pub use csv::csv;
pub use data::{Crossing, LeverStep, Sweep, SweepPoint};
pub use drive::{drive_json, drive_markdown, drive_text};
pub use error::ReportError;
pub use files::{MANIFEST, write_charts_dir, write_report_dir};
pub use holdout::{holdout_html, holdout_markdown, holdout_text, write_holdout_dir};
pub use html::html;
pub use summary::{json, markdown, text};
