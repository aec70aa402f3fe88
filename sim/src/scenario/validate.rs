//! Raw scenario → validated [`Scenario`]. Each check returns the field path and what is allowed;
//! `mod.rs` turns the path into a line and column.

use super::Seg;
use super::raw::*;
use crate::catalog::{
    CacheTtl, Catalog, Latency, LongContext, ModelKind, ModelSpec, PriceBand, Provider, RateLimits,
    Rates, ServiceTier, UsageTier, is_iso_date,
};
use crate::dist::Dist;
use crate::model::*;
use crate::money::{pusd_per_token_from_usd_per_mtok, usd_to_pusd};

pub(crate) type Error = (Vec<Seg>, String);
type VResult<T> = Result<T, Error>;

fn k(s: &str) -> Seg {
    Seg::Key(s.to_string())
}

fn at(base: &[Seg], more: &[Seg]) -> Vec<Seg> {
    let mut v = base.to_vec();
    v.extend_from_slice(more);
    v
}

fn fail<T>(path: Vec<Seg>, message: impl Into<String>) -> VResult<T> {
    Err((path, message.into()))
}

fn prob(v: f64, path: Vec<Seg>) -> VResult<f64> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        fail(
            path,
            format!("must be a probability between 0 and 1, got {v}"),
        )
    }
}

fn non_negative(v: f64, path: Vec<Seg>) -> VResult<f64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        fail(path, format!("must be a non-negative number, got {v}"))
    }
}

fn positive(v: f64, path: Vec<Seg>) -> VResult<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        fail(path, format!("must be a positive number, got {v}"))
    }
}

fn count(v: i64, min: i64, max: i64, path: Vec<Seg>) -> VResult<u64> {
    if (min..=max).contains(&v) {
        Ok(v as u64)
    } else {
        fail(
            path,
            format!("must be a whole number from {min} to {max}, got {v}"),
        )
    }
}

fn price(v: f64, path: Vec<Seg>) -> VResult<u64> {
    match pusd_per_token_from_usd_per_mtok(v) {
        Some(p) => Ok(p),
        None => fail(
            path,
            format!("must be a non-negative price in USD per million tokens, got {v}"),
        ),
    }
}

fn dollars(v: f64, path: Vec<Seg>) -> VResult<u64> {
    match usd_to_pusd(v) {
        Some(p) => Ok(p),
        None => fail(
            path,
            format!("must be a non-negative amount in USD, got {v}"),
        ),
    }
}

fn one_of<'a>(v: &str, allowed: &[&'a str], path: Vec<Seg>) -> VResult<&'a str> {
    allowed.iter().find(|a| **a == v).copied().ok_or_else(|| {
        (
            path,
            format!("`{v}` is not allowed; use one of: {}", allowed.join(", ")),
        )
    })
}

fn ttl(v: &str, path: Vec<Seg>) -> VResult<CacheTtl> {
    CacheTtl::parse(v).ok_or_else(|| {
        (
            path,
            format!("`{v}` is not a cache TTL; use one of: 5m, 30m, 1h, 24h (as the model offers)"),
        )
    })
}

/// Largest token count any distribution may produce.
const MAX_TOKENS: f64 = 10_000_000.0;

/// A distribution of non-negative values, clamped to `[min, max]` (defaults 0 and `cap`).
fn dist(raw: &RawDist, path: Vec<Seg>, cap: f64) -> VResult<Dist> {
    let t = match raw {
        RawDist::Number(v) => {
            let v = non_negative(*v, path.clone())?;
            if v > cap {
                return fail(path, format!("must be at most {cap}, got {v}"));
            }
            return Ok(Dist::constant(v).clamped(0.0, cap));
        }
        RawDist::Table(t) => t,
    };
    let need = |field: &str, v: Option<f64>| -> VResult<f64> {
        match v {
            Some(v) if v.is_finite() => Ok(v),
            Some(v) => fail(
                at(&path, &[k(field)]),
                format!("must be a finite number, got {v}"),
            ),
            None => fail(
                path.clone(),
                format!("a `{}` distribution needs `{field}`", t.dist),
            ),
        }
    };
    let d = match t.dist.as_str() {
        "constant" => Dist::constant(non_negative(
            need("value", t.value)?,
            at(&path, &[k("value")]),
        )?),
        "uniform" => {
            let low = non_negative(need("low", t.low)?, at(&path, &[k("low")]))?;
            let high = non_negative(need("high", t.high)?, at(&path, &[k("high")]))?;
            if high < low {
                return fail(
                    at(&path, &[k("high")]),
                    format!("must be >= low ({low}), got {high}"),
                );
            }
            Dist::uniform(low, high)
        }
        "normal" => {
            let mean = need("mean", t.mean)?;
            let sd = non_negative(need("sd", t.sd)?, at(&path, &[k("sd")]))?;
            Dist::normal(mean, sd).ok_or((at(&path, &[k("sd")]), "invalid normal".to_string()))?
        }
        "lognormal" => {
            let mean = positive(need("mean", t.mean)?, at(&path, &[k("mean")]))?;
            let cv = non_negative(need("cv", t.cv)?, at(&path, &[k("cv")]))?;
            Dist::lognormal(mean, cv)
                .ok_or((at(&path, &[k("cv")]), "invalid lognormal".to_string()))?
        }
        "empirical" => {
            let values = t.values.clone().ok_or((
                path.clone(),
                "an `empirical` distribution needs `values`".to_string(),
            ))?;
            for (i, v) in values.iter().enumerate() {
                non_negative(*v, at(&path, &[k("values"), Seg::Index(i)]))?;
            }
            let weights = t.weights.clone().unwrap_or_default();
            Dist::empirical(values, &weights).ok_or((
                at(&path, &[k("weights")]),
                "`values` must be non-empty and `weights` (if given) the same length, non-negative, with a positive sum".to_string(),
            ))?
        }
        other => {
            return fail(
                at(&path, &[k("dist")]),
                format!(
                    "unknown distribution `{other}`; use one of: constant, uniform, normal, lognormal, empirical"
                ),
            );
        }
    };
    let min = match t.min {
        Some(v) => non_negative(v, at(&path, &[k("min")]))?,
        None => 0.0,
    };
    let max = match t.max {
        Some(v) => non_negative(v, at(&path, &[k("max")]))?.min(cap),
        None => cap,
    };
    if max < min {
        return fail(
            at(&path, &[k("max")]),
            format!("must be >= min ({min}), got {max}"),
        );
    }
    Ok(d.clamped(min, max))
}

fn opt_dist(raw: Option<&RawDist>, path: Vec<Seg>, default: f64, cap: f64) -> VResult<Dist> {
    match raw {
        Some(r) => dist(r, path, cap),
        None => Ok(Dist::constant(default).clamped(0.0, cap)),
    }
}

/// Resolves model names against the catalog (plus the scenario's `[models]`), collecting the
/// models the scenario uses.
struct Models {
    catalog: Catalog,
    used: Vec<ModelSpec>,
}

