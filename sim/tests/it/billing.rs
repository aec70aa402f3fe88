//! Exact bills of the December 2026 billing rules (provider-facts-2026-12.md), hand-computed in
//! integer pUSD: one task, one call, no failures, uniform arrivals, so every figure is exact.

use crate::{run, scenario};
use burnrate_sim::{PUSD_PER_USD, Scenario, SimResult};

/// One task on one day, one step of `step` (TOML lines) on `model`, caching on.
fn one_call(model: &str, step: &str, extra: &str) -> String {
    format!(
        r#"
[horizon]
days = 1
replicas = 1
[traffic]
tasks_per_day = 1
arrivals = "uniform"
[caching]
enabled = true
{extra}
[[steps]]
name = "s"
model = "{model}"
{step}
"#
    )
}

/// Dollars back to the exact pUSD they came from (results hold integer pUSD / 1e12).
fn pusd(usd: f64) -> u64 {
    (usd * PUSD_PER_USD as f64).round() as u64
}

fn total(r: &SimResult) -> u64 {
    pusd(r.cost_usd.by_step["s"])
}

#[test]
fn gpt_5_6_writes_the_cache_at_1_25x_and_gpt_5_4_bills_writes_as_input() {
    let step = "prefix_tokens = 2048\ninput_tokens = 1000\noutput_tokens = 100";
    // gpt-5.6: $4/M input, $5/M write (1.25x), $20/M output; the first call writes.
    let r = run(&one_call("gpt-5.6", step, ""));
    assert_eq!(pusd(r.cost_usd.by_kind.cache_write), 2048 * 5_000_000);
    assert_eq!(pusd(r.cost_usd.by_kind.input), 1000 * 4_000_000);
    assert_eq!(
        total(&r),
        2048 * 5_000_000 + 1000 * 4_000_000 + 100 * 20_000_000
    );
    // gpt-5.4: no write price; the written prefix bills as plain input ($2.50/M).
    let r = run(&one_call("gpt-5.4", step, ""));
    assert_eq!(pusd(r.cost_usd.by_kind.cache_write), 0);
    assert_eq!(pusd(r.cost_usd.by_kind.input), (2048 + 1000) * 2_500_000);
    assert_eq!(total(&r), 3048 * 2_500_000 + 100 * 15_000_000);
}

#[test]
fn a_300k_token_gpt_5_4_call_is_billed_whole_at_long_context_rates() {
    // Above 272k prompt tokens: input $5/M (2x), output $22.50/M (1.5x), for the whole call.
    let r = run(&one_call(
        "gpt-5.4",
        "input_tokens = 300000\noutput_tokens = 1000\ncache = false",
        "",
    ));
    assert_eq!(total(&r), 300_000 * 5_000_000 + 1000 * 22_500_000);
    // At exactly 272k the prompt has not passed the threshold.
    let r = run(&one_call(
        "gpt-5.4",
        "input_tokens = 272000\noutput_tokens = 1000\ncache = false",
        "",
    ));
    assert_eq!(total(&r), 272_000 * 2_500_000 + 1000 * 15_000_000);
}

#[test]
fn flex_halves_and_priority_doubles_a_step_bill() {
    let step = "prefix_tokens = 2048\ninput_tokens = 1000\noutput_tokens = 100";
    let standard = total(&run(&one_call("gpt-5.6", step, "")));
    assert_eq!(
        standard,
        2048 * 5_000_000 + 1000 * 4_000_000 + 100 * 20_000_000
    );
    let flex = total(&run(&one_call(
        "gpt-5.6",
        &format!("{step}\ntier = \"flex\""),
        "",
    )));
    let priority = total(&run(&one_call(
        "gpt-5.6",
        &format!("{step}\ntier = \"priority\""),
        "",
    )));
    assert_eq!(flex * 2, standard);
    assert_eq!(priority, standard * 2);
    // `tier = "batch"` is the batch API: half, after the batch delay.
    let r = run(&one_call(
        "gpt-5.6",
        &format!("{step}\ntier = \"batch\""),
        "",
    ));
    assert_eq!(total(&r) * 2, standard);
    assert_eq!(r.calls.batch_calls, 1);
}

