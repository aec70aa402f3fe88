//! The built-in, dated price catalog and the one cost formula both halves of burnrate use.
//!
//! Billing differs by provider and model (provider-facts.md, provider-facts-2026-12.md):
//! - OpenAI before GPT-5.6 and Google: cached tokens are a *subset* of prompt tokens and there
//!   is no write fee, so a cache write is billed at the plain input price.
//! - OpenAI GPT-5.6 and later: a write costs 1.25x input with a 30-minute minimum lifetime
//!   (2.5x for 24-hour retention).
//! - Anthropic: uncached input, cache writes and cache reads are three separate counters, and a
//!   write costs a premium that depends on the TTL (1.25x for 5 minutes, 2x for 1 hour).
//! - Service tiers (flex, priority, batch) and long-context bands (the whole request at higher
//!   rates once the prompt passes 200k or 272k tokens) are price lists of their own, as the
//!   providers publish them (not always exact multiples); a regional uplift multiplies every
//!   line.
//!
//! [`TokenCounts`] is the provider-neutral form (uncached input, cache write, cache read, output)
//! and [`ModelSpec::bill`] prices it under a [`Billing`] (TTL, tier, region); the mock maps each
//! provider's usage fields onto it.

mod builtin;
mod tiers;

pub use tiers::UsageTier;

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// Who serves a model; decides the wire format and the cache accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    OpenAi,
    Anthropic,
    Google,
    /// Any other vendor in LiteLLM's map (DeepSeek, Mistral, Llama, ... on their own APIs or
    /// on Bedrock, Azure, Vertex): the generic billing rule (input, output, cache read, cache
    /// write as the map prices them), served on the OpenAI-compatible wire.
    Generic,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Google => "google",
            Provider::Generic => "generic",
        }
    }

    pub fn parse(s: &str) -> Option<Provider> {
        match s {
            "openai" => Some(Provider::OpenAi),
            "anthropic" => Some(Provider::Anthropic),
            "google" | "gemini" => Some(Provider::Google),
            "generic" => Some(Provider::Generic),
            _ => None,
        }
    }

    /// Whether cached tokens are reported as a subset of prompt tokens (OpenAI, Google) rather
    /// than as separate counters (Anthropic).
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

/// Prompt-cache lifetime a request asks for. Which ones a model offers, and at what write
/// price, is per model ([`ModelSpec::cache_ttls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum CacheTtl {
    #[serde(rename = "5m")]
    FiveMinutes,
    /// OpenAI GPT-5.6+ `prompt_cache_options.ttl` (a minimum; the backend may keep longer).
    #[serde(rename = "30m")]
    ThirtyMinutes,
    #[serde(rename = "1h")]
    OneHour,
    /// OpenAI extended retention (`prompt_cache_retention: "24h"`).
    #[serde(rename = "24h")]
    OneDay,
}

impl CacheTtl {
    pub const ALL: [CacheTtl; 4] = [
        CacheTtl::FiveMinutes,
        CacheTtl::ThirtyMinutes,
        CacheTtl::OneHour,
        CacheTtl::OneDay,
    ];

    pub fn seconds(self) -> f64 {
        match self {
            CacheTtl::FiveMinutes => 300.0,
            CacheTtl::ThirtyMinutes => 1_800.0,
            CacheTtl::OneHour => 3_600.0,
            CacheTtl::OneDay => 86_400.0,
        }
    }

