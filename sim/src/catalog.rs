//! The built-in, dated price catalog and the one cost formula both halves of burnrate use.
//!
//! Billing differs by provider (provider-facts.md, "Prompt caching"):
//! - OpenAI and Google: cached tokens are a *subset* of prompt tokens and there is no write fee,
//!   so a cache write is billed at the plain input price.
//! - Anthropic: uncached input, cache writes and cache reads are three separate counters, and a
//!   write costs a premium that depends on the TTL.
//!
//! [`TokenCounts`] is the provider-neutral form (uncached input, cache write, cache read, output)
//! and [`ModelSpec::cost_pusd`] prices it; the mock maps each provider's usage fields onto it.

use crate::money::pusd_per_token_from_usd_per_mtok;
use serde::Serialize;
use std::collections::BTreeMap;

/// Who serves a model; decides the wire format and the cache accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    OpenAi,
    Anthropic,
    Google,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Google => "google",
        }
    }

    pub fn parse(s: &str) -> Option<Provider> {
        match s {
            "openai" => Some(Provider::OpenAi),
            "anthropic" => Some(Provider::Anthropic),
            "google" | "gemini" => Some(Provider::Google),
            _ => None,
        }
    }

    /// Whether cached tokens are billed as a subset of prompt tokens with no write fee.
    pub fn cache_is_prompt_subset(self) -> bool {
        !matches!(self, Provider::Anthropic)
    }
}

/// What a model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Chat,
    Embedding,
}

/// Prompt-cache lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CacheTtl {
    #[serde(rename = "5m")]
    FiveMinutes,
    #[serde(rename = "1h")]
    OneHour,
}

impl CacheTtl {
    pub fn seconds(self) -> f64 {
        match self {
            CacheTtl::FiveMinutes => 300.0,
            CacheTtl::OneHour => 3600.0,
        }
    }
    pub fn parse(s: &str) -> Option<CacheTtl> {
        match s {
            "5m" => Some(CacheTtl::FiveMinutes),
            "1h" => Some(CacheTtl::OneHour),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            CacheTtl::FiveMinutes => "5m",
            CacheTtl::OneHour => "1h",
        }
    }
}

/// Requests and tokens per minute a provider admits for one model. `None` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct RateLimits {
    pub requests_per_minute: Option<u64>,
    /// Combined input+output tokens per minute (OpenAI style).
    pub tokens_per_minute: Option<u64>,
    /// Input tokens per minute (Anthropic style).
    pub input_tokens_per_minute: Option<u64>,
    /// Output tokens per minute (Anthropic style).
    pub output_tokens_per_minute: Option<u64>,
}

/// Mean latency of a call: time to first token, then a time per output token. The engine draws
/// each call's latency from a lognormal with this mean and `cv`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub time_to_first_token_s: f64,
    pub time_per_output_token_s: f64,
    pub cv: f64,
}

/// One model's prices and limits. Prices are pUSD per token (see [`crate::money`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpec {
    pub id: String,
    pub aliases: Vec<String>,
    pub provider: Provider,
    pub kind: ModelKind,
    pub input_pusd: u64,
    pub output_pusd: u64,
    pub cache_read_pusd: u64,
    pub cache_write_5m_pusd: u64,
    pub cache_write_1h_pusd: u64,
    /// Below this many prefix tokens nothing is cached (and nothing fails).
    pub min_cacheable_tokens: u32,
    /// Cache hits come in steps of this many tokens (128 for OpenAI, 1 for Anthropic).
    pub cache_granularity_tokens: u32,
    /// Percent off every line for the batch API (50 for both providers).
    pub batch_discount_percent: u32,
    pub rate_limits: RateLimits,
    pub latency: Latency,
    /// Date the prices were read, `YYYY-MM` or `YYYY-MM-DD`.
    pub as_of: String,
    /// Where the prices come from.
    pub source: String,
}

/// Tokens of one call in provider-neutral form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TokenCounts {
    /// Input tokens neither written to nor read from the cache.
    pub input: u64,
    /// Input tokens written to the cache (billed at the input price for OpenAI/Google).
    pub cache_write: u64,
    /// Input tokens read from the cache.
    pub cache_read: u64,
    pub output: u64,
}

impl TokenCounts {
    pub fn total_input(&self) -> u64 {
        self.input + self.cache_write + self.cache_read
    }
}

/// Cost of one call split by token kind, in pUSD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CostBreakdown {
    pub input: u64,
    pub cache_write: u64,
    pub cache_read: u64,
    pub output: u64,
}

