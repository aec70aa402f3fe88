//! Usage tiers (`usage_tier`): the published limits of a tier's model class and its monthly
//! spend cap, each figure derived by hand from the provider's table:
//!
//! - Anthropic, <https://platform.claude.com/docs/en/api/rate-limits> (read 2026-12-07):
//!   monthly spend cap Start $500, Build $1,000, Scale $200,000; Claude Sonnet 4.x on Start:
//!   1,000 RPM, 2,000,000 ITPM, 400,000 OTPM; on Build 5,000 / 5,000,000 / 1,000,000.
//! - OpenAI, <https://platform.openai.com/docs/guides/rate-limits> ("Usage tiers": monthly
//!   usage limit Tier 5 $200,000) and the gpt-5.5 model page (Tier 5: 15,000 RPM, 40M TPM).

use crate::{NO_FAILURES, assert_usd, run, scenario};
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
{NO_FAILURES}
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
    let sc = scenario(&one_step("claude-sonnet-4-6", "usage_tier = \"start\""));
    let l = limits(&sc, "claude-sonnet-4-6");
    assert_eq!(l.requests_per_minute, Some(1_000));
    assert_eq!(l.input_tokens_per_minute, Some(2_000_000));
    assert_eq!(l.output_tokens_per_minute, Some(400_000));
    assert_eq!(l.tokens_per_minute, None);
    assert_eq!(sc.spend_caps.len(), 1);
    assert_eq!(sc.spend_caps[0].usage_tier, "start");
    assert_eq!(sc.spend_caps[0].monthly_cap_pusd, 500 * 1_000_000_000_000);
    // Fable 5.x has its own, lower row.
    let sc = scenario(&one_step("claude-fable-5-1", "usage_tier = \"start\""));
    assert_eq!(
        limits(&sc, "claude-fable-5-1").input_tokens_per_minute,
        Some(500_000)
    );

    // OpenAI's tier 5 on GPT-5.5: the model page's row, and the guide's $200,000 a month.
    let sc = scenario(&one_step("gpt-5.5", "usage_tier = \"tier-5\""));
    let l = limits(&sc, "gpt-5.5");
    assert_eq!(l.requests_per_minute, Some(15_000));
    assert_eq!(l.tokens_per_minute, Some(40_000_000));
    assert_eq!(
        sc.spend_caps[0].monthly_cap_pusd,
        200_000 * 1_000_000_000_000
    );
}

#[test]
fn limits_written_out_override_the_tier_field_by_field() {
    let text = one_step("claude-sonnet-4-6", "usage_tier = \"start\"")
        + "[models.claude-sonnet-4-6]\nrequests_per_minute = 7\n";
    let l = limits(&scenario(&text), "claude-sonnet-4-6");
    assert_eq!(l.requests_per_minute, Some(7));
    assert_eq!(l.input_tokens_per_minute, Some(2_000_000));
    // A model's own tier wins over the scenario's.
    let text = one_step("claude-sonnet-4-6", "usage_tier = \"scale\"")
        + "[models.claude-sonnet-4-6]\nusage_tier = \"build\"\noutput_tokens_per_minute = 0\n";
    let sc = scenario(&text);
    let l = limits(&sc, "claude-sonnet-4-6");
    assert_eq!(l.requests_per_minute, Some(5_000));
    assert_eq!(
        l.output_tokens_per_minute, None,
        "0 = unlimited still overrides"
    );
    assert_eq!(sc.spend_caps[0].usage_tier, "build");
}

#[test]
fn tier_errors_name_the_field_and_the_allowed_values() {
    let e = error_of(&one_step("claude-sonnet-4-6", "usage_tier = \"tier-9\""));
    assert!(e.contains("usage_tier"), "{e}");
    assert!(
        e.contains("anthropic start, build, scale; openai tier-1, tier-2, tier-3, tier-4, tier-5"),
        "{e}"
    );
    // Anthropic's tiers are no longer numbered.
    let e = error_of(
        &(one_step("claude-sonnet-4-6", "")
            + "[models.claude-sonnet-4-6]\nusage_tier = \"tier-4\"\n"),
    );
    assert!(e.contains("models.claude-sonnet-4-6.usage_tier"), "{e}");
    assert!(e.contains("use one of: start, build, scale"), "{e}");
    // A class the tier's table does not list (Sonnet 5.5 is not Sonnet 5), without limits of
    // its own.
    let e = error_of(&one_step("claude-sonnet-5-5", "usage_tier = \"build\""));
    assert!(e.contains("lists no limits for `claude-sonnet-5-5`"), "{e}");
    assert!(e.contains("Claude Sonnet 5,"), "{e}");
}

