"""pytest plugin (entry point `pytest11`, active once the wheel is installed).

Fixtures:
- `burnrate_mock` (session): a `burnrate mock` on a free port, shared by the session, stopped at
  the end. Yields a `burnrate.MockServer`: `base_url`, `openai_base_url`, `anthropic_base_url`,
  `usage()`, `reset()`, `configure(**faults)`, `config()`, `set_config(dict)`, `log_path`.
- `burnrate_mock_function`: the same server, with its configuration restored and its ledger
  cleared before each test, so each test sees only its own requests.

Config file: `--burnrate-config=FILE` or the ini option `burnrate_config` starts the session's
server with `burnrate mock --config FILE`; `@pytest.mark.burnrate_config("FILE")` on a test
applies FILE (TOML, relative to the test file) for that test only (`burnrate_mock_function`).

If the server cannot start, the requesting test fails with the server's stderr.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from typing import Iterator

import pytest

from .mock import MockError, MockServer, start_mock


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("burnrate", "burnrate mock provider")
    group.addoption(
        "--burnrate-config",
        dest="burnrate_config",
        default=None,
        help="config file (TOML) for the burnrate_mock fixture's server",
    )
    parser.addini("burnrate_config", "config file (TOML) for the burnrate_mock fixture's server", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "burnrate_config(path): apply this mock config file (TOML) for one test (burnrate_mock_function)",
    )


def _session_config(config: pytest.Config) -> str | None:
    path = config.getoption("burnrate_config") or config.getini("burnrate_config")
    if not path:
        return None
    if not os.path.isabs(path):
        path = os.path.join(str(config.rootpath), path)
    return path


@pytest.fixture(scope="session")
def burnrate_mock(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    """The mock provider for the whole session: seed 7 and instant replies, or whatever the
    config file says when one is given."""
    config_file = _session_config(request.config)
    workdir = str(tmp_path_factory.mktemp("burnrate-mock"))
    overrides = {} if config_file else {"seed": 7, "time_scale": 0.0}
    try:
        server = start_mock(
            config_file,
            seed=overrides.get("seed"),
            time_scale=overrides.get("time_scale"),
            workdir=workdir,
        )
    except (MockError, FileNotFoundError) as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def burnrate_mock_function(burnrate_mock: MockServer, request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """`burnrate_mock` with the start configuration restored and the ledger cleared before the
    test (and the configuration restored after it)."""
    burnrate_mock.restore()
    marker = request.node.get_closest_marker("burnrate_config")
    if marker is not None:
        if not marker.args:
            pytest.fail("@pytest.mark.burnrate_config needs a path", pytrace=False)
        path = str(marker.args[0])
        if not os.path.isabs(path):
            path = os.path.join(os.path.dirname(str(request.node.path)), path)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            pytest.fail(f"@pytest.mark.burnrate_config: cannot read {path}: {e}", pytrace=False)
        try:
            _put_toml(burnrate_mock, text)
        except MockError as e:
            pytest.fail(f"@pytest.mark.burnrate_config: {path}: {e}", pytrace=False)
        burnrate_mock.reset()
    try:
        yield burnrate_mock
    finally:
        if burnrate_mock.process.poll() is None:
            burnrate_mock.restore()


def _put_toml(server: MockServer, text: str) -> None:
    # The control API takes the config-file format as TOML too. The request log keeps going to
    # `log_path` unless the file names another one.
    log_line = f"request_log = {_toml_str(server.log_path)}\n"
    body = text if "request_log" in text else log_line + text
    req = urllib.request.Request(
        server.base_url + "/_mock/config", data=body.encode(), method="PUT", headers={"content-type": "application/toml"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
    except urllib.error.HTTPError as e:
        raise MockError(f"HTTP {e.code}: {e.read().decode(errors='replace')}") from None


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
