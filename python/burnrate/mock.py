"""Start and control `burnrate mock` from Python (used by the pytest plugin; usable alone)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from typing import Any, Optional

from ._binary import find_burnrate_bin

#: Fault probabilities and settings `MockServer.configure` accepts (the config's `faults` table).
FAULT_KEYS = frozenset(
    {
        "rate_limit",
        "server_error",
        "bad_gateway",
        "unavailable",
        "overloaded",
        "timeout",
        "malformed",
        "stream_cut",
        "stream_error",
        "retry_after_ms",
        "timeout_s",
    }
)

_LISTENING = "listening on "


class MockError(RuntimeError):
    """The mock could not start, or a control request failed."""


class MockServer:
    """A running `burnrate mock` process and a client of its control API.

    Attributes: `base_url` (`http://HOST:PORT`, the Anthropic SDK's `base_url`),
    `openai_base_url` (`base_url + "/v1"`), `anthropic_base_url` (= `base_url`), `log_path` (the
    JSONL request log, one object per request), `process` (the `subprocess.Popen`).
    """

    def __init__(self, process: subprocess.Popen, base_url: str, log_path: str, stderr_path: str):
        self.process = process
        self.base_url = base_url
        self.openai_base_url = base_url + "/v1"
        self.anthropic_base_url = base_url
        self.log_path = log_path
        self.stderr_path = stderr_path
        self._baseline: Optional[dict] = None

    # --- control API -------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raise MockError(f"{method} {path}: HTTP {e.code}: {e.read().decode(errors='replace')}") from None

    def usage(self) -> dict:
        """The cost ledger (`GET /_mock/usage`): totals and per-model requests, tokens,
        `cost_pusd` (exact, pico-USD) and `cost_usd`."""
        return self._call("GET", "/_mock/usage")

    def reset(self) -> None:
        """Clears the ledger, prompt caches, rate-limit buckets, scripted-call counters, files and
        batches (`POST /_mock/reset`). The configuration stays."""
        self._call("POST", "/_mock/reset", {})

    def config(self) -> dict:
        """The current configuration (`GET /_mock/config`), in the config-file format."""
        return self._call("GET", "/_mock/config")

    def set_config(self, config: dict) -> dict:
        """Replaces the whole configuration (`PUT /_mock/config`); returns it as applied."""
        return self._call("PUT", "/_mock/config", config)

    def configure(self, model: Optional[str] = None, script: Optional[list] = None, **faults: Any) -> dict:
        """Changes fault settings at run time, keeping the rest of the configuration:
        `configure(rate_limit=0.2, retry_after_ms=10)` for every model, `model="gpt-4o-mini"`
        for one model, `script=["429", "ok"]` for the outcomes of its next calls (counted from
        this change). A value of `None` removes the setting. Keys: see `FAULT_KEYS`."""
        unknown = sorted(set(faults) - FAULT_KEYS)
        if unknown:
            raise TypeError(f"unknown fault setting(s) {unknown}; allowed: {sorted(FAULT_KEYS)}")
        cfg = self.config()
        if model is None:
            section = cfg.get("defaults") or {}
            cfg["defaults"] = section
        else:
            models = cfg.get("models") or {}
            cfg["models"] = models
            section = models.get(model) or {}
            models[model] = section
        if faults:
            table = section.get("faults") or {}
            for key, value in faults.items():
                if value is None:
                    table.pop(key, None)
                else:
                    table[key] = value
            section["faults"] = table
        if script is not None:
            section["script"] = list(script)
        return self.set_config(cfg)

    def restore(self) -> None:
        """Puts back the configuration the server started with and clears the ledger."""
        if self._baseline is None:
            self._baseline = self.config()
        self.set_config(self._baseline)
        self.reset()

    # --- lifecycle ---------------------------------------------------------------------------
    def stop(self, timeout_s: float = 10.0) -> int:
        """Stops the server (SIGTERM, then SIGKILL after `timeout_s`); returns its exit code."""
        if self.process.poll() is None:
            if os.name == "posix":
                self.process.send_signal(signal.SIGTERM)
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def stderr(self) -> str:
        """What the server wrote to stderr so far."""
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def __enter__(self) -> "MockServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_mock(
    config: Optional[str] = None,
    *,
    seed: Optional[int] = 7,
    time_scale: Optional[float] = 0.0,
    log_path: Optional[str] = None,
    workdir: Optional[str] = None,
    host: str = "127.0.0.1",
    extra_args: tuple = (),
    startup_timeout_s: float = 30.0,
) -> MockServer:
    """Starts `burnrate mock --port 0` and waits for its `listening on http://HOST:PORT` line.

    `config` is a TOML config file (`burnrate mock --config`); `seed` and `time_scale` override
    it (defaults: seed 7, instant replies) unless None. The request log goes to `log_path`
    (default: `requests.jsonl` in `workdir`, a new temporary directory when None). Raises
    `MockError` with the server's stderr if it exits or stays silent for `startup_timeout_s`.
    """
    binary = find_burnrate_bin()
    workdir = workdir or tempfile.mkdtemp(prefix="burnrate-mock-")
    log_path = log_path or os.path.join(workdir, "requests.jsonl")
    stderr_path = os.path.join(workdir, "mock.stderr")
    args = [binary, "mock", "--host", host, "--port", "0", "--request-log", log_path]
    if config is not None:
        args += ["--config", os.fspath(config)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if time_scale is not None:
        args += ["--time-scale", repr(float(time_scale))]
    args += list(extra_args)
    stderr_file = open(stderr_path, "wb")
    try:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr_file, stdin=subprocess.DEVNULL)
    finally:
        stderr_file.close()

    lines: "queue.Queue[str]" = queue.Queue(maxsize=1)

    def read_stdout() -> None:
        # The first line is the address; later output (none today) is drained so the server
        # never blocks on a full pipe.
        assert process.stdout is not None
        first = process.stdout.readline().decode(errors="replace")
        lines.put(first)
        for _ in process.stdout:
            pass

    threading.Thread(target=read_stdout, name="burnrate-mock-stdout", daemon=True).start()

    def failure(why: str) -> MockError:
        if process.poll() is None:
            process.kill()
        process.wait()
        with open(stderr_path, encoding="utf-8", errors="replace") as f:
            err = f.read().strip()
        return MockError(
            f"burnrate mock did not start ({why}; exit code {process.returncode}).\n"
            f"command: {' '.join(args)}\nstderr:\n{err or '(empty)'}"
        )

    try:
        first = lines.get(timeout=startup_timeout_s)
    except queue.Empty:
        raise failure(f"no 'listening on' line within {startup_timeout_s} s") from None
    first = first.strip()
    if not first.startswith(_LISTENING):
        raise failure(f"first line was {first!r}" if first else "it exited before listening")
    server = MockServer(process, first[len(_LISTENING):], log_path, stderr_path)
    server._baseline = server.config()
    return server
