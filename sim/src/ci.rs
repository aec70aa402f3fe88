//! Fills the `_ci95` intervals of a result from its summary (methods in `stats`). Runs after the
//! point figures are built, so it reads them rather than recomputing.

use crate::model::Scenario;
use crate::money::pusd_to_usd;
use crate::result::SimResult;
use crate::stats::{
    Ci95, TASK_GROUPS, clustered_quantile_ci, clustered_share_ci, clustered_weighted_quantile_ci,
    iid_quantile_ci, replica_mean_ci, t975,
};
use crate::tally::Tally;
use hdrhistogram::Histogram;

const PS: [f64; 3] = [0.50, 0.95, 0.99];

pub(crate) fn add_intervals(sc: &Scenario, s: &Tally, r: &mut SimResult) {
    let days = sc.horizon.days as usize;
    let day_usd: Vec<f64> = s.day_costs.iter().map(|c| pusd_to_usd(*c)).collect();

    // Daily cost: replica-level (cluster) intervals.
    let pd = &mut r.cost_usd.per_day;
    let [c50, c95, c99] = PS.map(|p| clustered_quantile_ci(&day_usd, days, p).1);
    (pd.p50_ci95, pd.p95_ci95, pd.p99_ci95) = (c50, c95, c99);
    let replica_day_means: Vec<f64> = day_usd
        .chunks(days.max(1))
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect();
    pd.mean_ci95 = replica_mean_ci(pd.mean, &replica_day_means);

    // Month: the months `per_month` reports, replicas as the independent unit when a replica
    // spans several months (they are correlated, and under growth not alike).
    let (months, per_replica) = crate::timeline::month_values(sc, s);
    let pm = &mut r.cost_usd.per_month;
    let [m50, m95, m99] = if per_replica > 1 {
        PS.map(|p| clustered_quantile_ci(&months, per_replica, p).1)
    } else {
        let mut sorted = months.clone();
        sorted.sort_by(f64::total_cmp);
        PS.map(|p| iid_quantile_ci(&sorted, p))
    };
    (pm.p50_ci95, pm.p95_ci95, pm.p99_ci95) = (m50, m95, m99);
    pm.mean_ci95 = if per_replica > 1 {
        let replica_means: Vec<f64> = months
            .chunks(per_replica)
            .map(|c| c.iter().sum::<f64>() / c.len() as f64)
            .collect();
        replica_mean_ci(pm.mean, &replica_means)
    } else {
        replica_mean_ci(pm.mean, &months)
    };

    // Per task: histograms by replica group, groups as the independent units.
    let pt = &mut r.cost_usd.per_task;
    let (t_lo, t_hi) = (pt.p50.min(0.0), pt.max.max(0.0));
    let cost = |h: &Histogram<u64>, v: u64| (h.median_equivalent(v) as f64 / 1e9).clamp(t_lo, t_hi);
    let [t50, t95, t99] = PS.map(|p| grouped_ci(&s.task_cost_groups, p, cost));
    (pt.p50_ci95, pt.p95_ci95, pt.p99_ci95) = (t50, t95, t99);
    pt.mean_ci95 = ratio_mean_ci(pt.mean, &s.replica_task_cost);

    // Latency: the same, in seconds (the point figures are highest-equivalent values).
    let lat = &mut r.latency_s.task;
    let secs = |h: &Histogram<u64>, v: u64| h.highest_equivalent(v) as f64 / 1000.0;
    let [l50, l95, l99] = PS.map(|p| grouped_ci(&s.latency_groups, p, secs));
    (lat.p50_ci95, lat.p95_ci95, lat.p99_ci95) = (l50, l95, l99);

    // Breach probability: clustered Wilson.
    r.budget.breach_probability_ci95 = match sc.daily_budget_pusd {
        Some(b) => {
            let flags: Vec<bool> = s.day_costs.iter().map(|c| *c > u128::from(b)).collect();
            clustered_share_ci(&flags, days).1
        }
        None => Ci95(0.0, Some(0.0)),
    };
}

/// Clustered interval of the p-quantile over group histograms (buckets as candidate values).
fn grouped_ci(
    groups: &[(u32, Histogram<u64>)],
    p: f64,
    unit: impl Fn(&Histogram<u64>, u64) -> f64,
) -> Ci95 {
    let mut items: Vec<(f64, usize, u64)> = Vec::new();
    for (g, h) in groups {
        for v in h.iter_recorded() {
            items.push((
                unit(h, v.value_iterated_to()),
                *g as usize,
                v.count_at_value(),
            ));
        }
    }
    clustered_weighted_quantile_ci(&mut items, TASK_GROUPS, p)
}

/// Interval of a pooled mean `sum / count` over replicas (ratio estimator, linearised).
fn ratio_mean_ci(estimate: f64, replicas: &[(u128, u64)]) -> Ci95 {
    let r = replicas.len();
    let count: u64 = replicas.iter().map(|x| x.1).sum();
    if r < 2 || count == 0 {
        return Ci95(0.0, None);
    }
    let mean_count = count as f64 / r as f64;
    let resid: Vec<f64> = replicas
        .iter()
        .map(|(sum, n)| pusd_to_usd(*sum) - estimate * *n as f64)
        .collect();
    let var = resid.iter().map(|e| e * e).sum::<f64>() / (r - 1) as f64;
    let h = t975(r as u64 - 1) * (var / r as f64).sqrt() / mean_count;
    Ci95((estimate - h).max(0.0), Some(estimate + h))
}
