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
use crate::fitstats::{self, ArrivalFit, GROWTH_T, Gof, KS_REJECT_P, LatencyFit};
use crate::model::Scenario;
use crate::traces::{Call, Calls, Ingest, IngestOptions};
use crate::usage_log::{CalibrateError, Observation};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

/// Below this many observations a distribution is reported as empirical, not lognormal.
pub const MIN_LOGNORMAL_OBSERVATIONS: usize = 20;
/// Most distinct values an empirical distribution keeps (more are reduced to quantiles).
const MAX_EMPIRICAL_VALUES: usize = 64;
/// Most step/model groups.
const MAX_GROUPS: usize = 1_000;

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
    /// Failed attempts by the error type the log names (`error.type`, LiteLLM's error class).
    pub by_type: BTreeMap<String, u64>,
    /// Attempts that retried a failed one.
    pub retries: u64,
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
    /// Share of clean calls that read the cache.
    pub cache_hit_rate: Option<f64>,
    /// Fresh input: total input minus the call's cached prefix (or the mean prefix on a miss).
    pub input: Fit,
    pub input_gof: Option<Gof>,
    /// Visible output (reasoning excluded on reasoning models, whose reasoning is fitted apart).
    pub output: Fit,
    pub output_gof: Option<Gof>,
    pub reasoning: Option<Fit>,
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
    /// Arrivals from task start times, when the log has times.
    pub arrivals: Option<ArrivalFit>,
    /// Latency per model, when the log has durations.
    pub latency: Vec<LatencyFit>,
    /// Tasks in which one step name ran on two or more models (escalations), of tasks seen.
    pub escalated_tasks: usize,
    /// Step names with their models' shares of clean calls, for steps on several models.
    pub model_mix: Vec<(String, Vec<(String, f64)>)>,
}

/// Fits every step/model group of the observations. Models must be catalog names.
pub fn calibrate(obs: &[Observation], catalog: &Catalog) -> Result<Calibration, CalibrateError> {
    let mut ingest = Ingest::new(IngestOptions::default());
    for o in obs {
        ingest.observation(0, o)?;
    }
    calibrate_calls(&ingest.finish(), catalog)
}

/// The catalog entry a logged model name means: itself, without a `provider/` prefix, or
/// without a dated snapshot suffix (`gpt-4o-mini-2024-07-18`, `claude-sonnet-4-5-20250929`).
fn resolve_model<'c>(catalog: &'c Catalog, name: &str) -> Option<&'c crate::ModelSpec> {
    let bare = name.rsplit_once('/').map_or(name, |(_, m)| m);
    catalog.get(name).or_else(|| catalog.get(bare)).or_else(|| {
        let b = bare.as_bytes();
        let strip = |k: usize| bare.get(..bare.len().checked_sub(k)?);
        // -YYYY-MM-DD or -YYYYMMDD.
        let dated10 = b.len() > 11
            && b[b.len() - 11] == b'-'
            && bare[bare.len() - 10..]
                .bytes()
                .filter(u8::is_ascii_digit)
                .count()
                == 8;
        let dated8 = b.len() > 9
            && b[b.len() - 9] == b'-'
            && bare[bare.len() - 8..].bytes().all(|c| c.is_ascii_digit());
        let base = if dated10 {
            strip(11)
        } else if dated8 {
            strip(9)
        } else {
            None
        };
        base.and_then(|m| catalog.get(m))
    })
}

/// One held-out day: what the traces' own tokens cost, priced with the catalog, against the
/// fitted scenario's simulated band for that day.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutDay {
    /// Microseconds since the epoch of the day's midnight (UTC).
    pub day_start_us: i64,
    pub calls: usize,
    pub actual_usd: f64,
    pub p05_usd: f64,
    pub mean_usd: f64,
    pub p95_usd: f64,
}

impl HoldoutDay {
    /// The day as `YYYY-MM-DD` (UTC).
    pub fn date(&self) -> String {
        crate::usage_log::civil_date(self.day_start_us.div_euclid(86_400_000_000))
    }

