#!/usr/bin/env bash
# What the capacity and headroom searches cost: `simulate --precision 1%` on the article's
# support agent (which runs them after the last batch) against `check` on the same run (which
# skips them: same replicas, same batches), 2 threads, release build, interleaved ROUNDS times
# (the VM's speed drifts); prints each round, the medians and the searches' share. With
# valgrind installed (CALLGRIND=1), also the instruction counts of one run of each, which do
# not drift with the machine's load.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
BIN=${BIN:-target/release/burnrate}
[ "$BIN" != target/release/burnrate ] || cargo build --release --quiet -p burnrate-llm --bin burnrate
args=(scenarios/support-agent.toml --precision 1% --threads 2 --quiet)
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; }
full=(); run=()
for round in $(seq "$ROUNDS"); do
  f=$(secs "$BIN" simulate "${args[@]}" --format json)
  c=$(secs "$BIN" check "${args[@]}")
  full+=("$f"); run+=("$c")
  echo "round $round: simulate ${f} s | check (no searches) ${c} s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mf=$(median "${full[@]}"); mc=$(median "${run[@]}")
python3 -c 'import sys; f,c=map(float,sys.argv[1:]); print(f"median: simulate {f:.3f} s, check {c:.3f} s, searches {f-c:.3f} s = {100*(f-c)/f:.0f}% of simulate")' "$mf" "$mc"
if [ "${CALLGRIND:-0}" = 1 ]; then
  ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | grep -o 'Collected : [0-9]*' | grep -o '[0-9]*$'; }
  fi=$(ir "$BIN" simulate "${args[@]}" --format json); ci=$(ir "$BIN" check "${args[@]}")
  python3 -c 'import sys; f,c=map(int,sys.argv[1:]); print(f"instructions: simulate {f/1e9:.2f} G, check {c/1e9:.2f} G, searches {(f-c)/1e9:.2f} G = {100*(f-c)/f:.0f}% of simulate")' "$fi" "$ci"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
