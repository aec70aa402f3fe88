//! The CI budget gate's verdict.

use crate::fmt::{md_table, pct, percentile as nearest_rank, usd};
use crate::summary::short_hash;
use burnrate_sim::SimResult;
use serde::Serialize;

/// What the budget gate found. `holds` is true when the cost at `percentile` is at or under the
/// daily budget and the breach probability is at or under the allowed maximum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutcome {
    pub holds: bool,
    pub percentile: f64,
    /// Daily cost at `percentile` (USD); `None` when it could not be determined.
    pub daily_cost_usd: Option<f64>,
    pub daily_budget_usd: f64,
    /// Share of simulated days whose cost exceeded `daily_budget_usd`; `None` when unknown.
    pub breach_probability: Option<f64>,
    pub max_breach_probability: f64,
    /// Why the gate could not be evaluated (bad input or a result without daily costs); the gate
    /// then does not hold.
    pub problem: Option<String>,
}

/// Evaluates the gate. p50, p95 and p99 come from the run's own quantiles (the figures every
/// other report shows); other percentiles are nearest-rank over `daily_costs_usd`. The breach
/// probability is measured against `daily_budget` over `daily_costs_usd` (the run's own figure
/// is used when the budget is the scenario's and the run kept no daily costs).
pub fn check(
    r: &SimResult,
    daily_budget: f64,
    max_breach_probability: f64,
    percentile: f64,
) -> CheckOutcome {
    let mut problems = Vec::new();
    if !(daily_budget.is_finite() && daily_budget >= 0.0) {
        problems.push(format!(
            "the daily budget must be a non-negative amount, got {daily_budget}"
        ));
    }
    if !(0.0..=1.0).contains(&max_breach_probability) {
        problems.push(format!(
            "the maximum breach probability must be between 0 and 1, got {max_breach_probability}"
        ));
    }
    let valid_percentile = percentile > 0.0 && percentile <= 100.0;
    if !valid_percentile {
        problems.push(format!(
            "the percentile must be in (0, 100], got {percentile}"
        ));
    }
    let q = &r.cost_usd.per_day;
    let daily_cost = if !valid_percentile {
        None
    } else if percentile == 50.0 {
        Some(q.p50)
    } else if percentile == 95.0 {
        Some(q.p95)
    } else if percentile == 99.0 {
        Some(q.p99)
    } else if percentile == 100.0 && r.daily_costs_usd.is_empty() {
        Some(q.max)
    } else {
        nearest_rank(&r.daily_costs_usd, percentile)
    };
    if valid_percentile && daily_cost.is_none() {
        problems.push(format!(
            "the result has no daily costs to take the p{} from",
            fmt_percentile(percentile)
        ));
    }
    let breach = if !r.daily_costs_usd.is_empty() {
        let over = r
            .daily_costs_usd
            .iter()
            .filter(|c| **c > daily_budget)
            .count();
        Some(over as f64 / r.daily_costs_usd.len() as f64)
    } else if r.budget.daily_usd == Some(daily_budget) {
        Some(r.budget.breach_probability)
    } else {
        problems
            .push("the result has no daily costs to measure breaches against this budget".into());
        None
    };
    let holds = problems.is_empty()
        && daily_cost.is_some_and(|c| c <= daily_budget)
        && breach.is_some_and(|b| b <= max_breach_probability);
    CheckOutcome {
        holds,
        percentile,
        daily_cost_usd: daily_cost,
        daily_budget_usd: daily_budget,
        breach_probability: breach,
        max_breach_probability,
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

fn fmt_percentile(p: f64) -> String {
    if p == p.round() {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}

/// The budget gate as Markdown for a pull-request comment or `$GITHUB_STEP_SUMMARY`: the verdict
/// line first (✅ holds / ❌ fails), then a table of what was checked against what. Returns
/// whether the gate holds alongside the text.
pub fn check_markdown(
    r: &SimResult,
    daily_budget: f64,
    max_breach_probability: f64,
    percentile: f64,
) -> (bool, String) {
    let c = check(r, daily_budget, max_breach_probability, percentile);
    let p = fmt_percentile(percentile);
    let mut o = String::new();
    if let Some(problem) = &c.problem {
        o.push_str(&format!(
            "❌ Budget gate could not be evaluated: {problem}\n"
        ));
        return (false, o);
    }
    let cost = c.daily_cost_usd.unwrap_or(f64::NAN);
    let breach = c.breach_probability.unwrap_or(f64::NAN);
    let cost_ok = cost <= daily_budget;
    let breach_ok = breach <= max_breach_probability;
    let headline = if c.holds {
        format!(
            "✅ Budget gate holds: p{p} daily cost {} is under the {} budget (breach probability {})",
            usd(cost),
            usd(daily_budget),
            pct(breach)
        )
    } else {
        let mut why = Vec::new();
        if !cost_ok {
            why.push(format!(
                "p{p} daily cost {} is over the {} budget",
                usd(cost),
                usd(daily_budget)
            ));
        }
        if !breach_ok {
            why.push(format!(
                "breach probability {} is over the allowed {}",
                pct(breach),
                pct(max_breach_probability)
            ));
        }
        format!("❌ Budget gate fails: {}", why.join("; "))
    };
    o.push_str(&headline);
    o.push_str("\n\n");
    let mark = |ok: bool| if ok { "✅" } else { "❌" }.to_string();
    let rows = vec![
        ["check", "simulated", "limit", ""]
            .map(String::from)
            .to_vec(),
        vec![
            format!("p{p} daily cost"),
            usd(cost),
            usd(daily_budget),
            mark(cost_ok),
        ],
        vec![
            "days over budget".into(),
            pct(breach),
            pct(max_breach_probability),
            mark(breach_ok),
        ],
    ];
    o.push_str(&md_table(&rows, &[false, true, true, false]));
    let q = &r.cost_usd.per_day;
    o.push_str(&format!(
        "\nDaily cost p50 {} · p95 {} · p99 {} · max {} · month p95 {}  \n",
        usd(q.p50),
        usd(q.p95),
        usd(q.p99),
        usd(q.max),
        usd(r.cost_usd.per_month.p95)
    ));
    o.push_str(&format!(
        "`{}` · seed {} · {} replicas × {} days · scenario `{}`\n",
        crate::fmt::md_cell(&r.scenario),
        r.seed,
        r.replicas,
        r.days,
        short_hash(r)
    ));
    (c.holds, o)
}
