//! The request log: JSONL, one object per request (fields documented in the crate docs), and
//! the token counts and cost of one request as the ledger and the log record them.

use crate::bill::Charged;
use crate::error::Shape;
use crate::ratelimit::rfc3339;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A JSONL request log, flushed at most every 200 ms and on drop.
#[derive(Debug)]
pub struct RequestLog {
    out: BufWriter<File>,
    last_flush: Instant,
}

impl RequestLog {
    pub fn open(path: &std::path::Path) -> std::io::Result<RequestLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(RequestLog {
            out: BufWriter::with_capacity(64 * 1024, file),
            last_flush: Instant::now(),
        })
    }

    pub fn write(&mut self, line: &serde_json::Value) {
        // A failed log write must not fail the request; it is counted in the metrics.
        let ok =
            serde_json::to_writer(&mut self.out, line).is_ok() && self.out.write_all(b"\n").is_ok();
        if !ok {
            LOG_ERRORS.fetch_add(1, Ordering::Relaxed);
        }
        if self.last_flush.elapsed() > Duration::from_millis(200) {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        if self.out.flush().is_err() {
            LOG_ERRORS.fetch_add(1, Ordering::Relaxed);
        }
        self.last_flush = Instant::now();
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        self.flush();
    }
}

pub static LOG_ERRORS: AtomicU64 = AtomicU64::new(0);

/// What the log says about the request itself.
#[derive(Debug, Clone)]
pub struct ReqInfo {
    pub shape: Shape,
    pub api: &'static str,
    pub request_id: String,
    pub key: String,
    pub step: Option<String>,
    pub task: Option<String>,
    pub retry_count: u32,
    pub started: Instant,
}

/// What a log line says of a request's answer, beside its [`ReqInfo`].
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// The catalog id billed.
    pub model: &'a str,
    /// The name the client sent.
    pub requested: &'a str,
    pub status: u16,
    /// The error or fault kind (`rate_limit`, `malformed`, ...).
    pub error: Option<&'a str>,
    pub charged: &'a Charged,
    pub stream: bool,
}

pub fn log_line(r: &ReqInfo, a: &Answer, latency: Duration) -> serde_json::Value {
    let Answer {
        model,
        requested,
        status,
        error,
        charged: c,
        stream,
    } = *a;
    serde_json::json!({
        "ts": rfc3339(SystemTime::now()),
        "request_id": r.request_id,
        "provider": match r.shape { Shape::OpenAi => "openai", Shape::Anthropic => "anthropic", Shape::Gemini => "google" },
        "api": r.api,
        "model": model,
        "requested_model": requested,
        "key": r.key,
        "step": r.step,
        "task": r.task,
        "stream": stream,
        "batch": c.batch,
        "status": status,
        "error": error,
        "retry_count": r.retry_count,
        "input_tokens": c.tokens.input,
        "service_tier": c.tier.as_str(),
        "cache_write_tokens": c.tokens.cache_write(),
        "cache_write_5m_tokens": c.tokens.cache_write_5m,
        "cache_write_30m_tokens": c.tokens.cache_write_30m,
        "cache_write_1h_tokens": c.tokens.cache_write_1h,
        "cache_write_24h_tokens": c.tokens.cache_write_24h,
        "cache_read_tokens": c.tokens.cache_read,
        "output_tokens": c.tokens.output,
        "reasoning_tokens": c.tokens.reasoning,
        "cost_usd": c.cost_pusd as f64 / 1e12,
        "cost_pusd": c.cost_pusd,
        "latency_ms": latency.as_secs_f64() * 1000.0,
    })
}