    /// Whether the real cost lies in the simulated p05-p95 band.
    pub fn inside(&self) -> bool {
        (self.p05_usd..=self.p95_usd).contains(&self.actual_usd)
    }
}

/// Each day's cost of `calls` from `first_day_us` for `days` days, every call priced at its
/// model's standard rates and default cache TTL (a call's day is its start's).
pub fn daily_cost_usd(
    calls: &Calls,
    catalog: &Catalog,
    first_day_us: i64,
    days: u32,
) -> Result<Vec<(usize, f64)>, CalibrateError> {
    let mut out = vec![(0usize, 0u128); days as usize];
    for c in &calls.calls {
        let Some(start) = c.start_us else { continue };
        let day = (start - first_day_us).div_euclid(86_400_000_000);
        let Some(slot) = usize::try_from(day).ok().and_then(|d| out.get_mut(d)) else {
            continue;
        };
        let name = c.model.map_or("", |m| calls.name(m));
        let spec = resolve_model(catalog, name).ok_or_else(|| unknown_model(calls, c, name))?;
        slot.0 += 1;
        slot.1 += u128::from(spec.cost_pusd(&c.tokens, spec.default_ttl(), false).total());
    }
    Ok(out
        .into_iter()
        .map(|(n, p)| (n, p as f64 / crate::PUSD_PER_USD as f64))
        .collect())
}

fn unknown_model(calls: &Calls, c: &Call, model: &str) -> CalibrateError {
    CalibrateError::UnknownModel {
        model: model.to_string(),
        line: c.line as usize,
        file: calls
            .report
            .sources
            .get(c.source as usize)
            .cloned()
            .unwrap_or_default(),
    }
}

fn failure_counts(calls: &Calls, group: &[&Call]) -> FailureFit {
    let mut f = FailureFit::default();
    for c in group {
        f.attempts += 1;
        f.retries += u64::from(c.retry == Some(true));
        let error = c.error.map(|e| calls.name(e));
        match (c.status, error) {
            (429, _) => f.rate_limit += 1,
            (504 | 408, _) | (_, Some("timeout")) => f.timeout += 1,
            (500 | 502 | 503 | 529, _) => f.server_error += 1,
            (200..=299, Some(_)) => f.malformed += 1,
            (200..=299, None) => {}
            _ => f.other += 1,
        }
        if !c.is_success() {
            let kind = error.map_or_else(|| c.status.to_string(), str::to_string);
            *f.by_type.entry(kind).or_default() += 1;
        }
    }
    f
}

/// Fits distributions with a goodness of fit: lognormal unless KS rejects it (p below
/// [`KS_REJECT_P`]), then empirical.
fn fit_checked(values: &[f64]) -> (Fit, Option<Gof>) {
    let Some(f) = fit(values) else {
        return (Fit::Constant(0.0), None);
    };
    let Fit::LogNormal { mean, cv } = f else {
        return (f, None);
    };
    let sigma2 = (1.0 + cv * cv).ln();
    let (mu, sigma) = (mean.ln() - sigma2 / 2.0, sigma2.sqrt());
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let g = fitstats::ks(&sorted, |x| fitstats::lognormal_cdf(x, mu, sigma));
    if g.p_value < KS_REJECT_P {
        (empirical_quantiles(values), Some(g))
    } else {
        (f, Some(g))
    }
}

