//! Import of LiteLLM's public price map (`model_prices_and_context_window.json`, MIT) that loses
//! nothing silently: every entry whose billing follows a first-party rule (OpenAI, Anthropic,
//! Google, also as served by Azure, Bedrock and Vertex) is imported with its tiers, long-context
//! band, cache TTLs and write prices, regional uplifts, limits and retirement date; every other
//! priced chat and embedding entry (DeepSeek, Mistral, Llama, ... on any host) is imported
//! under the generic rule ([`Provider::Generic`]: input, output, cache read and cache write as
//! the map prices them; a missing read or write price is the input price, one write TTL filed
//! as 30 minutes, the OpenAI-compatible wire's); entries with another mode or no per-token price
//! are skipped with the reason; values that break a provider's billing rule are corrected
//! with a note (the map has known errors, e.g. a Claude 3 Haiku 1-hour write at 24x input); and
//! every price field the import did not use is counted in [`LiteLlmImport::ignored_fields`].
//!
//! Field mapping (USD per token → pUSD per token), per context band (`_above_<N>k_tokens`
//! infix) and tier (`_flex`, `_priority`, `_batches` suffix):
//! - `input_cost_per_token`, `output_cost_per_token`, `cache_read_input_token_cost`;
//! - Anthropic: `cache_creation_input_token_cost` = 5-minute write, `..._above_1hr` = 1-hour;
//! - OpenAI with a write price (GPT-5.6+): `cache_creation_input_token_cost` = 30-minute write,
//!   `..._above_12hr` = 24-hour; OpenAI without one and Google: writes bill as input (TTLs
//!   5m, 1h, and 24h for OpenAI);
//! - a line missing from a tier or band is derived from the band's standard line (or the short
//!   band's) by the ratio of their input prices;
//! - `regional_processing_uplift_multiplier_{us,eu}`, `provider_specific_entry.us`,
//!   `fedramp_uplift_multiplier`, `regional_endpoint_uplift_multiplier` → regions `us`, `eu`,
//!   `fedramp`, `regional`;
//! - `prompt_cache_min_tokens` (default 1024; no cache read price = no caching),
//!   `supports_reasoning`, `max_input_tokens`, `max_output_tokens`, `deprecation_date`,
//!   `successor_model`, `rpm`, `tpm`.
//!
//! `scripts/gen-builtin-catalog.py` implements the same mapping independently to generate the
//! built-in catalog; a test checks the two agree on every built-in model.

use crate::catalog::{
    CacheTtl, Latency, LongContext, ModelKind, ModelSpec, PriceBand, Provider, RateLimits, Rates,
    ServiceTier,
};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error)]
pub enum LiteLlmError {
    #[error("not LiteLLM's price map: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not LiteLLM's price map: the top level must be an object of model entries")]
    NotAnObject,
}

/// What an import produced: the models (first-party and generic), what was corrected or
/// skipped and why, and which price fields it did not use.
#[derive(Debug, Clone, Default)]
pub struct LiteLlmImport {
    pub models: Vec<ModelSpec>,
    /// (model key, what was corrected)
    pub corrected: Vec<(String, String)>,
    /// (model key, why it was skipped)
    pub skipped: Vec<(String, String)>,
    /// Price fields of imported entries that burnrate does not model, with how many entries
    /// carry each (audio, image and video prices, search fees, fast mode, ...).
    pub ignored_fields: BTreeMap<String, usize>,
}

impl LiteLlmImport {
    /// The report a user reads: counts, every correction, every skip, every ignored field.
    pub fn report(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let corrected_models: BTreeSet<&str> =
            self.corrected.iter().map(|(k, _)| k.as_str()).collect();
        let generic = self
            .models
            .iter()
            .filter(|m| m.provider == Provider::Generic)
            .count();
        let _ = writeln!(
            out,
            "imported {} models ({} under a first-party rule, {generic} under the generic rule; {} corrected, {} corrections), skipped {} entries, ignored {} price fields",
            self.models.len(),
            self.models.len() - generic,
            corrected_models.len(),
            self.corrected.len(),
            self.skipped.len(),
            self.ignored_fields.len()
        );
        for (key, note) in &self.corrected {
            let _ = writeln!(out, "corrected {key}: {note}");
        }
        for (key, reason) in &self.skipped {
            let _ = writeln!(out, "skipped {key}: {reason}");
        }
        for (field, n) in &self.ignored_fields {
            let _ = writeln!(out, "ignored field {field} (in {n} imported entries)");
        }
        out
    }
}

