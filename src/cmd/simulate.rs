//! `burnrate simulate`: being built (issue 2).

use crate::CliResult;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err(crate::CliError::Other(anyhow::anyhow!("simulate: not built yet")))
}
