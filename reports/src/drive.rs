//! `burnrate drive`'s report: measured against predicted, as text, Markdown or JSON.

use burnrate_sim::DriveReport;

/// The report as aligned text for a terminal.
pub fn drive_text(r: &DriveReport) -> String {
    render(r, false)
}

/// The report as a Markdown table (a pull-request comment or a CI job summary).
pub fn drive_markdown(r: &DriveReport) -> String {
    render(r, true)
}

/// The report as pretty JSON (its keys are the `DriveReport` fields).
pub fn drive_json(r: &DriveReport) -> String {
    serde_json::to_string_pretty(r).expect("a drive report serialises")
}

fn render(r: &DriveReport, md: bool) -> String {
    let (m, p) = (&r.measured, &r.predicted);
    let mut s = String::new();
    use std::fmt::Write as _;
    let title = format!(
        "drive {}: {} tasks against {} (speedup {}, {:.1}s)",
        r.scenario, m.tasks, r.endpoint, r.speedup, r.wall_s
    );
    let row = |s: &mut String, name: &str, a: String, b: String| {
        if md {
            let _ = writeln!(s, "| {name} | {a} | {b} |");
        } else {
            let _ = writeln!(s, "  {name:<28} {a:>14} {b:>14}");
        }
    };
    if md {
        let _ = writeln!(
            s,
            "## {title}\n\n| | measured | predicted |\n|---|---:|---:|"
        );
    } else {
        let _ = writeln!(
            s,
            "{title}\n  {:<28} {:>14} {:>14}",
            "", "measured", "predicted"
        );
    }
    row(
        &mut s,
        "cost per task (mean)",
        format!("${:.6}", m.cost_per_task_usd.mean),
        format!("${:.6}", p.cost_per_task_usd.mean),
    );
    row(
        &mut s,
        "cost per task (p95)",
        format!("${:.6}", m.cost_per_task_usd.p95),
        format!("${:.6}", p.cost_per_task_usd.p95),
    );
    row(
        &mut s,
        "cost total",
        format!("${:.4}", m.cost_total_usd),
        format!("${:.4}", p.cost_total_usd),
    );
    let steps: std::collections::BTreeSet<&String> = m
        .cost_per_step_usd
        .keys()
        .chain(p.cost_per_step_usd.keys())
        .collect();
    for k in steps {
        row(
            &mut s,
            &format!("  step {k}"),
            format!("${:.6}", m.cost_per_step_usd.get(k).unwrap_or(&0.0)),
            format!("${:.6}", p.cost_per_step_usd.get(k).unwrap_or(&0.0)),
        );
    }
    row(
        &mut s,
        "calls per task",
        format!("{:.3}", m.calls_per_task),
        format!("{:.3}", p.calls_per_task),
    );
    row(
        &mut s,
        "retries per task",
        format!("{:.3}", m.retries_per_task),
        format!("{:.3}", p.retries_per_task),
    );
    if m.rate_limit_waits_per_task > 0.0 || p.rate_limit_waits_per_task > 0.0 {
        row(
            &mut s,
            "rate-limit waits per task",
            format!("{:.3}", m.rate_limit_waits_per_task),
            format!("{:.3}", p.rate_limit_waits_per_task),
        );
    }
    row(
        &mut s,
        "cache hit rate",
        format!("{:.3}", m.cache_hit_rate),
        format!("{:.3}", p.cache_hit_rate),
    );
    let kinds: std::collections::BTreeSet<&String> = m
        .errors_per_task
        .keys()
        .chain(p.errors_per_task.keys())
        .collect();
    for k in kinds {
        row(
            &mut s,
            &format!("errors/task {k}"),
            format!("{:.4}", m.errors_per_task.get(k).unwrap_or(&0.0)),
            format!("{:.4}", p.errors_per_task.get(k).unwrap_or(&0.0)),
        );
    }
    row(
        &mut s,
        "task latency mean (s)",
        format!("{:.3}", m.latency_s.mean),
        format!("{:.3}", p.latency_s.mean),
    );
    let _ = writeln!(
        s,
        "{}cost per task differs by {:+.2}% ({:+.2} standard errors)",
        if md { "\n" } else { "" },
        r.difference.cost_per_task_relative * 100.0,
        r.difference.cost_per_task_z
    );
    if r.unpriced_calls > 0 {
        let u = r.unpriced_calls;
        let _ = writeln!(
            s,
            "{u} responses (malformed or timed out) had no readable usage and are not in the measured cost"
        );
        if let Some(b) = r.endpoint_ledger.as_ref().map(|l| l.cost_per_task_usd) {
            let _ = writeln!(
                s,
                "the endpoint's ledger billed ${b:.6} per task, those responses included"
            );
        }
    }
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s.trim_end().to_string()
}
