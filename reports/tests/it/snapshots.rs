//! Snapshot tests of every text format. The committed `.snap` files are the reference: a change
//! in any figure or layout fails here until it is reviewed and accepted
//! (`INSTA_UPDATE=always cargo test -p burnrate-llm-reports`, then review the diff).

use crate::fixtures::{growing, levers, over_budget, support_agent, sweep, ttl_sweep};
use burnrate_reports as reports;

#[test]
fn text_report() {
    insta::assert_snapshot!("text_support_agent", reports::text(&support_agent()));
    insta::assert_snapshot!("text_over_budget", reports::text(&over_budget()));
}

#[test]
fn markdown_report_starts_with_the_verdict() {
    let md = reports::markdown(&support_agent());
    let first = md.lines().next().unwrap();
    assert!(first.starts_with("✅ p95 daily cost $4."), "{first}");
    assert!(
        first.contains("is under the $50.00 budget (breach probability 0.0% (0.0-"),
        "{first}"
    );
    insta::assert_snapshot!("markdown_support_agent", md);

    let md = reports::markdown(&over_budget());
    assert!(md.starts_with("❌ p95 daily cost $"), "{md}");
    assert!(
        md.lines()
            .next()
            .unwrap()
            .contains("is over the $50.00 budget")
    );
    insta::assert_snapshot!("markdown_over_budget", md);
}

#[test]
fn growing_traffic_leads_with_cost_over_time_and_saturation() {
    let r = growing();
    let text = reports::text(&r);
    let lines: Vec<&str> = text.lines().collect();
    let sat = lines
        .iter()
        .position(|l| l.starts_with("SATURATED: "))
        .unwrap();
    let verdict = lines
        .iter()
        .position(|l| l.starts_with("OVER BUDGET: "))
        .unwrap();
    assert!(sat < verdict, "saturation before the budget line");
    assert!(lines[sat].contains("claude-sonnet-4-5 ITPM from hour 1909 (day 80 13:00)"));
    insta::assert_snapshot!("text_growing", text);

    let md = reports::markdown(&r);
    assert!(md.starts_with("⚠️ Saturated: rate limits saturate: claude-sonnet-4-5 ITPM"));
    let over_time = md.find("**Cost over time**").unwrap();
    assert!(
        over_time < md.find("| cost ").unwrap(),
        "cost over time leads"
    );
    // Every month of the horizon is listed.
    for m in ["| 1 ", "| 2 ", "| 3 "] {
        assert!(md.contains(m), "{m} missing:\n{md}");
    }
    insta::assert_snapshot!("markdown_growing", md);
}

#[test]
fn markdown_without_budget_says_so() {
    let mut r = support_agent();
    r.budget.daily_usd = None;
    let md = reports::markdown(&r);
    assert!(md.starts_with("ℹ️ p95 daily cost $"), "{md}");
    assert!(
        md.lines()
            .next()
            .unwrap()
            .ends_with("(no daily budget set)")
    );
}

#[test]
fn csv_timeline_of_a_growing_run() {
    let files = reports::csv(&growing());
    let file = |name: &str| &files.iter().find(|(n, _)| n == name).unwrap().1;
    let days = file("timeline_days.csv");
    let months = file("timeline_months.csv");
    // A header and one row per simulated day (90) and per 30-day month (3).
    assert_eq!(days.lines().count(), 1 + 90);
    assert_eq!(months.lines().count(), 1 + 3);
    assert!(
        days.lines().nth(1).unwrap().starts_with("1,"),
        "days are 1-based"
    );
    insta::assert_snapshot!("csv_growing_timeline_days", days);
    insta::assert_snapshot!("csv_growing_timeline_months", months);
}