fn fit_group(
    calls: &Calls,
    key: &(String, String),
    group: &[&Call],
    reasoning_model: bool,
) -> StepFit {
    let failures = failure_counts(calls, group);
    let clean: Vec<&&Call> = group
        .iter()
        .filter(|c| c.is_success() && c.retry != Some(true))
        .collect();
    let cached: Vec<f64> = clean
        .iter()
        .map(|c| (c.tokens.cache_read + c.tokens.cache_write) as f64)
        .filter(|c| *c > 0.0)
        .collect();
    let hits = clean.iter().filter(|c| c.tokens.cache_read > 0).count();
    let mean_prefix = if cached.is_empty() {
        0.0
    } else {
        cached.iter().sum::<f64>() / cached.len() as f64
    };
    let input: Vec<f64> = clean
        .iter()
        .map(|c| {
            let cache = (c.tokens.cache_read + c.tokens.cache_write) as f64;
            let prefix = if cache > 0.0 {
                cache
            } else {
                mean_prefix.round()
            };
            (c.tokens.total_input() as f64 - prefix).max(0.0)
        })
        .collect();
    let split = reasoning_model && clean.iter().any(|c| c.reasoning > 0);
    let output: Vec<f64> = clean
        .iter()
        .map(|c| (c.tokens.output - if split { c.reasoning } else { 0 }) as f64)
        .collect();
    let reasoning: Vec<f64> = clean.iter().map(|c| c.reasoning as f64).collect();
    // Calls per task: first attempts of this step per tagged task (tasks that never reached
    // the step are not visible in a log, so this is calls per task that made the step).
    let mut per_task: BTreeMap<u32, u64> = BTreeMap::new();
    for c in group.iter().filter(|c| c.retry != Some(true)) {
        if let Some(t) = c.task {
            *per_task.entry(t).or_default() += 1;
        }
    }
    let repeat_values: Vec<f64> = per_task.values().map(|c| *c as f64).collect();
    let (input, input_gof) = fit_checked(&input);
    let (output, output_gof) = fit_checked(&output);
    StepFit {
        step: key.0.clone(),
        model: key.1.clone(),
        clean_calls: clean.len(),
        prefix: fit(&cached),
        prefix_observations: cached.len(),
        cache_hit_rate: (!cached.is_empty()).then(|| round_to(hits as f64 / clean.len() as f64, 4)),
        input,
        input_gof,
        output,
        output_gof,
        reasoning: if split {
            fit_checked(&reasoning).0.into()
        } else {
            None
        },
        repeat: fit_counts(&repeat_values),
        tasks: per_task.len(),
        failures,
    }
}

/// Fits every step/model group of ingested calls. Models must be catalog names.
pub fn calibrate_calls(calls: &Calls, catalog: &Catalog) -> Result<Calibration, CalibrateError> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: HashMap<(String, String), Vec<&Call>> = HashMap::new();
    let mut reasoning_models: BTreeSet<String> = BTreeSet::new();
    for c in &calls.calls {
        let Some(model) = c.model.map(|m| calls.name(m)) else {
            return Err(CalibrateError::At {
                at: calls.at(c),
                message: "no `model`: prices need one".to_string(),
            });
        };
        let spec = resolve_model(catalog, model).ok_or_else(|| unknown_model(calls, c, model))?;
        if spec.reasoning {
            reasoning_models.insert(spec.id.clone());
        }
        let step = c.step.map_or("call", |s| calls.name(s)).to_string();
        let key = (step, spec.id.clone());
        if !groups.contains_key(&key) {
            if groups.len() >= MAX_GROUPS {
                return Err(CalibrateError::At {
                    at: calls.at(c),
                    message: format!("more than {MAX_GROUPS} step/model groups"),
                });
            }
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(c);
    }
    if calls.calls.is_empty() {
        return Err(CalibrateError::Empty);
    }
    let steps: Vec<StepFit> = order
        .iter()
        .map(|key| fit_group(calls, key, &groups[key], reasoning_models.contains(&key.1)))
        .collect();
    let caching_seen = steps.iter().any(|s| s.prefix.is_some());
    let (model_mix, escalated_tasks) = mix_and_escalation(&order, &groups);
    Ok(Calibration {
        lines: calls.calls.len(),
        tasks: calls.task_count(),
        caching_seen,
        arrivals: arrivals(calls),
        latency: latency(&order, &groups),
        escalated_tasks,
        model_mix,
        steps,
    })
}

fn arrivals(calls: &Calls) -> Option<ArrivalFit> {
    let mut first: HashMap<u32, i64> = HashMap::new();
    for c in &calls.calls {
        if let (Some(t), Some(s)) = (c.task, c.start_us) {
            first.entry(t).and_modify(|v| *v = (*v).min(s)).or_insert(s);
        }
    }
    let starts: Vec<i64> = first.into_values().collect();
    fitstats::fit_arrivals(&starts)
}

