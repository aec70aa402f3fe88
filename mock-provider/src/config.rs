//! Configuration: TOML (or JSON, for `PUT /_mock/config`) parsed into plain serde structs
//! ([`RawConfig`]) and then validated into domain types ([`MockConfig`]). Every validation
//! error names the offending field.

use crate::dist::{MockDist, RawDist};
use crate::window::{Window, window};
use burnrate_sim::{Catalog, ModelSpec, Provider};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A configuration error, naming the field it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("config is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl RawConfig {
    /// Adds the `[models."id"]` tables of a `burnrate catalog --format toml` file (LiteLLM's
    /// map imported, generic-rule vendors included) as `[prices]` entries, so the mock serves
    /// them; entries the config already prices are kept. Returns how many were added.
    pub fn add_catalog_toml(&mut self, text: &str) -> Result<usize, ConfigError> {
        let doc: toml::Table = toml::from_str(text)?;
        let Some(models) = doc.get("models").and_then(toml::Value::as_table) else {
            return Err(invalid(
                "models",
                "no [models.\"id\"] tables (write them with `burnrate catalog --format toml`)",
            ));
        };
        let mut added = 0;
        for (id, table) in models {
            if !self.prices.contains_key(id) {
                self.prices.insert(id.clone(), serde_json::to_value(table)?);
                added += 1;
            }
        }
        Ok(added)
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// How reply text is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ContentMode {
    /// Deterministic lorem-style words chosen by the seed and the request.
    #[default]
    Lorem,
    /// The last user message, repeated back (truncated at the output length).
    Echo,
    /// `[[fixtures]]` matched on the last user message; lorem when none matches.
    Fixtures,
}

/// The file format: every field optional, defaults documented on [`MockConfig`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub seed: Option<u64>,
    pub time_scale: Option<f64>,
    /// How many times faster than the wall clock the rate limits' clock runs (default 1):
    /// `burnrate drive --speedup S` against a mock with `limit_clock_speedup = S` meets the
    /// limits per scenario minute, as the engine does.
    pub limit_clock_speedup: Option<f64>,
    pub accept_unknown_models: Option<bool>,
    pub api_keys: Option<Vec<String>>,
    pub body_limit_bytes: Option<u64>,
    pub spend_cap_usd: Option<f64>,
    /// A provider usage tier (Anthropic `start`/`build`/`scale`, OpenAI `tier-1` ...
    /// `tier-5`): every model whose provider publishes it
    /// for the model's class takes its limits, and its monthly spend cap is the spend cap
    /// unless `spend_cap_usd` says otherwise.
    pub usage_tier: Option<String>,
    pub request_log: Option<PathBuf>,
    pub batch_completion_s: Option<f64>,
    pub openai_cache_ttl_s: Option<f64>,
    pub content: Option<ContentMode>,
    #[serde(default)]
    pub fixtures: Vec<RawFixture>,
    #[serde(default)]
    pub defaults: RawBehavior,
    #[serde(default)]
    pub models: BTreeMap<String, RawBehavior>,
    /// Models added to (or repriced in) the catalog: the fields of a scenario's
    /// `[models.NAME]` (`provider`, `input_usd_per_mtok`, ..., or `based_on`).
    #[serde(default)]
    pub prices: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub keys: BTreeMap<String, RawLimits>,
    /// Accepted on `/_mock/*` when `api_keys` is set (default: any of `api_keys`).
    pub admin_key: Option<String>,
    /// The server's own limits against hostile or broken clients. (`[limits]` in a scenario
    /// means budgets and retries, so the mock's table has its own name.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_limits: Option<RawResourceLimits>,
    /// Deprecated: the first name of `[server_limits]`, still read with a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<RawResourceLimits>,
}

/// Resource limits against hostile or broken clients (`[server_limits]`); defaults on
/// [`ResourceLimits`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResourceLimits {
    pub header_read_timeout_s: Option<f64>,
    pub idle_timeout_s: Option<f64>,
    pub max_connections: Option<usize>,
    pub max_model_name_bytes: Option<usize>,
    pub max_api_key_bytes: Option<usize>,
    pub max_stored_file_bytes: Option<u64>,
    pub tool_schema_max_depth: Option<usize>,
    pub tokenize_timeout_s: Option<f64>,
}

/// Validated resource limits. The server-level ones (timeouts, connections) are fixed when
/// the server starts, like the body limit; the others follow `PUT /_mock/config`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResourceLimits {
    /// A client must send a request's whole header within this (default 10 s).
    pub header_read_timeout: Duration,
    /// A kept-alive connection with no request for this long is closed (default 60 s).
    pub idle_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog (default 10,000,
    /// lowered to the open-file limit minus 64).
    pub max_connections: usize,
    /// Longer model names get a 400 (default 256).
    pub max_model_name_bytes: usize,
    /// Longer API keys get a 401 without being stored anywhere (default 256).
    pub max_api_key_bytes: usize,
    /// Bytes of uploaded and batch-output files kept in memory in all (default 256 MiB).
    pub max_stored_file_bytes: u64,
    /// Nesting depth of generated tool arguments and structured outputs (default 8).
    pub tool_schema_max_depth: usize,
    /// Tokenizing one request's prompt may take this long before a 400 (default 10 s).
    pub tokenize_timeout: Duration,
}