#[test]
fn csv_files() {
    let files = reports::csv(&support_agent());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "summary.csv",
            "daily_costs.csv",
            "by_step.csv",
            "by_model.csv",
            "by_kind.csv",
            "cache_by_step.csv",
            "latency_histogram.csv",
            "timeline_days.csv",
            "timeline_months.csv",
            "sample_day.csv"
        ]
    );
    for (name, body) in &files {
        // Every row has as many fields as the header (no field here needs quoting).
        let width = body.lines().next().unwrap().split(',').count();
        for line in body.lines() {
            assert_eq!(line.split(',').count(), width, "{name}: {line}");
        }
        insta::assert_snapshot!(format!("csv_{}", name.trim_end_matches(".csv")), body);
    }
    let daily = &files[1].1;
    assert_eq!(daily.lines().count(), 1 + 30 * 4);
    assert!(
        daily.lines().nth(5).unwrap().starts_with("1,0,"),
        "replica-major, day-minor"
    );
}

#[test]
fn csv_quotes_names_with_commas() {
    let mut r = support_agent();
    let v = r.cost_usd.by_step.remove("draft").unwrap();
    r.cost_usd
        .by_step
        .insert("draft, long \"form\"".to_string(), v);
    let files = reports::csv(&r);
    let by_step = &files.iter().find(|(n, _)| n == "by_step.csv").unwrap().1;
    assert!(
        by_step.contains("\"draft, long \"\"form\"\"\",3.12,"),
        "{by_step}"
    );
}

#[test]
fn json_is_pretty_stable_and_round_trips() {
    let r = support_agent();
    let a = reports::json(&r);
    assert_eq!(a, reports::json(&r.clone()));
    assert!(a.starts_with("{\n  \"scenario\": \"support-agent\","));
    let back: burnrate_sim::SimResult = serde_json::from_str(&a).unwrap();
    assert_eq!(back, r);
}

#[test]
fn lever_tables() {
    let steps = levers();
    insta::assert_snapshot!("levers_text", reports::levers_text(&steps));
    let md = reports::levers_markdown(&steps);
    assert!(md.starts_with("💡 The levers take p50 daily cost from $31.80 (naive POC) to $4.38"));
    insta::assert_snapshot!("levers_markdown", md);
    let json: serde_json::Value = serde_json::from_str(&reports::levers_json(&steps)).unwrap();
    assert_eq!(json["steps"].as_array().unwrap().len(), 5);
    assert_eq!(json["steps"][1]["name"], "+ routing");
    assert!((json["total_saving_usd"].as_f64().unwrap() - 27.42).abs() < 1e-9);
    insta::assert_snapshot!("levers_json", reports::levers_json(&steps));
}

#[test]
fn sweep_tables_name_the_largest_value_under_budget() {
    let s = sweep();
    assert_eq!(s.largest_value_under_budget(), Some(500.0));
    let md = reports::sweep_markdown(&s);
    assert!(
        md.starts_with(
            "✅ p95 daily cost crosses the $50.00 budget at traffic.tasks_per_day = 4,688 (between 4,611 and 4,733); largest swept value under it: 500\n"
        ),
        "{md}"
    );
    insta::assert_snapshot!("sweep_markdown", md);
    insta::assert_snapshot!("sweep_text", reports::sweep_text(&s));
    let json: serde_json::Value = serde_json::from_str(&reports::sweep_json(&s)).unwrap();
    assert_eq!(json["largest_value_under_budget"], 500.0);
    assert_eq!(json["points"].as_array().unwrap().len(), 5);
    assert_eq!(json["crossing"]["low"], 4_611.0);
    assert_eq!(json["crossing"]["high"], 4_733.0);

    let mut none = s.clone();
    none.crossing = None;
    assert!(reports::sweep_markdown(&none).starts_with(
        "✅ Largest traffic.tasks_per_day whose p95 daily cost stays under the $50.00 budget: 500\n"
    ));
    none.daily_budget = Some(0.01);
    assert_eq!(none.largest_value_under_budget(), None);
    assert!(reports::sweep_markdown(&none).starts_with("❌ No swept value"));
}

#[test]
fn a_non_numeric_sweep_keeps_its_labels() {
    let s = ttl_sweep();
    let text = reports::sweep_text(&s);
    assert!(
        text.starts_with(
            "Values of caching.ttl whose p95 daily cost stays under the $5.00 budget: 5m\n"
        ),
        "{text}"
    );
    assert!(text.contains("5m") && text.contains("1h"));
    assert!(
        !text.contains("\n  0 ") && !text.contains("\n  1 "),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&reports::sweep_json(&s)).unwrap();
    assert_eq!(json["points"][1]["label"], "1h");
    assert_eq!(json["largest_value_under_budget"], serde_json::Value::Null);
    insta::assert_snapshot!("sweep_ttl_markdown", reports::sweep_markdown(&s));
}

