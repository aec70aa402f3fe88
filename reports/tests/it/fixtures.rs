//! Hand-built results, so the snapshot and chart tests do not depend on the engine.
//!
//! `support_agent()` is the article's customer-support agent: 500 tasks a day through four steps
//! (classify, retrieve, draft, compliance), about $4.40 a day against a $50 budget.
//! `over_budget()` is a runaway tool-using agent that breaches its $50 budget on some days.

use burnrate_reports::{Crossing, LeverStep, Sweep, SweepPoint};
use burnrate_sim::stats::{self, Ci95};
use burnrate_sim::{
    Band, Binding, BudgetSummary, CacheSummary, CallCounts, CapacitySummary, CostSummary,
    FirstBreach, KindBreakdown, LatencyQuantiles, LatencySummary, LimitRung, Limiting,
    ModelCapacity, MonthBand, MonthSummary, Quantiles, RoutingSummary, SimResult, SpendCapSummary,
    TaskCounts, Timeline, TimelineDay, TimelineMonth, WaitQuantiles,
};
use std::collections::BTreeMap;

fn r4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// A deterministic standard-normal-ish sequence (Irwin-Hall of 12 LCG uniforms): only + and *,
/// so the same on every platform.
fn normals(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| (0..12).map(|_| next()).sum::<f64>() - 6.0)
        .collect()
}

fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Daily-cost quantiles with the engine's own interval methods (days replica-major).
fn quantiles(values: &[f64], days: usize) -> Quantiles {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let tail = &s[(s.len() * 95).div_ceil(100).min(s.len() - 1)..];
    let ci = |p: f64| stats::clustered_quantile_ci(values, days, p).1.map(r4);
    let means: Vec<f64> = values
        .chunks(days)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect();
    let mean = r4(s.iter().sum::<f64>() / s.len() as f64);
    Quantiles {
        mean_ci95: stats::replica_mean_ci(mean, &means).map(r4),
        p50_ci95: ci(0.50),
        p95_ci95: ci(0.95),
        p99_ci95: ci(0.99),
        mean,
        p50: nearest_rank(&s, 50.0),
        p95: nearest_rank(&s, 95.0),
        p99: nearest_rank(&s, 99.0),
        max: s[s.len() - 1],
        cvar95: r4(tail.iter().sum::<f64>() / tail.len() as f64),
    }
}

/// Cumulative spend over a day, one point every 10 minutes, busiest around 13:00.
fn sample_day(total: f64) -> Vec<(f64, f64)> {
    let weight = |h: f64| 0.15 + (1.0 - (h - 13.0).abs() / 6.0).max(0.0);
    let hours: Vec<f64> = (1..=144).map(|i| f64::from(i) / 6.0).collect();
    let w: Vec<f64> = hours.iter().map(|h| weight(*h)).collect();
    let sum: f64 = w.iter().sum();
    let mut cum = 0.0;
    hours
        .iter()
        .zip(w)
        .map(|(h, w)| {
            cum += total * w / sum;
            (r4(*h), r4(cum))
        })
        .collect()
}

fn map<const N: usize>(entries: [(&str, f64); N]) -> BTreeMap<String, f64> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

