//! The arrival process: when tasks arrive, from the scenario's traffic (Poisson or evenly
//! spaced; daily and weekly profiles, growth, surges). Shared by the engine and `burnrate drive`
//! so a driven run sees the traffic the simulator predicts. It has its own random stream,
//! derived from (seed, replica), so arrivals do not depend on anything else the engine draws.

use crate::model::{Arrivals, GrowthShape, IncidentKind, Scenario};
use crate::run_facts::{RunFacts, replica_rng};
use rand::Rng;
use rand_pcg::Pcg64Mcg;

const US_PER_S: f64 = 1_000_000.0;
const DAY_S: f64 = 86_400.0;

/// Arrival times of one replica, in order.
#[derive(Debug, Clone)]
pub struct ArrivalProcess<'a> {
    sc: &'a Scenario,
    max_rate_per_s: f64,
    rate_breaks_s: Vec<f64>,
    horizon_us: u64,
    rng: Pcg64Mcg,
    /// Uniform arrivals: (day, index in day, count that day).
    uniform_state: (u32, u64, u64),
    last_us: u64,
}

impl<'a> ArrivalProcess<'a> {
    pub(crate) fn new(sc: &'a Scenario, prep: &RunFacts, seed: u64, replica: u32) -> Self {
        ArrivalProcess {
            sc,
            max_rate_per_s: prep.max_rate_per_s,
            rate_breaks_s: prep.rate_breaks_s.clone(),
            horizon_us: prep.horizon_us,
            // A stream of its own: the seed's arrivals are the same whatever else is drawn.
            rng: replica_rng(seed ^ 0x6172_7269_7661_6c73, replica),
            uniform_state: (0, 0, 0),
            last_us: 0,
        }
    }

    /// The arrivals of replica `replica` of `scenario` with `seed`, over its horizon.
    pub fn for_scenario(scenario: &'a Scenario, seed: u64, replica: u32) -> Self {
        ArrivalProcess::new(scenario, &RunFacts::new(scenario), seed, replica)
    }

    /// Tasks per second at time `t_s`.
    fn rate_per_s(&self, t_s: f64) -> f64 {
        let tr = &self.sc.traffic;
        // Growth has its own span, so `--days` does not stretch it.
        let span_s = tr
            .growth_over_days
            .unwrap_or(f64::from(self.sc.horizon.days))
            * DAY_S;
        let frac = (t_s / span_s).clamp(0.0, 1.0);
        let tpd = match tr.growth_to_tasks_per_day {
            None => tr.tasks_per_day,
            Some(end) => match tr.growth_shape {
                GrowthShape::Linear => tr.tasks_per_day + (end - tr.tasks_per_day) * frac,
                GrowthShape::Exponential => tr.tasks_per_day * (end / tr.tasks_per_day).powf(frac),
            },
        };
        let hour = ((t_s % DAY_S) / 3600.0) as usize;
        let day = (t_s / DAY_S) as usize;
        let mut rate = tpd / DAY_S;
        if let Some(p) = &tr.daily_profile {
            rate *= p[hour.min(23)];
        }
        if let Some(w) = &tr.weekly_profile {
            rate *= w[day % 7];
        }
        for inc in &self.sc.incidents {
            if let IncidentKind::Surge { multiplier } = inc.kind
                && inc.active(t_s)
            {
                rate *= multiplier;
            }
        }
        rate
    }

    /// Time of the next arrival after `after_us`, or `None` past the horizon.
    pub fn next_after(&mut self, after_us: u64) -> Option<u64> {
        match self.sc.traffic.arrivals {
            Arrivals::Poisson if self.sc.traffic.growth_to_tasks_per_day.is_none() => {
                // Without growth the rate is constant between hour boundaries and surge edges,
                // so the next arrival is found exactly by inverting the integrated rate: draw
                // E ~ Exp(1) and walk the segments until their integral reaches E. Bounded by
                // the horizon: every segment moves time forward.
                let horizon_s = self.horizon_us as f64 / US_PER_S;
                let mut t_s = after_us as f64 / US_PER_S;
                let u: f64 = self.rng.random();
                let mut e = -(1.0 - u).ln();
                while t_s < horizon_s {
                    let next_hour = ((t_s / 3600.0).floor() + 1.0) * 3600.0;
                    let seg_end = self
                        .rate_breaks_s
                        .iter()
                        .copied()
                        .find(|b| *b > t_s)
                        .map_or(next_hour, |b| b.min(next_hour))
                        .min(horizon_s);
                    let rate = self.rate_per_s(t_s);
                    let mass = rate * (seg_end - t_s);
                    if mass >= e && rate > 0.0 {
                        let at = t_s + e / rate;
                        return (at < horizon_s)
                            .then(|| ((at * US_PER_S) as u64).max(after_us + 1));
                    }
                    e -= mass;
                    t_s = seg_end;
                }
                None
            }
            Arrivals::Poisson => {
                let max_rate = self.max_rate_per_s;
                if max_rate <= 0.0 {
                    return None;
                }
                // With growth the rate changes continuously: thinning (Lewis & Shedler),
                // candidates at the peak rate kept with probability rate(t)/peak. Bounded by the
                // horizon: every candidate moves time forward.
                let mut t_s = after_us as f64 / US_PER_S;
                let horizon_s = self.horizon_us as f64 / US_PER_S;
                loop {
                    let u: f64 = self.rng.random();
                    t_s += -(1.0 - u).ln() / max_rate;
                    if t_s >= horizon_s {
                        return None;
                    }
                    let keep: f64 = self.rng.random();
                    if keep * max_rate < self.rate_per_s(t_s) {
                        return Some(((t_s * US_PER_S) as u64).max(after_us + 1));
                    }
                }
            }
            Arrivals::Uniform => {
                let days = self.sc.horizon.days;
                loop {
                    let (day, i, n) = self.uniform_state;
                    if day >= days {
                        return None;
                    }
                    if i == 0 && n == 0 {
                        // Expected count of the day, from the rate at each hour.
                        let base = f64::from(day) * DAY_S;
                        let count: f64 = (0..24)
                            .map(|h| {
                                self.rate_per_s(base + f64::from(h) * 3600.0 + 1800.0) * 3600.0
                            })
                            .sum();
                        let n = count.round() as u64;
                        if n == 0 {
                            self.uniform_state = (day + 1, 0, 0);
                            continue;
                        }
                        self.uniform_state = (day, 0, n);
                        continue;
                    }
                    if i >= n {
                        self.uniform_state = (day + 1, 0, 0);
                        continue;
                    }
                    self.uniform_state = (day, i + 1, n);
                    let t_s = f64::from(day) * DAY_S + (i as f64 + 0.5) * DAY_S / n as f64;
                    return Some((t_s * US_PER_S) as u64);
                }
            }
        }
    }
}

impl Iterator for ArrivalProcess<'_> {
    /// Seconds from the start of the horizon.
    type Item = f64;

    fn next(&mut self) -> Option<f64> {
        let t = self.next_after(self.last_us)?;
        self.last_us = t;
        Some(t as f64 / US_PER_S)
    }
}
