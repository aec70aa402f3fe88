//! The run's time axis: cost bands per simulated day and per 30-day month, the first day each
//! replica breaches the budget, and the per-month figure from real months (or flagged as
//! extrapolated when the run is shorter than a month).
//!
//! Everything is computed from the exact per-(replica, day) integer lists of the summary, so
//! a day's mean is exactly the mean of the replicas' days.

use crate::model::Scenario;
use crate::money::pusd_to_usd;
use crate::result::{
    Band, FirstBreach, MonthBand, MonthSummary, SpendCapSummary, Timeline, TimelineDay,
    TimelineMonth,
};
use crate::stats::quantile_sorted;
use crate::tally::Tally;

/// Days in a month of the timeline and of `cost_usd.per_month`.
pub const MONTH_DAYS: u32 = 30;

fn usd(pusd: u128) -> f64 {
    pusd_to_usd(pusd)
}

/// Exact mean of integer pUSD values, in USD.
fn mean_usd(values: &[u128]) -> f64 {
    let n = values.len().max(1) as u128;
    let sum: u128 = values.iter().sum();
    usd(sum / n) + usd(sum % n) / n as f64
}

/// Per-day and per-month bands across replicas.
pub(crate) fn timeline(sc: &Scenario, s: &Tally) -> Timeline {
    let days = sc.horizon.days as usize;
    let replicas = s.day_costs.len() / days.max(1);
    let fixed_pusd: u128 = sc.fixed_costs.iter().map(|(_, c)| u128::from(*c)).sum();
    let mut out = Timeline::default();
    let mut column = Vec::with_capacity(replicas);
    for d in 0..days {
        column.clear();
        column.extend((0..replicas).map(|r| s.day_costs[r * days + d]));
        let mean = mean_usd(&column);
        column.sort_unstable();
        let tasks: u64 = (0..replicas)
            .map(|r| s.day_tasks.get(r * days + d).copied().unwrap_or(0))
            .sum();
        out.days.push(TimelineDay {
            day: d as u32 + 1,
            tasks_mean: tasks as f64 / replicas.max(1) as f64,
            cost_usd: Band {
                mean,
                p05: usd(quantile_sorted(&column, 0.05)),
                p50: usd(quantile_sorted(&column, 0.50)),
                p95: usd(quantile_sorted(&column, 0.95)),
            },
        });
    }
    let month_days = MONTH_DAYS as usize;
    for (m, start) in (0..days).step_by(month_days).enumerate() {
        let end = (start + month_days).min(days);
        // Fixed monthly costs, prorated for a partial month.
        let fixed = fixed_pusd * (end - start) as u128 / u128::from(MONTH_DAYS);
        let mut totals: Vec<u128> = (0..replicas)
            .map(|r| {
                s.day_costs[r * days + start..r * days + end]
                    .iter()
                    .sum::<u128>()
                    + fixed
            })
            .collect();
        let mean = mean_usd(&totals);
        totals.sort_unstable();
        out.months.push(TimelineMonth {
            month: m as u32 + 1,
            days: (end - start) as u32,
            cost_usd: MonthBand {
                mean,
                p50: usd(quantile_sorted(&totals, 0.50)),
                p95: usd(quantile_sorted(&totals, 0.95)),
            },
        });
    }
    out
}

/// The first day (1-based) each replica's cost exceeds the daily budget: quantiles over the
/// replicas that breach, and the share of replicas that ever breach.
pub(crate) fn first_breach(sc: &Scenario, s: &Tally) -> (Option<FirstBreach>, f64) {
    let Some(budget) = sc.daily_budget_pusd else {
        return (None, 0.0);
    };
    let days = sc.horizon.days as usize;
    let replicas = s.day_costs.len() / days.max(1);
    let mut firsts: Vec<u128> = (0..replicas)
        .filter_map(|r| {
            s.day_costs[r * days..(r + 1) * days]
                .iter()
                .position(|c| *c > u128::from(budget))
                .map(|d| d as u128 + 1)
        })
        .collect();
    let share = firsts.len() as f64 / replicas.max(1) as f64;
    if firsts.is_empty() {
        return (None, share);
    }
    firsts.sort_unstable();
    let q = |p: f64| quantile_sorted(&firsts, p) as u32;
    (
        Some(FirstBreach {
            p05: q(0.05),
            p50: q(0.50),
            p95: q(0.95),
        }),
        share,
    )
}