#[test]
fn compare_side_by_side() {
    let (a, b) = (over_budget(), support_agent());
    let md = reports::compare_markdown(&a, &b);
    assert!(
        md.starts_with("p95 daily cost of support-agent is $"),
        "{md}"
    );
    assert!(
        md.lines()
            .next()
            .unwrap()
            .contains("lower than runaway-agent")
    );
    insta::assert_snapshot!("compare_markdown", md);
    insta::assert_snapshot!("compare_text", reports::compare_text(&a, &b));
    let json: serde_json::Value = serde_json::from_str(&reports::compare_json(&a, &b)).unwrap();
    let rows = json["rows"].as_array().unwrap();
    let p95 = rows
        .iter()
        .find(|r| r["metric"] == "daily cost p95")
        .unwrap();
    let diff = b.cost_usd.per_day.p95 - a.cost_usd.per_day.p95;
    assert!((p95["difference"].as_f64().unwrap() - diff).abs() < 1e-12);
    // Steps present in only one run compare against zero.
    let draft = rows
        .iter()
        .find(|r| r["metric"] == "step draft $/day")
        .unwrap();
    assert_eq!(draft["a"], 0.0);
    assert_eq!(draft["b"], 3.12);
}

fn spec(budget: f64, max_breach: f64, percentile: f64) -> reports::CheckSpec {
    reports::CheckSpec {
        daily_budget: budget,
        max_breach_probability: max_breach,
        percentile,
        baseline: None,
    }
}

#[test]
fn check_gate() {
    use reports::Verdict;
    let r = support_agent();
    // 120 days, none over $50: the breach interval's upper end is about z^2 / n = 3.4%, above
    // a 1% limit, so the honest answer is "cannot tell yet".
    let c = reports::check(&r, &spec(50.0, 0.01, 95.0));
    assert_eq!(c.gates[0].verdict, Verdict::Holds);
    assert_eq!(c.gates[1].verdict, Verdict::Inconclusive, "{c:?}");
    assert_eq!(c.verdict, Verdict::Inconclusive);
    let settle = c.replicas_to_settle.expect("an estimate");
    assert!(settle > u64::from(r.replicas), "{settle}");
    let md = reports::check_markdown(&r, &c);
    assert!(
        md.starts_with("### Budget gate: support-agent\n\n⚠️ Budget gate inconclusive"),
        "{md}"
    );
    insta::assert_snapshot!("check_inconclusive", md);

    // At 5% both intervals are inside their limits.
    let c = reports::check(&r, &spec(50.0, 0.05, 95.0));
    assert_eq!(c.verdict, Verdict::Holds, "{c:?}");
    let md = reports::check_markdown(&r, &c);
    assert!(
        md.contains("✅ Budget gate holds: p95 daily cost $4."),
        "{md}"
    );
    insta::assert_snapshot!("check_holds", md);
    insta::assert_snapshot!("check_holds_json", reports::check_json(&c));
    insta::assert_snapshot!("check_holds_junit", reports::check_junit(&c, false));

    // A budget below most days breaches on both counts.
    let c = reports::check(&r, &spec(4.0, 0.05, 95.0));
    assert_eq!(c.verdict, Verdict::Breaches);
    assert!(
        c.gates.iter().all(|g| g.verdict == Verdict::Breaches),
        "{c:?}"
    );
    let md = reports::check_markdown(&r, &c);
    assert!(
        md.contains("❌ Budget gate fails: p95 daily cost $4."),
        "{md}"
    );
    insta::assert_snapshot!("check_fails", md);
    let junit = reports::check_junit(&c, false);
    assert_eq!(
        junit.matches("<failure type=\"breaches\"").count(),
        2,
        "{junit}"
    );

    // The breach probability alone can fail the gate: over_budget's p50 is under $50 but its
    // share of days over $50 (15%, interval from 4.3%) is surely above 2%.
    let o = over_budget();
    let c = reports::check(&o, &spec(50.0, 0.02, 50.0));
    assert_eq!(c.gates[0].verdict, Verdict::Holds, "{c:?}");
    assert_eq!(c.gates[1].verdict, Verdict::Breaches, "{c:?}");
    assert_eq!(c.gates[1].value, o.budget.breach_probability);
    let (got, want) = (c.gates[1].ci95, o.budget.breach_probability_ci95);
    assert!(
        (got.low() - want.low()).abs() < 1e-4
            && (got.high().unwrap() - want.high().unwrap()).abs() < 1e-4
    );

    // The p95 gate's figure and interval are the run's own.
    let c = reports::check(&r, &spec(50.0, 0.5, 95.0));
    assert_eq!(c.gates[0].value, r.cost_usd.per_day.p95);
    let g = &c.gates[0];
    assert!((g.ci95.low() - r.cost_usd.per_day.p95_ci95.low()).abs() < 1e-4);

    // Inconclusive with --inconclusive-ok is a skipped test case, not a failure.
    let c = reports::check(&r, &spec(50.0, 0.01, 95.0));
    let junit = reports::check_junit(&c, true);
    assert!(
        junit.contains("<skipped message=") && !junit.contains("<failure"),
        "{junit}"
    );

    // Bad input never holds.
    let c = reports::check(&r, &spec(50.0, 1.5, 95.0));
    assert_eq!(c.verdict, Verdict::Breaches);
    assert!(c.problem.is_some());
    assert!(reports::check_markdown(&r, &c).contains("❌ Budget gate could not be evaluated"));
    assert!(reports::check(&r, &spec(50.0, 0.05, 0.0)).problem.is_some());
}

