#!/usr/bin/env bash
# Benchmarks the mock provider against llmsim on loopback (see the final figures in README).
#   bench/mock.sh            # needs wrk (apt-get install wrk) and optionally llmsim on PATH
#                            # (cargo install llmsim) or LLMSIM=/path/to/llmsim
# llmsim serves OpenAI under /openai/v1 and knows gpt-4o (not gpt-4o-mini).
# 1) non-streaming 32-token chat replies, instant latency, no faults: req/s and p99 with 1 and
#    2 server worker threads (wrk: 1 thread, 64 connections, 10 s);
# 2) STREAMS concurrent SSE streams with a constant 20 ms inter-token gap: completion and the
#    measured inter-token timing error (examples/stream_bench: raw-socket client on 2 threads,
#    each SSE event timestamped on arrival, |gap - 20 ms| over every gap after the first token;
#    mean, p50, p99, max). All streams start together, so every 20 ms tick is a burst of
#    STREAMS writes on the same 2 cores that run the client.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-10s}
STREAMS=${STREAMS:-5000}
LLMSIM=${LLMSIM:-$(command -v llmsim || true)}
ulimit -n 65536 2>/dev/null || true
cargo build --release -q -p burnrate-llm-mock --examples
SERVE=target/release/examples/serve
BENCH=target/release/examples/stream_bench
echo "load average at start: $(cat /proc/loadavg)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }

# wrk when installed; else oha (`cargo install oha`) with the same body, headers, 64
# connections and one client thread. Both print requests/s and the p99 latency.
OHA=${OHA:-$(command -v oha || true)}
run_wrk() {
  if command -v wrk >/dev/null; then
    wrk -t1 -c64 -d"$DUR" --latency -s "${3:-bench/chat32.lua}" "http://127.0.0.1:$1${2:-}/v1/chat/completions" | grep -E "Requests/sec|  99%|Non-2xx|Socket errors"
  else
    local model=gpt-4o-mini
    [ "${3:-}" = bench/chat32-gpt4o.lua ] && model=gpt-4o
    "$OHA" --no-tui --output-format json --worker-threads 1 -c 64 -z "$DUR" -m POST \
      -H "content-type: application/json" -H "x-mock-output-tokens: 32" \
      -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}" \
      "http://127.0.0.1:$1${2:-}/v1/chat/completions" |
      python3 -c 'import json,sys; r=json.load(sys.stdin); s=r["summary"]; print("Requests/sec: %.0f  p99: %.2f ms  success rate: %.4f  status codes: %s" % (s["requestsPerSec"], r["latencyPercentiles"]["p99"]*1000, s["successRate"], r.get("statusCodeDistribution")))'
  fi
}

for threads in 1 2; do
  echo "== burnrate mock, non-streaming, $threads server thread(s)"
  $SERVE 18090 "$threads" >/dev/null & pid=$!
  wait_port 18090; run_wrk 18090; kill "$pid"; wait "$pid" 2>/dev/null || true
  if [ -n "$LLMSIM" ]; then
    echo "== llmsim, non-streaming, $threads server thread(s)"
    cat > "$tmp/llmsim.toml" <<TOML
[latency]
ttft_mean_ms = 0
ttft_stddev_ms = 0
tbt_mean_ms = 0
tbt_stddev_ms = 0
[response]
generator = "lorem"
target_tokens = 32
[errors]
rate_limit_rate = 0.0
server_error_rate = 0.0
timeout_rate = 0.0
TOML
    RUST_LOG=warn TOKIO_WORKER_THREADS=$threads "$LLMSIM" serve --config "$tmp/llmsim.toml" --port 18091 --host 127.0.0.1 >/dev/null 2>&1 & pid=$!
    wait_port 18091; run_wrk 18091 /openai bench/chat32-gpt4o.lua; kill "$pid"; wait "$pid" 2>/dev/null || true
  fi
done

echo "== burnrate mock, $STREAMS concurrent streams, 50 tokens, 20 ms gap, 2 server threads"
cat > "$tmp/stream.toml" <<TOML
time_scale = 1.0
[defaults]
ttft = { dist = "constant", value = 0.2 }
inter_token = { dist = "constant", value = 0.02 }
rpm = 0
tpm = 0
input_tpm = 0
output_tpm = 0
TOML
$SERVE 18092 2 "$tmp/stream.toml" >/dev/null & pid=$!
wait_port 18092; $BENCH http://127.0.0.1:18092 "$STREAMS" 50 20; kill "$pid"; wait "$pid" 2>/dev/null || true
if [ -n "$LLMSIM" ]; then
  echo "== llmsim, $STREAMS concurrent streams, 50 tokens, 20 ms gap, 2 server threads"
  cat > "$tmp/llmsim-stream.toml" <<TOML
[latency]
ttft_mean_ms = 200
ttft_stddev_ms = 0
tbt_mean_ms = 20
tbt_stddev_ms = 0
[response]
generator = "lorem"
target_tokens = 50
[errors]
rate_limit_rate = 0.0
server_error_rate = 0.0
timeout_rate = 0.0
TOML
  RUST_LOG=warn TOKIO_WORKER_THREADS=2 "$LLMSIM" serve --config "$tmp/llmsim-stream.toml" --port 18093 --host 127.0.0.1 >/dev/null 2>&1 & pid=$!
  wait_port 18093; $BENCH http://127.0.0.1:18093/openai "$STREAMS" 50 20 gpt-4o; kill "$pid"; wait "$pid" 2>/dev/null || true
fi
echo "load average at end: $(cat /proc/loadavg)"