/// USD per token (LiteLLM's unit) to pUSD per token.
fn pusd(usd_per_token: f64) -> Option<u64> {
    (0.0..1.0)
        .contains(&usd_per_token)
        .then(|| (usd_per_token * 1e12).round() as u64)
}

/// Parses and validates LiteLLM's map. `as_of` dates the imported prices (the file's date).
/// `known` supplies latency and rate-limit defaults for models burnrate already knows.
pub fn import_litellm(
    json: &str,
    as_of: &str,
    known: &crate::Catalog,
) -> Result<LiteLlmImport, LiteLlmError> {
    let value: Value = serde_json::from_str(json)?;
    let map: &Map<String, Value> = value.as_object().ok_or(LiteLlmError::NotAnObject)?;
    let mut out = LiteLlmImport::default();
    let sorted: BTreeMap<&String, &Value> = map.iter().collect();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (key, entry) in sorted {
        if key == "sample_spec" {
            out.skipped.push((
                key.clone(),
                "documents the map's schema; not a model".to_string(),
            ));
            continue;
        }
        let Some(e) = entry.as_object() else {
            out.skipped
                .push((key.clone(), "entry is not an object".to_string()));
            continue;
        };
        let reader = Reader {
            e,
            used: RefCell::new(BTreeSet::new()),
        };
        let mut notes = Vec::new();
        match import_entry(key, &reader, as_of, known, &mut notes) {
            Ok(spec) => {
                if let Some(first) = seen.get(&spec.id) {
                    out.skipped.push((
                        key.clone(),
                        format!("same model id `{}` as entry `{first}`", spec.id),
                    ));
                    continue;
                }
                seen.insert(spec.id.clone(), key.clone());
                for field in reader.ignored() {
                    *out.ignored_fields.entry(field).or_default() += 1;
                }
                out.corrected
                    .extend(notes.into_iter().map(|n| (key.clone(), n)));
                out.models.push(spec);
            }
            Err(reason) => out.skipped.push((key.clone(), reason)),
        }
    }
    Ok(out)
}

/// An entry, remembering which fields the import read.
struct Reader<'a> {
    e: &'a Map<String, Value>,
    used: RefCell<BTreeSet<String>>,
}

impl Reader<'_> {
    fn raw(&self, field: &str) -> Option<&Value> {
        let v = self.e.get(field);
        if v.is_some() {
            self.used.borrow_mut().insert(field.to_string());
        }
        v
    }

    fn num(&self, field: &str) -> Option<f64> {
        self.raw(field).and_then(Value::as_f64)
    }

    fn str(&self, field: &str) -> Option<&str> {
        self.raw(field).and_then(Value::as_str)
    }

    /// A price in pUSD; `Err` when present but not a valid price.
    fn price(&self, field: &str) -> Result<Option<u64>, String> {
        match self.raw(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_f64().and_then(pusd) {
                Some(p) => Ok(Some(p)),
                None => Err(format!("{field} = {v} is not a price")),
            },
        }
    }

    /// Price fields present but not read.
    fn ignored(&self) -> Vec<String> {
        let used = self.used.borrow();
        let mut out = Vec::new();
        for (k, v) in self.e {
            if k == "provider_specific_entry" {
                if let Some(o) = v.as_object() {
                    for sub in o.keys() {
                        if !used.contains(&format!("{k}.{sub}")) {
                            out.push(format!("{k}.{sub}"));
                        }
                    }
                }
                continue;
            }
            let pricey = k.contains("cost") || k.contains("uplift") || k.contains("multiplier");
            if pricey && !used.contains(k) {
                out.push(k.clone());
            }
        }
        out
    }
}

/// Which first-party billing rule an entry follows; any other vendor is generic.
fn rule(key: &str, host: &str) -> Provider {
    let k = key.to_ascii_lowercase();
    let gpt_like = |k: &str| {
        [
            "gpt",
            "text-embedding",
            "ada",
            "babbage",
            "davinci",
            "computer-use",
            "codex",
        ]
        .iter()
        .any(|p| k.contains(p))
            || k.rsplit('/').next().is_some_and(|n| {
                n.starts_with('o') && n[1..].starts_with(|c: char| c.is_ascii_digit())
            })
    };
    match host {
        "openai" => Provider::OpenAi,
        "azure" | "azure_ai" if gpt_like(&k) && !k.contains("gpt-oss") => Provider::OpenAi,
        "anthropic" | "vertex_ai-anthropic_models" => Provider::Anthropic,
        "gemini" | "vertex_ai-language-models" => Provider::Google,
        "bedrock" | "bedrock_converse" if k.contains("claude") => Provider::Anthropic,
        "bedrock" | "bedrock_converse" if k.contains("openai.") && !k.contains("gpt-oss") => {
            Provider::OpenAi
        }
        _ => Provider::Generic,
    }
}

