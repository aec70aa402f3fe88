//! The statistics behind `burnrate calibrate`'s traffic and latency fits and its goodness of
//! fit: Kolmogorov-Smirnov against a lognormal, arrivals (rate, daily and weekly profile,
//! linear growth), latency per model. Pure functions of the observations.

/// Kolmogorov-Smirnov goodness of fit of a distribution to its observations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gof {
    /// Largest distance between the empirical and the fitted CDF.
    pub ks_d: f64,
    /// Asymptotic p-value of `ks_d` (Kolmogorov's distribution with Stephens' small-sample
    /// correction). The parameters were estimated from the same data, which makes this p-value
    /// optimistic (Lilliefors): a low one is a clear misfit, a high one is no proof of fit.
    pub p_value: f64,
    pub observations: usize,
}

/// Below this p-value a lognormal is rejected and the empirical distribution is used.
pub const KS_REJECT_P: f64 = 0.01;

/// erfc by the Numerical Recipes Chebyshev fit (fractional error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// P(X <= x) of a lognormal with log-mean `mu` and log-sd `sigma`.
pub fn lognormal_cdf(x: f64, mu: f64, sigma: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    0.5 * erfc(-(x.ln() - mu) / (sigma * std::f64::consts::SQRT_2))
}

/// Kolmogorov's Q(lambda) = 2 sum (-1)^(j-1) exp(-2 j^2 lambda^2).
fn q_ks(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut sign = 1.0;
    for j in 1..=100 {
        let term = sign * 2.0 * (-2.0 * f64::from(j * j) * lambda * lambda).exp();
        sum += term;
        if term.abs() < 1e-12 {
            break;
        }
        sign = -sign;
    }
    sum.clamp(0.0, 1.0)
}

/// KS distance and p-value of `sorted` (ascending) against `cdf`.
pub fn ks(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> Gof {
    let n = sorted.len();
    let nf = n as f64;
    let mut d: f64 = 0.0;
    let mut i = 0;
    while i < n {
        // Ties: the empirical CDF jumps once past every equal value.
        let x = sorted[i];
        let mut j = i;
        while j < n && sorted[j] == x {
            j += 1;
        }
        let f = cdf(x);
        d = d
            .max((j as f64 / nf - f).abs())
            .max((f - i as f64 / nf).abs());
        i = j;
    }
    let sq = nf.sqrt();
    Gof {
        ks_d: d,
        p_value: q_ks((sq + 0.12 + 0.11 / sq) * d),
        observations: n,
    }
}

/// What the arrivals of tasks look like.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrivalFit {
    /// Tasks with a start time.
    pub tasks: usize,
    /// Length of the observation window in days.
    pub days: f64,
    /// Whole UTC days the window covers (first and last partial days count).
    pub whole_days: u32,
    pub tasks_per_day: f64,
    /// Share of tasks by UTC hour, normalised to mean 1; with at least a day of data.
    pub daily_profile: Option<[f64; 24]>,
    /// By weekday counted from the first day's, normalised to mean 1; with two weeks of data.
    pub weekly_profile: Option<[f64; 7]>,
    /// Weekday of the first day (0 = Monday).
    pub first_weekday: u32,
    /// Linear trend of tasks a day: slope and its t statistic.
    pub slope_per_day: f64,
    pub slope_t: f64,
    /// Tasks a day at the end of the window by the trend, when |t| >= [`GROWTH_T`].
    pub growth_end_tasks_per_day: Option<f64>,
    /// Tasks per UTC day, first to last.
    pub per_day: Vec<u64>,
    /// Microseconds since the epoch of the first day's midnight (UTC).
    pub first_day_us: i64,
}

/// A trend is "clear" when its slope is at least this many standard errors from zero.
pub const GROWTH_T: f64 = 4.0;
const DAY_US: i64 = 86_400_000_000;

