//! `burnrate completions SHELL` and `burnrate man [COMMAND]`: shell completions
//! (clap_complete) and roff man pages (clap_mangen) generated from the CLI definition itself,
//! so they never drift from the real flags.

use crate::error::{CliError, CliResult};
use anyhow::{Context, anyhow};
use clap_complete::Shell;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The shells `completions` supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// A subcommand's page (`burnrate-simulate(1)`); default: the top-level `burnrate(1)`.
    pub command: Option<String>,
}

pub fn run_completions(args: CompletionsArgs, mut cmd: clap::Command) -> CliResult {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    // Generated into memory first: clap_complete panics on a failed write, and stdout may be
    // a closed pipe.
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "burnrate", &mut buf);
    super::out::write_stdout(&buf);
    Ok(())
}

pub fn run_man(args: ManArgs, cmd: clap::Command) -> CliResult {
    let page = match &args.command {
        None => cmd,
        Some(name) => {
            let version = cmd.get_version().map(str::to_owned);
            let sub = cmd.find_subcommand(name).cloned().ok_or_else(|| {
                let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
                CliError::BadInput(anyhow!(
                    "no subcommand {name:?}; one of: {}",
                    names.join(", ")
                ))
            })?;
            // Named like the page's file (`burnrate-simulate.1`), as man(1) expects.
            // (clap takes `&'static str` names; leaking one string in a one-shot command is fine.)
            let sub = sub.name(format!("burnrate-{name}").leak() as &'static str);
            match version {
                Some(v) => sub.version(v.leak() as &'static str),
                None => sub,
            }
        }
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut buf)
        .context("rendering the man page")?;
    super::out::write_stdout(&buf);
    Ok(())
}
