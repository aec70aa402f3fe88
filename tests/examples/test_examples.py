"""examples/ as users run them: every YAML file parses, the Kubernetes manifests validate
against the Kubernetes 1.37 JSON schema (strict: unknown fields are errors), and the Indexed Job
and the GitHub Actions workflow are executed the way their engines would run them, with the
merge compared byte for byte with the single-machine run.

Run by scripts/test (`.venv/bin/python -m pytest tests/examples`) after `cargo test` built
target/debug/burnrate; BURNRATE_BIN overrides the binary.

The only liberty taken with the examples: their horizon (--replicas/--days) is shortened so
the test takes seconds; commands, environment and file layout are the manifests' own."""

import copy
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
KUBERNETES_VERSION = "1.37.0"
SMALL = {"--replicas": "6", "--days": "2"}


def burnrate_bin():
    b = os.environ.get("BURNRATE_BIN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "burnrate"
    )
    if not os.access(b, os.X_OK):
        pytest.fail(f"{b} is not built: run `cargo build` (scripts/test does) or set BURNRATE_BIN")
    return b


def yaml_files():
    files = sorted(glob.glob(os.path.join(EXAMPLES, "**", "*.y*ml"), recursive=True))
    assert files, "examples/ has YAML files"
    return files


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: os.path.relpath(p, EXAMPLES))
def test_every_yaml_example_parses(path):
    docs = load(path)
    assert docs and all(isinstance(d, dict) for d in docs)


K8S = sorted(glob.glob(os.path.join(EXAMPLES, "kubernetes", "*.yaml")))


@pytest.mark.parametrize("path", K8S, ids=os.path.basename)
def test_kubernetes_manifests_validate_against_the_schema(path):
    for doc in load(path):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_is_not_vacuous():
    (job,) = load(os.path.join(EXAMPLES, "kubernetes", "shard-job.yaml"))
    broken = copy.deepcopy(job)
    broken["spec"]["completions"] = "four"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    typo = copy.deepcopy(job)
    typo["spec"]["template"]["spec"]["containers"][0]["volumeMount"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, KUBERNETES_VERSION, strict=True)


def container_command(job, mounts):
    """The container's command line and environment, with mount paths mapped to local dirs and
    the horizon shortened."""
    c = job["spec"]["template"]["spec"]["containers"][0]
    argv = list(c.get("command", [])) + list(c.get("args", []))
    assert argv[0] == "/burnrate"  # the Containerfile image's binary
    out = [burnrate_bin()]
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in SMALL:
            out += [a, SMALL[a]]
            i += 2
            continue
        for mount, local in mounts.items():
            if a == mount or a.startswith(mount + "/"):
                a = local + a[len(mount):]
        out.append(a)
        i += 1
    for m in c.get("volumeMounts", []):
        assert m["mountPath"] in mounts, f"unmapped volume {m['mountPath']}"
    env = {e["name"]: e["value"] for e in c.get("env", [])}
    return out, env


def base_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "JOB_COMPLETION", "BURNRATE_"))}
    return env


