//! Scenario files: TOML parsed into plain serde structs ([`raw`]), then validated once into the
//! domain types of [`crate::model`]. Every error names the file, line and column, the field
//! path and what is allowed.

mod raw;
mod validate;

use crate::model::Scenario;
use std::fmt;
use toml_edit::{Item, Table, TableLike, Value};

/// A scenario that could not be read, with where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based; 0 when the error has no position (e.g. a missing table).
    pub line: usize,
    pub column: usize,
    /// Dotted path of the field, e.g. `steps[2].failures.malformed`; empty for syntax errors.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A model table (`[models.NAME]` in a scenario, or a table of the same fields elsewhere, such
/// as the mock's `[prices.NAME]`) that could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}{message}", field, if field.is_empty() { "" } else { ": " })]
pub struct ModelTableError {
    /// Dotted path of the field inside the table (e.g. `flex.input_usd_per_mtok`); empty
    /// when the error is about the table as a whole.
    pub field: String,
    pub message: String,
}

/// Reads one model table with the fields and checks of a scenario's `[models.NAME]`: a catalog
/// model overridden (by name or `based_on`), or a new model with `provider` and its prices.
/// Works with any self-describing format (TOML, JSON).
pub fn model_from_table<'de, D: serde::Deserializer<'de>>(
    name: &str,
    table: D,
    catalog: &crate::catalog::Catalog,
) -> Result<crate::catalog::ModelSpec, ModelTableError> {
    let raw =
        <raw::RawModel as serde::Deserialize>::deserialize(table).map_err(|e| ModelTableError {
            field: String::new(),
            message: e.to_string(),
        })?;
    validate::model_override(name, &raw, catalog).map_err(|(path, message)| ModelTableError {
        field: path_string(path.get(2..).unwrap_or_default()),
        message,
    })
}

/// One segment of a field path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

pub(crate) fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

impl Scenario {
    /// Parses and validates a scenario. `file` names the source in errors; the scenario's name
    /// defaults to the file stem.
    pub fn from_toml(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let raw: raw::RawScenario = toml::from_str(text).map_err(|e| de_error(file, text, &e))?;
        let stem = std::path::Path::new(file)
            .file_stem()
            .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned());
        validate::validate(raw, &stem).map_err(|(path, message)| {
            let (line, column) = locate(text, &path).unwrap_or((0, 0));
            ScenarioError {
                file: file.to_string(),
                line,
                column,
                field: path_string(&path),
                message,
            }
        })
    }

    /// Like [`Scenario::from_toml`], with fields set first: each `(path, value)` is a dotted path
    /// (`traffic.tasks_per_day`, `steps.draft.max_tokens` or `steps[2].max_tokens`,
    /// `caching.ttl`) and a TOML value (`500`, `"1h"`, `true`). Sweeps use this so a swept value
    /// goes through the same validation as the file.
    pub fn from_toml_with(
        file: &str,
        text: &str,
        overrides: &[(String, String)],
    ) -> Result<Scenario, ScenarioError> {
        if overrides.is_empty() {
            return Scenario::from_toml(file, text);
        }
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| syntax_error(file, text, &e))?;
        for (path, value) in overrides {
            set_path(&mut doc, path, value).map_err(|message| ScenarioError {
                file: file.to_string(),
                line: 0,
                column: 0,
                field: path.clone(),
                message,
            })?;
        }
        Scenario::from_toml(file, &doc.to_string())
    }
}

fn syntax_error(file: &str, text: &str, e: &toml_edit::TomlError) -> ScenarioError {
    let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
    ScenarioError {
        file: file.to_string(),
        line,
        column,
        field: String::new(),
        message: e.message().trim().to_string(),
    }
}

