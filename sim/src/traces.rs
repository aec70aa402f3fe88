//! Reading traces and logs into calls, in one streaming pass with memory proportional to the
//! number of LLM calls (about 100 bytes each), not to the size of the input: names, task ids
//! and span ids are interned, prompts and completions are never kept.
//!
//! Formats, detected line by line (or forced with [`InputFormat`]):
//! - OTLP JSON, one `ExportTraceServiceRequest` a line: the OpenTelemetry Collector's file
//!   exporter and the SDKs' OTLP/JSON file exporters
//!   (<https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding>: ids in hex, 64-bit
//!   integers as strings or numbers, status code as a number or its enum name). Spans carry
//!   - the GenAI semantic conventions
//!     (<https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/>, registry in
//!     open-telemetry/semantic-conventions `model/gen-ai/registry.yaml`): `gen_ai.usage.input_tokens`
//!     ("SHOULD include all types of input tokens, including cached tokens"),
//!     `gen_ai.usage.output_tokens`, `gen_ai.usage.cache_read.input_tokens` and
//!     `gen_ai.usage.cache_creation.input_tokens` (both "SHOULD be included in
//!     `gen_ai.usage.input_tokens`"), `gen_ai.usage.reasoning.output_tokens`, and the names of
//!     earlier versions (`gen_ai.usage.prompt_tokens`, `gen_ai.usage.completion_tokens`,
//!     `gen_ai.usage.cache_read_input_tokens`, `gen_ai.usage.cache_creation_input_tokens`,
//!     `gen_ai.system`);
//!   - or OpenInference's (<https://github.com/Arize-ai/openinference/blob/main/spec/semantic_conventions.md>):
//!     `llm.token_count.prompt` (cache included), `llm.token_count.completion`,
//!     `llm.token_count.prompt_details.cache_read`, `llm.token_count.prompt_details.cache_write`,
//!     `llm.token_count.completion_details.reasoning`, `llm.model_name`, `session.id`.
//!
//!   Where an instrumentation reports cache counters larger than its input total, the input
//!   is taken to exclude them (Anthropic's own convention): the docs say SHOULD, not MUST.
//! - LiteLLM proxy spend-log rows (`LiteLLM_SpendLogs` in BerriAI/litellm `schema.prisma`:
//!   `request_id`, `model`, `prompt_tokens`, `completion_tokens`, `startTime`, `endTime`,
//!   `completionStartTime`, `session_id`, `status`, `metadata.usage_object`), as JSON lines or
//!   as its CSV export (a file whose first byte is not `{`).
//! - usage lines: the mock's request log and provider usage objects ([`parse_line`]).

use crate::catalog::TokenCounts;
use crate::usage::{Usage, count, parse_usage};
use crate::usage_log::{CalibrateError, Observation, parse_line, parse_time_us};
use serde::Deserialize;
use serde::de::{self, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Read};

/// Most LLM calls one calibration keeps.
pub const MAX_CALLS: usize = 20_000_000;
/// Longest line read (an OTLP batch can be large, but not unbounded).
pub const MAX_LINE_BYTES: usize = 256 << 20;
/// How many malformed lines are quoted in the report (all are counted).
const QUOTED_PROBLEMS: usize = 20;

/// Which reader to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFormat {
    /// Detected per line (per file for CSV).
    #[default]
    Auto,
    Otlp,
    Litellm,
    Usage,
}

/// How to group calls into tasks and steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOptions {
    pub format: InputFormat,
    /// Attribute (or LiteLLM field) naming the task; default: the conversation id, else the
    /// trace id (LiteLLM: `session_id`, else each request is its own task).
    pub task_key: Option<String>,
    /// Attribute naming the step; default: `gen_ai.agent.name`, else the parent span's name,
    /// else the span's own name (LiteLLM: `model_group`).
    pub step_key: Option<String>,
    /// Stop at the first malformed line instead of counting it.
    pub strict: bool,
}

