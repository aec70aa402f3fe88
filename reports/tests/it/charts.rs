//! The charts' SVG, parsed with a real XML parser: what each chart must contain.

use crate::fixtures::{levers, over_budget, support_agent, sweep};
use burnrate_reports::{self as reports, BAR_COLOR, BUDGET_COLOR, Chart};
use roxmltree::{Document, Node};

fn chart<'a>(charts: &'a [Chart], name: &str) -> &'a Chart {
    charts
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no chart {name}"))
}

fn texts(doc: &Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

fn has_text(doc: &Document, needle: &str) -> bool {
    texts(doc).iter().any(|t| t.contains(needle))
}

fn bars(doc: &Document, fill: &str) -> usize {
    doc.descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(fill))
        .count()
}

fn points(n: &Node) -> Vec<(f64, f64)> {
    n.attribute("points")
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|p| {
            let (x, y) = p.split_once(',')?;
            Some((x.parse().ok()?, y.parse().ok()?))
        })
        .collect()
}

/// Budget-coloured polylines: (min x, max x, min y, max y) in pixels.
fn budget_lines(doc: &Document) -> Vec<(f64, f64, f64, f64)> {
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(BUDGET_COLOR))
        .map(|n| {
            let p = points(&n);
            let xs = p.iter().map(|(x, _)| *x);
            let ys = p.iter().map(|(_, y)| *y);
            (
                xs.clone().fold(f64::INFINITY, f64::min),
                xs.fold(f64::NEG_INFINITY, f64::max),
                ys.clone().fold(f64::INFINITY, f64::min),
                ys.fold(f64::NEG_INFINITY, f64::max),
            )
        })
        .collect()
}

fn has_vertical_budget_line(doc: &Document) -> bool {
    budget_lines(doc)
        .iter()
        .any(|(x0, x1, y0, y1)| (x1 - x0).abs() < 0.5 && y1 - y0 > 300.0)
}

fn has_horizontal_budget_line(doc: &Document) -> bool {
    budget_lines(doc)
        .iter()
        .any(|(x0, x1, y0, y1)| (y1 - y0).abs() < 0.5 && x1 - x0 > 500.0)
}

fn parse(c: &Chart) -> Document<'_> {
    let doc = Document::parse(&c.svg).unwrap_or_else(|e| panic!("{}: invalid SVG: {e}", c.name));
    let root = doc.root_element();
    assert!(root.has_tag_name("svg"), "{}", c.name);
    assert_eq!(root.attribute("width"), Some("900"));
    assert_eq!(root.attribute("height"), Some("520"));
    doc
}

/// Axes: plotters draws each axis as a polyline; the tick labels and axis descriptions are text.
fn assert_axes(doc: &Document, name: &str, x_desc: &str, y_desc: &str) {
    assert!(
        has_text(doc, x_desc),
        "{name}: no x axis description {x_desc:?}"
    );
    assert!(
        has_text(doc, y_desc),
        "{name}: no y axis description {y_desc:?}"
    );
    let lines = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") || n.has_tag_name("line"))
        .count();
    assert!(lines >= 2, "{name}: no axis lines");
    let labels = texts(doc).len();
    assert!(labels >= 6, "{name}: only {labels} text elements");
}

#[test]
fn every_simulation_chart_is_valid_svg_with_axes_and_a_png() {
    let r = support_agent();
    let charts = reports::simulation_charts(&r).unwrap();
    let names: Vec<&str> = charts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "daily_cost_histogram",
            "daily_cost_cdf",
            "cost_by_step",
            "cost_by_model",
            "cost_by_kind",
            "cache_hit_rate_by_step",
            "task_latency",
            "sample_day_spend"
        ]
    );
    let axes = [
        ("Daily cost (USD)", "Simulated days"),
        ("Daily cost (USD)", "Share of days at or under"),
        ("Step", "USD per day"),
        ("Model", "USD per day"),
        ("Token kind", "USD per day"),
        ("Step", "Hit rate"),
        ("Arrival to final answer (seconds)", "Tasks"),
        ("Hour of day", "Cumulative spend (USD)"),
    ];
    for (c, (x, y)) in charts.iter().zip(axes) {
        let doc = parse(c);
        assert_axes(&doc, &c.name, x, y);
        assert_png(c);
    }
}

