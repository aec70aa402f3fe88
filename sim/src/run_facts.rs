//! Per-run facts derived once from a scenario, and the seeding of each replica's random
//! streams: what the engine and the arrival process both need (kept here so neither imports
//! the other).

use crate::catalog::PriceCard;
use crate::model::{IncidentKind, ModelIdx, Scenario};
use rand_pcg::Pcg64Mcg;

const DAY_S: f64 = 86_400.0;
const DAY_US: u64 = 86_400_000_000;

/// Seeds replica `index` of a run with `seed`: SplitMix64 of both, so neighbouring replicas get
/// unrelated streams and the stream depends on nothing else (not the thread that runs it).
pub(crate) fn replica_rng(seed: u64, index: u32) -> Pcg64Mcg {
    fn splitmix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    let hi = splitmix(seed ^ 0x6275_726E_7261_7465); // "burnrate"
    let lo = splitmix(hi ^ u64::from(index));
    Pcg64Mcg::new((u128::from(hi) << 64) | u128::from(lo) | 1)
}

/// Per-run facts derived once from the scenario.
pub(crate) struct RunFacts {
    /// Step lines for attribution: steps, then "router", then "summarize".
    pub router_line: usize,
    pub summarize_line: usize,
    /// Expected cost of a task of each kind without failures or cache, pUSD (for alerts).
    pub expected_task_pusd: Vec<f64>,
    /// Upper bound of the arrival rate, tasks per second (for thinning).
    pub max_rate_per_s: f64,
    /// Horizon in microseconds.
    pub horizon_us: u64,
    /// Cumulative kind shares.
    pub kind_cumulative: Vec<f64>,
    /// Sorted surge start and end times, seconds: where the arrival rate can change other than
    /// on the hour.
    pub rate_breaks_s: Vec<f64>,
    /// Per model: latency noise factor (lognormal, mean 1), `None` when its cv is 0.
    pub latency_noise: Vec<Option<crate::dist::Dist>>,
    /// Prices per (billing step, model, batch), resolved once ([`RunFacts::price_card`]):
    /// the bill is the hottest lookup of a run.
    price_cards: Vec<PriceCard>,
    models: usize,
}

impl RunFacts {
    /// How a call of `billing_step` (`None`: router and summarize calls) on `model` is priced:
    /// `Scenario::billing` resolved by `ModelSpec::price_card`.
    #[inline]
    pub fn price_card(
        &self,
        billing_step: Option<usize>,
        model: ModelIdx,
        batch: bool,
    ) -> &PriceCard {
        let line = billing_step.unwrap_or(self.router_line);
        &self.price_cards[(line * self.models + model) * 2 + usize::from(batch)]
    }

    pub fn new(sc: &Scenario) -> RunFacts {
        let n = sc.steps.len();
        let max_profile = sc
            .traffic
            .daily_profile
            .map_or(1.0, |p| p.iter().copied().fold(0.0, f64::max));
        let max_week = sc
            .traffic
            .weekly_profile
            .map_or(1.0, |p| p.iter().copied().fold(0.0, f64::max));
        let max_tpd = sc
            .traffic
            .tasks_per_day
            .max(sc.traffic.growth_to_tasks_per_day.unwrap_or(0.0));
        let max_surge = sc
            .incidents
            .iter()
            .filter_map(|i| match i.kind {
                IncidentKind::Surge { multiplier } => Some(multiplier),
                _ => None,
            })
            .fold(1.0, f64::max);
        let kind_cumulative = crate::agent::kind_cumulative(sc);
        let expected_task_pusd = sc
            .traffic
            .kinds
            .iter()
            .map(|kind| {
                kind.steps
                    .iter()
                    .map(|&s| {
                        let step = &sc.steps[s];
                        // Expected on the cheap tier: the cost the router aims for.
                        let spec = &sc.models[sc.step_model(s, false)];
                        let input = (step.prefix_tokens.mean() + step.input_tokens.mean())
                            * kind.token_scale;
                        let reasoning = step.reasoning_tokens.as_ref().map_or(0.0, |d| d.mean());
                        let mut output = (step.output_tokens.mean() + reasoning) * kind.token_scale;
                        if let Some(cap) = step.max_tokens {
                            output = output.min(cap as f64);
                        }
                        step.repeat.mean()
                            * (input * spec.input_pusd() as f64
                                + output * spec.output_pusd() as f64)
                    })
                    .sum()
            })
            .collect();
        let mut price_cards = Vec::with_capacity((n + 1) * sc.models.len() * 2);
        for step in (0..n).map(Some).chain([None]) {
            for (m, spec) in sc.models.iter().enumerate() {
                for batch in [false, true] {
                    price_cards.push(spec.price_card(&sc.billing(step, m, batch)));
                }
            }
        }
        RunFacts {
            price_cards,
            models: sc.models.len(),
            router_line: n,
            summarize_line: n + 1,
            expected_task_pusd,
            max_rate_per_s: max_tpd / DAY_S * max_profile * max_week * max_surge,
            horizon_us: u64::from(sc.horizon.days) * DAY_US,
            kind_cumulative,
            rate_breaks_s: {
                let mut b: Vec<f64> = sc
                    .incidents
                    .iter()
                    .filter(|i| matches!(i.kind, IncidentKind::Surge { .. }))
                    .flat_map(|i| [i.start_s, i.end_s])
                    .collect();
                b.sort_by(f64::total_cmp);
                b
            },
            latency_noise: sc
                .models
                .iter()
                .map(|m| {
                    if m.latency.cv > 0.0 {
                        crate::dist::Dist::lognormal(1.0, m.latency.cv)
                    } else {
                        None
                    }
                })
                .collect(),
        }
    }

    pub fn step_lines(&self) -> usize {
        self.summarize_line + 1
    }
}
