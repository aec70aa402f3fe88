"""The mock's OpenAI answers, byte for byte as sent, validated against OpenAI's OpenAPI spec of
August 2026 with a real JSON Schema validator (jsonschema, Draft 2020-12).

The schemas are tests/fixtures/openai-openapi-2026-08-subset.json, extracted from the spec by
scripts/extract-openapi-subset.py. Bodies are fetched with urllib (not an SDK, which would
tolerate and hide missing or extra fields). Every endpoint and every answer variety is checked:
chat (text, tool calls, length, JSON mode, streams with and without usage), Responses (text,
function calls, incomplete, and each stream event against its own event schema), embeddings
(float and base64), models, files, batches (and their output lines) and error bodies."""

import base64
import functools
import importlib.util
import json
import struct
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import jsonschema
import pytest

from conftest import BASE_CONFIG

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "openai-openapi-2026-08-subset.json"
SPEC = json.loads(FIXTURE.read_text())
SCHEMAS = SPEC["components"]["schemas"]
MODEL = "gpt-4o-mini"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_forecast",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 5}},
                "required": ["city", "days"],
            },
        },
    }
]
RESPONSES_TOOLS = [{"type": "function", "name": "get_forecast", "parameters": TOOLS[0]["function"]["parameters"]}]


@functools.cache
def validator(name):
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/components/schemas/{name}",
        "components": SPEC["components"],
    }
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(name, body):
    return list(validator(name).iter_errors(body))


def check(name, body):
    """Fails with the validator's most relevant error (path and message) if `body` is not a
    valid `name`."""
    errs = errors(name, body)
    if errs:
        best = jsonschema.exceptions.best_match(errs)
        where = "/".join(str(p) for p in best.absolute_path)
        pytest.fail(f"{name} rejects the mock's body at /{where}: {best.message}\n"
                    f"{json.dumps(body)[:2000]}")


def event_schemas():
    """Responses stream event type -> the schema of that event, from ResponseStreamEvent."""
    out = {}
    for branch in SCHEMAS["ResponseStreamEvent"]["anyOf"]:
        name = branch["$ref"].rsplit("/", 1)[1]
        for t in SCHEMAS[name]["properties"]["type"]["enum"]:
            out[t] = name
    return out


EVENT_SCHEMAS = event_schemas()