impl Models {
    fn resolve(&mut self, name: &str, path: Vec<Seg>) -> VResult<ModelIdx> {
        let Some(spec) = self.catalog.get(name) else {
            let best = self
                .catalog
                .names()
                .map(|n| (strsim::jaro_winkler(name, n), n))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let hint = match best {
                Some((score, n)) if score > 0.75 => format!("; did you mean `{n}`?"),
                _ => String::new(),
            };
            return fail(
                path,
                format!(
                    "unknown model `{name}`{hint} (`burnrate catalog` lists the models; add one under [models.NAME])"
                ),
            );
        };
        if let Some(i) = self.used.iter().position(|m| m.id == spec.id) {
            return Ok(i);
        }
        self.used.push(spec.clone());
        Ok(self.used.len() - 1)
    }
}

/// The price fields of one list as written.
struct RatesFields<'a> {
    input: Option<f64>,
    output: Option<f64>,
    read: Option<f64>,
    writes: Option<&'a std::collections::BTreeMap<String, f64>>,
}

fn offer(ttls: &mut Vec<CacheTtl>, t: CacheTtl) {
    if !ttls.contains(&t) {
        ttls.push(t);
        ttls.sort();
    }
}

/// Applies written prices to `rates`. A `cache_write_usd_per_mtok` table replaces the TTLs
/// offered (its keys, the shortest first = the default).
fn rates_override(
    rates: &mut Rates,
    ttls: &mut Vec<CacheTtl>,
    raw: RatesFields,
    path: &[Seg],
) -> VResult<()> {
    let f = |field: &str| at(path, &[k(field)]);
    if let Some(v) = raw.input {
        rates.input_pusd = price(v, f("input_usd_per_mtok"))?;
    }
    if let Some(v) = raw.output {
        rates.output_pusd = price(v, f("output_usd_per_mtok"))?;
    }
    if let Some(v) = raw.read {
        rates.cache_read_pusd = price(v, f("cache_read_usd_per_mtok"))?;
    }
    if let Some(w) = raw.writes {
        let wp = f("cache_write_usd_per_mtok");
        ttls.clear();
        rates.cache_write_pusd = [0; 4];
        for (t, v) in w {
            let t = ttl(t, at(&wp, &[k(t)]))?;
            rates.set_cache_write(t, price(*v, at(&wp, &[k(t.as_str())]))?);
            offer(ttls, t);
        }
    }
    Ok(())
}

