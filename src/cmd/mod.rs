//! One module per subcommand.

pub mod calibrate;
pub mod catalog;
pub mod check;
pub mod compare;
pub mod drive;
pub mod levers;
pub mod mock;
pub mod shard;
pub mod simulate;
pub mod sweep;

/// Output format of the analysis commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Md,
}

/// Prints a report to stdout, ending it with exactly one newline.
pub fn print(out: &str) {
    print!("{out}");
    if !out.ends_with('\n') {
        println!();
    }
}