/// Known keys per table, for "did you mean" suggestions on unknown keys.
const ALL_KEYS: &[&str] = &[
    "name",
    "description",
    "horizon",
    "traffic",
    "models",
    "steps",
    "failures",
    "stuck",
    "incidents",
    "routing",
    "caching",
    "limits",
    "batching",
    "fixed_costs",
    "budget",
    "days",
    "replicas",
    "seed",
    "tasks_per_day",
    "arrivals",
    "daily_profile",
    "weekly_profile",
    "growth",
    "kinds",
    "to_tasks_per_day",
    "shape",
    "share",
    "token_scale",
    "based_on",
    "provider",
    "input_usd_per_mtok",
    "output_usd_per_mtok",
    "cache_read_usd_per_mtok",
    "cache_write_5m_usd_per_mtok",
    "cache_write_1h_usd_per_mtok",
    "cache_write_usd_per_mtok",
    "flex",
    "priority",
    "long_context",
    "above_input_tokens",
    "regions",
    "reasoning",
    "max_input_tokens",
    "max_output_tokens",
    "deprecation_date",
    "successor",
    "tier",
    "region",
    "reasoning_tokens",
    "min_cacheable_tokens",
    "batch_discount_percent",
    "requests_per_minute",
    "tokens_per_minute",
    "input_tokens_per_minute",
    "output_tokens_per_minute",
    "rate_limit_pool",
    "usage_tier",
    "time_to_first_token_s",
    "output_tokens_per_s",
    "latency_cv",
    "as_of",
    "source",
    "dist",
    "value",
    "mean",
    "cv",
    "sd",
    "low",
    "high",
    "min",
    "max",
    "values",
    "weights",
    "model",
    "prefix_tokens",
    "input_tokens",
    "output_tokens",
    "max_tokens",
    "repeat",
    "tool_result_tokens",
    "summarize_with",
    "summary_tokens",
    "context",
    "cache",
    "batch",
    "items_per_call",
    "combine_window_s",
    "error_tokens",
    "retry_growth_tokens",
    "malformed",
    "tool_error",
    "rate_limit",
    "server_error",
    "timeout",
    "timeout_s",
    "probability",
    "extra_calls",
    "kind",
    "start_hour",
    "duration_hours",
    "multiplier",
    "classifier_model",
    "classifier_prefix_tokens",
    "classifier_input_tokens",
    "classifier_output_tokens",
    "cheap_model",
    "strong_model",
    "easy_share",
    "misroute_rate",
    "cheap_resolution_rate",
    "hard_on_cheap_pass_rate",
    "fallback_rate",
    "escalate_on_failure",
    "enabled",
    "ttl",
    "max_tokens_per_task",
    "max_usd_per_task",
    "max_retries",
    "backoff_base_s",
    "backoff_max_s",
    "jitter",
    "breaker",
    "daily_cap_usd",
    "alert_multiple",
    "consecutive_failures",
    "cooldown_s",
    "prefilter_share",
    "batch_delay_s",
    "usd_per_month",
    "daily_usd",
];

fn de_error(file: &str, text: &str, e: &toml::de::Error) -> ScenarioError {
    let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
    let mut message = e.message().trim().to_string();
    let mut field = String::new();
    // "unknown field `x`, expected one of `a`, `b`": name the nearest allowed key.
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some(end) = rest.find('`')
    {
        let unknown = rest[..end].to_string();
        let allowed: Vec<&str> = rest[end..].split('`').skip(2).step_by(2).collect();
        let candidates: &[&str] = if allowed.is_empty() {
            ALL_KEYS
        } else {
            &allowed
        };
        let best = candidates
            .iter()
            .map(|k| (strsim::jaro_winkler(&unknown, k), *k))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        field = unknown.clone();
        message = match best {
            Some((score, k)) if score > 0.7 => format!(
                "unknown key `{unknown}`; did you mean `{k}`? allowed here: {}",
                allowed.join(", ")
            ),
            _ => format!(
                "unknown key `{unknown}`; allowed here: {}",
                allowed.join(", ")
            ),
        };
    }
    if field.is_empty()
        && let Some(span) = e.span()
    {
        field = key_at(text, span.start).unwrap_or_default();
    }
    ScenarioError {
        file: file.to_string(),
        line,
        column,
        field,
        message,
    }
}

/// The key written on the line of `offset`, if the line is `key = value`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

