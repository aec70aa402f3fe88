#!/usr/bin/env python3
"""Replays the hostile requests of issue 12 against a real `burnrate mock` and prints, per
finding, `reproduced` (the hostile behaviour the issue reported) or `fixed`.

Not a test (the regression tests are mock-provider/tests/it/hardening.rs): a check that those
findings were real on the binary of the time and are gone now, run once per binary:

    bench/hardening-repro.py target/debug/burnrate            # today's binary
    bench/hardening-repro.py /path/to/old/target/debug/burnrate

Each finding gets a fresh server (`--port 0`, its own config), so one that kills or stalls the
process cannot spoil the next. Standard library only. Only config keys the binary of f3099a5
also knew are used, so the same probe runs against both.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/burnrate")
ONLY = sys.argv[2:]


class Server:
    def __init__(self, config="time_scale = 0.0\n", args=(), nofile=None):
        self.dir = tempfile.mkdtemp(prefix="burnrate-repro-")
        path = os.path.join(self.dir, "mock.toml")
        with open(path, "w") as f:
            f.write(config)
        cmd = [BIN, "mock", "--port", "0", "--config", path, *args]
        if nofile:
            cmd = ["prlimit", f"--nofile={nofile}:{nofile}", *cmd]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        line = self.proc.stdout.readline()
        self.port = int(line.rsplit(":", 1)[1])

    def alive(self):
        return self.proc.poll() is None

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, headers, body bytes), or None when the server dropped the connection or
        did not answer within `timeout` seconds."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"content-type": "application/json", **(headers or {})}
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()

    def usage(self, headers=None):
        r = self.request("GET", "/_mock/usage", headers=headers)
        return json.loads(r[2]) if r and r[0] == 200 else None

    def close(self):
        self.proc.kill()
        self.proc.wait()
        subprocess.run(["rm", "-rf", self.dir])


def chat(content="hi", **extra):
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], **extra}


def tool_chat(schema, **extra):
    return chat(
        "call it",
        tools=[{"type": "function", "function": {"name": "f", "parameters": schema}}],
        tool_choice="required",
        **extra,
    )


def answered_200(r):
    return r is not None and r[0] == 200


# Each probe returns (reproduced: bool, what was seen).
def schema_min_items(s):
    r = s.request("POST", "/v1/chat/completions", tool_chat(
        {"type": "object", "properties": {"a": {"type": "array", "minItems": 18446744073709551615,
                                                "items": {"type": "integer"}}}}))
    return not answered_200(r), "no answer (panic)" if r is None else f"HTTP {r[0]}"


def schema_huge_bounds(s):
    r = s.request("POST", "/v1/chat/completions", tool_chat(
        {"type": "object", "properties": {"x": {"type": "number", "minimum": -1.7e308,
                                                "maximum": 1.7e308}}}))
    return not answered_200(r), "no answer (panic)" if r is None else f"HTTP {r[0]}"


def recursive_ref(s):
    schema = {"type": "object", "properties": {"a": {"$ref": "#"}, "b": {"$ref": "#"},
                                               "c": {"$ref": "#"}}, "required": ["a", "b", "c"]}
    r = s.request("POST", "/v1/chat/completions", tool_chat(schema, max_tokens=50), timeout=120)
    if r is None:
        return True, "no answer" + ("" if s.alive() else ", process died")
    usage = json.loads(r[2]).get("usage", {}) if r[0] == 200 else {}
    out = usage.get("completion_tokens")
    return out is None or out > 50, f"HTTP {r[0]}, {len(r[2]):,} bytes, {out} tokens billed"


def quadratic_tokenizer(s):
    word = "z" * 200_000
    for _ in range(2):
        threading.Thread(target=s.request, args=("POST", "/v1/chat/completions", chat(word)),
                         kwargs={"timeout": 300}, daemon=True).start()
    time.sleep(1.0)
    start = time.time()
    r = s.request("GET", "/healthz", timeout=5)
    return r is None, ("/healthz silent for 5 s" if r is None
                       else f"/healthz answered in {time.time() - start:.2f} s")


def long_model_name(s):
    r = s.request("POST", "/v1/chat/completions",
                  {"model": "m" * (1 << 20), "messages": [{"role": "user", "content": "x"}]})
    u = s.request("GET", "/_mock/usage")
    stored = u is not None and b"m" * 10_000 in u[2]
    return stored or r is None or r[0] != 400, (
        f"HTTP {r[0] if r else None}, name {'stored' if stored else 'not stored'} in the ledger")


def long_api_key(s):
    r = s.request("POST", "/v1/chat/completions", chat(),
                  headers={"authorization": "Bearer sk-" + "k" * 100_000})
    u = s.request("GET", "/_mock/usage")
    stored = u is not None and b"k" * 10_000 in u[2]
    return stored or r is None or r[0] != 400, (
        f"HTTP {r[0] if r else None}, key {'stored' if stored else 'not stored'} in the ledger")


def metrics_series(s):
    for i in range(50):
        s.request("POST", "/v1/chat/completions",
                  {"model": f"my-model-{i}", "messages": [{"role": "user", "content": "x"}]})
    m = s.request("GET", "/metrics")
    n = m[2].count(b"my-model-") if m else 0
    return n > 0, f"{n} series lines name client-chosen models"


def upload(s, n_bytes):
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jsonl\""
            f"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    body += b"x" * n_bytes + f"\r\n--{boundary}--\r\n".encode()
    return s.request("POST", "/v1/files", body,
                     headers={"content-type": f"multipart/form-data; boundary={boundary}"})


def uploads_unbounded(s):
    # 10 x 30 MB: past the 256 MiB default cap on stored files.
    statuses = [(upload(s, 30 << 20) or (None,))[0] for _ in range(10)]
    return all(st == 200 for st in statuses), f"statuses {statuses}"


def batch_double_billing(s):
    n = 3000
    reqs = [{"custom_id": f"r{i}", "params": {"model": "claude-haiku-4-5", "max_tokens": 20,
             "messages": [{"role": "user", "content": f"q {i}"}]}} for i in range(n)]
    r = s.request("POST", "/v1/messages/batches", {"requests": reqs})
    bid = json.loads(r[2])["id"]
    barrier = threading.Barrier(8)

    def poll():
        barrier.wait()
        s.request("GET", f"/v1/messages/batches/{bid}")

    ts = [threading.Thread(target=poll) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for _ in range(600):
        r = s.request("GET", f"/v1/messages/batches/{bid}")
        if json.loads(r[2]).get("processing_status") == "ended":
            break
        time.sleep(0.05)
    billed = s.usage()["total"]["batch_requests"]
    return billed != n, f"{n} requests, ledger batch_requests {billed}"


def half_headers(s):
    c = socket.create_connection(("127.0.0.1", s.port))
    c.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-")
    c.settimeout(15)  # the default header read timeout is 10 s
    try:
        closed = c.recv(1024) is not None
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    c.close()
    return not closed, "closed by the server" if closed else "still open after 15 s"


def fd_exhaustion(s):
    # The server runs with 256 descriptors; 400 half-sent headers exhaust them. A connect may
    # wait up to 30 s in the backlog: longer than the 10 s header read timeout that frees slots.
    held = []
    for i in range(400):
        try:
            c = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        except OSError as e:
            for c in held:
                c.close()
            return True, f"connection {i + 1} failed ({e}): the server stopped accepting"
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-")
        held.append(c)
    start = time.time()
    r = s.request("GET", "/healthz", timeout=25)
    for c in held:
        c.close()
    return r is None, ("/healthz silent for 25 s" if r is None
                       else f"/healthz answered after {time.time() - start:.1f} s")


def validation(body, path="/v1/chat/completions", headers=None):
    def probe(s):
        r = s.request("POST", path, body, headers=headers)
        return r is None or r[0] != 400, f"HTTP {r[0] if r else None}"
    return probe


def long_prompt_anthropic(s):
    # 300k tokens: past claude-haiku-4-5's 200k context window.
    body = {"model": "claude-haiku-4-5", "max_tokens": 10,
            "messages": [{"role": "user", "content": "hello " * 300_000}]}
    r = s.request("POST", "/v1/messages", body, headers={"anthropic-version": "2023-06-01"})
    return r is None or r[0] != 400, f"HTTP {r[0] if r else None}"


KEYS = 'api_keys = ["sk-user-000000000001"]\ntime_scale = 0.0\n'


def models_open(s):
    r = s.request("GET", "/v1/models")
    return answered_200(r), f"HTTP {r[0] if r else None} without a key"


def admin_open(s):
    r = s.request("GET", "/_mock/config")
    shows = r is not None and b"sk-user-000000000001" in r[2]
    return answered_200(r) or shows, f"HTTP {r[0] if r else None}" + (", keys shown" if shows else "")


def config_writes_anywhere(s):
    path = f"/tmp/burnrate-repro-{uuid.uuid4().hex}.jsonl"
    body = {"time_scale": 0.0, "api_keys": ["sk-user-000000000001"], "request_log": path}
    r = s.request("PUT", "/_mock/config", body,
                  headers={"authorization": "Bearer sk-user-000000000001"})
    s.request("POST", "/v1/chat/completions", chat(),
              headers={"authorization": "Bearer sk-user-000000000001"})
    s.request("POST", "/_mock/reset", headers={"authorization": "Bearer sk-user-000000000001"})
    created = os.path.exists(path)
    if created:
        os.remove(path)
    return created, f"PUT HTTP {r[0] if r else None}, {path} {'created' if created else 'not created'}"


def client_cut_stream(s):
    c = socket.create_connection(("127.0.0.1", s.port))
    body = json.dumps(chat("x", stream=True)).encode()
    c.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
              b"\r\nx-mock-output-tokens: 500\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    got = b""
    while got.count(b'"content":') < 6:
        got += c.recv(4096)
    c.close()
    for _ in range(200):
        out = s.usage()["total"]["output_tokens"]
        if out > 0:
            break
        time.sleep(0.05)
    return out >= 500, f"billed {out} of 500 planned tokens after a cut at ~5"


def nagle(s):
    body = json.dumps(chat("x", stream=True)).encode()
    req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"x-mock-output-tokens: 10\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    c = socket.create_connection(("127.0.0.1", s.port))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for i in range(9):
        start = time.perf_counter()
        c.sendall(req)
        got = b""
        while not got.endswith(b"\r\n0\r\n\r\n"):
            got += c.recv(65536)
        if i > 0:
            times.append(time.perf_counter() - start)
    c.close()
    fastest = min(times) * 1000
    return fastest > 30, f"fastest 10-token stream on a reused connection {fastest:.1f} ms"


def request_ids(s):
    missing = []
    for method, path in [("POST", "/v1/nothing"), ("GET", "/v1/chat/completions"),
                         ("GET", "/v1/models")]:
        r = s.request(method, path)
        if not any(k.lower() in ("x-request-id", "request-id") for k in r[1]):
            missing.append(f"{method} {path} ({r[0]})")
    r = s.request("POST", "/v1/messages/nope", {})
    if b"req_mock" in r[2]:
        missing.append("Anthropic 404 body says req_mock")
    return bool(missing), "; ".join(missing) or "ids everywhere"


def stop_sequences(s):
    r = s.request("POST", "/v1/chat/completions",
                  chat("alpha beta STOP gamma", stop=["STOP"]))
    text = json.loads(r[2])["choices"][0]["message"]["content"]
    return "gamma" in text, f"reply {text!r}"


STREAM = ('time_scale = 1.0\n[defaults]\nttft = { kind = "constant", value = 0.0 }\n'
          'inter_token = { kind = "constant", value = 0.02 }\n')
NAGLE = ('time_scale = 1.0\n[defaults]\nttft = { kind = "constant", value = 0.0 }\n'
         'inter_token = { kind = "constant", value = 0.001 }\n')

FINDINGS = [
    ("panic: minItems = u64::MAX", schema_min_items, {}),
    ("panic: number bounds +-1.7e308", schema_huge_bounds, {}),
    ("$ref '#' with max_tokens 50", recursive_ref, {}),
    ("quadratic tokenizer stalls /healthz", quadratic_tokenizer, {"args": ["--threads", "2"]}),
    ("1 MB model name stored", long_model_name, {"config": "time_scale = 0.0\naccept_unknown_models = true\n"}),
    ("100 KB API key stored", long_api_key, {}),
    ("a metrics series per model name", metrics_series, {"config": "time_scale = 0.0\naccept_unknown_models = true\n"}),
    ("uploads kept in RAM without a cap", uploads_unbounded, {}),
    ("batch polled by 8 clients billed twice", batch_double_billing, {"config": "time_scale = 0.0\nbatch_completion_s = 0.0\n"}),
    ("half-sent headers held forever", half_headers, {}),
    ("fd exhaustion stops /healthz", fd_exhaustion, {"nofile": 256}),
    ("unknown role accepted", validation(chat() | {"messages": [{"role": "wizard", "content": "x"}]}), {}),
    ("temperature \"hot\" accepted", validation(chat(temperature="hot")), {}),
    ("temperature 5 accepted", validation(chat(temperature=5)), {}),
    ("max_tokens 0 accepted", validation(chat(max_tokens=0)), {}),
    ("max_tokens 10^9 accepted", validation(chat(max_tokens=10**9)), {}),
    ("tools [1] accepted", validation(chat(tools=[1])), {}),
    ("prompt past the context window (OpenAI)", validation(chat("hello " * 300_000)), {}),
    ("prompt past the context window (Anthropic)", long_prompt_anthropic, {}),
    ("/v1/models open with api_keys set", models_open, {"config": KEYS}),
    ("/_mock/config open, shows keys", admin_open, {"config": KEYS}),
    ("config API writes any file", config_writes_anywhere, {"config": KEYS}),
    ("client-cut stream billed in full", client_cut_stream, {"config": STREAM}),
    ("TCP_NODELAY unset (stall on reuse)", nagle, {"config": NAGLE}),
    ("request ids missing / req_mock", request_ids, {}),
    ("stop sequences ignored", stop_sequences, {"config": 'time_scale = 0.0\ncontent = "echo"\n'}),
]


def main():
    print(f"binary: {BIN}")
    counts = {}
    for name, probe, opts in FINDINGS:
        if ONLY and not any(o in name for o in ONLY):
            continue
        s = Server(opts.get("config", "time_scale = 0.0\n"), opts.get("args", ()),
                   opts.get("nofile"))
        try:
            hit, seen = probe(s)
        except Exception as e:  # neither verdict: the probe itself could not run
            hit, seen = None, f"{type(e).__name__}: {e}"
        finally:
            alive = s.alive()
            s.close()
        verdict = {True: "reproduced", False: "fixed", None: "error"}[hit]
        counts[verdict] = counts.get(verdict, 0) + 1
        died = "" if alive else " (server process died)"
        print(f"{verdict:<10}  {name:<42}  {seen}{died}", flush=True)
    print(", ".join(f"{n} {v}" for v, n in counts.items()))


if __name__ == "__main__":
    main()
