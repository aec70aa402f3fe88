//! Import of LiteLLM's public price map (`model_prices_and_context_window.json`, MIT), validated:
//! its data has known errors (e.g. a Claude 3 Haiku 1-hour cache write at $6/MTok, 24x the
//! input price), so every entry is checked against the providers' billing rules and either
//! corrected (with a note) or skipped (with the reason).

use crate::catalog::{Latency, ModelKind, ModelSpec, Provider, RateLimits};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum LiteLlmError {
    #[error("not LiteLLM's price map: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not LiteLLM's price map: the top level must be an object of model entries")]
    NotAnObject,
}

/// What an import produced: the models, and what was corrected or skipped and why.
#[derive(Debug, Clone, Default)]
pub struct LiteLlmImport {
    pub models: Vec<ModelSpec>,
    /// (model key, what was corrected)
    pub corrected: Vec<(String, String)>,
    /// (model key, why it was skipped)
    pub skipped: Vec<(String, String)>,
}

/// USD per token (LiteLLM's unit) to pUSD per token.
fn pusd(usd_per_token: f64) -> Option<u64> {
    (usd_per_token.is_finite() && usd_per_token >= 0.0)
        .then(|| (usd_per_token * 1e12).round() as u64)
}

/// Parses and validates LiteLLM's map. `as_of` dates the imported prices (the file's date).
/// `known` supplies minimum cacheable prefixes and latency for models burnrate already knows.
pub fn import_litellm(
    json: &str,
    as_of: &str,
    known: &crate::Catalog,
) -> Result<LiteLlmImport, LiteLlmError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    let map: &serde_json::Map<String, serde_json::Value> =
        value.as_object().ok_or(LiteLlmError::NotAnObject)?;
    let mut out = LiteLlmImport::default();
    let sorted: BTreeMap<&String, &serde_json::Value> = map.iter().collect();
    for (key, entry) in sorted {
        if key == "sample_spec" {
            continue; // documents the schema; not a model
        }
        match import_entry(key, entry, as_of, known) {
            Ok((spec, notes)) => {
                for n in notes {
                    out.corrected.push((key.clone(), n));
                }
                out.models.push(spec);
            }
            Err(reason) => out.skipped.push((key.clone(), reason)),
        }
    }
    Ok(out)
}

