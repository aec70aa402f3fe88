//! Exact cost arithmetic against the seed article's tables (provider-facts.md, "Reference
//! results worth reproducing").

use crate::{assert_usd, run, shipped};

#[test]
fn support_budget_line_items_are_exact() {
    let r = run(&shipped("support-budget-exact.toml"));
    let by_step = &r.cost_usd.by_step;
    assert_usd(by_step["classify"], 0.07875);
    assert_usd(by_step["retrieve"], 0.165);
    assert_usd(by_step["draft"], 4.05);
    assert_usd(by_step["compliance"], 0.15);
    assert_usd(r.cost_usd.per_day.mean, 4.44375);
    assert_eq!(r.tasks.total, 300);
    assert_eq!(r.calls.total, 1200);
    // Input spend is the ceiling on any caching saving: $2.5125, so the article's -$2.80 cannot hold.
    assert_usd(r.cost_usd.by_kind.input, 2.5125);
}

#[test]
fn research_budget_line_items_are_exact() {
    let r = run(&shipped("research-budget-exact.toml"));
    let by_step = &r.cost_usd.by_step;
    assert_usd(by_step["plan"], 0.60);
    assert_usd(by_step["search"], 0.125);
    assert_usd(by_step["synthesize"], 2.70);
    assert_usd(by_step["format"], 0.06875);
    assert_usd(r.cost_usd.per_day.mean, 3.49375);
}

#[test]
fn retry_table_cumulative_costs_are_exact() {
    let text = shipped("retry-loop.toml");
    for (retries, cumulative) in [(0, 0.009), (1, 0.0255), (2, 0.051), (3, 0.087)] {
        let t = text.replace("max_retries = 3", &format!("max_retries = {retries}"));
        let r = run(&t);
        assert_usd(r.cost_usd.per_task.max, cumulative);
        assert_eq!(r.calls.total, retries + 1);
        assert_eq!(r.tasks.failed, 1, "every attempt fails, so the task fails");
    }
}

#[test]
fn batch_api_costs_exactly_half() {
    let text = shipped("support-budget-exact.toml");
    let plain = run(&text);
    let batched = run(&text.replace(
        "output_tokens = 400\n",
        "output_tokens = 400\nbatch = true\n",
    ));
    assert_usd(batched.cost_usd.by_step["draft"], 4.05 / 2.0);
    assert_usd(
        batched.cost_usd.by_step["classify"],
        plain.cost_usd.by_step["classify"],
    );
    assert_eq!(batched.calls.batch_calls, 300);
    // Batch calls complete after the batch delay, not in seconds.
    assert!(batched.latency_s.task.p50 > 60.0);
}

#[test]
fn fixed_costs_and_months() {
    let text = shipped("support-budget-exact.toml").replace(
        "[budget]",
        "[[fixed_costs]]\nname = \"observability\"\nusd_per_month = 35\n\n[budget]",
    );
    let r = run(&text);
    assert_usd(r.cost_usd.per_month.mean, 4.44375 * 30.0 + 35.0);
    assert_usd(r.cost_usd.per_month.fixed, 35.0);
}

#[test]
fn anthropic_cache_write_premium_and_read_discount() {
    // One task a day per replica-day at a 1 h TTL with 2 calls 1 minute apart: a write then a read.
    let text = r#"
[horizon]
days = 1
replicas = 1
[traffic]
tasks_per_day = 2
arrivals = "uniform"
[[steps]]
name = "s"
model = "claude-sonnet-4-5"
prefix_tokens = 2000
input_tokens = 100
output_tokens = 10
[caching]
ttl = "1h"
"#;
    // Two tasks 12 h apart: both miss a 1 h cache. Write at 2x ($6/MTok) each time.
    let r = run(text);
    let write = 2.0 * 2000.0 * 6.0 / 1e6;
    assert_usd(r.cost_usd.by_kind.cache_write, write);
    assert_usd(r.cost_usd.by_kind.cache_read, 0.0);
    assert_eq!(r.cache.hit_rate, 0.0);
    // 1000 a day (86.4 s apart) at 5m TTL: every call after the first reads at 0.1x ($0.30/MTok).
    let r = run(&text
        .replace("tasks_per_day = 2", "tasks_per_day = 1000")
        .replace("\"1h\"", "\"5m\""));
    assert_usd(r.cost_usd.by_kind.cache_write, 2000.0 * 3.75 / 1e6);
    assert_usd(r.cost_usd.by_kind.cache_read, 999.0 * 2000.0 * 0.30 / 1e6);
}

#[test]
fn combined_calls_share_one_prefix_and_close_on_size_or_window() {
    // 1000 items a day, 86.4 s apart; 10 items a call share one 2,000-token prefix.
    let text = |window_s: u32| {
        format!(
            r#"
[horizon]
days = 1
replicas = 1
[traffic]
tasks_per_day = 1000
arrivals = "uniform"
[[steps]]
name = "classify"
model = "article-claude-haiku"
prefix_tokens = 2000
input_tokens = 100
output_tokens = 10
items_per_call = 10
combine_window_s = {window_s}
"#
        )
    };
    // A 1-hour window: every call fills up (10 items arrive in 777.6 s), so 100 calls, each
    // (2000 + 10 * 100) input tokens at $0.25/M and 10 * 10 output tokens at $1.25/M.
    let r = run(&text(3600));
    assert_eq!(r.calls.total, 100);
    assert_usd(
        r.cost_usd.per_day.mean,
        100.0 * 3000.0 * 0.25e-6 + 1000.0 * 10.0 * 1.25e-6,
    );
    // A 10-minute window closes after 7 items (43.2 + 6 * 86.4 <= 643.2 < 43.2 + 7 * 86.4):
    // 142 calls of 7 and one of 6.
    let r = run(&text(600));
    assert_eq!(r.calls.total, 143);
    assert_eq!(r.tasks.succeeded, 1000);
}