impl ResourceLimits {
    /// `table`: the name the file gave the table (`server_limits`, or the old `limits`).
    fn from_raw(r: &RawResourceLimits, table: &str) -> Result<ResourceLimits, ConfigError> {
        let positive = |field: &str, v: Option<f64>, default: f64| {
            let v = v.unwrap_or(default);
            if !v.is_finite() || !(0.001..=86_400.0).contains(&v) {
                return Err(invalid(
                    format!("{table}.{field}"),
                    format!("must be seconds in [0.001, 86400], got {v}"),
                ));
            }
            Ok(Duration::from_secs_f64(v))
        };
        let count = |field: &str, v: Option<usize>, default: usize, max: usize| {
            let v = v.unwrap_or(default);
            if !(1..=max).contains(&v) {
                return Err(invalid(
                    format!("{table}.{field}"),
                    format!("must be in [1, {max}], got {v}"),
                ));
            }
            Ok(v)
        };
        let files = r.max_stored_file_bytes.unwrap_or(256 << 20);
        if files > 1 << 40 {
            return Err(invalid(
                format!("{table}.max_stored_file_bytes"),
                format!("must be at most 2^40, got {files}"),
            ));
        }
        Ok(ResourceLimits {
            header_read_timeout: positive("header_read_timeout_s", r.header_read_timeout_s, 10.0)?,
            idle_timeout: positive("idle_timeout_s", r.idle_timeout_s, 60.0)?,
            max_connections: count("max_connections", r.max_connections, 10_000, 1 << 20)?,
            max_model_name_bytes: count(
                "max_model_name_bytes",
                r.max_model_name_bytes,
                256,
                1 << 16,
            )?,
            max_api_key_bytes: count("max_api_key_bytes", r.max_api_key_bytes, 256, 1 << 16)?,
            max_stored_file_bytes: files,
            tool_schema_max_depth: count("tool_schema_max_depth", r.tool_schema_max_depth, 8, 64)?,
            tokenize_timeout: positive("tokenize_timeout_s", r.tokenize_timeout_s, 10.0)?,
        })
    }
}

/// A canned reply, chosen when `match` is a substring of the last user message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFixture {
    #[serde(rename = "match")]
    pub matches: String,
    pub text: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<RawToolCall>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToolCall {
    pub name: String,
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// Rate limits; `None` keeps the catalog's (or the defaults') value, `0` means unlimited.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub input_tpm: Option<u64>,
    pub output_tpm: Option<u64>,
}

/// Per-model behaviour (`[defaults]` and `[models."id"]`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBehavior {
    /// Time to first token in seconds (before the time scale).
    pub ttft: Option<RawDist>,
    /// Time between output tokens in seconds (before the time scale).
    pub inter_token: Option<RawDist>,
    /// Output length in tokens when the request does not force one.
    pub output_tokens: Option<RawDist>,
    /// Reasoning tokens of a reasoning model (catalog `reasoning`) at the default effort
    /// (OpenAI `medium`; scaled x0.125 minimal .. x8 max), and the thinking of an Anthropic
    /// request with extended thinking (capped at its `budget_tokens`). Default: lognormal,
    /// mean 400, cv 0.8.
    pub reasoning_tokens: Option<RawDist>,
    /// Latency multiplier grows by this much per request in flight: `1 + k * in_flight`.
    pub slowdown_per_inflight: Option<f64>,
    /// Tool rounds a turn takes under `tool_choice: auto` before the reply is text
    /// (0..=100, default 1; the `x-mock-tool-rounds` header overrides it per request).
    pub tool_rounds: Option<u64>,
    /// Requests per minute (0 = unlimited); default: the catalog's.
    pub rpm: Option<u64>,
    /// Input+output tokens per minute (OpenAI style).
    pub tpm: Option<u64>,
    /// Input tokens per minute (Anthropic style).
    pub input_tpm: Option<u64>,
    /// Output tokens per minute (Anthropic style).
    pub output_tpm: Option<u64>,
    /// This model's usage tier (`[models."id"]` only): its class's published limits, which
    /// `rpm`/`tpm`/`input_tpm`/`output_tpm` still override.
    pub usage_tier: Option<String>,
    /// Models naming the same pool draw from one set of buckets (`[models."id"]` only;
    /// Anthropic's Opus 4.x and Sonnet 4.x models share `claude-opus-4.x` and
    /// `claude-sonnet-4.x` without saying so).
    pub rate_limit_pool: Option<String>,
    pub faults: Option<RawFaults>,
    /// Scripted outcomes of the first calls to the model: "429", "500", "529", "timeout", ...,
    /// or "ok". Afterwards the probabilities apply.
    pub script: Option<Vec<String>>,
}