    pub fn parse(s: &str) -> Option<CacheTtl> {
        CacheTtl::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CacheTtl::FiveMinutes => "5m",
            CacheTtl::ThirtyMinutes => "30m",
            CacheTtl::OneHour => "1h",
            CacheTtl::OneDay => "24h",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Service tier of a request: the price list it is billed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ServiceTier {
    #[default]
    Standard,
    Flex,
    Priority,
    Batch,
}

impl ServiceTier {
    pub const ALL: [ServiceTier; 4] = [
        ServiceTier::Standard,
        ServiceTier::Flex,
        ServiceTier::Priority,
        ServiceTier::Batch,
    ];

    pub fn parse(s: &str) -> Option<ServiceTier> {
        ServiceTier::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceTier::Standard => "standard",
            ServiceTier::Flex => "flex",
            ServiceTier::Priority => "priority",
            ServiceTier::Batch => "batch",
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

/// How a provider counts one request against its rate limits (checked 2026-12-06):
///
/// - Anthropic (<https://docs.anthropic.com/en/api/rate-limits>, also
///   <https://platform.claude.com/docs/en/api/rate-limits>): `input_tokens` and
///   `cache_creation_input_tokens` count against ITPM; `cache_read_input_tokens` do not, except
///   on the models marked with a dagger (Sonnet 3.5, Haiku 3.5, Opus 3, Haiku 3: every
///   `claude-3-*` id except `claude-3-7-*`). OTPM is "estimated based on max_tokens at the
///   beginning of each request, and the estimate is adjusted at the end of the request to
///   reflect the actual number of output tokens used": admitted on the cap, then refunded.
/// - OpenAI (<https://platform.openai.com/docs/guides/rate-limits>): a request is counted
///   against TPM from its prompt estimate and its `max_tokens` / `max_completion_tokens` /
///   `max_output_tokens`. The docs are silent on a refund of an unused cap and on cached
///   tokens; the rate limiter runs before the cache lookup
///   (<https://community.openai.com/t/does-prompt-caching-reduce-tpm/1138631>), so we choose
///   the conservative rule: cached tokens count and the cap is never refunded.
/// - Google and the generic providers: not researched here; the same conservative rule as
///   OpenAI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LimitRules {
    /// Cache reads count against ITPM and TPM.
    pub cache_reads_count: bool,
    /// The unused part of the output cap reserved at admission is given back when the
    /// request ends.
    pub refunds_output: bool,
    /// A request counting more than the whole TPM limit is refused at once ("Request too
    /// large for MODEL ... on tokens per min (TPM)", OpenAI's 429, which no wait cures);
    /// otherwise it is admitted once the bucket is full, into debt (Anthropic documents no
    /// such answer).
    pub refuses_oversize: bool,
}

impl LimitRules {
    /// The rules for `id` served by `provider`.
    pub fn of(provider: Provider, id: &str) -> LimitRules {
        match provider {
            Provider::Anthropic => LimitRules {
                // `article-claude-haiku` carries Haiku 3's prices (the seed article's), so
                // Haiku 3's rule; the other `article-*` prices are also Claude 4.x prices.
                cache_reads_count: (id.starts_with("claude-3-") && !id.starts_with("claude-3-7"))
                    || id == "article-claude-haiku",
                refunds_output: true,
                refuses_oversize: false,
            },
            // Generic (any other provider in LiteLLM's map): nothing documented here, conservative.
            Provider::OpenAi | Provider::Google | Provider::Generic => LimitRules {
                cache_reads_count: true,
                refunds_output: false,
                refuses_oversize: provider == Provider::OpenAi,
            },
        }
    }

    /// The pool a model shares its limits with when the scenario names none. Anthropic's
    /// rate-limit tables (<https://platform.claude.com/docs/en/api/rate-limits>, read
    /// 2026-12-07) give one row to "Claude Opus 4.x" (Opus 4.8, 4.7, 4.6 and 4.5 combined;
    /// the older Opus 4 and 4.1 shared it too) and one to "Claude Sonnet 4.x" (Sonnet 4.6 and
    /// 4.5 combined). OpenAI's family sharing is not listed model by model in its docs, so no
    /// default pool there: say `rate_limit_pool` in the scenario.
    pub fn default_pool(provider: Provider, id: &str) -> Option<&'static str> {
        if provider != Provider::Anthropic {
            return None;
        }
        if id.starts_with("claude-opus-4") {
            Some("claude-opus-4.x")
        } else if ["claude-sonnet-4-6", "claude-sonnet-4-5"]
            .iter()
            .any(|p| id.starts_with(p))
        {
            Some("claude-sonnet-4.x")
        } else {
            None
        }
    }

    /// Input tokens counted against ITPM/TPM for a request reading `cache_read` of its
    /// `input_total` tokens from the cache.
    pub fn counted_input(self, input_total: u64, cache_read: u64) -> u64 {
        if self.cache_reads_count {
            input_total
        } else {
            input_total - cache_read.min(input_total)
        }
    }
}

/// Mean latency of a call: time to first token, then a time per output token. The engine draws
/// each call's latency from a lognormal with this mean and `cv`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub time_to_first_token_s: f64,
    pub time_per_output_token_s: f64,
    pub cv: f64,
}

fn ser_writes<S: Serializer>(w: &[u64; 4], s: S) -> Result<S::Ok, S::Error> {
    let map: BTreeMap<&str, u64> = CacheTtl::ALL
        .iter()
        .filter(|t| w[t.index()] > 0)
        .map(|t| (t.as_str(), w[t.index()]))
        .collect();
    map.serialize(s)
}

/// One price list, pUSD per token (see [`crate::money`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Rates {
    pub input_pusd: u64,
    pub output_pusd: u64,
    pub cache_read_pusd: u64,
    /// Write price per TTL, indexed by [`CacheTtl`] order; only offered TTLs are meaningful.
    #[serde(rename = "cache_write_pusd", serialize_with = "ser_writes")]
    pub cache_write_pusd: [u64; 4],
}

