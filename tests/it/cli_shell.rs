//! Shell polish: completions, man pages, `--version`, the examples at the end of every
//! `--help` (each one run as written), and output to a closed pipe or a full disk.

use assert_cmd::Command;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn burnrate() -> Command {
    Command::cargo_bin("burnrate").expect("the binary is built")
}

fn stdout_of(args: &[&str]) -> String {
    let out = burnrate()
        .args(args)
        .assert()
        .success()
        .get_output()
        .clone();
    String::from_utf8(out.stdout).unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every subcommand, in the order the examples test runs them (shard before merge, mock and
/// drive before calibrate, which reads the mock's request log).
pub(crate) const SUBCOMMANDS: [&str; 13] = [
    "simulate",
    "catalog",
    "levers",
    "sweep",
    "compare",
    "check",
    "shard",
    "merge",
    "mock",
    "drive",
    "calibrate",
    "completions",
    "man",
];

#[test]
fn version_names_the_catalogs_date_and_the_commit() {
    let version = stdout_of(&["--version"]);
    let models: serde_json::Value =
        serde_json::from_str(&stdout_of(&["catalog", "--format", "json"])).unwrap();
    let newest = models
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["as_of"].as_str().unwrap().to_string())
        .max()
        .unwrap();
    // The commit as git itself names it for this checkout (build.rs asks the same question).
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".to_string(), |o| {
            String::from_utf8(o.stdout).unwrap().trim().to_string()
        });
    assert_eq!(
        version.trim(),
        format!(
            "burnrate {} (price catalog of {newest}, commit {commit})",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn completions_for_bash_zsh_and_fish_know_every_subcommand() {
    let bash = stdout_of(&["completions", "bash"]);
    let zsh = stdout_of(&["completions", "zsh"]);
    let fish = stdout_of(&["completions", "fish"]);
    assert!(bash.contains("complete -F _burnrate"), "{bash}");
    assert!(zsh.starts_with("#compdef burnrate"), "{zsh}");
    assert!(fish.contains("complete -c burnrate"), "{fish}");
    for sub in SUBCOMMANDS {
        for (shell, text) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
            assert!(text.contains(sub), "{shell} completions lack {sub}");
        }
    }
    assert!(bash.contains("--index-env"), "flags of subcommands too");
    // The bash script parses, and sourcing it registers the completion.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("burnrate.bash");
    std::fs::write(&file, &bash).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p burnrate", file.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("_burnrate"));
    burnrate()
        .args(["completions", "powershell"])
        .assert()
        .code(2);
}

#[test]
fn man_pages_for_burnrate_and_each_subcommand() {
    let page = stdout_of(&["man"]);
    assert!(
        page.starts_with(".ie"),
        "roff: {}",
        &page[..40.min(page.len())]
    );
    assert!(page.contains(".TH burnrate 1"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(page.contains(sub), "the page lists {sub}");
    }
    let sim = stdout_of(&["man", "simulate"]);
    assert!(sim.contains(".TH burnrate-simulate 1"), "{sim}");
    assert!(sim.contains("replicas"), "{sim}");
    let err = burnrate()
        .args(["man", "simulat"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&err.stderr).contains("one of: simulate"));
}

/// A pipe whose reader is already gone: every write the child makes fails with EPIPE, with no
/// race against a reader like `head -1`.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

fn full_disk() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

const WRITERS: [&[&str]; 6] = [
    &["catalog"],
    &["catalog", "--format", "json"],
    &["catalog", "--format", "toml"],
    &["completions", "bash"],
    &["man"],
    &[
        "simulate",
        "scenarios/retry-loop.toml",
        "--replicas",
        "2",
        "--days",
        "1",
        "-q",
        "--format",
        "json",
    ],
];

#[test]
fn a_closed_pipe_ends_quietly_with_exit_0() {
    for args in WRITERS {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_burnrate"))
            .args(args)
            .current_dir(root())
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
    // The shell's way, with pipefail so burnrate's exit code counts.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; {} catalog | head -1",
            env!("CARGO_BIN_EXE_burnrate")
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn a_full_disk_is_one_line_and_exit_3() {
    for args in WRITERS {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_burnrate"))
            .args(args)
            .current_dir(root())
            .stdout(full_disk())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert_eq!(
            err.trim_end(),
            "error: cannot write to stdout: No space left on device (os error 28)",
            "{args:?}"
        );
    }
}

#[test]
fn out_onto_an_earlier_runs_directory_leaves_only_the_new_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    burnrate()
        .args(["simulate", "-q", "--replicas", "2", "--days", "1", "--out"])
        .arg(&dir)
        .arg(root().join("scenarios/retry-loop.toml"))
        .assert()
        .success();
    assert!(dir.join("report.html").exists());
    burnrate()
        .args(["levers", "-q", "--replicas", "2", "--days", "1", "--out"])
        .arg(&dir)
        .arg(root().join("scenarios/support-agent.toml"))
        .assert()
        .success();
    assert_eq!(
        crate::cli_shard::listing(&dir),
        [
            ".burnrate-files",
            "lever_waterfall.png",
            "lever_waterfall.svg",
            "levers.json",
            "levers.md"
        ],
        "the simulate run's report.html, CSVs and charts are gone"
    );
}

/// The lines after `Examples:` at the end of a help text.
fn examples_of(help: &str) -> Vec<String> {
    let (_, tail) = help
        .split_once("\nExamples:\n")
        .unwrap_or_else(|| panic!("no Examples: section in\n{help}"));
    let lines: Vec<String> = tail
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            assert!(l.starts_with("  "), "the examples end the help: {l:?}");
            l.trim().to_string()
        })
        .collect();
    lines
}

fn subcommands_in_help() -> Vec<String> {
    let help = stdout_of(&["--help"]);
    let (_, tail) = help.split_once("Commands:\n").unwrap();
    tail.lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a server example (`exec` so the shell becomes the server) and waits for its
/// `listening on` line.
fn start_server(cmd: &str, dir: &Path, path: &str) -> (Child, String) {
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("exec {cmd}"))
        .current_dir(dir)
        .env("PATH", path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Child(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{cmd}: first line {line:?}"))
        .to_string();
    (child, url)
}

/// `POST /_mock/reset` over a bare HTTP/1.1 connection.
fn reset_mock(url: &str) {
    use std::io::{Read, Write};
    let addr = url.strip_prefix("http://").unwrap();
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "POST /_mock/reset HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

#[test]
fn every_help_ends_with_two_or_three_examples_that_work() {
    assert_eq!(subcommands_in_help(), SUBCOMMANDS, "update SUBCOMMANDS");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::os::unix::fs::symlink(root().join("scenarios"), dir.join("scenarios")).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_burnrate")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The drive examples' endpoint (http://127.0.0.1:8080) is this mock, on a free port; its
    // request log is what the calibrate examples read.
    let (_mock, mock_url) = start_server(
        "burnrate mock --port 0 --seed 7 --time-scale 0 --request-log requests.jsonl",
        dir,
        &path,
    );
    for sub in SUBCOMMANDS {
        if sub == "calibrate" {
            // The mock writes its log in batches; a reset flushes it.
            reset_mock(&mock_url);
        }
        let help = stdout_of(&[sub, "--help"]);
        let examples = examples_of(&help);
        assert!(
            (2..=3).contains(&examples.len()),
            "{sub}: {} examples",
            examples.len()
        );
        for example in examples {
            assert!(example.contains(&format!("burnrate {sub}")), "{example}");
            if sub == "mock" {
                // A server: it must come up; then it is stopped.
                let (_server, url) = start_server(&example, dir, &path);
                assert!(url.starts_with("http://127.0.0.1:"), "{example}: {url}");
                continue;
            }
            let cmd = example.replace("http://127.0.0.1:8080", &mock_url);
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .current_dir(dir)
                .env("PATH", &path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{example}\nexit {:?}\nstdout: {}\nstderr: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // What the examples say they write.
    for file in [
        "report/report.html",
        "models.toml",
        "shards/shard-0000-of-0002.json",
        "shards/shard-0001-of-0002.json",
        "merged/result.json",
        "fit.json",
        "burnrate.bash",
        "_burnrate",
        "burnrate.fish",
        "burnrate.1",
        "burnrate-simulate.1",
    ] {
        let len = std::fs::metadata(dir.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .len();
        assert!(len > 0, "{file} is empty");
    }
}
