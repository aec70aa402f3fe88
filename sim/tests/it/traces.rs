//! Trace readers and fits against hand-derived figures: OTLP JSON spans with GenAI semantic
//! conventions of both generations and OpenInference attributes, LiteLLM spend-log rows (JSON
//! and CSV), and arrivals drawn by the engine's own arrival process read back from spans.

use burnrate_sim::{ArrivalProcess, Catalog, Ingest, IngestOptions, Scenario, calibrate_calls};

/// One OTLP attribute as the protobuf JSON mapping writes it.
fn attr(key: &str, value: &str) -> String {
    if let Some(n) = value.strip_prefix('#') {
        // int64 as a decimal string, as the collector writes it.
        format!(r#"{{"key":"{key}","value":{{"intValue":"{n}"}}}}"#)
    } else {
        format!(r#"{{"key":"{key}","value":{{"stringValue":"{value}"}}}}"#)
    }
}

struct SpanSpec<'a> {
    trace: &'a str,
    id: &'a str,
    parent: &'a str,
    name: &'a str,
    start_s: u64,
    dur_ms: u64,
    error: bool,
    attrs: &'a [(&'a str, &'a str)],
}

fn span(s: &SpanSpec) -> String {
    let attrs: Vec<String> = s.attrs.iter().map(|(k, v)| attr(k, v)).collect();
    let start_ns = s.start_s * 1_000_000_000;
    let end_ns = start_ns + s.dur_ms * 1_000_000;
    format!(
        r#"{{"traceId":"{}","spanId":"{}","parentSpanId":"{}","name":"{}","kind":3,"startTimeUnixNano":"{start_ns}","endTimeUnixNano":"{end_ns}","attributes":[{}],"status":{{"code":{}}}}}"#,
        s.trace,
        s.id,
        s.parent,
        s.name,
        attrs.join(","),
        if s.error { 2 } else { 0 }
    )
}

fn export_line(spans: &[String]) -> String {
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[]}},"scopeSpans":[{{"scope":{{"name":"t"}},"spans":[{}]}}]}}]}}"#,
        spans.join(",")
    )
}

