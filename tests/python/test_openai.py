import json
import math

import openai
import pytest

from conftest import BASE_CONFIG, usage

MODEL = "gpt-4o-mini"


def test_chat_non_streaming_reports_exact_usage(oai, admin):
    r = oai.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Say something about budgets."}],
        extra_headers={"x-mock-output-tokens": "7"},
    )
    assert r.object == "chat.completion"
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.content
    assert r.usage.completion_tokens == 7
    # tiktoken's chat rule with o200k_base: 3 + "user"(1) + "Say| something| about| budgets|."(5)
    # + 3 priming the reply.
    assert r.usage.prompt_tokens == 12
    assert r.usage.total_tokens == 19
    led = usage(admin)["models"][MODEL]
    assert led["requests"] == 1
    assert led["input_tokens"] == 12 and led["output_tokens"] == 7
    # gpt-4o-mini: 0.15 / 0.60 USD per MTok.
    assert led["cost_pusd"] == 12 * 150_000 + 7 * 600_000


def test_chat_max_tokens_truncates_with_length(oai):
    r = oai.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Write a lot."}],
        max_completion_tokens=4,
        extra_headers={"x-mock-output-tokens": "50"},
    )
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 4


def test_chat_streaming_with_include_usage(oai):
    chunks = list(
        oai.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "stream please"}],
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"x-mock-output-tokens": "5"},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 5
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.completion_tokens == 5
    assert all(c.usage is None for c in chunks[:-1])


def test_tool_call_arguments_follow_the_schema(oai):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_forecast",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "minLength": 2},
                        "days": {"type": "integer", "minimum": 1, "maximum": 5},
                        "unit": {"type": "string", "enum": ["c", "f"]},
                        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
                    },
                    "required": ["city", "days", "unit"],
                },
            },
        }
    ]
    r = oai.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Weather in Paris?"}], tools=tools
    )
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_forecast"
    args = json.loads(call.function.arguments)
    assert isinstance(args["city"], str) and len(args["city"]) >= 2
    assert isinstance(args["days"], int) and 1 <= args["days"] <= 5
    assert args["unit"] in ("c", "f")
    assert 1 <= len(args["tags"]) <= 2
    # The tool result then gets a text answer.
    r2 = oai.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
        tools=tools,
    )
    assert r2.choices[0].finish_reason == "stop"
    assert r2.choices[0].message.content


def test_json_schema_response_format(oai):
    schema = {
        "type": "object",
        "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1}, "label": {"type": "string"}},
        "required": ["score", "label"],
        "additionalProperties": False,
    }
    r = oai.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "classify"}],
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}},
    )
    v = json.loads(r.choices[0].message.content)
    assert 0 <= v["score"] <= 1 and isinstance(v["label"], str)


def test_responses_api_json_and_stream(oai):
    r = oai.responses.create(model=MODEL, input="Hello there", extra_headers={"x-mock-output-tokens": "6"})
    assert r.status == "completed"
    assert len(r.output_text.split()) == 6
    assert r.usage.output_tokens == 6
    assert r.usage.input_tokens > 0
    events = list(
        oai.responses.create(model=MODEL, input="Hello there", stream=True, extra_headers={"x-mock-output-tokens": "4"})
    )
    types = [e.type for e in events]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    assert types.count("response.output_text.delta") == 4
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.usage.output_tokens == 4


def test_embeddings_are_deterministic_unit_vectors(oai):
    a = oai.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], dimensions=16)
    b = oai.embeddings.create(model="text-embedding-3-small", input="alpha", dimensions=16)
    assert len(a.data) == 2 and len(a.data[0].embedding) == 16
    assert math.isclose(sum(x * x for x in a.data[0].embedding), 1.0, rel_tol=1e-4)
    assert a.data[0].embedding == pytest.approx(b.data[0].embedding, rel=1e-6)
    assert a.data[0].embedding != a.data[1].embedding
    assert a.usage.prompt_tokens == 2


def test_sdk_retries_a_scripted_429_then_succeeds(base_url, admin):
    cfg = dict(BASE_CONFIG)
    cfg["models"] = {MODEL: {"script": ["429", "429", "ok"], "faults": {"retry_after_ms": 5}}}
    admin.put("/_mock/config", cfg)
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=2)
    r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content
    led = usage(admin)["models"][MODEL]
    assert led["requests"] == 3
    assert led["errors_by_status"] == {"429": 2}
    assert led["retries"] == 2
    assert led["succeeded"] == 1


def test_429_without_retries_raises_rate_limit_error_with_headers(base_url, admin):
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0)
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], extra_headers={"x-mock-fault": "429"}
        )
    h = err.value.response.headers
    assert int(h["retry-after"]) >= 1 and int(h["retry-after-ms"]) > 0
    assert "x-ratelimit-remaining-requests" in h
    assert err.value.code == "rate_limit_exceeded"


def test_unknown_model_is_404_model_not_found(oai):
    with pytest.raises(openai.NotFoundError) as err:
        oai.chat.completions.create(model="gpt-7", messages=[{"role": "user", "content": "hi"}])
    assert err.value.code == "model_not_found"


