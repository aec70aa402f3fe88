//! Writing report directories: every file appears at once or none does.

use crate::charts::{Chart, simulation_charts};
use crate::error::ReportError;
use burnrate_sim::SimResult;
use std::fs;
use std::path::{Path, PathBuf};

/// `{name}.svg` and `{name}.png` for every chart.
pub(crate) fn chart_files(charts: &[Chart]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::with_capacity(charts.len() * 2);
    for c in charts {
        files.push((format!("{}.svg", c.name), c.svg.clone().into_bytes()));
        files.push((format!("{}.png", c.name), c.png.clone()));
    }
    files
}

/// Writes `files` into `dir` (created if missing). Everything is first written to a hidden
/// temporary directory inside `dir`, then renamed into place; if any write fails, the temporary
/// directory is removed and `dir` is left as it was. Returns the final paths in order.
pub(crate) fn write_files(
    dir: &Path,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Vec<PathBuf>, ReportError> {
    fs::create_dir_all(dir).map_err(|e| ReportError::io("could not create", dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".burnrate-report-")
        .tempdir_in(dir)
        .map_err(|e| ReportError::io("could not create a temporary directory in", dir, e))?;
    for (name, bytes) in &files {
        let path = tmp.path().join(name);
        fs::write(&path, bytes).map_err(|e| ReportError::io("could not write", path, e))?;
    }
    let mut done = Vec::with_capacity(files.len());
    for (name, _) in &files {
        let from = tmp.path().join(name);
        let to = dir.join(name);
        if let Err(e) = fs::rename(&from, &to) {
            // Take back what was already moved so no mix of old and new files is left behind
            // (files this call replaced cannot be restored; a rename within one directory only
            // fails in exotic conditions, such as `to` being a directory).
            for p in &done {
                let _ = fs::remove_file(p);
            }
            return Err(ReportError::io("could not move into place", to, e));
        }
        done.push(to);
    }
    tmp.close()
        .map_err(|e| ReportError::io("could not remove the temporary directory in", dir, e))?;
    Ok(done)
}

/// Writes every artefact of a run into `dir` (created if missing) and returns their paths:
/// `report.html` (self-contained), `summary.md`, `result.json`, the CSV files of [`crate::csv`]
/// and every chart of [`simulation_charts`] as `.svg` and `.png`. All files appear together or,
/// on error, none do.
pub fn write_report_dir(result: &SimResult, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let charts = simulation_charts(result)?;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "report.html".into(),
            crate::html::html_with(result, &charts).into_bytes(),
        ),
        (
            "summary.md".into(),
            crate::summary::markdown(result).into_bytes(),
        ),
        (
            "result.json".into(),
            crate::summary::json(result).into_bytes(),
        ),
    ];
    files.extend(
        crate::csv::csv(result)
            .into_iter()
            .map(|(name, body)| (name, body.into_bytes())),
    );
    files.extend(chart_files(&charts));
    write_files(dir, files)
}

/// Writes charts as `{name}.svg` and `{name}.png` into `dir`, all or nothing.
pub fn write_charts_dir(charts: &[Chart], dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    write_files(dir, chart_files(charts))
}
