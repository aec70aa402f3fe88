//! Calibration: fit a scenario from usage logs. Pure: the caller reads the file and passes its
//! text; this module parses the lines, fits the distributions and renders scenario TOML.
//!
//! Accepted lines (JSONL, one object per line, blank lines skipped):
//! - the mock's request log (`status`, `input_tokens`, `cache_write_tokens`,
//!   `cache_read_tokens`, `output_tokens`, `model`, `step`, `retry_count`, `error`);
//! - an OpenAI Chat Completions usage object (`prompt_tokens`, `completion_tokens`,
//!   `prompt_tokens_details.cached_tokens`), bare or under `usage`;
//! - an OpenAI Responses usage object (`input_tokens`, `output_tokens`,
//!   `input_tokens_details.cached_tokens`), bare or under `usage`;
//! - an Anthropic usage object (`input_tokens`, `output_tokens`,
//!   `cache_creation_input_tokens`, `cache_read_input_tokens`), bare or under `usage`.
//!
//! Any line may carry `step`, `model`, `task` (string or number), `status` and `retry`
//! (`retry_count`) tags next to its usage. Lines without a `model` are attributed to
//! `--model`-less "unknown" and rejected at fitting time, because prices need a model.

use crate::catalog::Catalog;
use crate::model::Scenario;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Below this many observations a distribution is reported as empirical, not lognormal.
pub const MIN_LOGNORMAL_OBSERVATIONS: usize = 20;
/// Most distinct values an empirical distribution keeps (more are reduced to quantiles).
const MAX_EMPIRICAL_VALUES: usize = 64;
/// Most lines one calibration reads.
pub const MAX_LINES: usize = 10_000_000;
/// Most step/model groups.
const MAX_GROUPS: usize = 1_000;

/// A line that could not be used, with its 1-based number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("no usable observations: every line was an error or the log is empty")]
    Empty,
    #[error("more than {0} lines; split the log")]
    TooManyLines(usize),
    #[error("model `{model}` (line {line}) is not in the catalog; rename it to a catalog id")]
    UnknownModel { model: String, line: usize },
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
}

impl Observation {
    pub fn total_input(&self) -> u64 {
        self.input + self.cache_write + self.cache_read
    }