/// A tier's list: what is written, the rest at the band's standard prices scaled by the tier's
/// input (or output) ratio.
fn tier_rates(raw: &RawRates, standard: &Rates, ttls: &[CacheTtl], path: &[Seg]) -> VResult<Rates> {
    let f = |field: &str| at(path, &[k(field)]);
    let input = raw
        .input_usd_per_mtok
        .map(|v| price(v, f("input_usd_per_mtok")))
        .transpose()?;
    let output = raw
        .output_usd_per_mtok
        .map(|v| price(v, f("output_usd_per_mtok")))
        .transpose()?;
    let (num, den) = match (input, output) {
        (Some(i), _) => (i, standard.input_pusd),
        (None, Some(o)) => (o, standard.output_pusd),
        (None, None) => {
            return fail(
                path.to_vec(),
                "a tier needs at least `input_usd_per_mtok` or `output_usd_per_mtok`",
            );
        }
    };
    let d = |p: u64| {
        if den == 0 {
            p
        } else {
            (u128::from(p) * u128::from(num) / u128::from(den)) as u64
        }
    };
    let mut r = Rates {
        input_pusd: input.unwrap_or_else(|| d(standard.input_pusd)),
        output_pusd: output.unwrap_or_else(|| d(standard.output_pusd)),
        cache_read_pusd: d(standard.cache_read_pusd),
        cache_write_pusd: standard.cache_write_pusd.map(d),
    };
    let mut tier_ttls = ttls.to_vec();
    rates_override(
        &mut r,
        &mut tier_ttls,
        RatesFields {
            input: None,
            output: None,
            read: raw.cache_read_usd_per_mtok,
            writes: None,
        },
        path,
    )?;
    if let Some(w) = &raw.cache_write_usd_per_mtok {
        let wp = f("cache_write_usd_per_mtok");
        for (t, v) in w {
            let tt = ttl(t, at(&wp, &[k(t)]))?;
            if !ttls.contains(&tt) {
                return fail(
                    at(&wp, &[k(t)]),
                    format!(
                        "the model does not offer TTL `{t}`; it offers: {}",
                        ttls.iter()
                            .map(|t| t.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            r.set_cache_write(tt, price(*v, at(&wp, &[k(t)]))?);
        }
    }
    Ok(r)
}

pub(crate) fn model_override(name: &str, raw: &RawModel, catalog: &Catalog) -> VResult<ModelSpec> {
    let path = vec![k("models"), k(name)];
    let f = |field: &str| at(&path, &[k(field)]);
    let base_name = raw.based_on.as_deref().unwrap_or(name);
    let mut spec = match catalog.get(base_name) {
        Some(spec) => spec.clone(),
        None if raw.based_on.is_some() => {
            return fail(
                f("based_on"),
                format!("unknown model `{base_name}` (see `burnrate catalog`)"),
            );
        }
        None => new_model(name, raw, &path)?,
    };
    spec.id = name.to_string();
    if base_name != name {
        spec.aliases.clear();
    }
    if let Some(p) = &raw.provider {
        spec.provider = Provider::parse(p).ok_or((
            f("provider"),
            format!("`{p}` is not allowed; use one of: openai, anthropic, google, generic"),
        ))?;
    }
    if let Some(kind) = &raw.kind {
        spec.kind = match one_of(kind, &["chat", "embedding"], f("kind"))? {
            "chat" => ModelKind::Chat,
            _ => ModelKind::Embedding,
        };
    }
    override_prices(&mut spec, raw, &path)?;
    override_behaviour(&mut spec, raw, &path)?;
    Ok(spec)
}

/// A model the catalog does not have: `provider` and both prices are required, the rest takes
/// the provider's usual rules until the file says otherwise.
fn new_model(name: &str, raw: &RawModel, path: &[Seg]) -> VResult<ModelSpec> {
    let f = |field: &str| at(path, &[k(field)]);
    let provider = raw.provider.as_deref().ok_or((
        path.to_vec(),
        "a new model needs `provider` (openai, anthropic, google or generic) and its prices"
            .to_string(),
    ))?;
    let provider = Provider::parse(provider).ok_or((
        f("provider"),
        format!("`{provider}` is not allowed; use one of: openai, anthropic, google, generic"),
    ))?;
    let input = raw.input_usd_per_mtok.ok_or((
        path.to_vec(),
        "a new model needs `input_usd_per_mtok`".to_string(),
    ))?;
    let output = raw.output_usd_per_mtok.ok_or((
        path.to_vec(),
        "a new model needs `output_usd_per_mtok`".to_string(),
    ))?;
    let input_p = price(input, f("input_usd_per_mtok"))?;
    // The provider's usual rules until the file says otherwise.
    let (ttls, read): (&[(CacheTtl, u64)], u64) = match provider {
        Provider::Anthropic => (
            &[
                (CacheTtl::FiveMinutes, input_p * 5 / 4),
                (CacheTtl::OneHour, input_p * 2),
            ],
            input_p / 10,
        ),
        Provider::OpenAi => (
            &[
                (CacheTtl::FiveMinutes, input_p),
                (CacheTtl::OneHour, input_p),
                (CacheTtl::OneDay, input_p),
            ],
            input_p / 2,
        ),
        Provider::Google => (
            &[
                (CacheTtl::FiveMinutes, input_p),
                (CacheTtl::OneHour, input_p),
            ],
            input_p / 2,
        ),
        // The generic rule knows no discount the file does not state.
        Provider::Generic => (&[(CacheTtl::ThirtyMinutes, input_p)], input_p),
    };
    let mut standard = Rates {
        input_pusd: input_p,
        output_pusd: price(output, f("output_usd_per_mtok"))?,
        cache_read_pusd: read,
        cache_write_pusd: [0; 4],
    };
    for (t, p) in ttls {
        standard.set_cache_write(*t, *p);
    }
    Ok(ModelSpec {
        id: name.to_string(),
        aliases: Vec::new(),
        provider,
        kind: ModelKind::Chat,
        prices: PriceBand {
            standard,
            ..PriceBand::default()
        },
        long_context: None,
        cache_ttls: ttls.iter().map(|(t, _)| *t).collect(),
        min_cacheable_tokens: 1024,
        cache_granularity_tokens: if matches!(provider, Provider::OpenAi | Provider::Generic) {
            128
        } else {
            1
        },
        batch_discount_percent: 50,
        regions: Default::default(),
        reasoning: false,
        max_input_tokens: None,
        max_output_tokens: None,
        deprecation_date: None,
        successor: None,
        rate_limits: RateLimits::default(),
        latency: Latency {
            time_to_first_token_s: 0.8,
            time_per_output_token_s: 1.0 / 70.0,
            cv: 0.3,
        },
        as_of: "scenario".to_string(),
        source: "scenario file".to_string(),
    })
}

/// A model's prices from the file: standard rates, cache writes, service tiers, long context
/// and regional uplifts.
fn override_prices(spec: &mut ModelSpec, raw: &RawModel, path: &[Seg]) -> VResult<()> {
    let f = |field: &str| at(path, &[k(field)]);
    // Standard prices. Changing one drops the base entry's tier and long-context lists (they
    // were absolute prices for the old standard ones) unless the file gives them again; writes
    // that were billed as input follow the new input price.
    let old = spec.prices.standard;
    rates_override(
        &mut spec.prices.standard,
        &mut spec.cache_ttls,
        RatesFields {
            input: raw.input_usd_per_mtok,
            output: raw.output_usd_per_mtok,
            read: raw.cache_read_usd_per_mtok,
            writes: raw.cache_write_usd_per_mtok.as_ref(),
        },
        path,
    )?;
    if spec.prices.standard.input_pusd != old.input_pusd {
        for t in CacheTtl::ALL {
            if old.cache_write(t) == old.input_pusd && spec.cache_ttls.contains(&t) {
                let input = spec.prices.standard.input_pusd;
                spec.prices.standard.set_cache_write(t, input);
            }
        }
    }
    if spec.prices.standard != old {
        spec.prices.flex = None;
        spec.prices.priority = None;
        spec.prices.batch = None;
        spec.long_context = None;
    }
    if let Some(v) = raw.cache_write_5m_usd_per_mtok {
        let p = price(v, f("cache_write_5m_usd_per_mtok"))?;
        offer(&mut spec.cache_ttls, CacheTtl::FiveMinutes);
        spec.prices
            .standard
            .set_cache_write(CacheTtl::FiveMinutes, p);
    }
    if let Some(v) = raw.cache_write_1h_usd_per_mtok {
        let p = price(v, f("cache_write_1h_usd_per_mtok"))?;
        offer(&mut spec.cache_ttls, CacheTtl::OneHour);
        spec.prices.standard.set_cache_write(CacheTtl::OneHour, p);
    }
    let standard = spec.prices.standard;
    for (tier, raw_tier) in [
        (ServiceTier::Flex, &raw.flex),
        (ServiceTier::Priority, &raw.priority),
        (ServiceTier::Batch, &raw.batch),
    ] {
        if let Some(rt) = raw_tier {
            let tp = at(path, &[k(tier.as_str())]);
            *spec.prices.tier_mut(tier) = Some(tier_rates(rt, &standard, &spec.cache_ttls, &tp)?);
        }
    }
    if let Some(lc) = &raw.long_context {
        spec.long_context = Some(long_context(lc, standard, &spec.cache_ttls, path)?);
    }
    if let Some(regions) = &raw.regions {
        spec.regions.clear();
        for (region, m) in regions {
            if !(m.is_finite() && (1.0..=10.0).contains(m)) {
                return fail(
                    at(path, &[k("regions"), k(region)]),
                    format!("must be an uplift multiplier from 1 to 10, got {m}"),
                );
            }
            spec.regions
                .insert(region.clone(), (m * 1000.0).round() as u32);
        }
    }
    Ok(())
}

/// `[models.NAME.long_context]`: the rates past the threshold, on the model's standard ones.
fn long_context(
    lc: &RawLongContext,
    standard: Rates,
    cache_ttls: &[CacheTtl],
    path: &[Seg],
) -> VResult<LongContext> {
    let lp = at(path, &[k("long_context")]);
    let above = count(
        lc.above_input_tokens,
        1,
        MAX_TOKENS as i64,
        at(&lp, &[k("above_input_tokens")]),
    )?;
    let mut long_std = standard;
    let mut ttls = cache_ttls.to_vec();
    rates_override(
        &mut long_std,
        &mut ttls,
        RatesFields {
            input: lc.input_usd_per_mtok,
            output: lc.output_usd_per_mtok,
            read: lc.cache_read_usd_per_mtok,
            writes: lc.cache_write_usd_per_mtok.as_ref(),
        },
        &lp,
    )?;
    if ttls != cache_ttls {
        return fail(
            at(&lp, &[k("cache_write_usd_per_mtok")]),
            "must price the same TTLs as the model's own `cache_write_usd_per_mtok`",
        );
    }
    let mut prices = PriceBand {
        standard: long_std,
        ..PriceBand::default()
    };
    for (tier, raw_tier) in [
        (ServiceTier::Flex, &lc.flex),
        (ServiceTier::Priority, &lc.priority),
        (ServiceTier::Batch, &lc.batch),
    ] {
        if let Some(rt) = raw_tier {
            let tp = at(&lp, &[k(tier.as_str())]);
            *prices.tier_mut(tier) = Some(tier_rates(rt, &long_std, cache_ttls, &tp)?);
        }
    }
    Ok(LongContext {
        above_input_tokens: above,
        prices,
    })
}

/// A model's limits, latency, retirement and provenance from the file.
fn override_behaviour(spec: &mut ModelSpec, raw: &RawModel, path: &[Seg]) -> VResult<()> {
    let f = |field: &str| at(path, &[k(field)]);
    if let Some(v) = raw.reasoning {
        spec.reasoning = v;
    }
    if let Some(v) = raw.max_input_tokens {
        spec.max_input_tokens = Some(count(v, 1, i64::MAX / 2, f("max_input_tokens"))?);
    }
    if let Some(v) = raw.max_output_tokens {
        spec.max_output_tokens = Some(count(v, 1, i64::MAX / 2, f("max_output_tokens"))?);
    }
    if let Some(d) = &raw.deprecation_date {
        if !is_iso_date(d) {
            return fail(
                f("deprecation_date"),
                format!("`{d}` is not a date; write YYYY-MM-DD"),
            );
        }
        spec.deprecation_date = Some(d.clone());
    }
    if let Some(s) = &raw.successor {
        spec.successor = Some(s.clone());
    }
    if let Some(v) = raw.min_cacheable_tokens {
        spec.min_cacheable_tokens = count(v, 0, u32::MAX as i64, f("min_cacheable_tokens"))? as u32;
    }
    if let Some(v) = raw.batch_discount_percent {
        spec.batch_discount_percent = count(v, 0, 100, f("batch_discount_percent"))? as u32;
    }
    if let Some(name) = &raw.usage_tier {
        spec.rate_limits = tier_limits(spec, name, f("usage_tier"))?;
    }
    write_limits(&mut spec.rate_limits, raw, path)?;
    if let Some(v) = raw.time_to_first_token_s {
        spec.latency.time_to_first_token_s = non_negative(v, f("time_to_first_token_s"))?;
    }
    if let Some(v) = raw.output_tokens_per_s {
        spec.latency.time_per_output_token_s = 1.0 / positive(v, f("output_tokens_per_s"))?;
    }
    if let Some(v) = raw.latency_cv {
        spec.latency.cv = non_negative(v, f("latency_cv"))?;
    }
    if let Some(v) = &raw.as_of {
        spec.as_of = v.clone();
    }
    if let Some(v) = &raw.source {
        spec.source = v.clone();
    }
    Ok(())
}

/// The rate limits `[models.X]` writes itself, over `limits` (0 means "no limit").
fn write_limits(limits: &mut RateLimits, raw: &RawModel, path: &[Seg]) -> VResult<()> {
    let limit = |v: Option<i64>, field: &str| -> VResult<Option<Option<u64>>> {
        match v {
            Some(0) => Ok(Some(None)),
            Some(v) => Ok(Some(Some(count(
                v,
                1,
                i64::MAX / 2,
                at(path, &[k(field)]),
            )?))),
            None => Ok(None),
        }
    };
    if let Some(v) = limit(raw.requests_per_minute, "requests_per_minute")? {
        limits.requests_per_minute = v;
    }
    if let Some(v) = limit(raw.tokens_per_minute, "tokens_per_minute")? {
        limits.tokens_per_minute = v;
    }
    if let Some(v) = limit(raw.input_tokens_per_minute, "input_tokens_per_minute")? {
        limits.input_tokens_per_minute = v;
    }
    if let Some(v) = limit(raw.output_tokens_per_minute, "output_tokens_per_minute")? {
        limits.output_tokens_per_minute = v;
    }
    Ok(())
}

fn failures(raw: &RawFailures, base: &FailureRates, path: &[Seg]) -> VResult<FailureRates> {
    let p = |v: Option<f64>, d: f64, field: &str| match v {
        Some(v) => prob(v, at(path, &[k(field)])),
        None => Ok(d),
    };
    let rates = FailureRates {
        malformed: p(raw.malformed, base.malformed, "malformed")?,
        tool_error: p(raw.tool_error, base.tool_error, "tool_error")?,
        rate_limit: p(raw.rate_limit, base.rate_limit, "rate_limit")?,
        server_error: p(raw.server_error, base.server_error, "server_error")?,
        timeout: p(raw.timeout, base.timeout, "timeout")?,
        timeout_s: match raw.timeout_s {
            Some(v) => positive(v, at(path, &[k("timeout_s")]))?,
            None => base.timeout_s,
        },
    };
    if rates.total() > 1.0 + 1e-12 {
        return fail(
            path.to_vec(),
            format!(
                "failure probabilities add up to {}, more than 1",
                rates.total()
            ),
        );
    }
    Ok(rates)
}

fn profile<const N: usize>(raw: &[f64], path: Vec<Seg>) -> VResult<[f64; N]> {
    if raw.len() != N {
        return fail(
            path,
            format!("must list exactly {N} weights, got {}", raw.len()),
        );
    }
    let mut out = [0.0; N];
    for (i, v) in raw.iter().enumerate() {
        out[i] = non_negative(*v, at(&path, &[Seg::Index(i)]))?;
    }
    let mean = out.iter().sum::<f64>() / N as f64;
    if mean <= 0.0 {
        return fail(path, "weights must not all be zero");
    }
    for v in &mut out {
        *v /= mean;
    }
    Ok(out)
}

pub(crate) fn validate(raw: RawScenario, default_name: &str) -> VResult<Scenario> {
    // The order of the sections is the order models are first resolved in (it numbers them)
    // and the order errors are found in: keep it.
    let horizon = horizon(&raw.horizon)?;
    let horizon_s = f64::from(horizon.days) * 86_400.0;
    let mut models = models(&raw)?;
    let steps = steps(&raw, &mut models)?;
    let traffic = traffic(&raw, &horizon, &steps)?;
    let stuck = stuck(&raw)?;
    let incidents = incidents(&raw, horizon_s, &mut models)?;
    let routing = routing(&raw, &mut models, &steps)?;
    let caching = caching(&raw)?;
    let spend_caps = usage_tiers(&raw, &mut models.used)?;
    let limits = limits(&raw)?;
    let batching = batching(&raw)?;
    let fixed_costs = fixed_costs(&raw)?;
    let daily_budget_pusd = daily_budget(&raw)?;
    check_billing(&raw, &models, &steps, routing.as_ref(), &caching)?;
    let as_of = match raw.as_of {
        Some(d) if is_iso_date(&d) => Some(d),
        Some(d) => {
            return fail(
                vec![k("as_of")],
                format!("`{d}` is not a date; write YYYY-MM-DD, e.g. \"2026-12-01\""),
            );
        }
        None => None,
    };

    let rate_limit_pools = rate_limit_pools(&raw.models, &models.used)?;

    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| default_name.to_string()),
        description: raw.description,
        as_of,
        horizon,
        models: models.used,
        traffic,
        steps,
        stuck,
        incidents,
        routing,
        caching,
        limits,
        batching,
        fixed_costs,
        daily_budget_pusd,
        rate_limit_pools,
        spend_caps,
    })
}

/// `[horizon]`.
fn horizon(h: &RawHorizon) -> VResult<Horizon> {
    Ok(Horizon {
        days: count(
            h.days.unwrap_or(30),
            1,
            i64::from(ceilings::MAX_DAYS),
            vec![k("horizon"), k("days")],
        )? as u32,
        replicas: count(
            h.replicas.unwrap_or(100),
            1,
            i64::from(ceilings::MAX_REPLICAS),
            vec![k("horizon"), k("replicas")],
        )? as u32,
        seed: h.seed.unwrap_or(1),
    })
}

/// The catalog with the scenario's `[models]` overrides and additions.
fn models(raw: &RawScenario) -> VResult<Models> {
    let mut catalog = Catalog::builtin();
    for (name, m) in &raw.models {
        let spec = model_override(name, m, &catalog)?;
        catalog.insert(spec);
    }
    Ok(Models {
        catalog,
        used: Vec::new(),
    })
}

/// `[[steps]]`, with `[failures]` as every step's default.
fn steps(raw: &RawScenario, models: &mut Models) -> VResult<Vec<Step>> {
    if raw.steps.is_empty() {
        return fail(
            vec![k("steps")],
            "a scenario needs at least one [[steps]] table with `name` and `model`",
        );
    }
    let default_failures = failures(
        &raw.failures,
        &FailureRates {
            timeout_s: 60.0,
            ..FailureRates::default()
        },
        &[k("failures")],
    )?;
    let mut steps = Vec::with_capacity(raw.steps.len());
    for i in 0..raw.steps.len() {
        steps.push(step(raw, i, models, &default_failures)?);
    }
    Ok(steps)
}

/// `[[steps]]` number `i`.
fn step(
    raw: &RawScenario,
    i: usize,
    models: &mut Models,
    default_failures: &FailureRates,
) -> VResult<Step> {
    let s = &raw.steps[i];
    let sp = vec![k("steps"), Seg::Index(i)];
    let f = |field: &str| at(&sp, &[k(field)]);
    if s.name.trim().is_empty() {
        return fail(f("name"), "must not be empty");
    }
    if matches!(s.name.as_str(), "router" | "summarize") {
        return fail(
            f("name"),
            format!(
                "`{}` is reserved for burnrate's own lines; pick another name",
                s.name
            ),
        );
    }
    if raw.steps[..i].iter().any(|o| o.name == s.name) {
        return fail(
            f("name"),
            format!("step name `{}` is used twice; names must be unique", s.name),
        );
    }
    let model = if s.model == "routed" {
        if raw.routing.is_none() {
            return fail(
                f("model"),
                "`routed` needs a [routing] table naming the cheap and strong models",
            );
        }
        StepModel::Routed
    } else {
        StepModel::Fixed(models.resolve(&s.model, f("model"))?)
    };
    let summarize = step_summarize(s, models, &f)?;
    let context = match s.context.as_deref() {
        None => ContextMode::Fresh,
        Some(c) => match one_of(c, &["fresh", "accumulate"], f("context"))? {
            "fresh" => ContextMode::Fresh,
            _ => ContextMode::Accumulate,
        },
    };
    let items_per_call = match s.items_per_call {
        Some(v) => count(v, 1, 10_000, f("items_per_call"))? as u32,
        None => 1,
    };
    if items_per_call > 1 && model == StepModel::Routed {
        return fail(
            f("items_per_call"),
            "a routed step cannot combine items (each task may be on a different tier)",
        );
    }
    let retry_growth_tokens = step_retry_growth(s, &sp)?;
    let (tier, batch) = step_tier(s, &f)?;
    Ok(Step {
        name: s.name.clone(),
        model,
        prefix_tokens: opt_dist(
            s.prefix_tokens.as_ref(),
            f("prefix_tokens"),
            0.0,
            MAX_TOKENS,
        )?,
        input_tokens: opt_dist(s.input_tokens.as_ref(), f("input_tokens"), 0.0, MAX_TOKENS)?,
        output_tokens: dist(&s.output_tokens, f("output_tokens"), MAX_TOKENS)?,
        max_tokens: match s.max_tokens {
            Some(v) => Some(count(v, 1, MAX_TOKENS as i64, f("max_tokens"))?),
            None => None,
        },
        repeat: opt_dist(
            s.repeat.as_ref(),
            f("repeat"),
            1.0,
            ceilings::MAX_REPEAT as f64,
        )?,
        tool_result_tokens: match &s.tool_result_tokens {
            Some(d) => Some(dist(d, f("tool_result_tokens"), MAX_TOKENS)?),
            None => None,
        },
        summarize,
        context,
        cache: s.cache.unwrap_or(true),
        ttl: match &s.ttl {
            Some(t) => Some(ttl(t, f("ttl"))?),
            None => None,
        },
        batch,
        tier,
        region: s.region.clone(),
        reasoning_tokens: match &s.reasoning_tokens {
            Some(d) => Some(dist(d, f("reasoning_tokens"), MAX_TOKENS)?),
            None => None,
        },
        items_per_call,
        combine_window_s: match s.combine_window_s {
            Some(v) => positive(v, f("combine_window_s"))?.min(86_400.0),
            None => 60.0,
        },
        failures: match &s.failures {
            Some(r) => failures(r, default_failures, &f("failures"))?,
            None => *default_failures,
        },
        error_tokens: opt_dist(
            s.error_tokens.as_ref(),
            f("error_tokens"),
            100.0,
            MAX_TOKENS,
        )?,
        retry_growth_tokens,
    })
}

/// A step's `summarize_with` and `summary_tokens`.
fn step_summarize(
    s: &RawStep,
    models: &mut Models,
    f: &dyn Fn(&str) -> Vec<Seg>,
) -> VResult<Option<Summarize>> {
    Ok(match &s.summarize_with {
        Some(m) => {
            if s.tool_result_tokens.is_none() {
                return fail(
                    f("summarize_with"),
                    "summarizing needs `tool_result_tokens` to summarize",
                );
            }
            Some(Summarize {
                model: models.resolve(m, f("summarize_with"))?,
                output_tokens: opt_dist(
                    s.summary_tokens.as_ref(),
                    f("summary_tokens"),
                    300.0,
                    MAX_TOKENS,
                )?,
            })
        }
        None => {
            if s.summary_tokens.is_some() {
                return fail(f("summary_tokens"), "only meaningful with `summarize_with`");
            }
            None
        }
    })
}

/// A step's `retry_growth_tokens`.
fn step_retry_growth(s: &RawStep, sp: &[Seg]) -> VResult<Option<Vec<u64>>> {
    Ok(match &s.retry_growth_tokens {
        Some(list) if list.is_empty() => {
            return fail(
                at(sp, &[k("retry_growth_tokens")]),
                "must list at least one token count",
            );
        }
        Some(list) => Some(
            list.iter()
                .enumerate()
                .map(|(j, v)| {
                    count(
                        *v,
                        0,
                        MAX_TOKENS as i64,
                        at(sp, &[k("retry_growth_tokens"), Seg::Index(j)]),
                    )
                })
                .collect::<VResult<Vec<u64>>>()?,
        ),
        None => None,
    })
}

/// A step's `tier` and `batch`, which must agree.
fn step_tier(s: &RawStep, f: &dyn Fn(&str) -> Vec<Seg>) -> VResult<(ServiceTier, bool)> {
    let tier = match &s.tier {
        Some(t) => ServiceTier::parse(one_of(
            t,
            &["standard", "flex", "priority", "batch"],
            f("tier"),
        )?)
        .expect("checked"),
        None if s.batch == Some(true) => ServiceTier::Batch,
        None => ServiceTier::Standard,
    };
    let batch = match (s.batch, tier) {
        (Some(true), ServiceTier::Flex | ServiceTier::Priority) => {
            return fail(
                f("tier"),
                format!(
                    "a `batch = true` step is billed at the batch tier, not `{}`; drop one of the two",
                    tier.as_str()
                ),
            );
        }
        (Some(false), ServiceTier::Batch) => {
            return fail(
                f("tier"),
                "`tier = \"batch\"` sends the step through the batch API, but the step says `batch = false`",
            );
        }
        _ => tier == ServiceTier::Batch,
    };
    Ok((tier, batch))
}

/// `[traffic]`: volume, arrivals, profiles, growth and task kinds.
fn traffic(raw: &RawScenario, horizon: &Horizon, steps: &[Step]) -> VResult<Traffic> {
    let t = &raw.traffic;
    let tp = vec![k("traffic")];
    let ft = |field: &str| at(&tp, &[k(field)]);
    let tasks_per_day = non_negative(t.tasks_per_day, ft("tasks_per_day"))?;
    if tasks_per_day > ceilings::MAX_TASKS_PER_DAY {
        return fail(
            ft("tasks_per_day"),
            format!(
                "must be at most {}, got {tasks_per_day}",
                ceilings::MAX_TASKS_PER_DAY
            ),
        );
    }
    let arrivals = match t.arrivals.as_deref() {
        None => Arrivals::Poisson,
        Some(a) => match one_of(a, &["poisson", "uniform"], ft("arrivals"))? {
            "poisson" => Arrivals::Poisson,
            _ => Arrivals::Uniform,
        },
    };
    let growth_over_days = match &t.growth {
        Some(g) => Some(match g.over_days {
            Some(d) => {
                let d = positive(d, at(&tp, &[k("growth"), k("over_days")]))?;
                if d > f64::from(ceilings::MAX_DAYS) {
                    return fail(
                        at(&tp, &[k("growth"), k("over_days")]),
                        format!("must be at most {}", ceilings::MAX_DAYS),
                    );
                }
                d
            }
            None => f64::from(horizon.days),
        }),
        None => None,
    };
    let (growth_to, growth_shape) = match &t.growth {
        Some(g) => {
            let to = non_negative(
                g.to_tasks_per_day,
                at(&tp, &[k("growth"), k("to_tasks_per_day")]),
            )?;
            if to > ceilings::MAX_TASKS_PER_DAY {
                return fail(
                    at(&tp, &[k("growth"), k("to_tasks_per_day")]),
                    format!("must be at most {}", ceilings::MAX_TASKS_PER_DAY),
                );
            }
            let shape = match g.shape.as_deref() {
                None => GrowthShape::Exponential,
                Some(s) => match one_of(
                    s,
                    &["linear", "exponential"],
                    at(&tp, &[k("growth"), k("shape")]),
                )? {
                    "linear" => GrowthShape::Linear,
                    _ => GrowthShape::Exponential,
                },
            };
            if shape == GrowthShape::Exponential && (tasks_per_day <= 0.0 || to <= 0.0) {
                return fail(
                    at(&tp, &[k("growth"), k("shape")]),
                    "exponential growth needs tasks_per_day and to_tasks_per_day above 0; use shape = \"linear\"",
                );
            }
            (Some(to), shape)
        }
        None => (None, GrowthShape::Exponential),
    };
    let kinds = if t.kinds.is_empty() {
        vec![TaskKind {
            name: "default".to_string(),
            share: 1.0,
            steps: (0..steps.len()).collect(),
            token_scale: 1.0,
        }]
    } else {
        let mut kinds = Vec::new();
        for (i, kd) in t.kinds.iter().enumerate() {
            let kp = at(&tp, &[k("kinds"), Seg::Index(i)]);
            let share = non_negative(kd.share, at(&kp, &[k("share")]))?;
            let step_idx = match &kd.steps {
                None => (0..steps.len()).collect(),
                Some(names) => names
                    .iter()
                    .enumerate()
                    .map(|(j, n)| {
                        steps.iter().position(|s| &s.name == n).ok_or_else(|| {
                            let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
                            (
                                at(&kp, &[k("steps"), Seg::Index(j)]),
                                format!("unknown step `{n}`; steps are: {}", names.join(", ")),
                            )
                        })
                    })
                    .collect::<VResult<Vec<usize>>>()?,
            };
            kinds.push(TaskKind {
                name: kd.name.clone(),
                share,
                steps: step_idx,
                token_scale: match kd.token_scale {
                    Some(v) => positive(v, at(&kp, &[k("token_scale")]))?,
                    None => 1.0,
                },
            });
        }
        let total: f64 = kinds.iter().map(|k| k.share).sum();
        if total <= 0.0 {
            return fail(at(&tp, &[k("kinds")]), "shares must not all be zero");
        }
        for kd in &mut kinds {
            kd.share /= total;
        }
        kinds
    };
    Ok(Traffic {
        tasks_per_day,
        arrivals,
        daily_profile: match &t.daily_profile {
            Some(p) => Some(profile::<24>(p, ft("daily_profile"))?),
            None => None,
        },
        weekly_profile: match &t.weekly_profile {
            Some(p) => Some(profile::<7>(p, ft("weekly_profile"))?),
            None => None,
        },
        growth_to_tasks_per_day: growth_to,
        growth_shape,
        growth_over_days,
        kinds,
    })
}

/// `[stuck]`.
fn stuck(raw: &RawScenario) -> VResult<Option<Stuck>> {
    Ok(match &raw.stuck {
        Some(s) => Some(Stuck {
            probability: prob(s.probability, vec![k("stuck"), k("probability")])?,
            extra_calls: opt_dist(
                s.extra_calls.as_ref(),
                vec![k("stuck"), k("extra_calls")],
                f64::from(ceilings::MAX_CALLS_PER_TASK),
                f64::from(ceilings::MAX_CALLS_PER_TASK),
            )?,
            context: match s.context.as_deref() {
                None => StuckContext::Step,
                Some(c) => {
                    match one_of(c, &["step", "accumulate"], vec![k("stuck"), k("context")])? {
                        "accumulate" => StuckContext::Accumulate,
                        _ => StuckContext::Step,
                    }
                }
            },
        }),
        None => None,
    })
}

/// `[[incidents]]`.
fn incidents(raw: &RawScenario, horizon_s: f64, models: &mut Models) -> VResult<Vec<Incident>> {
    let mut incidents = Vec::new();
    for (i, inc) in raw.incidents.iter().enumerate() {
        let ip = vec![k("incidents"), Seg::Index(i)];
        let fi = |field: &str| at(&ip, &[k(field)]);
        let start_s = non_negative(inc.start_hour, fi("start_hour"))? * 3600.0;
        let duration_s = positive(inc.duration_hours, fi("duration_hours"))? * 3600.0;
        if start_s >= horizon_s {
            return fail(
                fi("start_hour"),
                format!(
                    "starts after the horizon ends (hour {})",
                    horizon_s / 3600.0
                ),
            );
        }
        let model = match &inc.model {
            Some(m) => Some(models.resolve(m, fi("model"))?),
            None => None,
        };
        let kind = match one_of(
            &inc.kind,
            &["outage", "failure_spike", "latency_spike", "surge"],
            fi("kind"),
        )? {
            "outage" => IncidentKind::Outage { model },
            "failure_spike" => IncidentKind::FailureSpike {
                model,
                extra_server_error: prob(
                    inc.server_error.ok_or((
                        ip.clone(),
                        "a failure_spike needs `server_error` (added probability)".to_string(),
                    ))?,
                    fi("server_error"),
                )?,
            },
            "latency_spike" => IncidentKind::LatencySpike {
                model,
                multiplier: positive(
                    inc.multiplier
                        .ok_or((ip.clone(), "a latency_spike needs `multiplier`".to_string()))?,
                    fi("multiplier"),
                )?,
            },
            _ => {
                if inc.model.is_some() {
                    return fail(fi("model"), "a surge applies to traffic, not to a model");
                }
                IncidentKind::Surge {
                    multiplier: positive(
                        inc.multiplier
                            .ok_or((ip.clone(), "a surge needs `multiplier`".to_string()))?,
                        fi("multiplier"),
                    )?,
                }
            }
        };
        incidents.push(Incident {
            kind,
            start_s,
            end_s: (start_s + duration_s).min(horizon_s),
        });
    }
    Ok(incidents)
}

/// `[routing]`, which needs a step on `model = "routed"`.
fn routing(raw: &RawScenario, models: &mut Models, steps: &[Step]) -> VResult<Option<Routing>> {
    let routing = match &raw.routing {
        Some(r) => {
            let rp = vec![k("routing")];
            let fr = |field: &str| at(&rp, &[k(field)]);
            let p = |v: Option<f64>, d: f64, field: &str| match v {
                Some(v) => prob(v, fr(field)),
                None => Ok(d),
            };
            Some(Routing {
                classifier_model: models.resolve(&r.classifier_model, fr("classifier_model"))?,
                classifier_prefix_tokens: opt_dist(
                    r.classifier_prefix_tokens.as_ref(),
                    fr("classifier_prefix_tokens"),
                    0.0,
                    MAX_TOKENS,
                )?,
                classifier_input_tokens: opt_dist(
                    r.classifier_input_tokens.as_ref(),
                    fr("classifier_input_tokens"),
                    500.0,
                    MAX_TOKENS,
                )?,
                classifier_output_tokens: opt_dist(
                    r.classifier_output_tokens.as_ref(),
                    fr("classifier_output_tokens"),
                    10.0,
                    MAX_TOKENS,
                )?,
                cheap_model: models.resolve(&r.cheap_model, fr("cheap_model"))?,
                strong_model: models.resolve(&r.strong_model, fr("strong_model"))?,
                easy_share: prob(r.easy_share, fr("easy_share"))?,
                misroute_rate: p(r.misroute_rate, 0.05, "misroute_rate")?,
                cheap_resolution_rate: p(r.cheap_resolution_rate, 0.9, "cheap_resolution_rate")?,
                hard_on_cheap_pass_rate: p(
                    r.hard_on_cheap_pass_rate,
                    0.0,
                    "hard_on_cheap_pass_rate",
                )?,
                fallback_rate: p(r.fallback_rate, 0.0, "fallback_rate")?,
                escalate_on_failure: r.escalate_on_failure.unwrap_or(true),
            })
        }
        None => None,
    };
    if routing.is_some() && !steps.iter().any(|s| s.model == StepModel::Routed) {
        return fail(
            vec![k("routing")],
            "no step uses `model = \"routed\"`, so [routing] would do nothing",
        );
    }
    Ok(routing)
}

/// `[caching]`.
fn caching(raw: &RawScenario) -> VResult<Caching> {
    Ok(Caching {
        enabled: raw
            .caching
            .enabled
            .unwrap_or(raw.caching.ttl.is_some() || raw.caching.enabled.is_some()),
        ttl_set: raw.caching.ttl.is_some(),
        ttl: match raw.caching.ttl.as_deref() {
            None => CacheTtl::FiveMinutes,
            Some(t) => ttl(t, vec![k("caching"), k("ttl")])?,
        },
    })
}

/// `[limits]`: per-task budgets, retries and backoff, the breaker, the daily cap.
fn limits(raw: &RawScenario) -> VResult<Limits> {
    let l = &raw.limits;
    let lp = vec![k("limits")];
    let fl = |field: &str| at(&lp, &[k(field)]);
    let backoff_base_s = match l.backoff_base_s {
        Some(v) => non_negative(v, fl("backoff_base_s"))?,
        None => 0.5,
    };
    let backoff_max_s = match l.backoff_max_s {
        Some(v) => non_negative(v, fl("backoff_max_s"))?,
        None => 8.0,
    };
    if backoff_max_s < backoff_base_s {
        return fail(
            fl("backoff_max_s"),
            format!("must be >= backoff_base_s ({backoff_base_s})"),
        );
    }
    Ok(Limits {
        max_tokens_per_task: match l.max_tokens_per_task {
            Some(v) => Some(count(v, 1, i64::MAX / 2, fl("max_tokens_per_task"))?),
            None => None,
        },
        max_pusd_per_task: match l.max_usd_per_task {
            Some(v) => Some(dollars(
                positive(v, fl("max_usd_per_task"))?,
                fl("max_usd_per_task"),
            )?),
            None => None,
        },
        max_retries: match l.max_retries {
            Some(v) => count(
                v,
                0,
                i64::from(ceilings::MAX_RETRIES_PER_CALL),
                fl("max_retries"),
            )? as u32,
            None => 3,
        },
        backoff_base_s,
        backoff_max_s,
        jitter: match l.jitter {
            Some(v) => prob(v, fl("jitter"))?,
            None => 0.25,
        },
        breaker: match &l.breaker {
            Some(b) => Some(Breaker {
                consecutive_failures: count(
                    b.consecutive_failures,
                    1,
                    1_000_000,
                    at(&lp, &[k("breaker"), k("consecutive_failures")]),
                )? as u32,
                cooldown_s: non_negative(b.cooldown_s, at(&lp, &[k("breaker"), k("cooldown_s")]))?,
            }),
            None => None,
        },
        daily_cap_pusd: match l.daily_cap_usd {
            Some(v) => Some(dollars(v, fl("daily_cap_usd"))?),
            None => None,
        },
        alert_multiple: match l.alert_multiple {
            Some(v) => Some(positive(v, fl("alert_multiple"))?),
            None => None,
        },
        task_deadline_s: match l.task_deadline_s {
            Some(v) => Some(positive(v, fl("task_deadline_s"))?),
            None => None,
        },
    })
}

/// `[batching]`.
fn batching(raw: &RawScenario) -> VResult<Batching> {
    Ok(Batching {
        prefilter_share: match raw.batching.prefilter_share {
            Some(v) => prob(v, vec![k("batching"), k("prefilter_share")])?,
            None => 0.0,
        },
        batch_delay_s: match &raw.batching.batch_delay_s {
            Some(d) => dist(d, vec![k("batching"), k("batch_delay_s")], 86_400.0)?,
            // Most batches finish within the hour (provider-facts.md); the window is 24 h.
            None => Dist::lognormal(1800.0, 1.0)
                .expect("valid")
                .clamped(60.0, 86_400.0),
        },
    })
}

/// `[[fixed_costs]]` as (name, pUSD a month).
fn fixed_costs(raw: &RawScenario) -> VResult<Vec<(String, u64)>> {
    let mut fixed_costs = Vec::new();
    for (i, fc) in raw.fixed_costs.iter().enumerate() {
        fixed_costs.push((
            fc.name.clone(),
            dollars(
                fc.usd_per_month,
                vec![k("fixed_costs"), Seg::Index(i), k("usd_per_month")],
            )?,
        ));
    }
    Ok(fixed_costs)
}

/// `[budget] daily_usd`.
fn daily_budget(raw: &RawScenario) -> VResult<Option<u64>> {
    Ok(match raw.budget.daily_usd {
        Some(v) => Some(dollars(v, vec![k("budget"), k("daily_usd")])?),
        None => None,
    })
}

/// The billing options each step asks of the models it may run on (TTL, tier, region,
/// reasoning), checked against what those models offer.
fn check_billing(
    raw: &RawScenario,
    models: &Models,
    steps: &[Step],
    routing: Option<&Routing>,
    caching: &Caching,
) -> VResult<()> {
    let routing_models = routing.as_ref().map(|r| [r.cheap_model, r.strong_model]);
    for (i, (step, rs)) in steps.iter().zip(&raw.steps).enumerate() {
        let sp = vec![k("steps"), Seg::Index(i)];
        let f = |field: &str| at(&sp, &[k(field)]);
        let on: Vec<ModelIdx> = match step.model {
            StepModel::Fixed(m) => vec![m],
            StepModel::Routed => routing_models.map(|m| m.to_vec()).unwrap_or_default(),
        };
        for m in on {
            let spec = &models.used[m];
            if caching.enabled && step.cache && !spec.cache_ttls.is_empty() {
                if let Some(t) = step.ttl {
                    spec.offers_ttl(t).map_err(|e| (f("ttl"), e.to_string()))?;
                } else if caching.ttl_set {
                    spec.offers_ttl(caching.ttl).map_err(|e| {
                        (
                            vec![k("caching"), k("ttl")],
                            format!(
                                "{e} (step `{}`; set `ttl` on the step to override)",
                                rs.name
                            ),
                        )
                    })?;
                }
            }
            spec.offers_tier(step.tier).map_err(|e| {
                (
                    f(if rs.tier.is_some() { "tier" } else { "batch" }),
                    e.to_string(),
                )
            })?;
            if let Some(r) = &step.region {
                spec.region_uplift(r)
                    .map_err(|e| (f("region"), e.to_string()))?;
            }
            if step.reasoning_tokens.is_some() && !spec.reasoning {
                return fail(
                    f("reasoning_tokens"),
                    format!(
                        "model `{}` is not a reasoning model, so it bills no reasoning tokens (set `reasoning = true` under [models.{}] if it is)",
                        spec.id, spec.id
                    ),
                );
            }
        }
    }
    if let (Some(r), true) = (&routing, caching.enabled && caching.ttl_set) {
        let spec = &models.used[r.classifier_model];
        if !spec.cache_ttls.is_empty() {
            spec.offers_ttl(caching.ttl).map_err(|e| {
                (
                    vec![k("caching"), k("ttl")],
                    format!("{e} (the classifier)"),
                )
            })?;
        }
    }
    Ok(())
}

/// The scenario's `rate_limit_pool` names by model id, checked: a name is not empty, and the
/// models of one pool (named here or the provider's default, `LimitRules::default_pool`) have
/// the same limits, since they draw from one set of buckets.
fn rate_limit_pools(
    raw: &std::collections::BTreeMap<String, RawModel>,
    used: &[ModelSpec],
) -> VResult<std::collections::BTreeMap<String, String>> {
    let mut pools = std::collections::BTreeMap::new();
    for (name, m) in raw {
        if let Some(pool) = &m.rate_limit_pool {
            let path = vec![k("models"), k(name), k("rate_limit_pool")];
            if pool.trim().is_empty() {
                return fail(path, "a pool name: any non-empty string models share");
            }
            pools.insert(name.clone(), pool.clone());
        }
    }
    let pool_of = |spec: &ModelSpec| {
        pools
            .get(&spec.id)
            .map(String::as_str)
            .or_else(|| crate::catalog::LimitRules::default_pool(spec.provider, &spec.id))
    };
    for (i, a) in used.iter().enumerate() {
        let Some(pa) = pool_of(a) else { continue };
        if let Some(b) = used[..i]
            .iter()
            .find(|b| pool_of(b) == Some(pa) && b.rate_limits != a.rate_limits)
        {
            return fail(
                vec![k("models"), k(&a.id), k("rate_limit_pool")],
                format!(
                    "`{}` and `{}` share the rate-limit pool `{pa}` but have different limits; give them the same requests/tokens per minute, or name different pools",
                    b.id, a.id
                ),
            );
        }
    }
    Ok(pools)
}

/// The tier `name` of `spec`'s provider, checked.
fn find_tier(spec: &ModelSpec, name: &str, path: &[Seg]) -> VResult<&'static UsageTier> {
    UsageTier::named(spec.provider, &spec.id, name).map_err(|m| (path.to_vec(), m))
}

