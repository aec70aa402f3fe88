//! The mock provider driven by the official Python SDKs (tests/python): starts the real
//! `burnrate mock --port 0` binary and runs pytest against it. Needs the venv that
//! `scripts/test` prepares (BURNRATE_PYTHON); without it this test fails, it does not skip.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub(crate) struct Server(Child);

/// Starts `burnrate mock --port 0` (seed 7, no latency); the server stops when dropped.
pub(crate) fn start_mock() -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .args(["mock", "--port", "0", "--seed", "7", "--time-scale", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start burnrate mock");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (server, url)
}

/// Runs pytest on `dir` (relative to the repository) against the mock at `url`.
pub(crate) fn pytest(python: &str, dir: &str, url: &str) -> std::process::ExitStatus {
    Command::new(python)
        .args(["-m", "pytest", dir, "-q", "-p", "no:cacheprovider"])
        .args(["-W", "ignore::DeprecationWarning"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("BURNRATE_MOCK_URL", url)
        .status()
        .expect("run pytest")
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn official_sdks_against_the_mock() {
    let python = std::env::var("BURNRATE_PYTHON").unwrap_or_else(|_| {
        panic!("BURNRATE_PYTHON is not set: run the tests with scripts/test, which creates .venv with the pinned SDKs")
    });
    let check = Command::new(&python)
        .args(["-c", "import openai, anthropic, google.genai, pytest"])
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run {python}: {e}; run scripts/test to create the venv")
        });
    assert!(
        check.success(),
        "the openai/anthropic/google-genai SDKs or pytest are missing from {python}: run scripts/test"
    );

    let (server, url) = start_mock();

    let status = pytest(&python, "tests/python", &url);
    drop(server);
    assert!(
        status.success(),
        "the SDK tests failed (see pytest's output above)"
    );
}