    /// A successful call whose tokens describe the step (not an error, not a retry).
    fn is_clean(&self) -> bool {
        (200..300).contains(&self.status) && self.error.is_none() && !self.retry
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
    o.retry = uint(obj.get("retry_count").or_else(|| obj.get("retry"))).is_some_and(|r| r > 0)
        || obj.get("retry").and_then(Value::as_bool).unwrap_or(false);

    // The mock's request log: provider-neutral counters at the top level.
    if obj.contains_key("cache_write_tokens") && obj.contains_key("input_tokens") {
        o.input = uint(obj.get("input_tokens"))
            .ok_or_else(|| err("`input_tokens` must be a count".into()))?;
        o.cache_write = uint(obj.get("cache_write_tokens")).unwrap_or(0);
        o.cache_read = uint(obj.get("cache_read_tokens")).unwrap_or(0);
        o.output = uint(obj.get("output_tokens")).unwrap_or(0);
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
    let get = |k: &str| uint(usage.get(k));
    // OpenAI (chat and Responses): cached tokens are a subset of the prompt's tokens.
    let cached_subset = |total: u64, total_name: &str, details: &str| {
        let cached = uint(usage.get(details).and_then(|d| d.get("cached_tokens"))).unwrap_or(0);
        if cached > total {
            return Err(err(format!(
                "cached_tokens {cached} exceed {total_name} {total}"
            )));
        }
        Ok((total - cached, cached))
    };
    if let Some(prompt) = get("prompt_tokens") {
        // OpenAI Chat Completions.
        (o.input, o.cache_read) = cached_subset(prompt, "prompt_tokens", "prompt_tokens_details")?;
        o.output = get("completion_tokens").unwrap_or(0);
    } else if let Some(input) = get("input_tokens") {
        if usage.contains_key("cache_creation_input_tokens")
            || usage.contains_key("cache_read_input_tokens")
        {
            // Anthropic: three separate counters.
            o.input = input;
            o.cache_write = get("cache_creation_input_tokens").unwrap_or(0);
            o.cache_read = get("cache_read_input_tokens").unwrap_or(0);
        } else {
            // OpenAI Responses (or Anthropic without cache counters).
            (o.input, o.cache_read) = cached_subset(input, "input_tokens", "input_tokens_details")?;
        }
        o.output = get("output_tokens").unwrap_or(0);
    } else {
        return Err(err(
            "no usage found: expected `prompt_tokens` (OpenAI chat), `input_tokens` (OpenAI Responses, Anthropic) or the mock's request-log fields"
                .to_string(),
        ));
    }
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

/// A fitted distribution.
#[derive(Debug, Clone, PartialEq)]
pub enum Fit {
    /// Every observation had this value.
    Constant(f64),
    /// Lognormal by maximum likelihood, reported by its mean and coefficient of variation.
    LogNormal { mean: f64, cv: f64 },
    /// The observed values (or their quantiles) with weights.
    Empirical { values: Vec<f64>, weights: Vec<f64> },
}

impl Fit {
    pub fn mean(&self) -> f64 {
        match self {
            Fit::Constant(v) => *v,
            Fit::LogNormal { mean, .. } => *mean,
            Fit::Empirical { values, weights } => {
                let total: f64 = weights.iter().sum();
                values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total
            }
        }
    }

    fn toml(&self) -> String {
        match self {
            Fit::Constant(v) => fmt_num(*v),
            Fit::LogNormal { mean, cv } => {
                format!(
                    "{{ dist = \"lognormal\", mean = {}, cv = {} }}",
                    fmt_num(*mean),
                    fmt_num(*cv)
                )
            }
            Fit::Empirical { values, weights } => {
                let list = |xs: &[f64]| {
                    xs.iter()
                        .map(|x| fmt_num(*x))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!(
                    "{{ dist = \"empirical\", values = [{}], weights = [{}] }}",
                    list(values),
                    list(weights)
                )
            }
        }
    }
}

fn fmt_num(x: f64) -> String {
    if x == x.round() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.6}");
        let s = s.trim_end_matches('0');
        s.trim_end_matches('.').to_string()
    }
}

/// Fits a distribution to non-negative observations: constant when all are equal, lognormal by
/// maximum likelihood (mu = mean of ln x, sigma^2 = population variance of ln x; mean =
/// exp(mu + sigma^2/2), cv = sqrt(exp(sigma^2) - 1)) with at least
/// [`MIN_LOGNORMAL_OBSERVATIONS`] positive values, empirical otherwise (or when any is zero).
pub fn fit(values: &[f64]) -> Option<Fit> {
    let first = *values.first()?;
    if values.iter().all(|v| *v == first) {
        return Some(Fit::Constant(first));
    }
    let n = values.len();
    if n >= MIN_LOGNORMAL_OBSERVATIONS && values.iter().all(|v| *v > 0.0) {
        let logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
        let mu = logs.iter().sum::<f64>() / n as f64;
        let var = logs.iter().map(|l| (l - mu) * (l - mu)).sum::<f64>() / n as f64;
        let mean = (mu + var / 2.0).exp();
        let cv = (var.exp() - 1.0).sqrt();
        return Some(Fit::LogNormal {
            mean: round_to(mean, 3),
            cv: round_to(cv, 4),
        });
    }
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v.to_bits()).or_default() += 1;
    }
    let mut pairs: Vec<(f64, f64)> = counts
        .iter()
        .map(|(b, c)| (f64::from_bits(*b), *c as f64))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    if pairs.len() > MAX_EMPIRICAL_VALUES {
        // Equal-weight quantiles (midpoints of MAX_EMPIRICAL_VALUES equal slices).
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        pairs = (0..MAX_EMPIRICAL_VALUES)
            .map(|i| {
                let q = (i as f64 + 0.5) / MAX_EMPIRICAL_VALUES as f64;
                (sorted[((q * n as f64) as usize).min(n - 1)], 1.0)
            })
            .collect();
    }
    Some(Fit::Empirical {
        values: pairs.iter().map(|p| p.0).collect(),
        weights: pairs.iter().map(|p| p.1).collect(),
    })
}