/// The TTLs a model offers and the LiteLLM field stem of each write price (`None`: billed as
/// input).
fn write_stems(
    provider: Provider,
    new_openai_cache: bool,
) -> &'static [(CacheTtl, Option<&'static str>)] {
    match provider {
        Provider::Anthropic => &[
            (
                CacheTtl::FiveMinutes,
                Some("cache_creation_input_token_cost"),
            ),
            (
                CacheTtl::OneHour,
                Some("cache_creation_input_token_cost_above_1hr"),
            ),
        ],
        Provider::OpenAi if new_openai_cache => &[
            (
                CacheTtl::ThirtyMinutes,
                Some("cache_creation_input_token_cost"),
            ),
            (
                CacheTtl::OneDay,
                Some("cache_creation_input_token_cost_above_12hr"),
            ),
        ],
        Provider::OpenAi => &[
            (CacheTtl::FiveMinutes, None),
            (CacheTtl::OneHour, None),
            (CacheTtl::OneDay, None),
        ],
        Provider::Google => &[(CacheTtl::FiveMinutes, None), (CacheTtl::OneHour, None)],
        Provider::Generic => &[(
            CacheTtl::ThirtyMinutes,
            Some("cache_creation_input_token_cost"),
        )],
    }
}

/// The provider's rule for a write price missing from the map: Anthropic 1.25x (5m) / 2x (1h),
/// OpenAI 1.25x (30m) / 2.5x (24h).
fn write_rule(ttl: CacheTtl, input: u64) -> u64 {
    match ttl {
        CacheTtl::FiveMinutes | CacheTtl::ThirtyMinutes => input * 5 / 4,
        CacheTtl::OneHour => input * 2,
        CacheTtl::OneDay => input * 5 / 2,
    }
}

fn derive(p: u64, num: u64, den: u64) -> u64 {
    if den == 0 {
        p
    } else {
        (u128::from(p) * u128::from(num) / u128::from(den)) as u64
    }
}

#[derive(Clone)]
struct BandCtx<'a> {
    r: &'a Reader<'a>,
    provider: Provider,
    /// The model caches at all (else missing write prices are not worth a note).
    caches: bool,
    stems: &'static [(CacheTtl, Option<&'static str>)],
    infix: String,
    label: &'static str,
}

impl BandCtx<'_> {
    fn get(&self, stem: &str, sfx: &str) -> Result<Option<u64>, String> {
        self.r.price(&format!("{stem}{}{sfx}", self.infix))
    }

    /// One price list; missing lines derive from `reference` by the input (or output) ratio.
    fn rates(
        &self,
        sfx: &str,
        reference: Option<&Rates>,
        notes: &mut Vec<String>,
    ) -> Result<Rates, String> {
        let input = self.get("input_cost_per_token", sfx)?;
        let output = self.get("output_cost_per_token", sfx)?;
        let (num, den) = match (reference, input, output) {
            (Some(b), Some(i), _) => (i, b.input_pusd),
            (Some(b), None, Some(o)) => (o, b.output_pusd),
            _ => (1, 1),
        };
        let d = |p: u64| derive(p, num, den);
        let input = match (input, reference) {
            (Some(i), _) => i,
            (None, Some(b)) => d(b.input_pusd),
            (None, None) => return Err("no input_cost_per_token".to_string()),
        };
        let output = match (output, reference) {
            (Some(o), _) => o,
            (None, Some(b)) => d(b.output_pusd),
            (None, None) => 0,
        };
        let mut r = Rates {
            input_pusd: input,
            output_pusd: output,
            cache_read_pusd: 0,
            cache_write_pusd: [0; 4],
        };
        r.cache_read_pusd = match (self.get("cache_read_input_token_cost", sfx)?, reference) {
            (Some(v), _) => v,
            (None, Some(b)) => d(b.cache_read_pusd),
            (None, None) => input,
        };
        let where_ = format!("{}{}", self.label, tier_label(sfx));
        if r.cache_read_pusd > input {
            notes.push(format!(
                "{where_}cache read {} pUSD/token exceeds the input price; used the input price {input} (reads never cost more than input)",
                r.cache_read_pusd
            ));
            r.cache_read_pusd = input;
        }
        for (ttl, stem) in self.stems {
            let price = match stem {
                None => input,
                Some(stem) => match (self.get(stem, sfx)?, reference) {
                    (Some(v), _) => {
                        let max = write_rule(*ttl, input);
                        if v > max && self.provider == Provider::Anthropic {
                            notes.push(format!(
                                "{where_}{stem}{sfx} = {v} pUSD/token breaks Anthropic's rule ({} write = {} input); used {max}",
                                ttl.as_str(),
                                if *ttl == CacheTtl::OneHour { "2x" } else { "1.25x" }
                            ));
                            max
                        } else {
                            v
                        }
                    }
                    (None, Some(b)) => d(b.cache_write(*ttl)),
                    // The generic rule: no write price in the map, writes bill as input.
                    (None, None) if self.provider == Provider::Generic => input,
                    (None, None) => {
                        let v = write_rule(*ttl, input);
                        if self.caches {
                            notes.push(format!(
                            "{where_}{stem} missing; used the provider's rule ({} write = {v} pUSD/token)",
                            ttl.as_str()
                        ));
                        }
                        v
                    }
                },
            };
            r.set_cache_write(*ttl, price);
        }
        Ok(r)
    }

    fn band(&self, base: Option<&Rates>, notes: &mut Vec<String>) -> Result<PriceBand, String> {
        let standard = self.rates("", base, notes)?;
        let mut band = PriceBand {
            standard,
            ..PriceBand::default()
        };
        for (tier, sfx) in [
            (ServiceTier::Flex, "_flex"),
            (ServiceTier::Priority, "_priority"),
            (ServiceTier::Batch, "_batches"),
        ] {
            if self.get("input_cost_per_token", sfx)?.is_some()
                || self.get("output_cost_per_token", sfx)?.is_some()
            {
                *band.tier_mut(tier) = Some(self.rates(sfx, Some(&standard), notes)?);
            }
        }
        Ok(band)
    }
}