fn assert_png(c: &Chart) {
    let decoder = png::Decoder::new(std::io::Cursor::new(&c.png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (900, 520), "{}", c.name);
    let px = &buf[..info.buffer_size()];
    let bytes_per_px = info.line_size / info.width as usize;
    // The caption band (rows 5..40) must hold dark pixels: the title was rasterised with the
    // embedded font.
    let row = info.line_size;
    let dark = (5..40)
        .flat_map(|y| (0..info.width as usize).map(move |x| y * row + x * bytes_per_px))
        .filter(|&i| px[i] < 100 && px[i + 1] < 100 && px[i + 2] < 100)
        .count();
    assert!(
        dark > 200,
        "{}: caption not rendered ({dark} dark pixels)",
        c.name
    );
    // And the chart is not a blank canvas.
    let non_white = px
        .chunks(bytes_per_px)
        .filter(|p| p[..3] != [255, 255, 255])
        .count();
    assert!(
        non_white > 5_000,
        "{}: almost blank ({non_white} px)",
        c.name
    );
}

#[test]
fn cost_by_step_has_one_bar_per_step_with_its_name_and_value() {
    let r = support_agent();
    let charts = reports::simulation_charts(&r).unwrap();
    let doc = parse(chart(&charts, "cost_by_step"));
    assert_eq!(bars(&doc, BAR_COLOR), 4);
    for step in ["classify", "retrieve", "draft", "compliance"] {
        assert!(
            texts(&doc).iter().any(|t| t == step),
            "no label for step {step}"
        );
    }
    assert!(has_text(&doc, "$3.12"));
    let doc = parse(chart(&charts, "cost_by_model"));
    assert_eq!(bars(&doc, BAR_COLOR), 2);
    let doc = parse(chart(&charts, "cost_by_kind"));
    assert_eq!(bars(&doc, BAR_COLOR), 4);
    for kind in ["input", "cache write", "cache read", "output"] {
        assert!(texts(&doc).iter().any(|t| t == kind), "no label {kind}");
    }
    let doc = parse(chart(&charts, "cache_hit_rate_by_step"));
    assert_eq!(bars(&doc, BAR_COLOR), 3, "retrieve does not cache");
    assert!(has_text(&doc, "93.0%"));
}

#[test]
fn bars_are_as_tall_as_their_values() {
    let r = support_agent();
    let charts = reports::simulation_charts(&r).unwrap();
    let doc = parse(chart(&charts, "cost_by_step"));
    // Bars sorted by cost, largest first: draft, compliance, retrieve, classify.
    let heights: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(BAR_COLOR))
        .map(|n| n.attribute("height").unwrap().parse().unwrap())
        .collect();
    let values = [3.12, 0.55, 0.42, 0.31];
    let scale = heights[0] / values[0];
    // One slot per bar: the last bar ends near the plot's right edge (no empty slot).
    let right = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(BAR_COLOR))
        .map(|n| {
            n.attribute("x").unwrap().parse::<f64>().unwrap()
                + n.attribute("width").unwrap().parse::<f64>().unwrap()
        })
        .fold(0.0, f64::max);
    assert!(right > 780.0, "last bar ends at x={right}");
    for (h, v) in heights.iter().zip(values) {
        assert!(
            (h - v * scale).abs() <= 1.5,
            "height {h} for ${v} (scale {scale})"
        );
    }
}

#[test]
fn daily_cost_charts_mark_the_percentiles_and_the_budget() {
    let r = support_agent();
    let charts = reports::simulation_charts(&r).unwrap();
    let q = &r.cost_usd.per_day;
    // CDF: the budget line is always drawn, even far to the right of the costs.
    let doc = parse(chart(&charts, "daily_cost_cdf"));
    assert!(has_vertical_budget_line(&doc), "{:?}", budget_lines(&doc));
    assert!(has_text(&doc, "budget $50.00"));
    for (name, v) in [("p50", q.p50), ("p95", q.p95), ("p99", q.p99)] {
        let label = format!("{name} ${v:.2}");
        assert!(has_text(&doc, &label), "no {label}");
    }
    // Histogram: the $50 budget would squash $4.40 days into a corner, so it is named instead.
    let doc = parse(chart(&charts, "daily_cost_histogram"));
    assert!(!has_vertical_budget_line(&doc));
    assert!(has_text(&doc, "budget $50.00 is off the chart"));
    assert!(has_text(&doc, &format!("p95 ${:.2}", q.p95)));
    assert!(bars(&doc, "#1F77B4") > 5, "histogram bins");

    // Over budget: the line is on both charts and on the sample day.
    let o = over_budget();
    let charts = reports::simulation_charts(&o).unwrap();
    for name in ["daily_cost_histogram", "daily_cost_cdf"] {
        let doc = parse(chart(&charts, name));
        assert!(has_vertical_budget_line(&doc), "{name}");
        assert!(has_text(&doc, "budget $50.00"), "{name}");
    }
    let doc = parse(chart(&charts, "sample_day_spend"));
    assert!(has_horizontal_budget_line(&doc));
    assert!(has_text(&doc, "daily budget $50.00"));
}