impl Rates {
    pub fn cache_write(&self, ttl: CacheTtl) -> u64 {
        self.cache_write_pusd[ttl.index()]
    }

    pub fn set_cache_write(&mut self, ttl: CacheTtl, pusd: u64) {
        self.cache_write_pusd[ttl.index()] = pusd;
    }

    /// Every line times `num / den` (floor): derived tiers.
    fn scaled(&self, num: u64, den: u64) -> Rates {
        let f = |p: u64| (u128::from(p) * u128::from(num) / u128::from(den.max(1))) as u64;
        Rates {
            input_pusd: f(self.input_pusd),
            output_pusd: f(self.output_pusd),
            cache_read_pusd: f(self.cache_read_pusd),
            cache_write_pusd: self.cache_write_pusd.map(f),
        }
    }

    /// `self` scaled line by line by `tier / base` (how a long-context band lacking a tier
    /// derives it from the short-context ratio).
    fn ratio_scaled(&self, tier: &Rates, base: &Rates) -> Rates {
        let f = |p: u64, t: u64, b: u64| {
            if b == 0 {
                t
            } else {
                (u128::from(p) * u128::from(t) / u128::from(b)) as u64
            }
        };
        let mut w = [0; 4];
        for (i, slot) in w.iter_mut().enumerate() {
            *slot = f(
                self.cache_write_pusd[i],
                tier.cache_write_pusd[i],
                base.cache_write_pusd[i],
            );
        }
        Rates {
            input_pusd: f(self.input_pusd, tier.input_pusd, base.input_pusd),
            output_pusd: f(self.output_pusd, tier.output_pusd, base.output_pusd),
            cache_read_pusd: f(
                self.cache_read_pusd,
                tier.cache_read_pusd,
                base.cache_read_pusd,
            ),
            cache_write_pusd: w,
        }
    }
}

/// The price lists of one context band: standard, and the tiers the model offers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PriceBand {
    pub standard: Rates,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flex: Option<Rates>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Rates>,
    /// Batch API prices; when absent, `batch_discount_percent` off standard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<Rates>,
}

impl PriceBand {
    pub fn tier(&self, tier: ServiceTier) -> Option<&Rates> {
        match tier {
            ServiceTier::Standard => Some(&self.standard),
            ServiceTier::Flex => self.flex.as_ref(),
            ServiceTier::Priority => self.priority.as_ref(),
            ServiceTier::Batch => self.batch.as_ref(),
        }
    }

    pub fn tier_mut(&mut self, tier: ServiceTier) -> &mut Option<Rates> {
        match tier {
            ServiceTier::Standard => unreachable!("standard is not optional"),
            ServiceTier::Flex => &mut self.flex,
            ServiceTier::Priority => &mut self.priority,
            ServiceTier::Batch => &mut self.batch,
        }
    }
}

/// Long-context pricing: once a request's prompt (all input, cached or not) exceeds
/// `above_input_tokens`, the whole request is billed from `prices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LongContext {
    pub above_input_tokens: u64,
    pub prices: PriceBand,
}