#[test]
fn reasoning_tokens_add_exactly_their_output_price_and_count_against_max_tokens() {
    let step = "input_tokens = 1000\noutput_tokens = 400\ncache = false";
    let plain = total(&run(&one_call("gpt-5.6", step, "")));
    let reasoning = total(&run(&one_call(
        "gpt-5.6",
        &format!("{step}\nreasoning_tokens = 500"),
        "",
    )));
    assert_eq!(reasoning - plain, 500 * 20_000_000);
    // max_tokens = 600: 500 reasoning leave 100 visible output tokens.
    let capped = total(&run(&one_call(
        "gpt-5.6",
        &format!("{step}\nreasoning_tokens = 500\nmax_tokens = 600"),
        "",
    )));
    assert_eq!(capped, 1000 * 4_000_000 + 600 * 20_000_000);
    // Claude bills thinking as output too (claude-sonnet-4-6: $15/M).
    let claude = |extra: &str| {
        total(&run(&one_call(
            "claude-sonnet-4-6",
            &format!("{step}{extra}"),
            "",
        )))
    };
    assert_eq!(
        claude("\nreasoning_tokens = 2000") - claude(""),
        2000 * 15_000_000
    );
}

#[test]
fn reasoning_tokens_are_drawn_again_on_every_retry() {
    // Every attempt is malformed: 1 + 2 retries, each with 300 reasoning tokens billed.
    let text = one_call(
        "gpt-5.6",
        "input_tokens = 1000\noutput_tokens = 100\nreasoning_tokens = 300\ncache = false\nerror_tokens = 0\nfailures = { malformed = 1.0 }",
        "[limits]\nmax_retries = 2",
    );
    let r = run(&text);
    assert_eq!(r.calls.total, 3);
    // The context grows by the visible output only (reasoning does not enter it).
    let input = 1000 + 1100 + 1200;
    assert_eq!(total(&r), input * 4_000_000 + 3 * 400 * 20_000_000);
}

#[test]
fn regional_uplift_multiplies_every_line() {
    let step = "input_tokens = 1000\noutput_tokens = 100\ncache = false";
    let base = total(&run(&one_call("gpt-5.4", step, "")));
    let us = total(&run(&one_call(
        "gpt-5.4",
        &format!("{step}\nregion = \"us\""),
        "",
    )));
    assert_eq!(base, 1000 * 2_500_000 + 100 * 15_000_000);
    assert_eq!(us * 10, base * 11);
    // Anthropic's US-only inference is 1.1x too.
    let sonnet = |extra: &str| {
        total(&run(&one_call(
            "claude-sonnet-4-6",
            &format!("{step}{extra}"),
            "",
        )))
    };
    assert_eq!(sonnet("\nregion = \"us\"") * 10, sonnet("") * 11);
}