fn tier_label(sfx: &str) -> &'static str {
    match sfx {
        "_flex" => "flex tier: ",
        "_priority" => "priority tier: ",
        "_batches" => "batch tier: ",
        _ => "",
    }
}

fn import_entry(
    key: &str,
    r: &Reader,
    as_of: &str,
    known: &crate::Catalog,
    notes: &mut Vec<String>,
) -> Result<ModelSpec, String> {
    let host = r.str("litellm_provider").unwrap_or("").to_string();
    let provider = rule(key, &host);
    let kind = model_kind(r)?;
    let input = input_price(r)?;
    // OpenAI writes: a write price at or above input is GPT-5.6+'s premium write; one below
    // input is the cache read price in the wrong field (seen on fine-tuned GPT-4o).
    let has_read =
        r.e.get("cache_read_input_token_cost")
            .is_some_and(|v| !v.is_null());
    let (new_openai_cache, read_from_write) = if provider == Provider::OpenAi {
        openai_write_price(r, input, has_read, notes)?
    } else {
        (false, None)
    };
    let stems = write_stems(provider, new_openai_cache);
    let caches = has_read || read_from_write.is_some();
    let short_ctx = BandCtx {
        r,
        provider,
        caches,
        stems,
        infix: String::new(),
        label: "",
    };
    let mut prices = short_ctx.band(None, notes)?;
    if let Some(cc) = read_from_write {
        prices.standard.cache_read_pusd = cc;
    }
    let mut long_context = long_context_band(&short_ctx, &prices.standard, notes)?;
    if !caches {
        // No caching: no write prices to speak of.
        zero_write_prices(&mut prices, long_context.as_mut());
    }
    if let Some(rp) = r.price("output_cost_per_reasoning_token")?
        && rp != prices.standard.output_pusd
    {
        notes.push(format!(
            "output_cost_per_reasoning_token = {rp} differs from output ({}); reasoning tokens bill as output",
            prices.standard.output_pusd
        ));
    }
    let regions = regional_uplifts(r, notes);
    let id = catalog_id(&host, key);
    let count = |f: &str| {
        r.num(f)
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| v as u64)
    };
    let min_cacheable_tokens = if caches {
        count("prompt_cache_min_tokens").map_or(1024, |v| v.min(u64::from(u32::MAX)) as u32)
    } else {
        u32::MAX
    };
    let deprecation_date = r.str("deprecation_date").map(str::to_string);
    if let Some(d) = &deprecation_date
        && !crate::catalog::is_iso_date(d)
    {
        return Err(format!("deprecation_date `{d}` is not a YYYY-MM-DD date"));
    }
    let successor = r
        .str("successor_model")
        .map(|s| s.strip_prefix("gemini/").unwrap_or(s).to_string());
    let base = known.get(&id);
    let mut limits = base.map_or_else(|| default_limits(provider), |b| b.rate_limits);
    if let Some(rpm) = count("rpm").filter(|v| *v > 0) {
        limits.requests_per_minute = Some(rpm);
    }
    if let Some(tpm) = count("tpm").filter(|v| *v > 0) {
        limits.tokens_per_minute = Some(tpm);
    }
    let source = match r.str("source") {
        Some(s) => format!("{s} via LiteLLM's price map (MIT), entry `{key}`"),
        None => format!("LiteLLM's price map (MIT), entry `{key}`"),
    };
    Ok(ModelSpec {
        id,
        aliases: Vec::new(),
        provider,
        kind,
        prices,
        long_context,
        cache_ttls: if caches {
            stems.iter().map(|(t, _)| *t).collect()
        } else {
            Vec::new()
        },
        min_cacheable_tokens,
        cache_granularity_tokens: if matches!(provider, Provider::OpenAi | Provider::Generic) {
            128
        } else {
            1
        },
        batch_discount_percent: 50,
        regions,
        reasoning: r.raw("supports_reasoning").and_then(Value::as_bool) == Some(true),
        max_input_tokens: count("max_input_tokens"),
        max_output_tokens: count("max_output_tokens"),
        deprecation_date,
        successor,
        rate_limits: limits,
        latency: base.map_or(
            Latency {
                time_to_first_token_s: 0.8,
                time_per_output_token_s: 1.0 / 70.0,
                cv: 0.3,
            },
            |b| b.latency,
        ),
        as_of: as_of.to_string(),
        source,
    })
}

