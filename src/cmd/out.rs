//! Writing to stdout without panicking: `print!` panics when the reader has gone (`burnrate
//! catalog | head -1`) or the disk is full (`> /dev/full`). Here a closed pipe ends the process
//! quietly with exit 0 (nobody is left to read the rest), any other write error with a one-line
//! error and exit 3.

use std::io::{ErrorKind, Write};

/// Writes `bytes` to stdout and flushes, or exits as described in the module docs.
pub fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        exit_on_write_error(&e);
    }
}

/// Exits the process for a failed stdout write: 0 on a closed pipe, 3 (with one line on
/// stderr) otherwise.
pub fn exit_on_write_error(e: &std::io::Error) -> ! {
    if e.kind() == ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
    std::process::exit(3);
}
