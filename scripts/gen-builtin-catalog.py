#!/usr/bin/env python3
"""Generates sim/src/catalog/builtin.rs from LiteLLM's price map (the test fixture).

    scripts/gen-builtin-catalog.py [sim/tests/fixtures/litellm-prices-2026-12.json]

The mapping from LiteLLM's keys to burnrate's billing fields is written here independently of
the Rust importer (sim/src/litellm.rs); the sim test `builtin_catalog_equals_the_snapshot`
imports the same file with the Rust importer and compares every built-in entry field by field,
so the two implementations check each other. Rates are integer pUSD per token
(USD per token x 1e12).
"""
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "sim/tests/fixtures/litellm-prices-2026-12.json"
OUT = ROOT / "sim/src/catalog/builtin.rs"
AS_OF = "2026-12-01"
SNAPSHOT = "LiteLLM 1.110.2 price map (MIT), December 2026"

TTLS = ["5m", "30m", "1h", "24h"]
TIERS = [("flex", "_flex"), ("priority", "_priority"), ("batch", "_batches")]


def pusd(usd):
    return int(round(float(usd) * 1e12))


def rule_of(key, e):
    p = e.get("litellm_provider")
    if p == "openai":
        return "openai"
    if p == "anthropic":
        return "anthropic"
    if p == "gemini":
        return "google"
    return None


def new_openai_cache(e):
    c = e.get("cache_creation_input_token_cost")
    return c is not None and pusd(c) >= pusd(e["input_cost_per_token"])


def write_keys(rule, e):
    """(ttl, LiteLLM key stem) per offered TTL; None stem = billed as input."""
    if rule == "anthropic":
        return [("5m", "cache_creation_input_token_cost"), ("1h", "cache_creation_input_token_cost_above_1hr")]
    if rule == "openai" and new_openai_cache(e):
        return [("30m", "cache_creation_input_token_cost"), ("24h", "cache_creation_input_token_cost_above_12hr")]
    if rule == "openai":
        return [("5m", None), ("1h", None), ("24h", None)]
    return [("5m", None), ("1h", None)]


def band(e, rule, infix, base=None):
    """Rates of one context band: {'standard': rates, 'flex': ..., ...} or None."""
    def get(stem, sfx):
        v = e.get(stem + infix + sfx)
        return None if v is None else pusd(v)

    std_in = get("input_cost_per_token", "")
    if std_in is None:
        return None
    wk = write_keys(rule, e)

    def rates(sfx, ref):
        # ref: the rates missing lines derive from, with the ratio of this list's input to ref's.
        r = {}
        r["input"] = get("input_cost_per_token", sfx)
        r["output"] = get("output_cost_per_token", sfx)
        if ref is not None:
            num, den = (r["input"], ref["input"]) if r["input"] is not None else (r["output"], ref["output"])
            der = lambda p: p * num // den if den else p
            if r["input"] is None:
                r["input"] = der(ref["input"])
            if r["output"] is None:
                r["output"] = der(ref["output"])
        if r["output"] is None:
            r["output"] = 0
        read = get("cache_read_input_token_cost", sfx)
        if read is None:
            read = der(ref["read"]) if ref is not None else r["input"]
        r["read"] = read
        w = {}
        for ttl, stem in wk:
            if stem is None:
                w[ttl] = r["input"]
            else:
                v = get(stem, sfx)
                if v is None:
                    v = der(ref["w"][ttl]) if ref is not None else None
                if v is None:  # missing base write: the provider's rule
                    v = r["input"] * 5 // 4 if ttl == "5m" else (r["input"] * 2 if ttl == "1h" else (r["input"] * 5 // 4 if ttl == "30m" else r["input"] * 5 // 2))
                w[ttl] = v
        r["w"] = w
        return r

    std = rates("", base)
    out = {"standard": std}
    for name, sfx in TIERS:
        if get("input_cost_per_token", sfx) is not None or get("output_cost_per_token", sfx) is not None:
            out[name] = rates(sfx, std)
    return out