/// When each usage tier's monthly spend cap is reached: per replica, the first day on which
/// the provider's spend since the start of its 30-day month passes the cap.
pub(crate) fn spend_caps(sc: &Scenario, s: &Tally) -> Vec<SpendCapSummary> {
    let caps = sc.spend_caps.len();
    let days = sc.horizon.days as usize;
    if caps == 0 || days == 0 {
        return Vec::new();
    }
    let replicas = s.day_cap_costs.len() / (days * caps);
    let month_days = MONTH_DAYS as usize;
    let tasks: u64 = s.day_tasks.iter().sum();
    sc.spend_caps
        .iter()
        .enumerate()
        .map(|(k, cap)| {
            let cost = |r: usize, d: usize| s.day_cap_costs[(r * days + d) * caps + k];
            let limit = u128::from(cap.monthly_cap_pusd);
            let mut firsts: Vec<u128> = (0..replicas)
                .filter_map(|r| {
                    let mut month_to_date = 0u128;
                    (0..days).find_map(|d| {
                        if d % month_days == 0 {
                            month_to_date = 0;
                        }
                        month_to_date += cost(r, d);
                        (month_to_date > limit).then_some(d as u128 + 1)
                    })
                })
                .collect();
            let total: u128 = (0..replicas)
                .flat_map(|r| (0..days).map(move |d| (r, d)))
                .map(|(r, d)| cost(r, d))
                .sum();
            let replica_days = (replicas * days).max(1) as f64;
            let per_day_usd = pusd_to_usd(total) / replica_days;
            let per_task_usd = pusd_to_usd(total) / tasks.max(1) as f64;
            let cap_usd = pusd_to_usd(limit);
            let replicas_reaching = firsts.len() as f64 / replicas.max(1) as f64;
            firsts.sort_unstable();
            let q = |p: f64| quantile_sorted(&firsts, p) as u32;
            SpendCapSummary {
                provider: cap.provider.as_str().to_string(),
                usage_tier: cap.usage_tier.to_string(),
                monthly_cap_usd: cap_usd,
                replicas_reaching,
                first_day: (!firsts.is_empty()).then(|| FirstBreach {
                    p05: q(0.05),
                    p50: q(0.50),
                    p95: q(0.95),
                }),
                month_mean_usd: per_day_usd * MONTH_DAYS as f64,
                cap_tasks_per_day: (per_task_usd > 0.0)
                    .then(|| cap_usd / (MONTH_DAYS as f64 * per_task_usd)),
            }
        })
        .collect()
}

/// The cost of each 30-day month, USD, in replica order, and how many months each replica
/// contributes: every full month of every replica when the run has one, otherwise each
/// replica's total scaled to 30 days (one per replica, `extrapolated`).
pub(crate) fn month_values(sc: &Scenario, s: &Tally) -> (Vec<f64>, usize) {
    let days = sc.horizon.days as usize;
    let replicas = s.day_costs.len() / days.max(1);
    let fixed_pusd: u128 = sc.fixed_costs.iter().map(|(_, c)| u128::from(*c)).sum();
    let month_days = MONTH_DAYS as usize;
    let full_months = days / month_days;
    if full_months > 0 {
        let months = (0..replicas)
            .flat_map(|r| {
                (0..full_months).map(move |m| {
                    let start = r * days + m * month_days;
                    s.day_costs[start..start + month_days].iter().sum::<u128>() + fixed_pusd
                })
            })
            .map(usd)
            .collect();
        (months, full_months)
    } else {
        let scale = f64::from(MONTH_DAYS) / days.max(1) as f64;
        let months = (0..replicas)
            .map(|r| {
                let total: u128 = s.day_costs[r * days..(r + 1) * days].iter().sum();
                usd(total) * scale + usd(fixed_pusd)
            })
            .collect();
        (months, 1)
    }
}

/// The cost of a 30-day month: from every full month of every replica when the run has one,
/// otherwise each replica's total scaled to 30 days and flagged `extrapolated`.
pub(crate) fn per_month(sc: &Scenario, s: &Tally) -> MonthSummary {
    let days = sc.horizon.days as usize;
    let replicas = s.day_costs.len() / days.max(1);
    let fixed_pusd: u128 = sc.fixed_costs.iter().map(|(_, c)| u128::from(*c)).sum();
    let full_months = days / MONTH_DAYS as usize;
    let (mut months, _) = month_values(sc, s);
    months.sort_by(f64::total_cmp);
    let mq = |q: f64| {
        if months.is_empty() {
            return 0.0;
        }
        let rank = ((q * months.len() as f64).ceil() as usize).clamp(1, months.len());
        months[rank - 1]
    };
    MonthSummary {
        mean: months.iter().sum::<f64>() / months.len().max(1) as f64,
        p50: mq(0.5),
        p95: mq(0.95),
        p99: mq(0.99),
        fixed: usd(fixed_pusd),
        extrapolated: full_months == 0,
        months: (full_months * replicas) as u64,
        ..MonthSummary::default()
    }
}

/// Whether the traffic a day carries changes over the horizon (growth, surges, a weekly
/// profile, incidents): then the reports lead with the cost-over-time chart.
pub fn traffic_changes(sc: &Scenario) -> bool {
    sc.traffic.growth_to_tasks_per_day.is_some()
        || sc.traffic.weekly_profile.is_some()
        || !sc.incidents.is_empty()
}