#[test]
fn baseline_gate_names_what_changed() {
    use reports::Verdict;
    let base = support_agent();
    let mut now = support_agent();
    // Draft 30% dearer: p95 daily cost +30% with the same relative noise.
    let scale = |q: &mut burnrate_sim::Quantiles| {
        q.p95 *= 1.3;
        q.p95_ci95 = q.p95_ci95.map(|v| v * 1.3);
    };
    scale(&mut now.cost_usd.per_day);
    *now.cost_usd.by_step.get_mut("draft").unwrap() *= 1.3;
    let with_base = |_: &burnrate_sim::SimResult| reports::CheckSpec {
        baseline: Some((base.clone(), 0.10)),
        ..spec(50.0, 0.5, 95.0)
    };
    let c = reports::check(&now, &with_base(&now));
    let g = c.gates.last().unwrap();
    assert_eq!(g.verdict, Verdict::Breaches, "{g:?}");
    assert!((g.value - 1.3).abs() < 1e-9);
    assert_eq!(c.changes[0].name, "draft");
    let md = reports::check_markdown(&now, &c);
    assert!(md.contains("What changed most"), "{md}");
    insta::assert_snapshot!("check_baseline_fails", md);
    // Unchanged: holds.
    let c = reports::check(&base, &with_base(&base));
    assert_eq!(c.gates.last().unwrap().verdict, Verdict::Holds);
}

