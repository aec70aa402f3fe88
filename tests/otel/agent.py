"""A small support agent, instrumented by real OpenTelemetry packages, run against `burnrate mock`.

Each task is one trace: a root span `support-task`, a `classify` call on gpt-4o-mini through the
official `openai` SDK (instrumented by `opentelemetry-instrumentation-openai-v2`, the
OpenTelemetry project's own) and a `draft` call on claude-sonnet-4-6 through the official
`anthropic` SDK with a cached system prompt (instrumented by OpenLLMetry's
`opentelemetry-instrumentation-anthropic`). The SDKs retry the mock's injected faults as they
would a provider's; every attempt the instrumentations see is a span.

Spans are written as OTLP JSON, one `ExportTraceServiceRequest` a line, as the OpenTelemetry
Collector's file exporter writes them (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding:
trace and span ids in hex): the SDK's own OTLP protobuf encoder, then protobuf's JSON mapping
with the ids turned from base64 into hex. Span times are moved so task i starts at
2026-11-30T01:00:00Z + i x SPACING_S, keeping every duration within a task: the test does not
depend on the date it runs, and its few hundred tasks (run in seconds) read as traffic of
86,400 / SPACING_S tasks a day, close enough together that a 5-minute prompt cache stays warm
in the simulation as it did against the mock.

usage: agent.py BASE_URL TASKS OUT.jsonl
"""

import base64
import json
import sys
import time

from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import anthropic
import openai

DAY0_NS = 20_787 * 86_400 * 1_000_000_000  # 2026-11-30T00:00:00Z
SPACING_S = 10


class OtlpJsonFileExporter(SpanExporter):
    def __init__(self, path):
        self.out = open(path, "w", encoding="utf-8")
        self.offset_ns = 0

    def task_starts(self, i):
        """Spans ended from now on belong to task i (the processor exports each as it ends)."""
        self.offset_ns = DAY0_NS + (3600 + i * SPACING_S) * 1_000_000_000 - time.time_ns()

    def export(self, spans):
        request = MessageToDict(encode_spans(spans))
        for rs in request.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                for span in ss.get("spans", []):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in span:
                            span[key] = base64.b64decode(span[key]).hex()
                    for key in ("startTimeUnixNano", "endTimeUnixNano"):
                        span[key] = str(int(span[key]) + self.offset_ns)
        self.out.write(json.dumps(request, separators=(",", ":")) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self):
        self.out.close()


SYSTEM = (
    "You are the support assistant of a company that sells garden furniture. "
    "Answer politely, cite the order number, and never promise refunds. " * 60
)


def main():
    base_url, tasks, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    provider = TracerProvider()
    exporter = OtlpJsonFileExporter(out)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument()
    AnthropicInstrumentor().instrument()
    tracer = trace.get_tracer("support-agent")

    # The SDKs' own retries (2 each, their default), with no real waiting: the mock's
    # retry-after is honoured by the SDKs, and the mock runs with time_scale = 0.
    oa = openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=2)
    an = anthropic.Anthropic(base_url=base_url, api_key="sk-test", max_retries=2)
    failed = 0
    for i in range(tasks):
        question = f"Order {1000 + i}: my chair arrived with a broken leg, what now? " * (1 + i % 3)
        exporter.task_starts(i)
        with tracer.start_as_current_span("support-task"):
            try:
                # Each step is a span of its own, as agent frameworks record them; the LLM
                # calls are its children.
                with tracer.start_as_current_span("classify"):
                    oa.chat.completions.create(
                        model="gpt-4o-mini",
                        max_completion_tokens=400,
                        messages=[
                            {"role": "system", "content": "Classify the ticket: refund, repair or other."},
                            {"role": "user", "content": question},
                        ],
                    )
                with tracer.start_as_current_span("draft"):
                    an.messages.create(
                        model="claude-sonnet-4-6",
                        max_tokens=1024,
                        system=[{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
                        messages=[{"role": "user", "content": question}],
                    )
            except (openai.APIError, anthropic.APIError):
                failed += 1
    provider.shutdown()
    print(json.dumps({"tasks": tasks, "failed_tasks": failed}))


if __name__ == "__main__":
    main()
