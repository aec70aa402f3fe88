"""Agent frameworks (pinned in requirements.txt) against the mock, unmodified: each test
asserts the typed result the framework parses and the ledger's cost, priced by hand from the
providers' price pages (claude-sonnet-4-6: 3.00 in / 15.00 out USD per MTok,
https://platform.claude.com/docs/en/about-claude/pricing; gpt-4o-mini: 0.15 / 0.60,
https://developers.openai.com/api/docs/pricing). A pUSD is 1e-12 USD, so X USD/MTok is
X * 1e6 pUSD a token."""

from typing import Literal

import instructor
import openai
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.prebuilt import create_react_agent
from pydantic import BaseModel, Field
from pydantic_ai import Agent, NativeOutput, ToolOutput
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.providers.anthropic import AnthropicProvider

SONNET = "claude-sonnet-4-6"
MINI = "gpt-4o-mini"


def sonnet_cost(input_tokens, output_tokens):
    return input_tokens * 3_000_000 + output_tokens * 15_000_000


def mini_cost(input_tokens, output_tokens):
    return input_tokens * 150_000 + output_tokens * 600_000


class City(BaseModel):
    name: str
    country: str
    population: int = Field(ge=0)
    climate: Literal["arid", "temperate", "tropical"]


def claude(base_url):
    provider = AnthropicProvider(base_url=base_url, api_key="sk-ant-test")
    return AnthropicModel(SONNET, provider=provider)


def test_pydantic_ai_native_output_on_anthropic(base_url, ledger):
    agent = Agent(claude(base_url), output_type=NativeOutput(City))
    result = agent.run_sync("Describe Lisbon.")
    assert isinstance(result.output, City)
    assert result.output.climate in ("arid", "temperate", "tropical")
    usage = result.usage
    assert usage.requests == 1
    row = ledger(SONNET)
    assert row["requests"] == 1
    assert row["input_tokens"] == usage.input_tokens
    assert row["output_tokens"] == usage.output_tokens
    assert row["cost_pusd"] == sonnet_cost(usage.input_tokens, usage.output_tokens)


def test_pydantic_ai_tool_output_ends_the_loop(base_url, ledger):
    # The agent's own tool beside the `final_result` output tool, tool choice required: the
    # mock calls the tool it has not called yet, so the second request ends the run.
    agent = Agent(claude(base_url), output_type=ToolOutput(City))
    looked_up = []

    @agent.tool_plain
    def lookup(city: str) -> str:
        """Facts about a city."""
        looked_up.append(city)
        return "Lisbon, Portugal, 545000 people, temperate"

    result = agent.run_sync("Describe Lisbon; look it up first.")
    assert isinstance(result.output, City)
    assert len(looked_up) == 1
    usage = result.usage
    assert usage.requests == 2
    row = ledger(SONNET)
    assert row["requests"] == 2
    assert row["cost_pusd"] == sonnet_cost(usage.input_tokens, usage.output_tokens)


def test_instructor_json_mode(base_url, ledger):
    # Mode.JSON: response_format json_object and the schema in the system message.
    client = instructor.from_openai(
        openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0),
        mode=instructor.Mode.JSON,
    )
    city, completion = client.chat.completions.create_with_completion(
        model=MINI,
        response_model=City,
        max_retries=0,
        messages=[{"role": "user", "content": "Describe Lisbon."}],
    )
    assert isinstance(city, City)
    u = completion.usage
    row = ledger(MINI)
    assert row["requests"] == 1, "validated on the first try"
    assert row["cost_pusd"] == mini_cost(u.prompt_tokens, u.completion_tokens)


def test_langgraph_react_agent(base_url, ledger):
    calls = []

    @tool
    def population(city: str) -> int:
        """The population of a city."""
        calls.append(city)
        return 545_000

    llm = ChatOpenAI(model=MINI, base_url=base_url + "/v1", api_key="sk-test", max_retries=0)
    agent = create_react_agent(llm, [population], response_format=City)
    state = agent.invoke({"messages": [("user", "How many people live in Lisbon?")]})
    messages = state["messages"]
    # One tool round, then the answer in text (tool_rounds = 1), then the structured response.
    assert len(calls) == 1
    assert [type(m).__name__ for m in messages[1:]] == ["AIMessage", "ToolMessage", "AIMessage"]
    assert isinstance(messages[2], ToolMessage) and messages[2].content == "545000"
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls and final.content
    assert isinstance(state["structured_response"], City)
    row = ledger(MINI)
    assert row["requests"] == 3
    # The two agent turns report their usage on the messages; the third call's share is the
    # ledger's remainder, and the whole is priced at gpt-4o-mini's rates.
    agent_in = sum(m.usage_metadata["input_tokens"] for m in messages if isinstance(m, AIMessage))
    agent_out = sum(m.usage_metadata["output_tokens"] for m in messages if isinstance(m, AIMessage))
    assert row["input_tokens"] > agent_in and row["output_tokens"] > agent_out
    assert row["cost_pusd"] == mini_cost(row["input_tokens"], row["output_tokens"])
