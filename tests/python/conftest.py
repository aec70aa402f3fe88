"""Fixtures for the SDK tests: the mock's base URL comes from BURNRATE_MOCK_URL, set by the
Rust driver (tests/it/mock_sdk.rs) after it starts `burnrate mock --port 0`."""

import os

import anthropic
import json
import urllib.request
import openai
import pytest

BASE_CONFIG = {"seed": 7, "time_scale": 0.0, "batch_completion_s": 0.0}


@pytest.fixture(scope="session")
def base_url():
    url = os.environ.get("BURNRATE_MOCK_URL")
    if not url:
        pytest.fail("BURNRATE_MOCK_URL is not set: run these tests through `cargo test` (scripts/test)")
    return url


class Admin:
    """A tiny stdlib client for the mock's control endpoints."""

    def __init__(self, base_url):
        self.base_url = base_url

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200, resp.status
            return json.loads(resp.read())

    def get(self, path):
        return self._call("GET", path)

    def post(self, path, json=None):
        return self._call("POST", path, json if json is not None else {})

    def put(self, path, json):
        return self._call("PUT", path, json)


@pytest.fixture()
def admin(base_url):
    client = Admin(base_url)
    client.put("/_mock/config", BASE_CONFIG)
    client.post("/_mock/reset")
    yield client
    client.put("/_mock/config", BASE_CONFIG)


@pytest.fixture()
def oai(base_url, admin):
    return openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0)


@pytest.fixture()
def claude(base_url, admin):
    return anthropic.Anthropic(base_url=base_url, api_key="sk-ant-test", max_retries=0)


def usage(admin):
    return admin.get("/_mock/usage")
