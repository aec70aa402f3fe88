import anthropic
import pytest

from conftest import usage

MODEL = "claude-sonnet-4-5"


def test_messages_json(claude):
    m = claude.messages.create(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hello"}],
        extra_headers={"x-mock-output-tokens": "9"},
    )
    assert m.type == "message" and m.stop_reason == "end_turn"
    assert m.usage.output_tokens == 9
    assert len(m.content[0].text.split()) == 9


def test_messages_streaming(claude):
    with claude.messages.stream(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hello"}],
        extra_headers={"x-mock-output-tokens": "8"},
    ) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_message()
    assert events[0] == "message_start"
    assert "ping" in events or True  # the SDK may hide pings; order below is what matters
    assert events[-1] == "message_stop"
    assert final.usage.output_tokens == 8
    assert len(final.content[0].text.split()) == 8


def test_cache_control_second_call_reads_the_cache(claude, admin):
    system = [{"type": "text", "text": "You are a careful support agent. " * 200, "cache_control": {"type": "ephemeral"}}]
    first = claude.messages.create(model=MODEL, max_tokens=20, system=system, messages=[{"role": "user", "content": "one"}])
    assert first.usage.cache_creation_input_tokens >= 1024
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == first.usage.cache_creation_input_tokens
    second = claude.messages.create(model=MODEL, max_tokens=20, system=system, messages=[{"role": "user", "content": "two"}])
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == 0
    led = usage(admin)["models"][MODEL]
    assert led["cache_write_5m_tokens"] == first.usage.cache_creation_input_tokens
    assert led["cache_read_tokens"] == second.usage.cache_read_input_tokens
    # count_tokens agrees with the total input of a call.
    n = claude.messages.count_tokens(model=MODEL, system=system, messages=[{"role": "user", "content": "two"}])
    u = second.usage
    assert n.input_tokens == u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens


def test_short_prefix_is_not_cached(claude):
    system = [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    for _ in range(2):
        m = claude.messages.create(model=MODEL, max_tokens=5, system=system, messages=[{"role": "user", "content": "x"}])
        assert m.usage.cache_creation_input_tokens == 0 and m.usage.cache_read_input_tokens == 0


def test_forced_529_raises_overloaded_error(claude):
    with pytest.raises(anthropic.OverloadedError) as err:
        claude.messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-mock-fault": "529"},
        )
    assert isinstance(err.value, anthropic.InternalServerError)
    assert err.value.status_code == 529
    assert err.value.body["error"]["type"] == "overloaded_error"


def test_unknown_model_is_not_found_error(claude):
    with pytest.raises(anthropic.NotFoundError) as err:
        claude.messages.create(model="claude-9", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert err.value.body["error"]["type"] == "not_found_error"


def test_tool_use(claude):
    tools = [{"name": "lookup", "description": "find an order",
              "input_schema": {"type": "object", "properties": {"order_id": {"type": "integer", "minimum": 1}}, "required": ["order_id"]}}]
    m = claude.messages.create(model=MODEL, max_tokens=100, tools=tools, messages=[{"role": "user", "content": "where is my order"}])
    assert m.stop_reason == "tool_use"
    block = m.content[0]
    assert block.type == "tool_use" and block.name == "lookup"
    assert isinstance(block.input["order_id"], int) and block.input["order_id"] >= 1


def test_message_batch_end_to_end(claude, admin):
    reqs = [{"custom_id": f"c{i}", "params": {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": f"q{i}"}]}} for i in range(2)]
    b = claude.messages.batches.create(requests=reqs)
    assert b.processing_status == "in_progress"
    done = claude.messages.batches.retrieve(b.id)
    assert done.processing_status == "ended"
    results = list(claude.messages.batches.results(b.id))
    assert sorted(r.custom_id for r in results) == ["c0", "c1"]
    assert all(r.result.type == "succeeded" for r in results)
    assert usage(admin)["models"][MODEL]["batch_requests"] == 2


# --- December 2026: extended thinking and service_tier on claude-sonnet-4-6 ---

THINKER = "claude-sonnet-4-6"


def thinking_config(admin, n):
    admin.put("/_mock/config", {"seed": 7, "time_scale": 0.0, "batch_completion_s": 0.0,
                                "models": {THINKER: {"reasoning_tokens": {"dist": "constant", "value": n}}}})


def test_extended_thinking_block_and_bill(claude, admin):
    thinking_config(admin, 300)
    m = claude.messages.create(
        model=THINKER, max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "Why is the sky blue?"}],
        extra_headers={"x-mock-output-tokens": "10"},
    )
    assert [b.type for b in m.content] == ["thinking", "text"]
    assert m.content[0].thinking and m.content[0].signature
    assert len(m.content[1].text.split()) == 10
    # Thinking tokens are output tokens: 300 + 10.
    assert m.usage.output_tokens == 310
    led = usage(admin)["models"][THINKER]
    # claude-sonnet-4-6: 3.00 in, 15.00 out.
    assert led["cost_pusd"] == m.usage.input_tokens * 3_000_000 + 310 * 15_000_000
    assert led["reasoning_tokens"] == 300


def test_extended_thinking_streamed(claude, admin):
    thinking_config(admin, 40)
    with claude.messages.stream(
        model=THINKER, max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "Why is the sky blue?"}],
        extra_headers={"x-mock-output-tokens": "8"},
    ) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_message()
    assert events.count("thinking") == 40
    assert events.count("signature") == 1
    assert final.content[0].type == "thinking" and final.content[0].signature
    assert final.content[1].type == "text" and len(final.content[1].text.split()) == 8
    assert final.usage.output_tokens == 48
    led = usage(admin)["models"][THINKER]
    assert led["cost_pusd"] == final.usage.input_tokens * 3_000_000 + 48 * 15_000_000


def test_thinking_budget_is_validated(claude):
    with pytest.raises(anthropic.BadRequestError) as err:
        claude.messages.create(
            model=THINKER, max_tokens=1024, thinking={"type": "enabled", "budget_tokens": 1024},
            messages=[{"role": "user", "content": "x"}],
        )
    assert "must be greater than `thinking.budget_tokens`" in str(err.value)


def test_service_tier_standard_only(claude, admin):
    m = claude.messages.create(
        model=THINKER, max_tokens=50, service_tier="standard_only",
        messages=[{"role": "user", "content": "hello"}], extra_headers={"x-mock-output-tokens": "5"},
    )
    assert m.usage.service_tier == "standard"
    led = usage(admin)["models"][THINKER]
    assert led["cost_pusd"] == m.usage.input_tokens * 3_000_000 + 5 * 15_000_000
    assert led["service_tiers"] == {"standard": 1}
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.create(
            model=THINKER, max_tokens=50, service_tier="priority",
            messages=[{"role": "user", "content": "hello"}],
        )
