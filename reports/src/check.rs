//! The CI budget gate's verdict: every threshold is judged on its 95% interval, so a gate holds
//! only when the simulation is sure enough, breaches only when it is sure of that, and is
//! otherwise inconclusive (with an estimate of the replicas that would settle it).

use crate::fmt::{html_escape, md_table, pct, pct_ci, usd, usd_ci};
use crate::summary::{precision_line, shares, short_hash};
use burnrate_sim::stats::{
    Ci95, Z975, clustered_quantile_ci, clustered_share_ci, design_effect, wilson_trials_to_exclude,
};
use burnrate_sim::{PRECISION_BATCH, SimResult};
use serde::Serialize;

/// A gate's (or the whole check's) outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The interval is entirely within the limit.
    Holds,
    /// The interval is entirely beyond the limit.
    Breaches,
    /// The interval straddles the limit: more replicas are needed to tell.
    Inconclusive,
}

/// What to check a result against.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// The daily budget (USD) the `percentile` of daily cost must stay under.
    pub daily_budget: f64,
    /// Highest acceptable share of days over the budget.
    pub max_breach_probability: f64,
    /// Percentile (0, 100] of daily cost compared with the budget.
    pub percentile: f64,
    /// A baseline result and the largest acceptable rise of p95 daily cost over it (0.10 = 10%).
    pub baseline: Option<(SimResult, f64)>,
}

/// One threshold checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    /// What was checked, e.g. `p95 daily cost`.
    pub name: String,
    /// `usd`, `share` or `ratio`.
    pub unit: &'static str,
    /// The simulated figure and its 95% interval.
    pub value: f64,
    pub ci95: Ci95,
    /// The limit it is held to (at or under).
    pub limit: f64,
    pub verdict: Verdict,
    /// For an inconclusive gate: about how many replicas would settle it (estimate from the
    /// interval's width shrinking as 1/sqrt(replicas), in whole batches); `None` when no number
    /// of replicas is expected to (the figure sits on the limit).
    pub replicas_to_settle: Option<u64>,
}

/// A step or model whose daily cost moved against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// `step` or `model`.
    pub kind: &'static str,
    pub name: String,
    pub baseline_usd_per_day: f64,
    pub current_usd_per_day: f64,
}

/// What the gate found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutcome {
    pub scenario: String,
    pub scenario_hash: String,
    pub seed: u64,
    pub replicas: u32,
    pub days: u32,
    /// Breaches when any gate breaches, else inconclusive when any is, else holds.
    pub verdict: Verdict,
    pub gates: Vec<Gate>,
    /// The largest `replicas_to_settle` of the inconclusive gates.
    pub replicas_to_settle: Option<u64>,
    /// Against a baseline: the steps and models whose daily cost changed most, largest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// Why the gate could not be evaluated (bad input or a result without daily costs); the
    /// verdict is then `breaches`.
    pub problem: Option<String>,
}

impl CheckOutcome {
    pub fn holds(&self) -> bool {
        self.verdict == Verdict::Holds
    }
}