/// Fits whole counts (calls per task): constant when all are equal, otherwise the observed
/// counts as an empirical distribution weighted by how often each occurred (its mean is the
/// sample mean, and sampling it gives whole counts again, which a lognormal would not). More
/// than [`MAX_EMPIRICAL_VALUES`] distinct counts are reduced to quantiles as in [`fit`].
fn fit_counts(values: &[f64]) -> Option<Fit> {
    let distinct: BTreeSet<u64> = values.iter().map(|v| v.to_bits()).collect();
    if distinct.len() <= 1 || distinct.len() > MAX_EMPIRICAL_VALUES {
        return fit(values).map(|f| match f {
            Fit::LogNormal { .. } => empirical_quantiles(values),
            other => other,
        });
    }
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v.to_bits()).or_default() += 1;
    }
    let mut pairs: Vec<(f64, f64)> = counts
        .iter()
        .map(|(b, c)| (f64::from_bits(*b), *c as f64))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(Fit::Empirical {
        values: pairs.iter().map(|p| p.0).collect(),
        weights: pairs.iter().map(|p| p.1).collect(),
    })
}

/// Equal-weight quantiles (midpoints of [`MAX_EMPIRICAL_VALUES`] equal slices).
fn empirical_quantiles(values: &[f64]) -> Fit {
    let n = values.len();
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let values: Vec<f64> = (0..MAX_EMPIRICAL_VALUES)
        .map(|i| {
            let q = (i as f64 + 0.5) / MAX_EMPIRICAL_VALUES as f64;
            sorted[((q * n as f64) as usize).min(n - 1)]
        })
        .collect();
    Fit::Empirical {
        weights: vec![1.0; values.len()],
        values,
    }
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let m = 10f64.powi(decimals);
    (x * m).round() / m
}

/// Failure rates of a group, by the scenario's kinds, with their counts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FailureFit {
    pub attempts: u64,
    pub malformed: u64,
    pub rate_limit: u64,
    pub server_error: u64,
    pub timeout: u64,
    /// Other statuses (400, 401, 404, ...), not expressible in a scenario: reported only.
    pub other: u64,
}

impl FailureFit {
    fn rate(&self, n: u64) -> f64 {
        if self.attempts == 0 {
            0.0
        } else {
            n as f64 / self.attempts as f64
        }
    }
}

/// What calibration found for one step and model.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFit {
    pub step: String,
    pub model: String,
    /// Clean calls (2xx, not retries) the token fits rest on.
    pub clean_calls: usize,
    /// Cached prefix per call (`cache_read + cache_write` of calls that used the cache).
    pub prefix: Option<Fit>,
    pub prefix_observations: usize,
    /// Fresh input: total input minus the call's cached prefix (or the mean prefix on a miss).
    pub input: Fit,
    pub output: Fit,
    /// Calls of this step per task (first attempts), when tasks are tagged.
    pub repeat: Option<Fit>,
    pub tasks: usize,
    pub failures: FailureFit,
}

/// A calibration: per step and model, in order of first appearance.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub steps: Vec<StepFit>,
    pub lines: usize,
    pub tasks: usize,
    /// Whether any call read or wrote the prompt cache.
    pub caching_seen: bool,
}