/// Fault probabilities per request (their sum must be at most 1).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFaults {
    pub rate_limit: Option<f64>,
    pub server_error: Option<f64>,
    pub bad_gateway: Option<f64>,
    pub unavailable: Option<f64>,
    pub overloaded: Option<f64>,
    pub timeout: Option<f64>,
    pub malformed: Option<f64>,
    pub stream_cut: Option<f64>,
    pub stream_error: Option<f64>,
    /// `retry-after-ms` sent with an injected 429/529/503 (`retry-after` is its ceiling in s).
    pub retry_after_ms: Option<u64>,
    /// How long a `timeout` fault hangs before answering 504, in seconds at `time_scale = 1`
    /// (scaled by `time_scale`; no hang when it is 0).
    pub timeout_s: Option<f64>,
}

/// A fault the mock can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    RateLimit,
    ServerError,
    BadGateway,
    Unavailable,
    Overloaded,
    Timeout,
    Malformed,
    StreamCut,
    StreamError,
    /// Spend-cap style quota exhaustion (only forced via header or script).
    Quota,
}

impl FaultKind {
    pub const RANDOM: [FaultKind; 9] = [
        FaultKind::RateLimit,
        FaultKind::ServerError,
        FaultKind::BadGateway,
        FaultKind::Unavailable,
        FaultKind::Overloaded,
        FaultKind::Timeout,
        FaultKind::Malformed,
        FaultKind::StreamCut,
        FaultKind::StreamError,
    ];

    /// Parses a status code or a kind name (as in `x-mock-fault` and scripts).
    pub fn parse(s: &str) -> Option<FaultKind> {
        Some(match s.trim() {
            "429" | "rate_limit" => FaultKind::RateLimit,
            "500" | "server_error" => FaultKind::ServerError,
            "502" | "bad_gateway" => FaultKind::BadGateway,
            "503" | "unavailable" => FaultKind::Unavailable,
            "529" | "overloaded" => FaultKind::Overloaded,
            "timeout" | "504" => FaultKind::Timeout,
            "malformed" => FaultKind::Malformed,
            "stream_cut" | "cut" => FaultKind::StreamCut,
            "stream_error" => FaultKind::StreamError,
            "quota" | "insufficient_quota" => FaultKind::Quota,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::RateLimit => "rate_limit",
            FaultKind::ServerError => "server_error",
            FaultKind::BadGateway => "bad_gateway",
            FaultKind::Unavailable => "unavailable",
            FaultKind::Overloaded => "overloaded",
            FaultKind::Timeout => "timeout",
            FaultKind::Malformed => "malformed",
            FaultKind::StreamCut => "stream_cut",
            FaultKind::StreamError => "stream_error",
            FaultKind::Quota => "quota",
        }
    }
}

/// One step of a scripted sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptStep {
    Ok,
    Fault(FaultKind),
}

/// Validated fault settings of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// `(kind, probability)` for the random faults, in [`FaultKind::RANDOM`] order.
    pub probabilities: Vec<(FaultKind, f64)>,
    pub retry_after: Duration,
    pub timeout: Duration,
}

impl Faults {
    pub fn total_probability(&self) -> f64 {
        self.probabilities.iter().map(|(_, p)| p).sum()
    }
}

/// Validated rate limits (None = unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub input_tpm: Option<u64>,
    pub output_tpm: Option<u64>,
}

/// A model as the mock serves it: catalog prices plus validated behaviour.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    pub spec: ModelSpec,
    /// Context window and output limit.
    pub window: Window,
    pub ttft: MockDist,
    pub inter_token: MockDist,
    pub output_tokens: MockDist,
    pub reasoning_tokens: MockDist,
    pub slowdown_per_inflight: f64,
    /// Tool rounds per turn under `tool_choice: auto` (see `plan::pick_tool`).
    pub tool_rounds: u64,
    pub limits: Limits,
    /// The rate-limit pool the model's buckets belong to, when the config names one.
    pub rate_limit_pool: Option<String>,
    pub faults: Faults,
    pub script: Vec<ScriptStep>,
}

/// A validated fixture.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub matches: String,
    pub text: Option<String>,
    pub tool_calls: Vec<(String, serde_json::Value)>,
}