/// One model's prices, billing rules and limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpec {
    pub id: String,
    pub aliases: Vec<String>,
    pub provider: Provider,
    pub kind: ModelKind,
    /// Prices for prompts up to the long-context threshold.
    pub prices: PriceBand,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_context: Option<LongContext>,
    /// Cache lifetimes the model offers, the default first.
    pub cache_ttls: Vec<CacheTtl>,
    /// Below this many prefix tokens nothing is cached (and nothing fails).
    pub min_cacheable_tokens: u32,
    /// Cache hits come in steps of this many tokens (128 for OpenAI, 1 for Anthropic).
    pub cache_granularity_tokens: u32,
    /// Percent off every line for the batch API when `prices.batch` is not given.
    pub batch_discount_percent: u32,
    /// Regional (or compliance) processing uplift by region name, per mille (1100 = 1.1x).
    pub regions: BTreeMap<String, u32>,
    /// Bills hidden reasoning (thinking) tokens, as output.
    pub reasoning: bool,
    pub max_input_tokens: Option<u64>,
    pub max_output_tokens: Option<u64>,
    /// The provider retires the model on this day (`YYYY-MM-DD`).
    pub deprecation_date: Option<String>,
    /// What the provider suggests instead.
    pub successor: Option<String>,
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
    /// Input tokens written to the cache (billed at the model's write price for the TTL).
    pub cache_write: u64,
    /// Input tokens read from the cache.
    pub cache_read: u64,
    /// Output tokens, reasoning tokens included (both bill as output).
    pub output: u64,
}

impl TokenCounts {
    pub fn total_input(&self) -> u64 {
        self.input + self.cache_write + self.cache_read
    }
}

/// One band's prices as a [`PriceCard`] bills them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CardRates {
    input_pusd: u64,
    cache_write_pusd: u64,
    cache_read_pusd: u64,
    output_pusd: u64,
    /// No write premium: written tokens bill as input ([`ModelSpec::writes_as_input`]).
    writes_as_input: bool,
}

/// A model's prices for one way of billing ([`ModelSpec::price_card`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceCard {
    short: CardRates,
    /// (threshold in prompt tokens, the prices above it).
    long: Option<(u64, CardRates)>,
    uplift_permille: u32,
}

impl PriceCard {
    /// Exact cost of one call: [`ModelSpec::bill`] with the card's billing.
    #[inline]
    pub fn bill(&self, tokens: &TokenCounts) -> CostBreakdown {
        let prompt = tokens.input + tokens.cache_read + tokens.cache_write;
        let r = match self.long {
            Some((above, long)) if prompt > above => long,
            _ => self.short,
        };
        let uplift = u128::from(self.uplift_permille);
        let line = |n: u64, price: u64| (u128::from(n) * u128::from(price) * uplift / 1000) as u64;
        let write = line(tokens.cache_write, r.cache_write_pusd);
        let (input_extra, cache_write) = if r.writes_as_input {
            (write, 0)
        } else {
            (0, write)
        };
        CostBreakdown {
            input: line(tokens.input, r.input_pusd) + input_extra,
            cache_write,
            cache_read: line(tokens.cache_read, r.cache_read_pusd),
            output: line(tokens.output, r.output_pusd),
        }
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

/// How one request is billed beyond its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Billing {
    pub ttl: CacheTtl,
    pub tier: ServiceTier,
    /// Regional uplift per mille (1000 = none).
    pub uplift_permille: u32,
}

impl Billing {
    pub fn standard(ttl: CacheTtl) -> Billing {
        Billing {
            ttl,
            tier: ServiceTier::Standard,
            uplift_permille: 1000,
        }
    }
}

/// Why a model cannot be billed the way a scenario asks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    #[error("model `{model}` does not offer cache TTL `{asked}`; it offers: {offered}")]
    Ttl {
        model: String,
        asked: String,
        offered: String,
    },
    #[error("model `{model}` does not offer the `{asked}` tier; it offers: {offered}")]
    Tier {
        model: String,
        asked: String,
        offered: String,
    },
    #[error("model `{model}` has no regional price for `{asked}`; it has: {offered}")]
    Region {
        model: String,
        asked: String,
        offered: String,
    },
}

impl ModelSpec {
    /// Google's explicit context-cache storage price in pUSD per token per hour: $4.50 per
    /// million tokens per hour on Pro models, $1.00 on Flash and Flash-Lite
    /// (<https://ai.google.dev/gemini-api/docs/pricing>, "Context caching price ... storage").
    /// LiteLLM's map does not carry it. `None` for models that do not cache and other providers.
    pub fn cache_storage_pusd_per_token_hour(&self) -> Option<u64> {
        if self.provider != Provider::Google || self.cache_ttls.is_empty() {
            return None;
        }
        Some(if self.id.contains("-pro") {
            4_500_000
        } else {
            1_000_000
        })
    }

