#!/usr/bin/env bash
# Measures the engine against the same model in SimPy, in one run, on this machine.
# Prints burnrate's tasks/s and events/s (1 thread and all cores) and SimPy's tasks/s.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv /tmp/burnrate-bench-venv >/dev/null
/tmp/burnrate-bench-venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
cargo build --release --quiet
for threads in 1 2; do
  start=$(date +%s.%N)
  json=$(./target/release/burnrate simulate scenarios/support-agent.toml --replicas 40 --days 30 --threads $threads --format json --quiet)
  end=$(date +%s.%N)
  python3 - "$json" "$start" "$end" "$threads" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); s = float(sys.argv[3]) - float(sys.argv[2])
print(f"burnrate ({sys.argv[4]} thread(s)): {r['tasks']['total']} tasks in {s:.3f} s = "
      f"{r['tasks']['total']/s:,.0f} tasks/s, {r['events']/s:,.0f} events/s")
PY
done
/tmp/burnrate-bench-venv/bin/python bench/simpy_support.py 30 4