def convert(key, e):
    rule = rule_of(key, e)
    short = band(e, rule, "")
    long = None
    for k in e:
        m = re.match(r"input_cost_per_token_above_(\d+)k_tokens$", k)
        if m:
            n = int(m.group(1))
            long = (n * 1000, band(e, rule, f"_above_{n}k_tokens", short["standard"]))
    has_cache = e.get("cache_read_input_token_cost") is not None
    if not has_cache:  # no caching: no write prices
        for b in [short] + ([long[1]] if long else []):
            for r in b.values():
                r["w"] = {}
    ttls = [t for t, _ in write_keys(rule, e)] if has_cache else []
    mc = e.get("prompt_cache_min_tokens")
    min_cache = int(mc) if mc is not None else 1024
    if not has_cache:
        min_cache = 4294967295
    regions = {}
    for r in ("us", "eu"):
        v = e.get(f"regional_processing_uplift_multiplier_{r}")
        if v is not None:
            regions[r] = int(round(v * 1000))
    if e.get("fedramp_uplift_multiplier") is not None:
        regions["fedramp"] = int(round(e["fedramp_uplift_multiplier"] * 1000))
    if e.get("regional_endpoint_uplift_multiplier") is not None:
        regions["regional"] = int(round(e["regional_endpoint_uplift_multiplier"] * 1000))
    pse = e.get("provider_specific_entry") or {}
    if isinstance(pse.get("us"), (int, float)):
        regions["us"] = int(round(pse["us"] * 1000))
    succ = e.get("successor_model")
    if succ and succ.startswith("gemini/"):
        succ = succ[len("gemini/"):]
    kind = "Embedding" if e.get("mode") == "embedding" else "Chat"
    return {
        "provider": rule,
        "kind": kind,
        "band": short,
        "long": long,
        "ttls": ttls,
        "min_cache": min_cache,
        "regions": regions,
        "reasoning": bool(e.get("supports_reasoning")),
        "max_in": None if e.get("max_input_tokens") is None else int(e["max_input_tokens"]),
        "max_out": None if e.get("max_output_tokens") is None else int(e["max_output_tokens"]),
        "dep": e.get("deprecation_date"),
        "succ": succ,
        "rpm": None if e.get("rpm") is None else int(e["rpm"]),
        "tpm": None if e.get("tpm") is None else int(e["tpm"]),
        "source": e.get("source"),
    }


LEGACY_OA = {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5", "gpt-5.1",
             "gpt-5-mini", "gpt-5-nano", "o1", "o3", "o4-mini", "text-embedding-3-small",
             "text-embedding-3-large", "text-embedding-ada-002"}
DATED = re.compile(r"^(.*)-(\d{4}-\d{2}-\d{2}|\d{8})$")


def selected(rule, name, mode):
    if mode not in ("chat", "responses", "embedding"):
        return False
    base = DATED.match(name).group(1) if DATED.match(name) else name
    if rule == "openai":
        return bool(re.match(r"^gpt-(5\.[2-9]|6)", base)) or base in LEGACY_OA or name == "text-embedding-ada-002-v2"
    if rule == "anthropic":
        return True
    if rule == "google":
        return bool(re.match(r"^gemini-(3|4)", name)) and not name.endswith("-latest") or \
            name in ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite") or name.startswith("gemini-embedding")
    return False


def comparable(c):
    return {k: v for k, v in c.items() if k != "source"}


