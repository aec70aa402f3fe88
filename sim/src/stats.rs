//! Confidence intervals for what a run reports, chosen for how the simulation samples.
//!
//! * **Independent draws** (one value per replica: a month's cost): the distribution-free
//!   order-statistic interval. For the p-quantile of n iid draws the number of draws at or
//!   under the true quantile is Binomial(n, p), so `[X(l), X(u)]` with binomial tail ranks covers
//!   it with probability >= 95% whatever the distribution.
//! * **Days within a replica** share its trajectory (growth, incidents, warm caches), so days are
//!   not independent: the replica is the independent unit. Daily-cost quantiles invert a test of
//!   `F(x) = p` at every observed x: the share of days at or under x is a ratio of per-replica
//!   counts whose variance is estimated across replicas (so any correlation between a replica's
//!   days is in it), floored at the independent-days binomial one (never claim more precision
//!   than independent days would give), with `t` on R-1 degrees of freedom. (Woodruff's interval,
//!   one variance at the estimate, under-covered in our simulation: 85% for a nominal 95%.)
//! * **Tasks** (per-task cost, latency) are pooled in histograms, one per group of replicas
//!   (replica index mod [`TASK_GROUPS`]); the same clustered test inversion runs with the groups
//!   as the independent units (histogram buckets are the candidate values).
//! * **Shares** (breach probability): a score-type interval with the replica as the unit (the
//!   variance from per-replica residuals, floored at the binomial one: Wilson's interval, with
//!   t, when days are independent).
//!
//! An upper end the sample cannot bound (a p99 of 50 values) is `None`, printed as `?`: more
//! replicas are needed to say anything about it. Costs and latencies are non-negative, so a lower
//! rank below 1 bounds the quantile below by 0.

use serde::{Deserialize, Serialize};

/// Two-sided confidence level of every interval.
pub const CONFIDENCE: f64 = 0.95;
/// Tasks are pooled into this many groups (replica index mod it) so per-task and latency
/// quantiles get a between-group variance: groups hold disjoint sets of independent replicas.
pub const TASK_GROUPS: usize = 32;
/// Standard normal 97.5% quantile.
pub const Z975: f64 = 1.959_963_984_540_054;

/// A 95% confidence interval `[low, high]`; `high` is `None` when the sample cannot bound it.
/// Serialised as a two-element JSON array (`[4.38, 4.49]`, or `[4.38, null]`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Ci95(pub f64, pub Option<f64>);

impl Ci95 {
    pub fn low(&self) -> f64 {
        self.0
    }
    pub fn high(&self) -> Option<f64> {
        self.1
    }
    /// Both ends scaled (units change, e.g. pUSD to USD).
    pub fn map(self, f: impl Fn(f64) -> f64) -> Ci95 {
        Ci95(f(self.0), self.1.map(f))
    }
    /// Largest distance from `estimate` to either end relative to it (`inf` when unbounded or
    /// the estimate is zero with a non-zero width).
    pub fn relative_half_width(&self, estimate: f64) -> f64 {
        let Some(high) = self.1 else {
            return f64::INFINITY;
        };
        let d = (estimate - self.0).max(high - estimate).max(0.0);
        if d == 0.0 {
            0.0
        } else if estimate == 0.0 {
            f64::INFINITY
        } else {
            d / estimate.abs()
        }
    }
}

/// Student's t 97.5% quantile with `df` degrees of freedom: the table for 1-30 (from
/// Abramowitz & Stegun, table 26.10) and the Cornish-Fisher expansion beyond (error < 1e-5).
pub fn t975(df: u64) -> f64 {
    const TABLE: [f64; 30] = [
        12.706_205, 4.302_653, 3.182_446, 2.776_445, 2.570_582, 2.446_912, 2.364_624, 2.306_004,
        2.262_157, 2.228_139, 2.200_985, 2.178_813, 2.160_369, 2.144_787, 2.131_450, 2.119_905,
        2.109_816, 2.100_922, 2.093_024, 2.085_963, 2.079_614, 2.073_873, 2.068_658, 2.063_899,
        2.059_539, 2.055_529, 2.051_831, 2.048_407, 2.045_230, 2.042_272,
    ];
    if df == 0 {
        return f64::INFINITY;
    }
    if df <= 30 {
        return TABLE[df as usize - 1];
    }
    let (z, v) = (Z975, df as f64);
    let z3 = z * z * z;
    let z5 = z3 * z * z;
    let z7 = z5 * z * z;
    z + (z3 + z) / (4.0 * v)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v * v * v)
}