impl CostBreakdown {
    pub fn total(&self) -> u64 {
        self.input + self.cache_write + self.cache_read + self.output
    }
}

impl ModelSpec {
    /// Price per token of a cache write with this TTL.
    pub fn cache_write_pusd(&self, ttl: CacheTtl) -> u64 {
        match ttl {
            CacheTtl::FiveMinutes => self.cache_write_5m_pusd,
            CacheTtl::OneHour => self.cache_write_1h_pusd,
        }
    }

    /// Exact cost of one call. `batch` applies the batch discount to every line.
    pub fn cost_pusd(&self, tokens: &TokenCounts, ttl: CacheTtl, batch: bool) -> CostBreakdown {
        let scale = |price: u64| {
            if batch {
                price * u64::from(100 - self.batch_discount_percent) / 100
            } else {
                price
            }
        };
        CostBreakdown {
            input: tokens.input * scale(self.input_pusd),
            cache_write: tokens.cache_write * scale(self.cache_write_pusd(ttl)),
            cache_read: tokens.cache_read * scale(self.cache_read_pusd),
            output: tokens.output * scale(self.output_pusd),
        }
    }

    /// How many of `prefix_tokens` a provider can cache: 0 below the minimum, then whole
    /// granularity steps.
    pub fn cacheable_tokens(&self, prefix_tokens: u64) -> u64 {
        if prefix_tokens < u64::from(self.min_cacheable_tokens) {
            return 0;
        }
        let step = u64::from(self.cache_granularity_tokens.max(1));
        prefix_tokens / step * step
    }
}

/// The price catalog: models by id, with aliases.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    models: BTreeMap<String, ModelSpec>,
    #[serde(skip)]
    aliases: BTreeMap<String, String>,
}

impl Catalog {
    /// The built-in catalog: every model of provider-facts.md plus the seed article's
    /// February 2026 prices as `article-*` entries.
    pub fn builtin() -> Catalog {
        let mut catalog = Catalog::default();
        for row in BUILTIN {
            catalog.insert(row.to_spec());
        }
        catalog
    }

    /// Adds or replaces a model (and its aliases).
    pub fn insert(&mut self, spec: ModelSpec) {
        for alias in &spec.aliases {
            self.aliases.insert(alias.clone(), spec.id.clone());
        }
        self.models.insert(spec.id.clone(), spec);
    }

    /// Looks a model up by id or alias.
    pub fn get(&self, name: &str) -> Option<&ModelSpec> {
        self.models
            .get(name)
            .or_else(|| self.aliases.get(name).and_then(|id| self.models.get(id)))
    }

    /// Every model, ordered by id.
    pub fn models(&self) -> impl Iterator<Item = &ModelSpec> {
        self.models.values()
    }

    /// Every id and alias, for "did you mean" suggestions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.models
            .keys()
            .chain(self.aliases.keys())
            .map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}

/// A built-in row in USD per million tokens, as the price pages show them.
struct Row {
    id: &'static str,
    aliases: &'static [&'static str],
    provider: Provider,
    kind: ModelKind,
    input: f64,
    /// Anthropic 5-minute write; ignored (= input) for providers without write fees.
    write_5m: f64,
    write_1h: f64,
    read: f64,
    output: f64,
    min_cache: u32,
    limits: RateLimits,
    latency: Latency,
    as_of: &'static str,
    source: &'static str,
}

impl Row {
    fn to_spec(&self) -> ModelSpec {
        let p =
            |usd: f64| pusd_per_token_from_usd_per_mtok(usd).expect("built-in prices are valid");
        let (write_5m, write_1h) = if self.provider.cache_is_prompt_subset() {
            (self.input, self.input)
        } else {
            (self.write_5m, self.write_1h)
        };
        ModelSpec {
            id: self.id.to_string(),
            aliases: self.aliases.iter().map(|a| a.to_string()).collect(),
            provider: self.provider,
            kind: self.kind,
            input_pusd: p(self.input),
            output_pusd: p(self.output),
            cache_read_pusd: p(self.read),
            cache_write_5m_pusd: p(write_5m),
            cache_write_1h_pusd: p(write_1h),
            min_cacheable_tokens: self.min_cache,
            cache_granularity_tokens: if self.provider == Provider::OpenAi {
                128
            } else {
                1
            },
            batch_discount_percent: 50,
            rate_limits: self.limits,
            latency: self.latency,
            as_of: self.as_of.to_string(),
            source: self.source.to_string(),
        }
    }
}