def http(base_url, method, path, body=None, headers=None, key="sk-test", raw=None, ctype="application/json"):
    """(status, content-type, body bytes) of one request; HTTP errors are answers too."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    h = {"content-type": ctype} if data is not None else {}
    if key is not None:
        h["authorization"] = f"Bearer {key}"
    h.update(headers or {})
    req = urllib.request.Request(base_url + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers.get("content-type", ""), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


def ok_json(base_url, method, path, body=None, **kw):
    status, _, data = http(base_url, method, path, body, **kw)
    assert status == 200, (status, data[:500])
    return json.loads(data)


def sse(data):
    """(event name or None, parsed data or the raw `[DONE]`) of each SSE event."""
    out = []
    for block in data.decode().split("\n\n"):
        if not block.strip():
            continue
        event, payload = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                payload.append(line[5:].lstrip())
        text = "\n".join(payload)
        out.append((event, text if text == "[DONE]" else json.loads(text)))
    return out


def chat(base_url, extra=None, out_tokens=6, headers=None):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Forecast for Paris, please."}]}
    body.update(extra or {})
    h = {"x-mock-output-tokens": str(out_tokens)}
    h.update(headers or {})
    return http(base_url, "POST", "/v1/chat/completions", body, headers=h)


def error_body(status_want, answer):
    status, ctype, data = answer
    assert status == status_want, (status, data[:500])
    assert ctype.startswith("application/json"), ctype
    body = json.loads(data)
    check("ErrorResponse", body)
    return body


# ---------------------------------------------------------------------------- chat completions

CHAT_VARIETIES = {
    "text": {},
    "tool_call": {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "get_forecast"}}},
    "tool_required": {"tools": TOOLS, "tool_choice": "required"},
    "tools_offered_text_answer": {"tools": TOOLS, "tool_choice": "none"},
    "length": {"max_completion_tokens": 3},
    "json_schema": {"response_format": {"type": "json_schema", "json_schema": {
        "name": "f", "schema": {"type": "object", "properties": {"t": {"type": "number"}}, "required": ["t"]}}}},
    "json_object": {"response_format": {"type": "json_object"}},
    "n_and_logprobs_accepted": {"n": 2, "logprobs": True, "top_logprobs": 2},
    "sampling_fields": {"temperature": 0.2, "top_p": 0.9, "seed": 3, "stop": ["zzz"], "user": "u1",
                        "prompt_cache_key": "k1", "store": False, "metadata": {"a": "b"}},
}


@pytest.mark.parametrize("variety", sorted(CHAT_VARIETIES))
def test_chat_completion_bodies_validate(base_url, admin, variety):
    status, ctype, data = chat(base_url, CHAT_VARIETIES[variety])
    assert status == 200, data[:500]
    assert ctype.startswith("application/json")
    body = json.loads(data)
    check("CreateChatCompletionResponse", body)
    if variety.startswith("tool_"):
        assert body["choices"][0]["finish_reason"] == "tool_calls"
        assert body["choices"][0]["message"]["tool_calls"]
    if variety == "length":
        assert body["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("variety", ["text", "tool_call", "length"])
def test_every_chat_stream_chunk_validates(base_url, admin, variety, include_usage):
    extra = dict(CHAT_VARIETIES[variety], stream=True)
    if include_usage:
        extra["stream_options"] = {"include_usage": True}
    status, ctype, data = chat(base_url, extra)
    assert status == 200, data[:500]
    assert ctype.startswith("text/event-stream")
    events = sse(data)
    assert events[-1] == (None, "[DONE]")
    chunks = [d for _, d in events[:-1]]
    assert len(chunks) >= 3
    for chunk in chunks:
        check("CreateChatCompletionStreamResponse", chunk)
    assert (chunks[-1]["choices"] == []) == include_usage
    assert ("usage" in chunks[-1] and chunks[-1]["usage"] is not None) == include_usage


def test_chat_stream_error_event_is_an_error_body(base_url, admin):
    status, _, data = chat(base_url, {"stream": True}, out_tokens=8, headers={"x-mock-fault": "stream_error"})
    assert status == 200
    events = sse(data)
    for _, chunk in events[:-1]:
        check("CreateChatCompletionStreamResponse", chunk)
    check("ErrorResponse", events[-1][1])


def test_current_model_bodies_validate(base_url, admin):
    """The same shapes for a December 2026 model (gpt-5.6), streamed and not."""
    model = {"model": "gpt-5.6"}
    check("CreateChatCompletionResponse", json.loads(chat(base_url, model)[2]))
    events = sse(chat(base_url, dict(model, stream=True, stream_options={"include_usage": True}))[2])
    for _, chunk in events[:-1]:
        check("CreateChatCompletionStreamResponse", chunk)
    check("Response", json.loads(responses(base_url, model)[2]))
    for event, body in sse(responses(base_url, dict(model, stream=True))[2]):
        check(EVENT_SCHEMAS[event], body)


# ------------------------------------------------------------------------------- Responses API

def responses(base_url, extra=None, out_tokens=6, headers=None):
    body = {"model": MODEL, "input": "Forecast for Paris, please."}
    body.update(extra or {})
    h = {"x-mock-output-tokens": str(out_tokens)}
    h.update(headers or {})
    return http(base_url, "POST", "/v1/responses", body, headers=h)


RESPONSES_VARIETIES = {
    "text": {},
    "instructions_and_items": {"instructions": "Be brief.", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Forecast?"}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_forecast", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}]},
    "function_call": {"tools": RESPONSES_TOOLS, "tool_choice": {"type": "function", "name": "get_forecast"}},
    "incomplete": {"max_output_tokens": 16},
    "json_schema": {"text": {"format": {"type": "json_schema", "name": "f", "schema": {
        "type": "object", "properties": {"t": {"type": "number"}}, "required": ["t"], "additionalProperties": False}}}},
}


@pytest.mark.parametrize("variety", sorted(RESPONSES_VARIETIES))
def test_response_bodies_validate(base_url, admin, variety):
    status, _, data = responses(base_url, RESPONSES_VARIETIES[variety], out_tokens=40)
    assert status == 200, data[:500]
    body = json.loads(data)
    check("Response", body)
    if variety == "function_call":
        assert body["output"][0]["type"] == "function_call"
    if variety == "incomplete":
        assert body["status"] == "incomplete"


@pytest.mark.parametrize("variety", ["text", "function_call", "incomplete"])
def test_every_responses_stream_event_validates(base_url, admin, variety):
    status, ctype, data = responses(base_url, dict(RESPONSES_VARIETIES[variety], stream=True), out_tokens=40)
    assert status == 200, data[:500]
    assert ctype.startswith("text/event-stream")
    events = sse(data)
    assert events[0][0] == "response.created"
    seen = []
    for event, body in events:
        assert body["type"] == event
        assert event in EVENT_SCHEMAS, f"{event} is not a Responses stream event of the spec"
        check(EVENT_SCHEMAS[event], body)
        check("ResponseStreamEvent", body)
        seen.append(event)
    assert [b["sequence_number"] for _, b in events] == list(range(len(events)))
    final = "response.incomplete" if variety == "incomplete" else "response.completed"
    assert seen[-1] == final
    check("Response", events[-1][1]["response"])


def test_responses_stream_error_event_validates(base_url, admin):
    status, _, data = responses(base_url, {"stream": True}, out_tokens=20, headers={"x-mock-fault": "stream_error"})
    assert status == 200
    events = sse(data)
    assert events[-1][0] == "error"
    for event, body in events:
        check(EVENT_SCHEMAS[event], body)


# ---------------------------------------------------------------------------------- embeddings

@pytest.mark.parametrize("extra", [
    {"input": "one text"},
    {"input": ["two", "texts"], "encoding_format": "float", "dimensions": 8},
    {"input": ["base64 texts", "b"], "encoding_format": "base64", "dimensions": 16},
    {"input": [[1, 2, 3], [4, 5]]},
])
def test_embedding_bodies_validate(base_url, admin, extra):
    body = ok_json(base_url, "POST", "/v1/embeddings", dict({"model": "text-embedding-3-small"}, **extra))
    if extra.get("encoding_format") == "base64":
        # The spec types `embedding` as an array of numbers only, yet with base64 the API sends
        # the little-endian float32 bytes as a string (which the official SDK asks for and
        # decodes). The rest of the body is checked after decoding, as the SDK does.
        for item in body["data"]:
            raw = base64.b64decode(item["embedding"], validate=True)
            assert len(raw) == 4 * extra["dimensions"]
            item["embedding"] = list(struct.unpack(f"<{extra['dimensions']}f", raw))
    check("CreateEmbeddingResponse", body)


# ------------------------------------------------------------------------------------- models

def test_model_bodies_validate(base_url, admin):
    listed = ok_json(base_url, "GET", "/v1/models")
    check("ListModelsResponse", listed)
    assert len(listed["data"]) > 10
    for m in listed["data"]:
        check("Model", m)
    check("Model", ok_json(base_url, "GET", f"/v1/models/{MODEL}"))


# ------------------------------------------------------------------------ files and batches

def multipart(fields, filename, content):
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\ncontent-disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\ncontent-disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f'content-type: application/jsonl\r\n\r\n'.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_file_and_batch_bodies_validate(base_url, admin):
    lines = [
        {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": dict({"model": MODEL, "messages": [{"role": "user", "content": f"hi {i}"}]}, **extra)}
        for i, extra in enumerate([{}, CHAT_VARIETIES["tool_call"], {"temperature": 9}])
    ]
    raw, ctype = multipart({"purpose": "batch"}, "in.jsonl", "\n".join(map(json.dumps, lines)).encode())
    status, _, data = http(base_url, "POST", "/v1/files", raw=raw, ctype=ctype)
    assert status == 200, data[:500]
    uploaded = json.loads(data)
    check("OpenAIFile", uploaded)
    check("OpenAIFile", ok_json(base_url, "GET", f"/v1/files/{uploaded['id']}"))

    created = ok_json(base_url, "POST", "/v1/batches", {
        "input_file_id": uploaded["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"})
    check("Batch", created)
    assert created["status"] == "validating"
    done = ok_json(base_url, "GET", f"/v1/batches/{created['id']}")  # batch_completion_s = 0
    check("Batch", done)
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    second = ok_json(base_url, "POST", "/v1/batches", {
        "input_file_id": uploaded["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"})
    listed = ok_json(base_url, "GET", "/v1/batches?limit=5")
    check("ListBatchesResponse", listed)
    assert [b["id"] for b in listed["data"]] == [second["id"], created["id"]]  # newest first
    page = ok_json(base_url, "GET", "/v1/batches?limit=1")
    check("ListBatchesResponse", page)
    assert page["has_more"] and page["first_id"] == page["last_id"] == second["id"]
    rest = ok_json(base_url, "GET", f"/v1/batches?limit=1&after={second['id']}")
    check("ListBatchesResponse", rest)
    assert [b["id"] for b in rest["data"]] == [created["id"]] and not rest["has_more"]
    check("ListBatchesResponse", ok_json(base_url, "GET", f"/v1/batches?after={created['id']}"))

    output = ok_json(base_url, "GET", f"/v1/files/{done['output_file_id']}")
    check("OpenAIFile", output)
    status, _, content = http(base_url, "GET", f"/v1/files/{done['output_file_id']}/content")
    assert status == 200
    results = [json.loads(line) for line in content.decode().splitlines() if line.strip()]
    assert len(results) == 3
    for r in results:
        if r["response"]["status_code"] == 200:
            check("CreateChatCompletionResponse", r["response"]["body"])
        else:
            check("ErrorResponse", r["response"]["body"])


# ------------------------------------------------------------------------------------- errors

def test_error_bodies_validate(base_url, admin):
    error_body(400, chat(base_url, {"temperature": 7}))
    error_body(400, http(base_url, "POST", "/v1/chat/completions", raw=b"{not json"))
    error_body(400, http(base_url, "POST", "/v1/responses", {"model": MODEL}))
    error_body(400, http(base_url, "POST", "/v1/embeddings", {"model": "text-embedding-3-small", "input": []}))
    error_body(404, chat(base_url, {"model": "gpt-no-such-model"}))
    error_body(404, http(base_url, "GET", "/v1/models/gpt-no-such-model"))
    error_body(404, http(base_url, "GET", "/v1/files/file-nope"))
    error_body(404, http(base_url, "GET", "/v1/batches/batch_nope"))
    error_body(404, http(base_url, "GET", "/v1/nowhere"))
    error_body(405, http(base_url, "DELETE", "/v1/models"))
    error_body(400, http(base_url, "GET", "/v1/batches?limit=0"))
    error_body(400, http(base_url, "GET", "/v1/batches?limit=many"))
    for fault, status in [("429", 429), ("quota", 429), ("500", 500), ("502", 502), ("503", 503),
                          ("timeout", 504), ("stream_error", 500)]:
        body = error_body(status, chat(base_url, headers={"x-mock-fault": fault}))
        if fault == "quota":
            assert body["error"]["code"] == "insufficient_quota"
        error_body(status, responses(base_url, headers={"x-mock-fault": fault}))


def test_rate_limit_and_auth_error_bodies_validate(base_url, admin):
    admin.put("/_mock/config", dict(BASE_CONFIG, defaults={"rpm": 1}))
    assert chat(base_url)[0] == 200
    body = error_body(429, chat(base_url))
    assert body["error"]["code"] == "rate_limit_exceeded"

    admin.put("/_mock/config", dict(BASE_CONFIG, api_keys=["sk-right"]))
    try:
        error_body(401, http(base_url, "GET", "/v1/models", key="sk-wrong"))
        error_body(401, http(base_url, "POST", "/v1/embeddings", {"model": "x", "input": "y"}, key=None))
    finally:
        ok_json(base_url, "PUT", "/_mock/config", BASE_CONFIG, key="sk-right")


# ------------------------------------------------------------------- the validator can fail

def test_the_validator_rejects_what_the_spec_forbids(base_url, admin):
    """The checks above are not vacuous: the same fixture and validator reject a real body with
    a required field removed, a wrong enum value, or a null where the spec wants a number."""
    body = json.loads(chat(base_url)[2])
    assert not errors("CreateChatCompletionResponse", body)
    for mutate in [
        lambda b: b.pop("choices"),
        lambda b: b["choices"][0]["message"].pop("refusal"),
        lambda b: b["choices"][0].update(finish_reason="done"),
        lambda b: b["usage"].update(total_tokens=None),
    ]:
        broken = json.loads(json.dumps(body))
        mutate(broken)
        assert errors("CreateChatCompletionResponse", broken), broken
    resp = json.loads(responses(base_url)[2])
    assert not errors("Response", resp)
    resp["usage"]["input_tokens_details"].pop("cache_write_tokens")
    assert errors("Response", resp)


# ------------------------------------------------------------------ the fixture and its script

def extractor():
    path = Path(__file__).resolve().parents[2] / "scripts" / "extract-openapi-subset.py"
    spec = importlib.util.spec_from_file_location("extract_openapi_subset", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fixture_is_plain_json_schema():
    assert SPEC["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SPEC)
    text = json.dumps(SPEC)
    assert '"nullable"' not in text
    found = set()
    extractor().refs(SPEC, found)
    assert found <= SCHEMAS.keys(), found - SCHEMAS.keys()
    assert set(SPEC["source"]["roots"]) <= SCHEMAS.keys()


def test_the_extractor_turns_nullable_into_unions(tmp_path, monkeypatch):
    x = extractor()
    ref = {"$ref": "#/components/schemas/B"}
    assert x.clean({"type": "string", "nullable": True, "description": "d"}) == {"type": ["string", "null"]}
    assert x.clean({"type": "string", "enum": ["a"], "nullable": True}) == {"type": ["string", "null"], "enum": ["a", None]}
    assert x.clean(dict(ref, nullable=True)) == {"anyOf": [ref, {"type": "null"}]}
    assert x.clean({"oneOf": [{"type": "string"}, ref], "nullable": True, "x-oaiTypeLabel": "s"}) == {
        "anyOf": [{"oneOf": [{"type": "string"}, ref]}, {"type": "null"}]}
    assert x.clean({"type": "object", "allOf": [ref], "nullable": True}) == {
        "anyOf": [{"type": "object", "allOf": [ref]}, {"type": "null"}]}
    assert x.clean({"nullable": True, "description": "anything"}) == {}
    # Property names that look like annotations are names, not annotations.
    assert x.clean({"type": "object", "properties": {"description": {"type": "integer", "nullable": True}},
                    "required": ["description"], "default": {}}) == {
        "type": "object", "properties": {"description": {"type": ["integer", "null"]}}, "required": ["description"]}
    # End to end on a small spec: the closure of the roots, nothing else.
    spec = {"info": {"version": "9"}, "components": {"schemas": {
        "A": {"type": "object", "properties": {"b": dict(ref, nullable=True)}},
        "B": {"type": "array", "items": {"$ref": "#/components/schemas/C"}},
        "C": {"type": "integer", "format": "int64"},
        "Unused": {"type": "string"}}}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    monkeypatch.setattr(x, "ROOTS", ["A"])
    monkeypatch.setattr(sys, "argv", ["x", str(tmp_path / "spec.json"), str(tmp_path / "out.json")])
    x.main()
    out = json.loads((tmp_path / "out.json").read_text())
    assert sorted(out["components"]["schemas"]) == ["A", "B", "C"]
    assert out["components"]["schemas"]["C"] == {"type": "integer"}
    v = jsonschema.Draft202012Validator(dict(out, **{"$ref": "#/components/schemas/A"}))
    assert v.is_valid({"b": None}) and v.is_valid({"b": [1, 2]})
    assert not v.is_valid({"b": ["one"]})
