//! Context windows and output limits per catalog model (input tokens a request may carry,
//! output tokens it may ask for). The simulator's catalog prices models but does not hold
//! these, so the mock keeps them here, read from LiteLLM's `max_input_tokens` /
//! `max_output_tokens` (2026-12) and the providers' model pages.

/// The token limits of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Prompt plus output must fit in this many tokens.
    pub context_tokens: u64,
    /// The largest `max_tokens` / `max_completion_tokens` / `max_output_tokens` accepted.
    pub max_output_tokens: u64,
}

const fn w(context_tokens: u64, max_output_tokens: u64) -> Window {
    Window {
        context_tokens,
        max_output_tokens,
    }
}

/// The window of a catalog id; models the table does not know (e.g. accepted unknown models)
/// get a generous 1M / 128k window.
pub fn window(id: &str) -> Window {
    match id {
        "claude-opus-4-1" | "claude-opus-4" => w(200_000, 32_000),
        "claude-opus-4-5" | "claude-sonnet-4-5" | "claude-sonnet-4" | "claude-haiku-4-5" => {
            w(200_000, 64_000)
        }
        "claude-3-5-haiku" => w(200_000, 8_192),
        "claude-3-haiku" => w(200_000, 4_096),
        "gpt-4o" | "gpt-4o-mini" => w(128_000, 16_384),
        "gpt-4.1" | "gpt-4.1-mini" | "gpt-4.1-nano" => w(1_047_576, 32_768),
        "gpt-5" | "gpt-5.1" | "gpt-5-mini" | "gpt-5-nano" => w(272_000, 128_000),
        "o1" | "o3" | "o4-mini" => w(200_000, 100_000),
        "text-embedding-3-small" | "text-embedding-3-large" | "text-embedding-ada-002" => {
            w(8_191, 0)
        }
        "gemini-2.5-pro" | "gemini-2.5-flash" | "gemini-2.5-flash-lite" => w(1_048_576, 65_535),
        "article-claude-haiku" => w(200_000, 4_096),
        "article-claude-sonnet" | "article-claude-opus" => w(200_000, 8_192),
        "article-gpt-4o" | "article-gpt-4o-mini" => w(128_000, 16_384),
        "article-o1" => w(200_000, 100_000),
        _ => w(1_000_000, 128_000),
    }
}