def main():
    data = json.loads(FIXTURE.read_text())
    entries = {}
    for key, e in data.items():
        if not isinstance(e, dict) or key == "sample_spec":
            continue
        rule = rule_of(key, e)
        if rule is None:
            continue
        name = key[len("gemini/"):] if key.startswith("gemini/") else key
        if name in entries or not selected(rule, name, e.get("mode")):
            continue
        if e.get("input_cost_per_token") is None:
            continue
        entries[name] = (key, convert(key, e))
    # Dated snapshots equal to their base become aliases.
    models = {}
    aliases = {}
    for name in sorted(entries):
        m = DATED.match(name)
        if m and m.group(1) in entries and comparable(entries[m.group(1)][1]) == comparable(entries[name][1]):
            aliases.setdefault(m.group(1), []).append(name)
        elif name == "text-embedding-ada-002-v2" and comparable(entries["text-embedding-ada-002"][1]) == comparable(entries[name][1]):
            aliases.setdefault("text-embedding-ada-002", []).append(name)
        else:
            models[name] = entries[name]
    lines = []
    for name in sorted(models):
        key, c = models[name]
        lines.append(row(name, key, c, aliases.get(name, [])))
    OUT.write_text(TEMPLATE.replace("@ROWS@", "\n".join(lines)).replace("@COUNT@", str(len(models))))
    # The output is committed formatted: format it as `cargo fmt` would.
    subprocess.run(["rustfmt", "--edition", "2024", str(OUT)], check=True)
    print(f"{len(models)} models, {sum(len(a) for a in aliases.values())} aliases -> {OUT}")


def rs_rates(r):
    w = ", ".join(f"({TTL_RS[t]}, {v})" for t, v in sorted(r["w"].items(), key=lambda kv: TTLS.index(kv[0])))
    return f"R {{ i: {r['input']}, o: {r['output']}, r: {r['read']}, w: &[{w}] }}"


def rs_band(b):
    def opt(x):
        return "None" if x is None else f"Some({rs_rates(x)})"
    return (f"B {{ std: {rs_rates(b['standard'])}, flex: {opt(b.get('flex'))}, "
            f"priority: {opt(b.get('priority'))}, batch: {opt(b.get('batch'))} }}")


TTL_RS = {"5m": "M5", "30m": "M30", "1h": "H1", "24h": "H24"}


def opt_str(s):
    return "None" if s is None else f"Some({json.dumps(s)})"


def opt_num(n):
    return "None" if n is None else f"Some({n})"


def row(name, key, c, aliases):
    name_l = name.lower()
    if c["kind"] == "Embedding":
        lat, lim = "EMBED", "EMBED_LIMITS"
    else:
        fast = re.search(r"nano|luna|haiku|lite", name_l)
        mid = re.search(r"mini|flash|terra|sonnet", name_l)
        lat = "FAST" if fast else "MID" if mid else ("REASONING" if c["reasoning"] else "SLOW")
        if c["provider"] == "anthropic":
            lim = "ANTHROPIC_SMALL" if "haiku" in name_l else "ANTHROPIC_BIG"
        elif c["provider"] == "openai":
            lim = "OPENAI_SMALL" if re.search(r"mini|nano|luna", name_l) else "OPENAI_BIG"
        else:
            lim = "GOOGLE_LIMITS"
    prov = {"openai": "OA", "anthropic": "AN", "google": "GO"}[c["provider"]]
    long = "None" if c["long"] is None else f"Some(({c['long'][0]}, {rs_band(c['long'][1])}))"
    regions = ", ".join(f"({json.dumps(k)}, {v})" for k, v in sorted(c["regions"].items()))
    ttls = ", ".join(TTL_RS[t] for t in c["ttls"])
    src = f"{c['source']} via {SNAPSHOT}" if c["source"] else f"{SNAPSHOT} (entry `{key}`)"
    al = ", ".join(json.dumps(a) for a in aliases)
    return (f"    Row {{ id: {json.dumps(name)}, aliases: &[{al}], provider: {prov}, kind: ModelKind::{c['kind']},\n"
            f"          band: {rs_band(c['band'])},\n"
            f"          long: {long},\n"
            f"          ttls: &[{ttls}], min_cache: {c['min_cache']}, regions: &[{regions}], reasoning: {str(c['reasoning']).lower()},\n"
            f"          max_in: {opt_num(c['max_in'])}, max_out: {opt_num(c['max_out'])}, dep: {opt_str(c['dep'])}, succ: {opt_str(c['succ'])},\n"
            f"          rpm: {opt_num(c['rpm'])}, tpm: {opt_num(c['tpm'])}, limits: {lim}, latency: {lat}, as_of: AS_OF,\n"
            f"          source: {json.dumps(src)} }},")


