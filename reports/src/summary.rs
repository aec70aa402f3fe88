//! The report of one run as plain text, Markdown and JSON.

use crate::fmt::{
    cost_quantile_rows, count, md_table, pct, pct_ci, secs, secs_ci, text_table, usd, usd_ci,
};
use crate::timeline::{
    cost_over_time_lines, first_breach_phrase, month_rows, per_month_label, saturation_sentence,
};
use burnrate_sim::SimResult;
use std::collections::BTreeMap;

/// Whether the run's p95 daily cost holds its budget: `Some(true)` under (or equal),
/// `Some(false)` over, `None` when the scenario has no daily budget.
pub(crate) fn within_budget(r: &SimResult) -> Option<bool> {
    r.budget.daily_usd.map(|b| r.cost_usd.per_day.p95 <= b)
}

/// The one-line verdict without its status mark.
pub(crate) fn verdict_sentence(r: &SimResult) -> String {
    let d = &r.cost_usd.per_day;
    let p95 = usd_ci(d.p95, &d.p95_ci95);
    match r.budget.daily_usd {
        Some(b) => format!(
            "p95 daily cost {p95} is {} the {} budget (breach probability {})",
            if r.cost_usd.per_day.p95 <= b {
                "under"
            } else {
                "over"
            },
            usd(b),
            pct_ci(
                r.budget.breach_probability,
                &r.budget.breach_probability_ci95
            )
        ),
        None => format!("p95 daily cost {p95} (no daily budget set)"),
    }
}

/// The verdict line with an emoji status mark, for Markdown and HTML.
pub(crate) fn verdict_line(r: &SimResult) -> String {
    let mark = match within_budget(r) {
        Some(true) => "✅",
        Some(false) => "❌",
        None => "ℹ️",
    };
    format!("{mark} {}", verdict_sentence(r))
}

/// The first 12 hex digits of the scenario hash (enough to tell scenarios apart).
pub(crate) fn short_hash(r: &SimResult) -> &str {
    r.scenario_hash.get(..12).unwrap_or(&r.scenario_hash)
}

/// `(name, usd per day, share of the total)` sorted by cost, largest first, ties by name.
pub(crate) fn shares(map: &BTreeMap<String, f64>) -> Vec<(String, f64, f64)> {
    let total: f64 = map.values().sum();
    let mut rows: Vec<(String, f64, f64)> = map
        .iter()
        .map(|(k, v)| (k.clone(), *v, if total > 0.0 { v / total } else { 0.0 }))
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows
}

/// The token-kind breakdown as named rows, in billing order.
pub(crate) fn kinds(r: &SimResult) -> Vec<(&'static str, f64)> {
    let k = &r.cost_usd.by_kind;
    vec![
        ("input", k.input),
        ("cache write", k.cache_write),
        ("cache read", k.cache_read),
        ("output", k.output),
    ]
}

fn ratio(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 / total as f64
    }
}

/// A plain-text report for a terminal: every figure of the run, grouped, aligned, ASCII only
/// (apart from names taken from the scenario).
pub fn text(r: &SimResult) -> String {
    let mut o = header_text(r);
    // Cost over time leads when traffic changes over the horizon or it spans several months.
    if r.timeline.traffic_changes || r.timeline.months.len() > 1 {
        o.push_str("Cost over time (daily cost across replicas)\n");
        for line in cost_over_time_lines(r) {
            o.push_str(&format!("  {line}\n"));
        }
        o.push_str(&text_table(&month_rows(r), &[true, true, true, true, true]));
        o.push('\n');
    }
    o.push_str(&cost_text(r));
    o.push_str(&budget_text(r));
    o.push_str(&breakdowns_text(r));
    o.push_str(&cache_and_routing_text(r));
    o.push_str(&reliability_text(r));
    let l = &r.latency_s.task;
    o.push_str(&format!(
        "Latency (task, arrival to answer)\n  mean {}, p50 {}, p95 {}, p99 {}, max {}\n\n",
        secs(l.mean),
        secs_ci(l.p50, &l.p50_ci95),
        secs_ci(l.p95, &l.p95_ci95),
        secs_ci(l.p99, &l.p99_ci95),
        secs(l.max)
    ));
    o.push_str(&capacity_text(r));
    o
}

