//! Usage tiers (`usage_tier`): the published limits of a tier's model class and its monthly
//! spend cap, each figure derived by hand from the provider's table:
//!
//! - Anthropic, <https://docs.anthropic.com/en/api/rate-limits> (read 2026-12-07): "Max
//!   usage per month" Tier 1 $100, Tier 2 $500, Tier 3 $1,000, Tier 4 $5,000; Claude Sonnet
//!   4.x at Tier 1: 50 RPM, 30,000 ITPM, 8,000 OTPM.
//! - OpenAI, <https://platform.openai.com/docs/guides/rate-limits> ("Usage tiers": monthly
//!   usage limit Tier 5 $200,000) and <https://platform.openai.com/docs/models/gpt-5>.

use crate::{assert_usd, run, scenario};
use burnrate_sim::{RateLimits, Scenario};

fn one_step(model: &str, extra: &str) -> String {
    format!(
        r#"{extra}
[horizon]
days = 10
replicas = 2
[traffic]
tasks_per_day = 5000
arrivals = "uniform"
[failures]
malformed = 0
tool_error = 0
rate_limit = 0
server_error = 0
timeout = 0
[[steps]]
name = "answer"
model = "{model}"
input_tokens = 1000
output_tokens = 100
"#
    )
}

fn limits(sc: &Scenario, id: &str) -> RateLimits {
    sc.models
        .iter()
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("{id} used"))
        .rate_limits
}