/// Binomial(n, p) CDF at every k in 0..=n, summed in log space (no underflow at large n).
fn binomial_cdf(n: usize, p: f64) -> Vec<f64> {
    let mut cdf = Vec::with_capacity(n + 1);
    if p <= 0.0 {
        return vec![1.0; n + 1];
    }
    if p >= 1.0 {
        let mut v = vec![0.0; n + 1];
        v[n] = 1.0;
        return v;
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut log_pmf = n as f64 * lq;
    let mut acc = 0.0;
    for k in 0..=n {
        acc += log_pmf.exp();
        cdf.push(acc.min(1.0));
        if k < n {
            log_pmf += ((n - k) as f64 / (k + 1) as f64).ln() + lp - lq;
        }
    }
    cdf
}

/// Exact binomial computation up to this many values; the normal approximation beyond (its
/// error in rank is far below one order statistic there).
const EXACT_MAX_N: usize = 200_000;

/// 1-based ranks `(l, u)` of the order statistics bounding the p-quantile of `n` iid draws with
/// at least 95% confidence: `P(B < l) <= 2.5%` and `P(B >= u) <= 2.5%` for B ~ Binomial(n, p).
/// `l == 0` means no lower order statistic (bound below by 0); `u > n`, no upper one.
pub fn order_stat_ranks(n: usize, p: f64) -> (usize, usize) {
    let alpha = (1.0 - CONFIDENCE) / 2.0;
    if n == 0 {
        return (0, 1);
    }
    if n > EXACT_MAX_N {
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        let l = (n as f64 * p - Z975 * sd).floor().max(0.0) as usize;
        let u = (n as f64 * p + Z975 * sd).ceil() as usize + 1;
        return (l, u);
    }
    let cdf = binomial_cdf(n, p);
    // Largest l with P(B <= l - 1) <= alpha.
    let l = cdf.iter().take_while(|c| **c <= alpha).count();
    // Smallest u with P(B <= u - 1) >= 1 - alpha.
    let u = cdf
        .iter()
        .position(|c| *c >= 1.0 - alpha)
        .map_or(n + 1, |k| k + 1);
    (l, u)
}

/// Nearest-rank p-quantile of sorted values (rank `ceil(p n)`, at least 1).
pub fn nearest_rank(n: usize, p: f64) -> usize {
    ((p * n as f64).ceil() as usize).clamp(1, n.max(1))
}

/// Value at 1-based rank of `sorted` for an interval end: rank 0 is the lower bound 0, a rank
/// past the end is unbounded.
fn at_rank(sorted: &[f64], rank: usize) -> Option<f64> {
    if rank == 0 {
        Some(0.0)
    } else {
        sorted.get(rank - 1).copied()
    }
}

/// Order-statistic 95% interval for the p-quantile of iid, sorted, non-negative values.
pub fn iid_quantile_ci(sorted: &[f64], p: f64) -> Ci95 {
    if sorted.is_empty() {
        return Ci95(0.0, None);
    }
    let (l, u) = order_stat_ranks(sorted.len(), p);
    Ci95(at_rank(sorted, l).unwrap_or(0.0), at_rank(sorted, u))
}

/// Interval for the p-quantile of `values` laid out replica-major, `per_cluster` values per
/// replica (days of a replica), with the replica as the independent unit (see the module docs
/// and [`clustered_weighted_quantile_ci`]). Returns the nearest-rank estimate and its interval.
pub fn clustered_quantile_ci(values: &[f64], per_cluster: usize, p: f64) -> (f64, Ci95) {
    let n = values.len();
    if n == 0 {
        return (0.0, Ci95(0.0, None));
    }
    let per_cluster = per_cluster.clamp(1, n);
    let mut items: Vec<(f64, usize, u64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, i / per_cluster, 1))
        .collect();
    let clusters = n.div_ceil(per_cluster);
    let ci = clustered_weighted_quantile_ci(&mut items, clusters, p);
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (sorted[nearest_rank(n, p) - 1], ci)
}