fn error(text: &str) -> burnrate_sim::ScenarioError {
    match Scenario::from_toml("billing.toml", text) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn a_ttl_the_model_does_not_offer_is_rejected_with_the_allowed_list() {
    let text = one_call(
        "gpt-5.6",
        "prefix_tokens = 2048\noutput_tokens = 1",
        "ttl = \"5m\"",
    );
    let e = error(&text);
    assert_eq!(e.file, "billing.toml");
    assert_eq!(e.field, "caching.ttl");
    assert_eq!(e.line, 10, "{e}");
    assert!(e.message.contains("offers: 30m, 24h"), "{e}");
    let text = one_call(
        "claude-sonnet-4-6",
        "prefix_tokens = 2048\noutput_tokens = 1\nttl = \"30m\"",
        "",
    );
    let e = error(&text);
    assert_eq!(e.field, "steps[0].ttl");
    assert_eq!(e.line, 16, "{e}");
    assert!(e.message.contains("offers: 5m, 1h"), "{e}");
    // Offered TTLs are accepted, and the cache lives that long.
    let ok = scenario(&one_call("gpt-5.6", "output_tokens = 1\nttl = \"24h\"", ""));
    assert_eq!(ok.cache_ttl(Some(0), 0).as_str(), "24h");
    let default = scenario(&one_call("gpt-5.6", "output_tokens = 1", ""));
    assert_eq!(default.cache_ttl(Some(0), 0).as_str(), "30m");
    let e = error(&one_call("gpt-5.6", "output_tokens = 1\nttl = \"2h\"", ""));
    assert!(e.message.contains("5m, 30m, 1h, 24h"), "{e}");
}

#[test]
fn tiers_regions_and_reasoning_the_model_lacks_are_rejected() {
    let e = error(&one_call(
        "claude-sonnet-4-6",
        "output_tokens = 1\ntier = \"flex\"",
        "",
    ));
    assert_eq!(e.field, "steps[0].tier");
    assert!(e.message.contains("offers: standard, batch"), "{e}");
    let e = error(&one_call(
        "claude-sonnet-4-6",
        "output_tokens = 1\nregion = \"eu\"",
        "",
    ));
    assert_eq!(e.field, "steps[0].region");
    assert!(e.message.contains("it has: us"), "{e}");
    let e = error(&one_call(
        "gpt-4o",
        "output_tokens = 1\nreasoning_tokens = 10",
        "",
    ));
    assert_eq!(e.field, "steps[0].reasoning_tokens");
    let e = error(&one_call(
        "gpt-5.6",
        "output_tokens = 1\ntier = \"fast\"",
        "",
    ));
    assert!(e.message.contains("standard, flex, priority, batch"), "{e}");
    let e = error(&one_call(
        "gpt-5.6",
        "output_tokens = 1\nbatch = true\ntier = \"flex\"",
        "",
    ));
    assert_eq!(e.field, "steps[0].tier");
}

#[test]
fn requests_arriving_while_the_cache_is_being_written_write_again() {
    // A task every 10 s on one day; the first response begins 45 s after its request, so the
    // requests at +10, +20, +30 and +40 s find the entry still being written and write again;
    // from +50 s on every request reads (each hit refreshes the 5-minute lifetime).
    let text = r#"
[horizon]
days = 1
replicas = 1
[traffic]
tasks_per_day = 8640
arrivals = "uniform"
[caching]
enabled = true
[models.slow-sonnet]
based_on = "claude-sonnet-4-6"
time_to_first_token_s = 45
output_tokens_per_s = 1000000
latency_cv = 0
requests_per_minute = 0
input_tokens_per_minute = 0
output_tokens_per_minute = 0
[[steps]]
name = "s"
model = "slow-sonnet"
prefix_tokens = 2000
input_tokens = 10
output_tokens = 1
"#;
    let r = run(text);
    assert_eq!(r.tasks.total, 8640);
    // 5 writes at $3.75/M, 8635 reads at $0.30/M.
    assert_eq!(pusd(r.cost_usd.by_kind.cache_write), 5 * 2000 * 3_750_000);
    assert_eq!(pusd(r.cost_usd.by_kind.cache_read), 8635 * 2000 * 300_000);
}

#[test]
fn retired_models_run_with_a_warning_naming_the_date_and_successor() {
    let sc = scenario(&one_call("claude-sonnet-4-5", "output_tokens = 1", ""));
    let w = sc.retirement_warnings("2026-12-01");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("2026-11-30") && w[0].contains("claude-sonnet-5-5"),
        "{w:?}"
    );
    assert!(sc.retirement_warnings("2026-11-29").is_empty());
    assert!(
        scenario(&one_call("gpt-5.6", "output_tokens = 1", ""))
            .retirement_warnings("2026-12-01")
            .is_empty()
    );
    // The scenario's own `as_of` is validated.
    let e = error(&format!(
        "as_of = \"2026-13-01\"\n{}",
        one_call("gpt-5.6", "output_tokens = 1", "")
    ));
    assert_eq!(e.field, "as_of");
    let sc = scenario(&format!(
        "as_of = \"2026-12-01\"\n{}",
        one_call("gpt-5.6", "output_tokens = 1", "")
    ));
    assert_eq!(sc.as_of.as_deref(), Some("2026-12-01"));
}

/// The run's price cards (resolved once per step, model and batch) bill every call exactly as
/// `ModelSpec::bill` does: every built-in model, each tier and TTL it offers, with and without
/// a regional uplift, at token counts on both sides of its long-context threshold, writes as
/// input or at their premium, to the pico-dollar.
#[test]
fn a_price_card_bills_exactly_as_the_model_does() {
    use burnrate_sim::{Billing, Catalog, TokenCounts};
    let catalog = Catalog::builtin();
    let mut checked = 0u64;
    for spec in catalog.models() {
        let threshold = spec.long_context.as_ref().map(|lc| lc.above_input_tokens);
        let prompts = [
            0,
            1,
            1_000,
            200_000,
            threshold.unwrap_or(272_000),
            threshold.unwrap_or(272_000) + 1,
        ];
        for tier in spec.tiers() {
            for &ttl in spec
                .cache_ttls
                .iter()
                .chain([&burnrate_sim::CacheTtl::FiveMinutes])
            {
                for uplift_permille in [1000, 1100] {
                    let billing = Billing {
                        ttl,
                        tier,
                        uplift_permille,
                    };
                    let card = spec.price_card(&billing);
                    for prompt in prompts {
                        // The prompt split three ways, so each line is exercised.
                        let tokens = TokenCounts {
                            input: prompt / 2,
                            cache_write: prompt / 3,
                            cache_read: prompt - prompt / 2 - prompt / 3,
                            output: 777,
                        };
                        assert_eq!(
                            card.bill(&tokens),
                            spec.bill(&tokens, &billing),
                            "{} {tier:?} {ttl:?} {uplift_permille} {tokens:?}",
                            spec.id
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 1_000, "only {checked} bills compared");
}
