//! No README, guide or example tells a user to install a package we do not own. `burnrate` on
//! PyPI and crates.io belongs to other projects (checked 2026-12-06: PyPI `burnrate` 0.1.1 "Stop
//! overpaying for AI...", crates.io `burnrate` 0.1.17, a desktop usage monitor), so ours are
//! named `burnrate-llm*` (`pip index versions burnrate-llm` and `cargo info burnrate-llm`
//! answered "no matching distribution" / "could not find" that day). Every install command in
//! the docs must name one of ours, a path or a wheel file, or a third-party package on the
//! list below (each one a real, well-known project the docs deliberately use).

use std::path::{Path, PathBuf};

/// Ours: the wheel and the crates of this workspace.
const OURS: &[&str] = &[
    "burnrate-llm",
    "burnrate-llm-sim",
    "burnrate-llm-mock",
    "burnrate-llm-reports",
    "burnrate-llm-drive",
];

/// Third-party packages the docs install on purpose.
const THIRD_PARTY: &[&str] = &[
    "pytest",
    "openai",
    "anthropic",
    "maturin",
    "testcontainers",
    "cargo-fuzz",
    "google-genai",
    "numpy",
    "simpy",
    "llmsim",
    "oha",
    "requests",
    "httpx",
    "opentelemetry-sdk",
];

fn files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![root.join("README.md"), root.join("python/README.md")];
    let mut stack = vec![root.join("docs"), root.join("examples")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.push(root.join("Containerfile"));
    out
}

/// The package names of every install command in `text`: `pip install`, `uv add`,
/// `cargo install`, `cargo add`, `npm install` (flags and their values, paths, wheel files and
/// requirement files dropped; version pins stripped).
fn installed_names(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    let mut names = Vec::new();
    for line in joined.lines() {
        for cmd in [
            "pip install",
            "pip3 install",
            "uv add",
            "cargo install",
            "cargo add",
            "npm install",
        ] {
            let mut rest = line;
            while let Some(at) = rest.find(cmd) {
                rest = &rest[at + cmd.len()..];
                let end = rest
                    .find(['&', ';', '|', '`', '#', '(', ')', '"'])
                    .unwrap_or(rest.len());
                let mut words = rest[..end].split_whitespace();
                while let Some(w) = words.next() {
                    if w.starts_with('-') {
                        // Flags that take a value: skip it too.
                        if [
                            "-r",
                            "-c",
                            "-e",
                            "--requirement",
                            "--root",
                            "--target-dir",
                            "--profile",
                            "--index-url",
                            "--version",
                            "--git",
                            "--tag",
                            "--rev",
                            "--branch",
                            "-d",
                        ]
                        .contains(&w)
                        {
                            words.next();
                        }
                        continue;
                    }
                    let local = w.starts_with('.')
                        || w.contains('/')
                        || w.ends_with(".whl")
                        || w.starts_with('$')
                        || w.starts_with('<');
                    if !local {
                        let name = w.split(['=', '<', '>', '[', '@', '~', '!']).next().unwrap();
                        names.push(name.trim_matches('\'').to_lowercase());
                    }
                }
            }
        }
    }
    names
}

#[test]
fn the_extractor_finds_install_commands_and_drops_paths_and_flags() {
    let text = "run `pip install --quiet burnrate==0.1.0 pytest` then\n\
                cargo install --path . --locked && cargo install --git https://x/y burnrate-llm\n\
                - run: pip install -r req.txt dist/*.whl 'openai>=1'";
    assert_eq!(
        installed_names(text),
        ["burnrate", "pytest", "burnrate-llm", "openai"]
    );
}

#[test]
fn docs_and_examples_install_only_names_we_own_or_chose() {
    let mut bad = Vec::new();
    let mut seen = 0;
    for file in files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for name in installed_names(&text) {
            seen += 1;
            if !OURS.contains(&name.as_str()) && !THIRD_PARTY.contains(&name.as_str()) {
                bad.push(format!("{}: installs `{name}`", file.display()));
            }
        }
    }
    assert!(
        seen > 0,
        "no install command found: the extractor is broken"
    );
    assert!(
        bad.is_empty(),
        "install commands naming packages we do not own:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_package_names_are_the_ones_we_own() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifests = [
        "Cargo.toml",
        "sim/Cargo.toml",
        "mock-provider/Cargo.toml",
        "reports/Cargo.toml",
        "drive/Cargo.toml",
    ];
    for m in manifests {
        let text = std::fs::read_to_string(root.join(m)).unwrap();
        let name = text
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .unwrap();
        let name = name.trim_end_matches('"');
        assert!(
            OURS.contains(&name),
            "{m}: package `{name}` is not a name we own"
        );
    }
    let pyproject = std::fs::read_to_string(root.join("pyproject.toml")).unwrap();
    assert!(
        pyproject.contains("\nname = \"burnrate-llm\"\n"),
        "pyproject.toml's project name"
    );
}