/// Test-inversion interval for the p-quantile of weighted values `(value, cluster, weight)`
/// whose clusters are independent but whose values within a cluster need not be: every x where
/// the hypothesis F(x) = p is not rejected at 95%, the share at or under x being a ratio of
/// cluster sums whose variance is estimated across clusters (linearised), floored at the
/// independent binomial one, with t on clusters - 1 degrees of freedom. Inverting the test at
/// each x (rather than Woodruff's single variance at the estimate) keeps coverage when a few
/// clusters hold most of the tail. With fewer than two clusters: the iid order-statistic interval.
pub fn clustered_weighted_quantile_ci(
    items: &mut [(f64, usize, u64)],
    clusters: usize,
    p: f64,
) -> Ci95 {
    let mut n_c = vec![0u64; clusters];
    for (_, c, w) in items.iter() {
        n_c[*c] += w;
    }
    let total: u64 = n_c.iter().sum();
    if total == 0 {
        return Ci95(0.0, None);
    }
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    let g = n_c.iter().filter(|n| **n > 0).count();
    if g < 2 {
        let (l, u) = order_stat_ranks(total as usize, p);
        let at = |rank: usize| {
            let mut acc = 0;
            items.iter().find_map(|(v, _, w)| {
                acc += w;
                (acc as usize >= rank).then_some(*v)
            })
        };
        return Ci95(if l == 0 { 0.0 } else { at(l).unwrap_or(0.0) }, at(u));
    }
    let nf = total as f64;
    let n_bar = nf / g as f64;
    let s3: f64 = n_c.iter().map(|n| (*n as f64) * (*n as f64)).sum();
    let var_iid = p * (1.0 - p) / nf;
    let t = t975(g as u64 - 1);
    let mut c = vec![0u64; clusters];
    let (mut s1, mut s2, mut k) = (0f64, 0f64, 0u64);
    let (mut low, mut high) = (0.0, None);
    let mut i = 0;
    while i < items.len() {
        let x = items[i].0;
        while i < items.len() && items[i].0 == x {
            let (_, cl, w) = items[i];
            let (old, wf) = (c[cl] as f64, w as f64);
            s1 += 2.0 * old * wf + wf * wf;
            s2 += wf * n_c[cl] as f64;
            c[cl] += w;
            k += w;
            i += 1;
        }
        let f = k as f64 / nf;
        let ss = (s1 - 2.0 * f * s2 + f * f * s3).max(0.0);
        let var = (ss / (g as f64 * (g - 1) as f64 * n_bar * n_bar)).max(var_iid);
        let tse = t * var.sqrt();
        if f < p - tse {
            low = x;
        } else if f > p + tse {
            high = Some(x);
            break;
        }
    }
    Ci95(low, high)
}

/// Sample variance (n - 1 denominator); 0 for fewer than two values.
pub fn sample_variance(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (x.len() - 1) as f64
}

/// t interval for the mean of independent replica values, centred on `estimate`.
pub fn replica_mean_ci(estimate: f64, replica_values: &[f64]) -> Ci95 {
    let r = replica_values.len();
    if r < 2 {
        return Ci95(estimate, Some(estimate)).widen_unknown(r);
    }
    let h = t975(r as u64 - 1) * (sample_variance(replica_values) / r as f64).sqrt();
    Ci95((estimate - h).max(0.0), Some(estimate + h))
}

impl Ci95 {
    /// With fewer than two replicas there is no between-replica variance: unbounded above.
    fn widen_unknown(self, replicas: usize) -> Ci95 {
        if replicas < 2 { Ci95(0.0, None) } else { self }
    }

    /// The smallest interval containing both.
    pub fn hull(self, other: Ci95) -> Ci95 {
        Ci95(
            self.0.min(other.0),
            match (self.1, other.1) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            },
        )
    }
}

