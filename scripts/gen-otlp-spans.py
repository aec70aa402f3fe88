#!/usr/bin/env python3
"""Writes N OTLP JSON spans (collector file-exporter framing, 100 spans a line) with GenAI
semantic-convention attributes, for timing `burnrate calibrate` (docs/calibration.md).

usage: scripts/gen-otlp-spans.py N OUT.jsonl [SEED]
Each task (trace) is a root agent span and 4 chat calls on two models over 7 days from
2026-11-30; ~2% of calls fail with a 429; each call carries a 300-character prompt attribute
so the reader also skips content, as it must with real traces."""
import json
import random
import sys

n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
t0 = 20_787 * 86_400 * 10**9  # 2026-11-30T00:00:00Z in ns
prompt = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "x" * 300}]}])


def a(k, v):
    if isinstance(v, int):
        return {"key": k, "value": {"intValue": str(v)}}
    return {"key": k, "value": {"stringValue": v}}


def spans():
    task = 0
    while True:
        task += 1
        trace = f"{rng.getrandbits(128):032x}"
        root = f"{rng.getrandbits(64):016x}"
        start = t0 + rng.randrange(7 * 86_400 * 10**9)
        yield {"traceId": trace, "spanId": root, "name": "agent", "kind": 1,
               "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 10**10),
               "attributes": [a("gen_ai.operation.name", "invoke_agent")], "status": {}}
        for i, (step, model) in enumerate([("classify", "gpt-4o-mini"), ("draft", "gpt-4o"),
                                           ("draft", "gpt-4o"), ("review", "gpt-4o-mini")]):
            s = start + i * 2 * 10**9
            fail = rng.random() < 0.02
            hit = rng.randrange(2)
            attrs = [a("gen_ai.operation.name", "chat"), a("gen_ai.provider.name", "openai"),
                     a("gen_ai.request.model", model), a("gen_ai.agent.name", step),
                     a("gen_ai.input.messages", prompt)]
            if fail:
                attrs.append(a("error.type", "429"))
            else:
                attrs += [a("gen_ai.response.model", model),
                          a("gen_ai.usage.input_tokens", 1024 * hit + int(rng.lognormvariate(7, 0.5))),
                          a("gen_ai.usage.output_tokens", int(rng.lognormvariate(5, 0.6))),
                          a("gen_ai.usage.cache_read.input_tokens", 1024 * hit)]
            yield {"traceId": trace, "spanId": f"{rng.getrandbits(64):016x}", "parentSpanId": root,
                   "name": f"chat {model}", "kind": 3, "startTimeUnixNano": str(s),
                   "endTimeUnixNano": str(s + rng.randrange(3 * 10**8, 3 * 10**9)),
                   "attributes": attrs, "status": {"code": 2} if fail else {}}


with open(out, "w") as f:
    batch = []
    for k, sp in zip(range(n), spans()):
        batch.append(sp)
        if len(batch) == 100:
            f.write(json.dumps({"resourceSpans": [{"resource": {"attributes": [a("service.name", "bench")]},
                                "scopeSpans": [{"scope": {"name": "bench"}, "spans": batch}]}]}) + "\n")
            batch = []
    if batch:
        f.write(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": batch}]}]}) + "\n")
