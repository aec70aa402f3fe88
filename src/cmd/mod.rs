//! One module per subcommand.

pub mod calibrate;
pub mod catalog;
pub mod check;
pub mod compare;
pub mod drive;
pub mod examples;
pub mod levers;
pub mod mock;
pub mod out;
pub mod shard;
pub mod shell;
pub mod simulate;
pub mod sweep;

/// Output format of the analysis commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Md,
}

/// Prints a report to stdout, ending it with exactly one newline (a closed pipe or a full disk
/// ends the process cleanly: see [`out`]).
pub fn print(out: &str) {
    if out.ends_with('\n') {
        out::write_stdout(out.as_bytes());
    } else {
        out::write_stdout(format!("{out}\n").as_bytes());
    }
}