/// One LLM call, provider-neutral and compact (names are ids into [`Calls::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Call {
    /// Source file index and 1-based line, for messages.
    pub source: u32,
    pub line: u32,
    pub task: Option<u32>,
    pub step: Option<u32>,
    pub model: Option<u32>,
    /// Parent span (interned span id), to name the step after it.
    parent: Option<u32>,
    /// Start, microseconds since the Unix epoch (UTC).
    pub start_us: Option<i64>,
    pub duration_us: Option<u64>,
    /// Time to first token, where recorded.
    pub ttft_us: Option<u64>,
    /// HTTP status; 200 for a success.
    pub status: u16,
    /// Error kind (interned), if any.
    pub error: Option<u32>,
    /// Whether this attempt retries a failed one; `None` when the log does not say (traces):
    /// then a call following a failure of the same step and model in its task is a retry.
    pub retry: Option<bool>,
    pub tokens: TokenCounts,
    pub reasoning: u64,
}

impl Call {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status) && self.error.is_none()
    }
}

#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }
}

/// What reading skipped, and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestReport {
    pub sources: Vec<String>,
    pub lines: u64,
    /// Spans read, LLM calls or not.
    pub spans: u64,
    /// Spans and rows not used, by reason.
    pub skipped: BTreeMap<String, u64>,
    pub malformed: u64,
    /// The first malformed lines, `file line N: message`.
    pub problems: Vec<String>,
}

/// Calls read from every input, ready to fit.
#[derive(Debug, Default)]
pub struct Calls {
    pub calls: Vec<Call>,
    names: Vec<Box<str>>,
    tasks: usize,
    pub report: IngestReport,
}

impl Calls {
    /// The name behind an id of [`Call`].
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
    /// Distinct task ids seen.
    pub fn task_count(&self) -> usize {
        self.tasks
    }
    /// `file line N`, for messages.
    pub fn at(&self, c: &Call) -> String {
        format!(
            "{} line {}",
            self.report.sources.get(c.source as usize).map_or("", |s| s),
            c.line
        )
    }
}

/// The streaming reader: feed it every input, then [`Ingest::finish`].
#[derive(Debug, Default)]
pub struct Ingest {
    opts: IngestOptions,
    names: Interner,
    tasks: Interner,
    span_ids: Interner,
    /// Names of spans that are not LLM calls (agents, steps), by interned span id.
    span_names: HashMap<u32, u32>,
    /// Calls whose step is their parent's name, with their own span name as the fallback.
    fallback_steps: Vec<(u32, u32)>,
    /// Hashes of the `gen_ai.response.id`s seen: two instrumentations of one client (the
    /// anthropic SDK's own and OpenLLMetry's, say) each record the same call, and it is one
    /// call. 8 bytes a call, not the id itself.
    response_ids: std::collections::HashSet<u64>,
    calls: Vec<Call>,
    report: IngestReport,
}

fn line_error(source: &str, line: usize, message: impl Into<String>) -> CalibrateError {
    CalibrateError::At {
        at: format!("{source} line {line}"),
        message: message.into(),
    }
}

impl Ingest {
    pub fn new(opts: IngestOptions) -> Self {
        Ingest {
            opts,
            ..Ingest::default()
        }
    }

    fn problem(
        &mut self,
        source: &str,
        line: usize,
        message: String,
    ) -> Result<(), CalibrateError> {
        if self.opts.strict {
            return Err(line_error(source, line, message));
        }
        self.report.malformed += 1;
        if self.report.problems.len() < QUOTED_PROBLEMS {
            self.report
                .problems
                .push(format!("{source} line {line}: {message}"));
        }
        Ok(())
    }

    fn skip(&mut self, why: &str) {
        match self.report.skipped.get_mut(why) {
            Some(n) => *n += 1,
            None => {
                self.report.skipped.insert(why.to_string(), 1);
            }
        }
    }

    fn push(&mut self, call: Call) -> Result<(), CalibrateError> {
        if self.calls.len() >= MAX_CALLS {
            return Err(CalibrateError::TooManyLines(MAX_CALLS));
        }
        self.calls.push(call);
        Ok(())
    }