/// The validated configuration.
///
/// Defaults: `seed` 0, `time_scale` 1.0 (0 = instant), `limit_clock_speedup` 1, unknown models rejected, no API-key
/// check, 32 MiB body limit, no spend cap, no request log, batches complete after 1 s,
/// OpenAI prompt cache kept 600 s idle, content `lorem`, the catalog's rate limits and
/// latency, lognormal output length (mean 150, cv 0.6), no faults.
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub seed: u64,
    pub time_scale: f64,
    /// The rate limits' clock runs this many times faster than the wall clock: buckets refill
    /// per scaled minute, and `retry-after` and the reset headers are in scaled seconds.
    pub limit_clock_speedup: f64,
    pub accept_unknown_models: bool,
    pub api_keys: Vec<String>,
    pub body_limit_bytes: usize,
    pub spend_cap_pusd: Option<u64>,
    pub request_log: Option<PathBuf>,
    pub batch_completion: Duration,
    pub openai_cache_ttl: Duration,
    pub content: ContentMode,
    pub fixtures: Vec<Fixture>,
    /// Every catalog model by id and alias.
    pub models: Arc<BTreeMap<String, Arc<ModelEntry>>>,
    /// Per-key limit overrides (apply to each model's bucket for that key).
    pub keys: BTreeMap<String, RawLimits>,
    /// Defaults applied to models not in the catalog when `accept_unknown_models`.
    pub defaults: RawBehavior,
    pub admin_key: Option<String>,
    pub limits: ResourceLimits,
    /// The directory `PUT /_mock/config` may name a request log in (set by the operator with
    /// `burnrate mock --log-dir`, never by the config itself). None: the request log cannot
    /// be changed at run time.
    pub log_dir: Option<PathBuf>,
    /// What was parsed, for `GET /_mock/config`.
    pub raw: RawConfig,
    /// Deprecated spellings found, each naming its field and the new form (`burnrate mock`
    /// prints them on stderr, `PUT /_mock/config` answers them in `x-mock-warning`).
    pub warnings: Vec<String>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig::from_raw(RawConfig::default()).expect("the default config is valid")
    }
}

fn check_prob(field: &str, p: Option<f64>) -> Result<f64, ConfigError> {
    let p = p.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&p) || p.is_nan() {
        return Err(invalid(
            field,
            format!("must be a probability in [0, 1], got {p}"),
        ));
    }
    Ok(p)
}

