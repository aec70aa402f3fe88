//! Agent frameworks against the real `burnrate mock` binary (issue 21): Pydantic AI,
//! instructor and LangGraph with pytest from `.venv-frameworks`, the Vercel AI SDK with
//! node's test runner from `tests/frameworks/node`. Both are installed by
//! `scripts/setup-test-deps`; without them this test fails, it does not skip.

use crate::mock_sdk::{pytest, start_mock};
use std::path::Path;
use std::process::Command;

#[test]
fn agent_frameworks_against_the_mock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var("BURNRATE_FRAMEWORKS_PYTHON").unwrap_or_else(|_| {
        root.join(".venv-frameworks/bin/python")
            .to_string_lossy()
            .into_owned()
    });
    let check = Command::new(&python)
        .args([
            "-c",
            "import pydantic_ai, instructor, langgraph, langchain_openai, pytest",
        ])
        .status()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}; run scripts/setup-test-deps"));
    assert!(
        check.success(),
        "the framework packages are missing from {python}: run scripts/setup-test-deps"
    );
    let node_dir = root.join("tests/frameworks/node");
    assert!(
        node_dir.join("node_modules/ai").is_dir(),
        "the Vercel AI SDK is not installed in {}: run scripts/setup-test-deps",
        node_dir.display()
    );

    let (server, url) = start_mock();
    let py = pytest(&python, "tests/frameworks", &url);
    let node = Command::new("node")
        .args(["--test", "--test-reporter=spec"])
        .current_dir(&node_dir)
        .env("BURNRATE_MOCK_URL", &url)
        .status()
        .expect("run node --test (Node.js is installed by scripts/setup-test-deps)");
    drop(server);
    assert!(
        py.success(),
        "the framework tests failed (see pytest's output above)"
    );
    assert!(
        node.success(),
        "the Vercel AI SDK tests failed (see node's output above)"
    );
}