    /// Reads one input to its end. `source` names it in messages.
    pub fn read<R: BufRead>(&mut self, source: &str, mut reader: R) -> Result<(), CalibrateError> {
        let src = self.report.sources.len() as u32;
        self.report.sources.push(source.to_string());
        let io = |e: std::io::Error| CalibrateError::Read(format!("{source}: {e}"));
        // A CSV export starts with its header, not a JSON object.
        let first = loop {
            let buf = reader.fill_buf().map_err(io)?;
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => break Some(buf[i]),
                None if buf.is_empty() => break None,
                None => {
                    let n = buf.len();
                    reader.consume(n);
                }
            }
        };
        match first {
            None => return Ok(()),
            Some(b) if b != b'{' && b != b'[' => return self.read_csv(src, source, reader),
            _ => {}
        }
        let mut buf = Vec::new();
        let mut line = 0usize;
        loop {
            buf.clear();
            let n = reader
                .by_ref()
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut buf)
                .map_err(io)?;
            if n == 0 {
                break;
            }
            line += 1;
            self.report.lines += 1;
            // A pretty-printed document (one `ExportTraceServiceRequest` over many lines, as
            // some exporters and `jq .` write it): its first line is an unfinished JSON value.
            // Read it whole, within the same byte limit as a line.
            if line == 1 && unfinished_json(&buf) {
                reader
                    .by_ref()
                    .take((MAX_LINE_BYTES + 1 - buf.len().min(MAX_LINE_BYTES)) as u64)
                    .read_to_end(&mut buf)
                    .map_err(io)?;
                if buf.len() > MAX_LINE_BYTES {
                    return Err(line_error(
                        source,
                        line,
                        format!(
                            "a multi-line JSON document longer than {MAX_LINE_BYTES} bytes; export one JSON object a line"
                        ),
                    ));
                }
                return self.read_document(src, source, &buf);
            }
            if buf.len() > MAX_LINE_BYTES {
                return Err(line_error(
                    source,
                    line,
                    format!("longer than {MAX_LINE_BYTES} bytes"),
                ));
            }
            let Ok(text) = std::str::from_utf8(&buf) else {
                self.problem(source, line, "not UTF-8".to_string())?;
                continue;
            };
            if let Err(message) = self.line(src, line, text) {
                self.problem(source, line, message)?;
            }
        }
        Ok(())
    }

    /// A whole input whose first line did not finish its JSON value: one pretty-printed
    /// document, or else JSON lines with a broken first line, each then read (and reported)
    /// on its own so one bad line loses nothing else.
    fn read_document(
        &mut self,
        src: u32,
        source: &str,
        bytes: &[u8],
    ) -> Result<(), CalibrateError> {
        if let Ok(text) = std::str::from_utf8(bytes)
            && serde_json::from_str::<de::IgnoredAny>(text).is_ok()
        {
            if let Err(message) = self.line(src, 1, text) {
                self.problem(source, 1, message)?;
            }
            return Ok(());
        }
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        for (i, piece) in body.split(|b| *b == b'\n').enumerate() {
            if i > 0 {
                self.report.lines += 1;
            }
            if piece.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let Ok(text) = std::str::from_utf8(piece) else {
                self.problem(source, i + 1, "not UTF-8".to_string())?;
                continue;
            };
            if let Err(message) = self.line(src, i + 1, text) {
                self.problem(source, i + 1, message)?;
            }
        }
        Ok(())
    }

    /// One JSON line of any format; `Err` is the message of a malformed line.
    fn line(&mut self, src: u32, line: usize, text: &str) -> Result<(), String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let format = match self.opts.format {
            InputFormat::Auto if text.contains("\"resourceSpans\"") => InputFormat::Otlp,
            f => f,
        };
        if format == InputFormat::Otlp {
            let export: Export =
                serde_json::from_str(text).map_err(|e| format!("not OTLP JSON: {e}"))?;
            return self.export(src, line, export);
        }
        if format == InputFormat::Usage {
            return self.usage_line(src, line, text);
        }
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let is_litellm = v.get("request_id").is_some()
            && (v.get("startTime").is_some() || v.get("spend").is_some());
        if format == InputFormat::Litellm || is_litellm {
            let obj = v.as_object().ok_or("expected a JSON object")?;
            return self.litellm_row(src, line, obj);
        }
        self.usage_line(src, line, text)
    }

    fn usage_line(&mut self, src: u32, line: usize, text: &str) -> Result<(), String> {
        let o = match parse_line(line, text) {
            Ok(Some(o)) => o,
            Ok(None) => return Ok(()),
            Err(CalibrateError::Line { message, .. }) => return Err(message),
            Err(e) => return Err(e.to_string()),
        };
        self.observation(src, &o).map_err(|e| e.to_string())
    }

    /// Adds a parsed usage line.
    pub fn observation(&mut self, src: u32, o: &Observation) -> Result<(), CalibrateError> {
        let call = Call {
            source: src,
            line: o.line as u32,
            task: o.task.as_deref().map(|t| self.tasks.id(t)),
            step: o.step.as_deref().map(|s| self.names.id(s)),
            model: o.model.as_deref().map(|m| self.names.id(m)),
            start_us: o.start_us,
            duration_us: o.duration_us,
            status: o.status,
            error: o.error.as_deref().map(|e| self.names.id(e)),
            retry: Some(o.retry),
            tokens: TokenCounts {
                input: o.input,
                cache_write: o.cache_write,
                cache_read: o.cache_read,
                output: o.output,
            },
            reasoning: o.reasoning,
            ..Call::default()
        };
        self.push(call)
    }

    fn read_csv<R: BufRead>(
        &mut self,
        src: u32,
        source: &str,
        reader: R,
    ) -> Result<(), CalibrateError> {
        let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
        let headers = rdr
            .headers()
            .map_err(|e| line_error(source, 1, format!("not CSV: {e}")))?
            .clone();
        if !headers.iter().any(|h| h == "prompt_tokens") {
            return Err(line_error(
                source,
                1,
                "not JSON lines, and not a LiteLLM spend-log CSV (no `prompt_tokens` column)",
            ));
        }
        let mut record = csv::StringRecord::new();
        let mut line = 1usize;
        loop {
            match rdr.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    line += 1;
                    self.problem(source, line, format!("bad CSV row: {e}"))?;
                    continue;
                }
            }
            line = record.position().map_or(line + 1, |p| p.line() as usize);
            self.report.lines += 1;
            let mut obj = Map::new();
            for (h, cell) in headers.iter().zip(record.iter()) {
                let v = if cell.starts_with('{') || cell.starts_with('[') {
                    serde_json::from_str(cell).unwrap_or_else(|_| Value::String(cell.into()))
                } else if let Ok(n) = cell.parse::<u64>() {
                    Value::from(n)
                } else if cell.is_empty() {
                    Value::Null
                } else {
                    Value::String(cell.into())
                };
                obj.insert(h.to_string(), v);
            }
            if let Err(m) = self.litellm_row(src, line, &obj) {
                self.problem(source, line, m)?;
            }
        }
        Ok(())
    }

    fn litellm_row(
        &mut self,
        src: u32,
        line: usize,
        row: &Map<String, Value>,
    ) -> Result<(), String> {
        self.report.spans += 1;
        let meta = match row.get("metadata") {
            Some(Value::Object(m)) => Some(m.clone()),
            Some(Value::String(s)) => serde_json::from_str::<Map<String, Value>>(s).ok(),
            _ => None,
        };
        let field = |k: &str| -> Option<String> {
            let v = row
                .get(k)
                .or_else(|| meta.as_ref().and_then(|m| m.get(k)))?;
            match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        if let Some(ct) = field("call_type")
            && (ct.contains("embedding") || ct.contains("image") || ct.contains("moderation"))
        {
            self.skip("LiteLLM row that is not a chat/completion call");
            return Ok(());
        }
        let model = field("model").ok_or("no `model`")?;
        // The provider's own counters when LiteLLM kept them, else its row counters.
        let usage_obj = meta
            .as_ref()
            .and_then(|m| m.get("usage_object"))
            .and_then(Value::as_object)
            .filter(|u| u.contains_key("prompt_tokens") || u.contains_key("input_tokens"));
        let usage = match usage_obj {
            Some(u) => parse_usage(u).map_err(|e| e.to_string())?,
            None => parse_usage(row).map_err(|e| e.to_string())?,
        };
        let start_us = field("startTime")
            .map(|s| parse_time_us(&s).ok_or(format!("`startTime` {s:?} is not a date-time")));
        let start_us = start_us.transpose()?;
        let end_us = field("endTime").and_then(|s| parse_time_us(&s));
        let first_us = field("completionStartTime").and_then(|s| parse_time_us(&s));
        let failed = field("status").is_some_and(|s| s != "success");
        let status = if failed {
            meta.as_ref()
                .and_then(|m| m.get("error_information"))
                .and_then(|e| e.get("error_code"))
                .and_then(|c| c.as_str().and_then(|s| s.parse().ok()).or(c.as_u64()))
                .filter(|c| (100..600).contains(c))
                .map_or(500, |c| c as u16)
        } else {
            200
        };
        let task = match &self.opts.task_key {
            Some(k) => field(k),
            None => field("session_id").or_else(|| field("request_id")),
        };
        let step = match &self.opts.step_key {
            Some(k) => field(k),
            None => field("model_group"),
        };
        let error = failed.then(|| {
            let kind = meta
                .as_ref()
                .and_then(|m| m.get("error_information"))
                .and_then(|e| e.get("error_class"))
                .and_then(Value::as_str)
                .unwrap_or("failure");
            self.names.id(kind)
        });
        let call = Call {
            source: src,
            line: line as u32,
            task: task.map(|t| self.tasks.id(&t)),
            step: step.map(|s| self.names.id(&s)),
            model: Some(self.names.id(&model)),
            start_us,
            duration_us: start_us.zip(end_us).map(|(s, e)| (e - s).max(0) as u64),
            ttft_us: start_us.zip(first_us).map(|(s, f)| (f - s).max(0) as u64),
            status,
            error,
            tokens: usage.tokens,
            reasoning: usage.reasoning,
            ..Call::default()
        };
        self.push(call).map_err(|e| e.to_string())
    }

    fn export(&mut self, src: u32, line: usize, export: Export) -> Result<(), String> {
        for rs in export.resource_spans {
            for ss in rs
                .scope_spans
                .into_iter()
                .chain(rs.instrumentation_library_spans)
            {
                for span in ss.spans {
                    self.report.spans += 1;
                    self.span(src, line, span)?;
                }
            }
        }
        Ok(())
    }

    fn span(&mut self, src: u32, line: usize, span: Span) -> Result<(), String> {
        let a = SpanAttrs::read(&span.attributes, &self.opts);
        if !a.is_llm_call() {
            if !span.span_id.is_empty() {
                let id = self.span_ids.id(&span.span_id);
                let name = self.names.id(a.agent.unwrap_or(&span.name));
                self.span_names.insert(id, name);
            }
            if a.genai_seen {
                self.skip("GenAI span that is not an LLM call (agent, tool, embeddings)");
            } else {
                self.skip("span without GenAI or OpenInference attributes");
            }
            return Ok(());
        }
        let Some(model) = a.response_model.or(a.request_model) else {
            self.skip("LLM span without a model name");
            return Ok(());
        };
        if let Some(id) = a.response_id.filter(|id| !id.is_empty()) {
            use std::hash::{Hash, Hasher};
            // SipHash with fixed keys: the same ids collide (or not) on every run.
            let mut h = std::collections::hash_map::DefaultHasher::new();
            id.hash(&mut h);
            if !self.response_ids.insert(h.finish()) {
                self.skip(
                    "LLM span of a call another span already recorded (same gen_ai.response.id)",
                );
                return Ok(());
            }
        }
        let failed = span.status.as_ref().is_some_and(|s| s.code.0 == 2) || a.error_type.is_some();
        let status = match (a.http_status, failed) {
            (Some(s), _) if (100..600).contains(&s) => s as u16,
            (_, false) => 200,
            (_, true) => status_of_error(a.error_type.unwrap_or("")),
        };
        let tokens = a
            .tokens()
            .map_err(|e| format!("span {:?}: {e}", span.name))?;
        if tokens.is_none() && !failed {
            self.skip("successful LLM span without token counts");
            return Ok(());
        }
        let start_us = (span.start.0 > 0).then_some((span.start.0 / 1000) as i64);
        let duration_us = (span.end.0 >= span.start.0 && span.start.0 > 0)
            .then_some((span.end.0 - span.start.0) / 1000);
        let task_name = a.task.map(Cow::Borrowed).unwrap_or(span.trace_id.clone());
        let call = Call {
            source: src,
            line: line as u32,
            task: (!task_name.is_empty()).then(|| self.tasks.id(&task_name)),
            step: a.agent.map(|s| self.names.id(s)),
            model: Some(self.names.id(model)),
            parent: span
                .parent_span_id
                .as_deref()
                .filter(|p| !p.is_empty())
                .map(|p| self.span_ids.id(p)),
            start_us,
            duration_us,
            ttft_us: a.ttft_s.map(|s| (s * 1e6).round() as u64),
            status,
            error: failed.then(|| self.names.id(a.error_type.unwrap_or("error"))),
            retry: None,
            tokens: tokens.unwrap_or_default().tokens,
            reasoning: tokens.unwrap_or_default().reasoning,
        };
        // A call's own span name is its step when nothing better names it.
        let own = self.names.id(&span.name);
        let mut call = call;
        if call.step.is_none() && call.parent.is_none() {
            call.step = Some(own);
        }
        self.push(call).map_err(|e| e.to_string())?;
        if call.step.is_none() {
            // Remember the own name as the fallback, keyed by position.
            let i = self.calls.len() - 1;
            self.fallback_steps.push((i as u32, own));
        }
        Ok(())
    }
}

