//! The one place that knows every provider's usage object. `burnrate drive` reads the mock's
//! (or a real provider's) answers with it, and `burnrate calibrate` reads logged usage with it,
//! so the two cannot drift apart.
//!
//! Sources (each rule below is tested in `tests`):
//! - OpenAI Chat Completions `usage`: `prompt_tokens` includes
//!   `prompt_tokens_details.cached_tokens` and, from GPT-5.6 on,
//!   `prompt_tokens_details.cache_write_tokens` ("the unadjusted number of prompt tokens
//!   written to cache"); `completion_tokens` includes
//!   `completion_tokens_details.reasoning_tokens`.
//!   <https://platform.openai.com/docs/api-reference/chat/object> (openai/openai-openapi,
//!   `CompletionUsage`).
//! - OpenAI Responses `usage`: the same with `input_tokens`, `input_tokens_details`,
//!   `output_tokens`, `output_tokens_details.reasoning_tokens`.
//!   <https://platform.openai.com/docs/api-reference/responses/object> (`ResponseUsage`).
//! - Anthropic Messages `usage`: `input_tokens` EXCLUDES the cache; `cache_creation_input_tokens`
//!   and `cache_read_input_tokens` are separate counters; `cache_creation.ephemeral_1h_input_tokens`
//!   splits the writes by TTL. <https://docs.anthropic.com/en/api/messages> (`usage`).
//! - LiteLLM's normalised usage (spend logs' `metadata.usage_object`): OpenAI chat shape, plus
//!   Anthropic's `cache_creation_input_tokens` at the top level when the model wrote the cache.
//!   <https://github.com/BerriAI/litellm> (`litellm/types/utils.py`, `Usage`).

use crate::catalog::TokenCounts;
use serde_json::{Map, Value};

/// What one call's usage object says, provider-neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub tokens: TokenCounts,
    /// Of `tokens.cache_write`, the writes with a one-hour TTL (Anthropic).
    pub cache_write_1h: u64,
    /// Of `tokens.output`, the hidden reasoning (thinking) tokens.
    pub reasoning: u64,
}

/// Why a usage object could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    #[error(
        "no usage found: expected `prompt_tokens` (OpenAI chat, LiteLLM) or `input_tokens` (OpenAI Responses, Anthropic)"
    )]
    Missing,
    #[error("`{0}` must be a whole non-negative count")]
    NotACount(&'static str),
    #[error("{part} {value} exceed {total_name} {total}")]
    Exceeds {
        part: &'static str,
        value: u64,
        total_name: &'static str,
        total: u64,
    },
}

/// A count: a non-negative integer (a float with no fraction is accepted, as some loggers
/// write `12.0`).
pub(crate) fn count(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0)
            .map(|f| f as u64)
    })
}

fn field(m: &Map<String, Value>, key: &'static str) -> Result<Option<u64>, UsageError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => count(v).map(Some).ok_or(UsageError::NotACount(key)),
    }
}

fn detail(m: &Map<String, Value>, obj: &'static str, key: &'static str) -> Result<u64, UsageError> {
    match m.get(obj) {
        Some(Value::Object(d)) => Ok(field(d, key)?.unwrap_or(0)),
        _ => Ok(0),
    }
}