pub fn support_agent() -> SimResult {
    // Many short replicas: enough independent units for every interval to be bounded.
    let replicas = 30;
    let days = 4;
    let daily: Vec<f64> = normals(7, (replicas * days) as usize)
        .into_iter()
        .map(|z| r4(4.4 + 0.19 * z))
        .collect();
    let per_day = quantiles(&daily, days as usize);
    let budget = 50.0;
    SimResult {
        scenario: "support-agent".to_string(),
        scenario_hash: "9f2c4e7a1b3d5f6e8a0c2e4f6a8b0d1e3f5a7c9e1b3d5f7a9c1e3f5a7b9d1f3e"
            .to_string(),
        seed: 42,
        replicas,
        days,
        events: 1_234_567,
        tasks: TaskCounts {
            total: 60_000,
            succeeded: 59_640,
            failed: 60,
            partial: 120,
            prefiltered: 0,
            rejected_by_daily_cap: 0,
            escalated_to_human: 60,
            cost_alerts: 24,
            runaway: 3,
            unfinished: 180,
            abandoned: 0,
        },
        calls: CallCounts {
            total: 243_600,
            retries: 3_600,
            retries_per_task: 0.06,
            failures_by_kind: [
                ("malformed", 1_200),
                ("rate_limit", 900),
                ("server_error", 1_100),
                ("timeout", 400),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            rate_limit_waits: 900,
            batch_calls: 0,
        },
        cost_usd: CostSummary {
            per_task: Quantiles {
                mean: 0.0088,
                p50: 0.0079,
                p95: 0.0161,
                p99: 0.0243,
                max: 0.081,
                cvar95: 0.0205,
                mean_ci95: Ci95(0.0087, Some(0.0089)),
                p50_ci95: Ci95(0.0078, Some(0.0080)),
                p95_ci95: Ci95(0.0158, Some(0.0164)),
                p99_ci95: Ci95(0.0236, Some(0.0251)),
            },
            per_month: MonthSummary {
                mean: r4(per_day.mean * 30.0),
                p50: 131.9,
                p95: 135.6,
                p99: 137.1,
                fixed: 0.0,
                mean_ci95: Ci95(131.2, Some(133.1)),
                p50_ci95: Ci95(130.8, Some(133.0)),
                p95_ci95: Ci95(134.9, None),
                p99_ci95: Ci95(135.6, None),
                extrapolated: false,
                months: 4,
            },
            per_day: per_day.clone(),
            by_step: map([
                ("classify", 0.31),
                ("retrieve", 0.42),
                ("draft", 3.12),
                ("compliance", 0.55),
            ]),
            by_model: map([("claude-haiku-4-5", 1.28), ("claude-sonnet-4-5", 3.12)]),
            by_kind: KindBreakdown {
                input: 1.62,
                cache_write: 0.21,
                cache_read: 0.12,
                output: 2.45,
            },
            batch_per_day: 0.0,
            retry_overhead_per_day: 0.19,
        },
        budget: BudgetSummary {
            daily_usd: Some(budget),
            breach_probability: 0.0,
            breach_probability_ci95: stats::clustered_share_ci(
                &daily.iter().map(|c| *c > budget).collect::<Vec<_>>(),
                days as usize,
            )
            .1
            .map(r4),
            expected_breach_days_per_month: 0.0,
            headroom_multiple: Some(r4(budget / per_day.p95)),
            first_breach_day: None,
            replicas_ever_breaching: 0.0,
            // 2,000 tasks a day at $0.0088: $528 a 30-day month against Start's $500, which
            // a month of spend meets at 500 / (30 x 0.0088) = 1,893.9 tasks/day.
            spend_caps: vec![SpendCapSummary {
                provider: "anthropic".to_string(),
                usage_tier: "start".to_string(),
                monthly_cap_usd: 500.0,
                replicas_reaching: 0.4,
                first_day: Some(FirstBreach {
                    p05: 28,
                    p50: 29,
                    p95: 30,
                }),
                month_mean_usd: 528.0,
                cap_tasks_per_day: Some(1_893.9),
            }],
        },
        cache: CacheSummary {
            hit_rate: 0.87,
            by_step: map([("classify", 0.93), ("draft", 0.85), ("compliance", 0.91)]),
            savings_per_day: 0.96,
        },
        routing: None,
        latency_s: LatencySummary {
            task: LatencyQuantiles {
                mean: 10.2,
                p50: 7.6,
                p95: 24.5,
                p99: 41.0,
                max: 118.0,
                p50_ci95: Ci95(7.5, Some(7.7)),
                p95_ci95: Ci95(24.1, Some(25.0)),
                p99_ci95: Ci95(40.2, Some(42.3)),
            },
            task_histogram: vec![
                (1.0, 120),
                (2.0, 2_100),
                (4.0, 11_800),
                (8.0, 17_600),
                (16.0, 19_900),
                (32.0, 6_700),
                (64.0, 1_500),
                (128.0, 100),
            ],
        },
        capacity: CapacitySummary {
            by_model: [
                (
                    "claude-haiku-4-5",
                    ModelCapacity {
                        peak_rpm: 38,
                        peak_tpm: 61_000,
                        limit_rpm: Some(4_000),
                        limit_tpm: None,
                        limit_itpm: Some(400_000),
                        limit_otpm: Some(80_000),
                    },
                ),
                (
                    "claude-sonnet-4-5",
                    ModelCapacity {
                        peak_rpm: 14,
                        peak_tpm: 52_000,
                        limit_rpm: Some(4_000),
                        limit_tpm: None,
                        limit_itpm: Some(400_000),
                        limit_otpm: Some(80_000),
                    },
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            max_sustainable_tasks_per_day: Some(3_278.69),
            limiting: Some(Limiting {
                model: "claude-sonnet-4-5".to_string(),
                limit: "ITPM".to_string(),
            }),
            // 400,000 x 5,000 / 3,300 = 606,060.6: raise Sonnet's ITPM to 606,061 for Haiku's
            // OTPM to bind next.
            what_it_would_take: vec![
                LimitRung {
                    model: "claude-sonnet-4-5".to_string(),
                    limit: "ITPM".to_string(),
                    limit_per_min: 400_000,
                    binds_at_tasks_per_day: 3_300.4,
                    raise_to_per_min: Some(606_061),
                    // The fixture is on Start; Build is the next tier (5,000,000 Sonnet 4.x ITPM).
                    tier_to: Some("build".to_string()),
                },
                LimitRung {
                    model: "claude-haiku-4-5".to_string(),
                    limit: "OTPM".to_string(),
                    limit_per_min: 80_000,
                    binds_at_tasks_per_day: 5_000.0,
                    raise_to_per_min: None,
                    tier_to: None,
                },
            ],
            saturated: false,
            binding: Vec::new(),
            task_wait_s: WaitQuantiles::default(),
        },
        timeline: Timeline::default(),
        sample_day: sample_day(4.37),
        precision: None,
        daily_costs_usd: daily,
    }
}

pub fn over_budget() -> SimResult {
    let replicas = 15;
    let days = 4;
    let daily: Vec<f64> = normals(11, (replicas * days) as usize)
        .into_iter()
        .map(|z| r4(44.0 + 7.0 * z))
        .collect();
    let per_day = quantiles(&daily, days as usize);
    let budget = 50.0;
    let over = daily.iter().filter(|c| **c > budget).count() as f64 / daily.len() as f64;
    let mut r = support_agent();
    r.scenario = "runaway-agent".to_string();
    r.scenario_hash =
        "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c".to_string();
    r.seed = 7;
    r.replicas = replicas;
    r.days = days;
    r.cost_usd.per_day = per_day.clone();
    r.cost_usd.per_task = Quantiles {
        mean: 0.088,
        p50: 0.041,
        p95: 0.31,
        p99: 0.92,
        max: 2.4,
        cvar95: 0.58,
        mean_ci95: Ci95(0.081, Some(0.095)),
        p50_ci95: Ci95(0.039, Some(0.043)),
        p95_ci95: Ci95(0.29, Some(0.33)),
        p99_ci95: Ci95(0.85, Some(1.01)),
    };
    r.cost_usd.per_month = MonthSummary {
        mean: r4(per_day.mean * 30.0),
        p50: 1_318.0,
        p95: 1_402.5,
        p99: 1_431.0,
        fixed: 20.0,
        extrapolated: false,
        months: 2,
        ..Default::default()
    };
    r.cost_usd.by_step = map([("plan", 6.1), ("tool_loop", 33.5), ("answer", 4.4)]);
    r.cost_usd.by_model = map([("gpt-4.1", 37.9), ("gpt-4.1-mini", 6.1)]);
    r.cost_usd.by_kind = KindBreakdown {
        input: 30.2,
        cache_write: 0.0,
        cache_read: 1.3,
        output: 12.5,
    };
    r.cost_usd.retry_overhead_per_day = 3.7;
    r.budget = BudgetSummary {
        daily_usd: Some(budget),
        breach_probability: over,
        breach_probability_ci95: stats::clustered_share_ci(
            &daily.iter().map(|c| *c > budget).collect::<Vec<_>>(),
            days as usize,
        )
        .1
        .map(r4),
        expected_breach_days_per_month: r4(over * 30.0),
        headroom_multiple: Some(r4(budget / per_day.p95)),
        first_breach_day: None,
        replicas_ever_breaching: 0.0,
        spend_caps: Vec::new(),
    };
    r.cache = CacheSummary {
        hit_rate: 0.4,
        by_step: map([("plan", 0.4)]),
        savings_per_day: 0.9,
    };
    r.routing = Some(RoutingSummary {
        cheap_tier_share: 0.72,
        escalation_rate: 0.11,
        misroute_rate: 0.04,
    });
    r.tasks.runaway = 412;
    r.tasks.cost_alerts = 1_380;
    r.sample_day = sample_day(52.4);
    r.daily_costs_usd = daily;
    r
}

/// "500 customers a day instead of 5": traffic grows over a 90-day quarter, the daily budget is
/// first breached in the third month, and from day 80 the Sonnet ITPM limit saturates.
pub fn growing() -> SimResult {
    let replicas = 4u32;
    let days = 90u32;
    let z = normals(23, (replicas * days) as usize);
    // Day d costs 0.35 * 100^(d/89) dollars on average (5 to 500 tasks at ~$0.07), +-8%.
    let mut daily = Vec::new();
    for r in 0..replicas {
        for d in 0..days {
            let mean = 0.35 * 100f64.powf(f64::from(d) / 89.0);
            daily.push(r4(mean * (1.0 + 0.08 * z[(r * days + d) as usize])));
        }
    }
    let band = |d: u32| {
        let mut col: Vec<f64> = (0..replicas)
            .map(|r| daily[(r * days + d) as usize])
            .collect();
        col.sort_by(f64::total_cmp);
        Band {
            mean: r4(col.iter().sum::<f64>() / col.len() as f64),
            p05: nearest_rank(&col, 5.0),
            p50: nearest_rank(&col, 50.0),
            p95: nearest_rank(&col, 95.0),
        }
    };
    let timeline_days: Vec<TimelineDay> = (0..days)
        .map(|d| TimelineDay {
            day: d + 1,
            tasks_mean: r4(5.0 * 100f64.powf(f64::from(d) / 89.0)),
            cost_usd: band(d),
        })
        .collect();
    let months = (0..3)
        .map(|m| {
            let mut totals: Vec<f64> = (0..replicas)
                .map(|r| {
                    (m * 30..m * 30 + 30)
                        .map(|d| daily[(r * days + d) as usize])
                        .sum::<f64>()
                })
                .map(r4)
                .collect();
            totals.sort_by(f64::total_cmp);
            TimelineMonth {
                month: m + 1,
                days: 30,
                cost_usd: MonthBand {
                    mean: r4(totals.iter().sum::<f64>() / totals.len() as f64),
                    p50: nearest_rank(&totals, 50.0),
                    p95: nearest_rank(&totals, 95.0),
                },
            }
        })
        .collect();
    let per_day = quantiles(&daily, days as usize);
    let budget = 20.0;
    let mut r = support_agent();
    r.scenario = "growth-5-to-500".to_string();
    r.scenario_hash =
        "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f".to_string();
    r.replicas = replicas;
    r.days = days;
    r.cost_usd.per_day = per_day.clone();
    r.budget = BudgetSummary {
        daily_usd: Some(budget),
        breach_probability: r4(
            daily.iter().filter(|c| **c > budget).count() as f64 / daily.len() as f64
        ),
        expected_breach_days_per_month: 0.0,
        headroom_multiple: Some(0.6),
        first_breach_day: Some(FirstBreach {
            p05: 78,
            p50: 79,
            p95: 81,
        }),
        replicas_ever_breaching: 1.0,
        ..Default::default()
    };
    r.tasks.abandoned = 312;
    r.capacity.saturated = true;
    r.capacity.binding = vec![Binding {
        model: "claude-sonnet-4-5".to_string(),
        limit: "ITPM".to_string(),
        first_hour: 1_909,
        wait_s: WaitQuantiles {
            p50: 41.0,
            p95: 1_260.0,
        },
    }];
    r.capacity.task_wait_s = WaitQuantiles {
        p50: 0.0,
        p95: 380.0,
    };
    r.timeline = Timeline {
        traffic_changes: true,
        days: timeline_days,
        months,
    };
    r.daily_costs_usd = daily;
    r
}

pub fn levers() -> Vec<LeverStep> {
    let raw = [
        ("naive POC", 31.8, 34.1),
        ("+ routing", 12.4, 13.6),
        ("+ caching", 6.9, 7.7),
        ("+ budgets", 5.1, 5.4),
        ("+ batching", 4.38, 4.61),
    ];
    let mut out: Vec<LeverStep> = Vec::new();
    for (name, p50, p95) in raw {
        let (saving_usd, saving_percent) = match out.last() {
            Some(prev) => {
                let s = r4(prev.p50_usd_per_day - p50);
                (s, r4(s / prev.p50_usd_per_day * 100.0))
            }
            None => (0.0, 0.0),
        };
        out.push(LeverStep {
            name: name.to_string(),
            p50_usd_per_day: p50,
            p95_usd_per_day: p95,
            saving_usd,
            saving_percent,
        });
    }
    out
}

pub fn sweep() -> Sweep {
    let points = [
        (5.0, 0.044, 0.047, 0.049, 0.0),
        (50.0, 0.44, 0.47, 0.49, 0.0),
        (500.0, 4.38, 4.61, 4.78, 0.0),
        (5_000.0, 43.8, 52.3, 55.1, 0.21),
        (50_000.0, 438.0, 461.0, 478.0, 1.0),
    ]
    .into_iter()
    .map(|(value, p50, p95, p99, breach_probability)| SweepPoint {
        value,
        label: None,
        p50,
        p95,
        p99,
        breach_probability,
    })
    .collect();
    Sweep {
        param: "traffic.tasks_per_day".to_string(),
        daily_budget: Some(50.0),
        points,
        // p95 is $4.61 at 500 and $52.30 at 5,000: bisection narrowed it to 4,611..4,733.
        crossing: Some(Crossing {
            value: 4_688.0,
            low: 4_611.0,
            high: 4_733.0,
        }),
    }
}

/// A sweep over a non-numeric parameter: the cache TTL.
pub fn ttl_sweep() -> Sweep {
    let point = |i: f64, label: &str, p95: f64| SweepPoint {
        value: i,
        label: Some(label.to_string()),
        p50: p95 * 0.95,
        p95,
        p99: p95 * 1.02,
        breach_probability: 0.0,
    };
    Sweep {
        param: "caching.ttl".to_string(),
        daily_budget: Some(5.0),
        points: vec![point(0.0, "5m", 4.61), point(1.0, "1h", 5.12)],
        crossing: None,
    }
}

/// Three held-out days from 2026-12-07: inside, above the band, inside.
pub fn holdout_days() -> Vec<burnrate_sim::HoldoutDay> {
    const DAY_US: i64 = 86_400_000_000;
    // 2026-12-07 is day 20,794 since 1970-01-01.
    let start = 20_794 * DAY_US;
    [
        (100, 4.10, 3.60, 4.05, 4.55),
        (131, 5.90, 3.55, 4.01, 4.50),
        (97, 3.80, 3.50, 3.98, 4.46),
    ]
    .iter()
    .enumerate()
    .map(
        |(i, &(calls, actual, p05, mean, p95))| burnrate_sim::HoldoutDay {
            day_start_us: start + i as i64 * DAY_US,
            calls,
            actual_usd: actual,
            p05_usd: p05,
            mean_usd: mean,
            p95_usd: p95,
        },
    )
    .collect()
}