    /// How this model's provider counts its requests against rate limits.
    pub fn limit_rules(&self) -> LimitRules {
        LimitRules::of(self.provider, &self.id)
    }

    /// Standard input price for prompts below the long-context threshold.
    pub fn input_pusd(&self) -> u64 {
        self.prices.standard.input_pusd
    }

    /// Standard output price for prompts below the long-context threshold.
    pub fn output_pusd(&self) -> u64 {
        self.prices.standard.output_pusd
    }

    /// The TTL a cached request gets when it does not ask for one.
    pub fn default_ttl(&self) -> CacheTtl {
        self.cache_ttls
            .first()
            .copied()
            .unwrap_or(CacheTtl::FiveMinutes)
    }

    pub fn offers_ttl(&self, ttl: CacheTtl) -> Result<(), BillingError> {
        if self.cache_ttls.contains(&ttl) {
            return Ok(());
        }
        Err(BillingError::Ttl {
            model: self.id.clone(),
            asked: ttl.as_str().to_string(),
            offered: list(self.cache_ttls.iter().map(|t| t.as_str())),
        })
    }

    /// Tiers the model can be billed at (batch always: a discount when not priced).
    pub fn tiers(&self) -> Vec<ServiceTier> {
        ServiceTier::ALL
            .into_iter()
            .filter(|t| *t == ServiceTier::Batch || self.prices.tier(*t).is_some())
            .collect()
    }

    pub fn offers_tier(&self, tier: ServiceTier) -> Result<(), BillingError> {
        if self.tiers().contains(&tier) {
            return Ok(());
        }
        Err(BillingError::Tier {
            model: self.id.clone(),
            asked: tier.as_str().to_string(),
            offered: list(self.tiers().iter().map(|t| t.as_str())),
        })
    }

    /// The uplift of `region`, per mille.
    pub fn region_uplift(&self, region: &str) -> Result<u32, BillingError> {
        self.regions
            .get(region)
            .copied()
            .ok_or_else(|| BillingError::Region {
                model: self.id.clone(),
                asked: region.to_string(),
                offered: if self.regions.is_empty() {
                    "none (the provider prices every region alike)".to_string()
                } else {
                    list(self.regions.keys().map(String::as_str))
                },
            })
    }

    /// The price list a request of `prompt_tokens` input tokens is billed from.
    pub fn rates(&self, tier: ServiceTier, prompt_tokens: u64) -> Rates {
        let short = self.band_rates(&self.prices, tier);
        match &self.long_context {
            Some(lc) if prompt_tokens > lc.above_input_tokens => match lc.prices.tier(tier) {
                Some(r) => *r,
                // The long band lacks this tier: apply the short band's tier ratio to the
                // long standard prices (exact for the usual 0.5x / 2x tiers).
                None => lc
                    .prices
                    .standard
                    .ratio_scaled(&short, &self.prices.standard),
            },
            _ => short,
        }
    }

    fn band_rates(&self, band: &PriceBand, tier: ServiceTier) -> Rates {
        match (band.tier(tier), tier) {
            (Some(r), _) => *r,
            (None, ServiceTier::Batch) => band
                .standard
                .scaled(u64::from(100 - self.batch_discount_percent.min(100)), 100),
            // Validation rejects tiers a model does not offer; standard is the safe reading.
            (None, _) => band.standard,
        }
    }

    /// Exact cost of one call: the tier's (and, past the threshold, the long-context) prices,
    /// the write price of the TTL, and the regional uplift on every line.
    pub fn bill(&self, tokens: &TokenCounts, billing: &Billing) -> CostBreakdown {
        self.bill_writes(
            &TokenCounts {
                cache_write: 0,
                ..*tokens
            },
            &[(billing.ttl, tokens.cache_write)],
            billing,
        )
    }

    /// The prices of calls billed with `billing`, resolved once (tier, long-context band,
    /// the TTL's write price, uplift), so a run bills each call with a few multiplications:
    /// [`PriceCard::bill`] equals [`ModelSpec::bill`] for every token count.
    pub fn price_card(&self, billing: &Billing) -> PriceCard {
        let card = |r: Rates| CardRates {
            input_pusd: r.input_pusd,
            cache_write_pusd: r.cache_write(billing.ttl),
            cache_read_pusd: r.cache_read_pusd,
            output_pusd: r.output_pusd,
            writes_as_input: self.writes_as_input(&r, billing.ttl),
        };
        PriceCard {
            short: card(self.rates(billing.tier, 0)),
            long: self.long_context.as_ref().map(|lc| {
                (
                    lc.above_input_tokens,
                    card(self.rates(billing.tier, lc.above_input_tokens + 1)),
                )
            }),
            uplift_permille: billing.uplift_permille,
        }
    }