impl Ingest {
    /// Names the steps left to their parent span, marks retries in traces, and hands the
    /// calls over.
    pub fn finish(mut self) -> Calls {
        for (i, own) in std::mem::take(&mut self.fallback_steps) {
            let c = &mut self.calls[i as usize];
            c.step = Some(
                c.parent
                    .and_then(|p| self.span_names.get(&p).copied())
                    .unwrap_or(own),
            );
        }
        mark_retries(&mut self.calls);
        Calls {
            calls: self.calls,
            names: self.names.names,
            tasks: self.tasks.names.len(),
            report: self.report,
        }
    }
}

/// In traces nothing says "retry": a call of the same step and model right after a failed
/// one in the same task is taken as its retry.
fn mark_retries(calls: &mut [Call]) {
    let mut order: Vec<u32> = (0..calls.len() as u32)
        .filter(|i| calls[*i as usize].retry.is_none())
        .collect();
    if order.is_empty() {
        return;
    }
    order.sort_by_key(|i| {
        let c = &calls[*i as usize];
        (c.task, c.start_us, *i)
    });
    // (task, step, model) -> whether its latest call succeeded.
    type Key = (Option<u32>, Option<u32>, Option<u32>);
    let mut last: HashMap<Key, bool> = HashMap::new();
    let mut task = None;
    for i in order {
        let c = calls[i as usize];
        if c.task != task {
            last.clear();
            task = c.task;
        }
        let key = (c.task, c.step, c.model);
        let after_failure = c.task.is_some() && last.get(&key).is_some_and(|ok| !ok);
        calls[i as usize].retry = Some(after_failure);
        last.insert(key, c.is_success());
    }
}