fn import_entry(
    key: &str,
    e: &serde_json::Value,
    as_of: &str,
    known: &crate::Catalog,
) -> Result<(ModelSpec, Vec<String>), String> {
    let get = |field: &str| e.get(field).and_then(serde_json::Value::as_f64);
    let provider_name = e
        .get("litellm_provider")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let provider = match provider_name {
        "openai" => Provider::OpenAi,
        "anthropic" => Provider::Anthropic,
        "gemini" | "vertex_ai-language-models" => Provider::Google,
        other => return Err(format!("provider `{other}` is not modelled")),
    };
    let kind = match e.get("mode").and_then(|v| v.as_str()) {
        Some("chat") | Some("responses") => ModelKind::Chat,
        Some("embedding") => ModelKind::Embedding,
        other => {
            return Err(format!(
                "mode `{}` is not modelled",
                other.unwrap_or("none")
            ));
        }
    };
    let input = get("input_cost_per_token").ok_or("no input_cost_per_token")?;
    let input = pusd(input).ok_or("input_cost_per_token is negative or not a number")?;
    let output = match get("output_cost_per_token") {
        Some(v) => pusd(v).ok_or("output_cost_per_token is negative or not a number")?,
        None if kind == ModelKind::Embedding => 0,
        None => return Err("no output_cost_per_token".to_string()),
    };
    let mut notes = Vec::new();
    // Missing cache prices default to the built-in entry's when it bills the same input price,
    // else to the provider's usual multipliers.
    let base = known
        .get(key)
        .filter(|b| b.input_pusd == input && b.provider == provider);
    let mut field = |name: &str, default: u64, max: u64, rule: &str| -> u64 {
        match get(name).map(pusd) {
            None => default,
            Some(None) => {
                notes.push(format!(
                    "{name} is not a valid price; used {default} pUSD/token"
                ));
                default
            }
            Some(Some(v)) if v > max => {
                notes.push(format!(
                    "{name} = {v} pUSD/token breaks the rule ({rule}); used {max}"
                ));
                max
            }
            Some(Some(v)) => v,
        }
    };
    let (read, w5, w1) = if provider.cache_is_prompt_subset() {
        let read = field(
            "cache_read_input_token_cost",
            input / 2,
            input,
            "reads cost at most the input price",
        );
        (read, input, input)
    } else {
        let read = field(
            "cache_read_input_token_cost",
            base.map_or(input / 10, |b| b.cache_read_pusd),
            input,
            "reads cost at most the input price",
        );
        let w5 = field(
            "cache_creation_input_token_cost",
            base.map_or(input * 5 / 4, |b| b.cache_write_5m_pusd),
            input * 5 / 4,
            "5-minute writes cost 1.25x input",
        );
        let w1 = field(
            "cache_creation_input_token_cost_above_1hr",
            base.map_or(input * 2, |b| b.cache_write_1h_pusd),
            input * 2,
            "1-hour writes cost 2x input",
        );
        (read, w5, w1)
    };
    let batch_discount_percent = match get("input_cost_per_token_batches").and_then(pusd) {
        Some(b) if input > 0 && b <= input => (100 - (b * 100 + input / 2) / input) as u32,
        _ => 50,
    };
    let base = known.get(key);
    let limits = RateLimits {
        requests_per_minute: get("rpm").filter(|v| *v > 0.0).map(|v| v as u64),
        tokens_per_minute: get("tpm").filter(|v| *v > 0.0).map(|v| v as u64),
        input_tokens_per_minute: None,
        output_tokens_per_minute: None,
    };
    let spec = ModelSpec {
        id: key.to_string(),
        aliases: Vec::new(),
        provider,
        kind,
        input_pusd: input,
        output_pusd: output,
        cache_read_pusd: read,
        cache_write_5m_pusd: w5,
        cache_write_1h_pusd: w1,
        min_cacheable_tokens: base.map_or(1024, |b| b.min_cacheable_tokens),
        cache_granularity_tokens: if provider == Provider::OpenAi { 128 } else { 1 },
        batch_discount_percent,
        rate_limits: base.map_or(limits, |b| {
            if limits.requests_per_minute.is_some() || limits.tokens_per_minute.is_some() {
                limits
            } else {
                b.rate_limits
            }
        }),
        latency: base.map_or(
            Latency {
                time_to_first_token_s: 0.8,
                time_per_output_token_s: 1.0 / 70.0,
                cv: 0.3,
            },
            |b| b.latency,
        ),
        as_of: as_of.to_string(),
        source: "LiteLLM model_prices_and_context_window.json (MIT), validated".to_string(),
    };
    Ok((spec, notes))
}

