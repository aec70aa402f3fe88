//! Renderers for the analysis commands: the lever waterfall and parameter sweeps.

use crate::charts::{lever_waterfall_chart, sweep_chart};
use crate::data::{Crossing, LeverStep, Sweep, SweepPoint};
use crate::error::ReportError;
use crate::files::{chart_files, write_files};
use crate::fmt::{md_table, num, pct, text_table, usd};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// (naive p50, final p50, saving in USD, saving in %) over the whole waterfall.
fn lever_total(steps: &[LeverStep]) -> Option<(f64, f64, f64, f64)> {
    let first = steps.first()?;
    let last = steps.last()?;
    let saving = first.p50_usd_per_day - last.p50_usd_per_day;
    let percent = if first.p50_usd_per_day > 0.0 {
        saving / first.p50_usd_per_day * 100.0
    } else {
        0.0
    };
    Some((first.p50_usd_per_day, last.p50_usd_per_day, saving, percent))
}

fn lever_rows(steps: &[LeverStep]) -> Vec<Vec<String>> {
    let mut rows = vec![
        ["step", "p50 $/day", "p95 $/day", "saving $/day", "saving %"]
            .map(String::from)
            .to_vec(),
    ];
    for (i, s) in steps.iter().enumerate() {
        let (saving, percent) = if i == 0 {
            ("-".to_string(), "-".to_string())
        } else {
            (usd(s.saving_usd), format!("{:.1}%", s.saving_percent))
        };
        rows.push(vec![
            s.name.clone(),
            usd(s.p50_usd_per_day),
            usd(s.p95_usd_per_day),
            saving,
            percent,
        ]);
    }
    rows
}

fn lever_verdict(steps: &[LeverStep]) -> String {
    match lever_total(steps) {
        Some((naive, end, saving, percent)) if steps.len() >= 2 => format!(
            "The levers take p50 daily cost from {} ({}) to {}: {} a day saved ({percent:.1}%)",
            usd(naive),
            steps[0].name,
            usd(end),
            usd(saving)
        ),
        Some((naive, ..)) => format!("Only one step: p50 daily cost {}", usd(naive)),
        None => "No lever steps".to_string(),
    }
}

/// The waterfall as a plain-text table with a one-line summary first.
pub fn levers_text(steps: &[LeverStep]) -> String {
    let mut o = lever_verdict(steps);
    o.push_str("\n\n");
    o.push_str(&text_table(
        &lever_rows(steps),
        &[false, true, true, true, true],
    ));
    o
}

/// The waterfall as Markdown: the summary line first, then the table.
pub fn levers_markdown(steps: &[LeverStep]) -> String {
    let mut o = format!("💡 {}\n\n", lever_verdict(steps));
    o.push_str(&md_table(
        &lever_rows(steps),
        &[false, true, true, true, true],
    ));
    o
}

#[derive(Serialize)]
struct LeversJson<'a> {
    steps: &'a [LeverStep],
    naive_p50_usd_per_day: Option<f64>,
    final_p50_usd_per_day: Option<f64>,
    total_saving_usd: Option<f64>,
    total_saving_percent: Option<f64>,
}

