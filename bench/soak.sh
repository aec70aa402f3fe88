#!/usr/bin/env bash
# Soak benchmark (not a test): REQUESTS mixed requests (default 1,000,000) with every fault
# kind against the real CLI (`burnrate mock`, release build) using wrk and bench/soak.lua.
# Reports req/s, the status mix, RSS at start and end, and whether the ledger counted every
# request sent (`/_mock/usage` total requests == requests sent by wrk).
#   bench/soak.sh                 # needs wrk (apt-get install wrk)
#   REQUESTS=200000 bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-1000000}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
PORT=${PORT:-18190}
ulimit -n 65536 2>/dev/null || true
cargo build --release -q --bin burnrate
tmp=$(mktemp -d)
cat > "$tmp/soak.toml" <<TOML
seed = 7
time_scale = 0.0
[defaults]
rpm = 0
tpm = 0
input_tpm = 0
output_tpm = 0
[defaults.faults]
rate_limit = 0.02
server_error = 0.01
bad_gateway = 0.005
unavailable = 0.005
overloaded = 0.01
timeout = 0.005
malformed = 0.005
stream_cut = 0.005
stream_error = 0.005
TOML
"${CARGO_TARGET_DIR:-target}/release/burnrate" mock --config "$tmp/soak.toml" --port "$PORT" >"$tmp/out" 2>&1 & pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
echo "load average at start: $(cat /proc/loadavg)"
echo "RSS at start: $(rss)"
start=$(date +%s.%N)
SOAK_PER_THREAD=$((REQUESTS / THREADS)) wrk -t"$THREADS" -c"$CONNS" -d1h -s bench/soak.lua \
  "http://127.0.0.1:$PORT" | tee "$tmp/wrk"
end=$(date +%s.%N)
echo "RSS at end: $(rss)"
sent=$(awk '/^soak: requests sent/ {print $4}' "$tmp/wrk")
ledger=$(curl -sf "http://127.0.0.1:$PORT/_mock/usage" | python3 -c 'import json,sys; t=json.load(sys.stdin)["total"]; print(t["requests"]); print(json.dumps(t["errors_by_kind"]), file=sys.stderr)')
echo "elapsed: $(python3 -c "print(round($end - $start, 1))") s, req/s: $(python3 -c "print(round($sent / ($end - $start)))")"
echo "ledger requests: $ledger, requests sent: $sent"
echo "load average at end: $(cat /proc/loadavg)"
[ "$ledger" = "$sent" ] && echo "ledger == requests sent" || { echo "ledger != requests sent"; exit 1; }
