use std::path::PathBuf;

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// Reading or writing a file or directory failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// plotters could not draw a chart.
    #[error("could not draw the {chart} chart: {message}")]
    Chart { chart: String, message: String },
    /// The embedded font could not be parsed (a corrupt build).
    #[error("could not load the embedded font {font}")]
    Font { font: &'static str },
    /// A chart's bitmap could not be encoded as PNG.
    #[error("could not encode the {chart} chart as PNG: {message}")]
    Png { chart: String, message: String },
    /// A value could not be serialised to JSON.
    #[error("could not serialise {what} to JSON: {source}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl ReportError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
