//! `burnrate calibrate` on traces through the binary: a directory holding a gzipped OTLP file
//! (GenAI conventions) and a LiteLLM CSV export calibrates into a scenario `simulate` accepts,
//! with arrivals and latency fitted; a file without LLM calls exits 2 saying why.

use crate::cli_drive::{burnrate, fails_with, simulate_accepts};
use std::io::Write;

/// One OTLP line with one chat span per task: `tasks` tasks `every_s` apart from 2026-11-30;
/// input 500 + i % 7 and output 100 + 10 (i % 5) tokens, or 500 and 100 when `constant`.
fn otlp_lines(tasks: u64, every_s: u64, constant: bool) -> String {
    let t0_ns = 20_787u64 * 86_400 * 1_000_000_000;
    let mut out = String::new();
    for i in 0..tasks {
        let start = t0_ns + i * every_s * 1_000_000_000;
        let vary = u64::from(!constant);
        // 0.4 s to first token + output/50 s: durations exactly on the line.
        let output = 100 + 10 * (i % 5) * vary;
        let end = start + 400_000_000 + output * 20_000_000;
        out.push_str(&format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{i:032x}","spanId":"{i:016x}","name":"chat gpt-4o-mini","startTimeUnixNano":"{start}","endTimeUnixNano":"{end}","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},{{"key":"gen_ai.request.model","value":{{"stringValue":"gpt-4o-mini"}}}},{{"key":"gen_ai.agent.name","value":{{"stringValue":"answer"}}}},{{"key":"gen_ai.usage.input_tokens","value":{{"intValue":"{input}"}}}},{{"key":"gen_ai.usage.output_tokens","value":{{"intValue":{output}}}}}]}}]}}]}}]}}"#,
            input = 500 + (i % 7) * vary,
        ));
        out.push('\n');
    }
    out
}

#[test]
fn calibrate_a_directory_of_gzipped_otlp_and_litellm_csv() {
    let dir = tempfile::tempdir().unwrap();
    let traces = dir.path().join("traces");
    std::fs::create_dir(&traces).unwrap();
    // 48 tasks over 2 days, gzipped in two members (as `cat a.gz b.gz` makes).
    let text = otlp_lines(48, 3600, false);
    let (a, b) = text.split_at(text.len() / 2 + text[text.len() / 2..].find('\n').unwrap() + 1);
    let mut gz = Vec::new();
    for part in [a, b] {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(part.as_bytes()).unwrap();
        gz.extend(enc.finish().unwrap());
    }
    std::fs::write(traces.join("otel.jsonl.gz"), gz).unwrap();
    std::fs::write(
        traces.join("spend.csv"),
        "request_id,model,model_group,prompt_tokens,completion_tokens,startTime,endTime,status\n\
         r1,claude-sonnet-4-5,writer,300,30,2026-11-30T05:00:00Z,2026-11-30T05:00:02Z,success\n\
         r2,claude-sonnet-4-5,writer,310,30,2026-11-30T06:00:00Z,2026-11-30T06:00:02Z,success\n",
    )
    .unwrap();
    let toml = dir.path().join("fitted.toml");
    let out = burnrate()
        .args(["calibrate", "--out"])
        .arg(&toml)
        .arg(&traces)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&toml).unwrap();
    for expected in [
        // 48 OTLP tasks + 2 LiteLLM requests (each its own task) over the 2 UTC days.
        "# 50 tasks started over 2 UTC day(s)",
        "tasks_per_day = 25",
        "name = \"answer\"",
        "name = \"writer\"",
        // Exact line: 0.4 s + output / 50 tokens/s.
        "time_to_first_token_s = 0.4",
        "output_tokens_per_s = 50",
        "latency_cv = 0",
        "# input and output: 48 clean calls",
    ] {
        assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
    }
    let sim = simulate_accepts(&toml);
    assert!(
        sim["cost_usd"]["by_step"]["answer"].as_f64().unwrap() > 0.0,
        "{sim}"
    );
}

#[test]
fn calibrate_traces_without_llm_calls_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("http.jsonl");
    std::fs::write(
        &f,
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab","spanId":"cd","name":"GET /","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#,
    )
    .unwrap();
    let stderr = fails_with(burnrate().arg("calibrate").arg(&f), 2);
    assert!(
        stderr.contains("skipped 1 span without GenAI or OpenInference attributes")
            && stderr.contains("no usable observations"),
        "{stderr}"
    );
}

#[test]
fn holdout_compares_held_out_days_with_the_fitted_band() {
    // 100 tasks a day, evenly spaced, for 14 days; the last 7 are held out.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("two-weeks.jsonl");
    std::fs::write(&f, otlp_lines(1400, 864, true)).unwrap();
    let out = burnrate()
        .args(["calibrate", "--holdout", "7d", "--format", "json"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let days = v["holdout"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days[0]["day"], "2026-12-07");
    assert_eq!(
        v["arrivals"]["tasks_per_day"], 100.0,
        "fitted on the first 7 days only"
    );
    for d in days {
        assert_eq!(d["calls"], 100);
        // gpt-4o-mini at $0.15/M input, $0.60/M output (the catalog's LiteLLM rates):
        // 100 x (500 x 0.15 + 100 x 0.60) / 1e6 = $0.0135 a day.
        let actual = d["actual_usd"].as_f64().unwrap();
        assert!((actual - 0.0135).abs() < 1e-9, "{d}");
        // Poisson(100) a day: p05 ~ 84, p95 ~ 117 tasks, so exactly 100 is inside.
        assert_eq!(d["inside"], true, "{d}");
    }
    // The same check as Markdown, HTML with its chart, SVG and PNG.
    let report = dir.path().join("holdout-report");
    let out = burnrate()
        .args(["calibrate", "--holdout", "7d", "--report"])
        .arg(&report)
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("7 of 7 days inside the 90% band"),
        "{stderr}"
    );
    let md = std::fs::read_to_string(report.join("holdout.md")).unwrap();
    assert!(
        md.starts_with("## Would burnrate have predicted the held-out days? (two-weeks)"),
        "{md}"
    );
    // One table row per held-out day, each with the day's 100 calls and $0.0135.
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| 2026-12-")).collect();
    assert_eq!(rows.len(), 7, "{md}");
    assert!(rows[0].starts_with("| 2026-12-07 | 100 | 0.0135 |"), "{md}");
    assert!(rows.iter().all(|r| r.ends_with("| inside |")), "{md}");
    let html = std::fs::read_to_string(report.join("holdout.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("2026-12-13"),
        "the chart is inline"
    );
    assert!(report.join("holdout.svg").is_file() && report.join("holdout.png").is_file());
    let needs = fails_with(
        burnrate()
            .args(["calibrate", "--report"])
            .arg(&report)
            .arg(&f),
        2,
    );
    assert!(needs.contains("--holdout"), "{needs}");
    let bad = fails_with(
        burnrate().args(["calibrate", "--holdout", "30d"]).arg(&f),
        2,
    );
    assert!(bad.contains("leaves no calls to fit on"), "{bad}");
}
