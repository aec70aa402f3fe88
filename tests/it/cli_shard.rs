//! `shard` from job-array environments and `merge` of a directory: every way of running the
//! shards merges to exactly the single-machine output, and bad sets of shards are refused with
//! a message naming the problem.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn burnrate() -> Command {
    Command::cargo_bin("burnrate").expect("the binary is built")
}

fn scenario() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/support-agent.toml")
}

const HORIZON: [&str; 7] = ["--replicas", "7", "--days", "2", "--seed", "11", "-q"];

/// Every variable the resolver reads, removed so the test machine's own (a CI runner inside a
/// Slurm job, say) cannot leak in.
const ARRAY_VARS: [&str; 7] = [
    "JOB_COMPLETION_INDEX",
    "BURNRATE_SHARDS",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
    "SLURM_ARRAY_TASK_COUNT",
];

fn clean(mut cmd: std::process::Command) -> std::process::Command {
    for v in ARRAY_VARS {
        cmd.env_remove(v);
    }
    cmd
}

fn whole_json() -> Vec<u8> {
    burnrate()
        .args(["simulate", "--format", "json"])
        .args(HORIZON)
        .arg(scenario())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

fn merge_json(shards: &Path) -> Vec<u8> {
    burnrate()
        .args(["merge", "--format", "json"])
        .args(HORIZON)
        .arg(scenario())
        .arg(shards)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// Runs `count` shard processes at once, each configured only by `env(i)`, like the tasks of a
/// job array; all write into `dir/`.
fn run_array(dir: &Path, count: u32, extra: &[&str], env: impl Fn(u32) -> Vec<(String, String)>) {
    let children: Vec<_> = (0..count)
        .map(|i| {
            let mut cmd = clean(std::process::Command::new(env!("CARGO_BIN_EXE_burnrate")));
            cmd.arg("shard")
                .arg(scenario())
                .args(HORIZON)
                .args(extra)
                .arg("--out")
                .arg(format!("{}/", dir.display()))
                .envs(env(i))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd.spawn().expect("spawn a shard")
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "shard {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The sorted file names in `dir`.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn kv(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn a_kubernetes_indexed_job_merges_to_the_single_machine_result() {
    let dir = tempfile::tempdir().unwrap();
    // As the Indexed Job in examples/kubernetes: JOB_COMPLETION_INDEX from Kubernetes,
    // BURNRATE_SHARDS from the manifest, no index flags.
    run_array(dir.path(), 4, &[], |i| {
        kv(&[
            ("JOB_COMPLETION_INDEX", i.to_string()),
            ("BURNRATE_SHARDS", "4".into()),
        ])
    });
    assert_eq!(
        listing(dir.path()),
        [
            "shard-0000-of-0004.json",
            "shard-0001-of-0004.json",
            "shard-0002-of-0004.json",
            "shard-0003-of-0004.json"
        ]
    );
    assert_eq!(merge_json(dir.path()), whole_json());
}

#[test]
fn a_slurm_array_with_an_offset_and_a_ci_matrix_merge_too() {
    let whole = whole_json();
    // `sbatch --array=5-7`: task ids 5..7, shard indices 0..2.
    let slurm = tempfile::tempdir().unwrap();
    run_array(slurm.path(), 3, &[], |i| {
        kv(&[
            ("SLURM_ARRAY_TASK_ID", (i + 5).to_string()),
            ("SLURM_ARRAY_TASK_MIN", "5".into()),
            ("SLURM_ARRAY_TASK_MAX", "7".into()),
            ("SLURM_ARRAY_TASK_COUNT", "3".into()),
        ])
    });
    assert_eq!(merge_json(slurm.path()), whole);
    // A CI matrix: the index in a variable named by --index-env.
    let matrix = tempfile::tempdir().unwrap();
    run_array(
        matrix.path(),
        2,
        &["--index-env", "MATRIX_SHARD", "--count", "2"],
        |i| kv(&[("MATRIX_SHARD", i.to_string())]),
    );
    assert_eq!(merge_json(matrix.path()), whole);
}

/// `shard` with no index flags and only `env` from the job array: exit code and stderr.
fn shard_from_env(out: &Path, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = clean(std::process::Command::new(env!("CARGO_BIN_EXE_burnrate")))
        .envs(env.iter().copied())
        .arg("shard")
        .arg(scenario())
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn without_flags_or_an_array_environment_shard_says_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = shard_from_env(dir.path(), &[]);
    assert_eq!(code, Some(2));
    for needle in [
        "--index I --count N",
        "JOB_COMPLETION_INDEX",
        "SLURM_ARRAY_TASK_ID",
        "--index-env",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
    assert_eq!(err.lines().count(), 1, "{err}");
    // An index without a count.
    let (code, err) = shard_from_env(dir.path(), &[("JOB_COMPLETION_INDEX", "1")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("BURNRATE_SHARDS"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

fn shard_to(path: &Path, index: u32, count: u32, horizon: &[&str]) {
    burnrate()
        .args([
            "shard",
            "--index",
            &index.to_string(),
            "--count",
            &count.to_string(),
        ])
        .args(horizon)
        .arg("--out")
        .arg(path)
        .arg(scenario())
        .assert()
        .success();
}

/// Every shard of `count` in `parent/shards/`.
fn all_shards(parent: &Path, count: u32) -> PathBuf {
    let dir = parent.join("shards");
    for i in 0..count {
        shard_to(&dir.join(""), i, count, &HORIZON);
    }
    dir
}

fn merge_err(args: &[&Path]) -> String {
    let out = burnrate()
        .args(["merge"])
        .args(HORIZON)
        .arg(scenario())
        .args(args)
        .assert()
        .code(2)
        .get_output()
        .clone();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn merge_refuses_duplicates_gaps_and_shards_of_another_seed_or_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = all_shards(tmp.path(), 3);
    // A gap.
    let gap = tmp.path().join("gap");
    std::fs::create_dir(&gap).unwrap();
    for i in [0, 2] {
        let name = format!("shard-{i:04}-of-0003.json");
        std::fs::copy(dir.join(&name), gap.join(&name)).unwrap();
    }
    let err = merge_err(&[&gap]);
    assert!(err.contains("shards missing: [1]"), "{err}");
    // A duplicate: the same shard under another name.
    let dup = tmp.path().join("dup.json");
    std::fs::copy(dir.join("shard-0001-of-0003.json"), &dup).unwrap();
    let err = merge_err(&[&dir, &dup]);
    assert!(
        err.contains("shard 1 appears twice") && err.contains("dup.json"),
        "{err}"
    );
    // Another seed: its file is named.
    let other = tmp.path().join("other");
    let mut other_seed = HORIZON;
    other_seed[5] = "12";
    shard_to(&other.join(""), 1, 3, &other_seed);
    let mixed = tmp.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    for i in [0, 2] {
        let name = format!("shard-{i:04}-of-0003.json");
        std::fs::copy(dir.join(&name), mixed.join(&name)).unwrap();
    }
    std::fs::copy(
        other.join("shard-0001-of-0003.json"),
        mixed.join("shard-0001-of-0003.json"),
    )
    .unwrap();
    let err = merge_err(&[&mixed]);
    assert!(
        err.contains("shard-0001-of-0003.json")
            && err.contains("another scenario or other options"),
        "{err}"
    );
    // Another scenario.
    let research = tmp.path().join("research");
    burnrate()
        .args(["shard", "--index", "0", "--count", "1"])
        .args(HORIZON)
        .arg("--out")
        .arg(research.join(""))
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/research-agent.toml"))
        .assert()
        .success();
    let err = merge_err(&[&research]);
    assert!(err.contains("another scenario"), "{err}");
    // An empty directory and a file that is not a shard.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(merge_err(&[&empty]).contains("holds no shard files"));
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, "{}").unwrap();
    assert!(merge_err(&[&junk]).contains("is not a burnrate shard summary"));
}

#[test]
fn merge_writes_its_report_with_out_like_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = all_shards(tmp.path(), 2);
    let report = tmp.path().join("report");
    burnrate()
        .args(["merge"])
        .args(HORIZON)
        .arg(scenario())
        .arg(&shards)
        .arg("--out")
        .arg(&report)
        .assert()
        .success();
    let result = std::fs::read(report.join("result.json")).unwrap();
    let simulated = tmp.path().join("simulated");
    burnrate()
        .args(["simulate"])
        .args(HORIZON)
        .arg(scenario())
        .arg("--out")
        .arg(&simulated)
        .assert()
        .success();
    assert_eq!(
        result,
        std::fs::read(simulated.join("result.json")).unwrap()
    );
}
