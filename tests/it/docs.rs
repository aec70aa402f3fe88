//! The guide stays honest: every fenced TOML block in the README and `docs/` parses (scenario
//! blocks validate and simulate, mock-config blocks load), every shell block passes `bash -n`,
//! every `burnrate SUB --flag` shown anywhere in code (blocks or inline spans) is a flag of
//! that subcommand's `--help`, every relative link points at a file that exists, and no page
//! names a path that exists only on one machine.

use crate::cli::{burnrate, json_stdout};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pages a user reads.
fn pages() -> Vec<PathBuf> {
    let mut out = vec![
        root().join("README.md"),
        root().join("ARCHITECTURE.md"),
        root().join("python/README.md"),
    ];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    out.extend(docs);
    out
}

#[derive(Debug)]
struct Block {
    page: String,
    /// 1-based line of the opening fence.
    line: usize,
    lang: String,
    text: String,
}

/// Fenced blocks, including those indented inside list items (the indent is removed).
fn blocks(page: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(page).unwrap();
    let name = page.strip_prefix(root()).unwrap().display().to_string();
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, String, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match (&mut open, trimmed.strip_prefix("```")) {
            (None, Some(lang)) => open = Some((i + 1, indent, lang.trim().to_string(), Vec::new())),
            (Some(_), Some("")) => {
                let (line, indent, lang, body) = open.take().unwrap();
                let text = body
                    .iter()
                    .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
                    .collect::<Vec<_>>()
                    .join("\n");
                out.push(Block {
                    page: name.clone(),
                    line,
                    lang,
                    text,
                });
            }
            (Some((_, _, _, body)), _) => body.push(line),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "{name}: a code fence is never closed");
    out
}

fn all_blocks() -> Vec<Block> {
    pages().iter().flat_map(|p| blocks(p)).collect()
}

#[test]
fn every_code_block_names_its_language() {
    let unnamed: Vec<String> = all_blocks()
        .iter()
        .filter(|b| b.lang.is_empty())
        .map(|b| format!("{}:{}", b.page, b.line))
        .collect();
    assert!(
        unnamed.is_empty(),
        "blocks without a language (the docs test cannot check them): {unnamed:?}"
    );
}

#[test]
fn every_toml_block_parses_and_scenario_and_mock_blocks_load() {
    let toml_blocks: Vec<Block> = all_blocks()
        .into_iter()
        .filter(|b| b.lang == "toml")
        .collect();
    assert!(
        toml_blocks.len() >= 2,
        "the scenario and mock-config references"
    );
    let (mut scenarios, mut mock_configs) = (0, 0);
    for b in &toml_blocks {
        let at = format!("{}:{}", b.page, b.line);
        let table: toml::Table =
            toml::from_str(&b.text).unwrap_or_else(|e| panic!("{at}: not TOML: {e}"));
        if table.contains_key("steps") {
            scenarios += 1;
            burnrate_sim::Scenario::from_toml(&at, &b.text)
                .unwrap_or_else(|e| panic!("{at}: not a valid scenario: {e}"));
        } else if ["prices", "faults", "defaults"]
            .iter()
            .any(|k| table.contains_key(*k))
        {
            mock_configs += 1;
            let config = burnrate_mock::MockConfig::from_toml_str(&b.text)
                .unwrap_or_else(|e| panic!("{at}: not a valid mock config: {e}"));
            // The guide shows only the current spelling.
            assert!(config.warnings.is_empty(), "{at}: {:?}", config.warnings);
        }
    }
    assert!(
        scenarios >= 1 && mock_configs >= 1,
        "{scenarios} scenario and {mock_configs} mock-config blocks"
    );
}

/// The scenario reference in docs/scenarios.md is a whole scenario: it runs.
#[test]
fn the_scenario_reference_simulates() {
    let page = root().join("docs/scenarios.md");
    let block = blocks(&page)
        .into_iter()
        .find(|b| b.lang == "toml" && b.text.contains("[[steps]]"))
        .expect("docs/scenarios.md has the scenario reference");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reference.toml");
    std::fs::write(&path, &block.text).unwrap();
    let v = json_stdout(
        burnrate()
            .args([
                "simulate",
                "--format",
                "json",
                "-q",
                "--replicas",
                "2",
                "--days",
                "3",
            ])
            .arg(&path),
    );
    assert!(v["tasks"]["total"].as_u64().unwrap() > 0);
    assert!(v["routing"]["cheap_tier_share"].as_f64().is_some());
}