#[test]
fn sample_day_shows_the_spend_and_names_an_off_scale_budget() {
    let r = support_agent();
    let charts = reports::simulation_charts(&r).unwrap();
    let doc = parse(chart(&charts, "sample_day_spend"));
    assert!(has_text(&doc, "spent $4.37"));
    assert!(has_text(&doc, "daily budget $50.00 is above the chart"));
    assert!(has_text(&doc, "12:00"));
}

#[test]
fn empty_results_still_draw() {
    let mut r = support_agent();
    r.daily_costs_usd.clear();
    r.sample_day.clear();
    r.latency_s.task_histogram.clear();
    r.cost_usd.by_step.clear();
    r.cache.by_step.clear();
    let charts = reports::simulation_charts(&r).unwrap();
    let doc = parse(chart(&charts, "daily_cost_cdf"));
    assert!(has_text(&doc, "no simulated days"));
    let doc = parse(chart(&charts, "cost_by_step"));
    assert_eq!(bars(&doc, BAR_COLOR), 0);
}

#[test]
fn lever_waterfall() {
    let steps = levers();
    let c = reports::lever_waterfall_chart(&steps, Some(50.0)).unwrap();
    assert_eq!(c.name, "lever_waterfall");
    let doc = parse(&c);
    assert_axes(
        &doc,
        &c.name,
        "Lever switched on (cumulative)",
        "USD per day",
    );
    // Naive bar (grey), four saving bars (green), the result (blue).
    assert_eq!(bars(&doc, "#7F7F7F"), 1);
    assert_eq!(bars(&doc, "#2CA02C"), 4);
    assert_eq!(bars(&doc, BAR_COLOR), 1);
    for s in &steps {
        assert!(texts(&doc).contains(&s.name), "no label {}", s.name);
    }
    assert!(has_text(&doc, "-$19.40 (-61%)"), "{:?}", texts(&doc));
    assert!(has_horizontal_budget_line(&doc));
    assert!(has_text(&doc, "daily budget $50.00"));
    assert_png(&c);
}

#[test]
fn sweep_curves() {
    let s = sweep();
    let c = reports::sweep_chart(&s).unwrap();
    assert_eq!(c.name, "sweep");
    let doc = parse(&c);
    assert_axes(
        &doc,
        &c.name,
        "traffic.tasks_per_day (log scale)",
        "Daily cost (USD)",
    );
    assert!(has_text(&doc, "Breach probability"));
    for name in [
        "p50 daily cost",
        "p95 daily cost",
        "p99 daily cost",
        "breach probability",
    ] {
        assert!(has_text(&doc, name), "legend {name}");
    }
    assert!(has_horizontal_budget_line(&doc));
    assert!(has_text(&doc, "largest under budget: 500"));
    assert!(has_text(&doc, "crosses the budget at 4,688"));
    assert_png(&c);

    // A non-numeric sweep names its values on the axis.
    let c = reports::sweep_chart(&crate::fixtures::ttl_sweep()).unwrap();
    let doc = parse(&c);
    assert!(
        has_text(&doc, "5m") && has_text(&doc, "1h"),
        "{:?}",
        texts(&doc)
    );
}

#[test]
fn holdout_chart_draws_the_band_the_mean_and_each_real_day() {
    let days = crate::fixtures::holdout_days();
    let c = reports::holdout_chart(&days).unwrap();
    assert_eq!(c.name, "holdout");
    assert!(c.png.starts_with(b"\x89PNG"));
    let doc = Document::parse(&c.svg).unwrap();
    // One circle per day (plus one in the legend); the day above its band is a red ring.
    let circles: Vec<Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .collect();
    assert_eq!(circles.len(), days.len() + 1, "{}", c.svg.len());
    let red_rings = circles
        .iter()
        .filter(|n| {
            n.attribute("stroke") == Some(BUDGET_COLOR) && n.attribute("fill") == Some("none")
        })
        .count();
    assert_eq!(red_rings, 1);
    assert!(has_text(&doc, "2026-12-07") && has_text(&doc, "2026-12-09"));
    assert!(has_text(&doc, "simulated p05-p95"));
    // The page embeds the same chart and the table.
    let html = reports::holdout_html("support-agent", &days, &c);
    assert!(
        html.contains("<svg") && html.contains("OUTSIDE") && html.contains("2 of 3 days inside")
    );
}