    /// [`ModelSpec::bill`] for a request whose cache writes have several TTLs (Anthropic 5m and
    /// 1h breakpoints in one request): `tokens.cache_write` is ignored and each `(ttl, n)` of
    /// `writes` is billed at that TTL's write price (`billing.ttl` is not used). The
    /// long-context threshold sees the whole prompt, writes of every TTL included.
    pub fn bill_writes(
        &self,
        tokens: &TokenCounts,
        writes: &[(CacheTtl, u64)],
        billing: &Billing,
    ) -> CostBreakdown {
        let written: u64 = writes.iter().map(|(_, n)| n).sum();
        let r = self.rates(billing.tier, tokens.input + tokens.cache_read + written);
        let line = |n: u64, price: u64| {
            (u128::from(n) * u128::from(price) * u128::from(billing.uplift_permille) / 1000) as u64
        };
        let (mut input_extra, mut cache_write) = (0, 0);
        for &(ttl, n) in writes {
            let write = line(n, r.cache_write(ttl));
            // Providers without a write premium bill written tokens as plain input (OpenAI
            // before GPT-5.6, Google): they show as input spend, not cache-write spend.
            if self.writes_as_input(&r, ttl) {
                input_extra += write;
            } else {
                cache_write += write;
            }
        }
        CostBreakdown {
            input: line(tokens.input, r.input_pusd) + input_extra,
            cache_write,
            cache_read: line(tokens.cache_read, r.cache_read_pusd),
            output: line(tokens.output, r.output_pusd),
        }
    }

    /// Whether the model bills cache writes above the input price (OpenAI GPT-5.6 and later,
    /// Anthropic): for OpenAI models, the ones that take `prompt_cache_options`.
    pub fn has_write_premium(&self) -> bool {
        let s = &self.prices.standard;
        self.cache_ttls
            .iter()
            .any(|t| s.cache_write(*t) > s.input_pusd)
    }

    /// Whether a cache write is billed as plain input (no premium).
    pub fn writes_as_input(&self, rates: &Rates, ttl: CacheTtl) -> bool {
        self.provider.cache_is_prompt_subset() && rates.cache_write(ttl) == rates.input_pusd
    }

    /// Exact cost of one call at the standard tier (or the batch tier with `batch`), no
    /// regional uplift.
    pub fn cost_pusd(&self, tokens: &TokenCounts, ttl: CacheTtl, batch: bool) -> CostBreakdown {
        let tier = if batch {
            ServiceTier::Batch
        } else {
            ServiceTier::Standard
        };
        self.bill(
            tokens,
            &Billing {
                ttl,
                tier,
                uplift_permille: 1000,
            },
        )
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

    /// Whether the model is retired on `as_of` (`YYYY-MM-DD`; ISO dates compare as strings).
    pub fn retired_on(&self, as_of: &str) -> bool {
        self.deprecation_date.as_deref().is_some_and(|d| d <= as_of)
    }
}

/// Up to `n` of `names` nearest to `name` by Levenshtein distance, closest first (ties by name).
pub fn nearest<'a>(names: impl Iterator<Item = &'a str>, name: &str, n: usize) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &str)> = names.map(|c| (strsim::levenshtein(name, c), c)).collect();
    scored.sort_unstable();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// Whether `s` is a calendar date `YYYY-MM-DD` (so dates compare as strings).
pub fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if !b[..4]
        .iter()
        .chain(&b[5..7])
        .chain(&b[8..])
        .all(u8::is_ascii_digit)
    {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// The price catalog: models by id, with aliases.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    models: BTreeMap<String, ModelSpec>,
    #[serde(skip)]
    aliases: BTreeMap<String, String>,
}

