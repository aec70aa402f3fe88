//! Two runs side by side.

use crate::fmt::{md_table, pct, pp_signed, rel_change, secs, text_table, usd, usd_signed};
use burnrate_sim::SimResult;
use burnrate_sim::stats::{Ci95, Z975, paired_mean_diff_ci, paired_quantile_diff_ci};
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
    /// 95% interval of B - A, and whether it is paired (common random numbers, replica by
    /// replica) or from the two runs' own intervals taken as independent (conservative: common
    /// random numbers correlate the runs positively).
    diff_ci: Option<(Ci95, bool)>,
}

/// Whether A and B have the same replica-by-day layout, so replica `i` of one pairs with
/// replica `i` of the other.
fn paired(a: &SimResult, b: &SimResult) -> bool {
    a.days == b.days
        && a.replicas == b.replicas
        && a.seed == b.seed
        && a.daily_costs_usd.len() == b.daily_costs_usd.len()
        && !a.daily_costs_usd.is_empty()
}

/// Standard error implied by a 95% interval; `None` when it is unbounded.
fn se(ci: &Ci95) -> Option<f64> {
    ci.high().map(|h| (h - ci.low()) / (2.0 * Z975))
}

/// Interval of `b - a` from the two runs' own intervals, taken as independent.
fn unpaired(a: f64, ca: &Ci95, b: f64, cb: &Ci95) -> Option<(Ci95, bool)> {
    let (sa, sb) = (se(ca)?, se(cb)?);
    if ca.low() == 0.0 && ca.high() == Some(0.0) && a != 0.0 {
        return None; // no interval recorded (an old result)
    }
    let h = Z975 * (sa * sa + sb * sb).sqrt();
    Some((Ci95(b - a - h, Some(b - a + h)), false))
}

/// Per-replica values of a run: day-cost means, month totals and breach shares.
fn per_replica(r: &SimResult) -> (Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
    let days = r.days.max(1) as usize;
    let chunks = r.daily_costs_usd.chunks(days);
    let means = chunks
        .clone()
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect();
    let months = chunks
        .clone()
        .map(|c| c.iter().sum::<f64>() * 30.0 / days as f64 + r.cost_usd.per_month.fixed)
        .collect();
    let breaches = r.budget.daily_usd.map(|budget| {
        chunks
            .map(|c| c.iter().filter(|x| **x > budget).count() as f64 / c.len() as f64)
            .collect()
    });
    (means, months, breaches)
}