/// The text header: scenario, run metadata, the precision reached, then the saturation and
/// budget verdicts.
fn header_text(r: &SimResult) -> String {
    let mut o = String::new();
    o.push_str(&format!("burnrate: {}\n", r.scenario));
    o.push_str(&format!(
        "  seed {}, {} replicas x {} days, scenario sha256 {}\n",
        r.seed,
        r.replicas,
        r.days,
        short_hash(r)
    ));
    if let Some(line) = precision_line(r) {
        o.push_str(&format!("  {line}\n"));
    }
    o.push_str("  figures in parentheses: 95% confidence interval (see README)\n\n");
    let status = match within_budget(r) {
        Some(true) => "OK",
        Some(false) => "OVER BUDGET",
        None => "NO BUDGET",
    };
    // Saturation first: a run whose queues grow answers the capacity question before the
    // budget one.
    if let Some(sat) = saturation_sentence(r) {
        o.push_str(&format!("SATURATED: {sat}\n"));
    }
    o.push_str(&format!("{status}: {}\n\n", verdict_sentence(r)));
    o
}

/// The text "Cost" table (per task, day and month quantiles) and its fixed, batch and retry
/// line.
fn cost_text(r: &SimResult) -> String {
    let c = &r.cost_usd;
    let mut o = String::from("Cost\n");
    let mut rows = vec![
        ["", "mean", "p50", "p95", "p99", "max", "CVaR95"]
            .map(String::from)
            .to_vec(),
    ];
    rows.extend(cost_quantile_rows(c));
    if c.per_month.extrapolated
        && let Some(row) = rows.iter_mut().find(|r| r[0] == "per month")
    {
        row[0] = per_month_label(r);
    }
    o.push_str(&text_table(
        &rows,
        &[false, true, true, true, true, true, true],
    ));
    o.push_str(&format!(
        "  per month includes {} fixed; batch API {} /day; failed attempts and retries {} /day\n\n",
        usd(c.per_month.fixed),
        usd(c.batch_per_day),
        usd(c.retry_overhead_per_day)
    ));
    o
}

/// The text "Budget" figures: the budget, breach probability and days, headroom, first breach.
fn budget_text(r: &SimResult) -> String {
    let mut o = String::from("Budget\n");
    let b = &r.budget;
    let mut rows = vec![vec![
        "daily budget".to_string(),
        b.daily_usd.map_or("none".to_string(), usd),
    ]];
    rows.push(vec![
        "breach probability (per day)".into(),
        pct_ci(b.breach_probability, &b.breach_probability_ci95),
    ]);
    rows.push(vec![
        "expected breach days a month".into(),
        format!("{:.2}", b.expected_breach_days_per_month),
    ]);
    rows.push(vec![
        "headroom (traffic growth until p95 breaches)".into(),
        b.headroom_multiple
            .map_or("n/a".to_string(), |h| format!("{h:.1}x")),
    ]);
    if b.daily_usd.is_some() {
        rows.push(vec![
            "first breach".into(),
            first_breach_phrase(r).unwrap_or_else(|| "no replica breaches".to_string()),
        ]);
    }
    o.push_str(&kv_text(&rows));
    o.push('\n');
    o
}

/// The text cost breakdowns: by step, by model and by token kind, each with its shares.
fn breakdowns_text(r: &SimResult) -> String {
    let c = &r.cost_usd;
    let mut o = String::new();
    for (title, map) in [("Cost by step", &c.by_step), ("Cost by model", &c.by_model)] {
        o.push_str(title);
        o.push('\n');
        let mut rows = vec![vec!["".to_string(), "USD/day".into(), "share".into()]];
        for (name, v, s) in shares(map) {
            rows.push(vec![name, usd(v), pct(s)]);
        }
        o.push_str(&text_table(&rows, &[false, true, true]));
        o.push('\n');
    }
    o.push_str("Cost by token kind\n");
    let total: f64 = kinds(r).iter().map(|(_, v)| v).sum();
    let mut rows = vec![vec!["".to_string(), "USD/day".into(), "share".into()]];
    for (name, v) in kinds(r) {
        rows.push(vec![
            name.to_string(),
            usd(v),
            pct(if total > 0.0 { v / total } else { 0.0 }),
        ]);
    }
    o.push_str(&text_table(&rows, &[false, true, true]));
    o.push('\n');
    o
}

