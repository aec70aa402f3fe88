"""The official google-genai SDK (pinned in requirements.txt) against the mock's Gemini API:
chat, stream, tools, structured output, count tokens, embeddings, explicit and implicit
caching, errors. Prices by hand from the catalog: gemini-3.5-flash input $1.50, cache read
$0.15, output $9.00 per million tokens, storage $1.00 per million tokens per hour."""

import pydantic
import pytest
from google import genai
from google.genai import errors, types

from conftest import usage

MODEL = "gemini-3.5-flash"
NO_THOUGHTS = {"x-mock-reasoning-tokens": "0"}


@pytest.fixture()
def gem(base_url, admin):
    return genai.Client(
        api_key="gm-test-key",
        http_options=types.HttpOptions(base_url=base_url, headers=NO_THOUGHTS),
    )


def row(admin, model=MODEL):
    return usage(admin)["models"][model]


def test_generate_content_and_bill(gem, admin):
    r = gem.models.generate_content(
        model=MODEL, contents="Hello there.",
        config=types.GenerateContentConfig(http_options=types.HttpOptions(headers={**NO_THOUGHTS, "x-mock-output-tokens": "9"})),
    )
    assert len(r.text.split()) == 9
    u = r.usage_metadata
    assert u.candidates_token_count == 9
    assert u.total_token_count == u.prompt_token_count + 9
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert row(admin)["cost_pusd"] == u.prompt_token_count * 1_500_000 + 9 * 9_000_000


def test_thoughts_bill_as_output(gem, admin):
    r = gem.models.generate_content(
        model=MODEL, contents="Think first.",
        config=types.GenerateContentConfig(
            thinking_config=types.ThinkingConfig(thinking_budget=64),
            http_options=types.HttpOptions(headers={"x-mock-output-tokens": "3", "x-mock-reasoning-tokens": "50"}),
        ),
    )
    u = r.usage_metadata
    assert u.thoughts_token_count == 50 and u.candidates_token_count == 3
    assert row(admin)["cost_pusd"] == u.prompt_token_count * 1_500_000 + 53 * 9_000_000


def test_stream(gem, admin):
    chunks = list(gem.models.generate_content_stream(
        model=MODEL, contents="Stream please.",
        config=types.GenerateContentConfig(http_options=types.HttpOptions(headers={**NO_THOUGHTS, "x-mock-output-tokens": "8"})),
    ))
    assert len(chunks) == 9  # one per token, then the finish with usage
    text = "".join(c.text or "" for c in chunks)
    assert len(text.split()) == 8
    assert chunks[-1].usage_metadata.candidates_token_count == 8
    assert row(admin)["output_tokens"] == 8


def test_function_calling(gem):
    def get_weather(city: str, days: int) -> str:
        """Weather forecast of a city."""
        return "sunny"

    r = gem.models.generate_content(
        model=MODEL, contents="Weather in Paris?",
        config=types.GenerateContentConfig(
            tools=[get_weather],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    )
    call = r.function_calls[0]
    assert call.name == "get_weather"
    assert isinstance(call.args["city"], str) and isinstance(call.args["days"], int)
    # The SDK's automatic function calling runs the function and sends its result back:
    # the mock then answers in text.
    done = gem.models.generate_content(
        model=MODEL, contents="Weather in Paris?",
        config=types.GenerateContentConfig(tools=[get_weather]),
    )
    assert done.text and not done.function_calls
    assert len(done.automatic_function_calling_history) == 3


class Person(pydantic.BaseModel):
    name: str
    age: int
    tags: list[str]


def test_structured_output_response_schema(gem):
    r = gem.models.generate_content(
        model=MODEL, contents="Describe someone.",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=Person),
    )
    assert isinstance(r.parsed, Person)
    r = gem.models.generate_content(
        model=MODEL, contents="Describe someone.",
        config=types.GenerateContentConfig(response_mime_type="application/json",
                                           response_json_schema=Person.model_json_schema()),
    )
    Person.model_validate_json(r.text)


def test_count_tokens_matches_generate(gem):
    n = gem.models.count_tokens(model=MODEL, contents="How many tokens is this?").total_tokens
    r = gem.models.generate_content(model=MODEL, contents="How many tokens is this?")
    assert n == r.usage_metadata.prompt_token_count > 3


def test_embeddings(gem, admin):
    r = gem.models.embed_content(
        model="gemini-embedding-001", contents=["alpha beta", "gamma"],
        config=types.EmbedContentConfig(output_dimensionality=256),
    )
    assert [len(e.values) for e in r.embeddings] == [256, 256]
    assert abs(sum(v * v for v in r.embeddings[0].values) - 1.0) < 1e-3
    assert row(admin, "gemini-embedding-001")["cost_pusd"] > 0


LONG = "You are a careful support agent for a bicycle shop. " * 500


def test_explicit_cache(gem, admin):
    cache = gem.caches.create(
        model=MODEL,
        config=types.CreateCachedContentConfig(system_instruction=LONG, ttl="1800s", display_name="manual"),
    )
    n = cache.usage_metadata.total_token_count
    assert n > 4096 and cache.display_name == "manual"
    assert row(admin)["cost_pusd"] == n * 1_500_000 + n * 1_000_000 // 2
    r = gem.models.generate_content(
        model=MODEL, contents="Return policy?",
        config=types.GenerateContentConfig(cached_content=cache.name,
                                           http_options=types.HttpOptions(headers={**NO_THOUGHTS, "x-mock-output-tokens": "4"})),
    )
    assert r.usage_metadata.cached_content_token_count == n
    assert gem.caches.get(name=cache.name).name == cache.name
    assert cache.name in [c.name for c in gem.caches.list()]
    gem.caches.update(name=cache.name, config=types.UpdateCachedContentConfig(ttl="60s"))
    gem.caches.delete(name=cache.name)
    with pytest.raises(errors.ClientError) as e:
        gem.caches.get(name=cache.name)
    assert e.value.code == 403 and e.value.status == "PERMISSION_DENIED"


def test_implicit_cache(gem, admin):
    cfg = types.GenerateContentConfig(system_instruction=LONG)
    gem.models.generate_content(model=MODEL, contents="About gears?", config=cfg)
    r = gem.models.generate_content(model=MODEL, contents="About brakes?", config=cfg)
    read = r.usage_metadata.cached_content_token_count
    assert read >= 4096 and (read - 4096) % 128 == 0
    assert row(admin)["cache_read_tokens"] == read


def test_errors(gem):
    with pytest.raises(errors.ClientError) as e:
        gem.models.generate_content(model="gemini-9-ultra", contents="hi")
    assert e.value.code == 404 and e.value.status == "NOT_FOUND"
    with pytest.raises(errors.ClientError) as e:
        gem.models.generate_content(
            model=MODEL, contents="hi",
            config=types.GenerateContentConfig(http_options=types.HttpOptions(headers={"x-mock-fault": "429"})),
        )
    assert e.value.code == 429 and e.value.status == "RESOURCE_EXHAUSTED"
    retry = [d for d in e.value.details["error"]["details"] if d["@type"].endswith("RetryInfo")]
    assert retry[0]["retryDelay"] == "1s"
    with pytest.raises(errors.ServerError) as e:
        gem.models.generate_content(
            model=MODEL, contents="hi",
            config=types.GenerateContentConfig(http_options=types.HttpOptions(headers={"x-mock-fault": "529"})),
        )
    assert e.value.code == 503 and e.value.status == "UNAVAILABLE"