/// Fits arrivals from task start times (µs since the epoch). The window runs from the first
/// day's midnight to the last day's end (exporters usually cover whole days); under a day of
/// data it is first-to-last start, with rate (n - 1) / span.
pub fn fit_arrivals(starts: &[i64]) -> Option<ArrivalFit> {
    let (&lo, &hi) = (starts.iter().min()?, starts.iter().max()?);
    let n = starts.len();
    let first_day = lo.div_euclid(DAY_US);
    let last_day = hi.div_euclid(DAY_US);
    let whole_days = (last_day - first_day + 1) as u32;
    let (days, tasks_per_day) = if whole_days >= 2 {
        (f64::from(whole_days), n as f64 / f64::from(whole_days))
    } else if hi > lo && n > 1 {
        let d = (hi - lo) as f64 / DAY_US as f64;
        (d, (n - 1) as f64 / d)
    } else {
        (1.0, n as f64)
    };
    let mut per_day = vec![0u64; whole_days as usize];
    let mut hours = [0u64; 24];
    let mut weekdays = [0u64; 7];
    for &s in starts {
        let day = s.div_euclid(DAY_US);
        per_day[(day - first_day) as usize] += 1;
        hours[(s.rem_euclid(DAY_US) / 3_600_000_000) as usize] += 1;
        weekdays[(day - first_day).rem_euclid(7) as usize] += 1;
    }
    let normalise = |counts: &[u64]| -> Vec<f64> {
        let mean = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
        counts.iter().map(|c| round4(*c as f64 / mean)).collect()
    };
    let daily_profile = (whole_days >= 2 && n >= 24 * 10).then(|| {
        let v = normalise(&hours);
        std::array::from_fn(|i| v[i])
    });
    // Weekdays need every weekday seen at least twice; the partial first and last days weigh
    // a little less, which two full weeks make small.
    let weekly_profile = (whole_days >= 14).then(|| {
        let v = normalise(&weekdays);
        std::array::from_fn(|i| v[i])
    });
    let (slope, t) = trend(&per_day);
    let growth_end_tasks_per_day = (whole_days >= 7 && t.abs() >= GROWTH_T).then(|| {
        let mean = per_day.iter().sum::<u64>() as f64 / per_day.len() as f64;
        let mid = (per_day.len() as f64 - 1.0) / 2.0;
        round4((mean + slope * (per_day.len() as f64 - 1.0 - mid)).max(0.0))
    });
    Some(ArrivalFit {
        tasks: n,
        days,
        whole_days,
        tasks_per_day: round4(tasks_per_day),
        daily_profile,
        weekly_profile,
        // 1970-01-01 was a Thursday (3 with Monday = 0).
        first_weekday: (first_day + 3).rem_euclid(7) as u32,
        slope_per_day: slope,
        slope_t: t,
        growth_end_tasks_per_day,
        per_day,
        first_day_us: first_day * DAY_US,
    })
}

/// Least-squares slope of `ys` over 0..n and its t statistic (0 when undefined).
fn trend(ys: &[u64]) -> (f64, f64) {
    let n = ys.len();
    if n < 3 {
        return (0.0, 0.0);
    }
    let nf = n as f64;
    let xm = (nf - 1.0) / 2.0;
    let ym = ys.iter().sum::<u64>() as f64 / nf;
    let sxx: f64 = (0..n).map(|i| (i as f64 - xm).powi(2)).sum();
    let sxy: f64 = ys
        .iter()
        .enumerate()
        .map(|(i, y)| (i as f64 - xm) * (*y as f64 - ym))
        .sum();
    let slope = sxy / sxx;
    let rss: f64 = ys
        .iter()
        .enumerate()
        .map(|(i, y)| (*y as f64 - ym - slope * (i as f64 - xm)).powi(2))
        .sum();
    let se = (rss / (nf - 2.0) / sxx).sqrt();
    let t = if se > 0.0 {
        slope / se
    } else if slope != 0.0 {
        f64::INFINITY.copysign(slope)
    } else {
        0.0
    };
    (slope, t)
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// One successful call's (duration s, output tokens, time to first token s if recorded).
pub type LatencyObs = (f64, f64, Option<f64>);

/// Latency of one model: duration = time to first token + output tokens x time per token.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyFit {
    pub model: String,
    pub calls: usize,
    /// Calls that recorded their time to first token.
    pub ttft_observations: usize,
    pub time_to_first_token_s: f64,
    pub output_tokens_per_s: Option<f64>,
    /// Coefficient of variation of duration / fitted duration.
    pub cv: f64,
}