/// The waterfall as pretty JSON: `{"steps": [...], "naive_p50_usd_per_day", "final_p50_usd_per_day",
/// "total_saving_usd", "total_saving_percent"}` (totals are null without steps).
pub fn levers_json(steps: &[LeverStep]) -> String {
    let total = lever_total(steps);
    let doc = LeversJson {
        steps,
        naive_p50_usd_per_day: total.map(|t| t.0),
        final_p50_usd_per_day: total.map(|t| t.1),
        total_saving_usd: total.map(|t| t.2),
        total_saving_percent: total.map(|t| t.3),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("lever steps serialise to JSON");
    s.push('\n');
    s
}

fn sweep_verdict(s: &Sweep) -> (Option<bool>, String) {
    let Some(budget) = s.daily_budget else {
        return (
            None,
            format!(
                "No daily budget: {} swept over {} values",
                s.param,
                s.points.len()
            ),
        );
    };
    if s.is_labelled() {
        let under: Vec<String> = s
            .sorted()
            .into_iter()
            .filter(|p| p.p95 <= budget)
            .map(Sweep::value_text)
            .collect();
        return if under.is_empty() {
            (
                Some(false),
                format!(
                    "No value of {} keeps p95 daily cost under the {} budget",
                    s.param,
                    usd(budget)
                ),
            )
        } else {
            (
                Some(true),
                format!(
                    "Values of {} whose p95 daily cost stays under the {} budget: {}",
                    s.param,
                    usd(budget),
                    under.join(", ")
                ),
            )
        };
    }
    if let Some(c) = s.crossing {
        return (
            Some(true),
            format!(
                "p95 daily cost crosses the {} budget at {} = {} (between {} and {}); largest swept value under it: {}",
                usd(budget),
                s.param,
                num(c.value),
                num(c.low),
                num(c.high),
                s.largest_value_under_budget()
                    .map_or("none".to_string(), num)
            ),
        );
    }
    match s.largest_value_under_budget() {
        Some(v) => (
            Some(true),
            format!(
                "Largest {} whose p95 daily cost stays under the {} budget: {}",
                s.param,
                usd(budget),
                num(v)
            ),
        ),
        None => (
            Some(false),
            format!(
                "No swept value of {} keeps p95 daily cost under the {} budget",
                s.param,
                usd(budget)
            ),
        ),
    }
}

fn sweep_rows(s: &Sweep) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        s.param.clone(),
        "p50 $/day".into(),
        "p95 $/day".into(),
        "p99 $/day".into(),
        "breach probability".into(),
    ]];
    if s.daily_budget.is_some() {
        rows[0].push("p95 under budget".into());
    }
    for p in s.sorted() {
        let mut row = vec![
            Sweep::value_text(p),
            usd(p.p50),
            usd(p.p95),
            usd(p.p99),
            pct(p.breach_probability),
        ];
        if let Some(b) = s.daily_budget {
            row.push(if p.p95 <= b { "yes" } else { "no" }.to_string());
        }
        rows.push(row);
    }
    rows
}

/// The sweep as a plain-text table, the answer (largest value under budget) first.
pub fn sweep_text(s: &Sweep) -> String {
    let mut o = sweep_verdict(s).1;
    o.push_str("\n\n");
    o.push_str(&text_table(
        &sweep_rows(s),
        &[true, true, true, true, true, false],
    ));
    o
}

/// The sweep as Markdown: the answer first, then the table.
pub fn sweep_markdown(s: &Sweep) -> String {
    let (holds, line) = sweep_verdict(s);
    let mark = match holds {
        Some(true) => "✅",
        Some(false) => "❌",
        None => "ℹ️",
    };
    let mut o = format!("{mark} {line}\n\n");
    o.push_str(&md_table(
        &sweep_rows(s),
        &[true, true, true, true, true, false],
    ));
    o
}

#[derive(Serialize)]
struct SweepJson<'a> {
    param: &'a str,
    daily_budget: Option<f64>,
    largest_value_under_budget: Option<f64>,
    crossing: Option<Crossing>,
    points: Vec<&'a SweepPoint>,
}

/// The sweep as pretty JSON: `{"param", "daily_budget", "largest_value_under_budget",
/// "crossing", "points"}` with points sorted by value (`crossing` is null unless a numeric
/// sweep crosses the budget; a non-numeric point carries its `label`).
pub fn sweep_json(s: &Sweep) -> String {
    let doc = SweepJson {
        param: &s.param,
        daily_budget: s.daily_budget,
        largest_value_under_budget: s.largest_value_under_budget(),
        crossing: s.crossing,
        points: s.sorted(),
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("sweep serialises to JSON");
    out.push('\n');
    out
}

/// Writes the lever waterfall to `dir`: `lever_waterfall.svg`, `lever_waterfall.png`,
/// `levers.md` and `levers.json`. All files appear together or none do.
pub fn write_levers_dir(
    steps: &[LeverStep],
    daily_budget: Option<f64>,
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    let chart = lever_waterfall_chart(steps, daily_budget)?;
    let mut files = chart_files(std::slice::from_ref(&chart));
    files.push(("levers.md".into(), levers_markdown(steps).into_bytes()));
    files.push(("levers.json".into(), levers_json(steps).into_bytes()));
    write_files(dir, files)
}

/// Writes a sweep to `dir`: `sweep.svg`, `sweep.png`, `sweep.md` and `sweep.json`. All files
/// appear together or none do.
pub fn write_sweep_dir(sweep: &Sweep, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let chart = sweep_chart(sweep)?;
    let mut files = chart_files(std::slice::from_ref(&chart));
    files.push(("sweep.md".into(), sweep_markdown(sweep).into_bytes()));
    files.push(("sweep.json".into(), sweep_json(sweep).into_bytes()));
    write_files(dir, files)
}
