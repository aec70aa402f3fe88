//! Two runs side by side.

use crate::fmt::{md_table, pct, pp_signed, rel_change, secs, text_table, usd, usd_signed};
use burnrate_sim::SimResult;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Clone, Copy)]
enum Unit {
    Usd,
    Share,
    Seconds,
}

struct Row {
    metric: String,
    a: f64,
    b: f64,
    unit: Unit,
}

fn rows(a: &SimResult, b: &SimResult) -> Vec<Row> {
    let mut out = Vec::new();
    let mut push = |metric: &str, x: f64, y: f64, unit| {
        out.push(Row {
            metric: metric.to_string(),
            a: x,
            b: y,
            unit,
        })
    };
    let (ca, cb) = (&a.cost_usd, &b.cost_usd);
    push(
        "daily cost mean",
        ca.per_day.mean,
        cb.per_day.mean,
        Unit::Usd,
    );
    push("daily cost p50", ca.per_day.p50, cb.per_day.p50, Unit::Usd);
    push("daily cost p95", ca.per_day.p95, cb.per_day.p95, Unit::Usd);
    push("daily cost p99", ca.per_day.p99, cb.per_day.p99, Unit::Usd);
    push(
        "daily cost CVaR95",
        ca.per_day.cvar95,
        cb.per_day.cvar95,
        Unit::Usd,
    );
    push(
        "task cost mean",
        ca.per_task.mean,
        cb.per_task.mean,
        Unit::Usd,
    );
    push("task cost p95", ca.per_task.p95, cb.per_task.p95, Unit::Usd);
    push(
        "monthly cost p50",
        ca.per_month.p50,
        cb.per_month.p50,
        Unit::Usd,
    );
    push(
        "monthly cost p95",
        ca.per_month.p95,
        cb.per_month.p95,
        Unit::Usd,
    );
    push(
        "budget breach probability",
        a.budget.breach_probability,
        b.budget.breach_probability,
        Unit::Share,
    );
    push(
        "cache hit rate",
        a.cache.hit_rate,
        b.cache.hit_rate,
        Unit::Share,
    );
    push(
        "cache savings per day",
        a.cache.savings_per_day,
        b.cache.savings_per_day,
        Unit::Usd,
    );
    push(
        "retry overhead per day",
        ca.retry_overhead_per_day,
        cb.retry_overhead_per_day,
        Unit::Usd,
    );
    let success = |r: &SimResult| {
        if r.tasks.total == 0 {
            0.0
        } else {
            r.tasks.succeeded as f64 / r.tasks.total as f64
        }
    };
    push("task success rate", success(a), success(b), Unit::Share);
    push(
        "task latency p50",
        a.latency_s.task.p50,
        b.latency_s.task.p50,
        Unit::Seconds,
    );
    push(
        "task latency p95",
        a.latency_s.task.p95,
        b.latency_s.task.p95,
        Unit::Seconds,
    );
    let steps: BTreeSet<&String> = ca.by_step.keys().chain(cb.by_step.keys()).collect();
    for step in steps {
        push(
            &format!("step {step} $/day"),
            ca.by_step.get(step).copied().unwrap_or(0.0),
            cb.by_step.get(step).copied().unwrap_or(0.0),
            Unit::Usd,
        );
    }
    out
}

fn names(a: &SimResult, b: &SimResult) -> (String, String) {
    if a.scenario == b.scenario {
        (format!("A ({})", a.scenario), format!("B ({})", b.scenario))
    } else {
        (a.scenario.clone(), b.scenario.clone())
    }
}