/// Line and column of the deepest part of `path` present in the document.
fn locate(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    let doc = toml_edit::Document::parse(text).ok()?;
    enum Node<'a> {
        Item(&'a Item),
        Table(&'a Table),
        Value(&'a Value),
    }
    let mut node = Node::Item(doc.as_item());
    let mut best: Option<std::ops::Range<usize>> = None;
    for seg in path {
        node = match (seg, node) {
            (Seg::Key(k), node) => {
                let table: &dyn TableLike = match node {
                    Node::Item(i) => i.as_table_like()?,
                    Node::Table(t) => t,
                    Node::Value(v) => v.as_inline_table()?,
                };
                let Some((key, item)) = table.get_key_value(k) else {
                    break;
                };
                best = key.span().or(best);
                Node::Item(item)
            }
            (Seg::Index(i), Node::Item(Item::ArrayOfTables(a))) => {
                let Some(t) = a.get(*i) else { break };
                best = t.span().or(best);
                Node::Table(t)
            }
            (Seg::Index(i), Node::Item(Item::Value(v)) | Node::Value(v)) => {
                let Some(v) = v.as_array().and_then(|a| a.get(*i)) else {
                    break;
                };
                best = v.span().or(best);
                Node::Value(v)
            }
            _ => break,
        };
    }
    best.map(|s| line_col(text, s.start))
}

/// Sets `path` (dotted, with `steps.NAME` or `steps[i]` for array entries) to a TOML value.
fn set_path(doc: &mut toml_edit::DocumentMut, path: &str, value: &str) -> Result<(), String> {
    let value: Value = value.parse().map_err(|e: toml_edit::TomlError| {
        format!("`{value}` is not a TOML value: {}", e.message().trim())
    })?;
    let mut parts: Vec<String> = Vec::new();
    for part in path.split('.') {
        match part.split_once('[') {
            Some((k, idx)) => {
                parts.push(k.to_string());
                parts.push(format!("[{idx}"));
            }
            None => parts.push(part.to_string()),
        }
    }
    let (last, parents) = parts.split_last().ok_or("empty parameter path")?;
    let mut table: &mut dyn TableLike = doc.as_table_mut();
    let mut i = 0;
    while i < parents.len() {
        let part = &parents[i];
        if table.get(part).is_none() {
            table.insert(part, Item::Table(Table::new()));
        }
        let item = table.get_mut(part).expect("inserted above");
        if let Item::ArrayOfTables(aot) = item {
            let selector = parents.get(i + 1).ok_or(format!(
                "`{path}`: `{part}` is a list; name an entry (`{part}.NAME` or `{part}[0]`)"
            ))?;
            let len = aot.len();
            let entry = match selector.strip_prefix('[') {
                Some(idx) => {
                    let idx: usize = idx
                        .trim_end_matches(']')
                        .parse()
                        .map_err(|_| format!("`{selector}` is not an index"))?;
                    aot.get_mut(idx)
                        .ok_or(format!("`{path}`: index {idx} out of range (0..{len})"))?
                }
                None => aot
                    .iter_mut()
                    .find(|t| t.get("name").and_then(Item::as_str) == Some(selector.as_str()))
                    .ok_or(format!("`{path}`: no entry named `{selector}` in `{part}`"))?,
            };
            table = entry;
            i += 2;
        } else {
            table = item
                .as_table_like_mut()
                .ok_or(format!("`{path}`: `{part}` is not a table"))?;
            i += 1;
        }
    }
    table.insert(last, Item::Value(value));
    Ok(())
}

#[cfg(test)]
mod model_table_tests {
    use super::*;
    use crate::catalog::{Catalog, Provider, ServiceTier};

    #[test]
    fn a_new_model_table_reads_like_a_scenarios() {
        let c = Catalog::builtin();
        let v = serde_json::json!({
            "provider": "openai", "input_usd_per_mtok": 2.0, "output_usd_per_mtok": 8.0,
            "flex": {"input_usd_per_mtok": 1.0, "output_usd_per_mtok": 4.0},
        });
        let spec = model_from_table("my-model", v, &c).unwrap();
        assert_eq!(spec.id, "my-model");
        assert_eq!(spec.provider, Provider::OpenAi);
        assert_eq!(spec.prices.standard.input_pusd, 2_000_000);
        assert_eq!(
            spec.prices.tier(ServiceTier::Flex).unwrap().output_pusd,
            4_000_000
        );
        let t: toml::Value =
            toml::from_str("based_on = \"gpt-5.6\"\noutput_usd_per_mtok = 21.0").unwrap();
        let spec = model_from_table("mine", t, &c).unwrap();
        assert_eq!(spec.prices.standard.output_pusd, 21_000_000);
        let bad = serde_json::json!({"provider": "openai", "input_usd_per_mtok": -1.0, "output_usd_per_mtok": 1.0});
        let e = model_from_table("x", bad, &c).unwrap_err();
        assert_eq!(e.field, "input_usd_per_mtok");
        let e = model_from_table("x", serde_json::json!({"input_usd": 1.0}), &c).unwrap_err();
        assert!(e.message.contains("unknown field `input_usd`"), "{e}");
        let e = model_from_table("x", serde_json::json!({"provider": "acme"}), &c).unwrap_err();
        assert_eq!(e.field, "provider");
        // A new model without prices: the table as a whole.
        let e = model_from_table("x", serde_json::json!({"provider": "openai"}), &c).unwrap_err();
        assert_eq!(e.field, "");
    }
}