/// A status for an `error.type` (which the GenAI conventions say is the provider's error code
/// or the exception's class name): a number is a status; else by name, 400 when unknown.
fn status_of_error(t: &str) -> u16 {
    if let Ok(n) = t.parse::<u16>()
        && (100..600).contains(&n)
    {
        return n;
    }
    let l = t.to_ascii_lowercase();
    if l.contains("ratelimit") || l.contains("rate_limit") {
        429
    } else if l.contains("timeout") || l.contains("timedout") {
        408
    } else if l.contains("overloaded") {
        529
    } else if l.contains("internalserver")
        || l.contains("server_error")
        || l.contains("serviceunavailable")
        || l.contains("apiconnection")
    {
        500
    } else {
        400
    }
}

/// The attributes of one span that calibration uses.
#[derive(Debug, Default)]
struct SpanAttrs<'a> {
    genai_seen: bool,
    operation: Option<&'a str>,
    openinference_kind: Option<&'a str>,
    request_model: Option<&'a str>,
    response_model: Option<&'a str>,
    input: Option<u64>,
    output: Option<u64>,
    cache_read: Option<u64>,
    cache_write: Option<u64>,
    reasoning: Option<u64>,
    agent: Option<&'a str>,
    task: Option<&'a str>,
    error_type: Option<&'a str>,
    http_status: Option<u64>,
    ttft_s: Option<f64>,
    response_id: Option<&'a str>,
}