impl Catalog {
    /// The built-in catalog: the current first-party models of LiteLLM's December 2026 price
    /// map (generated, see `catalog/builtin.rs`), older models kept with their retirement
    /// dates, and the seed article's February 2026 prices as `article-*` entries.
    pub fn builtin() -> Catalog {
        let mut catalog = Catalog::default();
        for spec in builtin::models() {
            catalog.insert(spec);
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

    /// Up to `n` ids and aliases nearest to `name` by edit distance (ties by name), for
    /// "did you mean" answers to an unknown model.
    pub fn nearest(&self, name: &str, n: usize) -> Vec<&str> {
        nearest(self.names(), name, n)
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}

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
        assert_eq!(
            c.get("claude-opus-4-6-20260205").unwrap().id,
            "claude-opus-4-6"
        );
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
        let sonnet = c.get("claude-sonnet-4-6").unwrap();
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
    fn writes_of_two_ttls_bill_once_with_the_whole_prompt() {
        let c = Catalog::builtin();
        let sonnet = c.get("claude-sonnet-4-6").unwrap();
        let tokens = TokenCounts {
            input: 100,
            cache_write: 0,
            cache_read: 1_000,
            output: 50,
        };
        let writes = [(CacheTtl::FiveMinutes, 2_000), (CacheTtl::OneHour, 3_000)];
        let cost = sonnet.bill_writes(&tokens, &writes, &Billing::standard(CacheTtl::FiveMinutes));
        // $/MTok: 100*3 + 2000*3.75 + 3000*6 + 1000*0.30 + 50*15 = 300+7500+18000+300+750.
        assert_eq!(cost.input, 300 * 1_000_000);
        assert_eq!(cost.cache_write, (7_500 + 18_000) * 1_000_000);
        assert_eq!(cost.cache_read, 300 * 1_000_000);
        assert_eq!(cost.output, 750 * 1_000_000);
        // One TTL through `bill_writes` equals `bill`.
        let one = TokenCounts {
            cache_write: 2_000,
            ..tokens
        };
        let b = Billing::standard(CacheTtl::OneHour);
        assert_eq!(
            sonnet.bill(&one, &b),
            sonnet.bill_writes(&tokens, &[(CacheTtl::OneHour, 2_000)], &b)
        );
        // The long-context threshold sees writes of every TTL: gpt-5.6 (272k threshold) with
        // 100k uncached, 100k written at 30m and 100k at 24h is a 300k prompt, so every line
        // is at the long rates: input 8, 30m write 10, 24h write 20, output 30 $/MTok.
        let gpt = c.get("gpt-5.6").unwrap();
        let t = TokenCounts {
            input: 100_000,
            cache_write: 0,
            cache_read: 0,
            output: 1_000,
        };
        let w = [
            (CacheTtl::ThirtyMinutes, 100_000),
            (CacheTtl::OneDay, 100_000),
        ];
        let cost = gpt.bill_writes(&t, &w, &Billing::standard(CacheTtl::ThirtyMinutes));
        assert_eq!(cost.input, 100_000 * 8_000_000);
        assert_eq!(cost.cache_write, 100_000 * (10_000_000 + 20_000_000));
        assert_eq!(cost.output, 1_000 * 30_000_000);
        // The same split in two separate bills would have missed the threshold.
        let part = gpt.bill_writes(
            &t,
            &[(CacheTtl::ThirtyMinutes, 100_000)],
            &Billing::standard(CacheTtl::ThirtyMinutes),
        );
        assert_eq!(part.input, 100_000 * 4_000_000);
    }

    #[test]
    fn nearest_names_by_edit_distance() {
        let c = Catalog::builtin();
        assert_eq!(c.nearest("gpt-5.66", 1), vec!["gpt-5.6"]);
        assert_eq!(c.nearest("claude-sonet-4-6", 1), vec!["claude-sonnet-4-6"]);
        assert_eq!(c.nearest("x", 3).len(), 3);
        let c = Catalog::builtin();
        assert!(c.get("gpt-5.6").unwrap().has_write_premium());
        assert!(!c.get("gpt-5.4").unwrap().has_write_premium());
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

    #[test]
    fn iso_dates_are_checked() {
        assert!(is_iso_date("2026-12-01"));
        assert!(is_iso_date("2028-02-29"));
        assert!(!is_iso_date("2026-02-29"));
        assert!(!is_iso_date("2026-13-01"));
        assert!(!is_iso_date("2026-1-01"));
        assert!(!is_iso_date("2026-12-0x"));
    }
}