fn rows(a: &SimResult, b: &SimResult) -> Vec<Row> {
    let mut out = Vec::new();
    let mut push = |metric: &str, x: f64, y: f64, unit| {
        out.push(Row {
            metric: metric.to_string(),
            a: x,
            b: y,
            unit,
            diff_ci: None,
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
    add_intervals(a, b, &mut out);
    out
}

fn add_intervals(a: &SimResult, b: &SimResult, rows: &mut [Row]) {
    let is_paired = paired(a, b);
    let (ma, moa, ba) = per_replica(a);
    let (mb, mob, bb) = per_replica(b);
    let days = a.days.max(1) as usize;
    let (da, db) = (&a.daily_costs_usd, &b.daily_costs_usd);
    let (ca, cb) = (&a.cost_usd, &b.cost_usd);
    for row in rows.iter_mut() {
        let p = |ci: Option<Ci95>| ci.map(|c| (c, true));
        row.diff_ci = match row.metric.as_str() {
            "daily cost mean" if is_paired => p(paired_mean_diff_ci(&ma, &mb)),
            "daily cost p50" if is_paired => p(paired_quantile_diff_ci(da, db, days, 0.50)),
            "daily cost p95" if is_paired => p(paired_quantile_diff_ci(da, db, days, 0.95)),
            "daily cost p99" if is_paired => p(paired_quantile_diff_ci(da, db, days, 0.99)),
            "monthly cost p50" if is_paired => p(paired_quantile_diff_ci(&moa, &mob, 1, 0.50)),
            "monthly cost p95" if is_paired => p(paired_quantile_diff_ci(&moa, &mob, 1, 0.95)),
            "budget breach probability" if is_paired => match (&ba, &bb) {
                (Some(x), Some(y)) => p(paired_mean_diff_ci(x, y)),
                _ => None,
            },
            "daily cost mean" => unpaired(
                ca.per_day.mean,
                &ca.per_day.mean_ci95,
                cb.per_day.mean,
                &cb.per_day.mean_ci95,
            ),
            "daily cost p95" => unpaired(
                ca.per_day.p95,
                &ca.per_day.p95_ci95,
                cb.per_day.p95,
                &cb.per_day.p95_ci95,
            ),
            "task cost mean" => unpaired(
                ca.per_task.mean,
                &ca.per_task.mean_ci95,
                cb.per_task.mean,
                &cb.per_task.mean_ci95,
            ),
            "task cost p95" => unpaired(
                ca.per_task.p95,
                &ca.per_task.p95_ci95,
                cb.per_task.p95,
                &cb.per_task.p95_ci95,
            ),
            "task latency p50" => unpaired(
                a.latency_s.task.p50,
                &a.latency_s.task.p50_ci95,
                b.latency_s.task.p50,
                &b.latency_s.task.p50_ci95,
            ),
            "task latency p95" => unpaired(
                a.latency_s.task.p95,
                &a.latency_s.task.p95_ci95,
                b.latency_s.task.p95,
                &b.latency_s.task.p95_ci95,
            ),
            _ => None,
        };
    }
}

/// Whether an interval of a difference contains zero.
fn within_noise(ci: &Ci95) -> bool {
    ci.low() <= 0.0 && ci.high().is_none_or(|h| h >= 0.0)
}

/// The interval cell: `+$0.15 to +$0.25`, `within noise (-$0.03 to +$0.05)`, or `-`.
fn interval_cell(r: &Row) -> String {
    let Some((ci, _)) = &r.diff_ci else {
        return "-".to_string();
    };
    let end = |v: f64| match r.unit {
        Unit::Usd => usd_signed(v),
        Unit::Share => pp_signed(v),
        Unit::Seconds => format!(
            "{}{}",
            if v > 0.0 {
                "+"
            } else if v < 0.0 {
                "-"
            } else {
                ""
            },
            secs(v.abs())
        ),
    };
    let span = format!(
        "{} to {}",
        end(ci.low()),
        ci.high().map_or("?".to_string(), end)
    );
    if within_noise(ci) {
        format!("within noise ({span})")
    } else {
        span
    }
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
        "B - A, 95% interval".into(),
    ]];
    for r in rows(a, b) {
        let [x, y, d, c] = cells(&r);
        let i = interval_cell(&r);
        out.push(vec![r.metric, x, y, d, c, i]);
    }
    out
}

fn headline(a: &SimResult, b: &SimResult) -> String {
    let base = headline_figures(a, b);
    let p95 = rows(a, b)
        .into_iter()
        .find(|r| r.metric == "daily cost p95")
        .and_then(|r| r.diff_ci);
    match p95 {
        Some((ci, paired)) if within_noise(&ci) => format!(
            "{base}: within noise ({} interval of the difference {} to {})",
            if paired { "paired 95%" } else { "95%" },
            usd_signed(ci.low()),
            ci.high().map_or("?".to_string(), usd_signed)
        ),
        Some((ci, paired)) => format!(
            "{base} ({} interval of the difference {} to {})",
            if paired { "paired 95%" } else { "95%" },
            usd_signed(ci.low()),
            ci.high().map_or("?".to_string(), usd_signed)
        ),
        None => base,
    }
}

fn headline_figures(a: &SimResult, b: &SimResult) -> String {
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

const RIGHT: [bool; 6] = [false, true, true, true, true, true];

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
    /// 95% interval of the difference; null when there is none for this metric.
    difference_ci95: Option<Ci95>,
    /// Whether the interval is paired (replica by replica, common random numbers).
    paired: bool,
    /// Whether the interval contains zero; null without an interval.
    within_noise: Option<bool>,
}

#[derive(Serialize)]
struct CompareJson<'a> {
    a: Side<'a>,
    b: Side<'a>,
    rows: Vec<JsonRow>,
}

/// A and B as pretty JSON: `{"a": {...}, "b": {...}, "rows": [{"metric", "unit", "a", "b",
/// "difference", "relative_change", "difference_ci95", "paired", "within_noise"}]}`; `unit` is
/// `usd`, `share` or `seconds`.
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
                difference_ci95: r.diff_ci.map(|d| d.0),
                paired: r.diff_ci.is_some_and(|d| d.1),
                within_noise: r.diff_ci.map(|d| within_noise(&d.0)),
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