impl<'a> SpanAttrs<'a> {
    fn read(attrs: &'a [KeyValue<'a>], opts: &IngestOptions) -> Self {
        let mut a = SpanAttrs::default();
        let mut conversation = None;
        for kv in attrs {
            let k: &str = &kv.key;
            let v = &kv.value;
            if opts.task_key.as_deref() == Some(k) {
                a.task = v.str();
            }
            if opts.step_key.as_deref() == Some(k) {
                a.agent = v.str();
                continue;
            }
            if k.starts_with("gen_ai.") || k.starts_with("llm.") {
                a.genai_seen = true;
            }
            match k {
                "gen_ai.operation.name" => a.operation = v.str(),
                "openinference.span.kind" => a.openinference_kind = v.str(),
                "gen_ai.request.model" => a.request_model = v.str(),
                "gen_ai.response.model" | "llm.model_name" => a.response_model = v.str(),
                "gen_ai.usage.input_tokens"
                | "gen_ai.usage.prompt_tokens"
                | "llm.token_count.prompt" => a.input = v.uint(),
                "gen_ai.usage.output_tokens"
                | "gen_ai.usage.completion_tokens"
                | "llm.token_count.completion" => a.output = v.uint(),
                "gen_ai.usage.cache_read.input_tokens"
                | "gen_ai.usage.cache_read_input_tokens"
                | "llm.token_count.prompt_details.cache_read" => a.cache_read = v.uint(),
                // `cache_write`: the anthropic SDK's own instrumentation (2.14, scope
                // `com.anthropic.sdk.python`) spells the registry's `cache_creation` so.
                "gen_ai.usage.cache_creation.input_tokens"
                | "gen_ai.usage.cache_write.input_tokens"
                | "gen_ai.usage.cache_creation_input_tokens"
                | "llm.token_count.prompt_details.cache_write" => a.cache_write = v.uint(),
                "gen_ai.usage.reasoning.output_tokens"
                | "llm.token_count.completion_details.reasoning" => a.reasoning = v.uint(),
                "gen_ai.agent.name" if opts.step_key.is_none() => a.agent = v.str(),
                "gen_ai.conversation.id" | "session.id" => conversation = v.str(),
                "error.type" => a.error_type = v.str(),
                "gen_ai.response.id" => a.response_id = v.str(),
                "http.response.status_code" => a.http_status = v.uint(),
                "gen_ai.response.time_to_first_chunk" | "gen_ai.server.time_to_first_token" => {
                    a.ttft_s = v.float()
                }
                _ => {}
            }
        }
        if opts.task_key.is_none() {
            a.task = conversation;
        }
        a
    }

    /// An LLM call: an inference operation, or an OpenInference LLM span, or token counts.
    fn is_llm_call(&self) -> bool {
        match (self.operation, self.openinference_kind) {
            (Some(op), _) => matches!(
                op,
                "chat" | "text_completion" | "generate_content" | "completion"
            ),
            (None, Some(kind)) => kind.eq_ignore_ascii_case("LLM"),
            (None, None) => self.input.is_some() || self.output.is_some(),
        }
    }

    fn tokens(&self) -> Result<Option<Usage>, String> {
        let (Some(input), output) = (self.input, self.output) else {
            return Ok(None);
        };
        let read = self.cache_read.unwrap_or(0);
        let write = self.cache_write.unwrap_or(0);
        // The conventions put the cache inside the input total; an instrumentation that does
        // not (cache larger than the total) reported the uncached part, Anthropic-style.
        let plain = if read + write <= input {
            input - read - write
        } else {
            input
        };
        let output = output.unwrap_or(0);
        Ok(Some(Usage {
            tokens: TokenCounts {
                input: plain,
                cache_write: write,
                cache_read: read,
                output,
            },
            cache_write_1h: 0,
            reasoning: self.reasoning.unwrap_or(0).min(output),
        }))
    }
}

