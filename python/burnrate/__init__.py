"""burnrate from Python: the `burnrate` binary (simulator, mock OpenAI/Anthropic provider, budget
gate) and a pytest plugin whose fixtures run the mock provider for a test session.

    def test_agent(burnrate_mock):
        client = openai.OpenAI(base_url=burnrate_mock.openai_base_url, api_key="sk-test")

See `burnrate.pytest_plugin` for the fixtures and `python -m burnrate --help` for the CLI.
"""

from ._binary import find_burnrate_bin
from .mock import MockError, MockServer, start_mock

__all__ = ["MockError", "MockServer", "find_burnrate_bin", "start_mock"]