#[test]
fn every_shell_block_is_valid_bash() {
    let mut checked = 0;
    for b in all_blocks()
        .iter()
        .filter(|b| matches!(b.lang.as_str(), "sh" | "bash"))
    {
        let out = std::process::Command::new("bash")
            .arg("-n")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(b.text.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(
            out.status.success(),
            "{}:{}: bash -n: {}",
            b.page,
            b.line,
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} shell blocks found");
}

use crate::cli_shell::SUBCOMMANDS;

/// `(subcommand, long flag)` pairs in one line of code: `burnrate SUB ... --flag`, up to the
/// end of that command (a pipe, `;`, `&&`, a redirection or a closing quote ends it). `None`
/// as subcommand is a top-level flag (`burnrate --version`).
fn invocations(line: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].trim_start_matches(['`', '(', '$', '"', '\'']);
        // `cargo run --release -- simulate ...` runs burnrate too.
        let starts = w == "burnrate" || (w == "--" && i >= 2 && words[i - 2] == "run");
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let sub = words
            .get(j)
            .map(|s| s.trim_end_matches(['`', '"', '\'', ')']))
            .filter(|s| SUBCOMMANDS.contains(s))
            .map(str::to_string);
        if sub.is_some() {
            j += 1;
        }
        while j < words.len() {
            let raw = words[j];
            if ["|", ";", "&&", "||", ">", ">>", "<"].contains(&raw) || raw.starts_with('>') {
                break;
            }
            let word = raw.trim_end_matches(['`', '"', '\'', ')', ',', ';']);
            if let Some(flag) = word.strip_prefix("--")
                && !flag.is_empty()
            {
                let name = flag.split('=').next().unwrap();
                if name.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                    out.push((sub.clone(), format!("--{name}")));
                }
            }
            let ended = raw.ends_with('`') || raw.ends_with(')') || raw.ends_with('"');
            j += 1;
            if ended {
                break;
            }
        }
        i = j;
    }
    out
}

#[test]
fn the_invocation_parser_reads_commands_as_written() {
    assert_eq!(
        invocations("  - run: burnrate check s.toml --precision 1% --format junit > x.xml --bogus"),
        vec![
            (Some("check".into()), "--precision".into()),
            (Some("check".into()), "--format".into())
        ]
    );
    assert_eq!(
        invocations("cargo run --release -- simulate s.toml --days=3 | head"),
        vec![(Some("simulate".into()), "--days".into())]
    );
    assert_eq!(
        invocations("`burnrate --version` prints `--other`"),
        vec![(None, "--version".into())]
    );
}

/// Every code line and inline code span of every page.
fn code_lines() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for b in all_blocks() {
        for (k, line) in b.text.lines().enumerate() {
            out.push((format!("{}:{}", b.page, b.line + 1 + k), line.to_string()));
        }
    }
    for page in pages() {
        let name = page.strip_prefix(root()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&page).unwrap();
        let mut in_block = false;
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                in_block = !in_block;
                continue;
            }
            if in_block {
                continue;
            }
            // Odd pieces between backticks are inline code spans.
            for span in line.split('`').skip(1).step_by(2) {
                out.push((format!("{name}:{}", i + 1), format!("`{span}`")));
            }
        }
    }
    out
}

#[test]
fn every_burnrate_flag_in_the_docs_exists() {
    let mut help: BTreeMap<Option<String>, String> = BTreeMap::new();
    let mut missing = BTreeSet::new();
    let mut checked = 0;
    for (at, line) in code_lines() {
        for (sub, flag) in invocations(&line) {
            let text = help.entry(sub.clone()).or_insert_with(|| {
                let mut cmd = burnrate();
                if let Some(s) = &sub {
                    cmd.arg(s);
                }
                let out = cmd
                    .arg("--help")
                    .assert()
                    .success()
                    .get_output()
                    .stdout
                    .clone();
                String::from_utf8(out).unwrap()
            });
            checked += 1;
            // `--help` and `--version` are clap's own; a flag is listed as `--name` followed
            // by a space, `=`, `<` or the end of the line.
            let listed = ["--help", "--version"].contains(&flag.as_str())
                || text
                    .lines()
                    .any(|l| l.split([' ', ',', '=', '<', '[']).any(|w| w == flag));
            if !listed {
                missing.insert(format!(
                    "{at}: burnrate {} {flag}",
                    sub.as_deref().unwrap_or("")
                ));
            }
        }
    }
    assert!(checked >= 40, "only {checked} flags found in the docs");
    assert!(
        missing.is_empty(),
        "flags the docs show that `--help` does not list:\n{}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn relative_links_point_at_files_that_exist() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let dir = page.parent().unwrap();
        for (i, line) in text.lines().enumerate() {
            for piece in line.split("](").skip(1) {
                let target = piece.split(')').next().unwrap();
                let file = target.split('#').next().unwrap();
                if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                    continue;
                }
                if !dir.join(file).exists() {
                    broken.push(format!("{}:{}: {target}", page.display(), i + 1));
                }
            }
        }
    }
    assert!(broken.is_empty(), "links to nothing: {broken:?}");
}

#[test]
fn no_page_names_a_path_of_one_machine() {
    // Home directories, this project's build machines' work trees and scratch clones.
    const MACHINE_PATHS: &[&str] = &["/work/", "/home/", "/Users/", "/root/", "/mnt/", "/tmp/"];
    let mut found = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (i, line) in text.lines().enumerate() {
            for p in MACHINE_PATHS {
                if line.contains(p) {
                    found.push(format!("{}:{}: {}", page.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "machine-specific paths: {found:#?}");
}
