//! One recorded call as the readers see it: the usage-log line format (the mock's request log,
//! provider usage objects, one JSON object a line), the error every reader and the fit share,
//! and timestamps. The bottom of calibration: `traces.rs` (OTLP, LiteLLM) builds on it and
//! `calibrate.rs` (the fits) on both, so neither reader imports the fitting code.

use serde_json::Value;

/// Most lines one calibration reads.
pub const MAX_LINES: usize = 10_000_000;
/// A line that could not be used, with its 1-based number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("no usable observations: every line was an error or the log is empty")]
    Empty,
    #[error("more than {0} lines; split the log")]
    TooManyLines(usize),
    #[error(
        "model `{model}` (line {line} of {file}) is not in the catalog; rename it to a catalog id"
    )]
    UnknownModel {
        model: String,
        line: usize,
        file: String,
    },
    #[error("{at}: {message}")]
    At { at: String, message: String },
    #[error("cannot read {0}")]
    Read(String),
    #[error("the fitted scenario does not validate: {0}")]
    Invalid(String),
}

/// One call as a log line describes it, provider-neutral.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    /// 1-based line number.
    pub line: usize,
    pub task: Option<String>,
    pub step: Option<String>,
    pub model: Option<String>,
    /// HTTP status; 200 when the line is a bare usage object.
    pub status: u16,
    /// Error kind named by the line (`malformed`, `timeout`, ...), if any.
    pub error: Option<String>,
    /// Whether the line is a retry of an earlier attempt.
    pub retry: bool,
    /// Uncached input tokens.
    pub input: u64,
    pub cache_write: u64,
    pub cache_read: u64,
    pub output: u64,
    /// Of `output`, reasoning tokens.
    pub reasoning: u64,
    /// Start (`ts`, `timestamp`), microseconds since the Unix epoch.
    pub start_us: Option<i64>,
    /// Duration (`latency_ms`).
    pub duration_us: Option<u64>,
}

impl Observation {
    pub fn total_input(&self) -> u64 {
        self.input + self.cache_write + self.cache_read
    }
}

fn uint(v: Option<&Value>) -> Option<u64> {
    v.and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
    })
}

fn tag(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.chars().take(200).collect()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses one JSONL line (`line` is its 1-based number). `Ok(None)` for a blank line.
pub fn parse_line(line: usize, text: &str) -> Result<Option<Observation>, CalibrateError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let err = |message: String| CalibrateError::Line { line, message };
    let v: Value = serde_json::from_str(text).map_err(|e| err(format!("not JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| err("expected a JSON object".to_string()))?;
    let mut o = Observation {
        line,
        task: tag(obj.get("task").or_else(|| obj.get("task_id"))),
        step: tag(obj.get("step")),
        model: tag(obj.get("model")),
        status: 200,
        ..Observation::default()
    };
    if let Some(s) = obj.get("status") {
        let s = s.as_u64().filter(|s| (100..600).contains(s));
        o.status = s.ok_or_else(|| err("`status` must be an HTTP status code".to_string()))? as u16;
    }
    o.error = tag(obj.get("error"));
    o.start_us = ["ts", "timestamp", "start_time"]
        .iter()
        .find_map(|k| obj.get(*k))
        .and_then(|v| match v {
            Value::String(s) => parse_time_us(s),
            Value::Number(n) => parse_time_us(&n.to_string()),
            _ => None,
        });
    o.duration_us = obj
        .get("latency_ms")
        .and_then(Value::as_f64)
        .filter(|ms| *ms >= 0.0 && ms.is_finite())
        .map(|ms| (ms * 1000.0).round() as u64);
    o.retry = uint(obj.get("retry_count").or_else(|| obj.get("retry"))).is_some_and(|r| r > 0)
        || obj.get("retry").and_then(Value::as_bool).unwrap_or(false);

    // The mock's request log: provider-neutral counters at the top level.
    if obj.contains_key("cache_write_tokens") && obj.contains_key("input_tokens") {
        o.input = uint(obj.get("input_tokens"))
            .ok_or_else(|| err("`input_tokens` must be a count".into()))?;
        o.cache_write = uint(obj.get("cache_write_tokens")).unwrap_or(0);
        o.cache_read = uint(obj.get("cache_read_tokens")).unwrap_or(0);
        o.output = uint(obj.get("output_tokens")).unwrap_or(0);
        o.reasoning = uint(obj.get("reasoning_tokens")).unwrap_or(0).min(o.output);
        return Ok(Some(o));
    }
    let usage = match obj.get("usage") {
        Some(Value::Object(u)) => u,
        Some(Value::Null) | None if !(200..300).contains(&o.status) || o.error.is_some() => {
            // A failed call with no usage: counts towards failure rates only.
            return Ok(Some(o));
        }
        Some(_) => return Err(err("`usage` must be an object".to_string())),
        None => obj,
    };
    let u = crate::usage::parse_usage(usage).map_err(|e| err(e.to_string()))?;
    o.input = u.tokens.input;
    o.cache_write = u.tokens.cache_write;
    o.cache_read = u.tokens.cache_read;
    o.output = u.tokens.output;
    o.reasoning = u.reasoning;
    Ok(Some(o))
}

/// Parses a whole JSONL text.
pub fn parse_log(text: &str) -> Result<Vec<Observation>, CalibrateError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i >= MAX_LINES {
            return Err(CalibrateError::TooManyLines(MAX_LINES));
        }
        if let Some(o) = parse_line(i + 1, line)? {
            out.push(o);
        }
    }
    Ok(out)
}

/// The `YYYY-MM-DD` of a day counted from 1970-01-01 (the inverse of `days_from_civil`,
/// Howard Hinnant's `civil_from_days`).
pub fn civil_date(unix_day: i64) -> String {
    let z = unix_day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Microseconds since the epoch of an ISO 8601 / RFC 3339 date-time (`T` or a space between
/// date and time, optional fraction, `Z`, `+HH:MM`, `+HHMM` or no offset meaning UTC), or of
/// a Unix time in seconds, milliseconds or nanoseconds given as a number.
pub fn parse_time_us(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<f64>() {
        // Unix time: seconds (< 1e11), milliseconds (< 1e14), microseconds, nanoseconds.
        let us = match n.abs() {
            x if x < 1e11 => n * 1e6,
            x if x < 1e14 => n * 1e3,
            x if x < 1e17 => n,
            _ => n / 1e3,
        };
        return Some(us as i64);
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_us = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = s.get(start..i)?;
        let six: String = digits
            .chars()
            .chain(std::iter::repeat('0'))
            .take(6)
            .collect();
        frac_us = six.parse().ok()?;
    }
    let offset_s = match s.get(i..)? {
        "" | "Z" | "z" => 0,
        rest if rest.starts_with('+') || rest.starts_with('-') => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let digits: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            if digits.len() != 4 {
                return None;
            }
            let hh: i64 = digits[..2].parse().ok()?;
            let mm: i64 = digits[2..].parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    Some(secs * 1_000_000 + frac_us)
}