/// The models as `[models."id"]` tables a scenario can include: every price in USD per
/// million tokens, so `Scenario::from_toml` reads them back to the same pUSD.
pub fn models_to_toml(models: &[ModelSpec]) -> String {
    use std::fmt::Write;
    let mtok = |p: u64| crate::money::usd_per_mtok(p);
    let mut out = String::new();
    for m in models {
        let _ = writeln!(out, "[models.{:?}]", m.id);
        let _ = writeln!(out, "provider = {:?}", m.provider.as_str());
        let _ = writeln!(out, "input_usd_per_mtok = {}", mtok(m.input_pusd));
        let _ = writeln!(out, "output_usd_per_mtok = {}", mtok(m.output_pusd));
        let _ = writeln!(out, "cache_read_usd_per_mtok = {}", mtok(m.cache_read_pusd));
        if !m.provider.cache_is_prompt_subset() {
            let _ = writeln!(
                out,
                "cache_write_5m_usd_per_mtok = {}",
                mtok(m.cache_write_5m_pusd)
            );
            let _ = writeln!(
                out,
                "cache_write_1h_usd_per_mtok = {}",
                mtok(m.cache_write_1h_pusd)
            );
        }
        let _ = writeln!(out, "min_cacheable_tokens = {}", m.min_cacheable_tokens);
        let _ = writeln!(out, "batch_discount_percent = {}", m.batch_discount_percent);
        if let Some(rpm) = m.rate_limits.requests_per_minute {
            let _ = writeln!(out, "requests_per_minute = {rpm}");
        }
        if let Some(tpm) = m.rate_limits.tokens_per_minute {
            let _ = writeln!(out, "tokens_per_minute = {tpm}");
        }
        let _ = writeln!(out, "as_of = {:?}", m.as_of);
        let _ = writeln!(out, "source = {:?}\n", m.source);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    const MAP: &str = r#"{
      "sample_spec": {"input_cost_per_token": 0, "litellm_provider": "one of ...", "mode": "one of ..."},
      "claude-3-haiku-20240307": {"input_cost_per_token": 2.5e-07, "output_cost_per_token": 1.25e-06,
         "cache_creation_input_token_cost": 3e-07, "cache_read_input_token_cost": 3e-08,
         "cache_creation_input_token_cost_above_1hr": 6e-06, "litellm_provider": "anthropic", "mode": "chat"},
      "gpt-4o-mini": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07,
         "cache_read_input_token_cost": 7.5e-08, "input_cost_per_token_batches": 7.5e-08,
         "litellm_provider": "openai", "mode": "chat", "rpm": 500, "tpm": 200000},
      "dall-e-3": {"input_cost_per_pixel": 1e-8, "litellm_provider": "openai", "mode": "image_generation"},
      "broken": {"input_cost_per_token": -1, "output_cost_per_token": 1, "litellm_provider": "openai", "mode": "chat"},
      "bedrock/claude": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "litellm_provider": "bedrock", "mode": "chat"}
    }"#;

    #[test]
    fn imports_validates_and_corrects_known_errors() {
        let known = Catalog::builtin();
        let imp = import_litellm(MAP, "2026-11-01", &known).unwrap();
        let ids: Vec<&str> = imp.models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["claude-3-haiku-20240307", "gpt-4o-mini"]);
        let haiku = &imp.models[0];
        assert_eq!(haiku.input_pusd, 250_000);
        assert_eq!(haiku.cache_write_5m_pusd, 300_000);
        // LiteLLM's 1-hour write of $6/MTok is corrected to 2x input ($0.50/MTok).
        assert_eq!(haiku.cache_write_1h_pusd, 500_000);
        assert!(
            imp.corrected
                .iter()
                .any(|(k, n)| k == "claude-3-haiku-20240307" && n.contains("above_1hr"))
        );
        // Minimum cacheable prefix comes from the built-in entry (Haiku 3: 2048).
        assert_eq!(haiku.min_cacheable_tokens, 2048);
        let mini = &imp.models[1];
        assert_eq!(
            (mini.cache_read_pusd, mini.cache_write_5m_pusd),
            (75_000, 150_000)
        );
        assert_eq!(mini.batch_discount_percent, 50);
        assert_eq!(mini.rate_limits.requests_per_minute, Some(500));
        let skipped: Vec<&str> = imp.skipped.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(skipped, ["bedrock/claude", "broken", "dall-e-3"]);
        assert!(import_litellm("[1]", "x", &known).is_err());
        assert!(import_litellm("{", "x", &known).is_err());
    }

    #[test]
    fn exported_toml_reads_back_to_the_same_prices() {
        let imp = import_litellm(MAP, "2026-11-01", &Catalog::builtin()).unwrap();
        let toml = models_to_toml(&imp.models);
        let scenario = format!(
            "{toml}\n[traffic]\ntasks_per_day = 1\n[[steps]]\nname = \"a\"\nmodel = \"claude-3-haiku-20240307\"\noutput_tokens = 1\n[[steps]]\nname = \"b\"\nmodel = \"gpt-4o-mini\"\noutput_tokens = 1\n"
        );
        let sc = crate::Scenario::from_toml("imported.toml", &scenario)
            .unwrap_or_else(|e| panic!("{e}"));
        for m in &imp.models {
            let got = sc.models.iter().find(|s| s.id == m.id).unwrap();
            assert_eq!(
                (
                    got.input_pusd,
                    got.output_pusd,
                    got.cache_read_pusd,
                    got.cache_write_5m_pusd,
                    got.cache_write_1h_pusd
                ),
                (
                    m.input_pusd,
                    m.output_pusd,
                    m.cache_read_pusd,
                    m.cache_write_5m_pusd,
                    m.cache_write_1h_pusd
                ),
                "{}",
                m.id
            );
        }
    }
}
