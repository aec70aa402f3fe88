//! Puts the git commit the binary was built from into `BURNRATE_GIT_COMMIT` for `--version`.
//! A build outside a git checkout (a source archive) says `unknown` unless the builder sets
//! `BURNRATE_GIT_COMMIT` itself, as the release workflow may.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=BURNRATE_GIT_COMMIT");
    let commit = std::env::var("BURNRATE_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    // Rebuild when HEAD moves: HEAD itself (branch switches) and the branch it points at.
    for path in ["HEAD", "packed-refs"] {
        // Only files that exist: cargo reruns a build script forever for a missing one.
        if let Some(p) = git(&["rev-parse", "--git-path", path])
            && std::path::Path::new(&p).exists()
        {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &branch])
        && std::path::Path::new(&p).exists()
    {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rustc-env=BURNRATE_GIT_COMMIT={commit}");
}