/// The text "Cache" figures (overall and by step) and, for a routed scenario, "Routing".
fn cache_and_routing_text(r: &SimResult) -> String {
    let mut o = format!(
        "Cache\n  hit rate {}, saving {} /day\n",
        pct(r.cache.hit_rate),
        usd(r.cache.savings_per_day)
    );
    if !r.cache.by_step.is_empty() {
        let mut rows = vec![vec!["".to_string(), "hit rate".into()]];
        for (step, h) in &r.cache.by_step {
            rows.push(vec![step.clone(), pct(*h)]);
        }
        o.push_str(&text_table(&rows, &[false, true]));
    }
    o.push('\n');

    if let Some(rt) = &r.routing {
        o.push_str("Routing\n");
        o.push_str(&kv_text(&[
            vec![
                "resolved on the cheap tier".into(),
                pct(rt.cheap_tier_share),
            ],
            vec![
                "escalated to the strong tier".into(),
                pct(rt.escalation_rate),
            ],
            vec!["misrouted by the classifier".into(), pct(rt.misroute_rate)],
        ]));
        o.push('\n');
    }
    o
}

/// The text "Reliability" figures: task outcomes with their shares, then the API calls.
fn reliability_text(r: &SimResult) -> String {
    let t = &r.tasks;
    let mut o = String::from("Reliability\n");
    let share = |n: u64| format!("{} ({})", count(n), pct(ratio(n, t.total)));
    let mut rows = vec![
        vec!["tasks".to_string(), count(t.total)],
        vec!["succeeded".into(), share(t.succeeded)],
        vec!["partial (stopped by a budget)".into(), share(t.partial)],
        vec!["failed".into(), share(t.failed)],
        vec!["escalated to a human".into(), share(t.escalated_to_human)],
        vec!["pre-filtered (no LLM call)".into(), share(t.prefiltered)],
        vec![
            "rejected by the daily cap".into(),
            share(t.rejected_by_daily_cap),
        ],
        vec!["runaway (cut off)".into(), share(t.runaway)],
        vec!["cost alerts".into(), share(t.cost_alerts)],
        vec!["unfinished at the horizon".into(), share(t.unfinished)],
        vec!["abandoned (past a deadline)".into(), share(t.abandoned)],
        vec!["API calls".into(), count(r.calls.total)],
        vec![
            "retries".into(),
            format!(
                "{} ({:.3} per task)",
                count(r.calls.retries),
                r.calls.retries_per_task
            ),
        ],
        vec!["rate-limit waits".into(), count(r.calls.rate_limit_waits)],
        vec!["batch API calls".into(), count(r.calls.batch_calls)],
    ];
    for (kind, n) in &r.calls.failures_by_kind {
        rows.push(vec![format!("failed attempts: {kind}"), count(*n)]);
    }
    o.push_str(&kv_text(&rows));
    o.push('\n');
    o
}