fn fmt_percentile(p: f64) -> String {
    if p == p.round() {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}

/// Rounds a replica estimate up to whole precision batches.
fn whole_batches(replicas: f64) -> Option<u64> {
    if !replicas.is_finite() || replicas <= 0.0 || replicas > 1e12 {
        return None;
    }
    let b = u64::from(PRECISION_BATCH);
    Some((replicas.ceil() as u64).div_ceil(b) * b)
}

/// Verdict of `value` with interval `ci` against "at or under `limit`", and the replicas that
/// would settle it when inconclusive (half-width shrinking as 1/sqrt(replicas)).
fn judge(value: f64, ci: Ci95, limit: f64, replicas: u32) -> (Verdict, Option<u64>) {
    if ci.high().is_some_and(|h| h <= limit) {
        return (Verdict::Holds, None);
    }
    if ci.low() > limit {
        return (Verdict::Breaches, None);
    }
    let distance = (limit - value).abs();
    let half = if value <= limit {
        ci.high().map(|h| h - value)
    } else {
        Some(value - ci.low())
    };
    let settle = match half {
        Some(h) if distance > 0.0 => whole_batches(f64::from(replicas) * (h / distance).powi(2)),
        // Unbounded above: the sample cannot say yet; at least four times the replicas.
        None if distance > 0.0 => whole_batches(f64::from(replicas) * 4.0),
        _ => None,
    };
    (Verdict::Inconclusive, settle)
}

/// Evaluates every gate: the `percentile` of daily cost against the budget, the breach
/// probability against its maximum, and (with a baseline) the rise of p95 daily cost.
pub fn check(r: &SimResult, spec: &CheckSpec) -> CheckOutcome {
    let mut problems = Vec::new();
    let (budget, max_breach, percentile) = (
        spec.daily_budget,
        spec.max_breach_probability,
        spec.percentile,
    );
    if !(budget.is_finite() && budget >= 0.0) {
        problems.push(format!(
            "the daily budget must be a non-negative amount, got {budget}"
        ));
    }
    if !(0.0..=1.0).contains(&max_breach) {
        problems.push(format!(
            "the maximum breach probability must be between 0 and 1, got {max_breach}"
        ));
    }
    if !(percentile > 0.0 && percentile <= 100.0) {
        problems.push(format!(
            "the percentile must be in (0, 100], got {percentile}"
        ));
    }
    if r.daily_costs_usd.is_empty() {
        problems.push("the result has no daily costs to check".into());
    }
    let mut out = CheckOutcome {
        scenario: r.scenario.clone(),
        scenario_hash: r.scenario_hash.clone(),
        seed: r.seed,
        replicas: r.replicas,
        days: r.days,
        verdict: Verdict::Breaches,
        gates: Vec::new(),
        replicas_to_settle: None,
        changes: Vec::new(),
        problem: None,
    };
    if !problems.is_empty() {
        out.problem = Some(problems.join("; "));
        return out;
    }
    let days = r.days.max(1) as usize;
    let p = percentile / 100.0;
    let (value, ci) = clustered_quantile_ci(&r.daily_costs_usd, days, p);
    let (verdict, settle) = judge(value, ci, budget, r.replicas);
    out.gates.push(Gate {
        name: format!("p{} daily cost", fmt_percentile(percentile)),
        unit: "usd",
        value,
        ci95: ci,
        limit: budget,
        verdict,
        replicas_to_settle: settle,
    });

    let flags: Vec<bool> = r.daily_costs_usd.iter().map(|c| *c > budget).collect();
    let (share, ci) = clustered_share_ci(&flags, days);
    let (verdict, _) = judge(share, ci, max_breach, r.replicas);
    let settle = (verdict == Verdict::Inconclusive)
        .then(|| {
            let deff = design_effect(&flags, days, share);
            wilson_trials_to_exclude(share, max_breach)
                .and_then(|n_eff| whole_batches(n_eff * deff / days as f64))
        })
        .flatten();
    out.gates.push(Gate {
        name: "share of days over budget".into(),
        unit: "share",
        value: share,
        ci95: ci,
        limit: max_breach,
        verdict,
        replicas_to_settle: settle,
    });

    if let Some((base, max_increase)) = &spec.baseline {
        out.gates.push(baseline_gate(r, base, *max_increase));
        out.changes = changes(base, r);
    }

    out.verdict = if out.gates.iter().any(|g| g.verdict == Verdict::Breaches) {
        Verdict::Breaches
    } else if out.gates.iter().any(|g| g.verdict == Verdict::Inconclusive) {
        Verdict::Inconclusive
    } else {
        Verdict::Holds
    };
    out.replicas_to_settle = out
        .gates
        .iter()
        .filter(|g| g.verdict == Verdict::Inconclusive)
        .filter_map(|g| g.replicas_to_settle)
        .max();
    out
}

/// Standard error implied by a 95% interval (its mean half-width over z); 0 when unbounded or
/// missing (an old result without intervals is taken at face value).
fn se_of(value: f64, ci: Ci95) -> f64 {
    match ci.high() {
        Some(h) if h >= ci.low() && !(ci.low() == 0.0 && h == 0.0 && value != 0.0) => {
            (h - ci.low()) / (2.0 * Z975)
        }
        _ => 0.0,
    }
}

/// p95 daily cost against `(1 + max_increase)` x the baseline's: the ratio and an interval for
/// it from both runs' intervals (independent runs, delta method), judged by the one rule of
/// every gate: holds when the whole interval is at or under the allowed ratio, breaches when it
/// lies wholly above, inconclusive when it straddles it.
fn baseline_gate(r: &SimResult, base: &SimResult, max_increase: f64) -> Gate {
    let (cur, b) = (&r.cost_usd.per_day, &base.cost_usd.per_day);
    let allowed = 1.0 + max_increase;
    let name = "p95 daily cost / baseline".to_string();
    if b.p95 <= 0.0 {
        return Gate {
            name,
            unit: "ratio",
            value: f64::INFINITY,
            ci95: Ci95(0.0, None),
            limit: allowed,
            verdict: if cur.p95 > 0.0 {
                Verdict::Breaches
            } else {
                Verdict::Holds
            },
            replicas_to_settle: None,
        };
    }
    let ratio = cur.p95 / b.p95;
    let (se_c, se_b) = (se_of(cur.p95, cur.p95_ci95), se_of(b.p95, b.p95_ci95));
    let se =
        ratio * ((se_c / cur.p95.max(f64::MIN_POSITIVE)).powi(2) + (se_b / b.p95).powi(2)).sqrt();
    let ci = Ci95((ratio - Z975 * se).max(0.0), Some(ratio + Z975 * se));
    let (verdict, _) = judge(ratio, ci, allowed, r.replicas);
    let replicas_to_settle = (verdict == Verdict::Inconclusive)
        .then(|| {
            current_replicas_to_settle(
                ratio,
                allowed,
                se_c / cur.p95.max(f64::MIN_POSITIVE),
                se_b / b.p95,
                r.replicas,
            )
        })
        .flatten();
    Gate {
        name,
        unit: "ratio",
        value: ratio,
        ci95: ci,
        limit: allowed,
        verdict,
        replicas_to_settle,
    }
}

/// Replicas of the current run that would settle a straddling ratio, the baseline staying as it
/// is: the ratio's relative variance is `rel_c^2 x n / k + rel_b^2` at `k` replicas (the current
/// run's share shrinks as 1/k), and it settles once `Z975 x ratio x sqrt(that)` is under the
/// distance to the limit. `None` when the baseline's own noise is already too wide (rerun the
/// baseline with more replicas too) or the ratio sits on the limit.
fn current_replicas_to_settle(
    ratio: f64,
    allowed: f64,
    rel_c: f64,
    rel_b: f64,
    replicas: u32,
) -> Option<u64> {
    let distance = (allowed - ratio).abs();
    let room = (distance / (Z975 * ratio)).powi(2) - rel_b.powi(2);
    if distance <= 0.0 || room <= 0.0 || rel_c <= 0.0 {
        return None;
    }
    whole_batches(f64::from(replicas) * rel_c.powi(2) / room)
}

/// Steps and models whose mean daily cost moved, largest move first (top 5 each).
fn changes(base: &SimResult, r: &SimResult) -> Vec<Change> {
    let mut out = Vec::new();
    for (kind, b, c) in [
        ("step", &base.cost_usd.by_step, &r.cost_usd.by_step),
        ("model", &base.cost_usd.by_model, &r.cost_usd.by_model),
    ] {
        let mut rows: Vec<Change> = shares(c)
            .into_iter()
            .map(|(n, _, _)| n)
            .chain(b.keys().filter(|k| !c.contains_key(*k)).cloned())
            .map(|name| Change {
                kind,
                baseline_usd_per_day: b.get(&name).copied().unwrap_or(0.0),
                current_usd_per_day: c.get(&name).copied().unwrap_or(0.0),
                name,
            })
            .filter(|c| c.current_usd_per_day != c.baseline_usd_per_day)
            .collect();
        rows.sort_by(|x, y| {
            let dx = (x.current_usd_per_day - x.baseline_usd_per_day).abs();
            let dy = (y.current_usd_per_day - y.baseline_usd_per_day).abs();
            dy.total_cmp(&dx).then_with(|| x.name.cmp(&y.name))
        });
        rows.truncate(5);
        out.extend(rows);
    }
    out
}

fn gate_value(g: &Gate) -> String {
    match g.unit {
        "usd" => usd_ci(g.value, &g.ci95),
        "share" => pct_ci(g.value, &g.ci95),
        _ => format!(
            "{:+.1}% ({:+.1}% to {})",
            (g.value - 1.0) * 100.0,
            (g.ci95.low() - 1.0) * 100.0,
            g.ci95
                .high()
                .map_or("?".into(), |h| format!("{:+.1}%", (h - 1.0) * 100.0))
        ),
    }
}

fn gate_limit(g: &Gate) -> String {
    match g.unit {
        "usd" => usd(g.limit),
        "share" => pct(g.limit),
        _ => format!("+{:.1}%", (g.limit - 1.0) * 100.0),
    }
}

fn gate_sentence(g: &Gate) -> String {
    let what = match g.verdict {
        Verdict::Holds => "is within",
        Verdict::Breaches => "is beyond",
        Verdict::Inconclusive => "cannot yet be told apart from",
    };
    format!(
        "{} {} {what} the limit {}",
        g.name,
        gate_value(g),
        gate_limit(g)
    )
}

fn settle_text(n: Option<u64>, days: u32) -> String {
    match n {
        Some(n) => format!(
            "about {n} replicas of {days} days would settle it (run with --precision, or --replicas {n})"
        ),
        None => "no number of replicas of this run is expected to settle it: the figure sits \
                 on the limit, or a baseline's own interval is too wide (rerun the baseline with \
                 --precision)"
            .into(),
    }
}

/// The gate as Markdown for a pull-request comment or `$GITHUB_STEP_SUMMARY`: a title with the
/// scenario's name, the verdict line (✅ holds / ❌ breaches / ⚠️ inconclusive), a table of each
/// threshold with its interval, and against a baseline what changed most.
pub fn check_markdown(r: &SimResult, c: &CheckOutcome) -> String {
    let mut o = format!("### Budget gate: {}\n\n", crate::fmt::md_cell(&c.scenario));
    if let Some(problem) = &c.problem {
        o.push_str(&format!(
            "❌ Budget gate could not be evaluated: {problem}\n"
        ));
        return o;
    }
    let headline = match c.verdict {
        Verdict::Holds => format!(
            "✅ Budget gate holds: {}",
            c.gates
                .iter()
                .map(gate_sentence)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Verdict::Breaches => format!(
            "❌ Budget gate fails: {}",
            c.gates
                .iter()
                .filter(|g| g.verdict == Verdict::Breaches)
                .map(gate_sentence)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Verdict::Inconclusive => format!(
            "⚠️ Budget gate inconclusive: {}; {}",
            c.gates
                .iter()
                .filter(|g| g.verdict == Verdict::Inconclusive)
                .map(gate_sentence)
                .collect::<Vec<_>>()
                .join("; "),
            settle_text(c.replicas_to_settle, c.days)
        ),
    };
    o.push_str(&headline);
    o.push_str("\n\n");
    let mark = |v: Verdict| match v {
        Verdict::Holds => "✅ holds",
        Verdict::Breaches => "❌ breaches",
        Verdict::Inconclusive => "⚠️ inconclusive",
    };
    let mut rows = vec![
        ["check", "simulated (95% interval)", "limit", ""]
            .map(String::from)
            .to_vec(),
    ];
    for g in &c.gates {
        rows.push(vec![
            g.name.clone(),
            gate_value(g),
            format!("≤ {}", gate_limit(g)),
            mark(g.verdict).to_string(),
        ]);
    }
    o.push_str(&md_table(&rows, &[false, true, true, false]));
    if !c.changes.is_empty() {
        o.push_str("\nWhat changed most against the baseline ($/day):\n\n");
        let mut rows = vec![
            ["", "", "baseline", "now", "change"]
                .map(String::from)
                .to_vec(),
        ];
        for ch in &c.changes {
            rows.push(vec![
                ch.kind.to_string(),
                ch.name.clone(),
                usd(ch.baseline_usd_per_day),
                usd(ch.current_usd_per_day),
                format!(
                    "{} ({})",
                    crate::fmt::usd_signed(ch.current_usd_per_day - ch.baseline_usd_per_day),
                    crate::fmt::rel_change(ch.baseline_usd_per_day, ch.current_usd_per_day)
                ),
            ]);
        }
        o.push_str(&md_table(&rows, &[false, false, true, true, true]));
    }
    let q = &r.cost_usd.per_day;
    o.push_str(&format!(
        "\nDaily cost p50 {} · p95 {} · p99 {} · max {} · month p95 {}  \n",
        usd_ci(q.p50, &q.p50_ci95),
        usd_ci(q.p95, &q.p95_ci95),
        usd_ci(q.p99, &q.p99_ci95),
        usd(q.max),
        usd_ci(r.cost_usd.per_month.p95, &r.cost_usd.per_month.p95_ci95)
    ));
    if let Some(line) = precision_line(r) {
        o.push_str(&format!("{line}  \n"));
    }
    o.push_str(&format!(
        "`{}` · seed {} · {} replicas × {} days · scenario `{}` · intervals are 95%\n",
        crate::fmt::md_cell(&r.scenario),
        r.seed,
        r.replicas,
        r.days,
        short_hash(r)
    ));
    o
}

/// The outcome as pretty JSON (the [`CheckOutcome`] fields).
pub fn check_json(c: &CheckOutcome) -> String {
    let mut s = serde_json::to_string_pretty(c).expect("check outcome serialises to JSON");
    s.push('\n');
    s
}

/// The outcome as JUnit XML: one `<testcase>` per threshold, a `<failure>` for a breach, and for
/// an inconclusive gate a `<failure type="inconclusive">` (or `<skipped>` when
/// `inconclusive_ok`). Only elements and attributes every CI JUnit reader accepts (see
/// `tests/fixtures/junit.xsd`).
pub fn check_junit(c: &CheckOutcome, inconclusive_ok: bool) -> String {
    let esc = html_escape;
    let suite = format!("burnrate check: {}", c.scenario);
    let class = format!("burnrate.check.{}", c.scenario);
    let mut cases = String::new();
    let (mut failures, mut errors, mut skipped) = (0, 0, 0);
    if let Some(problem) = &c.problem {
        errors += 1;
        cases.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"evaluate the gate\" time=\"0\">\n      <error type=\"bad-input\" message=\"{}\"/>\n    </testcase>\n",
            esc(&class),
            esc(problem)
        ));
    }
    for g in &c.gates {
        let name = format!("{} <= {}", g.name, gate_limit(g));
        let body = match g.verdict {
            Verdict::Holds => String::new(),
            Verdict::Breaches => {
                failures += 1;
                format!(
                    "      <failure type=\"breaches\" message=\"{}\"/>\n",
                    esc(&gate_sentence(g))
                )
            }
            Verdict::Inconclusive => {
                let msg = format!(
                    "{}; {}",
                    gate_sentence(g),
                    settle_text(g.replicas_to_settle, c.days)
                );
                if inconclusive_ok {
                    skipped += 1;
                    format!("      <skipped message=\"{}\"/>\n", esc(&msg))
                } else {
                    failures += 1;
                    format!(
                        "      <failure type=\"inconclusive\" message=\"{}\"/>\n",
                        esc(&msg)
                    )
                }
            }
        };
        cases.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\">\n{body}      <system-out>{}</system-out>\n    </testcase>\n",
            esc(&class),
            esc(&name),
            esc(&format!("{}: {} (limit {})", g.name, gate_value(g), gate_limit(g)))
        ));
    }
    let tests = c.gates.len() + usize::from(c.problem.is_some());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"burnrate check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"0\">\n  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"0\">\n    <properties>\n      <property name=\"scenario_hash\" value=\"{}\"/>\n      <property name=\"seed\" value=\"{}\"/>\n      <property name=\"replicas\" value=\"{}\"/>\n      <property name=\"days\" value=\"{}\"/>\n    </properties>\n{cases}  </testsuite>\n</testsuites>\n",
        esc(&suite),
        esc(&c.scenario_hash),
        c.seed,
        c.replicas,
        c.days
    )
}