// OTLP JSON, only the parts calibration reads (unknown fields are skipped unparsed).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Export<'a> {
    #[serde(default, borrow)]
    resource_spans: Vec<ResourceSpans<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans<'a> {
    #[serde(default, borrow)]
    scope_spans: Vec<ScopeSpans<'a>>,
    /// The name before OTLP 0.15.
    #[serde(default, borrow)]
    instrumentation_library_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    #[serde(default, borrow)]
    spans: Vec<Span<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Span<'a> {
    #[serde(default, borrow)]
    trace_id: Cow<'a, str>,
    #[serde(default, borrow)]
    span_id: Cow<'a, str>,
    #[serde(default, borrow)]
    parent_span_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Cow<'a, str>,
    #[serde(default, rename = "startTimeUnixNano")]
    start: Int,
    #[serde(default, rename = "endTimeUnixNano")]
    end: Int,
    #[serde(default, borrow)]
    attributes: Vec<KeyValue<'a>>,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: StatusCode,
}

#[derive(Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(default, borrow)]
    value: AnyValue<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AnyValue<'a> {
    #[serde(default, borrow)]
    string_value: Option<Cow<'a, str>>,
    #[serde(default)]
    int_value: Option<Int>,
    #[serde(default)]
    double_value: Option<f64>,
}