/// Wilson score interval for `successes` out of `n` independent trials scaled down to `n_eff`
/// effective trials (design effect `n / n_eff`).
pub fn wilson(successes: f64, n: f64, n_eff: f64) -> Ci95 {
    if n <= 0.0 || n_eff <= 0.0 {
        return Ci95(0.0, Some(1.0));
    }
    let p = successes / n;
    let z2 = Z975 * Z975;
    let denom = 1.0 + z2 / n_eff;
    let centre = (p + z2 / (2.0 * n_eff)) / denom;
    let half = Z975 * (p * (1.0 - p) / n_eff + z2 / (4.0 * n_eff * n_eff)).sqrt() / denom;
    Ci95((centre - half).max(0.0), Some((centre + half).min(1.0)))
}

/// Share of `flags` (replica-major, `per_cluster` per replica) that are true, with a score-type
/// interval that treats replicas as the independent unit: every share `pi` where the hypothesis
/// "the share is pi" is not rejected, the variance of the observed share estimated from the
/// replicas' residuals about `pi` (floored at the binomial `pi (1 - pi) / n`, which makes it
/// Wilson's interval with t for independent days) and t on replicas - 1 degrees of freedom.
pub fn clustered_share_ci(flags: &[bool], per_cluster: usize) -> (f64, Ci95) {
    let n = flags.len();
    if n == 0 {
        return (0.0, Ci95(0.0, Some(1.0)));
    }
    let per_cluster = per_cluster.clamp(1, n);
    let counts: Vec<(f64, f64)> = flags
        .chunks(per_cluster)
        .map(|c| (c.iter().filter(|f| **f).count() as f64, c.len() as f64))
        .collect();
    let g = counts.len();
    let hits: f64 = counts.iter().map(|c| c.0).sum();
    let nf = n as f64;
    let p = hits / nf;
    let (t, clustered) = if g >= 2 && per_cluster > 1 {
        (t975(g as u64 - 1), true)
    } else {
        (Z975, false)
    };
    let n_bar = nf / g as f64;
    let rejected = |pi: f64| {
        let var_iid = pi * (1.0 - pi) / nf;
        let var = if clustered {
            let ss: f64 = counts.iter().map(|(h, m)| (h - pi * m).powi(2)).sum();
            (ss / (g as f64 * (g - 1) as f64 * n_bar * n_bar)).max(var_iid)
        } else {
            var_iid
        };
        (p - pi).abs() > t * var.sqrt()
    };
    // Bisection for the boundary between `inside` (not rejected) and `outside`.
    let boundary = |mut inside: f64, mut outside: f64| {
        if !rejected(outside) {
            return outside;
        }
        for _ in 0..60 {
            let mid = (inside + outside) / 2.0;
            if rejected(mid) {
                outside = mid
            } else {
                inside = mid
            }
        }
        outside
    };
    (p, Ci95(boundary(p, 0.0), Some(boundary(p, 1.0))))
}

/// Design effect of a clustered share: cluster variance of the mean over the iid binomial one,
/// at least 1 (1 for a share of 0 or 1, or a single cluster).
pub fn design_effect(flags: &[bool], per_cluster: usize, p: f64) -> f64 {
    let n = flags.len();
    let per_cluster = per_cluster.clamp(1, n.max(1));
    let clusters = n / per_cluster;
    if per_cluster == 1 || clusters < 2 || p <= 0.0 || p >= 1.0 {
        return 1.0;
    }
    let shares: Vec<f64> = flags
        .chunks(per_cluster)
        .map(|c| c.iter().filter(|f| **f).count() as f64 / per_cluster as f64)
        .collect();
    let var_cluster = sample_variance(&shares) / clusters as f64;
    let var_iid = p * (1.0 - p) / n as f64;
    (var_cluster / var_iid).max(1.0)
}

/// Effective trials Wilson needs for its interval around `p` to exclude `threshold`, found by
/// doubling then bisection; `None` when `p == threshold` (no sample size separates them).
pub fn wilson_trials_to_exclude(p: f64, threshold: f64) -> Option<f64> {
    if p == threshold {
        return None;
    }
    let excludes = |n: f64| {
        let ci = wilson(p * n, n, n);
        ci.0 > threshold || ci.1.is_some_and(|h| h < threshold)
    };
    let mut hi = 1.0;
    while !excludes(hi) {
        hi *= 2.0;
        if hi > 1e15 {
            return None;
        }
    }
    let mut lo = hi / 2.0;
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if excludes(mid) { hi = mid } else { lo = mid }
    }
    Some(hi)
}