/// Reads a usage object of any provider (see the module docs for the rules).
pub fn parse_usage(u: &Map<String, Value>) -> Result<Usage, UsageError> {
    let anthropic_cache =
        u.contains_key("cache_creation_input_tokens") || u.contains_key("cache_read_input_tokens");
    let (total_name, details, out_name, out_details) = if u.contains_key("prompt_tokens") {
        (
            "prompt_tokens",
            "prompt_tokens_details",
            "completion_tokens",
            "completion_tokens_details",
        )
    } else if u.contains_key("input_tokens") {
        (
            "input_tokens",
            "input_tokens_details",
            "output_tokens",
            "output_tokens_details",
        )
    } else {
        return Err(UsageError::Missing);
    };
    let total = field(u, total_name)?.ok_or(UsageError::NotACount(total_name))?;
    let output = field(u, out_name)?.unwrap_or(0);
    let reasoning = detail(u, out_details, "reasoning_tokens")?.min(output);
    let mut usage = Usage {
        reasoning,
        ..Usage::default()
    };
    usage.tokens.output = output;
    if total_name == "input_tokens" && anthropic_cache {
        // Anthropic: three disjoint counters.
        let write = field(u, "cache_creation_input_tokens")?.unwrap_or(0);
        usage.tokens.input = total;
        usage.tokens.cache_write = write;
        usage.tokens.cache_read = field(u, "cache_read_input_tokens")?.unwrap_or(0);
        usage.cache_write_1h = detail(u, "cache_creation", "ephemeral_1h_input_tokens")?.min(write);
        return Ok(usage);
    }
    // OpenAI (and LiteLLM's OpenAI-shaped usage): the cache counters are parts of the total.
    let read = detail(u, details, "cached_tokens")?;
    let mut write = detail(u, details, "cache_write_tokens")?;
    if write == 0 {
        // LiteLLM keeps Anthropic's write counter beside its OpenAI-shaped usage.
        write = field(u, "cache_creation_input_tokens")?.unwrap_or(0);
    }
    if read > total {
        return Err(UsageError::Exceeds {
            part: "cached_tokens",
            value: read,
            total_name,
            total,
        });
    }
    if write > total - read {
        return Err(UsageError::Exceeds {
            part: "cache_write_tokens + cached_tokens",
            value: write + read,
            total_name,
            total,
        });
    }
    usage.tokens.input = total - read - write;
    usage.tokens.cache_read = read;
    usage.tokens.cache_write = write;
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Usage, UsageError> {
        let v: Value = serde_json::from_str(s).unwrap();
        parse_usage(v.as_object().unwrap())
    }

    fn t(input: u64, cache_write: u64, cache_read: u64, output: u64) -> TokenCounts {
        TokenCounts {
            input,
            cache_write,
            cache_read,
            output,
        }
    }

    #[test]
    fn openai_chat_with_gpt_5_6_writes_and_reasoning() {
        // 3000 prompt tokens = 1024 read + 1536 written + 440 plain (OpenAPI CompletionUsage).
        let u = parse(
            r#"{"prompt_tokens":3000,"completion_tokens":200,
                "prompt_tokens_details":{"cached_tokens":1024,"cache_write_tokens":1536},
                "completion_tokens_details":{"reasoning_tokens":120}}"#,
        )
        .unwrap();
        assert_eq!(u.tokens, t(440, 1536, 1024, 200));
        assert_eq!(u.reasoning, 120);
    }

    #[test]
    fn openai_responses_and_anthropic() {
        let u = parse(
            r#"{"input_tokens":500,"output_tokens":9,
                "input_tokens_details":{"cached_tokens":256,"cache_write_tokens":0}}"#,
        )
        .unwrap();
        assert_eq!(u.tokens, t(244, 0, 256, 9));
        // Anthropic: disjoint counters, 1h writes split out.
        let u = parse(
            r#"{"input_tokens":10,"cache_creation_input_tokens":2000,"cache_read_input_tokens":500,
                "output_tokens":3,"cache_creation":{"ephemeral_5m_input_tokens":500,"ephemeral_1h_input_tokens":1500}}"#,
        )
        .unwrap();
        assert_eq!(u.tokens, t(10, 2000, 500, 3));
        assert_eq!(u.cache_write_1h, 1500);
    }

    #[test]
    fn litellm_keeps_anthropic_writes_beside_openai_shape() {
        let u = parse(
            r#"{"prompt_tokens":2100,"completion_tokens":40,"cache_creation_input_tokens":2000,
                "prompt_tokens_details":{"cached_tokens":0}}"#,
        )
        .unwrap();
        assert_eq!(u.tokens, t(100, 2000, 0, 40));
    }

    #[test]
    fn bad_usage_is_named() {
        assert_eq!(parse(r#"{"foo":1}"#), Err(UsageError::Missing));
        assert_eq!(
            parse(r#"{"prompt_tokens":-1}"#),
            Err(UsageError::NotACount("prompt_tokens"))
        );
        let e = parse(r#"{"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":11}}"#)
            .unwrap_err();
        assert_eq!(e.to_string(), "cached_tokens 11 exceed prompt_tokens 10");
    }
}
