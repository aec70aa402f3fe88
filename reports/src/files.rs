//! Writing report directories: every file appears at once or none does.

use crate::charts::{Chart, simulation_charts};
use crate::error::ReportError;
use burnrate_sim::SimResult;
use std::collections::BTreeSet;
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

/// Name of the list of files the last write put in a directory (one name a line), so the next
/// write can remove what it does not write again: a report directory holds one run's output,
/// never a mix with an earlier run's. Files burnrate did not write are never touched.
pub const MANIFEST: &str = ".burnrate-files";

/// Writes `files` into `dir` (created if missing) and removes the files the previous write
/// listed in [`MANIFEST`] that this one does not write. Everything is first written to a hidden
/// temporary directory inside `dir`; then every file about to be replaced or removed is moved
/// aside into a second one, and the new files are renamed into place. If any step fails, what
/// was moved in is removed and what was moved aside is put back, so `dir` is left exactly as it
/// was. Returns the final paths in order.
pub(crate) fn write_files(
    dir: &Path,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Vec<PathBuf>, ReportError> {
    fs::create_dir_all(dir).map_err(|e| ReportError::io("could not create", dir, e))?;
    let tmp = |prefix: &str| {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(dir)
            .map_err(|e| ReportError::io("could not create a temporary directory in", dir, e))
    };
    let staging = tmp(".burnrate-report-")?;
    let mut names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    names.push(MANIFEST);
    let manifest = names[..names.len() - 1].join("\n") + "\n";
    for (name, bytes) in files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .chain([(MANIFEST, manifest.as_bytes())])
    {
        let path = staging.path().join(name);
        fs::write(&path, bytes).map_err(|e| ReportError::io("could not write", path, e))?;
    }

    // What goes: the previous write's files and any file this write replaces.
    let mut aside: BTreeSet<String> = previous_files(dir);
    aside.extend(names.iter().map(|n| n.to_string()));
    aside.retain(|name| {
        fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.is_file() || m.is_symlink())
    });
    let backup = tmp(".burnrate-previous-")?;
    let mut moved_aside: Vec<&str> = Vec::with_capacity(aside.len());
    let mut moved_in: Vec<PathBuf> = Vec::with_capacity(names.len());
    let undo = |moved_in: &[PathBuf], moved_aside: &[&str]| {
        for p in moved_in {
            let _ = fs::remove_file(p);
        }
        for name in moved_aside {
            let _ = fs::rename(backup.path().join(name), dir.join(name));
        }
    };
    for name in &aside {
        if let Err(e) = fs::rename(dir.join(name), backup.path().join(name)) {
            undo(&moved_in, &moved_aside);
            return Err(ReportError::io("could not move aside", dir.join(name), e));
        }
        moved_aside.push(name);
    }
    for name in &names {
        let to = dir.join(name);
        if let Err(e) = fs::rename(staging.path().join(name), &to) {
            undo(&moved_in, &moved_aside);
            return Err(ReportError::io("could not move into place", to, e));
        }
        moved_in.push(to);
    }
    backup
        .close()
        .map_err(|e| ReportError::io("could not remove the temporary directory in", dir, e))?;
    staging
        .close()
        .map_err(|e| ReportError::io("could not remove the temporary directory in", dir, e))?;
    moved_in.pop(); // the manifest is bookkeeping, not an artefact
    Ok(moved_in)
}

/// The file names the previous write listed in `dir`'s manifest: plain names only (a name
/// with a path separator or `..` is ignored, so a tampered manifest cannot reach outside `dir`).
fn previous_files(dir: &Path) -> BTreeSet<String> {
    let Ok(text) = fs::read_to_string(dir.join(MANIFEST)) else {
        return BTreeSet::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|n| {
            !n.is_empty() && *n != "." && *n != ".." && !n.contains(['/', '\\']) && *n != MANIFEST
        })
        .map(str::to_string)
        .collect()
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
