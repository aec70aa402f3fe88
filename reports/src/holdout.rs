//! "Would burnrate have predicted the held-out days?": `calibrate --holdout` as text,
//! Markdown, a chart (the simulated p05-p95 band and mean of each held-out day, the real cost
//! as points) and a self-contained HTML page with that chart.

use crate::charts::{Chart, holdout_chart};
use crate::error::ReportError;
use crate::files::{chart_files, write_files};
use crate::fmt::{html_escape, md_table, text_table};
use burnrate_sim::HoldoutDay;
use std::path::{Path, PathBuf};

const TITLE: &str = "Would burnrate have predicted the held-out days?";

/// The rows every format shows: day, calls, real cost, band, verdict.
fn rows(days: &[HoldoutDay]) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "day",
            "calls",
            "actual USD",
            "simulated p05",
            "mean",
            "p95",
            "",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for d in days {
        rows.push(vec![
            d.date(),
            d.calls.to_string(),
            format!("{:.4}", d.actual_usd),
            format!("{:.4}", d.p05_usd),
            format!("{:.4}", d.mean_usd),
            format!("{:.4}", d.p95_usd),
            if d.inside() { "inside" } else { "OUTSIDE" }.to_string(),
        ]);
    }
    rows
}

const RIGHT: [bool; 7] = [false, true, true, true, true, true, false];

/// How many days fall inside the 90% band, and how many about would by chance alone.
fn tally(days: &[HoldoutDay]) -> String {
    let inside = days.iter().filter(|d| d.inside()).count();
    format!(
        "{inside} of {} days inside the 90% band (about {:.1} expected)",
        days.len(),
        0.9 * days.len() as f64
    )
}

/// The hold-out check as plain text (what `calibrate --holdout` prints on stderr).
pub fn holdout_text(days: &[HoldoutDay]) -> String {
    let mut t = format!("{TITLE}\n");
    // text_table indents its rows by two spaces already.
    for line in text_table(&rows(days), &RIGHT).lines() {
        t.push_str(line.trim_end());
        t.push('\n');
    }
    t.push_str(&format!("  {}\n", tally(days)));
    t
}

/// The hold-out check as Markdown, titled with the scenario's name.
pub fn holdout_markdown(name: &str, days: &[HoldoutDay]) -> String {
    format!(
        "## {TITLE} ({})\n\nEach held-out day's real cost (its own tokens priced with the catalog) against the fitted scenario's simulated band for that day.\n\n{}\n{}\n",
        crate::fmt::md_cell(name),
        md_table(&rows(days), &RIGHT),
        tally(days)
    )
}

/// The hold-out check as one self-contained HTML page: the chart, then the table.
pub fn holdout_html(name: &str, days: &[HoldoutDay], chart: &Chart) -> String {
    let mut o = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>burnrate hold-out check: {n}</title>\n<style>{css}</style>\n</head>\n<body>\n<h1>{t}</h1>\n<p class=\"meta\">{n} · {k} held-out days</p>\n<p class=\"verdict none\">{tally}</p>\n",
        n = html_escape(name),
        css = crate::html::CSS,
        t = html_escape(TITLE),
        k = days.len(),
        tally = html_escape(&tally(days)),
    );
    o.push_str(&crate::html::figure(chart));
    let rows = rows(days);
    let head: Vec<&str> = rows[0].iter().map(String::as_str).collect();
    o.push_str(&crate::html::table(&head, &rows[1..], &RIGHT));
    o.push_str("</body>\n</html>\n");
    o
}

/// Writes `holdout.md`, `holdout.html`, `holdout.svg` and `holdout.png` into `dir`, all at
/// once or none (as every report directory).
pub fn write_holdout_dir(
    name: &str,
    days: &[HoldoutDay],
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    let chart = holdout_chart(days)?;
    let mut files = vec![
        (
            "holdout.md".to_string(),
            holdout_markdown(name, days).into_bytes(),
        ),
        (
            "holdout.html".to_string(),
            holdout_html(name, days, &chart).into_bytes(),
        ),
    ];
    files.extend(chart_files(std::slice::from_ref(&chart)));
    write_files(dir, files)
}
