//! The run as CSV files (RFC 4180: comma separated, CRLF-free `\n` line ends, quoted when
//! needed). Numbers are written in Rust's shortest round-trip form, so the files are exact and
//! stable.

use crate::summary::{kinds, shares};
use burnrate_sim::{BudgetSummary, CapacitySummary, CostSummary, SimResult};

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| field(c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// `PREFIX.STAT_ci95_low` and `_high` rows (high empty when unbounded).
fn ci_rows(out: &mut Vec<(String, String)>, prefix: &str, cis: &[(&str, burnrate_sim::Ci95)]) {
    for (stat, ci) in cis {
        out.push((format!("{prefix}.{stat}_ci95_low"), ci.low().to_string()));
        out.push((format!("{prefix}.{stat}_ci95_high"), opt(ci.high())));
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

/// The run as CSV files: `(file name, contents)` in a fixed order: `summary.csv` (metric,value),
/// `daily_costs.csv`, `by_step.csv`, `by_model.csv`, `by_kind.csv`, `cache_by_step.csv`,
/// `latency_histogram.csv`, `timeline_days.csv` (per-day cost band and traffic over the horizon),
/// `timeline_months.csv` (30-day months, a partial last month with its day count),
/// `sample_day.csv`.
pub fn csv(r: &SimResult) -> Vec<(String, String)> {
    let c = &r.cost_usd;
    let shares_table = |key: &str, map| {
        table(
            &[key, "usd_per_day", "share"],
            shares(map)
                .into_iter()
                .map(|(k, v, s)| vec![k, v.to_string(), s.to_string()]),
        )
    };
    vec![
        (
            "summary.csv".into(),
            table(
                &["metric", "value"],
                summary_rows(r).into_iter().map(|(k, v)| vec![k, v]),
            ),
        ),
        ("daily_costs.csv".into(), daily_costs_table(r)),
        ("by_step.csv".into(), shares_table("step", &c.by_step)),
        ("by_model.csv".into(), shares_table("model", &c.by_model)),
        ("by_kind.csv".into(), by_kind_table(r)),
        (
            "cache_by_step.csv".into(),
            table(
                &["step", "hit_rate"],
                r.cache
                    .by_step
                    .iter()
                    .map(|(k, v)| vec![k.clone(), v.to_string()]),
            ),
        ),
        (
            "latency_histogram.csv".into(),
            table(
                &["upper_bound_s", "count"],
                r.latency_s
                    .task_histogram
                    .iter()
                    .map(|(u, n)| vec![u.to_string(), n.to_string()]),
            ),
        ),
        ("timeline_days.csv".into(), timeline_days_table(r)),
        ("timeline_months.csv".into(), timeline_months_table(r)),
        (
            "sample_day.csv".into(),
            table(
                &["hour", "cumulative_usd"],
                r.sample_day
                    .iter()
                    .map(|(h, v)| vec![h.to_string(), v.to_string()]),
            ),
        ),
    ]
}

/// The `summary.csv` rows, `(metric, value)`: every single figure of the run in a fixed order.
fn summary_rows(r: &SimResult) -> Vec<(String, String)> {
    let mut summary: Vec<(String, String)> = vec![
        ("scenario".into(), r.scenario.clone()),
        ("scenario_hash".into(), r.scenario_hash.clone()),
        ("seed".into(), r.seed.to_string()),
        ("replicas".into(), r.replicas.to_string()),
        ("days".into(), r.days.to_string()),
    ];
    cost_rows(&mut summary, &r.cost_usd);
    budget_rows(&mut summary, &r.budget);
    cache_and_routing_rows(&mut summary, r);
    task_and_call_rows(&mut summary, r);
    latency_and_precision_rows(&mut summary, r);
    capacity_rows(&mut summary, &r.capacity);
    summary
}

/// The `cost_usd.*` rows: per task, per day and per month quantiles with their intervals, the
/// batch spend and the retry overhead.
fn cost_rows(summary: &mut Vec<(String, String)>, c: &CostSummary) {
    for (name, q) in [("per_task", &c.per_task), ("per_day", &c.per_day)] {
        for (stat, v) in [
            ("mean", q.mean),
            ("p50", q.p50),
            ("p95", q.p95),
            ("p99", q.p99),
            ("max", q.max),
            ("cvar95", q.cvar95),
        ] {
            summary.push((format!("cost_usd.{name}.{stat}"), v.to_string()));
        }
        ci_rows(
            summary,
            &format!("cost_usd.{name}"),
            &[
                ("mean", q.mean_ci95),
                ("p50", q.p50_ci95),
                ("p95", q.p95_ci95),
                ("p99", q.p99_ci95),
            ],
        );
    }
    let m = &c.per_month;
    for (stat, v) in [
        ("mean", m.mean),
        ("p50", m.p50),
        ("p95", m.p95),
        ("p99", m.p99),
        ("fixed", m.fixed),
    ] {
        summary.push((format!("cost_usd.per_month.{stat}"), v.to_string()));
    }
    ci_rows(
        summary,
        "cost_usd.per_month",
        &[
            ("mean", m.mean_ci95),
            ("p50", m.p50_ci95),
            ("p95", m.p95_ci95),
            ("p99", m.p99_ci95),
        ],
    );
    summary.push(("cost_usd.batch_per_day".into(), c.batch_per_day.to_string()));
    summary.push((
        "cost_usd.retry_overhead_per_day".into(),
        c.retry_overhead_per_day.to_string(),
    ));
}

/// The `budget.*` rows: the daily budget, the breach probability and days, the headroom.
fn budget_rows(summary: &mut Vec<(String, String)>, b: &BudgetSummary) {
    summary.push(("budget.daily_usd".into(), opt(b.daily_usd)));
    summary.push((
        "budget.breach_probability".into(),
        b.breach_probability.to_string(),
    ));
    ci_rows(
        summary,
        "budget",
        &[("breach_probability", b.breach_probability_ci95)],
    );
    summary.push((
        "budget.expected_breach_days_per_month".into(),
        b.expected_breach_days_per_month.to_string(),
    ));
    summary.push(("budget.headroom_multiple".into(), opt(b.headroom_multiple)));
}

/// The `cache.*` rows and, for a routed scenario, the `routing.*` rows.
fn cache_and_routing_rows(summary: &mut Vec<(String, String)>, r: &SimResult) {
    summary.push(("cache.hit_rate".into(), r.cache.hit_rate.to_string()));
    summary.push((
        "cache.savings_per_day".into(),
        r.cache.savings_per_day.to_string(),
    ));
    if let Some(rt) = &r.routing {
        summary.push((
            "routing.cheap_tier_share".into(),
            rt.cheap_tier_share.to_string(),
        ));
        summary.push((
            "routing.escalation_rate".into(),
            rt.escalation_rate.to_string(),
        ));
        summary.push(("routing.misroute_rate".into(), rt.misroute_rate.to_string()));
    }
}

/// The `tasks.*` outcome counts and the `calls.*` rows.
fn task_and_call_rows(summary: &mut Vec<(String, String)>, r: &SimResult) {
    let t = &r.tasks;
    for (name, v) in [
        ("total", t.total),
        ("succeeded", t.succeeded),
        ("failed", t.failed),
        ("partial", t.partial),
        ("prefiltered", t.prefiltered),
        ("rejected_by_daily_cap", t.rejected_by_daily_cap),
        ("escalated_to_human", t.escalated_to_human),
        ("cost_alerts", t.cost_alerts),
        ("runaway", t.runaway),
        ("unfinished", t.unfinished),
    ] {
        summary.push((format!("tasks.{name}"), v.to_string()));
    }
    summary.push(("calls.total".into(), r.calls.total.to_string()));
    summary.push(("calls.retries".into(), r.calls.retries.to_string()));
    summary.push((
        "calls.retries_per_task".into(),
        r.calls.retries_per_task.to_string(),
    ));
    for (kind, n) in &r.calls.failures_by_kind {
        summary.push((format!("calls.failures_by_kind.{kind}"), n.to_string()));
    }
    summary.push((
        "calls.rate_limit_waits".into(),
        r.calls.rate_limit_waits.to_string(),
    ));
    summary.push(("calls.batch_calls".into(), r.calls.batch_calls.to_string()));
}

/// The `latency_s.task.*` rows and, for a `--precision` run, the `precision.*` rows.
fn latency_and_precision_rows(summary: &mut Vec<(String, String)>, r: &SimResult) {
    let l = &r.latency_s.task;
    for (stat, v) in [
        ("mean", l.mean),
        ("p50", l.p50),
        ("p95", l.p95),
        ("p99", l.p99),
        ("max", l.max),
    ] {
        summary.push((format!("latency_s.task.{stat}"), v.to_string()));
    }
    ci_rows(
        summary,
        "latency_s.task",
        &[
            ("p50", l.p50_ci95),
            ("p95", l.p95_ci95),
            ("p99", l.p99_ci95),
        ],
    );
    if let Some(p) = &r.precision {
        summary.push(("precision.target".into(), p.target.to_string()));
        summary.push(("precision.achieved".into(), p.achieved.to_string()));
        summary.push(("precision.reached".into(), p.reached.to_string()));
    }
}

/// The `capacity.*` rows: each model's peaks and limits, then the sustainable traffic.
fn capacity_rows(summary: &mut Vec<(String, String)>, capacity: &CapacitySummary) {
    for (model, cap) in &capacity.by_model {
        summary.push((
            format!("capacity.{model}.peak_rpm"),
            cap.peak_rpm.to_string(),
        ));
        summary.push((
            format!("capacity.{model}.peak_tpm"),
            cap.peak_tpm.to_string(),
        ));
        summary.push((format!("capacity.{model}.limit_rpm"), opt(cap.limit_rpm)));
        summary.push((format!("capacity.{model}.limit_tpm"), opt(cap.limit_tpm)));
    }
    summary.push((
        "capacity.max_sustainable_tasks_per_day".into(),
        opt(capacity.max_sustainable_tasks_per_day),
    ));
}

/// `daily_costs.csv`: each replica's cost of each day (replica-major, as simulated).
fn daily_costs_table(r: &SimResult) -> String {
    let days = r.days.max(1) as usize;
    table(
        &["replica", "day", "cost_usd"],
        r.daily_costs_usd.iter().enumerate().map(|(i, v)| {
            vec![
                (i / days).to_string(),
                (i % days).to_string(),
                v.to_string(),
            ]
        }),
    )
}

/// `by_kind.csv`: the cost of each token kind a day and its share, in billing order.
fn by_kind_table(r: &SimResult) -> String {
    let kind_total: f64 = kinds(r).iter().map(|(_, v)| v).sum();
    table(
        &["kind", "usd_per_day", "share"],
        kinds(r).into_iter().map(|(k, v)| {
            let share = if kind_total > 0.0 {
                v / kind_total
            } else {
                0.0
            };
            vec![k.replace(' ', "_"), v.to_string(), share.to_string()]
        }),
    )
}

/// `timeline_days.csv`: each day of the horizon's mean tasks and cost band across replicas.
fn timeline_days_table(r: &SimResult) -> String {
    table(
        &[
            "day",
            "tasks_mean",
            "cost_usd_mean",
            "cost_usd_p05",
            "cost_usd_p50",
            "cost_usd_p95",
        ],
        r.timeline.days.iter().map(|d| {
            let c = &d.cost_usd;
            vec![
                d.day.to_string(),
                d.tasks_mean.to_string(),
                c.mean.to_string(),
                c.p05.to_string(),
                c.p50.to_string(),
                c.p95.to_string(),
            ]
        }),
    )
}

/// `timeline_months.csv`: each 30-day month's day count and cost across replicas.
fn timeline_months_table(r: &SimResult) -> String {
    table(
        &[
            "month",
            "days",
            "cost_usd_mean",
            "cost_usd_p50",
            "cost_usd_p95",
        ],
        r.timeline.months.iter().map(|m| {
            let c = &m.cost_usd;
            vec![
                m.month.to_string(),
                m.days.to_string(),
                c.mean.to_string(),
                c.p50.to_string(),
                c.p95.to_string(),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn quoting() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