#[test]
fn otlp_spans_of_every_convention_read_into_calls() {
    let t1 = "0af7651916cd43dd8448eb211c80319c";
    let spans = [
        // The child comes before its parent in the file: steps are named after reading.
        span(&SpanSpec {
            trace: t1,
            id: "b7ad6b7169203331",
            parent: "00f067aa0ba902b7",
            name: "chat gpt-4o-mini",
            start_s: 1_780_000_000,
            dur_ms: 900,
            error: false,
            attrs: &[
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.provider.name", "openai"),
                ("gen_ai.request.model", "gpt-4o-mini"),
                ("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
                ("gen_ai.usage.input_tokens", "#1500"),
                ("gen_ai.usage.output_tokens", "#50"),
                ("gen_ai.usage.cache_read.input_tokens", "#1024"),
            ],
        }),
        span(&SpanSpec {
            trace: t1,
            id: "00f067aa0ba902b7",
            parent: "",
            name: "classify",
            start_s: 1_780_000_000,
            dur_ms: 1000,
            error: false,
            attrs: &[],
        }),
        // Older conventions: gen_ai.system, prompt/completion tokens; a failed call, then its retry.
        span(&SpanSpec {
            trace: t1,
            id: "1111111111111111",
            parent: "",
            name: "draft",
            start_s: 1_780_000_002,
            dur_ms: 100,
            error: true,
            attrs: &[
                ("gen_ai.system", "openai"),
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.request.model", "gpt-4o-mini"),
                ("error.type", "RateLimitError"),
            ],
        }),
        span(&SpanSpec {
            trace: t1,
            id: "2222222222222222",
            parent: "",
            name: "draft",
            start_s: 1_780_000_004,
            dur_ms: 700,
            error: false,
            attrs: &[
                ("gen_ai.system", "openai"),
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.request.model", "gpt-4o-mini"),
                ("gen_ai.usage.prompt_tokens", "#300"),
                ("gen_ai.usage.completion_tokens", "#20"),
            ],
        }),
        // OpenInference (Phoenix): prompt includes the 2000 written tokens.
        span(&SpanSpec {
            trace: t1,
            id: "3333333333333333",
            parent: "",
            name: "ChatAnthropic",
            start_s: 1_780_000_006,
            dur_ms: 1200,
            error: false,
            attrs: &[
                ("openinference.span.kind", "LLM"),
                ("llm.model_name", "claude-sonnet-4-5"),
                ("llm.token_count.prompt", "#2100"),
                ("llm.token_count.completion", "#40"),
                ("llm.token_count.prompt_details.cache_write", "#2000"),
            ],
        }),
        // Not LLM calls: a tool span and a plain HTTP span.
        span(&SpanSpec {
            trace: t1,
            id: "4444444444444444",
            parent: "",
            name: "execute_tool search",
            start_s: 1_780_000_007,
            dur_ms: 5,
            error: false,
            attrs: &[("gen_ai.operation.name", "execute_tool")],
        }),
        span(&SpanSpec {
            trace: t1,
            id: "5555555555555555",
            parent: "",
            name: "GET /",
            start_s: 1_780_000_008,
            dur_ms: 5,
            error: false,
            attrs: &[("http.route", "/")],
        }),
    ];
    let text = format!(
        "{}\n{}\n",
        export_line(&spans[..3]),
        export_line(&spans[3..])
    );
    let mut ing = Ingest::new(IngestOptions::default());
    ing.read("t.jsonl", text.as_bytes()).unwrap();
    let calls = ing.finish();
    assert_eq!(calls.report.spans, 7);
    assert_eq!(calls.calls.len(), 4, "{:?}", calls.report);
    assert_eq!(
        calls.report.skipped.values().sum::<u64>(),
        3,
        "{:?}",
        calls.report.skipped
    );
    let c = &calls.calls[0];
    // input_tokens includes the 1024 read: 476 plain.
    assert_eq!(
        (c.tokens.input, c.tokens.cache_read, c.tokens.output),
        (476, 1024, 50)
    );
    assert_eq!(
        calls.name(c.step.unwrap()),
        "classify",
        "named after its parent span"
    );
    assert_eq!(c.duration_us, Some(900_000));
    let failed = &calls.calls[1];
    assert_eq!((failed.status, failed.retry), (429, Some(false)));
    assert_eq!(
        calls.calls[2].retry,
        Some(true),
        "the success after a 429 is its retry"
    );
    let oi = &calls.calls[3];
    assert_eq!(
        (oi.tokens.input, oi.tokens.cache_write, oi.tokens.output),
        (100, 2000, 40)
    );

    let cal = calibrate_calls(&calls, &Catalog::builtin()).unwrap();
    let draft = cal.steps.iter().find(|s| s.step == "draft").unwrap();
    assert_eq!(
        (
            draft.failures.attempts,
            draft.failures.rate_limit,
            draft.failures.retries
        ),
        (2, 1, 1)
    );
    assert_eq!(draft.failures.by_type.get("RateLimitError"), Some(&1));
    assert_eq!(draft.clean_calls, 0, "a retry is not a clean call");
    let toml = cal.to_scenario_toml("t").unwrap();
    assert!(
        toml.contains("model = \"gpt-4o-mini\""),
        "dated snapshot resolved: {toml}"
    );
    assert!(toml.contains("rate_limit = 0.5"), "{toml}");
}

#[test]
fn litellm_rows_as_json_lines_and_csv() {
    // Two rows of one session: a success whose provider usage LiteLLM kept, and a failure.
    let json = concat!(
        r#"{"request_id":"r1","call_type":"acompletion","model":"claude-sonnet-4-5","model_group":"writer","session_id":"s1","prompt_tokens":2100,"completion_tokens":40,"startTime":"2026-12-01T10:00:00.000Z","endTime":"2026-12-01T10:00:01.500Z","completionStartTime":"2026-12-01T10:00:00.400Z","status":"success","spend":0.01,"metadata":{"usage_object":{"prompt_tokens":2100,"completion_tokens":40,"cache_creation_input_tokens":2000,"prompt_tokens_details":{"cached_tokens":0}}}}"#,
        "\n",
        r#"{"request_id":"r2","call_type":"acompletion","model":"claude-sonnet-4-5","model_group":"writer","session_id":"s1","prompt_tokens":0,"completion_tokens":0,"startTime":"2026-12-01 10:00:02","endTime":"2026-12-01 10:00:03","status":"failure","spend":0,"metadata":{"error_information":{"error_code":"529","error_class":"InternalServerError"}}}"#,
        "\n"
    );
    let csv = "request_id,call_type,model,model_group,session_id,prompt_tokens,completion_tokens,startTime,endTime,status,metadata\n\
        r1,acompletion,claude-sonnet-4-5,writer,s1,2100,40,2026-12-01T10:00:00.000Z,2026-12-01T10:00:01.500Z,success,\"{\"\"usage_object\"\":{\"\"prompt_tokens\"\":2100,\"\"completion_tokens\"\":40,\"\"cache_creation_input_tokens\"\":2000}}\"\n";
    for (name, text) in [("spend.jsonl", json), ("spend.csv", csv)] {
        let mut ing = Ingest::new(IngestOptions::default());
        ing.read(name, text.as_bytes()).unwrap();
        let calls = ing.finish();
        assert_eq!(
            calls.report.malformed, 0,
            "{name}: {:?}",
            calls.report.problems
        );
        let c = &calls.calls[0];
        assert_eq!(
            (c.tokens.input, c.tokens.cache_write),
            (100, 2000),
            "{name}"
        );
        assert_eq!(c.duration_us, Some(1_500_000), "{name}");
        assert_eq!(calls.name(c.step.unwrap()), "writer");
        if name.ends_with("jsonl") {
            assert_eq!(c.ttft_us, Some(400_000));
            assert_eq!(calls.calls[1].status, 529);
            assert_eq!(calls.task_count(), 1, "one session, one task");
        }
    }
}

#[test]
fn malformed_lines_are_counted_unless_strict() {
    let text = "{nope\n{\"resourceSpans\":[]}\n";
    let mut ing = Ingest::new(IngestOptions::default());
    ing.read("x.jsonl", text.as_bytes()).unwrap();
    let calls = ing.finish();
    assert_eq!(calls.report.malformed, 1);
    assert!(
        calls.report.problems[0].starts_with("x.jsonl line 1: not JSON"),
        "{:?}",
        calls.report.problems
    );
    let mut strict = Ingest::new(IngestOptions {
        strict: true,
        ..IngestOptions::default()
    });
    let e = strict.read("x.jsonl", text.as_bytes()).unwrap_err();
    assert!(e.to_string().starts_with("x.jsonl line 1: not JSON"), "{e}");
}

/// Arrivals drawn by the engine's own arrival process (Poisson, with a daily profile), written
/// as one LLM span per task, are fitted back: tasks a day within 4 sigma of the scenario's.
#[test]
fn arrivals_from_the_engines_process_are_fitted_back() {
    let profile: Vec<String> = (0..24)
        .map(|h| if (8..18).contains(&h) { "3" } else { "1" }.into())
        .collect();
    let sc = Scenario::from_toml(
        "a.toml",
        &format!(
            "[horizon]\ndays = 14\n[traffic]\ntasks_per_day = 400\ndaily_profile = [{}]\n\
             [[steps]]\nname = \"s\"\nmodel = \"gpt-4o-mini\"\noutput_tokens = 10\n",
            profile.join(", ")
        ),
    )
    .unwrap();
    let mut arrivals = ArrivalProcess::for_scenario(&sc, 7, 0);
    // Day 0 of the traces is 2026-11-30, a Monday, at midnight UTC.
    let epoch_s = 20_787u64 * 86_400;
    let mut t_us = 0;
    let mut lines = Vec::new();
    let mut n = 0u64;
    while let Some(next) = arrivals.next_after(t_us) {
        t_us = next;
        n += 1;
        let trace = format!("{n:032x}");
        lines.push(export_line(&[span(&SpanSpec {
            trace: &trace,
            id: "0000000000000001",
            parent: "",
            name: "step",
            start_s: epoch_s + t_us / 1_000_000,
            dur_ms: 500,
            error: false,
            attrs: &[
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.request.model", "gpt-4o-mini"),
                ("gen_ai.usage.input_tokens", "#100"),
                ("gen_ai.usage.output_tokens", "#10"),
            ],
        })]));
    }
    let mut ing = Ingest::new(IngestOptions::default());
    ing.read("a.jsonl", lines.join("\n").as_bytes()).unwrap();
    let cal = calibrate_calls(&ing.finish(), &Catalog::builtin()).unwrap();
    let a = cal.arrivals.clone().unwrap();
    assert_eq!((a.whole_days, a.first_weekday, a.tasks as u64), (14, 0, n));
    // Poisson count over 14 days: sd of the daily rate = sqrt(400 * 14) / 14 = 5.35.
    let sd = (400.0f64 * 14.0).sqrt() / 14.0;
    assert!(
        (a.tasks_per_day - 400.0).abs() < 4.0 * sd,
        "{} vs 400 +- {}",
        a.tasks_per_day,
        4.0 * sd
    );
    // The profile's busy hours weigh 3/(mean 34/24) = 2.118; each hour's share has relative
    // sd 1/sqrt(count) (count ~ 14 * 400 * 3/34 = 494 in a busy hour: 4.5%, 4 sigma 18%).
    let p = a.daily_profile.unwrap();
    let want = 3.0 * 24.0 / 34.0;
    assert!((p[12] - want).abs() < 0.18 * want, "{p:?}");
    // A quiet hour: ~165 starts, relative sd 7.8%, 4 sigma 31%.
    assert!((p[2] - want / 3.0).abs() < 0.32 * want / 3.0, "{p:?}");
    assert!(
        a.growth_end_tasks_per_day.is_none(),
        "no trend: t = {}",
        a.slope_t
    );
    assert!(
        cal.to_scenario_toml("a")
            .unwrap()
            .contains("daily_profile = [")
    );
}

/// A pretty-printed OTLP document (one request over many lines, as `jq .` or an exporter's
/// indent option writes it) reads into the same calls as its one-line form; a JSON-lines file
/// whose first line is cut short still loses only that line.
#[test]
fn a_pretty_printed_document_reads_like_its_one_line_form() {
    let spans: Vec<String> = (0..3u64)
        .map(|i| {
            span(&SpanSpec {
                trace: "0af7651916cd43dd8448eb211c80319c",
                id: ["aaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaa2", "aaaaaaaaaaaaaaa3"][i as usize],
                parent: "",
                name: "draft",
                start_s: 1_780_000_000 + i,
                dur_ms: 500,
                error: false,
                attrs: &[
                    ("gen_ai.operation.name", "chat"),
                    ("gen_ai.request.model", "gpt-4o-mini"),
                    ("gen_ai.usage.input_tokens", "#700"),
                    ("gen_ai.usage.output_tokens", "#90"),
                ],
            })
        })
        .collect();
    let line = export_line(&spans);
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    assert!(pretty.lines().count() > 50);
    let read = |name: &str, text: &str| {
        let mut ing = Ingest::new(IngestOptions::default());
        ing.read(name, text.as_bytes()).unwrap();
        ing.finish()
    };
    let one = read("one.jsonl", &format!("{line}\n"));
    let doc = read("doc.json", &pretty);
    assert_eq!(one.calls.len(), 3);
    assert_eq!(doc.calls.len(), 3);
    assert_eq!(format!("{:?}", one.calls), format!("{:?}", doc.calls));
    assert_eq!(doc.report.malformed, 0);

    // JSON lines with a cut first line: line 1 is reported, lines 2 and 3 are read.
    let cut = &line[..line.len() / 2];
    let lines = format!("{cut}\n{line}\n{line}\n");
    let calls = read("cut.jsonl", &lines);
    assert_eq!(calls.report.malformed, 1, "{:?}", calls.report.problems);
    assert!(
        calls.report.problems[0].starts_with("cut.jsonl line 1:"),
        "{:?}",
        calls.report.problems
    );
    // The same spans twice: their response ids are absent, so both lines' calls count.
    assert_eq!(calls.calls.len(), 6);
}