#[test]
fn one_provider_is_on_one_tier() {
    let text = one_step("claude-sonnet-4-6", "")
        + r#"[models.claude-sonnet-4-6]
usage_tier = "start"
[models.claude-opus-4-6]
usage_tier = "build"
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
    // MTok): $0.0045 a task, $22.50 a day. Start caps a month at $500: $495 after day 22,
    // $517.50 after day 23, so day 23 in every replica; a month of spend meets the cap at
    // 500 / (30 x 0.0045) = 3,703.7 tasks/day.
    let r =
        run(&one_step("claude-sonnet-4-6", "usage_tier = \"start\"")
            .replace("days = 10", "days = 30"));
    assert_eq!(r.budget.spend_caps.len(), 1);
    let cap = &r.budget.spend_caps[0];
    assert_eq!(
        (cap.provider.as_str(), cap.usage_tier.as_str()),
        ("anthropic", "start")
    );
    assert_usd(cap.monthly_cap_usd, 500.0);
    assert_eq!(cap.replicas_reaching, 1.0);
    let first = cap.first_day.as_ref().expect("reached");
    assert_eq!((first.p05, first.p50, first.p95), (23, 23, 23));
    assert!(
        (cap.month_mean_usd - 22.5 * 30.0).abs() < 1e-6,
        "{}",
        cap.month_mean_usd
    );
    let t = cap.cap_tasks_per_day.expect("traffic");
    assert!((t - 500.0 / (30.0 * 0.0045)).abs() < 1e-6, "{t}");
    // The month restarts on day 31: at 3,000 tasks a day ($13.50) a 30-day month spends $405,
    // under the cap, though 40 days add up to $540 (past $500 on day 38 without the restart).
    let r = run(&one_step("claude-sonnet-4-6", "usage_tier = \"start\"")
        .replace("days = 10", "days = 40")
        .replace("tasks_per_day = 5000", "tasks_per_day = 3000"));
    let cap = &r.budget.spend_caps[0];
    assert_eq!(cap.replicas_reaching, 0.0, "{cap:?}");
    assert!(cap.first_day.is_none());

    // Scale ($200,000) is not reached in 10 days of $22.50.
    let r = run(&one_step("claude-sonnet-4-6", "usage_tier = \"scale\""));
    let cap = &r.budget.spend_caps[0];
    assert_eq!(cap.replicas_reaching, 0.0);
    assert!(cap.first_day.is_none());
}

#[test]
fn what_it_would_take_names_the_tier_that_covers_a_raise() {
    // Start, Sonnet 4.x, 1,000 input and 100 output tokens a call, one call a task, flat
    // daily profile: RPM 1,000 = 1,440,000 tasks/day binds first; ITPM 2,000,000 / 1,000 =
    // 2,000 calls a minute = 2,880,000 next; OTPM 400,000 / 100 = 4,000 = 5,760,000 last.
    // Carrying RPM to ITPM's traffic takes 2,000 RPM and ITPM to OTPM's 4,000,000 ITPM:
    // Build's 5,000 RPM and 5,000,000 ITPM cover both.
    let r = run(&one_step("claude-sonnet-4-6", "usage_tier = \"start\""));
    let rungs = &r.capacity.what_it_would_take;
    let kinds: Vec<&str> = rungs.iter().map(|r| r.limit.as_str()).collect();
    assert_eq!(kinds, ["RPM", "ITPM", "OTPM"], "{rungs:?}");
    let close = |a: f64, b: f64| (a / b - 1.0).abs() < 0.01;
    assert!(
        close(rungs[0].binds_at_tasks_per_day, 1_440_000.0),
        "{rungs:?}"
    );
    assert!(
        close(rungs[1].binds_at_tasks_per_day, 2_880_000.0),
        "{rungs:?}"
    );
    let need = |i: usize| rungs[i].raise_to_per_min.expect("a next rung") as f64;
    assert!(close(need(0), 2_000.0), "{rungs:?}");
    assert!(close(need(1), 4_000_000.0), "{rungs:?}");
    assert_eq!(rungs[0].tier_to.as_deref(), Some("build"), "{rungs:?}");
    assert_eq!(rungs[1].tier_to.as_deref(), Some("build"), "{rungs:?}");
    assert_eq!(rungs[2].raise_to_per_min, None);
    // Above the top tier there is none to name: OpenAI tier 5.
    let r = run(&one_step("gpt-5.5", "usage_tier = \"tier-5\""));
    let rungs = &r.capacity.what_it_would_take;
    assert!(
        rungs.len() >= 2 && rungs[0].raise_to_per_min.is_some(),
        "{rungs:?}"
    );
    assert!(rungs.iter().all(|r| r.tier_to.is_none()), "{rungs:?}");
}