/// Paired 95% interval of `mean(b) - mean(a)` over replicas (common random numbers: replica
/// `i` of both runs shares its random streams), a t interval on the per-replica differences;
/// `None` without two paired replicas.
pub fn paired_mean_diff_ci(a: &[f64], b: &[f64]) -> Option<Ci95> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    let h = t975(d.len() as u64 - 1) * (sample_variance(&d) / d.len() as f64).sqrt();
    Some(Ci95(mean - h, Some(mean + h)))
}

/// Paired 95% interval of `q_p(b) - q_p(a)`, values replica-major with `per_cluster` per
/// replica in both runs. Each quantile is linearised (Bahadur: `q^ - q ~ -(F^(q) - p) / f(q)`),
/// so the difference is a mean of per-replica terms whose variance is estimated across the
/// paired replicas (t on R-1 degrees of freedom); the density comes from the spacing of order
/// statistics `sqrt(n)` ranks either side of the estimate. `None` without two paired replicas.
pub fn paired_quantile_diff_ci(a: &[f64], b: &[f64], per_cluster: usize, p: f64) -> Option<Ci95> {
    let n = a.len();
    let per_cluster = per_cluster.max(1);
    if n != b.len() || n < 2 * per_cluster || !n.is_multiple_of(per_cluster) {
        return None;
    }
    let r = n / per_cluster;
    // Per-replica influence terms of one run's quantile, and the estimate.
    let influence = |v: &[f64]| -> (f64, Vec<f64>) {
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        let k = nearest_rank(n, p);
        let q = sorted[k - 1];
        let h = ((n as f64).sqrt().ceil() as usize).max(1);
        let (lo, hi) = (k.saturating_sub(h).max(1), (k + h).min(n));
        let spread = sorted[hi - 1] - sorted[lo - 1];
        let inv_density = if hi > lo {
            spread / ((hi - lo) as f64 / n as f64)
        } else {
            0.0
        };
        let terms = v
            .chunks(per_cluster)
            .map(|c| {
                let share = c.iter().filter(|x| **x <= q).count() as f64 / per_cluster as f64;
                -(share - p) * inv_density
            })
            .collect();
        (q, terms)
    };
    let (qa, ta) = influence(a);
    let (qb, tb) = influence(b);
    let d: Vec<f64> = ta.iter().zip(&tb).map(|(x, y)| y - x).collect();
    let se = (sample_variance(&d) / r as f64).sqrt();
    let h = t975(r as u64 - 1) * se;
    let diff = qb - qa;
    Some(Ci95(diff - h, Some(diff + h)))
}

/// Nearest-rank quantile of sorted values (the default value when there are none).
pub(crate) fn quantile_sorted<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    sorted[nearest_rank(sorted.len(), q) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Published t(0.975) values: df 40 -> 2.021075, 60 -> 2.000298, 120 -> 1.979930.
        for (df, want) in [(40, 2.021_075), (60, 2.000_298), (120, 1.979_930)] {
            assert!((t975(df) - want).abs() < 2e-5, "df {df}: {}", t975(df));
        }
        assert!((t975(1_000_000) - Z975).abs() < 1e-5);
    }

    #[test]
    fn order_statistic_ranks_of_the_median() {
        // Classic table: n = 10, 95% interval for the median is (X(2), X(9)) at 97.9%.
        assert_eq!(order_stat_ranks(10, 0.5), (2, 9));
        // n = 56, p = 0.99: no upper order statistic can bound the p99.
        assert!(order_stat_ranks(56, 0.99).1 > 56);
    }

    #[test]
    fn wilson_with_no_successes_is_the_known_bound() {
        // 0 of 56: Wilson upper = z^2 / (n + z^2) = 6.42%.
        let ci = wilson(0.0, 56.0, 56.0);
        assert!(ci.0 < 1e-15);
        assert!((ci.1.unwrap() - Z975 * Z975 / (56.0 + Z975 * Z975)).abs() < 1e-12);
    }
}