def test_batch_flow_end_to_end(oai, admin):
    lines = [
        {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": MODEL, "messages": [{"role": "user", "content": f"item {i}"}], "max_tokens": 20}}
        for i in range(3)
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    f = oai.files.create(file=("in.jsonl", data), purpose="batch")
    b = oai.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert b.status in ("validating", "in_progress")
    done = oai.batches.retrieve(b.id)
    assert done.status == "completed"
    assert done.request_counts.total == 3 and done.request_counts.completed == 3
    out = [json.loads(x) for x in oai.files.content(done.output_file_id).text.splitlines()]
    assert sorted(o["custom_id"] for o in out) == ["r0", "r1", "r2"]
    assert all(o["response"]["status_code"] == 200 for o in out)
    led = usage(admin)["models"][MODEL]
    assert led["batch_requests"] == 3
    # Half price on every line: input 0.075, output 0.30 USD per MTok.
    expected = sum(
        o["response"]["body"]["usage"]["prompt_tokens"] * 75_000 + o["response"]["body"]["usage"]["completion_tokens"] * 300_000
        for o in out
    )
    assert led["cost_pusd"] == expected


# --- December 2026: GPT-5.6 prompt caching, service tiers (OpenAI spec of August 2026) ---

SYSTEM = "Reference text for the agent to consult. " * 160


def test_gpt_5_6_prompt_cache_options_and_cache_write_tokens(oai, admin):
    def ask(q):
        return oai.chat.completions.create(
            model="gpt-5.6",
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}],
            reasoning_effort="none",
            prompt_cache_options={"ttl": "30m", "mode": "implicit"},
            extra_headers={"x-mock-output-tokens": "5"},
        )

    first = ask("one")
    p = first.usage.prompt_tokens
    w = first.usage.prompt_tokens_details.cache_write_tokens
    # The implicit breakpoint: the prompt's last 128-token step.
    assert w == p // 128 * 128
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    second = ask("one")
    assert second.usage.prompt_tokens_details.cached_tokens == w
    assert second.usage.prompt_tokens_details.cache_write_tokens == 0
    led = usage(admin)["models"]["gpt-5.6"]
    # gpt-5.6: input 4.00, 30-minute write 5.00 (1.25x), cached read 0.40, output 20.00.
    assert led["cost_pusd"] == ((p - w) * 4_000_000 + w * 5_000_000 + 5 * 20_000_000) + (
        (p - w) * 4_000_000 + w * 400_000 + 5 * 20_000_000
    )
    assert led["cache_write_30m_tokens"] == w


def test_gpt_5_6_responses_explicit_breakpoint(oai, admin):
    r = oai.responses.create(
        model="gpt-5.6",
        input=[{"role": "user", "content": [
            {"type": "input_text", "text": SYSTEM, "prompt_cache_breakpoint": {"mode": "explicit"}}]}],
        prompt_cache_options={"mode": "explicit"},
        reasoning={"effort": "none"},
        extra_headers={"x-mock-output-tokens": "4"},
    )
    assert r.prompt_cache_options.mode == "explicit" and r.prompt_cache_options.ttl == "30m"
    # The breakpoint ends the only message: everything but the 3 tokens priming the reply,
    # not rounded to 128.
    w = r.usage.input_tokens - 3
    assert r.usage.input_tokens_details.cache_write_tokens == w
    assert r.usage.input_tokens_details.cached_tokens == 0
    led = usage(admin)["models"]["gpt-5.6"]
    assert led["cost_pusd"] == 3 * 4_000_000 + w * 5_000_000 + 4 * 20_000_000


def test_prompt_cache_options_before_gpt_5_6_is_a_400(oai):
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(
            model="gpt-5.4", messages=[{"role": "user", "content": "hi"}],
            prompt_cache_options={"mode": "implicit"},
        )
    assert err.value.param == "prompt_cache_options"
    assert err.value.code == "unsupported_parameter"


def test_service_tier_flex_halves_priority_doubles(oai, admin):
    costs = {}
    for tier in ["default", "flex", "priority"]:
        before = usage(admin)["total"]["cost_pusd"]
        r = oai.chat.completions.create(
            model="gpt-5.6", messages=[{"role": "user", "content": "Summarise the refund policy."}],
            service_tier=tier, reasoning_effort="none",
            extra_headers={"x-mock-output-tokens": "20"},
        )
        assert r.service_tier == tier
        costs[tier] = usage(admin)["total"]["cost_pusd"] - before
    p = r.usage.prompt_tokens
    assert costs["default"] == p * 4_000_000 + 20 * 20_000_000
    assert costs["flex"] == p * 2_000_000 + 20 * 10_000_000
    assert costs["flex"] * 2 == costs["default"]
    assert costs["priority"] == costs["default"] * 2
    resp = oai.responses.create(model="gpt-5.6", input="hi", service_tier="flex", reasoning={"effort": "none"})
    assert resp.service_tier == "flex"
    # gpt-4o has no flex tier: 400 naming the parameter.
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], service_tier="flex",
        )
    assert err.value.param == "service_tier"


def test_reasoning_tokens_are_billed_as_output(oai, admin):
    admin.put("/_mock/config", {**BASE_CONFIG, "models": {"gpt-5.6": {"reasoning_tokens": {"dist": "constant", "value": 64}}}})
    r = oai.chat.completions.create(
        model="gpt-5.6", messages=[{"role": "user", "content": "Think first."}],
        extra_headers={"x-mock-output-tokens": "6"},
    )
    assert r.usage.completion_tokens_details.reasoning_tokens == 64
    assert r.usage.completion_tokens == 70
    led = usage(admin)["models"]["gpt-5.6"]
    assert led["cost_pusd"] == r.usage.prompt_tokens * 4_000_000 + 70 * 20_000_000
