//! Number formatting shared by every renderer. Deterministic: no locale, no clock.

/// Dollars for people: `$4.61`, `$1,234.50`, `$0.0088`, `-$2.10`.
pub(crate) fn usd(x: f64) -> String {
    if !x.is_finite() {
        return format!("${x}");
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let a = x.abs();
    if a == 0.0 {
        return "$0.00".to_string();
    }
    if a < 0.0995 {
        // Small amounts (cost per task) need more than cents: $0.0088, not $0.01.
        return format!("{sign}${a:.4}");
    }
    let cents = format!("{a:.2}");
    let (int, frac) = cents.split_once('.').unwrap_or((&cents, "00"));
    format!("{sign}${}.{frac}", group_thousands(int))
}

/// A figure with its 95% interval, `$4.43 (4.38-4.49)`: the interval's ends without the unit;
/// `?` for an end the sample cannot bound.
fn with_ci(figure: String, ci: &burnrate_sim::Ci95, end: impl Fn(f64) -> String) -> String {
    let high = ci.high().map_or("?".to_string(), &end);
    format!("{figure} ({}-{high})", end(ci.low()))
}

/// Dollars with their 95% interval: `$4.43 (4.38-4.49)`.
pub(crate) fn usd_ci(x: f64, ci: &burnrate_sim::Ci95) -> String {
    with_ci(usd(x), ci, |v| usd(v).replacen('$', "", 1))
}

/// A share with its 95% interval: `1.2% (0.4-3.1%)`.
pub(crate) fn pct_ci(p: f64, ci: &burnrate_sim::Ci95) -> String {
    let high = ci.high().map_or("?".to_string(), pct);
    format!("{} ({:.1}-{high})", pct(p), ci.low() * 100.0)
}

/// Seconds with their 95% interval: `12.3 s (11.9-12.8 s)` (the unit once when both ends share it).
pub(crate) fn secs_ci(s: f64, ci: &burnrate_sim::Ci95) -> String {
    let high = ci.high().map_or("?".to_string(), secs);
    let low = secs(ci.low());
    let low = match (low.rsplit_once(' '), high.rsplit_once(' ')) {
        (Some((n, a)), Some((_, b))) if a == b => n.to_string(),
        _ => low,
    };
    format!("{} ({low}-{high})", secs(s))
}

/// A signed difference in dollars: `+$1.20`, `-$0.50`, `$0.00`.
pub(crate) fn usd_signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", usd(x))
    } else {
        usd(x)
    }
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A probability or share as a percentage with one decimal: `0.0123` -> `1.2%`.
pub(crate) fn pct(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}

/// A signed percentage-point difference: `+1.5 pp`.
pub(crate) fn pp_signed(d: f64) -> String {
    let v = d * 100.0;
    if v > 0.0 {
        format!("+{v:.1} pp")
    } else {
        format!("{v:.1} pp")
    }
}

/// A relative change `b / a - 1` as `+12.3%`, or `n/a` when `a` is zero.
pub(crate) fn rel_change(a: f64, b: f64) -> String {
    if a == 0.0 {
        if b == 0.0 {
            return "0.0%".to_string();
        }
        return "n/a".to_string();
    }
    let r = (b / a - 1.0) * 100.0;
    if r > 0.0 {
        format!("+{r:.1}%")
    } else {
        format!("{r:.1}%")
    }
}

/// Seconds for people: `0.84 s`, `12.3 s`, `4.2 min`.
pub(crate) fn secs(s: f64) -> String {
    if s >= 120.0 {
        format!("{:.1} min", s / 60.0)
    } else if s >= 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.2} s")
    }
}

/// A plain number for axis labels and tables: integers without decimals, others trimmed.
pub(crate) fn num(x: f64) -> String {
    if x.is_finite() && x == x.round() && x.abs() < 1e15 {
        let s = format!("{}", x as i64);
        if x.abs() >= 1_000.0 {
            let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
            return format!("{sign}{}", group_thousands(digits));
        }
        return s;
    }
    let s = if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    };
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Counts with thousands separators: `12,345`.
pub(crate) fn count(n: u64) -> String {
    group_thousands(&n.to_string())
}

