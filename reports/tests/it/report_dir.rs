//! `write_report_dir`: every artefact, in one directory, all or nothing.

use crate::fixtures::support_agent;
use burnrate_reports as reports;
use std::fs;
use std::path::Path;

const EXPECTED: [&str; 29] = [
    "report.html",
    "summary.md",
    "result.json",
    "summary.csv",
    "daily_costs.csv",
    "by_step.csv",
    "by_model.csv",
    "by_kind.csv",
    "cache_by_step.csv",
    "latency_histogram.csv",
    "timeline_days.csv",
    "timeline_months.csv",
    "sample_day.csv",
    "daily_cost_histogram.svg",
    "daily_cost_histogram.png",
    "daily_cost_cdf.svg",
    "daily_cost_cdf.png",
    "cost_by_step.svg",
    "cost_by_step.png",
    "cost_by_model.svg",
    "cost_by_model.png",
    "cost_by_kind.svg",
    "cost_by_kind.png",
    "cache_hit_rate_by_step.svg",
    "cache_hit_rate_by_step.png",
    "task_latency.svg",
    "task_latency.png",
    "sample_day_spend.svg",
    "sample_day_spend.png",
];

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn writes_every_artefact_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out/nested");
    let r = support_agent();
    let paths = reports::write_report_dir(&r, &dir).unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, EXPECTED);
    let mut sorted: Vec<String> = EXPECTED.iter().map(|s| s.to_string()).collect();
    sorted.push(reports::MANIFEST.to_string());
    sorted.sort();
    assert_eq!(listing(&dir), sorted, "no temporary files left behind");

    // The files are the renderers' output.
    assert_eq!(
        fs::read_to_string(dir.join("summary.md")).unwrap(),
        reports::markdown(&r)
    );
    let back: burnrate_sim::SimResult =
        serde_json::from_str(&fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    assert_eq!(back, r);
    for (name, body) in reports::csv(&r) {
        assert_eq!(fs::read_to_string(dir.join(&name)).unwrap(), body, "{name}");
    }
    for name in EXPECTED.iter().filter(|n| n.ends_with(".png")) {
        let bytes = fs::read(dir.join(name)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name}");
    }

    // Writing again replaces the report in place.
    reports::write_report_dir(&r, &dir).unwrap();
    assert_eq!(listing(&dir), sorted);
}

#[test]
fn html_is_self_contained_with_every_chart_inline() {
    let r = support_agent();
    let html = reports::html(&r).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "readable without JavaScript");
    assert!(!html.contains("<img"), "charts are inline, not linked");
    assert!(!html.contains("<link"), "no external stylesheet");
    // The only URL is the SVG namespace, which is never fetched.
    let urls = html.matches("http").count();
    let namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(urls, namespaces);
    let charts = reports::simulation_charts(&r).unwrap();
    assert_eq!(html.matches("<svg ").count(), charts.len());
    for c in &charts {
        assert!(
            html.contains(&format!("id=\"chart-{}\"", c.name)),
            "{}",
            c.name
        );
    }
    assert!(html.contains("<span class=\"status\">Within budget:</span> p95 daily cost $4.74 ("));
}

#[test]
fn a_failed_write_leaves_nothing_half_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("report");
    fs::create_dir_all(&dir).unwrap();
    // A directory where a file must go: the rename of summary.md fails after report.html has
    // been moved into place, which must then be taken back.
    fs::create_dir(dir.join("summary.md")).unwrap();
    let err = reports::write_report_dir(&support_agent(), &dir).unwrap_err();
    assert!(err.to_string().contains("summary.md"), "{err}");
    assert_eq!(listing(&dir), ["summary.md"], "only what was there before");

    // A target that is a file: nothing can be written, and the error says where.
    let file = tmp.path().join("not-a-dir");
    fs::write(&file, "x").unwrap();
    let err = reports::write_report_dir(&support_agent(), &file).unwrap_err();
    assert!(err.to_string().contains("not-a-dir"), "{err}");
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn lever_and_sweep_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let paths =
        reports::write_levers_dir(&crate::fixtures::levers(), Some(50.0), tmp.path()).unwrap();
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "lever_waterfall.svg",
            "lever_waterfall.png",
            "levers.md",
            "levers.json"
        ]
    );
    let paths = reports::write_sweep_dir(&crate::fixtures::sweep(), tmp.path()).unwrap();
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["sweep.svg", "sweep.png", "sweep.md", "sweep.json"]);
    // The directory holds the last write's output: the levers' files went with it.
    let mut expected = vec![
        "sweep.svg",
        "sweep.png",
        "sweep.md",
        "sweep.json",
        reports::MANIFEST,
    ];
    expected.sort();
    assert_eq!(listing(tmp.path()), expected);
}

#[test]
fn a_second_write_removes_the_first_writes_stale_files_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("notes.txt"), "mine").unwrap();
    let r = support_agent();
    reports::write_report_dir(&r, dir).unwrap();
    let charts = reports::simulation_charts(&r).unwrap();
    let only = &charts[..1];
    let paths = reports::write_charts_dir(only, dir).unwrap();
    assert_eq!(paths.len(), 2);
    let mut expected = vec![
        format!("{}.svg", only[0].name),
        format!("{}.png", only[0].name),
        reports::MANIFEST.to_string(),
        "notes.txt".to_string(),
    ];
    expected.sort();
    assert_eq!(listing(dir), expected, "stale report files are gone");
    assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
}

#[test]
fn a_failed_second_write_keeps_the_first_run_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("report");
    let r = support_agent();
    reports::write_report_dir(&r, &dir).unwrap();
    let before: Vec<(String, Vec<u8>)> = listing(&dir)
        .into_iter()
        .map(|n| {
            let bytes = fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect();
    // The levers' Markdown cannot go where a directory stands: the write fails after the old
    // run's files were moved aside and the chart moved in, and must undo both.
    fs::create_dir(dir.join("levers.md")).unwrap();
    let err = reports::write_levers_dir(&crate::fixtures::levers(), Some(50.0), &dir).unwrap_err();
    assert!(err.to_string().contains("levers.md"), "{err}");
    let mut names: Vec<String> = before.iter().map(|(n, _)| n.clone()).collect();
    names.push("levers.md".into());
    names.sort();
    assert_eq!(listing(&dir), names, "nothing added, nothing lost");
    for (name, bytes) in &before {
        assert_eq!(
            &fs::read(dir.join(name)).unwrap(),
            bytes,
            "{name} unchanged"
        );
    }
}
