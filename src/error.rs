//! The binary's error type: every command returns a [`CliResult`], and `main` maps the error
//! to the exit code. Its own module so commands do not import from `main.rs`.

/// An error with the exit code it maps to.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments, scenario or config: exit 2.
    BadInput(anyhow::Error),
    /// A gate that did not hold (e.g. `check`): exit 1. The verdict was already printed.
    CheckFailed,
    /// IO, network or internal failure: exit 3.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for CliError {
    fn from(err: anyhow::Error) -> Self {
        CliError::Other(err)
    }
}

pub type CliResult = Result<(), CliError>;
