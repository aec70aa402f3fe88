#!/usr/bin/env bash
# Time to a decision-grade answer: wall time of `simulate --precision 1%` on the article's
# support agent (300 tasks/day) and on the same agent at 30,000 tasks/day, 2 threads, release
# build; interleaved three times with the SimPy model (bench/simpy_support.py) running the same
# replicas x days as the 300 tasks/day run, because the VM's speed drifts from minute to minute.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv /tmp/burnrate-bench-venv >/dev/null
/tmp/burnrate-bench-venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
cargo build --release --quiet
big=$(mktemp --suffix=.toml)
trap 'rm -f "$big"' EXIT
sed 's/^tasks_per_day = 300$/tasks_per_day = 30000/' scenarios/support-agent.toml >"$big"
grep -q '^tasks_per_day = 30000$' "$big"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
timed() { # scenario -> "seconds replicas achieved"
  local start end json
  start=$(date +%s.%N)
  json=$(./target/release/burnrate simulate "$1" --precision 1% --threads 2 --format json --quiet)
  end=$(date +%s.%N)
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%.3f %d %.4f" % (float(sys.argv[3])-float(sys.argv[2]), r["replicas"], r["precision"]["achieved"]))' "$json" "$start" "$end"
}
for round in 1 2 3; do
  read -r s1 r1 a1 <<<"$(timed scenarios/support-agent.toml)"
  read -r s2 r2 a2 <<<"$(timed "$big")"
  start=$(date +%s.%N)
  /tmp/burnrate-bench-venv/bin/python bench/simpy_support.py 30 "$r1" >/dev/null
  end=$(date +%s.%N)
  simpy=$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[2])-float(sys.argv[1])))' "$start" "$end")
  echo "round $round: support-agent ${s1} s (${r1} replicas x 30 days, +-${a1}) | 30,000 tasks/day ${s2} s (${r2} replicas, +-${a2}) | SimPy, ${r1} replicas x 30 days: ${simpy} s"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