#[track_caller]
fn error_of(text: &str) -> String {
    match Scenario::from_toml("tier.toml", text) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_tier_gives_its_model_class_limits() {
    let sc = scenario(&one_step("claude-sonnet-4-6", "usage_tier = \"tier-1\""));
    let l = limits(&sc, "claude-sonnet-4-6");
    assert_eq!(l.requests_per_minute, Some(50));
    assert_eq!(l.input_tokens_per_minute, Some(30_000));
    assert_eq!(l.output_tokens_per_minute, Some(8_000));
    assert_eq!(l.tokens_per_minute, None);
    assert_eq!(sc.spend_caps.len(), 1);
    assert_eq!(sc.spend_caps[0].usage_tier, "tier-1");
    assert_eq!(sc.spend_caps[0].monthly_cap_pusd, 100 * 1_000_000_000_000);

    // OpenAI's tier 5 on GPT-5: the model page's row, and the guide's $200,000 a month.
    let sc = scenario(&one_step("gpt-5", "usage_tier = \"tier-5\""));
    let l = limits(&sc, "gpt-5");
    assert_eq!(l.requests_per_minute, Some(15_000));
    assert_eq!(l.tokens_per_minute, Some(40_000_000));
    assert_eq!(
        sc.spend_caps[0].monthly_cap_pusd,
        200_000 * 1_000_000_000_000
    );
}

#[test]
fn limits_written_out_override_the_tier_field_by_field() {
    let text = one_step("claude-sonnet-4-6", "usage_tier = \"tier-1\"")
        + "[models.claude-sonnet-4-6]\nrequests_per_minute = 7\n";
    let l = limits(&scenario(&text), "claude-sonnet-4-6");
    assert_eq!(l.requests_per_minute, Some(7));
    assert_eq!(l.input_tokens_per_minute, Some(30_000));
    // A model's own tier wins over the scenario's.
    let text = one_step("claude-sonnet-4-6", "usage_tier = \"tier-4\"")
        + "[models.claude-sonnet-4-6]\nusage_tier = \"tier-1\"\noutput_tokens_per_minute = 0\n";
    let sc = scenario(&text);
    let l = limits(&sc, "claude-sonnet-4-6");
    assert_eq!(l.requests_per_minute, Some(50));
    assert_eq!(
        l.output_tokens_per_minute, None,
        "0 = unlimited still overrides"
    );
    assert_eq!(sc.spend_caps[0].usage_tier, "tier-1");
}

#[test]
fn tier_errors_name_the_field_and_the_allowed_values() {
    let e = error_of(&one_step("claude-sonnet-4-6", "usage_tier = \"tier-9\""));
    assert!(e.contains("usage_tier"), "{e}");
    assert!(
        e.contains("anthropic tier-1, tier-2, tier-3, tier-4; openai tier-1, tier-2, tier-3, tier-4, tier-5"),
        "{e}"
    );
    // Tier 5 is OpenAI's only.
    let e = error_of(
        &(one_step("claude-sonnet-4-6", "")
            + "[models.claude-sonnet-4-6]\nusage_tier = \"tier-5\"\n"),
    );
    assert!(e.contains("models.claude-sonnet-4-6.usage_tier"), "{e}");
    assert!(
        e.contains("use one of: tier-1, tier-2, tier-3, tier-4"),
        "{e}"
    );
    // A class the tier's table does not list, without limits of its own.
    let e = error_of(&one_step("claude-sonnet-5", "usage_tier = \"tier-2\""));
    assert!(e.contains("lists no limits for `claude-sonnet-5`"), "{e}");
    assert!(e.contains("Claude Sonnet 4.x"), "{e}");
}

#[test]
fn one_provider_is_on_one_tier() {
    let text = one_step("claude-sonnet-4-6", "")
        + r#"[models.claude-sonnet-4-6]
usage_tier = "tier-2"
[models.claude-opus-4-6]
usage_tier = "tier-3"
[[steps]]
name = "review"
model = "claude-opus-4-6"
input_tokens = 10
output_tokens = 10
"#;
    let e = error_of(&text);
    assert!(e.contains("usage tier is the organization's"), "{e}");
}

#[test]
fn the_spend_cap_is_reached_on_the_day_month_to_date_spend_passes_it() {
    // 5,000 tasks a day of 1,000 input and 100 output tokens on Sonnet 4.6 ($3 / $15 per
    // MTok): $0.0045 a task, $22.50 a day. Tier 1 caps a month at $100: $90 after day 4,
    // $112.50 after day 5, so day 5 in every replica; a month of spend meets the cap at
    // 100 / (30 x 0.0045) = 740.7 tasks/day. (Tier 1's limits, 50 RPM and 30,000 ITPM, hold
    // 3.5 uniform calls a minute of 1,000 tokens.)
    let r = run(&one_step("claude-sonnet-4-6", "usage_tier = \"tier-1\""));
    assert_eq!(r.budget.spend_caps.len(), 1);
    let cap = &r.budget.spend_caps[0];
    assert_eq!(
        (cap.provider.as_str(), cap.usage_tier.as_str()),
        ("anthropic", "tier-1")
    );
    assert_usd(cap.monthly_cap_usd, 100.0);
    assert_eq!(cap.replicas_reaching, 1.0);
    let first = cap.first_day.as_ref().expect("reached");
    assert_eq!((first.p05, first.p50, first.p95), (5, 5, 5));
    assert!(
        (cap.month_mean_usd - 22.5 * 30.0).abs() < 1e-6,
        "{}",
        cap.month_mean_usd
    );
    let t = cap.cap_tasks_per_day.expect("traffic");
    assert!((t - 100.0 / (30.0 * 0.0045)).abs() < 1e-6, "{t}");

    // Tier 4 ($5,000) is not reached in 10 days of $22.50.
    let r = run(&one_step("claude-sonnet-4-6", "usage_tier = \"tier-4\""));
    let cap = &r.budget.spend_caps[0];
    assert_eq!(cap.replicas_reaching, 0.0);
    assert!(cap.first_day.is_none());
}

#[test]
fn what_it_would_take_names_the_tier_that_covers_a_raise() {
    // Tier 1 Sonnet 4.x, 1,000 input and 100 output tokens a call, one call a task, flat
    // daily profile: ITPM 30,000 / 1,000 = 30 calls a minute = 43,200 tasks/day binds first;
    // RPM 50 = 72,000 next; OTPM 8,000 / 100 = 80 = 115,200 last. Carrying ITPM to RPM's
    // traffic takes 30,000 x 72,000 / 43,200 = 50,000 ITPM: tier 2's 450,000 covers it.
    let r = run(&one_step("claude-sonnet-4-6", "usage_tier = \"tier-1\""));
    let rungs = &r.capacity.what_it_would_take;
    let kinds: Vec<&str> = rungs.iter().map(|r| r.limit.as_str()).collect();
    assert_eq!(kinds, ["ITPM", "RPM", "OTPM"], "{rungs:?}");
    let close = |a: f64, b: f64| (a / b - 1.0).abs() < 0.01;
    assert!(
        close(rungs[0].binds_at_tasks_per_day, 43_200.0),
        "{rungs:?}"
    );
    assert!(
        close(rungs[1].binds_at_tasks_per_day, 72_000.0),
        "{rungs:?}"
    );
    let need = rungs[0].raise_to_per_min.expect("a next rung") as f64;
    assert!(close(need, 50_000.0), "{need}");
    assert_eq!(rungs[0].tier_to.as_deref(), Some("tier-2"), "{rungs:?}");
    // RPM to OTPM's 115,200/day: 80 RPM, tier 2's 1,000.
    assert_eq!(rungs[1].tier_to.as_deref(), Some("tier-2"), "{rungs:?}");
    assert_eq!(rungs[2].raise_to_per_min, None);
}