def single_machine(tmp_path, scenario, extra):
    out = tmp_path / "single"
    subprocess.run(
        [burnrate_bin(), "simulate", scenario, *extra, "--quiet", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return (out / "result.json").read_bytes()


def test_the_indexed_job_runs_as_kubernetes_runs_it(tmp_path):
    (job,) = load(os.path.join(EXAMPLES, "kubernetes", "shard-job.yaml"))
    (merge,) = load(os.path.join(EXAMPLES, "kubernetes", "merge-job.yaml"))
    assert job["spec"]["completionMode"] == "Indexed"
    completions = job["spec"]["completions"]
    # The ConfigMap the README creates from scenarios/support-agent.toml, and the shared volume.
    scenario_dir = tmp_path / "scenario"
    scenario_dir.mkdir()
    shutil.copy(os.path.join(ROOT, "scenarios", "support-agent.toml"), scenario_dir / "scenario.toml")
    shards = tmp_path / "shards"
    shards.mkdir()
    mounts = {"/scenario": str(scenario_dir), "/shards": str(shards)}

    argv, env = container_command(job, mounts)
    assert env["BURNRATE_SHARDS"] == str(completions)
    # Every pod at once; Kubernetes gives each only JOB_COMPLETION_INDEX.
    pods = [
        subprocess.Popen(
            argv,
            env={**base_env(), **env, "JOB_COMPLETION_INDEX": str(i)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(completions)
    ]
    for i, p in enumerate(pods):
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, f"pod {i}: {err.decode()}"
    assert sorted(os.listdir(shards)) == [f"shard-{i:04d}-of-{completions:04d}.json" for i in range(completions)]

    argv, env = container_command(merge, mounts)
    done = subprocess.run(argv, env={**base_env(), **env}, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()

    # The same horizon on one machine: the merged result is byte for byte the same.
    i = argv.index("--seed")
    extra = ["--replicas", SMALL["--replicas"], "--days", SMALL["--days"], "--seed", argv[i + 1]]
    assert (shards / "report" / "result.json").read_bytes() == single_machine(
        tmp_path, str(scenario_dir / "scenario.toml"), extra
    )


def test_the_github_actions_workflow_runs_its_shards_and_merge(tmp_path):
    (wf,) = load(os.path.join(EXAMPLES, "github-actions", "sharded-simulation.yml"))
    jobs = wf["jobs"]
    assert jobs["merge"]["needs"] == "shard"
    matrix = jobs["shard"]["strategy"]["matrix"]["shard"]
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    os.symlink(os.path.join(ROOT, "scenarios"), workdir / "scenarios")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(burnrate_bin(), bindir / "burnrate")
    horizon = f"--replicas {SMALL['--replicas']} --days {SMALL['--days']} --seed 42"
    assert wf["env"]["HORIZON"].startswith("--replicas")
    assert "--precision" in wf["env"]["GATE_HORIZON"]
    env = {
        **base_env(),
        **{k: str(v) for k, v in wf["env"].items()},
        "HORIZON": horizon,
        # The gate keeps the workflow's own horizon: it runs until its interval decides.
        "PATH": f"{bindir}:{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }

    def run_steps(job, matrix_value=None):
        for step in job["steps"]:
            if "run" not in step or step.get("name") == "Install burnrate":
                continue  # actions (checkout, artifacts) and downloading the release binary
            script = step["run"]
            step_env = {k: str(v) for k, v in step.get("env", {}).items()}
            if matrix_value is not None:
                script = script.replace("${{ matrix.shard }}", str(matrix_value))
                step_env = {k: v.replace("${{ matrix.shard }}", str(matrix_value)) for k, v in step_env.items()}
            assert "${{" not in script, script
            done = subprocess.run(
                ["bash", "-eo", "pipefail", "-c", script],
                cwd=workdir,
                env={**env, **step_env},
                capture_output=True,
                timeout=300,
            )
            assert done.returncode == 0, f"{step.get('name', script)}: {done.stderr.decode()}"

    # Each matrix job uploads shards/; download-artifact with merge-multiple puts every file
    # into one shards/ again, which is what running them in one checkout gives.
    for value in matrix:
        run_steps(jobs["shard"], value)
    assert len(os.listdir(workdir / "shards")) == len(matrix)
    run_steps(jobs["merge"])
    merged = (workdir / "report" / "result.json").read_bytes()
    assert merged == single_machine(tmp_path, str(workdir / env["SCENARIO"]), horizon.split())
    assert "p95" in (tmp_path / "summary.md").read_text()


REPO = Path(ROOT)
WORKFLOWS = [REPO / ".github/workflows/release.yml", *sorted((REPO / "examples/github-actions").glob("*.yml"))]


def test_workflows_pass_the_workflow_schema_and_zizmor():
    """The release workflow and the Actions examples are valid GitHub workflows (SchemaStore's
    schema, as bundled by check-jsonschema) and clean under zizmor's offline audits (with the
    ref-pin policy of .github/zizmor.yml; docs/install.md)."""
    bindir = Path(sys.executable).parent
    schema = subprocess.run(
        [bindir / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOWS],
        capture_output=True, text=True, timeout=120,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    lint = subprocess.run(
        [bindir / "zizmor", "--offline", "--config", REPO / ".github/zizmor.yml", *WORKFLOWS],
        capture_output=True, text=True, timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_release_workflow_builds_wheels_archives_and_checksums():
    wf = yaml.safe_load((REPO / ".github/workflows/release.yml").read_text())
    steps = {name: job["steps"] for name, job in wf["jobs"].items()}
    assert any(s.get("uses", "").startswith("PyO3/maturin-action@") for s in steps["wheels"])
    targets = {m["os"].split("-")[0] for m in wf["jobs"]["wheels"]["strategy"]["matrix"]["include"]}
    assert targets == {"ubuntu", "macos"}
    assert any("tar -czf" in s.get("run", "") for s in steps["archives"])
    assert any("sha256sum" in s.get("run", "") for s in steps["release"])