const ANTHROPIC_SRC: &str =
    "docs.anthropic.com pricing and prompt-caching pages (provider-facts.md)";
const OPENAI_SRC: &str = "OpenAI price map, secondary copy July 2026 (provider-facts.md)";
const GOOGLE_SRC: &str =
    "ai.google.dev pricing, prompts up to 200K (provider-facts.md; partly secondary)";
const EMBED_SRC: &str = "OpenAI embeddings pricing (provider-facts.md; unconfirmed)";
const ARTICLE_SRC: &str = "seed article 'What agents actually cost', February 2026 table";

// Rate limits are typical high-tier defaults (Anthropic tier 4, OpenAI tier 5), not promises:
// scenarios and mock configs set their own tier.
const ANTHROPIC_BIG: RateLimits = RateLimits {
    requests_per_minute: Some(4_000),
    tokens_per_minute: None,
    input_tokens_per_minute: Some(2_000_000),
    output_tokens_per_minute: Some(400_000),
};
const ANTHROPIC_SMALL: RateLimits = RateLimits {
    requests_per_minute: Some(4_000),
    tokens_per_minute: None,
    input_tokens_per_minute: Some(4_000_000),
    output_tokens_per_minute: Some(800_000),
};
const OPENAI_BIG: RateLimits = RateLimits {
    requests_per_minute: Some(10_000),
    tokens_per_minute: Some(30_000_000),
    input_tokens_per_minute: None,
    output_tokens_per_minute: None,
};
const OPENAI_SMALL: RateLimits = RateLimits {
    requests_per_minute: Some(30_000),
    tokens_per_minute: Some(150_000_000),
    input_tokens_per_minute: None,
    output_tokens_per_minute: None,
};
const EMBED_LIMITS: RateLimits = RateLimits {
    requests_per_minute: Some(10_000),
    tokens_per_minute: Some(10_000_000),
    input_tokens_per_minute: None,
    output_tokens_per_minute: None,
};
const GOOGLE_LIMITS: RateLimits = RateLimits {
    requests_per_minute: Some(2_000),
    tokens_per_minute: Some(8_000_000),
    input_tokens_per_minute: None,
    output_tokens_per_minute: None,
};

// Latency defaults are burnrate's estimates of typical streaming speeds, overridable per scenario.
const fn lat(ttft_s: f64, tokens_per_s: f64) -> Latency {
    Latency {
        time_to_first_token_s: ttft_s,
        time_per_output_token_s: 1.0 / tokens_per_s,
        cv: 0.3,
    }
}
const FAST: Latency = lat(0.4, 150.0);
const MID: Latency = lat(0.8, 70.0);
const SLOW: Latency = lat(1.5, 40.0);
const REASONING: Latency = lat(6.0, 50.0);
const EMBED: Latency = lat(0.15, 1.0e6);

macro_rules! anthropic {
    ($id:expr, [$($a:expr),*], $in:expr, $w5:expr, $w1:expr, $r:expr, $out:expr, $min:expr, $lim:expr, $lat:expr, $asof:expr, $src:expr) => {
        Row { id: $id, aliases: &[$($a),*], provider: Provider::Anthropic, kind: ModelKind::Chat,
              input: $in, write_5m: $w5, write_1h: $w1, read: $r, output: $out, min_cache: $min,
              limits: $lim, latency: $lat, as_of: $asof, source: $src }
    };
}
macro_rules! prefix_cached {
    ($prov:expr, $kind:expr, $id:expr, [$($a:expr),*], $in:expr, $r:expr, $out:expr, $min:expr, $lim:expr, $lat:expr, $asof:expr, $src:expr) => {
        Row { id: $id, aliases: &[$($a),*], provider: $prov, kind: $kind,
              input: $in, write_5m: $in, write_1h: $in, read: $r, output: $out, min_cache: $min,
              limits: $lim, latency: $lat, as_of: $asof, source: $src }
    };
}

const OA: Provider = Provider::OpenAi;
const GO: Provider = Provider::Google;
const CHAT: ModelKind = ModelKind::Chat;
const EMB: ModelKind = ModelKind::Embedding;

