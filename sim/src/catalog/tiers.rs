//! Usage tiers: the rate limits a provider publishes per tier and model class, and the tier's
//! monthly spend cap, dated and sourced like prices. A scenario's (or the mock's)
//! `usage_tier = "build"` takes its limits from here; limits written out still override.
//!
//! Sources (read 2026-12-07; docs/capacity.md has the notes and what is left out):
//! - Anthropic, <https://platform.claude.com/docs/en/api/rate-limits>: the Start, Build and
//!   Scale tiers ("Monthly spend cap" $500, $1,000, $200,000; Custom has none, Evaluation
//!   publishes no figures) and their per-class RPM/ITPM/OTPM tabs. "Claude Opus 4.x" is one
//!   limit for Opus 4.8, 4.7, 4.6 and 4.5 combined, "Claude Sonnet 4.x" for Sonnet 4.6 and
//!   4.5; Fable 5.x and Mythos 5.x have lower limits; Haiku 3.5's ITPM counts cache reads (†).
//!   These replaced Tier 1-4 in mid-2026, so `tier-N` is not an Anthropic tier any more.
//! - OpenAI, <https://platform.openai.com/docs/guides/rate-limits> ("Usage tiers": monthly
//!   usage limit $100, $500, $1,000, $5,000, $200,000 for Tier 1-5) and the model pages for
//!   per-tier RPM and TPM (<https://developers.openai.com/api/docs/models/gpt-5.5>, `gpt-5-mini`,
//!   `gpt-5-nano`). gpt-5's own page rows were not found: its TPM (500K, 1M, 2M, 4M, 40M) is
//!   Simon Willison's record of OpenAI's September 2025 raise
//!   (<https://simonwillison.net/2025/Sep/12/gpt-5-rate-limits>), equal to gpt-5.5's row, whose
//!   RPM it takes.

use super::{Provider, RateLimits};

/// One published tier of one provider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageTier {
    pub provider: Provider,
    /// The name a scenario writes: Anthropic `start`, `build`, `scale`; OpenAI `tier-1` ...
    /// `tier-5`.
    pub name: &'static str,
    /// The most the organization may spend in a month on this tier, USD.
    pub monthly_spend_cap_usd: u64,
    classes: &'static [TierClass],
}

/// The limits of one model class within a tier.
#[derive(Debug, Clone, Copy, PartialEq)]
struct TierClass {
    /// As the provider's table names it, e.g. "Claude Sonnet 4.x".
    label: &'static str,
    /// Model ids of the class (see `matches`).
    ids: &'static [&'static str],
    limits: RateLimits,
}

impl TierClass {
    /// `id` is one of the class's ids, or one with a dated snapshot suffix
    /// (`gpt-5-2025-08-07`, `claude-sonnet-4-5-20250929`; not `claude-sonnet-5-5`, another
    /// class).
    fn matches(&self, id: &str) -> bool {
        self.ids.iter().any(|p| {
            id == *p
                || id
                    .strip_prefix(p)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|date| {
                        let digits: String = date.chars().filter(|c| *c != '-').collect();
                        digits.len() == 8 && digits.chars().all(|c| c.is_ascii_digit())
                    })
        })
    }
}

impl UsageTier {
    /// The class label and limits this tier gives `model_id`, if the provider's table lists
    /// its class.
    pub fn limits_for(&self, model_id: &str) -> Option<(&'static str, RateLimits)> {
        self.classes
            .iter()
            .find(|c| c.matches(model_id))
            .map(|c| (c.label, c.limits))
    }

