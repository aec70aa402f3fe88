#!/usr/bin/env bash
# The engine against the same model in SimPy (bench/simpy_support.py) and without time in
# vectorised numpy (bench/numpy_support.py, one thread), measured in one run on this machine,
# interleaved three times because the VM's speed drifts from minute to minute.
# Prints tasks/s and events/s for burnrate (1 and 2 threads, the article's support agent,
# 200 replicas x 30 days), tasks/s for SimPy (20 replicas x 30 days) and numpy (200 x 30),
# and the per-core ratios (burnrate on 1 thread over each peer).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv /tmp/burnrate-bench-venv >/dev/null
/tmp/burnrate-bench-venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
cargo build --release --quiet
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
burnrate_rate() { # threads -> "tasks/s events/s"
  local start end json
  start=$(date +%s.%N)
  json=$(./target/release/burnrate simulate scenarios/support-agent.toml --replicas 200 --days 30 --threads "$1" --format json --quiet)
  end=$(date +%s.%N)
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); s=float(sys.argv[3])-float(sys.argv[2]); print("%.0f %.0f" % (r["tasks"]["total"]/s, r["events"]/s))' "$json" "$start" "$end"
}
for round in 1 2 3; do
  read -r t1 e1 <<<"$(burnrate_rate 1)"
  read -r t2 e2 <<<"$(burnrate_rate 2)"
  simpy=$(/tmp/burnrate-bench-venv/bin/python bench/simpy_support.py 30 20 | sed -E 's/.* = ([0-9]+) tasks\/s/\1/')
  numpy=$(/tmp/burnrate-bench-venv/bin/python bench/numpy_support.py 30 200 | sed -E 's/.* = ([0-9]+) tasks\/s/\1/')
  python3 -c 'import sys; t1,e1,t2,e2,s,n=map(float,sys.argv[1:7]); print(f"round {sys.argv[7]}: burnrate 1 thread {t1:,.0f} tasks/s {e1:,.0f} events/s | 2 threads {t2:,.0f} tasks/s {e2:,.0f} events/s | SimPy {s:,.0f} tasks/s | numpy {n:,.0f} tasks/s | per core {t1/s:.0f}x SimPy, {t1/n:.2f}x numpy")' "$t1" "$e1" "$t2" "$e2" "$simpy" "$numpy" "$round"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