/// The limits usage tier `name` gives `spec` (`[models.X] usage_tier`).
fn tier_limits(spec: &ModelSpec, name: &str, path: Vec<Seg>) -> VResult<RateLimits> {
    UsageTier::limits_of(spec.provider, &spec.id, name).map_err(|m| (path, m))
}

/// Whether `[models.X]` writes any rate limit of its own.
fn writes_limits(m: &RawModel) -> bool {
    m.requests_per_minute.is_some()
        || m.tokens_per_minute.is_some()
        || m.input_tokens_per_minute.is_some()
        || m.output_tokens_per_minute.is_some()
}

/// The scenario's `usage_tier` applied to every used model of a provider that has the tier
/// (limits a model's own table writes still win; `[models.X] usage_tier` was applied when
/// the table was read), and the spend cap of each provider's tier. A tier is an
/// organization's, so the models of one provider must agree on it.
fn usage_tiers(raw: &RawScenario, used: &mut [ModelSpec]) -> VResult<Vec<SpendCap>> {
    let top = raw.usage_tier.as_deref();
    if let Some(name) = top
        && UsageTier::find_any(name).is_none()
    {
        return fail(
            vec![k("usage_tier")],
            format!(
                "unknown usage tier `{name}`; use one of: {}",
                UsageTier::allowed()
            ),
        );
    }
    let mut caps: Vec<(SpendCap, String)> = Vec::new();
    for spec in used.iter_mut() {
        let own = raw.models.get(&spec.id);
        let (name, path) = match own.and_then(|m| m.usage_tier.as_deref()) {
            Some(name) => (name, vec![k("models"), k(&spec.id), k("usage_tier")]),
            None => match top {
                Some(name) if UsageTier::find(spec.provider, name).is_some() => {
                    (name, vec![k("usage_tier")])
                }
                _ => continue,
            },
        };
        let tier = find_tier(spec, name, &path)?;
        if own.and_then(|m| m.usage_tier.as_ref()).is_none() {
            match tier.limits_for(&spec.id) {
                Some((_, limits)) => {
                    spec.rate_limits = limits;
                    if let Some(m) = own {
                        write_limits(&mut spec.rate_limits, m, &[k("models"), k(&spec.id)])?;
                    }
                }
                None if own.is_some_and(writes_limits) => {}
                None => {
                    tier_limits(spec, name, path.clone())?;
                }
            }
        }
        match caps.iter().find(|(c, _)| c.provider == spec.provider) {
            Some((c, other)) if c.usage_tier != tier.name => {
                return fail(
                    path,
                    format!(
                        "`{}` is on {} `{}` but `{other}` on `{}`: a usage tier is the organization's, so every {} model is on the same one",
                        spec.id,
                        spec.provider.as_str(),
                        tier.name,
                        c.usage_tier,
                        spec.provider.as_str()
                    ),
                );
            }
            Some(_) => {}
            None => caps.push((
                SpendCap {
                    provider: spec.provider,
                    usage_tier: tier.name,
                    monthly_cap_pusd: tier.monthly_spend_cap_usd * crate::money::PUSD_PER_USD,
                },
                spec.id.clone(),
            )),
        }
    }
    Ok(caps.into_iter().map(|(c, _)| c).collect())
}