#[rustfmt::skip]
const BUILTIN: &[Row] = &[
    // Anthropic, 2026 list prices: input, 5m write, 1h write, read, output.
    anthropic!("claude-opus-4-1", ["claude-opus-4-1-20250805"], 15.0, 18.75, 30.0, 1.50, 75.0, 1024, ANTHROPIC_BIG, SLOW, "2026", ANTHROPIC_SRC),
    anthropic!("claude-opus-4", ["claude-opus-4-20250514", "claude-opus-4-0"], 15.0, 18.75, 30.0, 1.50, 75.0, 1024, ANTHROPIC_BIG, SLOW, "2026", ANTHROPIC_SRC),
    anthropic!("claude-opus-4-5", ["claude-opus-4-5-20251101"], 5.0, 6.25, 10.0, 0.50, 25.0, 4096, ANTHROPIC_BIG, SLOW, "2026", ANTHROPIC_SRC),
    anthropic!("claude-sonnet-4-5", ["claude-sonnet-4-5-20250929"], 3.0, 3.75, 6.0, 0.30, 15.0, 1024, ANTHROPIC_BIG, MID, "2026", ANTHROPIC_SRC),
    anthropic!("claude-sonnet-4", ["claude-sonnet-4-20250514", "claude-sonnet-4-0"], 3.0, 3.75, 6.0, 0.30, 15.0, 1024, ANTHROPIC_BIG, MID, "2026", ANTHROPIC_SRC),
    anthropic!("claude-haiku-4-5", ["claude-haiku-4-5-20251001"], 1.0, 1.25, 2.0, 0.10, 5.0, 4096, ANTHROPIC_SMALL, FAST, "2026", ANTHROPIC_SRC),
    anthropic!("claude-3-5-haiku", ["claude-3-5-haiku-20241022", "claude-3-5-haiku-latest"], 0.80, 1.0, 1.6, 0.08, 4.0, 2048, ANTHROPIC_SMALL, FAST, "2026", ANTHROPIC_SRC),
    anthropic!("claude-3-haiku", ["claude-3-haiku-20240307"], 0.25, 0.30, 0.50, 0.03, 1.25, 2048, ANTHROPIC_SMALL, FAST, "2026", ANTHROPIC_SRC),
    // OpenAI: input, cached input, output. Automatic caching from 1024 tokens in 128-token steps.
    prefix_cached!(OA, CHAT, "gpt-4o", ["gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt-4o-2024-05-13"], 2.50, 1.25, 10.0, 1024, OPENAI_BIG, MID, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, CHAT, "gpt-4o-mini", ["gpt-4o-mini-2024-07-18"], 0.15, 0.075, 0.60, 1024, OPENAI_SMALL, FAST, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, CHAT, "gpt-4.1", ["gpt-4.1-2025-04-14"], 2.00, 0.50, 8.0, 1024, OPENAI_BIG, MID, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, CHAT, "gpt-4.1-mini", ["gpt-4.1-mini-2025-04-14"], 0.40, 0.10, 1.60, 1024, OPENAI_SMALL, FAST, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, CHAT, "gpt-4.1-nano", ["gpt-4.1-nano-2025-04-14"], 0.10, 0.025, 0.40, 1024, OPENAI_SMALL, FAST, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, CHAT, "gpt-5", ["gpt-5-2025-08-07"], 1.25, 0.125, 10.0, 1024, OPENAI_BIG, REASONING, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, CHAT, "gpt-5.1", ["gpt-5.1-2025-11-13"], 1.25, 0.125, 10.0, 1024, OPENAI_BIG, REASONING, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, CHAT, "gpt-5-mini", ["gpt-5-mini-2025-08-07"], 0.25, 0.025, 2.0, 1024, OPENAI_SMALL, MID, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, CHAT, "gpt-5-nano", ["gpt-5-nano-2025-08-07"], 0.05, 0.005, 0.40, 1024, OPENAI_SMALL, FAST, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, CHAT, "o1", ["o1-2024-12-17"], 15.0, 7.50, 60.0, 1024, OPENAI_BIG, REASONING, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, CHAT, "o3", ["o3-2025-04-16"], 2.0, 0.50, 8.0, 1024, OPENAI_BIG, REASONING, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, CHAT, "o4-mini", ["o4-mini-2025-04-16"], 1.10, 0.275, 4.40, 1024, OPENAI_BIG, REASONING, "2026-07", OPENAI_SRC),
    prefix_cached!(OA, EMB, "text-embedding-3-small", [], 0.02, 0.02, 0.0, u32::MAX, EMBED_LIMITS, EMBED, "2026", EMBED_SRC),
    prefix_cached!(OA, EMB, "text-embedding-3-large", [], 0.13, 0.13, 0.0, u32::MAX, EMBED_LIMITS, EMBED, "2026", EMBED_SRC),
    prefix_cached!(OA, EMB, "text-embedding-ada-002", [], 0.10, 0.10, 0.0, u32::MAX, EMBED_LIMITS, EMBED, "2026", EMBED_SRC),
    // Google: implicit caching, no write fee (minimums unconfirmed here).
    prefix_cached!(GO, CHAT, "gemini-2.5-pro", [], 1.25, 0.125, 10.0, 2048, GOOGLE_LIMITS, REASONING, "2026", GOOGLE_SRC),
    prefix_cached!(GO, CHAT, "gemini-2.5-flash", [], 0.30, 0.03, 2.50, 1024, GOOGLE_LIMITS, FAST, "2026", GOOGLE_SRC),
    prefix_cached!(GO, CHAT, "gemini-2.5-flash-lite", [], 0.10, 0.01, 0.40, 1024, GOOGLE_LIMITS, FAST, "2026", GOOGLE_SRC),
    // The seed article's February 2026 table, so its budgets reproduce to the cent. Cache prices
    // are those of the model each name meant then (Claude 3 Haiku, Sonnet 4.x, Opus 4.x).
    anthropic!("article-claude-haiku", [], 0.25, 0.30, 0.50, 0.03, 1.25, 2048, ANTHROPIC_SMALL, FAST, "2026-02", ARTICLE_SRC),
    anthropic!("article-claude-sonnet", [], 3.0, 3.75, 6.0, 0.30, 15.0, 1024, ANTHROPIC_BIG, MID, "2026-02", ARTICLE_SRC),
    anthropic!("article-claude-opus", [], 15.0, 18.75, 30.0, 1.50, 75.0, 1024, ANTHROPIC_BIG, SLOW, "2026-02", ARTICLE_SRC),
    prefix_cached!(OA, CHAT, "article-gpt-4o", [], 2.50, 1.25, 10.0, 1024, OPENAI_BIG, MID, "2026-02", ARTICLE_SRC),
    prefix_cached!(OA, CHAT, "article-gpt-4o-mini", [], 0.15, 0.075, 0.60, 1024, OPENAI_SMALL, FAST, "2026-02", ARTICLE_SRC),
    prefix_cached!(OA, CHAT, "article-o1", [], 15.0, 7.50, 60.0, 1024, OPENAI_BIG, REASONING, "2026-02", ARTICLE_SRC),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_the_same_entry() {
        let c = Catalog::builtin();
        assert_eq!(
            c.get("claude-sonnet-4-5-20250929").unwrap().id,
            "claude-sonnet-4-5"
        );
        assert_eq!(c.get("gpt-4o-mini-2024-07-18").unwrap().id, "gpt-4o-mini");
        assert!(c.get("gpt-7").is_none());
    }

    #[test]
    fn provider_billing_rules_differ() {
        let c = Catalog::builtin();
        let tokens = TokenCounts {
            input: 1000,
            cache_write: 2000,
            cache_read: 3000,
            output: 100,
        };
        // Anthropic Sonnet: 1000*3 + 2000*3.75 + 3000*0.30 + 100*15 per MTok.
        let sonnet = c.get("claude-sonnet-4-5").unwrap();
        let cost = sonnet.cost_pusd(&tokens, CacheTtl::FiveMinutes, false);
        assert_eq!(cost.total(), (3_000 + 7_500 + 900 + 1_500) * 1_000_000);
        let cost_1h = sonnet.cost_pusd(&tokens, CacheTtl::OneHour, false);
        assert_eq!(cost_1h.cache_write, 2000 * 6_000_000);
        // OpenAI gpt-4o: writes are plain input; reads at the cached price.
        let gpt = c.get("gpt-4o").unwrap();
        let cost = gpt.cost_pusd(&tokens, CacheTtl::FiveMinutes, false);
        assert_eq!(
            cost.total(),
            3000 * 2_500_000 + 3000 * 1_250_000 + 100 * 10_000_000
        );
        // Batch halves every line.
        assert_eq!(
            gpt.cost_pusd(&tokens, CacheTtl::FiveMinutes, true).total() * 2,
            cost.total()
        );
    }

    #[test]
    fn openai_caches_in_128_token_steps_from_1024() {
        let gpt = Catalog::builtin().get("gpt-4o").unwrap().clone();
        assert_eq!(gpt.cacheable_tokens(1023), 0);
        assert_eq!(gpt.cacheable_tokens(1024), 1024);
        assert_eq!(gpt.cacheable_tokens(1300), 1280);
        let haiku = Catalog::builtin().get("claude-haiku-4-5").unwrap().clone();
        assert_eq!(haiku.cacheable_tokens(4095), 0);
        assert_eq!(haiku.cacheable_tokens(4097), 4097);
    }
}