TEMPLATE = '''//! The built-in catalog's data. GENERATED by `scripts/gen-builtin-catalog.py` from
//! `sim/tests/fixtures/litellm-prices-2026-12.json` (@COUNT@ current and retiring first-party
//! models of OpenAI, Anthropic and Google, their dated snapshots as aliases): edit the script,
//! not the rows. The hand-written part at the end keeps the seed article's February 2026
//! prices (`article-*`) and the models LiteLLM's December map no longer lists.
//!
//! Prices are pUSD per token (= USD per million tokens x 1e6). Rate limits and latency are not
//! in the map: they are burnrate's typical high-tier defaults (Anthropic tier 4, OpenAI tier 5)
//! and streaming speeds, overridable per scenario, except `rpm`/`tpm` where the map gives them.

use super::{
    CacheTtl, Latency, LongContext, ModelKind, ModelSpec, PriceBand, Provider, RateLimits, Rates,
};

const AS_OF: &str = "2026-12-01";

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

const M5: CacheTtl = CacheTtl::FiveMinutes;
const M30: CacheTtl = CacheTtl::ThirtyMinutes;
const H1: CacheTtl = CacheTtl::OneHour;
const H24: CacheTtl = CacheTtl::OneDay;
const OA: Provider = Provider::OpenAi;
const AN: Provider = Provider::Anthropic;
const GO: Provider = Provider::Google;

/// One price list: input, output, cache read, and the write price per offered TTL (pUSD/token).
struct R {
    i: u64,
    o: u64,
    r: u64,
    w: &'static [(CacheTtl, u64)],
}

/// A context band: standard and the tiers the model offers.
struct B {
    std: R,
    flex: Option<R>,
    priority: Option<R>,
    batch: Option<R>,
}

struct Row {
    id: &'static str,
    aliases: &'static [&'static str],
    provider: Provider,
    kind: ModelKind,
    band: B,
    long: Option<(u64, B)>,
    ttls: &'static [CacheTtl],
    min_cache: u32,
    regions: &'static [(&'static str, u32)],
    reasoning: bool,
    max_in: Option<u64>,
    max_out: Option<u64>,
    dep: Option<&'static str>,
    succ: Option<&'static str>,
    rpm: Option<u64>,
    tpm: Option<u64>,
    limits: RateLimits,
    latency: Latency,
    as_of: &'static str,
    source: &'static str,
}

impl R {
    fn rates(&self) -> Rates {
        let mut r = Rates {
            input_pusd: self.i,
            output_pusd: self.o,
            cache_read_pusd: self.r,
            cache_write_pusd: [0; 4],
        };
        for (ttl, p) in self.w {
            r.set_cache_write(*ttl, *p);
        }
        r
    }
}

impl B {
    fn band(&self) -> PriceBand {
        PriceBand {
            standard: self.std.rates(),
            flex: self.flex.as_ref().map(R::rates),
            priority: self.priority.as_ref().map(R::rates),
            batch: self.batch.as_ref().map(R::rates),
        }
    }
}

impl Row {
    fn spec(&self) -> ModelSpec {
        let mut limits = self.limits;
        if self.rpm.is_some() {
            limits.requests_per_minute = self.rpm;
        }
        if self.tpm.is_some() {
            limits.tokens_per_minute = self.tpm;
        }
        ModelSpec {
            id: self.id.to_string(),
            aliases: self.aliases.iter().map(|a| a.to_string()).collect(),
            provider: self.provider,
            kind: self.kind,
            prices: self.band.band(),
            long_context: self.long.as_ref().map(|(above, b)| LongContext {
                above_input_tokens: *above,
                prices: b.band(),
            }),
            cache_ttls: self.ttls.to_vec(),
            min_cacheable_tokens: self.min_cache,
            cache_granularity_tokens: if self.provider == Provider::OpenAi { 128 } else { 1 },
            batch_discount_percent: 50,
            regions: self.regions.iter().map(|(r, u)| (r.to_string(), *u)).collect(),
            reasoning: self.reasoning,
            max_input_tokens: self.max_in,
            max_output_tokens: self.max_out,
            deprecation_date: self.dep.map(str::to_string),
            successor: self.succ.map(str::to_string),
            rate_limits: limits,
            latency: self.latency,
            as_of: self.as_of.to_string(),
            source: self.source.to_string(),
        }
    }
}

/// Every built-in model.
pub(crate) fn models() -> Vec<ModelSpec> {
    SNAPSHOT.iter().chain(HAND_WRITTEN).map(Row::spec).collect()
}

#[rustfmt::skip]
const SNAPSHOT: &[Row] = &[
@ROWS@
];

const ARTICLE_SRC: &str = "seed article 'What agents actually cost', February 2026 table";
const DROPPED_SRC: &str = "provider-facts.md (2026-11); no longer in LiteLLM's December 2026 map, so treated as retired on the map's date";

// Hand-written rows: USD per MTok x 1e6 = pUSD per token.
#[rustfmt::skip]
const HAND_WRITTEN: &[Row] = &[
    // The seed article's February 2026 table, so its budgets reproduce to the cent. Cache prices
    // are those of the model each name meant then (Claude 3 Haiku, Sonnet 4.x, Opus 4.x).
    hand(Hand { id: "article-claude-haiku", aliases: &[], provider: AN, i: 250_000, o: 1_250_000, r: 30_000, w: &[(M5, 300_000), (H1, 500_000)], min_cache: 2048, dep: None, succ: None, limits: ANTHROPIC_SMALL, latency: FAST, as_of: "2026-02", source: ARTICLE_SRC }),
    hand(Hand { id: "article-claude-sonnet", aliases: &[], provider: AN, i: 3_000_000, o: 15_000_000, r: 300_000, w: &[(M5, 3_750_000), (H1, 6_000_000)], min_cache: 1024, dep: None, succ: None, limits: ANTHROPIC_BIG, latency: MID, as_of: "2026-02", source: ARTICLE_SRC }),
    hand(Hand { id: "article-claude-opus", aliases: &[], provider: AN, i: 15_000_000, o: 75_000_000, r: 1_500_000, w: &[(M5, 18_750_000), (H1, 30_000_000)], min_cache: 1024, dep: None, succ: None, limits: ANTHROPIC_BIG, latency: SLOW, as_of: "2026-02", source: ARTICLE_SRC }),
    hand(Hand { id: "article-gpt-4o", aliases: &[], provider: OA, i: 2_500_000, o: 10_000_000, r: 1_250_000, w: &[(M5, 2_500_000), (H1, 2_500_000), (H24, 2_500_000)], min_cache: 1024, dep: None, succ: None, limits: OPENAI_BIG, latency: MID, as_of: "2026-02", source: ARTICLE_SRC }),
    hand(Hand { id: "article-gpt-4o-mini", aliases: &[], provider: OA, i: 150_000, o: 600_000, r: 75_000, w: &[(M5, 150_000), (H1, 150_000), (H24, 150_000)], min_cache: 1024, dep: None, succ: None, limits: OPENAI_SMALL, latency: FAST, as_of: "2026-02", source: ARTICLE_SRC }),
    hand(Hand { id: "article-o1", aliases: &[], provider: OA, i: 15_000_000, o: 60_000_000, r: 7_500_000, w: &[(M5, 15_000_000), (H1, 15_000_000), (H24, 15_000_000)], min_cache: 1024, dep: None, succ: None, limits: OPENAI_BIG, latency: REASONING, as_of: "2026-02", source: ARTICLE_SRC }),
    // Anthropic models LiteLLM's December 2026 map dropped: 2026 list prices, retired on the
    // map's date with the family's current model as successor.
    hand(Hand { id: "claude-opus-4-1", aliases: &["claude-opus-4-1-20250805"], provider: AN, i: 15_000_000, o: 75_000_000, r: 1_500_000, w: &[(M5, 18_750_000), (H1, 30_000_000)], min_cache: 1024, dep: Some(AS_OF), succ: Some("claude-opus-5-5"), limits: ANTHROPIC_BIG, latency: SLOW, as_of: "2026", source: DROPPED_SRC }),
    hand(Hand { id: "claude-opus-4", aliases: &["claude-opus-4-20250514", "claude-opus-4-0"], provider: AN, i: 15_000_000, o: 75_000_000, r: 1_500_000, w: &[(M5, 18_750_000), (H1, 30_000_000)], min_cache: 1024, dep: Some(AS_OF), succ: Some("claude-opus-5-5"), limits: ANTHROPIC_BIG, latency: SLOW, as_of: "2026", source: DROPPED_SRC }),
    hand(Hand { id: "claude-sonnet-4", aliases: &["claude-sonnet-4-20250514", "claude-sonnet-4-0"], provider: AN, i: 3_000_000, o: 15_000_000, r: 300_000, w: &[(M5, 3_750_000), (H1, 6_000_000)], min_cache: 1024, dep: Some(AS_OF), succ: Some("claude-sonnet-5-5"), limits: ANTHROPIC_BIG, latency: MID, as_of: "2026", source: DROPPED_SRC }),
    hand(Hand { id: "claude-3-5-haiku", aliases: &["claude-3-5-haiku-20241022", "claude-3-5-haiku-latest"], provider: AN, i: 800_000, o: 4_000_000, r: 80_000, w: &[(M5, 1_000_000), (H1, 1_600_000)], min_cache: 2048, dep: Some(AS_OF), succ: Some("claude-haiku-5-5"), limits: ANTHROPIC_SMALL, latency: FAST, as_of: "2026", source: DROPPED_SRC }),
    hand(Hand { id: "claude-3-haiku", aliases: &["claude-3-haiku-20240307"], provider: AN, i: 250_000, o: 1_250_000, r: 30_000, w: &[(M5, 300_000), (H1, 500_000)], min_cache: 2048, dep: Some(AS_OF), succ: Some("claude-haiku-5-5"), limits: ANTHROPIC_SMALL, latency: FAST, as_of: "2026", source: DROPPED_SRC }),
];

struct Hand {
    id: &'static str,
    aliases: &'static [&'static str],
    provider: Provider,
    i: u64,
    o: u64,
    r: u64,
    w: &'static [(CacheTtl, u64)],
    min_cache: u32,
    dep: Option<&'static str>,
    succ: Option<&'static str>,
    limits: RateLimits,
    latency: Latency,
    as_of: &'static str,
    source: &'static str,
}

const fn hand(h: Hand) -> Row {
    let ttls: &'static [CacheTtl] = match h.provider {
        Provider::Anthropic => &[M5, H1],
        _ => &[M5, H1, H24],
    };
    Row {
        id: h.id,
        aliases: h.aliases,
        provider: h.provider,
        kind: ModelKind::Chat,
        band: B {
            std: R { i: h.i, o: h.o, r: h.r, w: h.w },
            flex: None,
            priority: None,
            batch: None,
        },
        long: None,
        ttls,
        min_cache: h.min_cache,
        regions: &[],
        reasoning: false,
        max_in: None,
        max_out: None,
        dep: h.dep,
        succ: h.succ,
        rpm: None,
        tpm: None,
        limits: h.limits,
        latency: h.latency,
        as_of: h.as_of,
        source: h.source,
    }
}
'''

if __name__ == "__main__":
    main()
