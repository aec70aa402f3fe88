//! Usage tiers: the rate limits a provider publishes per tier and model class, and the tier's
//! monthly spend cap, dated and sourced like prices. A scenario's (or the mock's)
//! `usage_tier = "tier-4"` takes its limits from here; limits written out still override.
//!
//! Sources (read 2026-12-07; see docs/capacity.md for the full notes):
//! - Anthropic: <https://docs.anthropic.com/en/api/rate-limits> (the page also served at
//!   <https://platform.claude.com/docs/en/api/rate-limits>): "Usage tier | Credit purchase | Max
//!   usage per month" Tier 1-4 = $100, $500, $1,000, $5,000; the per-tier tables of RPM, ITPM
//!   and OTPM per model class ("Claude Opus 4.x" is one limit for every Opus 4 model). Late in
//!   2026 the page moved to Start/Build/Scale tiers for new organizations; the Tier 1-4 tables
//!   are the ones published with spend caps, so they are what `tier-N` means here.
//! - OpenAI: <https://platform.openai.com/docs/guides/rate-limits> ("Usage tiers": monthly
//!   usage limits Tier 1-5 = $100, $500, $1,000, $5,000, $200,000) and each model's page
//!   (<https://platform.openai.com/docs/models/gpt-5> and the others) for the per-tier RPM and
//!   TPM. The guide says "organization" and "project" limits; a tier is an organization's.

use super::{Provider, RateLimits};

/// One published tier of one provider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageTier {
    pub provider: Provider,
    /// The name a scenario writes: `tier-1` ... `tier-5`.
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
    /// `id` is one of the class's ids, or one of them with a version or date suffix
    /// (`claude-sonnet-4` takes `claude-sonnet-4-6`; `gpt-5` takes `gpt-5-2025-08-07` but not
    /// `gpt-5-mini`).
    fn matches(&self, id: &str) -> bool {
        self.ids.iter().any(|p| {
            id == *p
                || id
                    .strip_prefix(p)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
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

    /// The next tier up of the same provider, if any.
    pub fn next(&self) -> Option<&'static UsageTier> {
        let mut it = Self::of(self.provider).skip_while(|t| t.name != self.name);
        it.next();
        it.next()
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

// Anthropic's model classes. The seed article's models carry Claude 4.x prices (Sonnet, Opus)
// and Haiku 3's (Haiku), so they take those classes' limits.
const OPUS_4: &[&str] = &["claude-opus-4", "article-claude-opus"];
const SONNET_4: &[&str] = &["claude-sonnet-4", "article-claude-sonnet"];
const HAIKU_4_5: &[&str] = &["claude-haiku-4-5"];
const HAIKU_3: &[&str] = &["claude-3-5-haiku", "claude-3-haiku", "article-claude-haiku"];

macro_rules! anthropic_tier {
    ($name:literal, $cap:literal, opus $o:expr, sonnet $s:expr, haiku45 $h45:expr, haiku3 $h3:expr) => {
        UsageTier {
            provider: Provider::Anthropic,
            name: $name,
            monthly_spend_cap_usd: $cap,
            classes: &[
                TierClass {
                    label: "Claude Opus 4.x",
                    ids: OPUS_4,
                    limits: $o,
                },
                TierClass {
                    label: "Claude Sonnet 4.x",
                    ids: SONNET_4,
                    limits: $s,
                },
                TierClass {
                    label: "Claude Haiku 4.5",
                    ids: HAIKU_4_5,
                    limits: $h45,
                },
                TierClass {
                    label: "Claude Haiku 3.x",
                    ids: HAIKU_3,
                    limits: $h3,
                },
            ],
        }
    };
}

// OpenAI's model classes, as its model pages list them.
const GPT_5: &[&str] = &["gpt-5", "gpt-5.1", "gpt-5.2", "article-gpt-4o"];
const GPT_5_MINI: &[&str] = &["gpt-5-mini", "article-gpt-4o-mini"];

macro_rules! openai_tier {
    ($name:literal, $cap:literal, gpt5 $g:expr, mini $m:expr) => {
        UsageTier {
            provider: Provider::OpenAi,
            name: $name,
            monthly_spend_cap_usd: $cap,
            classes: &[
                TierClass {
                    label: "GPT-5",
                    ids: GPT_5,
                    limits: $g,
                },
                TierClass {
                    label: "GPT-5 mini",
                    ids: GPT_5_MINI,
                    limits: $m,
                },
            ],
        }
    };
}

static TIERS: &[UsageTier] = &[
    anthropic_tier!("tier-1", 100,
        opus rpm_itpm_otpm(50, 30_000, 8_000),
        sonnet rpm_itpm_otpm(50, 30_000, 8_000),
        haiku45 rpm_itpm_otpm(50, 50_000, 10_000),
        haiku3 rpm_itpm_otpm(50, 50_000, 10_000)),
    anthropic_tier!("tier-2", 500,
        opus rpm_itpm_otpm(1_000, 450_000, 90_000),
        sonnet rpm_itpm_otpm(1_000, 450_000, 90_000),
        haiku45 rpm_itpm_otpm(1_000, 450_000, 90_000),
        haiku3 rpm_itpm_otpm(1_000, 100_000, 20_000)),
    anthropic_tier!("tier-3", 1_000,
        opus rpm_itpm_otpm(2_000, 800_000, 160_000),
        sonnet rpm_itpm_otpm(2_000, 800_000, 160_000),
        haiku45 rpm_itpm_otpm(2_000, 1_000_000, 200_000),
        haiku3 rpm_itpm_otpm(2_000, 200_000, 40_000)),
    anthropic_tier!("tier-4", 5_000,
        opus rpm_itpm_otpm(4_000, 2_000_000, 400_000),
        sonnet rpm_itpm_otpm(4_000, 2_000_000, 400_000),
        haiku45 rpm_itpm_otpm(4_000, 4_000_000, 800_000),
        haiku3 rpm_itpm_otpm(4_000, 400_000, 80_000)),
    openai_tier!("tier-1", 100,
        gpt5 rpm_tpm(500, 500_000),
        mini rpm_tpm(500, 500_000)),
    openai_tier!("tier-2", 500,
        gpt5 rpm_tpm(5_000, 1_000_000),
        mini rpm_tpm(5_000, 2_000_000)),
    openai_tier!("tier-3", 1_000,
        gpt5 rpm_tpm(5_000, 2_000_000),
        mini rpm_tpm(5_000, 4_000_000)),
    openai_tier!("tier-4", 5_000,
        gpt5 rpm_tpm(10_000, 4_000_000),
        mini rpm_tpm(10_000, 10_000_000)),
    openai_tier!("tier-5", 200_000,
        gpt5 rpm_tpm(15_000, 40_000_000),
        mini rpm_tpm(30_000, 180_000_000)),
];