/// Escapes a string for HTML text and attribute values.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes a Markdown table cell: pipes and newlines would break the row.
pub(crate) fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Renders rows as a GitHub Markdown table. The first row is the header; `right` marks columns
/// to right-align (numbers).
pub(crate) fn md_table(rows: &[Vec<String>], right: &[bool]) -> String {
    let mut out = String::new();
    let Some(header) = rows.first() else {
        return out;
    };
    out.push('|');
    for h in header {
        out.push_str(&format!(" {} |", md_cell(h)));
    }
    out.push_str("\n|");
    for i in 0..header.len() {
        out.push_str(if right.get(i).copied().unwrap_or(false) {
            " ---: |"
        } else {
            " --- |"
        });
    }
    out.push('\n');
    for row in &rows[1..] {
        out.push('|');
        for c in row {
            out.push_str(&format!(" {} |", md_cell(c)));
        }
        out.push('\n');
    }
    out
}

/// Renders rows as an aligned plain-text table (first row is the header, underlined).
pub(crate) fn text_table(rows: &[Vec<String>], right: &[bool]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for (r, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i] - c.chars().count();
            if right.get(i).copied().unwrap_or(false) {
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            } else {
                line.push_str(c);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str("  ");
        out.push_str(line.trim_end());
        out.push('\n');
        if r == 0 {
            let total: usize = widths.iter().sum::<usize>() + 2 * cols.saturating_sub(1);
            out.push_str("  ");
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    out
}

/// The cost table's rows in dollars (each quantile with its 95% interval), under the columns mean, p50, p95, p99, max, CVaR95: per
/// task, per day, and per month (a month has no max or CVaR95, so those cells stay empty).
/// Shared by the HTML and plain-text reports so both show the same figures.
pub(crate) fn cost_quantile_rows(c: &burnrate_sim::CostSummary) -> Vec<Vec<String>> {
    let q = |name: &str, q: &burnrate_sim::Quantiles| {
        vec![
            name.to_string(),
            usd_ci(q.mean, &q.mean_ci95),
            usd_ci(q.p50, &q.p50_ci95),
            usd_ci(q.p95, &q.p95_ci95),
            usd_ci(q.p99, &q.p99_ci95),
            usd(q.max),
            usd(q.cvar95),
        ]
    };
    vec![
        q("per task", &c.per_task),
        q("per day", &c.per_day),
        vec![
            "per month".to_string(),
            usd_ci(c.per_month.mean, &c.per_month.mean_ci95),
            usd_ci(c.per_month.p50, &c.per_month.p50_ci95),
            usd_ci(c.per_month.p95, &c.per_month.p95_ci95),
            usd_ci(c.per_month.p99, &c.per_month.p99_ci95),
            String::new(),
            String::new(),
        ],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars() {
        assert_eq!(usd(4.6123), "$4.61");
        assert_eq!(usd(1234.5), "$1,234.50");
        assert_eq!(usd(1_234_567.0), "$1,234,567.00");
        assert_eq!(usd(0.0088), "$0.0088");
        assert_eq!(usd(0.25), "$0.25");
        assert_eq!(usd(0.047), "$0.0470");
        assert_eq!(usd(-2.1), "-$2.10");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(0.999), "$1.00");
        assert_eq!(usd_signed(1.2), "+$1.20");
    }

    #[test]
    fn numbers() {
        assert_eq!(num(500.0), "500");
        assert_eq!(num(50_000.0), "50,000");
        assert_eq!(num(5_000.0), "5,000");
        assert_eq!(num(0.05), "0.05");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(rel_change(2.0, 3.0), "+50.0%");
        assert_eq!(rel_change(0.0, 3.0), "n/a");
    }
}