fn check_secs(field: &str, v: f64) -> Result<Duration, ConfigError> {
    if !v.is_finite() || !(0.0..=86_400.0 * 7.0).contains(&v) {
        return Err(invalid(
            field,
            format!("must be seconds in [0, 604800], got {v}"),
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

fn merge_faults(model: Option<&RawFaults>, defaults: Option<&RawFaults>) -> RawFaults {
    let m = model.cloned().unwrap_or_default();
    let d = defaults.cloned().unwrap_or_default();
    RawFaults {
        rate_limit: m.rate_limit.or(d.rate_limit),
        server_error: m.server_error.or(d.server_error),
        bad_gateway: m.bad_gateway.or(d.bad_gateway),
        unavailable: m.unavailable.or(d.unavailable),
        overloaded: m.overloaded.or(d.overloaded),
        timeout: m.timeout.or(d.timeout),
        malformed: m.malformed.or(d.malformed),
        stream_cut: m.stream_cut.or(d.stream_cut),
        stream_error: m.stream_error.or(d.stream_error),
        retry_after_ms: m.retry_after_ms.or(d.retry_after_ms),
        timeout_s: m.timeout_s.or(d.timeout_s),
    }
}

fn validate_faults(prefix: &str, f: &RawFaults) -> Result<Faults, ConfigError> {
    let field = |name: &str| format!("{prefix}.faults.{name}");
    let probabilities = vec![
        (
            FaultKind::RateLimit,
            check_prob(&field("rate_limit"), f.rate_limit)?,
        ),
        (
            FaultKind::ServerError,
            check_prob(&field("server_error"), f.server_error)?,
        ),
        (
            FaultKind::BadGateway,
            check_prob(&field("bad_gateway"), f.bad_gateway)?,
        ),
        (
            FaultKind::Unavailable,
            check_prob(&field("unavailable"), f.unavailable)?,
        ),
        (
            FaultKind::Overloaded,
            check_prob(&field("overloaded"), f.overloaded)?,
        ),
        (
            FaultKind::Timeout,
            check_prob(&field("timeout"), f.timeout)?,
        ),
        (
            FaultKind::Malformed,
            check_prob(&field("malformed"), f.malformed)?,
        ),
        (
            FaultKind::StreamCut,
            check_prob(&field("stream_cut"), f.stream_cut)?,
        ),
        (
            FaultKind::StreamError,
            check_prob(&field("stream_error"), f.stream_error)?,
        ),
    ];
    let faults = Faults {
        probabilities,
        retry_after: Duration::from_millis(f.retry_after_ms.unwrap_or(1000).min(3_600_000)),
        timeout: check_secs(&field("timeout_s"), f.timeout_s.unwrap_or(30.0))?,
    };
    if faults.total_probability() > 1.0 + 1e-9 {
        return Err(invalid(
            format!("{prefix}.faults"),
            format!("probabilities sum to {} > 1", faults.total_probability()),
        ));
    }
    Ok(faults)
}

fn validate_script(
    prefix: &str,
    script: Option<&Vec<String>>,
) -> Result<Vec<ScriptStep>, ConfigError> {
    let Some(script) = script else {
        return Ok(Vec::new());
    };
    if script.len() > 100_000 {
        return Err(invalid(format!("{prefix}.script"), "at most 100000 steps"));
    }
    script
        .iter()
        .enumerate()
        .map(|(i, s)| match s.trim() {
            "ok" | "200" | "success" => Ok(ScriptStep::Ok),
            other => FaultKind::parse(other).map(ScriptStep::Fault).ok_or_else(|| {
                invalid(
                    format!("{prefix}.script[{i}]"),
                    format!(
                        "unknown step {other:?}; use ok, 429, 500, 502, 503, 529, timeout, malformed, stream_cut, stream_error or quota"
                    ),
                )
            }),
        })
        .collect()
}

/// The built-in catalog plus the config's `[prices."NAME"]` models (errors name the field).
fn catalog_with_prices(raw: &RawConfig) -> Result<Catalog, ConfigError> {
    let mut catalog = Catalog::builtin();
    for (name, table) in &raw.prices {
        let field = format!("prices.{name:?}");
        if name.is_empty() || name.len() > 256 {
            return Err(invalid(field, "a model name must have 1 to 256 bytes"));
        }
        let spec = burnrate_sim::model_from_table(name, table.clone(), &catalog).map_err(|e| {
            let at = if e.field.is_empty() {
                field.clone()
            } else {
                format!("{field}.{}", e.field)
            };
            invalid(at, e.message)
        })?;
        catalog.insert(spec);
    }
    Ok(catalog)
}

/// `[[fixtures]]`: canned replies, each with `text` or `tool_calls`.
fn fixtures(raw: &RawConfig) -> Result<Vec<Fixture>, ConfigError> {
    let mut fixtures = Vec::new();
    for (i, f) in raw.fixtures.iter().enumerate() {
        if f.text.is_none() && f.tool_calls.is_empty() {
            return Err(invalid(
                format!("fixtures[{i}]"),
                "needs `text` or `tool_calls`",
            ));
        }
        for (j, call) in f.tool_calls.iter().enumerate() {
            if !(call.arguments.is_object() || call.arguments.is_null()) {
                return Err(invalid(
                    format!("fixtures[{i}].tool_calls[{j}].arguments"),
                    "must be a table",
                ));
            }
        }
        fixtures.push(Fixture {
            matches: f.matches.clone(),
            text: f.text.clone(),
            tool_calls: f
                .tool_calls
                .iter()
                .map(|c| {
                    let args = if c.arguments.is_null() {
                        serde_json::json!({})
                    } else {
                        c.arguments.clone()
                    };
                    (c.name.clone(), args)
                })
                .collect(),
        });
    }
    Ok(fixtures)
}

/// Every distribution written in the mock's old spelling, as `field: what to write instead`.
fn deprecated_spellings(raw: &RawConfig) -> Vec<String> {
    let renamed = raw.limits.is_some().then(|| {
        "limits: the mock's `[limits]` table is now `[server_limits]` (in a scenario `[limits]` \
         means budgets and retries); the old name is still read"
            .to_string()
    });
    let tables = std::iter::once(("defaults".to_string(), &raw.defaults)).chain(
        raw.models
            .iter()
            .map(|(name, b)| (format!("models.{name:?}"), b)),
    );
    let mut out = Vec::new();
    for (at, b) in tables {
        for (name, d) in [
            ("ttft", &b.ttft),
            ("inter_token", &b.inter_token),
            ("output_tokens", &b.output_tokens),
            ("reasoning_tokens", &b.reasoning_tokens),
        ] {
            if let Some(w) = d.as_ref().and_then(RawDist::deprecation) {
                out.push(format!("{at}.{name}: {w}"));
            }
        }
    }
    out.extend(renamed);
    out
}

fn limit(v: Option<u64>, fallback: Option<u64>) -> Option<u64> {
    match v {
        Some(0) => None,
        Some(n) => Some(n),
        None => fallback,
    }
}

/// Builds a model entry from a catalog spec, the model's own section and the defaults.
pub(crate) fn build_entry(
    spec: &ModelSpec,
    own: Option<&RawBehavior>,
    defaults: &RawBehavior,
    usage_tier: Option<&str>,
    prefix: &str,
) -> Result<ModelEntry, ConfigError> {
    let empty = RawBehavior::default();
    let own = own.unwrap_or(&empty);
    let lat = spec.latency;
    // The model's own setting, else `[defaults]`, else the catalog's; an error names the
    // table the value came from.
    let pick = |name: &str,
                own: &Option<RawDist>,
                default: &Option<RawDist>,
                fallback: MockDist|
     -> Result<MockDist, ConfigError> {
        match (own, default) {
            (Some(d), _) => d
                .to_dist()
                .map_err(|m| invalid(format!("{prefix}.{name}"), m)),
            (None, Some(d)) => d
                .to_dist()
                .map_err(|m| invalid(format!("defaults.{name}"), m)),
            (None, None) => Ok(fallback),
        }
    };
    let ttft = pick(
        "ttft",
        &own.ttft,
        &defaults.ttft,
        MockDist::Lognormal {
            mean: lat.time_to_first_token_s,
            cv: lat.cv,
        },
    )?;
    let inter_token = pick(
        "inter_token",
        &own.inter_token,
        &defaults.inter_token,
        MockDist::Lognormal {
            mean: lat.time_per_output_token_s,
            cv: lat.cv,
        },
    )?;
    let output_tokens = pick(
        "output_tokens",
        &own.output_tokens,
        &defaults.output_tokens,
        MockDist::Lognormal {
            mean: 150.0,
            cv: 0.6,
        },
    )?;
    let reasoning_tokens = pick(
        "reasoning_tokens",
        &own.reasoning_tokens,
        &defaults.reasoning_tokens,
        MockDist::Lognormal {
            mean: 400.0,
            cv: 0.8,
        },
    )?;
    let slowdown = own
        .slowdown_per_inflight
        .or(defaults.slowdown_per_inflight)
        .unwrap_or(0.0);
    if !slowdown.is_finite() || slowdown < 0.0 {
        return Err(invalid(
            format!("{prefix}.slowdown_per_inflight"),
            "must be >= 0",
        ));
    }
    let tool_rounds = own.tool_rounds.or(defaults.tool_rounds).unwrap_or(1);
    if tool_rounds > MAX_TOOL_ROUNDS {
        return Err(invalid(
            format!("{prefix}.tool_rounds"),
            format!("must be an integer in [0, {MAX_TOOL_ROUNDS}]"),
        ));
    }
    let rl = tier_limits(spec, own, usage_tier, prefix)?;
    let d = defaults;
    let o = own;
    let limits = Limits {
        rpm: limit(o.rpm, limit(d.rpm, rl.requests_per_minute)),
        tpm: limit(o.tpm, limit(d.tpm, rl.tokens_per_minute)),
        input_tpm: limit(o.input_tpm, limit(d.input_tpm, rl.input_tokens_per_minute)),
        output_tpm: limit(
            o.output_tpm,
            limit(d.output_tpm, rl.output_tokens_per_minute),
        ),
    };
    let faults = validate_faults(
        prefix,
        &merge_faults(own.faults.as_ref(), defaults.faults.as_ref()),
    )?;
    let script = validate_script(prefix, own.script.as_ref().or(defaults.script.as_ref()))?;
    Ok(ModelEntry {
        spec: spec.clone(),
        window: window(spec),
        ttft,
        inter_token,
        output_tokens,
        reasoning_tokens,
        slowdown_per_inflight: slowdown,
        tool_rounds,
        limits,
        rate_limit_pool: pool(own, prefix)?,
        faults,
        script,
    })
}

/// The limits a model starts from: its own `usage_tier`'s (an error when the tier or the
/// class is unknown), else the config's `usage_tier` where its provider lists the class,
/// else the catalog's.
fn tier_limits(
    spec: &ModelSpec,
    own: &RawBehavior,
    top: Option<&str>,
    prefix: &str,
) -> Result<burnrate_sim::RateLimits, ConfigError> {
    use burnrate_sim::UsageTier;
    if let Some(name) = &own.usage_tier {
        return UsageTier::limits_of(spec.provider, &spec.id, name)
            .map_err(|m| invalid(format!("{prefix}.usage_tier"), m));
    }
    Ok(top
        .and_then(|name| UsageTier::find(spec.provider, name))
        .and_then(|tier| tier.limits_for(&spec.id))
        .map_or(spec.rate_limits, |(_, limits)| limits))
}

/// The monthly spend cap of the config's `usage_tier`, USD.
fn tier_spend_cap_usd(usage_tier: Option<&str>) -> Result<Option<u64>, ConfigError> {
    let Some(name) = usage_tier else {
        return Ok(None);
    };
    match burnrate_sim::UsageTier::find_any(name) {
        Some(tier) => Ok(Some(tier.monthly_spend_cap_usd)),
        None => Err(invalid(
            "usage_tier",
            format!(
                "unknown usage tier `{name}`; use one of: {}",
                burnrate_sim::UsageTier::allowed()
            ),
        )),
    }
}

/// `usage_tier` and `rate_limit_pool` say something of one model (or, for the tier, of the
/// whole file), not of `[defaults]`.
fn per_model_only(defaults: &RawBehavior) -> Result<(), ConfigError> {
    if defaults.usage_tier.is_some() {
        return Err(invalid(
            "defaults.usage_tier",
            "write usage_tier at the top of the file (every model whose provider has the tier) or under [models.\"id\"]",
        ));
    }
    if defaults.rate_limit_pool.is_some() {
        return Err(invalid(
            "defaults.rate_limit_pool",
            "name a pool under [models.\"id\"]: models naming the same pool share its buckets",
        ));
    }
    Ok(())
}

/// Models naming one pool draw from one set of buckets, so they must have the same limits.
fn check_pools(models: &BTreeMap<String, Arc<ModelEntry>>) -> Result<(), ConfigError> {
    let mut first: BTreeMap<&str, &ModelEntry> = BTreeMap::new();
    for entry in models.values() {
        let Some(pool) = entry.rate_limit_pool.as_deref() else {
            continue;
        };
        match first.get(pool) {
            Some(other) if other.limits != entry.limits => {
                return Err(invalid(
                    format!("models.{:?}.rate_limit_pool", entry.spec.id),
                    format!(
                        "`{}` and `{}` share the pool `{pool}` but have different limits; give them the same rpm/tpm/input_tpm/output_tpm, or name different pools",
                        other.spec.id, entry.spec.id
                    ),
                ));
            }
            Some(_) => {}
            None => {
                first.insert(pool, entry);
            }
        }
    }
    Ok(())
}

/// A model's `rate_limit_pool`, checked.
fn pool(own: &RawBehavior, prefix: &str) -> Result<Option<String>, ConfigError> {
    match &own.rate_limit_pool {
        None => Ok(None),
        Some(p) if p.trim().is_empty() => Err(invalid(
            format!("{prefix}.rate_limit_pool"),
            "a pool name: any non-empty string models share",
        )),
        Some(p) => Ok(Some(p.clone())),
    }
}

/// Most tool rounds a turn may be configured to take (config and `x-mock-tool-rounds`).
pub const MAX_TOOL_ROUNDS: u64 = 100;

/// What an unknown model is priced and limited like under `accept_unknown_models`: a current
/// mid-range model of the calling provider.
pub const STAND_IN_OPENAI: &str = "gpt-5.4-mini";
pub const STAND_IN_ANTHROPIC: &str = "claude-sonnet-4-6";

impl MockConfig {
    /// Up to three served model names (ids and aliases, user models included) nearest to
    /// `name`, for the 404 of an unknown model.
    pub fn nearest_models(&self, name: &str) -> Vec<&str> {
        burnrate_sim::nearest(self.models.keys().map(String::as_str), name, 3)
    }

    /// Parses and validates a TOML config.
    pub fn from_toml_str(text: &str) -> Result<MockConfig, ConfigError> {
        let raw: RawConfig = toml::from_str(text)?;
        MockConfig::from_raw(raw)
    }

    /// Parses and validates a JSON config (same structure as the TOML).
    pub fn from_json_slice(bytes: &[u8]) -> Result<MockConfig, ConfigError> {
        let raw: RawConfig = serde_json::from_slice(bytes)?;
        MockConfig::from_raw(raw)
    }

    /// Validates a parsed config against the built-in catalog.
    pub fn from_raw(raw: RawConfig) -> Result<MockConfig, ConfigError> {
        let catalog = catalog_with_prices(&raw)?;
        let time_scale = raw.time_scale.unwrap_or(1.0);
        if !time_scale.is_finite() || !(0.0..=1000.0).contains(&time_scale) {
            return Err(invalid(
                "time_scale",
                format!("must be in [0, 1000], got {time_scale}"),
            ));
        }
        let limit_clock_speedup = raw.limit_clock_speedup.unwrap_or(1.0);
        if !limit_clock_speedup.is_finite() || !(1.0..=1_000_000.0).contains(&limit_clock_speedup) {
            return Err(invalid(
                "limit_clock_speedup",
                format!("must be in [1, 1000000], got {limit_clock_speedup}"),
            ));
        }
        let body_limit = raw.body_limit_bytes.unwrap_or(32 * 1024 * 1024);
        if !(1024..=1 << 31).contains(&body_limit) {
            return Err(invalid("body_limit_bytes", "must be between 1024 and 2^31"));
        }
        let tier_cap_usd = tier_spend_cap_usd(raw.usage_tier.as_deref())?;
        let spend_cap_pusd = match raw.spend_cap_usd {
            None => tier_cap_usd.map(|usd| usd * burnrate_sim::PUSD_PER_USD),
            Some(usd) if (0.0..1e9).contains(&usd) => Some((usd * 1e12).round() as u64),
            Some(usd) => {
                return Err(invalid(
                    "spend_cap_usd",
                    format!("must be in [0, 1e9), got {usd}"),
                ));
            }
        };
        let batch_completion =
            check_secs("batch_completion_s", raw.batch_completion_s.unwrap_or(1.0))?;
        let openai_cache_ttl = check_secs(
            "openai_cache_ttl_s",
            raw.openai_cache_ttl_s.unwrap_or(600.0),
        )?;
        for (i, key) in raw.api_keys.iter().flatten().enumerate() {
            if key.is_empty() {
                return Err(invalid(format!("api_keys[{i}]"), "must not be empty"));
            }
        }
        let (server_limits, table) = match (&raw.server_limits, &raw.limits) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "limits",
                    "give [server_limits] (or the old name [limits]), not both",
                ));
            }
            (Some(l), None) => (l.clone(), "server_limits"),
            (None, Some(l)) => (l.clone(), "limits"),
            (None, None) => (RawResourceLimits::default(), "server_limits"),
        };
        let limits = ResourceLimits::from_raw(&server_limits, table)?;
        for (i, key) in raw.api_keys.iter().flatten().enumerate() {
            if key.len() > limits.max_api_key_bytes {
                return Err(invalid(
                    format!("api_keys[{i}]"),
                    format!(
                        "longer than limits.max_api_key_bytes ({})",
                        limits.max_api_key_bytes
                    ),
                ));
            }
        }
        if raw.admin_key.as_deref() == Some("") {
            return Err(invalid("admin_key", "must not be empty"));
        }
        let fixtures = fixtures(&raw)?;
        for name in raw.models.keys() {
            if catalog.get(name).is_none() {
                return Err(invalid(
                    format!("models.{name:?}"),
                    "not in the catalog (run `burnrate catalog` for the list, or add it under [prices])",
                ));
            }
        }
        for (key, l) in &raw.keys {
            if key.is_empty() {
                return Err(invalid("keys", "a key name must not be empty"));
            }
            let _ = l;
        }
        let warnings = deprecated_spellings(&raw);
        per_model_only(&raw.defaults)?;
        // Validate defaults once so an error names `defaults.*` rather than a model.
        if let Some(spec) = catalog.get(STAND_IN_OPENAI) {
            build_entry(spec, None, &raw.defaults, None, "defaults")?;
        }
        let mut models = BTreeMap::new();
        for spec in catalog.models() {
            // A section may be keyed by the id or by an alias.
            let own = raw
                .models
                .get(&spec.id)
                .or_else(|| spec.aliases.iter().find_map(|a| raw.models.get(a)));
            let entry = Arc::new(build_entry(
                spec,
                own,
                &raw.defaults,
                raw.usage_tier.as_deref(),
                &format!("models.{:?}", spec.id),
            )?);
            models.insert(spec.id.clone(), entry.clone());
            for alias in &spec.aliases {
                models.insert(alias.clone(), entry.clone());
            }
        }
        check_pools(&models)?;
        Ok(MockConfig {
            seed: raw.seed.unwrap_or(0),
            time_scale,
            limit_clock_speedup,
            accept_unknown_models: raw.accept_unknown_models.unwrap_or(false),
            api_keys: raw.api_keys.clone().unwrap_or_default(),
            body_limit_bytes: body_limit as usize,
            spend_cap_pusd,
            request_log: raw.request_log.clone(),
            batch_completion,
            openai_cache_ttl,
            content: raw.content.unwrap_or_default(),
            fixtures,
            models: Arc::new(models),
            keys: raw.keys.clone(),
            defaults: raw.defaults.clone(),
            admin_key: raw.admin_key.clone(),
            limits,
            log_dir: None,
            raw,
            warnings,
        })
    }

    /// Lets `PUT /_mock/config` name a request log inside `dir` (and nowhere else).
    pub fn with_log_dir(mut self, dir: PathBuf) -> MockConfig {
        self.log_dir = Some(dir);
        self
    }

    /// Looks a model up by id or alias; unknown names get an entry priced like a stand-in
    /// model of the calling provider when `accept_unknown_models` is set.
    pub fn model(&self, name: &str, provider: Provider) -> Option<Arc<ModelEntry>> {
        if let Some(m) = self.models.get(name) {
            return Some(m.clone());
        }
        if !self.accept_unknown_models {
            return None;
        }
        let stand_in = match provider {
            Provider::Anthropic => STAND_IN_ANTHROPIC,
            _ => STAND_IN_OPENAI,
        };
        let base = self.models.get(stand_in)?;
        let mut entry = (**base).clone();
        entry.spec.id = name.to_string();
        entry.spec.aliases.clear();
        Some(Arc::new(entry))
    }
}
