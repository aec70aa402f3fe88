//! `burnrate mock`: owned by the mock-provider work (issue 3).

use crate::CliResult;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err(crate::CliError::Other(anyhow::anyhow!("mock: not built yet")))
}
