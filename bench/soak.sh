#!/usr/bin/env bash
# Soak benchmark (not a test): REQUESTS mixed requests (default 1,000,000) with every fault
# kind against the real CLI (`burnrate mock`, release build) using wrk and bench/soak.lua.
# Reports req/s, the status mix, RSS at start and end, and whether the ledger counted every
# request sent (`/_mock/usage` total requests == requests sent by wrk).
#   bench/soak.sh                 # needs wrk (apt-get install wrk)
#   REQUESTS=200000 bench/soak.sh
#   BURNRATE=/path/to/burnrate bench/soak.sh   # an already built release binary, no cargo
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-1000000}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
PORT=${PORT:-18190}
ulimit -n 65536 2>/dev/null || true
if [ -z "${BURNRATE:-}" ]; then
  cargo build --release -q --bin burnrate
  BURNRATE="${CARGO_TARGET_DIR:-target}/release/burnrate"
fi
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
"$BURNRATE" mock --config "$tmp/soak.toml" --port "$PORT" >"$tmp/out" 2>&1 & pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
echo "load average at start: $(cat /proc/loadavg)"
echo "RSS at start: $(rss)"
per_thread=$((REQUESTS / THREADS))
expected=$((per_thread * THREADS))
ledger_total() {
  curl -sf "http://127.0.0.1:$PORT/_mock/usage" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["requests"])' || echo 0
}
start=$(date +%s.%N)
SOAK_PER_THREAD=$per_thread wrk -t"$THREADS" -c"$CONNS" -d2h -s bench/soak.lua \
  "http://127.0.0.1:$PORT" >"$tmp/wrk" & wrk_pid=$!
# The run ends when the ledger has every billable request (then wrk only sends /healthz),
# or when the ledger has not moved for 10 s (reported below as a mismatch).
last=-1; still=0
while kill -0 "$wrk_pid" 2>/dev/null; do
  now=$(ledger_total)
  [ "$now" -ge "$expected" ] && break
  if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0; last=$now; fi
  [ "$still" -ge 50 ] && break
  sleep 0.2
done
end=$(date +%s.%N)
kill -INT "$wrk_pid" 2>/dev/null || true
wait "$wrk_pid" || true
grep -v -E "^(Running|  [0-9]+ threads|  Thread Stats|    (Latency|Req/Sec)|  [0-9]+ requests in|Requests/sec|Transfer/sec)" "$tmp/wrk" || true
echo "RSS at end: $(rss)"
sent=$(awk '/^soak: requests sent/ {print $4}' "$tmp/wrk")
ledger=$(curl -sf "http://127.0.0.1:$PORT/_mock/usage" | python3 -c 'import json,sys; t=json.load(sys.stdin)["total"]; print(t["requests"]); print(json.dumps(t["errors_by_kind"]), file=sys.stderr)')
echo "elapsed: $(python3 -c "print(round($end - $start, 1))") s, req/s: $(python3 -c "print(round($sent / ($end - $start)))") (billable requests; wrk's own totals include the /healthz tail, so they are not shown)"
echo "ledger requests: $ledger, requests sent: $sent"
echo "load average at end: $(cat /proc/loadavg)"
[ "$ledger" = "$sent" ] && echo "ledger == requests sent" || { echo "ledger != requests sent"; exit 1; }