fn cells(r: &Row) -> [String; 4] {
    match r.unit {
        Unit::Usd => [
            usd(r.a),
            usd(r.b),
            usd_signed(r.b - r.a),
            rel_change(r.a, r.b),
        ],
        Unit::Share => [
            pct(r.a),
            pct(r.b),
            pp_signed(r.b - r.a),
            rel_change(r.a, r.b),
        ],
        Unit::Seconds => {
            let d = r.b - r.a;
            let sign = if d > 0.0 {
                "+"
            } else if d < 0.0 {
                "-"
            } else {
                ""
            };
            [
                secs(r.a),
                secs(r.b),
                format!("{sign}{}", secs(d.abs())),
                rel_change(r.a, r.b),
            ]
        }
    }
}

fn table(a: &SimResult, b: &SimResult) -> Vec<Vec<String>> {
    let (na, nb) = names(a, b);
    let mut out = vec![vec![
        "metric".to_string(),
        na,
        nb,
        "B - A".into(),
        "change".into(),
    ]];
    for r in rows(a, b) {
        let [x, y, d, c] = cells(&r);
        out.push(vec![r.metric, x, y, d, c]);
    }
    out
}

fn headline(a: &SimResult, b: &SimResult) -> String {
    let (pa, pb) = (a.cost_usd.per_day.p95, b.cost_usd.per_day.p95);
    let (na, nb) = names(a, b);
    let direction = if pb < pa {
        "lower"
    } else if pb > pa {
        "higher"
    } else {
        "the same"
    };
    if direction == "the same" {
        format!("p95 daily cost is the same for {nb} and {na}: {}", usd(pa))
    } else {
        format!(
            "p95 daily cost of {nb} is {} ({}) {direction} than {na}: {} vs {}",
            usd((pb - pa).abs()),
            rel_change(pa, pb).trim_start_matches(['+', '-']),
            usd(pb),
            usd(pa)
        )
    }
}

const RIGHT: [bool; 5] = [false, true, true, true, true];

/// A and B side by side as plain text, the p95 daily cost difference first.
pub fn compare_text(a: &SimResult, b: &SimResult) -> String {
    let mut o = headline(a, b);
    o.push_str("\n\n");
    o.push_str(&text_table(&table(a, b), &RIGHT));
    o
}

/// A and B side by side as Markdown, the p95 daily cost difference first.
pub fn compare_markdown(a: &SimResult, b: &SimResult) -> String {
    let mut o = headline(a, b);
    o.push_str("\n\n");
    o.push_str(&md_table(&table(a, b), &RIGHT));
    o
}

#[derive(Serialize)]
struct Side<'a> {
    scenario: &'a str,
    scenario_hash: &'a str,
    seed: u64,
    replicas: u32,
    days: u32,
}

#[derive(Serialize)]
struct JsonRow {
    metric: String,
    unit: &'static str,
    a: f64,
    b: f64,
    difference: f64,
    /// (b / a - 1); null when a is zero.
    relative_change: Option<f64>,
}

#[derive(Serialize)]
struct CompareJson<'a> {
    a: Side<'a>,
    b: Side<'a>,
    rows: Vec<JsonRow>,
}

/// A and B as pretty JSON: `{"a": {...}, "b": {...}, "rows": [{"metric", "unit", "a", "b",
/// "difference", "relative_change"}]}`; `unit` is `usd`, `share` or `seconds`.
pub fn compare_json(a: &SimResult, b: &SimResult) -> String {
    fn side(r: &SimResult) -> Side<'_> {
        Side {
            scenario: &r.scenario,
            scenario_hash: &r.scenario_hash,
            seed: r.seed,
            replicas: r.replicas,
            days: r.days,
        }
    }
    let doc = CompareJson {
        a: side(a),
        b: side(b),
        rows: rows(a, b)
            .into_iter()
            .map(|r| JsonRow {
                unit: match r.unit {
                    Unit::Usd => "usd",
                    Unit::Share => "share",
                    Unit::Seconds => "seconds",
                },
                difference: r.b - r.a,
                relative_change: (r.a != 0.0).then(|| r.b / r.a - 1.0),
                metric: r.metric,
                a: r.a,
                b: r.b,
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("comparison serialises to JSON");
    s.push('\n');
    s
}