/// The baseline gate follows the one rule of every gate, on figures computed by hand.
/// Baseline p95 $100 and current $108, each interval `value ± Z975 x se`: the ratio is 1.08
/// and its standard error (delta method, independent runs) `1.08 x sqrt(rel_c² + rel_b²)`.
/// - rel_c = rel_b = 1%: se = 0.015274, interval 1.0501-1.1099. A 4% limit lies wholly below
///   it (breaches), a 15% limit wholly above it (holds), 10% straddles it (inconclusive), and
///   no number of current replicas settles it: the distance 0.02 needs the ratio's relative se
///   under 0.02 / (Z975 x 1.08) = 0.94%, less than the baseline's 1% alone.
/// - rel_b = 0.2%: interval 1.0584-1.1016 still straddles 10%, and the current run's share must
///   fall from 1e-4 to 0.94%² - 0.2%² = 8.527e-5: 50 x 1e-4 / 8.527e-5 = 58.6 replicas, 64 in
///   whole batches of 16.
#[test]
fn the_baseline_gate_holds_breaches_or_is_inconclusive_by_the_one_rule() {
    use burnrate_sim::stats::{Ci95, Z975};
    use reports::Verdict;
    let with = |p95: f64, rel_se: f64| {
        let mut r = support_agent();
        r.replicas = 50;
        r.cost_usd.per_day.p95 = p95;
        let half = Z975 * rel_se * p95;
        r.cost_usd.per_day.p95_ci95 = Ci95(p95 - half, Some(p95 + half));
        r
    };
    let gate = |now: &burnrate_sim::SimResult, base: &burnrate_sim::SimResult, limit: f64| {
        let spec = reports::CheckSpec {
            baseline: Some((base.clone(), limit)),
            ..spec(1e9, 1.0, 95.0)
        };
        reports::check(now, &spec).gates.last().unwrap().clone()
    };
    let (now, base) = (with(108.0, 0.01), with(100.0, 0.01));
    let g = gate(&now, &base, 0.04);
    assert_eq!(g.verdict, Verdict::Breaches, "{g:?}");
    assert!((g.ci95.low() - 1.0501).abs() < 1e-4, "{g:?}");
    assert!((g.ci95.high().unwrap() - 1.1099).abs() < 1e-4, "{g:?}");
    assert_eq!(gate(&now, &base, 0.15).verdict, Verdict::Holds);
    let g = gate(&now, &base, 0.10);
    assert_eq!(
        (g.verdict, g.replicas_to_settle),
        (Verdict::Inconclusive, None)
    );

    let tight = with(100.0, 0.002);
    let g = gate(&now, &tight, 0.10);
    assert!((g.ci95.low() - 1.0584).abs() < 1e-4, "{g:?}");
    assert_eq!(
        (g.verdict, g.replicas_to_settle),
        (Verdict::Inconclusive, Some(64))
    );
    // Every format says so: the check is inconclusive, the Markdown marks the row.
    let spec = reports::CheckSpec {
        baseline: Some((tight.clone(), 0.10)),
        ..spec(1e9, 1.0, 95.0)
    };
    let c = reports::check(&now, &spec);
    assert_eq!(c.verdict, Verdict::Inconclusive);
    let md = reports::check_markdown(&now, &c);
    assert!(
        md.contains(
            "| p95 daily cost / baseline | +8.0% (+5.8% to +10.2%) | ≤ +10.0% | ⚠️ inconclusive |"
        ),
        "{md}"
    );
    assert!(reports::check_junit(&c, false).contains("inconclusive"));
}

#[test]
fn holdout_reports() {
    let days = crate::fixtures::holdout_days();
    let text = reports::holdout_text(&days);
    // 4.10 in [3.60, 4.55], 5.90 above 4.50, 3.80 in [3.50, 4.46]: two of three inside.
    assert!(
        text.contains("2 of 3 days inside the 90% band (about 2.7 expected)"),
        "{text}"
    );
    insta::assert_snapshot!("holdout_text", text);
    insta::assert_snapshot!(
        "holdout_markdown",
        reports::holdout_markdown("support | agent", &days)
    );
}

/// The HTML page's text, tables and verdicts, with each inline chart reduced to its opening
/// tag (the charts' pixels are plotters' business; their data are the tables beside them).
#[test]
fn html_page_apart_from_chart_drawings() {
    for (name, r) in [
        ("html_support_agent", support_agent()),
        ("html_over_budget", over_budget()),
    ] {
        let page = reports::html(&r).unwrap();
        let mut out = String::with_capacity(page.len());
        let mut rest = page.as_str();
        let mut charts = 0;
        while let Some(start) = rest.find("<svg") {
            let open_end = start + rest[start..].find('>').expect("svg tag closes") + 1;
            let close = rest[start..].find("</svg>").expect("svg element closes") + start;
            out.push_str(&rest[..open_end]);
            out.push_str("…</svg>");
            rest = &rest[close + "</svg>".len()..];
            charts += 1;
        }
        out.push_str(rest);
        assert!(charts >= 3, "{name}: {charts} charts");
        insta::assert_snapshot!(name, out);
    }
}
