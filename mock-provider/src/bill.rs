//! One request's bill: its tokens by kind, and what they cost. The bottom of the mock's
//! billing: the pipeline prices into it, the ledger, the log and the metrics read it.

use burnrate_sim::ServiceTier;

/// Token counts of one call by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub cache_write_5m: u64,
    /// OpenAI GPT-5.6+ writes (`prompt_cache_options.ttl = "30m"`).
    pub cache_write_30m: u64,
    pub cache_write_1h: u64,
    /// OpenAI GPT-5.6+ writes with `prompt_cache_retention: "24h"`.
    pub cache_write_24h: u64,
    pub cache_read: u64,
    /// Output tokens, reasoning (thinking) tokens included: both bill as output.
    pub output: u64,
    /// The reasoning part of `output`.
    pub reasoning: u64,
}

impl Tokens {
    /// Every cache write, of any TTL.
    pub fn cache_write(&self) -> u64 {
        self.cache_write_5m + self.cache_write_30m + self.cache_write_1h + self.cache_write_24h
    }
}

/// Tokens and cost of one request, provider-neutral.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Charged {
    pub tokens: Tokens,
    pub cost_pusd: u64,
    pub batch: bool,
    /// The price list the request was billed from.
    pub tier: ServiceTier,
}
