"""Fixtures for the framework tests: the mock's URL comes from BURNRATE_MOCK_URL, set by the
Rust driver (tests/it/mock_frameworks.rs) after it starts `burnrate mock --port 0`."""

import json
import os
import urllib.request

import pytest


@pytest.fixture(scope="session")
def base_url():
    url = os.environ.get("BURNRATE_MOCK_URL")
    if not url:
        pytest.fail("BURNRATE_MOCK_URL is not set: run these tests through `cargo test` (scripts/test)")
    return url


def _call(base_url, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base_url + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200, resp.status
        return json.loads(resp.read())


@pytest.fixture()
def ledger(base_url):
    """Resets the mock (seed 7, no latency) and returns a function reading one model's row."""
    _call(base_url, "PUT", "/_mock/config", {"seed": 7, "time_scale": 0.0})
    _call(base_url, "POST", "/_mock/reset", {})
    return lambda model: _call(base_url, "GET", "/_mock/usage")["models"][model]