/// The kind of model a LiteLLM `mode` names (chat, responses and embedding are modelled).
fn model_kind(r: &Reader) -> Result<ModelKind, String> {
    match r.str("mode") {
        Some("chat") | Some("responses") => Ok(ModelKind::Chat),
        Some("embedding") => Ok(ModelKind::Embedding),
        other => Err(format!(
            "mode `{}` is not modelled (chat, responses and embedding are)",
            other.unwrap_or("none")
        )),
    }
}

/// The per-token input price; an entry priced another way is refused, naming how.
fn input_price(r: &Reader) -> Result<u64, String> {
    if let Some(input) = r.price("input_cost_per_token")? {
        return Ok(input);
    }
    let per = [
        "input_cost_per_second",
        "cost_per_second",
        "input_cost_per_character",
        "input_cost_per_image",
        "input_cost_per_query",
    ]
    .into_iter()
    .find(|f| r.e.contains_key(*f));
    Err(match per {
        Some(f) => format!("no per-token input price (priced by `{f}`)"),
        None => "no input_cost_per_token".to_string(),
    })
}

/// How an OpenAI entry's `cache_creation_input_token_cost` reads: (GPT-5.6+ premium write,
/// a cache read price given in the write field).
fn openai_write_price(
    r: &Reader,
    input: u64,
    has_read: bool,
    notes: &mut Vec<String>,
) -> Result<(bool, Option<u64>), String> {
    let mut new_openai_cache = false;
    let mut read_from_write = None;
    if let Some(cc) = r.price("cache_creation_input_token_cost")? {
        if cc >= input {
            new_openai_cache = true;
        } else if !has_read {
            read_from_write = Some(cc);
            notes.push(format!(
                "cache_creation_input_token_cost = {cc} pUSD/token is below input ({input}) and there is no read price: OpenAI models without a write premium bill writes as input, so it was taken as the cache read price"
            ));
        } else {
            notes.push(format!(
                "cache_creation_input_token_cost = {cc} pUSD/token is below input ({input}); OpenAI models without a write premium bill writes as input, so it was not used"
            ));
        }
    }
    Ok((new_openai_cache, read_from_write))
}