fn latency(
    order: &[(String, String)],
    groups: &HashMap<(String, String), Vec<&Call>>,
) -> Vec<LatencyFit> {
    let mut by_model: BTreeMap<&str, Vec<fitstats::LatencyObs>> = BTreeMap::new();
    for key in order {
        for c in &groups[key] {
            if let (true, Some(d)) = (c.is_success(), c.duration_us) {
                by_model.entry(&key.1).or_default().push((
                    d as f64 / 1e6,
                    c.tokens.output as f64,
                    c.ttft_us.map(|t| t as f64 / 1e6),
                ));
            }
        }
    }
    by_model
        .iter()
        .filter_map(|(m, obs)| fitstats::fit_latency(m, obs))
        .collect()
}

type Mix = Vec<(String, Vec<(String, f64)>)>;

fn mix_and_escalation(
    order: &[(String, String)],
    groups: &HashMap<(String, String), Vec<&Call>>,
) -> (Mix, usize) {
    let mut by_step: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
    let mut models_per_task_step: HashMap<(u32, &str), BTreeSet<&str>> = HashMap::new();
    for key in order {
        let g = &groups[key];
        by_step.entry(&key.0).or_default().push((&key.1, g.len()));
        for c in g {
            if let Some(t) = c.task {
                models_per_task_step
                    .entry((t, &key.0))
                    .or_default()
                    .insert(&key.1);
            }
        }
    }
    let mix = by_step
        .into_iter()
        .filter(|(_, ms)| ms.len() > 1)
        .map(|(s, ms)| {
            let total: usize = ms.iter().map(|m| m.1).sum();
            let shares = ms
                .iter()
                .map(|(m, n)| (m.to_string(), round_to(*n as f64 / total as f64, 4)))
                .collect();
            (s.to_string(), shares)
        })
        .collect();
    let escalated: BTreeSet<u32> = models_per_task_step
        .iter()
        .filter(|(_, ms)| ms.len() > 1)
        .map(|((t, _), _)| *t)
        .collect();
    (mix, escalated.len())
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn list(xs: &[f64]) -> String {
    xs.iter()
        .map(|x| fmt_num(*x))
        .collect::<Vec<_>>()
        .join(", ")
}

fn gof_note(g: &Option<Gof>) -> String {
    match g {
        Some(g) => format!(
            "; lognormal KS D = {:.4}, p = {:.3}{}",
            g.ks_d,
            g.p_value,
            if g.p_value < KS_REJECT_P {
                " (rejected: empirical quantiles used)"
            } else {
                ""
            }
        ),
        None => String::new(),
    }
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl Calibration {
    fn write_traffic(&self, w: &mut String) {
        let _ = writeln!(w, "[traffic]");
        let Some(a) = &self.arrivals else {
            let _ = writeln!(w, "# Not in a usage log: set your expected traffic.");
            let _ = writeln!(w, "tasks_per_day = 100");
            return;
        };
        let _ = writeln!(
            w,
            "# {} tasks started over {} UTC day(s) ({:.2} days of window): tasks a day = tasks / days.",
            a.tasks, a.whole_days, a.days
        );
        let _ = writeln!(
            w,
            "# Trend: {:+.3} tasks/day per day (t = {:.2}; growth is fitted when |t| >= {GROWTH_T} over 7+ days).",
            a.slope_per_day, a.slope_t
        );
        match a.growth_end_tasks_per_day {
            // Start where the traces end, and keep the observed slope for the horizon.
            Some(end) => {
                let _ = writeln!(w, "tasks_per_day = {}", fmt_num(end));
                let to = (end + a.slope_per_day * 30.0).max(0.0);
                let _ = writeln!(
                    w,
                    "growth = {{ to_tasks_per_day = {}, shape = \"linear\", over_days = 30 }}",
                    fmt_num(round_to(to, 3))
                );
            }
            None => {
                let _ = writeln!(w, "tasks_per_day = {}", fmt_num(a.tasks_per_day));
            }
        }
        if let Some(p) = &a.daily_profile {
            let _ = writeln!(w, "# Share of task starts by UTC hour (mean 1).");
            let _ = writeln!(w, "daily_profile = [{}]", list(p));
        }
        if let Some(p) = &a.weekly_profile {
            let _ = writeln!(
                w,
                "# By day from the traces' first day, a {} (simulated day 0 is that weekday).",
                WEEKDAYS[a.first_weekday as usize % 7]
            );
            let _ = writeln!(w, "weekly_profile = [{}]", list(p));
        }
    }

    fn write_models(&self, w: &mut String) {
        for l in &self.latency {
            let _ = writeln!(w, "[models.{}]", toml_str(&l.model));
            let _ = writeln!(
                w,
                "# latency: {} successful calls with durations, {} with time to first token",
                l.calls, l.ttft_observations
            );
            let _ = writeln!(
                w,
                "time_to_first_token_s = {}",
                fmt_num(l.time_to_first_token_s)
            );
            if let Some(tps) = l.output_tokens_per_s {
                let _ = writeln!(w, "output_tokens_per_s = {}", fmt_num(tps));
            }
            let _ = writeln!(w, "latency_cv = {}", fmt_num(l.cv));
            let _ = writeln!(w);
        }
    }

    fn write_step(&self, w: &mut String, s: &StepFit, step_name: &str) {
        let _ = writeln!(w, "[[steps]]");
        let _ = writeln!(w, "name = {}", toml_str(step_name));
        let _ = writeln!(w, "model = {}", toml_str(&s.model));
        if let Some(p) = &s.prefix {
            let _ = writeln!(
                w,
                "# cached prefix: {} calls that read or wrote the cache{}",
                s.prefix_observations,
                s.cache_hit_rate.map_or(String::new(), |h| format!(
                    "; hit rate {} of clean calls",
                    fmt_num(h)
                ))
            );
            let _ = writeln!(w, "prefix_tokens = {}", p.toml());
        } else if self.caching_seen {
            let _ = writeln!(w, "cache = false");
        }
        let _ = writeln!(w, "# input and output: {} clean calls", s.clean_calls);
        for (what, g) in [("input", &s.input_gof), ("output", &s.output_gof)] {
            if g.is_some() {
                let _ = writeln!(w, "# {what}{}", gof_note(g));
            }
        }
        let _ = writeln!(w, "input_tokens = {}", s.input.toml());
        let _ = writeln!(w, "output_tokens = {}", s.output.toml());
        if let Some(r) = &s.reasoning {
            let _ = writeln!(w, "reasoning_tokens = {}", r.toml());
        }
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
        if !f.by_type.is_empty() {
            let kinds: Vec<String> = f.by_type.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(
                w,
                "# by error type: {}; {} retries",
                kinds.join(", "),
                f.retries
            );
        }
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
            "# {MIN_LOGNORMAL_OBSERVATIONS} observations, or zeros, give an empirical distribution instead,"
        );
        let _ = writeln!(
            w,
            "# and so does a Kolmogorov-Smirnov p-value below {KS_REJECT_P}."
        );
        if self.escalated_tasks > 0 || !self.model_mix.is_empty() {
            let _ = writeln!(
                w,
                "# {} tasks ran one step on two or more models (escalation).",
                self.escalated_tasks
            );
            for (step, shares) in &self.model_mix {
                let s: Vec<String> = shares
                    .iter()
                    .map(|(m, x)| format!("{m} {}", fmt_num(*x)))
                    .collect();
                let _ = writeln!(w, "# step {step}: {} of its calls", s.join(", "));
            }
        }
        let _ = writeln!(w, "name = {}", toml_str(name));
        let _ = writeln!(w);
        self.write_traffic(w);
        let _ = writeln!(w);
        if self.caching_seen {
            let _ = writeln!(w, "# Cached tokens appear in the log, so caching is on.");
            let _ = writeln!(w, "[caching]");
            let _ = writeln!(w, "enabled = true");
            let _ = writeln!(w);
        }
        self.write_models(w);
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
            self.write_step(w, s, &step_name);
        }
        Scenario::from_toml(&format!("{name}.toml"), &t)
            .map_err(|e| CalibrateError::Invalid(e.to_string()))?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage_log::{parse_line, parse_log};
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
