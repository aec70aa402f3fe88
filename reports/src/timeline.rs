//! Report pieces for the run's time axis and its capacity: the saturation verdict, the
//! per-month table, the first-breach figures and a text sparkline of daily cost.

use crate::fmt::{count, pct, secs, usd};
use burnrate_sim::SimResult;

/// "day D hh:00" for an hour counted from the start of the horizon.
fn hour_label(hour: u32) -> String {
    format!("day {} {:02}:00", hour / 24 + 1, hour % 24)
}

/// The saturation verdict (which model, which limit, from when, the wait it causes), or
/// `None` when no rate limit saturates.
pub(crate) fn saturation_sentence(r: &SimResult) -> Option<String> {
    let c = &r.capacity;
    if !c.saturated || c.binding.is_empty() {
        return None;
    }
    let limits: Vec<String> = c
        .binding
        .iter()
        .map(|b| {
            format!(
                "{} {} from hour {} ({})",
                b.model,
                b.limit,
                b.first_hour,
                hour_label(b.first_hour)
            )
        })
        .collect();
    let mut s = format!(
        "rate limits saturate: {}; tasks wait p50 {}, p95 {} for them",
        limits.join(", "),
        secs(c.task_wait_s.p50),
        secs(c.task_wait_s.p95)
    );
    if r.tasks.abandoned > 0 {
        s.push_str(&format!(
            "; {} tasks abandoned ({})",
            count(r.tasks.abandoned),
            pct(r.tasks.abandoned as f64 / r.tasks.total.max(1) as f64)
        ));
    }
    Some(s)
}

/// The per-month rows (header first): month, days, mean, p50, p95.
pub(crate) fn month_rows(r: &SimResult) -> Vec<Vec<String>> {
    let mut rows = vec![
        ["month", "days", "mean", "p50", "p95"]
            .map(String::from)
            .to_vec(),
    ];
    for m in &r.timeline.months {
        rows.push(vec![
            m.month.to_string(),
            if m.days < burnrate_sim::MONTH_DAYS {
                format!("{} (partial)", m.days)
            } else {
                m.days.to_string()
            },
            usd(m.cost_usd.mean),
            usd(m.cost_usd.p50),
            usd(m.cost_usd.p95),
        ]);
    }
    rows
}

/// The label of the per-month figure: says when it was scaled from a shorter run.
pub(crate) fn per_month_label(r: &SimResult) -> String {
    if r.cost_usd.per_month.extrapolated {
        format!("per month (extrapolated from {} days)", r.days)
    } else {
        "per month".to_string()
    }
}

/// First breach day and the share of replicas that ever breach, as a phrase.
pub(crate) fn first_breach_phrase(r: &SimResult) -> Option<String> {
    let f = r.budget.first_breach_day.as_ref()?;
    Some(format!(
        "first breach on day {} (p05 {}, p95 {}) in {} of replicas",
        f.p50,
        f.p05,
        f.p95,
        pct(r.budget.replicas_ever_breaching)
    ))
}

/// A one-line sparkline of values (8 levels), for terminals and Markdown. At most `width`
/// characters: longer series are averaged into buckets.
pub(crate) fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let buckets = values.len().min(width);
    let avg: Vec<f64> = (0..buckets)
        .map(|i| {
            let a = i * values.len() / buckets;
            let b = ((i + 1) * values.len() / buckets).max(a + 1);
            values[a..b].iter().sum::<f64>() / (b - a) as f64
        })
        .collect();
    let top = avg.iter().copied().fold(0.0, f64::max);
    avg.iter()
        .map(|v| {
            if top <= 0.0 {
                BARS[0]
            } else {
                BARS[((v / top) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

/// The daily p50 and p95 sparklines with their ranges, one line each.
pub(crate) fn cost_over_time_lines(r: &SimResult) -> Vec<String> {
    let days = &r.timeline.days;
    if days.is_empty() {
        return Vec::new();
    }
    let p50: Vec<f64> = days.iter().map(|d| d.cost_usd.p50).collect();
    let p95: Vec<f64> = days.iter().map(|d| d.cost_usd.p95).collect();
    let first = &days[0];
    let last = &days[days.len() - 1];
    vec![
        format!(
            "p50 {} day 1 {} → day {} {}",
            sparkline(&p50, 60),
            usd(first.cost_usd.p50),
            last.day,
            usd(last.cost_usd.p50)
        ),
        format!(
            "p95 {} day 1 {} → day {} {}",
            sparkline(&p95, 60),
            usd(first.cost_usd.p95),
            last.day,
            usd(last.cost_usd.p95)
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_to_the_top_and_buckets_long_series() {
        assert_eq!(sparkline(&[0.0, 1.0, 2.0, 4.0], 10), "▁▃▅█");
        // 8 values into 4 buckets of 2: averages 0.5, 2.5, 4.5, 6.5.
        let v: Vec<f64> = (0..8).map(f64::from).collect();
        assert_eq!(sparkline(&v, 4).chars().count(), 4);
        assert_eq!(sparkline(&[], 4), "");
        assert_eq!(hour_label(37), "day 2 13:00");
    }
}