/// The text "Capacity" figures: each model's peaks against its limits, the sustainable traffic,
/// the rate-limit waits and what it would take.
fn capacity_text(r: &SimResult) -> String {
    let mut o = String::from("Capacity\n");
    if !r.capacity.by_model.is_empty() {
        let mut rows = vec![
            [
                "",
                "peak RPM",
                "RPM limit",
                "peak TPM",
                "TPM limit",
                "ITPM limit",
                "OTPM limit",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for (model, m) in &r.capacity.by_model {
            rows.push(vec![
                model.clone(),
                count(m.peak_rpm),
                m.limit_rpm.map_or("-".to_string(), count),
                count(m.peak_tpm),
                m.limit_tpm.map_or("-".to_string(), count),
                m.limit_itpm.map_or("-".to_string(), count),
                m.limit_otpm.map_or("-".to_string(), count),
            ]);
        }
        o.push_str(&text_table(
            &rows,
            &[false, true, true, true, true, true, true],
        ));
    }
    o.push_str(&format!(
        "  highest sustainable traffic: {}\n",
        sustainable(r)
    ));
    o.push_str(&format!(
        "  time waiting for rate limits per task: p50 {}, p95 {}\n",
        secs(r.capacity.task_wait_s.p50),
        secs(r.capacity.task_wait_s.p95)
    ));
    o.push_str(&what_it_would_take_text(r));
    o
}

/// The text "what would it take" table and the usage tiers' spend caps.
fn what_it_would_take_text(r: &SimResult) -> String {
    let mut o = String::new();
    let rows = what_it_would_take_rows(r);
    if !rows.is_empty() {
        o.push_str("  what it would take (fluid estimates: each limit's peak minute meets it):\n");
        o.push_str(&text_table(&rows, &WHAT_IT_WOULD_TAKE_RIGHT));
    }
    for line in spend_cap_lines(r) {
        o.push_str(&format!("  spend cap: {line}\n"));
    }
    o
}

/// How a `--precision` run ended, when it used one.
pub(crate) fn precision_line(r: &SimResult) -> Option<String> {
    let p = r.precision.as_ref()?;
    let fmt = |x: f64| {
        if x.is_finite() {
            format!("{:.2}%", x * 100.0)
        } else {
            "unbounded".to_string()
        }
    };
    Some(if p.reached {
        format!(
            "precision: p95 daily cost known to within {} (target {}) after {} replicas",
            fmt(p.achieved),
            fmt(p.target),
            r.replicas
        )
    } else {
        format!(
            "precision NOT reached: p95 daily cost known to within {} (target {}); stopped at the cap of {} replicas (--max-replicas)",
            fmt(p.achieved),
            fmt(p.target),
            p.max_replicas
        )
    })
}

/// The "what would it take" table: each limit in the order traffic meets it, the tasks/day
/// at which it binds, what to raise it to, and which limit binds next. Header row first;
/// empty without rate limits.
pub(crate) fn what_it_would_take_rows(r: &SimResult) -> Vec<Vec<String>> {
    let rungs = &r.capacity.what_it_would_take;
    if rungs.is_empty() {
        return Vec::new();
    }
    let mut rows = vec![
        [
            "limit",
            "per min",
            "binds at (tasks/day)",
            "raise it to (per min)",
            "then binds",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (i, rung) in rungs.iter().enumerate() {
        rows.push(vec![
            format!("{} {}", rung.model, rung.limit),
            count(rung.limit_per_min),
            count(rung.binds_at_tasks_per_day.floor() as u64),
            match (rung.raise_to_per_min, &rung.tier_to) {
                (None, _) => "-".into(),
                (Some(v), None) => count(v),
                (Some(v), Some(tier)) => format!("{} (or {tier})", count(v)),
            },
            rungs.get(i + 1).map_or("nothing (last limit)".into(), |n| {
                format!("{} {}", n.model, n.limit)
            }),
        ]);
    }
    rows
}

/// The Markdown "what would it take" table and the usage tiers' spend caps.
fn what_it_would_take_md(r: &SimResult) -> String {
    let mut o = String::new();
    let take = what_it_would_take_rows(r);
    if !take.is_empty() {
        o.push_str("What it would take (each rate limit in the order traffic meets it):\n\n");
        o.push_str(&md_table(&take, &WHAT_IT_WOULD_TAKE_RIGHT));
        o.push('\n');
    }
    for line in spend_cap_lines(r) {
        o.push_str(&format!("- Spend cap: {line}\n"));
    }
    o
}

/// One sentence per usage-tier spend cap: when the run reaches it and at what traffic a month
/// of spend meets it.
pub(crate) fn spend_cap_lines(r: &SimResult) -> Vec<String> {
    r.budget
        .spend_caps
        .iter()
        .map(|c| {
            let reached = match &c.first_day {
                Some(f) => format!(
                    "reached on day {} (p05 {}, p95 {}) in {} of replicas",
                    f.p50,
                    f.p05,
                    f.p95,
                    pct(c.replicas_reaching)
                ),
                None => "not reached in this run".to_string(),
            };
            let traffic = c.cap_tasks_per_day.map_or(String::new(), |t| {
                format!(
                    "; a month of spend meets it at {} tasks/day",
                    count(t.floor() as u64)
                )
            });
            format!(
                "{} {} caps monthly spend at {} (this run: {} a month): {reached}{traffic}",
                c.provider,
                c.usage_tier,
                usd(c.monthly_cap_usd),
                usd(c.month_mean_usd)
            )
        })
        .collect()
}

/// Alignment of [`what_it_would_take_rows`]' columns (numbers right).
pub(crate) const WHAT_IT_WOULD_TAKE_RIGHT: [bool; 5] = [false, true, true, true, false];

/// The sustainable-traffic figure with the limit that binds above it.
pub(crate) fn sustainable(r: &SimResult) -> String {
    let c = &r.capacity;
    match (c.max_sustainable_tasks_per_day, &c.limiting) {
        (None, _) => "no rate limit".to_string(),
        (Some(v), Some(l)) => format!(
            "{} tasks/day (then {} {} saturates)",
            count(v.floor() as u64),
            l.model,
            l.limit
        ),
        (Some(v), None) => format!("{} tasks/day", count(v.floor() as u64)),
    }
}

fn kv_text(rows: &[Vec<String>]) -> String {
    let w = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
    rows.iter()
        .map(|r| format!("  {:<w$}  {}\n", r[0], r[1]))
        .collect()
}

/// Markdown for a pull-request comment or a CI job summary: the one-line verdict first, then
/// a short table of the figures that matter and the cost by step.
pub fn markdown(r: &SimResult) -> String {
    let mut o = String::new();
    if let Some(sat) = saturation_sentence(r) {
        o.push_str(&format!("⚠️ Saturated: {sat}\n\n"));
    }
    o.push_str(&verdict_line(r));
    o.push_str("\n\n");
    o.push_str(&format!(
        "**{}** · seed {} · {} replicas × {} days · scenario `{}`\n\n",
        crate::fmt::md_cell(&r.scenario),
        r.seed,
        r.replicas,
        r.days,
        short_hash(r)
    ));
    let c = &r.cost_usd;
    if let Some(line) = precision_line(r) {
        o.push_str(&format!("{line}\n\n"));
    }
    let months = |o: &mut String| {
        if !r.timeline.months.is_empty() {
            o.push_str(&md_table(&month_rows(r), &[true, true, true, true, true]));
            o.push('\n');
        }
    };
    // When traffic changes over the horizon, cost over time leads.
    if r.timeline.traffic_changes {
        o.push_str("**Cost over time** (daily cost across replicas)\n\n");
        for line in cost_over_time_lines(r) {
            o.push_str(&format!("`{line}`  \n"));
        }
        o.push('\n');
        months(&mut o);
    }
    // The shared rows less max and CVaR95: per task, per day, per month.
    let mut rows = vec![
        ["cost", "mean", "p50", "p95", "p99"]
            .map(String::from)
            .to_vec(),
    ];
    let mut quantiles = cost_quantile_rows(c);
    quantiles.swap(0, 1);
    rows.extend(quantiles.into_iter().map(|mut r| {
        r.truncate(5);
        r
    }));
    if let Some(month) = rows.iter_mut().find(|row| row[0] == "per month") {
        month[0] = per_month_label(r);
    }
    o.push_str(&md_table(&rows, &[false, true, true, true, true]));
    o.push_str("\nFigures in parentheses: 95% confidence intervals.\n\n");
    if !r.timeline.traffic_changes && r.timeline.months.len() > 1 {
        months(&mut o);
    }

    if !c.by_step.is_empty() {
        let mut rows = vec![vec!["step".to_string(), "$/day".into(), "share".into()]];
        let hit = &r.cache.by_step;
        let with_cache = !hit.is_empty();
        if with_cache {
            rows[0].push("cache hits".into());
        }
        for (name, v, s) in shares(&c.by_step) {
            let mut row = vec![name.clone(), usd(v), pct(s)];
            if with_cache {
                row.push(hit.get(&name).map_or("-".to_string(), |h| pct(*h)));
            }
            rows.push(row);
        }
        o.push_str(&md_table(&rows, &[false, true, true, true]));
        o.push('\n');
    }
    o.push_str(&what_it_would_take_md(r));

    let b = &r.budget;
    let mut notes = Vec::new();
    if let Some(h) = b.headroom_multiple {
        notes.push(format!("headroom {h:.1}× traffic before p95 breaches"));
    }
    if b.daily_usd.is_some() {
        notes.push(format!(
            "{:.2} expected breach days a month",
            b.expected_breach_days_per_month
        ));
        if let Some(f) = first_breach_phrase(r) {
            notes.push(f);
        }
    }
    if r.capacity.max_sustainable_tasks_per_day.is_some() {
        notes.push(format!("sustainable traffic {}", sustainable(r)));
    }
    notes.push(format!(
        "{} of tasks succeeded",
        pct(ratio(r.tasks.succeeded, r.tasks.total))
    ));
    let l = &r.latency_s.task;
    notes.push(format!("task latency p95 {}", secs_ci(l.p95, &l.p95_ci95)));
    o.push_str(&notes.join(" · "));
    o.push('\n');
    o
}

/// The run as pretty JSON with a trailing newline. Keys follow [`SimResult`]'s field order and
/// maps are sorted, so the output is byte-for-byte stable for a given result.
pub fn json(r: &SimResult) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("SimResult serialises to JSON");
    s.push('\n');
    s
}