    /// The model classes this tier lists, as the provider names them.
    pub fn class_labels(&self) -> Vec<&'static str> {
        self.classes.iter().map(|c| c.label).collect()
    }

    /// The tiers of `provider`, lowest first.
    pub fn of(provider: Provider) -> impl Iterator<Item = &'static UsageTier> {
        TIERS.iter().filter(move |t| t.provider == provider)
    }

    /// The tier `name` of `provider`.
    pub fn find(provider: Provider, name: &str) -> Option<&'static UsageTier> {
        Self::of(provider).find(|t| t.name == name)
    }

    /// The tier called `name`, whichever provider publishes it (each name is one
    /// provider's: Anthropic's are words, OpenAI's numbered).
    pub fn find_any(name: &str) -> Option<&'static UsageTier> {
        TIERS.iter().find(|t| t.name == name)
    }

    /// Every tier name, provider by provider, for error messages: "anthropic: tier-1, ...".
    pub fn allowed() -> String {
        [Provider::Anthropic, Provider::OpenAi]
            .iter()
            .map(|p| {
                let names: Vec<&str> = Self::of(*p).map(|t| t.name).collect();
                format!("{} {}", p.as_str(), names.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The tier `name` of `provider`, or a message saying which names are allowed.
    pub fn named(
        provider: Provider,
        model_id: &str,
        name: &str,
    ) -> Result<&'static UsageTier, String> {
        Self::find(provider, name).ok_or_else(|| {
            let own: Vec<&str> = Self::of(provider).map(|t| t.name).collect();
            if own.is_empty() {
                format!(
                    "unknown usage tier `{name}` for `{model_id}`: {} publishes no usage tiers burnrate knows; write the limits instead (tiers: {})",
                    provider.as_str(),
                    Self::allowed()
                )
            } else {
                format!(
                    "unknown usage tier `{name}` for `{model_id}`; use one of: {}",
                    own.join(", ")
                )
            }
        })
    }

    /// The limits tier `name` of `provider` gives `model_id`, or a message saying why none
    /// (unknown tier, or a model class the tier's table does not list).
    pub fn limits_of(provider: Provider, model_id: &str, name: &str) -> Result<RateLimits, String> {
        let tier = Self::named(provider, model_id, name)?;
        tier.limits_for(model_id).map(|(_, l)| l).ok_or_else(|| {
            format!(
                "{} `{name}` lists no limits for `{model_id}`'s model class (it lists: {}); write its request and token limits instead",
                provider.as_str(),
                tier.class_labels().join(", ")
            )
        })
    }
}

const fn rpm_itpm_otpm(rpm: u64, itpm: u64, otpm: u64) -> RateLimits {
    RateLimits {
        requests_per_minute: Some(rpm),
        tokens_per_minute: None,
        input_tokens_per_minute: Some(itpm),
        output_tokens_per_minute: Some(otpm),
    }
}

const fn rpm_tpm(rpm: u64, tpm: u64) -> RateLimits {
    RateLimits {
        requests_per_minute: Some(rpm),
        tokens_per_minute: Some(tpm),
        input_tokens_per_minute: None,
        output_tokens_per_minute: None,
    }
}

// Anthropic's model classes, as the Start/Build/Scale tabs name them. The seed article's
// models take the class whose prices they carry: Sonnet 4.x, Opus 4.x, and for Haiku (Haiku
// 3's prices, a dagger model) Haiku 3.5's.
const OPUS_4: &[&str] = &[
    "claude-opus-4-8",
    "claude-opus-4-7",
    "claude-opus-4-6",
    "claude-opus-4-5",
    "article-claude-opus",
];
const SONNET_4: &[&str] = &[
    "claude-sonnet-4-6",
    "claude-sonnet-4-5",
    "article-claude-sonnet",
];
const HAIKU_4_5: &[&str] = &["claude-haiku-4-5"];
const OPUS_5: &[&str] = &["claude-opus-5"];
const SONNET_5: &[&str] = &["claude-sonnet-5"];
const FABLE_5: &[&str] = &["claude-fable-5", "claude-fable-5-1"];
const MYTHOS_5: &[&str] = &["claude-mythos-5", "claude-mythos-5-1"];
const HAIKU_3_5: &[&str] = &["claude-3-5-haiku", "article-claude-haiku"];

macro_rules! class {
    ($label:literal, $ids:expr, $limits:expr) => {
        TierClass {
            label: $label,
            ids: $ids,
            limits: $limits,
        }
    };
}

/// An Anthropic tier: every current class has the same limits but Fable/Mythos 5.x (lower)
/// and Haiku 3.5.
macro_rules! anthropic_tier {
    ($name:literal, $cap:literal, current $c:expr, fable $f:expr, haiku35 $h:expr) => {
        UsageTier {
            provider: Provider::Anthropic,
            name: $name,
            monthly_spend_cap_usd: $cap,
            classes: &[
                class!("Claude Opus 4.x", OPUS_4, $c),
                class!("Claude Sonnet 4.x", SONNET_4, $c),
                class!("Claude Haiku 4.5", HAIKU_4_5, $c),
                class!("Claude Opus 5", OPUS_5, $c),
                class!("Claude Sonnet 5", SONNET_5, $c),
                class!("Claude Fable 5.x", FABLE_5, $f),
                class!("Claude Mythos 5.x", MYTHOS_5, $f),
                class!("Claude Haiku 3.5", HAIKU_3_5, $h),
            ],
        }
    };
}

// OpenAI's model classes, as its model pages list them.
const GPT_5: &[&str] = &["gpt-5", "gpt-5.5", "gpt-5.6-sol", "gpt-5.6-terra"];
const GPT_5_MINI: &[&str] = &["gpt-5-mini", "gpt-5.4-mini", "gpt-5.6-luna"];
const GPT_5_NANO: &[&str] = &["gpt-5-nano"];

macro_rules! openai_tier {
    ($name:literal, $cap:literal, gpt5 $g:expr, mini $m:expr, nano $n:expr) => {
        UsageTier {
            provider: Provider::OpenAi,
            name: $name,
            monthly_spend_cap_usd: $cap,
            classes: &[
                class!("GPT-5, GPT-5.5, GPT-5.6 sol/terra", GPT_5, $g),
                class!("GPT-5 mini, GPT-5.4 mini, GPT-5.6 luna", GPT_5_MINI, $m),
                class!("GPT-5 nano", GPT_5_NANO, $n),
            ],
        }
    };
}

static TIERS: &[UsageTier] = &[
    anthropic_tier!("start", 500,
        current rpm_itpm_otpm(1_000, 2_000_000, 400_000),
        fable rpm_itpm_otpm(1_000, 500_000, 100_000),
        haiku35 rpm_itpm_otpm(1_000, 100_000, 20_000)),
    anthropic_tier!("build", 1_000,
        current rpm_itpm_otpm(5_000, 5_000_000, 1_000_000),
        fable rpm_itpm_otpm(2_000, 1_500_000, 300_000),
        haiku35 rpm_itpm_otpm(2_000, 200_000, 40_000)),
    anthropic_tier!("scale", 200_000,
        current rpm_itpm_otpm(10_000, 10_000_000, 2_000_000),
        fable rpm_itpm_otpm(4_000, 4_000_000, 800_000),
        haiku35 rpm_itpm_otpm(4_000, 400_000, 80_000)),
    openai_tier!("tier-1", 100,
        gpt5 rpm_tpm(500, 500_000),
        mini rpm_tpm(500, 500_000),
        nano rpm_tpm(500, 200_000)),
    openai_tier!("tier-2", 500,
        gpt5 rpm_tpm(5_000, 1_000_000),
        mini rpm_tpm(5_000, 2_000_000),
        nano rpm_tpm(5_000, 2_000_000)),
    openai_tier!("tier-3", 1_000,
        gpt5 rpm_tpm(5_000, 2_000_000),
        mini rpm_tpm(5_000, 4_000_000),
        nano rpm_tpm(5_000, 4_000_000)),
    openai_tier!("tier-4", 5_000,
        gpt5 rpm_tpm(10_000, 4_000_000),
        mini rpm_tpm(10_000, 10_000_000),
        nano rpm_tpm(10_000, 10_000_000)),
    openai_tier!("tier-5", 200_000,
        gpt5 rpm_tpm(15_000, 40_000_000),
        mini rpm_tpm(30_000, 180_000_000),
        nano rpm_tpm(30_000, 180_000_000)),
];