impl AnyValue<'_> {
    fn str(&self) -> Option<&str> {
        self.string_value.as_deref().filter(|s| !s.is_empty())
    }
    fn uint(&self) -> Option<u64> {
        self.int_value
            .map(|i| i.0)
            .or_else(|| self.double_value.and_then(|f| count(&Value::from(f))))
            .or_else(|| self.str().and_then(|s| s.parse().ok()))
    }
    fn float(&self) -> Option<f64> {
        self.double_value
            .or_else(|| self.int_value.map(|i| i.0 as f64))
            .filter(|f| f.is_finite() && *f >= 0.0)
    }
}

/// An OTLP 64-bit integer: a JSON number or a decimal string (the protobuf JSON mapping).
#[derive(Debug, Clone, Copy, Default)]
struct Int(u64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a non-negative integer or a decimal string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                u64::try_from(v)
                    .map(Int)
                    .map_err(|_| E::custom("negative integer"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Int, E> {
                if v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 {
                    Ok(Int(v as u64))
                } else {
                    Err(E::custom("not a whole non-negative number"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
                v.parse()
                    .map(Int)
                    .map_err(|_| E::custom(format!("{v:?} is not an integer")))
            }
        }
        d.deserialize_any(V)
    }
}

/// An OTLP status code: 0 unset, 1 ok, 2 error, as a number or its enum name.
#[derive(Debug, Clone, Copy, Default)]
struct StatusCode(u8);

impl<'de> Deserialize<'de> for StatusCode {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A status is a few bytes: read it as any JSON value, then name it.
        Ok(StatusCode(match Value::deserialize(d)? {
            Value::Number(n) => n.as_u64().map_or(0, |c| c.min(2) as u8),
            Value::String(s) => match s.as_str() {
                "STATUS_CODE_ERROR" | "ERROR" | "2" => 2,
                "STATUS_CODE_OK" | "OK" | "1" => 1,
                _ => 0,
            },
            _ => 0,
        }))
    }
}

/// Whether `line` starts a JSON value that does not end on it (a pretty-printed document).
fn unfinished_json(line: &[u8]) -> bool {
    match serde_json::from_slice::<de::IgnoredAny>(line) {
        Ok(_) => false,
        Err(e) => e.classify() == serde_json::error::Category::Eof,
    }
}

impl Calls {
    /// Splits the calls at `cutoff_us`: those starting before it (or with no start) and the
    /// rest, for a hold-out check. Names stay shared, so ids mean the same in both.
    pub fn split_at_us(&self, cutoff_us: i64) -> (Calls, Calls) {
        let (before, after): (Vec<Call>, Vec<Call>) = self
            .calls
            .iter()
            .partition(|c| c.start_us.is_none_or(|s| s < cutoff_us));
        let part = |calls: Vec<Call>| {
            let tasks: std::collections::HashSet<u32> =
                calls.iter().filter_map(|c| c.task).collect();
            Calls {
                tasks: tasks.len(),
                calls,
                names: self.names.clone(),
                report: self.report.clone(),
            }
        };
        (part(before), part(after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage_log::days_from_civil;

    #[test]
    fn times_parse_by_hand_computed_epochs() {
        // 2026-12-06T00:00:00Z: 56 years of 365 days + 14 leap days (1972..2024) + 339 days of 2026.
        assert_eq!(days_from_civil(2026, 12, 6), 20_793);
        assert_eq!(
            parse_time_us("2026-12-06T00:00:00Z"),
            Some(20_793 * 86_400_000_000)
        );
        assert_eq!(
            parse_time_us("2026-12-06 01:30:00.25+01:00"),
            Some(20_793 * 86_400_000_000 + 1_800_000_000 + 250_000)
        );
        assert_eq!(parse_time_us("1700000000"), Some(1_700_000_000_000_000));
        assert_eq!(parse_time_us("yesterday"), None);
        assert_eq!(parse_time_us("2026-13-01T00:00:00Z"), None);
    }
}