/// Fits every step/model group of the observations. Models must be catalog names.
pub fn calibrate(obs: &[Observation], catalog: &Catalog) -> Result<Calibration, CalibrateError> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: BTreeMap<(String, String), Vec<&Observation>> = BTreeMap::new();
    for o in obs {
        let Some(model) = o.model.clone() else {
            return Err(CalibrateError::Line {
                line: o.line,
                message: "no `model`: prices need one".to_string(),
            });
        };
        let spec = catalog.get(&model).ok_or(CalibrateError::UnknownModel {
            model: model.clone(),
            line: o.line,
        })?;
        let step = o.step.clone().unwrap_or_else(|| "call".to_string());
        let key = (step, spec.id.clone());
        if !groups.contains_key(&key) {
            if groups.len() >= MAX_GROUPS {
                return Err(CalibrateError::Line {
                    line: o.line,
                    message: format!("more than {MAX_GROUPS} step/model groups"),
                });
            }
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(o);
    }
    let all_tasks: BTreeSet<&str> = obs.iter().filter_map(|o| o.task.as_deref()).collect();
    let mut steps = Vec::new();
    let mut caching_seen = false;
    for key in order {
        let group = &groups[&key];
        let clean: Vec<&&Observation> = group.iter().filter(|o| o.is_clean()).collect();
        let mut failures = FailureFit::default();
        for o in group {
            failures.attempts += 1;
            match (o.status, o.error.as_deref()) {
                (429, _) => failures.rate_limit += 1,
                (504 | 408, _) | (_, Some("timeout")) => failures.timeout += 1,
                (500 | 502 | 503 | 529, _) => failures.server_error += 1,
                (200..=299, Some(_)) => failures.malformed += 1,
                (200..=299, None) => {}
                _ => failures.other += 1,
            }
        }
        if clean.is_empty() {
            // Only failures: nothing to fit tokens on; still report the group.
            steps.push(StepFit {
                step: key.0,
                model: key.1,
                clean_calls: 0,
                prefix: None,
                prefix_observations: 0,
                input: Fit::Constant(0.0),
                output: Fit::Constant(0.0),
                repeat: None,
                tasks: 0,
                failures,
            });
            continue;
        }
        let cached: Vec<f64> = clean
            .iter()
            .map(|o| (o.cache_read + o.cache_write) as f64)
            .filter(|c| *c > 0.0)
            .collect();
        caching_seen |= !cached.is_empty();
        let mean_prefix = if cached.is_empty() {
            0.0
        } else {
            cached.iter().sum::<f64>() / cached.len() as f64
        };
        let input: Vec<f64> = clean
            .iter()
            .map(|o| {
                let c = (o.cache_read + o.cache_write) as f64;
                let prefix = if c > 0.0 { c } else { mean_prefix.round() };
                (o.total_input() as f64 - prefix).max(0.0)
            })
            .collect();
        let output: Vec<f64> = clean.iter().map(|o| o.output as f64).collect();
        // Calls per task: first attempts of this step per tagged task (0 for tasks that never
        // reached it are not visible in a log, so this is calls per task that made the step).
        let mut per_task: BTreeMap<&str, u64> = BTreeMap::new();
        for o in group.iter().filter(|o| !o.retry) {
            if let Some(t) = o.task.as_deref() {
                *per_task.entry(t).or_default() += 1;
            }
        }
        let repeat_values: Vec<f64> = per_task.values().map(|c| *c as f64).collect();
        steps.push(StepFit {
            step: key.0,
            model: key.1,
            clean_calls: clean.len(),
            prefix: fit(&cached),
            prefix_observations: cached.len(),
            input: fit(&input).expect("non-empty"),
            output: fit(&output).expect("non-empty"),
            repeat: fit_counts(&repeat_values),
            tasks: per_task.len(),
            failures,
        });
    }
    if steps
        .iter()
        .all(|s| s.clean_calls == 0 && s.failures.attempts == 0)
    {
        return Err(CalibrateError::Empty);
    }
    Ok(Calibration {
        steps,
        lines: obs.len(),
        tasks: all_tasks.len(),
        caching_seen,
    })
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

impl Calibration {
    /// Renders a scenario TOML, commented with the observations behind each figure, and
    /// checks that it validates.
    pub fn to_scenario_toml(&self, name: &str) -> Result<String, CalibrateError> {
        let mut t = String::new();
        let w = &mut t;
        let _ = writeln!(
            w,
            "# Calibrated by `burnrate calibrate` from {} log lines ({} tagged tasks).",
            self.lines, self.tasks
        );
        let _ = writeln!(
            w,
            "# Token distributions rest on clean calls (2xx, not retries); failure rates on every attempt."
        );
        let _ = writeln!(
            w,
            "# Lognormal fits are maximum likelihood (mu = mean ln x, sigma^2 = var ln x); fewer than"
        );
        let _ = writeln!(
            w,
            "# {MIN_LOGNORMAL_OBSERVATIONS} observations, or zeros, give an empirical distribution instead."
        );
        let _ = writeln!(w, "name = {}", toml_str(name));
        let _ = writeln!(w);
        let _ = writeln!(w, "[traffic]");
        let _ = writeln!(w, "# Not in a usage log: set your expected traffic.");
        let _ = writeln!(w, "tasks_per_day = 100");
        let _ = writeln!(w);
        if self.caching_seen {
            let _ = writeln!(w, "# Cached tokens appear in the log, so caching is on.");
            let _ = writeln!(w, "[caching]");
            let _ = writeln!(w, "enabled = true");
            let _ = writeln!(w);
        }
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for s in &self.steps {
            let n = names.entry(s.step.clone()).or_default();
            *n += 1;
            // Two models under one step tag become two steps.
            let step_name = if *n == 1 {
                s.step.clone()
            } else {
                format!("{}-{}", s.step, s.model)
            };
            let _ = writeln!(w, "[[steps]]");
            let _ = writeln!(w, "name = {}", toml_str(&step_name));
            let _ = writeln!(w, "model = {}", toml_str(&s.model));
            if let Some(p) = &s.prefix {
                let _ = writeln!(
                    w,
                    "# cached prefix: {} calls that read or wrote the cache",
                    s.prefix_observations
                );
                let _ = writeln!(w, "prefix_tokens = {}", p.toml());
            } else if self.caching_seen {
                let _ = writeln!(w, "cache = false");
            }
            let _ = writeln!(w, "# input and output: {} clean calls", s.clean_calls);
            let _ = writeln!(w, "input_tokens = {}", s.input.toml());
            let _ = writeln!(w, "output_tokens = {}", s.output.toml());
            if let Some(r) = &s.repeat {
                let _ = writeln!(w, "# calls per task: {} tagged tasks", s.tasks);
                let _ = writeln!(w, "repeat = {}", r.toml());
            } else {
                let _ = writeln!(w, "# calls per task: no task ids in the log, 1 assumed");
            }
            let f = &s.failures;
            let _ = writeln!(
                w,
                "# failures: {} attempts: {} 429, {} 5xx, {} timeouts, {} malformed{}",
                f.attempts,
                f.rate_limit,
                f.server_error,
                f.timeout,
                f.malformed,
                if f.other > 0 {
                    format!(", {} other errors not modelled", f.other)
                } else {
                    String::new()
                }
            );
            let _ = writeln!(
                w,
                "failures = {{ malformed = {}, rate_limit = {}, server_error = {}, timeout = {} }}",
                fmt_num(round_to(f.rate(f.malformed), 6)),
                fmt_num(round_to(f.rate(f.rate_limit), 6)),
                fmt_num(round_to(f.rate(f.server_error), 6)),
                fmt_num(round_to(f.rate(f.timeout), 6)),
            );
            let _ = writeln!(w);
        }
        Scenario::from_toml(&format!("{name}.toml"), &t)
            .map_err(|e| CalibrateError::Invalid(e.to_string()))?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parses_every_format_and_names_bad_lines() {
        let chat = r#"{"model":"gpt-4o-mini","step":"a","usage":{"prompt_tokens":2000,"completion_tokens":50,"prompt_tokens_details":{"cached_tokens":1024}}}"#;
        let o = parse_line(1, chat).unwrap().unwrap();
        assert_eq!((o.input, o.cache_read, o.output), (976, 1024, 50));
        let resp =
            r#"{"input_tokens":300,"output_tokens":7,"input_tokens_details":{"cached_tokens":0}}"#;
        let o = parse_line(2, resp).unwrap().unwrap();
        assert_eq!(
            (o.input, o.cache_read, o.output, o.model.clone()),
            (300, 0, 7, None)
        );
        let anth = r#"{"model":"claude-sonnet-4-5","task":7,"usage":{"input_tokens":10,"cache_creation_input_tokens":2000,"cache_read_input_tokens":0,"output_tokens":3}}"#;
        let o = parse_line(3, anth).unwrap().unwrap();
        assert_eq!(
            (o.input, o.cache_write, o.task.as_deref()),
            (10, 2000, Some("7"))
        );
        let mock = r#"{"model":"gpt-4o","step":"s","status":429,"error":"rate_limit","retry_count":1,"input_tokens":0,"cache_write_tokens":0,"cache_read_tokens":0,"output_tokens":0}"#;
        let o = parse_line(4, mock).unwrap().unwrap();
        assert_eq!((o.status, o.retry), (429, true));
        assert!(parse_line(5, "   ").unwrap().is_none());
        let e = parse_log("{\"prompt_tokens\":1}\n{nope").unwrap_err();
        assert!(e.to_string().starts_with("line 2:"), "{e}");
        let e = parse_line(9, r#"{"foo":1}"#).unwrap_err();
        assert!(e.to_string().starts_with("line 9:"), "{e}");
    }

    #[test]
    fn lognormal_mle_recovers_the_parameters() {
        let d = crate::Dist::lognormal(800.0, 0.5).unwrap();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        let xs: Vec<f64> = (0..20_000).map(|_| d.sample(&mut rng)).collect();
        match fit(&xs).unwrap() {
            // sd of the mean ~ 800*0.5/sqrt(20000) = 2.8; 4 sigma ~ 11.
            Fit::LogNormal { mean, cv } => {
                assert!((mean - 800.0).abs() < 12.0, "mean {mean}");
                assert!((cv - 0.5).abs() < 0.02, "cv {cv}");
            }
            other => panic!("expected lognormal, got {other:?}"),
        }
        assert_eq!(fit(&[5.0, 5.0]), Some(Fit::Constant(5.0)));
        assert!(matches!(fit(&[0.0, 1.0, 2.0]), Some(Fit::Empirical { .. })));
        assert_eq!(fit(&[]), None);
    }

    #[test]
    fn counts_fit_as_whole_numbers_with_the_sample_mean() {
        let xs = [1.0, 1.0, 2.0, 3.0, 1.0, 2.0];
        let f = fit_counts(&xs).unwrap();
        assert_eq!(
            f,
            Fit::Empirical {
                values: vec![1.0, 2.0, 3.0],
                weights: vec![3.0, 2.0, 1.0]
            }
        );
        assert!((f.mean() - 10.0 / 6.0).abs() < 1e-12);
        // Many observations of few values: still empirical (fit() would give a lognormal).
        let many: Vec<f64> = (0..100).map(|i| f64::from(1 + i % 3)).collect();
        assert!(matches!(fit(&many), Some(Fit::LogNormal { .. })));
        assert!(matches!(fit_counts(&many), Some(Fit::Empirical { .. })));
        assert_eq!(fit_counts(&[2.0, 2.0]), Some(Fit::Constant(2.0)));
        // More distinct counts than an empirical list keeps: quantiles, equal weights.
        let wide: Vec<f64> = (1..=500).map(f64::from).collect();
        match fit_counts(&wide).unwrap() {
            Fit::Empirical { values, weights } => {
                assert_eq!(values.len(), MAX_EMPIRICAL_VALUES);
                assert!(weights.iter().all(|w| *w == 1.0));
                assert!(values.iter().all(|v| v.fract() == 0.0));
            }
            other => panic!("expected empirical, got {other:?}"),
        }
        assert_eq!(fit_counts(&[]), None);
    }

    #[test]
    fn renders_a_scenario_that_validates() {
        let mut lines = String::new();
        for i in 0..40 {
            let out = 40 + i;
            let status = if i % 10 == 0 { 429 } else { 200 };
            lines.push_str(&format!(
                "{{\"model\":\"gpt-4o-mini\",\"step\":\"draft\",\"task\":{},\"status\":{status},\"usage\":{{\"prompt_tokens\":{},\"completion_tokens\":{out},\"prompt_tokens_details\":{{\"cached_tokens\":1024}}}}}}\n",
                i / 2,
                1500 + i
            ));
        }
        let obs = parse_log(&lines).unwrap();
        let cal = calibrate(&obs, &Catalog::builtin()).unwrap();
        let s = &cal.steps[0];
        assert_eq!(s.failures.rate_limit, 4);
        assert_eq!(s.clean_calls, 36);
        assert_eq!(s.prefix, Some(Fit::Constant(1024.0)));
        let toml = cal.to_scenario_toml("fitted").unwrap();
        assert!(toml.contains("rate_limit = 0.1"), "{toml}");
        assert!(
            toml.contains("# input and output: 36 clean calls"),
            "{toml}"
        );
        let bad = parse_log(r#"{"model":"gpt-9","usage":{"prompt_tokens":1}}"#).unwrap();
        assert!(matches!(
            calibrate(&bad, &Catalog::builtin()),
            Err(CalibrateError::UnknownModel { .. })
        ));
    }
}