/// Fits a model's latency from (duration s, output tokens, time to first token s) of its
/// successful calls: the mean recorded time to first token where there is one (else the
/// least-squares intercept), and the least-squares time per output token of what remains.
pub fn fit_latency(model: &str, obs: &[LatencyObs]) -> Option<LatencyFit> {
    if obs.len() < 2 {
        return None;
    }
    let n = obs.len() as f64;
    let ttfts: Vec<f64> = obs.iter().filter_map(|o| o.2).collect();
    let xm = obs.iter().map(|o| o.1).sum::<f64>() / n;
    let ym = obs.iter().map(|o| o.0).sum::<f64>() / n;
    let sxx: f64 = obs.iter().map(|o| (o.1 - xm).powi(2)).sum();
    let (ttft, per_token) = if ttfts.is_empty() {
        let slope = if sxx > 0.0 {
            obs.iter().map(|o| (o.1 - xm) * (o.0 - ym)).sum::<f64>() / sxx
        } else {
            0.0
        };
        let slope = slope.max(0.0);
        ((ym - slope * xm).max(0.0), slope)
    } else {
        let ttft = ttfts.iter().sum::<f64>() / ttfts.len() as f64;
        // Through the origin: the generation part (duration - ttft) per output token.
        let sx2: f64 = obs.iter().map(|o| o.1 * o.1).sum();
        let sxy: f64 = obs.iter().map(|o| o.1 * (o.0 - o.2.unwrap_or(ttft))).sum();
        (ttft, if sx2 > 0.0 { (sxy / sx2).max(0.0) } else { 0.0 })
    };
    let ratios: Vec<f64> = obs
        .iter()
        .map(|o| ttft + per_token * o.1)
        .zip(obs)
        .filter(|(pred, _)| *pred > 0.0)
        .map(|(pred, o)| o.0 / pred)
        .collect();
    let rm = ratios.iter().sum::<f64>() / ratios.len().max(1) as f64;
    let var = ratios.iter().map(|r| (r - rm).powi(2)).sum::<f64>() / ratios.len().max(1) as f64;
    Some(LatencyFit {
        model: model.to_string(),
        calls: obs.len(),
        ttft_observations: ttfts.len(),
        time_to_first_token_s: round4(ttft),
        output_tokens_per_s: (per_token > 0.0).then(|| round4(1.0 / per_token)),
        cv: round4(if rm > 0.0 { var.sqrt() / rm } else { 0.0 }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_cdf_at_the_median_and_one_sigma() {
        // The median of a lognormal is e^mu; one sigma above it is Phi(1) = 0.841345.
        assert!((lognormal_cdf(100.0, 100f64.ln(), 0.5) - 0.5).abs() < 1e-7);
        let x = (2.0f64 + 0.5).exp();
        assert!((lognormal_cdf(x, 2.0, 0.5) - 0.841_344_7).abs() < 1e-6);
    }

    #[test]
    fn ks_of_a_uniform_grid_and_kolmogorov_tail() {
        // Points at (i + 0.5)/n against U(0,1): D = 0.5/n exactly.
        let xs: Vec<f64> = (0..100).map(|i| (f64::from(i) + 0.5) / 100.0).collect();
        let g = ks(&xs, |x| x.clamp(0.0, 1.0));
        assert!((g.ks_d - 0.005).abs() < 1e-12, "{g:?}");
        assert!(g.p_value > 0.999);
        // Q(1.36) = 0.0494 (the 5% critical value of Kolmogorov's distribution is 1.358).
        assert!((q_ks(1.358) - 0.05).abs() < 0.001, "{}", q_ks(1.358));
    }

    #[test]
    fn arrivals_rate_profile_and_growth() {
        // 14 days from a Monday (2026-11-30 = day 20,787), k*10 tasks on day k, all at 09:00.
        let day0 = 20_787 * DAY_US;
        let mut starts = Vec::new();
        for d in 0..14i64 {
            for i in 0..(10 * (d + 1)) {
                starts.push(day0 + d * DAY_US + 9 * 3_600_000_000 + i);
            }
        }
        let a = fit_arrivals(&starts).unwrap();
        // sum 10..140 = 1050 tasks over 14 days.
        assert_eq!((a.tasks, a.whole_days, a.first_weekday), (1050, 14, 0));
        assert_eq!(a.tasks_per_day, 75.0);
        assert_eq!(a.daily_profile.unwrap()[9], 24.0);
        assert!((a.slope_per_day - 10.0).abs() < 1e-9);
        // An exact line: infinite t, growth to 140 on the last day.
        assert_eq!(a.growth_end_tasks_per_day, Some(140.0));
    }

    #[test]
    fn latency_recovers_an_exact_line() {
        // 0.5 s to first token + 100 tokens/s, no noise.
        let obs: Vec<LatencyObs> = (1..50)
            .map(|k| (0.5 + f64::from(k) * 10.0 / 100.0, f64::from(k) * 10.0, None))
            .collect();
        let l = fit_latency("m", &obs).unwrap();
        assert!((l.time_to_first_token_s - 0.5).abs() < 1e-9);
        assert_eq!(l.output_tokens_per_s, Some(100.0));
        assert_eq!(l.cv, 0.0);
    }
}
