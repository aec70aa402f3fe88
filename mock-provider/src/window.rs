//! Context windows and output limits per model: the catalog's `max_input_tokens` /
//! `max_output_tokens` (LiteLLM's map, December 2026), with a fallback table only for entries
//! that lack them (the seed article's models and a few without published limits).

use burnrate_sim::{ModelKind, ModelSpec, Provider};

/// The token limits of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The largest prompt accepted.
    pub input_tokens: u64,
    /// Prompt plus requested output must fit in this many tokens.
    pub context_tokens: u64,
    /// The largest `max_tokens` / `max_completion_tokens` / `max_output_tokens` accepted.
    pub max_output_tokens: u64,
}

/// The window of a model. OpenAI publishes separate input and output limits (gpt-5.6: 922k in,
/// 128k out), so its context is their sum; Anthropic's and Google's `max_input_tokens` is the
/// context window that prompt and output share.
pub fn window(spec: &ModelSpec) -> Window {
    let fallback = fallback(&spec.id, spec.kind);
    let input = spec.max_input_tokens.unwrap_or(fallback.0);
    let output = match spec.kind {
        ModelKind::Embedding => 0,
        ModelKind::Chat => spec.max_output_tokens.unwrap_or(fallback.1),
    };
    Window {
        input_tokens: input,
        context_tokens: match spec.provider {
            Provider::OpenAi => input.saturating_add(output),
            _ => input,
        },
        max_output_tokens: output,
    }
}

/// `(input, output)` for entries without limits in the catalog.
fn fallback(id: &str, kind: ModelKind) -> (u64, u64) {
    match id {
        "claude-opus-4-1" | "claude-opus-4" => (200_000, 32_000),
        "claude-sonnet-4" => (200_000, 64_000),
        "claude-3-5-haiku" => (200_000, 8_192),
        "claude-3-haiku" | "article-claude-haiku" => (200_000, 4_096),
        "article-claude-sonnet" | "article-claude-opus" => (200_000, 8_192),
        "article-gpt-4o" | "article-gpt-4o-mini" => (128_000, 16_384),
        "article-o1" => (200_000, 100_000),
        _ if kind == ModelKind::Embedding => (8_191, 0),
        // Unpublished: generous, so the mock never refuses what the provider might accept.
        _ => (1_000_000, 128_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burnrate_sim::Catalog;

    #[test]
    fn windows_come_from_the_catalog() {
        let c = Catalog::builtin();
        let w = window(c.get("gpt-5.6").unwrap());
        assert_eq!(
            (w.input_tokens, w.context_tokens, w.max_output_tokens),
            (922_000, 1_050_000, 128_000)
        );
        let w = window(c.get("claude-sonnet-4-6").unwrap());
        assert_eq!(
            (w.input_tokens, w.context_tokens, w.max_output_tokens),
            (1_000_000, 1_000_000, 128_000)
        );
        let w = window(c.get("article-claude-haiku").unwrap());
        assert_eq!(w.max_output_tokens, 4_096);
    }
}
