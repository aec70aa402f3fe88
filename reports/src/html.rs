//! The self-contained HTML report: one file, inline CSS, charts inline as SVG, no scripts, no
//! external resources.

use crate::charts::{Chart, simulation_charts};
use crate::error::ReportError;
use crate::fmt::{cost_quantile_rows, count, html_escape as esc, pct, secs, usd};
use crate::summary::{kinds, shares, short_hash, sustainable, verdict_sentence, within_budget};
use crate::timeline::{first_breach_phrase, month_rows, per_month_label, saturation_sentence};
use burnrate_sim::SimResult;

pub(crate) const CSS: &str = r#"
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 0 auto; max-width: 980px;
       padding: 24px; color: #222; background: #fff; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 32px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; font-size: 0.9em; margin: 0 0 16px; }
.verdict { font-size: 1.15em; font-weight: bold; padding: 12px 16px; border-radius: 6px; }
.verdict.ok { background: #e8f5e9; border: 1px solid #2ca02c; }
.verdict.over { background: #fdecea; border: 1px solid #d62728; }
.verdict.none { background: #eef3fb; border: 1px solid #1f77b4; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.95em; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e5e5e5; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
figure.chart { margin: 16px 0 28px; }
figure.chart svg { display: block; max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; margin-top: 4px; }
.tables { display: flex; flex-wrap: wrap; gap: 0 32px; }
footer { color: #777; font-size: 0.8em; margin-top: 40px; }
"#;

pub(crate) fn table(head: &[&str], rows: &[Vec<String>], numeric: &[bool]) -> String {
    let mut o = String::from("<table>\n<thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let class = if numeric.get(i).copied().unwrap_or(false) {
            " class=\"n\""
        } else {
            ""
        };
        o.push_str(&format!("<th{class}>{}</th>", esc(h)));
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        o.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            let class = if numeric.get(i).copied().unwrap_or(false) {
                " class=\"n\""
            } else {
                ""
            };
            o.push_str(&format!("<td{class}>{}</td>", esc(c)));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table>\n");
    o
}

fn section(o: &mut String, id: &str, title: &str, body: &str) {
    o.push_str(&format!(
        "<section id=\"{id}\">\n<h2>{}</h2>\n{body}</section>\n",
        esc(title)
    ));
}

/// The report as one self-contained HTML page (renders the charts first).
pub fn html(r: &SimResult) -> Result<String, ReportError> {
    let charts = simulation_charts(r)?;
    Ok(html_with(r, &charts))
}

/// The page for already rendered charts (so `write_report_dir` draws each chart only once).
pub(crate) fn html_with(r: &SimResult, charts: &[Chart]) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    o.push_str(&format!(
        "<title>burnrate report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&r.scenario)
    ));
    // Words, not emoji: the page must read the same on a machine without an emoji font.
    let (class, status) = match within_budget(r) {
        Some(true) => ("ok", "Within budget:"),
        Some(false) => ("over", "Over budget:"),
        None => ("none", "No budget:"),
    };
    // Saturation comes before the budget verdict.
    let saturation = saturation_sentence(r).map_or(String::new(), |s| {
        format!(
            "<p class=\"verdict over\" id=\"saturation\"><span class=\"status\">Saturated:</span> {}</p>\n",
            esc(&s)
        )
    });
    o.push_str(&format!(
        "<header>\n<h1>burnrate: {}</h1>\n<p class=\"meta\">seed {} · {} replicas × {} days · scenario sha256 <code>{}</code></p>\n{saturation}<p class=\"verdict {class}\" id=\"verdict\"><span class=\"status\">{status}</span> {}</p>\n</header>\n",
        esc(&r.scenario),
        r.seed,
        r.replicas,
        r.days,
        esc(short_hash(r)),
        esc(&verdict_sentence(r))
    ));
    // When traffic changes over the horizon the cost-over-time fan chart and the months lead.
    let fan = charts.iter().find(|c| c.name == "cost_over_time");
    let months_table = |o: &mut String| {
        let rows = month_rows(r);
        o.push_str(&table(
            &rows[0].iter().map(String::as_str).collect::<Vec<_>>(),
            &rows[1..],
            &[true, true, true, true, true],
        ));
    };
    if r.timeline.traffic_changes
        && let Some(chart) = fan
    {
        let mut body = figure(chart);
        months_table(&mut body);
        section(&mut o, "cost-over-time", "Cost over time", &body);
    }

    let c = &r.cost_usd;
    let mut rows = cost_quantile_rows(c);
    if c.per_month.extrapolated
        && let Some(row) = rows.iter_mut().find(|r| r[0] == "per month")
    {
        row[0] = per_month_label(r);
    }
    let mut body = table(
        &["cost", "mean", "p50", "p95", "p99", "max", "CVaR95"],
        &rows,
        &[false, true, true, true, true, true, true],
    );
    let b = &r.budget;
    body.push_str(&table(
        &["budget", ""],
        &[
            vec![
                "daily budget".into(),
                b.daily_usd.map_or("none".into(), usd),
            ],
            vec![
                "breach probability (per day)".into(),
                crate::fmt::pct_ci(b.breach_probability, &b.breach_probability_ci95),
            ],
            vec![
                "expected breach days a month".into(),
                format!("{:.2}", b.expected_breach_days_per_month),
            ],
            vec![
                "headroom (traffic growth until p95 breaches)".into(),
                b.headroom_multiple
                    .map_or("n/a".into(), |h| format!("{h:.1}×")),
            ],
            vec![
                "first breach".into(),
                first_breach_phrase(r).unwrap_or_else(|| {
                    if b.daily_usd.is_some() {
                        "no replica breaches".into()
                    } else {
                        "n/a".into()
                    }
                }),
            ],
            vec![
                "fixed monthly costs (in per month)".into(),
                usd(c.per_month.fixed),
            ],
            vec![
                "retry overhead per day".into(),
                usd(c.retry_overhead_per_day),
            ],
            vec!["batch API spend per day".into(), usd(c.batch_per_day)],
        ],
        &[false, true],
    ));
    section(&mut o, "key-figures", "Key figures", &body);

    if !r.timeline.traffic_changes && r.timeline.months.len() > 1 {
        let mut body = String::new();
        months_table(&mut body);
        section(&mut o, "months", "Cost by month", &body);
    }

    let mut body = String::new();
    for chart in charts {
        if r.timeline.traffic_changes && chart.name == "cost_over_time" {
            continue; // already leads the page
        }
        body.push_str(&figure(chart));
    }
    section(&mut o, "charts", "Charts", &body);

    let share_rows = |map| {
        shares(map)
            .into_iter()
            .map(|(k, v, s)| vec![k, usd(v), pct(s)])
            .collect::<Vec<_>>()
    };
    let mut body = String::from("<div class=\"tables\">\n");
    body.push_str(&table(
        &["step", "$/day", "share"],
        &share_rows(&c.by_step),
        &[false, true, true],
    ));
    body.push_str(&table(
        &["model", "$/day", "share"],
        &share_rows(&c.by_model),
        &[false, true, true],
    ));
    let total: f64 = kinds(r).iter().map(|(_, v)| v).sum();
    let kind_rows: Vec<Vec<String>> = kinds(r)
        .into_iter()
        .map(|(k, v)| {
            vec![
                k.to_string(),
                usd(v),
                pct(if total > 0.0 { v / total } else { 0.0 }),
            ]
        })
        .collect();
    body.push_str(&table(
        &["token kind", "$/day", "share"],
        &kind_rows,
        &[false, true, true],
    ));
    let cache_rows: Vec<Vec<String>> = r
        .cache
        .by_step
        .iter()
        .map(|(k, v)| vec![k.clone(), pct(*v)])
        .collect();
    body.push_str(&table(
        &["cache by step", "hit rate"],
        &cache_rows,
        &[false, true],
    ));
    body.push_str("</div>\n");
    body.push_str(&format!(
        "<p>Overall cache hit rate {}, saving {} a day.</p>\n",
        pct(r.cache.hit_rate),
        usd(r.cache.savings_per_day)
    ));
    if let Some(rt) = &r.routing {
        body.push_str(&format!(
            "<p>Routing: {} resolved on the cheap tier, {} escalated, {} misrouted.</p>\n",
            pct(rt.cheap_tier_share),
            pct(rt.escalation_rate),
            pct(rt.misroute_rate)
        ));
    }
    section(&mut o, "anatomy", "Where the money goes", &body);

    let t = &r.tasks;
    let share = |n: u64| {
        let s = if t.total == 0 {
            0.0
        } else {
            n as f64 / t.total as f64
        };
        vec![count(n), pct(s)]
    };
    let mut rows: Vec<Vec<String>> = [
        ("succeeded", t.succeeded),
        ("partial (stopped by a budget)", t.partial),
        ("failed", t.failed),
        ("escalated to a human", t.escalated_to_human),
        ("pre-filtered (no LLM call)", t.prefiltered),
        ("rejected by the daily cap", t.rejected_by_daily_cap),
        ("runaway (cut off)", t.runaway),
        ("cost alerts", t.cost_alerts),
        ("unfinished at the horizon", t.unfinished),
        ("abandoned (past a deadline)", t.abandoned),
    ]
    .into_iter()
    .map(|(k, n)| {
        let mut row = vec![k.to_string()];
        row.extend(share(n));
        row
    })
    .collect();
    rows.insert(0, vec!["tasks".into(), count(t.total), "".into()]);
    let mut body = String::from("<div class=\"tables\">\n");
    body.push_str(&table(
        &["tasks", "count", "share"],
        &rows,
        &[false, true, true],
    ));
    let mut calls = vec![
        vec!["API calls".into(), count(r.calls.total)],
        vec!["retries".into(), count(r.calls.retries)],
        vec![
            "retries per task".into(),
            format!("{:.3}", r.calls.retries_per_task),
        ],
        vec!["rate-limit waits".into(), count(r.calls.rate_limit_waits)],
        vec!["batch API calls".into(), count(r.calls.batch_calls)],
    ];
    for (k, n) in &r.calls.failures_by_kind {
        calls.push(vec![format!("failed attempts: {k}"), count(*n)]);
    }
    body.push_str(&table(&["calls", "count"], &calls, &[false, true]));
    body.push_str("</div>\n");
    section(&mut o, "reliability", "Reliability", &body);

    let l = &r.latency_s.task;
    let mut body = table(
        &["task latency", "mean", "p50", "p95", "p99", "max"],
        &[vec![
            "arrival to answer".into(),
            secs(l.mean),
            crate::fmt::secs_ci(l.p50, &l.p50_ci95),
            crate::fmt::secs_ci(l.p95, &l.p95_ci95),
            crate::fmt::secs_ci(l.p99, &l.p99_ci95),
            secs(l.max),
        ]],
        &[false, true, true, true, true, true],
    );
    let cap_rows: Vec<Vec<String>> = r
        .capacity
        .by_model
        .iter()
        .map(|(m, c)| {
            vec![
                m.clone(),
                count(c.peak_rpm),
                c.limit_rpm.map_or("-".into(), count),
                count(c.peak_tpm),
                c.limit_tpm.map_or("-".into(), count),
                c.limit_itpm.map_or("-".into(), count),
                c.limit_otpm.map_or("-".into(), count),
            ]
        })
        .collect();
    body.push_str(&table(
        &[
            "model",
            "peak RPM",
            "RPM limit",
            "peak TPM",
            "TPM limit",
            "ITPM limit",
            "OTPM limit",
        ],
        &cap_rows,
        &[false, true, true, true, true, true, true],
    ));
    body.push_str(&format!(
        "<p>Highest sustainable traffic: {}. Time waiting for rate limits per task: p50 {}, p95 {}.</p>\n",
        esc(&sustainable(r)),
        secs(r.capacity.task_wait_s.p50),
        secs(r.capacity.task_wait_s.p95)
    ));
    body.push_str(&what_it_would_take(r));
    section(&mut o, "capacity", "Latency and capacity", &body);

    o.push_str(&format!(
        "<footer>Generated by burnrate. Replay with seed {} on scenario sha256 <code>{}</code>. Charts use the embedded DejaVu Sans font.</footer>\n</body>\n</html>\n",
        r.seed,
        esc(&r.scenario_hash)
    ));
    o
}

pub(crate) fn figure(chart: &Chart) -> String {
    format!(
        "<figure class=\"chart\" id=\"chart-{}\">\n{}\n<figcaption><strong>{}.</strong> {}</figcaption>\n</figure>\n",
        esc(&chart.name),
        strip_xml_declaration(&chart.svg),
        esc(&chart.title),
        esc(&chart.description)
    )
}

fn strip_xml_declaration(svg: &str) -> &str {
    let s = svg.trim_start();
    if s.starts_with("<?xml") {
        s.find("?>").map_or(s, |i| s[i + 2..].trim_start())
    } else {
        s
    }
}

/// The "what would it take" table and the usage tiers' spend caps.
fn what_it_would_take(r: &SimResult) -> String {
    let mut body = String::new();
    let take = crate::summary::what_it_would_take_rows(r);
    if let Some((head, rows)) = take.split_first() {
        body.push_str("<p>What it would take: each rate limit in the order traffic meets it (fluid estimates from the capacity search's pilot).</p>\n");
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        body.push_str(&table(
            &head,
            rows,
            &crate::summary::WHAT_IT_WOULD_TAKE_RIGHT,
        ));
    }
    for line in crate::summary::spend_cap_lines(r) {
        body.push_str(&format!("<p>Spend cap: {}.</p>\n", esc(&line)));
    }
    body
}
