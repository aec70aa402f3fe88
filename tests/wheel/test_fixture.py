"""The burnrate wheel as a Python team uses it: `pip install burnrate`, then the pytest plugin's
fixtures with the official SDKs. Runs in a fresh venv holding only the wheel, the SDKs and
pytest (scripts/test-wheel); nothing here starts the mock by hand.

Costs are asserted exactly (integer pico-USD) against the per-token prices of the catalog the
wheel itself prints (`python -m burnrate catalog --format json`) and the token counts the SDKs
report."""

import json
import subprocess
import sys

import anthropic
import openai
import pytest

pytest_plugins = ["pytester"]

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"


@pytest.fixture(scope="session")
def catalog():
    out = subprocess.run(
        [sys.executable, "-m", "burnrate", "catalog", "--format", "json"], check=True, capture_output=True
    ).stdout
    # Standard (no tier, no long context) per-token prices, pUSD.
    return {m["id"]: m["prices"]["standard"] for m in json.loads(out)}


def test_openai_chat_is_billed_exactly(burnrate_mock_function, catalog):
    mock = burnrate_mock_function
    client = openai.OpenAI(base_url=mock.openai_base_url, api_key="sk-test", max_retries=0)
    r = client.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[{"role": "user", "content": "Say something about budgets."}],
        extra_headers={"x-mock-output-tokens": "7"},
    )
    assert r.choices[0].message.content
    assert r.usage.completion_tokens == 7
    # tiktoken's chat rule with o200k_base: 3 + "user"(1) + 5 content tokens + 3 priming.
    assert r.usage.prompt_tokens == 12
    price = catalog[OPENAI_MODEL]
    led = mock.usage()["models"][OPENAI_MODEL]
    assert led["requests"] == 1
    assert led["cost_pusd"] == 12 * price["input_pusd"] + 7 * price["output_pusd"]
    assert mock.usage()["total"]["cost_pusd"] == led["cost_pusd"]


def test_anthropic_stream_is_billed_exactly(burnrate_mock_function, catalog):
    mock = burnrate_mock_function
    client = anthropic.Anthropic(base_url=mock.anthropic_base_url, api_key="sk-ant-test", max_retries=0)
    with client.messages.stream(
        model=ANTHROPIC_MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": "Stream a short answer."}],
        extra_headers={"x-mock-output-tokens": "5"},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert len(text.split()) == 5
    assert final.usage.output_tokens == 5
    assert final.stop_reason == "end_turn"
    price = catalog[ANTHROPIC_MODEL]
    led = mock.usage()["models"][ANTHROPIC_MODEL]
    assert led["requests"] == 1 and led["output_tokens"] == 5
    assert led["input_tokens"] == final.usage.input_tokens
    assert led["cost_pusd"] == final.usage.input_tokens * price["input_pusd"] + 5 * price["output_pusd"]


def test_a_forced_429_is_retried_by_the_sdk_and_not_billed(burnrate_mock_function, catalog):
    mock = burnrate_mock_function
    mock.configure(model=OPENAI_MODEL, script=["429"], retry_after_ms=10)
    client = openai.OpenAI(base_url=mock.openai_base_url, api_key="sk-test", max_retries=2)
    r = client.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[{"role": "user", "content": "Say something about budgets."}],
        extra_headers={"x-mock-output-tokens": "7"},
    )
    assert r.usage.completion_tokens == 7
    led = mock.usage()["models"][OPENAI_MODEL]
    assert led["requests"] == 2 and led["succeeded"] == 1
    assert led["retries"] == 1, "the second request was the SDK's retry"
    assert led["errors_by_status"] == {"429": 1}
    price = catalog[OPENAI_MODEL]
    assert led["cost_pusd"] == 12 * price["input_pusd"] + 7 * price["output_pusd"], "only the answered call is billed"


def test_configure_faults_then_the_next_test_starts_clean(burnrate_mock_function):
    mock = burnrate_mock_function
    applied = mock.configure(rate_limit=1.0, retry_after_ms=1)
    assert applied["defaults"]["faults"]["rate_limit"] == 1.0
    client = openai.OpenAI(base_url=mock.openai_base_url, api_key="sk-test", max_retries=0)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=OPENAI_MODEL, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(TypeError, match="unknown fault"):
        mock.configure(rate_limt=0.5)


def test_each_test_sees_only_its_own_requests(burnrate_mock_function):
    mock = burnrate_mock_function
    # The previous test left rate_limit = 1.0 and one request behind: both are gone.
    assert (mock.config()["defaults"].get("faults") or {}).get("rate_limit") in (None, 0.0)
    assert mock.usage()["total"]["requests"] == 0
    client = openai.OpenAI(base_url=mock.openai_base_url, api_key="sk-test", max_retries=0)
    client.chat.completions.create(model=OPENAI_MODEL, messages=[{"role": "user", "content": "hi"}])
    assert mock.usage()["total"]["requests"] == 1
    mock.reset()
    assert mock.usage()["total"]["requests"] == 0


@pytest.mark.burnrate_config("fixture-config.toml")
def test_a_config_file_per_test(burnrate_mock_function):
    client = anthropic.Anthropic(
        base_url=burnrate_mock_function.anthropic_base_url, api_key="sk-ant-test", max_retries=0
    )
    r = client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=50, messages=[{"role": "user", "content": "What's the weather?"}]
    )
    assert r.content[0].text == "Sunny, 21 C."


def test_the_session_mock_and_its_request_log(burnrate_mock):
    before = burnrate_mock.usage()["total"]["requests"]
    client = openai.OpenAI(base_url=burnrate_mock.openai_base_url, api_key="sk-test", max_retries=0)
    client.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"x-mock-step": "log-me"},
    )
    assert burnrate_mock.usage()["total"]["requests"] == before + 1
    assert burnrate_mock.base_url.startswith("http://127.0.0.1:")
    assert burnrate_mock.openai_base_url == burnrate_mock.base_url + "/v1"
    burnrate_mock.reset()  # flushes the log
    with open(burnrate_mock.log_path) as f:
        lines = [json.loads(line) for line in f]
    assert [x["model"] for x in lines if x["step"] == "log-me"] == [OPENAI_MODEL]


def test_python_dash_m_runs_the_binary():
    out = subprocess.run([sys.executable, "-m", "burnrate", "--version"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("burnrate ") and "price catalog of" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "burnrate", "simulate", "missing.toml"], capture_output=True, text=True)
    assert bad.returncode == 2 and "missing.toml" in bad.stderr


def test_a_server_that_cannot_start_fails_the_test_with_its_stderr(pytester):
    pytester.makefile(".toml", broken="seed = 'not a number'\n")
    pytester.makepyfile(
        """
        def test_uses_the_mock(burnrate_mock):
            pass
        """
    )
    result = pytester.runpytest_subprocess("--burnrate-config=broken.toml", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*burnrate mock did not start*", "*stderr:*", "*seed*"])


def test_the_session_config_option(pytester):
    pytester.makefile(".toml", canned='content = "fixtures"\ntime_scale = 0.0\n[[fixtures]]\nmatch = "ping"\ntext = "pong"\n')
    pytester.makepyfile(
        """
        import openai

        def test_canned(burnrate_mock):
            client = openai.OpenAI(base_url=burnrate_mock.openai_base_url, api_key="k", max_retries=0)
            r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "ping"}])
            assert r.choices[0].message.content == "pong"
        """
    )
    result = pytester.runpytest_subprocess("--burnrate-config=canned.toml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