/// The long-context band: the lowest `_above_<N>k_tokens` threshold with an input price.
fn long_context_band(
    short: &BandCtx,
    standard: &Rates,
    notes: &mut Vec<String>,
) -> Result<Option<LongContext>, String> {
    let threshold = short
        .r
        .e
        .keys()
        .filter_map(|k| {
            k.strip_prefix("input_cost_per_token_above_")
                .and_then(|s| s.strip_suffix("k_tokens"))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .min();
    let Some(n) = threshold else {
        return Ok(None);
    };
    let ctx = BandCtx {
        infix: format!("_above_{n}k_tokens"),
        label: "long context: ",
        ..short.clone()
    };
    Ok(Some(LongContext {
        above_input_tokens: n * 1000,
        prices: ctx.band(Some(standard), notes)?,
    }))
}

/// A model that does not cache has no write prices, in any band or tier.
fn zero_write_prices(prices: &mut PriceBand, long_context: Option<&mut LongContext>) {
    let bands = std::iter::once(prices).chain(long_context.map(|lc| &mut lc.prices));
    for band in bands {
        for rates in std::iter::once(&mut band.standard)
            .chain(band.flex.as_mut())
            .chain(band.priority.as_mut())
            .chain(band.batch.as_mut())
        {
            rates.cache_write_pusd = [0; 4];
        }
    }
}

/// The regional uplifts (permille) of an entry, by region name; out-of-range values are
/// noted and ignored.
fn regional_uplifts(r: &Reader, notes: &mut Vec<String>) -> BTreeMap<String, u32> {
    let mut regions = BTreeMap::new();
    let mut uplift = |region: &str, v: Option<f64>, notes: &mut Vec<String>| {
        if let Some(v) = v {
            if v.is_finite() && (1.0..=10.0).contains(&v) {
                regions.insert(region.to_string(), (v * 1000.0).round() as u32);
            } else {
                notes.push(format!(
                    "{region} uplift {v} is not a multiplier from 1 to 10; ignored"
                ));
            }
        }
    };
    uplift(
        "us",
        r.num("regional_processing_uplift_multiplier_us"),
        notes,
    );
    uplift(
        "eu",
        r.num("regional_processing_uplift_multiplier_eu"),
        notes,
    );
    uplift("fedramp", r.num("fedramp_uplift_multiplier"), notes);
    uplift(
        "regional",
        r.num("regional_endpoint_uplift_multiplier"),
        notes,
    );
    if let Some(us) = r
        .raw("provider_specific_entry")
        .and_then(|p| p.get("us"))
        .and_then(Value::as_f64)
    {
        r.used
            .borrow_mut()
            .insert("provider_specific_entry.us".to_string());
        uplift("us", Some(us), notes);
    }
    regions
}

/// Gemini API ids without LiteLLM's prefix; Vertex ids keep theirs (or get one), so the
/// two never collide.
fn catalog_id(host: &str, key: &str) -> String {
    match host {
        "gemini" => key.strip_prefix("gemini/").unwrap_or(key).to_string(),
        h if h.starts_with("vertex_ai") && !key.starts_with("vertex_ai/") => {
            format!("vertex_ai/{key}")
        }
        _ => key.to_string(),
    }
}

fn default_limits(provider: Provider) -> RateLimits {
    match provider {
        Provider::Anthropic => RateLimits {
            requests_per_minute: Some(4_000),
            tokens_per_minute: None,
            input_tokens_per_minute: Some(2_000_000),
            output_tokens_per_minute: Some(400_000),
        },
        _ => RateLimits {
            requests_per_minute: Some(10_000),
            tokens_per_minute: Some(30_000_000),
            input_tokens_per_minute: None,
            output_tokens_per_minute: None,
        },
    }
}

/// The models as `[models."id"]` tables a scenario can include: every price in USD per
/// million tokens, so `Scenario::from_toml` reads them back to the same pUSD.
pub fn models_to_toml(models: &[ModelSpec]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for m in models {
        let id = toml_key(&m.id);
        let _ = writeln!(out, "[models.{id}]");
        let _ = writeln!(out, "provider = {:?}", m.provider.as_str());
        if m.kind == ModelKind::Embedding {
            let _ = writeln!(out, "kind = \"embedding\"");
        }
        rates_lines(&mut out, &m.prices.standard);
        let _ = writeln!(out, "min_cacheable_tokens = {}", m.min_cacheable_tokens);
        let _ = writeln!(out, "batch_discount_percent = {}", m.batch_discount_percent);
        let _ = writeln!(out, "reasoning = {}", m.reasoning);
        if let Some(v) = m.max_input_tokens {
            let _ = writeln!(out, "max_input_tokens = {v}");
        }
        if let Some(v) = m.max_output_tokens {
            let _ = writeln!(out, "max_output_tokens = {v}");
        }
        if let Some(rpm) = m.rate_limits.requests_per_minute {
            let _ = writeln!(out, "requests_per_minute = {rpm}");
        }
        if let Some(tpm) = m.rate_limits.tokens_per_minute {
            let _ = writeln!(out, "tokens_per_minute = {tpm}");
        }
        if let Some(v) = m.rate_limits.input_tokens_per_minute {
            let _ = writeln!(out, "input_tokens_per_minute = {v}");
        }
        if let Some(v) = m.rate_limits.output_tokens_per_minute {
            let _ = writeln!(out, "output_tokens_per_minute = {v}");
        }
        if let Some(d) = &m.deprecation_date {
            let _ = writeln!(out, "deprecation_date = {d:?}");
        }
        if let Some(s) = &m.successor {
            let _ = writeln!(out, "successor = {s:?}");
        }
        let _ = writeln!(out, "as_of = {:?}", m.as_of);
        let _ = writeln!(out, "source = {:?}", m.source);
        if !m.regions.is_empty() {
            let list: Vec<String> = m
                .regions
                .iter()
                .map(|(r, u)| format!("{} = {}", toml_key(r), f64::from(*u) / 1000.0))
                .collect();
            let _ = writeln!(out, "regions = {{ {} }}", list.join(", "));
        }
        writes_table(
            &mut out,
            &format!("models.{id}"),
            &m.prices.standard,
            &m.cache_ttls,
        );
        band_tiers(&mut out, &format!("models.{id}"), &m.prices, &m.cache_ttls);
        if let Some(lc) = &m.long_context {
            let _ = writeln!(out, "[models.{id}.long_context]");
            let _ = writeln!(out, "above_input_tokens = {}", lc.above_input_tokens);
            rates_lines(&mut out, &lc.prices.standard);
            let path = format!("models.{id}.long_context");
            writes_table(&mut out, &path, &lc.prices.standard, &m.cache_ttls);
            band_tiers(&mut out, &path, &lc.prices, &m.cache_ttls);
        }
        out.push('\n');
    }
    out
}

fn toml_key(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

fn rates_lines(out: &mut String, r: &Rates) {
    use std::fmt::Write;
    let mtok = crate::money::usd_per_mtok;
    let _ = writeln!(out, "input_usd_per_mtok = {}", mtok(r.input_pusd));
    let _ = writeln!(out, "output_usd_per_mtok = {}", mtok(r.output_pusd));
    let _ = writeln!(out, "cache_read_usd_per_mtok = {}", mtok(r.cache_read_pusd));
}

fn writes_table(out: &mut String, path: &str, r: &Rates, ttls: &[CacheTtl]) {
    use std::fmt::Write;
    let _ = writeln!(out, "[{path}.cache_write_usd_per_mtok]");
    for t in ttls {
        let _ = writeln!(
            out,
            "{:?} = {}",
            t.as_str(),
            crate::money::usd_per_mtok(r.cache_write(*t))
        );
    }
}

fn band_tiers(out: &mut String, path: &str, band: &PriceBand, ttls: &[CacheTtl]) {
    use std::fmt::Write;
    for tier in [ServiceTier::Flex, ServiceTier::Priority, ServiceTier::Batch] {
        if let Some(r) = band.tier(tier) {
            let _ = writeln!(out, "[{path}.{}]", tier.as_str());
            rates_lines(out, r);
            writes_table(out, &format!("{path}.{}", tier.as_str()), r, ttls);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    const MAP: &str = r#"{
      "sample_spec": {"input_cost_per_token": 0, "litellm_provider": "one of ...", "mode": "one of ..."},
      "claude-3-haiku-20240307": {"input_cost_per_token": 2.5e-07, "output_cost_per_token": 1.25e-06,
         "cache_creation_input_token_cost": 3e-07, "cache_read_input_token_cost": 3e-08,
         "cache_creation_input_token_cost_above_1hr": 6e-06, "litellm_provider": "anthropic", "mode": "chat",
         "prompt_cache_min_tokens": 2048},
      "gpt-4o-mini": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07,
         "cache_read_input_token_cost": 7.5e-08, "input_cost_per_token_batches": 7.5e-08,
         "output_cost_per_token_batches": 3e-07, "input_cost_per_audio_token": 1e-05,
         "litellm_provider": "openai", "mode": "chat", "rpm": 500, "tpm": 200000},
      "ft:gpt-4o-2024-11-20": {"input_cost_per_token": 3.75e-06, "output_cost_per_token": 1.5e-05,
         "cache_creation_input_token_cost": 1.875e-06, "litellm_provider": "openai", "mode": "chat"},
      "dall-e-3": {"input_cost_per_pixel": 1e-8, "litellm_provider": "openai", "mode": "image_generation"},
      "broken": {"input_cost_per_token": -1, "output_cost_per_token": 1, "litellm_provider": "openai", "mode": "chat"},
      "bedrock/meta.llama3": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "litellm_provider": "bedrock", "mode": "chat"},
      "deepseek/deepseek-chat": {"input_cost_per_token": 2.7e-07, "output_cost_per_token": 1.1e-06, "cache_read_input_token_cost": 7e-08,
         "cache_creation_input_token_cost": 3e-07, "prompt_cache_min_tokens": 64, "litellm_provider": "deepseek", "mode": "chat"},
      "us.anthropic.claude-sonnet-4-6": {"input_cost_per_token": 3.3e-06, "output_cost_per_token": 1.65e-05,
         "cache_read_input_token_cost": 3.3e-07, "cache_creation_input_token_cost": 4.125e-06,
         "litellm_provider": "bedrock_converse", "mode": "chat"}
    }"#;

    #[test]
    fn imports_validates_and_corrects_known_errors() {
        let known = Catalog::builtin();
        let imp = import_litellm(MAP, "2026-11-01", &known).unwrap();
        let ids: Vec<&str> = imp.models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "bedrock/meta.llama3",
                "claude-3-haiku-20240307",
                "deepseek/deepseek-chat",
                "ft:gpt-4o-2024-11-20",
                "gpt-4o-mini",
                "us.anthropic.claude-sonnet-4-6"
            ]
        );
        // The generic rule: the map's prices as they are; no read price, no caching.
        let llama = &imp.models[0];
        assert_eq!(llama.provider, Provider::Generic);
        assert_eq!(
            (llama.input_pusd(), llama.prices.standard.output_pusd),
            (1_000_000, 1_000_000)
        );
        assert!(llama.cache_ttls.is_empty());
        let ds = &imp.models[2];
        assert_eq!(ds.provider, Provider::Generic);
        assert_eq!(ds.cache_ttls, [CacheTtl::ThirtyMinutes]);
        assert_eq!(ds.prices.standard.cache_read_pusd, 70_000);
        assert_eq!(
            ds.prices.standard.cache_write(CacheTtl::ThirtyMinutes),
            300_000
        );
        assert_eq!(ds.min_cacheable_tokens, 64);
        let haiku = &imp.models[1];
        assert_eq!(haiku.input_pusd(), 250_000);
        assert_eq!(
            haiku.prices.standard.cache_write(CacheTtl::FiveMinutes),
            300_000
        );
        // LiteLLM's 1-hour write of $6/MTok is corrected to 2x input ($0.50/MTok).
        assert_eq!(
            haiku.prices.standard.cache_write(CacheTtl::OneHour),
            500_000
        );
        assert!(
            imp.corrected
                .iter()
                .any(|(k, n)| k == "claude-3-haiku-20240307" && n.contains("above_1hr"))
        );
        assert_eq!(haiku.min_cacheable_tokens, 2048);
        // The fine-tuned GPT-4o's "write" below input is its read price.
        let ft = &imp.models[3];
        assert_eq!(ft.prices.standard.cache_read_pusd, 1_875_000);
        assert_eq!(
            ft.prices.standard.cache_write(CacheTtl::FiveMinutes),
            3_750_000
        );
        assert!(
            imp.corrected
                .iter()
                .any(|(k, _)| k == "ft:gpt-4o-2024-11-20")
        );
        let mini = &imp.models[4];
        assert_eq!(
            (
                mini.prices.standard.cache_read_pusd,
                mini.prices.standard.cache_write(CacheTtl::FiveMinutes)
            ),
            (75_000, 150_000)
        );
        let batch = mini.prices.batch.unwrap();
        assert_eq!(
            (batch.input_pusd, batch.output_pusd, batch.cache_read_pusd),
            (75_000, 300_000, 37_500)
        );
        assert_eq!(mini.rate_limits.requests_per_minute, Some(500));
        assert_eq!(
            imp.ignored_fields.get("input_cost_per_audio_token"),
            Some(&1)
        );
        // Claude on Bedrock follows Anthropic's rule; the missing 1-hour write is the rule's 2x.
        let bedrock = &imp.models[5];
        assert_eq!(bedrock.provider, Provider::Anthropic);
        assert_eq!(
            bedrock.prices.standard.cache_write(CacheTtl::OneHour),
            6_600_000
        );
        let skipped: Vec<&str> = imp.skipped.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(skipped, ["broken", "dall-e-3", "sample_spec"]);
        let report = imp.report();
        assert!(
            report.starts_with(
                "imported 6 models (4 under a first-party rule, 2 under the generic rule; 3 corrected"
            ),
            "{report}"
        );
        assert!(import_litellm("[1]", "x", &known).is_err());
        assert!(import_litellm("{", "x", &known).is_err());
    }
}
