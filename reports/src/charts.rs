//! Charts drawn with plotters, each rendered twice from the same drawing code: as SVG (text
//! stays text) and as PNG (rasterised with the embedded font).
//!
//! Fonts: plotters is built without its `ttf` feature, so it never looks for system fonts; the
//! only font it knows is the DejaVu Sans embedded below and registered under the family name
//! [`FONT_FAMILY`] before anything is drawn.
//!
//! Colours are fixed so that the SVG is machine-checkable: the budget line is always
//! [`BUDGET_COLOR`], bars of a breakdown are always [`BAR_COLOR`].

use crate::data::{LeverStep, Sweep, SweepPoint};
use crate::error::ReportError;
use crate::fmt::{num, pct, secs, usd};
use crate::summary::kinds;
use burnrate_sim::{HoldoutDay, SimResult};
use plotters::chart::DualCoordChartContext;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use std::error::Error;
use std::sync::OnceLock;

/// The font family every chart uses (plotters' default sans-serif family name).
pub const FONT_FAMILY: &str = "sans-serif";
/// The embedded font.
pub const FONT_NAME: &str = "DejaVu Sans 2.37 (Debian fonts-dejavu-core)";
/// The embedded font's licence (Bitstream Vera licence; DejaVu changes are public domain).
pub const FONT_LICENCE: &str = include_str!("../assets/DejaVuSans-LICENSE.txt");
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

const SIZE: (u32, u32) = (900, 520);

pub(crate) const BAR: RGBColor = RGBColor(0x1F, 0x77, 0xB4);
/// Fill colour of every breakdown bar in the SVG (`fill="#1F77B4"`).
pub const BAR_COLOR: &str = "#1F77B4";
pub(crate) const BUDGET: RGBColor = RGBColor(0xD6, 0x27, 0x28);
/// Stroke colour of the budget line in the SVG (`stroke="#D62728"`).
pub const BUDGET_COLOR: &str = "#D62728";
const P50: RGBColor = RGBColor(0x2C, 0xA0, 0x2C);
const P95: RGBColor = RGBColor(0xFF, 0x7F, 0x0E);
const P99: RGBColor = RGBColor(0x94, 0x67, 0xBD);
const NAIVE: RGBColor = RGBColor(0x7F, 0x7F, 0x7F);
const SAVING: RGBColor = RGBColor(0x2C, 0xA0, 0x2C);
const INCREASE: RGBColor = RGBColor(0x8C, 0x56, 0x4B);
const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);

/// One rendered chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File stem: the chart is written as `{name}.svg` and `{name}.png`.
    pub name: String,
    /// Human title (also the chart's caption).
    pub title: String,
    /// One sentence saying what the chart shows, for the HTML report.
    pub description: String,
    /// The SVG document (starts with `<svg`).
    pub svg: String,
    /// The PNG file.
    pub png: Vec<u8>,
}

type DrawResult = Result<(), Box<dyn Error>>;

fn ensure_font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        [FontStyle::Normal, FontStyle::Bold]
            .into_iter()
            .all(|style| register_font(FONT_FAMILY, style, FONT_BYTES).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(ReportError::Font { font: FONT_NAME })
    }
}

/// What to draw. Borrowed data; drawn once per backend.
enum Spec<'a> {
    DailyHistogram(&'a SimResult),
    DailyCdf(&'a SimResult),
    Bars(Bars),
    Latency(&'a SimResult),
    SampleDay(&'a SimResult),
    CostOverTime(&'a SimResult),
    Waterfall(&'a [LeverStep], Option<f64>),
    Sweep(&'a Sweep),
    Holdout(&'a [HoldoutDay]),
}

struct Bars {
    title: String,
    x_desc: &'static str,
    y_desc: &'static str,
    items: Vec<(String, f64)>,
    /// Values are shares in 0..=1 (drawn as percentages on a 0-100% axis).
    share: bool,
}

/// Map entries sorted by value, largest first (ties by name), like the report's tables.
fn by_value(map: &std::collections::BTreeMap<String, f64>) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = map.iter().map(|(k, v)| (k.clone(), *v)).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

impl Spec<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        match self {
            Spec::DailyHistogram(r) => daily_histogram(root, r),
            Spec::DailyCdf(r) => daily_cdf(root, r),
            Spec::Bars(b) => bars(root, b),
            Spec::Latency(r) => latency(root, r),
            Spec::SampleDay(r) => sample_day(root, r),
            Spec::CostOverTime(r) => cost_over_time(root, r),
            Spec::Waterfall(steps, budget) => waterfall(root, steps, *budget),
            Spec::Sweep(s) => sweep(root, s),
            Spec::Holdout(days) => holdout(root, days),
        }
    }
}

fn render(name: &str, title: &str, description: String, spec: &Spec) -> Result<Chart, ReportError> {
    ensure_font()?;
    let fail = |e: Box<dyn Error>| ReportError::Chart {
        chart: name.to_string(),
        message: e.to_string(),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        spec.draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }
    let mut rgb = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        spec.draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }
    let png = encode_png(&rgb, SIZE).map_err(|e| ReportError::Png {
        chart: name.to_string(),
        message: e.to_string(),
    })?;
    Ok(Chart {
        name: name.to_string(),
        title: title.to_string(),
        description,
        svg,
        png,
    })
}

fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

/// Every chart of a simulation run, in report order: `cost_over_time` first when traffic
/// changes over the horizon, then `daily_cost_histogram`, `daily_cost_cdf`, `cost_by_step`,
/// `cost_by_model`, `cost_by_kind`, `cache_hit_rate_by_step`, `task_latency`,
/// `sample_day_spend`, and `cost_over_time` last when traffic is steady.
pub fn simulation_charts(r: &SimResult) -> Result<Vec<Chart>, ReportError> {
    let budget = r
        .budget
        .daily_usd
        .map_or("no daily budget set".to_string(), |b| {
            format!("the {} daily budget", usd(b))
        });
    let n = r.daily_costs_usd.len();
    let mut charts = vec![
        render(
            "daily_cost_histogram",
            "Daily cost distribution",
            format!(
                "How the {n} simulated days' costs spread, with p50, p95 and p99 marked against {budget}."
            ),
            &Spec::DailyHistogram(r),
        )?,
        render(
            "daily_cost_cdf",
            "Daily cost CDF",
            format!(
                "Share of simulated days at or under each daily cost; the red line is {budget}."
            ),
            &Spec::DailyCdf(r),
        )?,
    ];
    let c = &r.cost_usd;
    let by = by_value;
    for (name, title, x_desc, items) in [
        ("cost_by_step", "Cost by step", "Step", by(&c.by_step)),
        ("cost_by_model", "Cost by model", "Model", by(&c.by_model)),
        (
            "cost_by_kind",
            "Cost by token kind",
            "Token kind",
            kinds(r)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        ),
    ] {
        charts.push(render(
            name,
            title,
            format!("Mean USD per day by {}.", x_desc.to_lowercase()),
            &Spec::Bars(Bars {
                title: format!("{title} (mean USD/day)"),
                x_desc,
                y_desc: "USD per day",
                items,
                share: false,
            }),
        )?);
    }
    charts.push(render(
        "cache_hit_rate_by_step",
        "Cache hit rate by step",
        format!(
            "Prompt-cache hits per lookup for the steps that cache a prefix (overall {}).",
            pct(r.cache.hit_rate)
        ),
        &Spec::Bars(Bars {
            title: "Cache hit rate by step".to_string(),
            x_desc: "Step",
            y_desc: "Hit rate",
            items: by(&r.cache.by_step),
            share: true,
        }),
    )?);
    charts.push(render(
        "task_latency",
        "Task latency",
        "Time from a task's arrival to its final answer (log scale), with p50, p95 and p99."
            .to_string(),
        &Spec::Latency(r),
    )?);
    charts.push(render(
        "sample_day_spend",
        "One day's spend",
        format!("Cumulative spend over the first simulated day of replica 0 against {budget}."),
        &Spec::SampleDay(r),
    )?);
    if !r.timeline.days.is_empty() {
        let fan = render(
            "cost_over_time",
            "Cost over time",
            format!(
                "Each simulated day's cost across replicas: the band spans p05 to p95, the line is \
                 p50, against {budget}{}.",
                if r.budget.first_breach_day.is_some() {
                    "; the dashed line marks the median first breach"
                } else {
                    ""
                }
            ),
            &Spec::CostOverTime(r),
        )?;
        if r.timeline.traffic_changes {
            charts.insert(0, fan);
        } else {
            charts.push(fan);
        }
    }
    Ok(charts)
}

/// The lever waterfall: the naive start as a full bar, each lever as a floating bar from the
/// previous cost to the new one (p50 USD/day), the final cost as a full bar, p95 marked, and the
/// daily budget as a line when given. File stem `lever_waterfall`.
pub fn lever_waterfall_chart(
    steps: &[LeverStep],
    daily_budget: Option<f64>,
) -> Result<Chart, ReportError> {
    render(
        "lever_waterfall",
        "Cost levers",
        "p50 daily cost from the naive proof of concept through each lever switched on in turn; \
         crosses mark p95."
            .to_string(),
        &Spec::Waterfall(steps, daily_budget),
    )
}

/// Sweep curves: p50, p95 and p99 daily cost against the swept value, breach probability on the
/// right axis, the daily budget as a line. File stem `sweep`.
pub fn sweep_chart(sweep: &Sweep) -> Result<Chart, ReportError> {
    render(
        "sweep",
        &format!("Sweep over {}", sweep.param),
        format!(
            "Daily cost percentiles and budget breach probability as {} varies.",
            sweep.param
        ),
        &Spec::Sweep(sweep),
    )
}

/// Axes for one value a day: days 1..=n centred on whole numbers (`x1` = n + 0.5), 0..`ymax`.
fn day_axes<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    x1: f64,
    ymax: f64,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    Ok(ChartBuilder::on(root)
        .caption(title, caption_style())
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d(0.5f64..x1, 0f64..ymax)?)
}

/// The series legend, in every chart's style.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(font(14))
        .background_style(WHITE.mix(0.9))
        .border_style(INK)
        .draw()?;
    Ok(())
}

/// A p05-p95 band as one filled polygon (upper edge left to right, lower edge back), with its
/// legend entry. `band` holds (x, low, high).
fn draw_band<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    band: &[(f64, f64, f64)],
    label: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let mut outline: Vec<(f64, f64)> = band.iter().map(|&(x, _, hi)| (x, hi)).collect();
    outline.extend(band.iter().rev().map(|&(x, lo, _)| (x, lo)));
    chart
        .draw_series(std::iter::once(Polygon::new(
            outline,
            BAR.mix(0.25).filled(),
        )))?
        .label(label)
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], BAR.mix(0.25).filled()));
    Ok(())
}

/// The hold-out check: each held-out day's simulated p05-p95 band and mean, and the real cost
/// as a point (filled when inside the band, a red ring when outside). File stem `holdout`.
pub fn holdout_chart(days: &[HoldoutDay]) -> Result<Chart, ReportError> {
    render(
        "holdout",
        "Held-out days",
        "The fitted scenario's simulated p05-p95 band and mean of each held-out day, against \
         the day's real cost from the traces' own tokens."
            .to_string(),
        &Spec::Holdout(days),
    )
}

// ---------------------------------------------------------------------------------------------
// Drawing helpers

fn font(size: u32) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().into()
}

fn label(size: u32, color: &RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    (FONT_FAMILY, size)
        .into_font()
        .color(color)
        .pos(Pos::new(h, v))
}

fn caption_style() -> TextStyle<'static> {
    (FONT_FAMILY, 22).into_font().style(FontStyle::Bold).into()
}

fn no_data<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, why: &str) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 30),
        caption_style().pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    root.draw(&Text::new(
        why.to_string(),
        (w as i32 / 2, h as i32 / 2),
        label(18, &INK, HPos::Center, VPos::Center),
    ))?;
    Ok(())
}

/// The right edge of bar `i` of `n` on a segmented axis of exactly `n` segments.
fn right_edge(i: u32, n: u32) -> SegmentValue<u32> {
    if i + 1 >= n {
        SegmentValue::Last
    } else {
        SegmentValue::Exact(i + 1)
    }
}

/// Dollars on an axis spanning `span`: the same decimals on every tick, as many as the tick
/// spacing needs.
fn usd_axis(span: f64, x: f64) -> String {
    let m = span.abs();
    if m >= 1000.0 {
        format!("${}", num(x.round()))
    } else if m >= 20.0 {
        format!("${x:.0}")
    } else if m >= 2.0 {
        format!("${x:.1}")
    } else if m >= 0.2 {
        format!("${x:.2}")
    } else {
        format!("${x:.3}")
    }
}

fn pos_min_max(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// The percentile markers of a distribution: (name, value, colour).
fn quantile_marks(p50: f64, p95: f64, p99: f64) -> [(&'static str, f64, RGBColor); 3] {
    [("p50", p50, P50), ("p95", p95, P95), ("p99", p99, P99)]
}

/// The `k`th percentile marker of a histogram: a vertical line at `v` with its label on top,
/// each later marker shorter so that the labels do not overlap. Linear and log x axes alike.
fn draw_quantile_line<DB, X>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, RangedCoordf64>>,
    k: usize,
    v: f64,
    color: &RGBColor,
    ymax: f64,
    text: String,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
{
    let top = ymax * (0.93 - 0.07 * k as f64);
    chart.draw_series(LineSeries::new(
        vec![(v, 0.0), (v, top)],
        color.stroke_width(2),
    ))?;
    chart.draw_series(std::iter::once(Text::new(
        text,
        (v, top),
        label(13, color, HPos::Left, VPos::Bottom),
    )))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Simulation charts

fn daily_histogram<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &SimResult) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let title = "Daily cost distribution";
    let Some((lo, hi)) = pos_min_max(r.daily_costs_usd.iter().copied()) else {
        return no_data(root, title, "no simulated days");
    };
    let q = &r.cost_usd.per_day;
    let span = (hi - lo).max(hi.abs() * 0.05).max(1e-6);
    let mut x0 = (lo - 0.08 * span).max(0.0);
    let mut x1 = hi + 0.08 * span;
    for (_, v, _) in quantile_marks(q.p50, q.p95, q.p99) {
        x0 = x0.min(v);
        x1 = x1.max(v);
    }
    // The budget is drawn when it fits without squashing the histogram into a corner.
    let budget = r.budget.daily_usd;
    let on_chart = budget.filter(|b| *b >= 0.0 && *b <= x1 + 3.0 * (x1 - x0));
    if let Some(b) = on_chart {
        x0 = x0.min((b - 0.05 * span).max(0.0));
        x1 = x1.max(b + 0.05 * span);
    }

    let bins = 30usize;
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        span / 10.0
    };
    let mut counts = vec![0u64; bins];
    for v in r.daily_costs_usd.iter().filter(|v| v.is_finite()) {
        let i = (((v - lo) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let ymax = *counts.iter().max().unwrap_or(&1) as f64 * 1.3;

    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("{title} ({} simulated days)", r.daily_costs_usd.len()),
            caption_style(),
        )
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, 0f64..ymax)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("Daily cost (USD)")
        .y_desc("Simulated days")
        .x_label_formatter(&|x| usd_axis(x1 - x0, *x))
        .y_label_formatter(&|y| num(*y))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    chart.draw_series(
        counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| {
                let a = lo + i as f64 * width;
                Rectangle::new([(a, 0.0), (a + width, *n as f64)], BAR.mix(0.85).filled())
            }),
    )?;

    for (k, (name, v, color)) in quantile_marks(q.p50, q.p95, q.p99).into_iter().enumerate() {
        draw_quantile_line(&mut chart, k, v, &color, ymax, format!("{name} {}", usd(v)))?;
    }
    match (budget, on_chart) {
        (Some(b), Some(_)) => {
            chart.draw_series(LineSeries::new(
                vec![(b, 0.0), (b, ymax)],
                BUDGET.stroke_width(3),
            ))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("budget {} ", usd(b)),
                (b, ymax * 0.99),
                label(14, &BUDGET, HPos::Right, VPos::Top),
            )))?;
        }
        (Some(b), None) => {
            let note = if b > x1 {
                format!("budget {} is off the chart to the right →", usd(b))
            } else {
                format!("← budget {} is off the chart to the left", usd(b))
            };
            chart.draw_series(std::iter::once(Text::new(
                note,
                (x1, ymax * 0.99),
                label(14, &BUDGET, HPos::Right, VPos::Top),
            )))?;
        }
        _ => {}
    }
    Ok(())
}

fn daily_cdf<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &SimResult) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let title = "Daily cost CDF";
    let mut sorted: Vec<f64> = r
        .daily_costs_usd
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if sorted.is_empty() {
        return no_data(root, title, "no simulated days");
    }
    sorted.sort_by(f64::total_cmp);
    let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
    let span = (hi - lo).max(hi.abs() * 0.05).max(1e-6);
    let mut x0 = (lo - 0.08 * span).max(0.0);
    let mut x1 = hi + 0.08 * span;
    // The budget is always on this chart: how far the curve ends before it is the point.
    if let Some(b) = r.budget.daily_usd.filter(|b| *b >= 0.0) {
        x0 = x0.min(b * 0.95);
        x1 = x1.max(b * 1.05);
    }
    let n = sorted.len() as f64;
    let mut points = Vec::with_capacity(sorted.len() * 2 + 2);
    points.push((x0, 0.0));
    for (i, v) in sorted.iter().enumerate() {
        points.push((*v, i as f64 / n));
        points.push((*v, (i + 1) as f64 / n));
    }
    points.push((x1, 1.0));

    let mut chart = ChartBuilder::on(root)
        .caption(title, caption_style())
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, 0f64..1.08)?;
    chart
        .configure_mesh()
        .x_desc("Daily cost (USD)")
        .y_desc("Share of days at or under")
        .x_label_formatter(&|x| usd_axis(x1 - x0, *x))
        .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    chart.draw_series(LineSeries::new(points, BAR.stroke_width(2)))?;
    let q = &r.cost_usd.per_day;
    for ((name, v, color), level) in quantile_marks(q.p50, q.p95, q.p99)
        .into_iter()
        .zip([0.5, 0.95, 0.99])
    {
        chart.draw_series(std::iter::once(Circle::new((v, level), 5, color.filled())))?;
        let dy = match name {
            "p95" => 0.06,
            "p99" => -0.02,
            _ => 0.0,
        };
        chart.draw_series(std::iter::once(Text::new(
            format!("  {name} {}", usd(v)),
            (v, level - dy),
            label(13, &color, HPos::Left, VPos::Center),
        )))?;
    }
    if let Some(b) = r.budget.daily_usd.filter(|b| *b >= 0.0) {
        chart.draw_series(LineSeries::new(
            vec![(b, 0.0), (b, 1.08)],
            BUDGET.stroke_width(3),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!(
                "budget {} (breach {}) ",
                usd(b),
                pct(r.budget.breach_probability)
            ),
            (b, 0.3),
            label(14, &BUDGET, HPos::Right, VPos::Center),
        )))?;
    }
    Ok(())
}

fn bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, b: &Bars) -> DrawResult
where
    DB::ErrorType: 'static,
{
    if b.items.is_empty() {
        return no_data(root, &b.title, "nothing to show for this run");
    }
    let n = b.items.len() as u32;
    let vmax = b.items.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let ymax = if b.share {
        1.1
    } else {
        (vmax * 1.18).max(1e-6)
    };
    let value_label = |v: f64| if b.share { pct(v) } else { usd(v) };
    let mut chart = ChartBuilder::on(root)
        .caption(&b.title, caption_style())
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0f64..ymax)?;
    let names: Vec<&str> = b.items.iter().map(|(k, _)| k.as_str()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(b.items.len() + 1)
        .x_desc(b.x_desc)
        .y_desc(b.y_desc)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names
                .get(*i as usize)
                .map_or(String::new(), |s| s.to_string()),
            _ => String::new(),
        })
        .y_label_formatter(&|y| {
            if b.share {
                format!("{:.0}%", y * 100.0)
            } else {
                usd_axis(ymax, *y)
            }
        })
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    let margin = (60 / n.max(1)).clamp(6, 40);
    chart.draw_series(b.items.iter().enumerate().map(|(i, (_, v))| {
        let i = i as u32;
        let mut bar = Rectangle::new(
            [(SegmentValue::Exact(i), 0.0), (right_edge(i, n), *v)],
            BAR.filled(),
        );
        bar.set_margin(0, 0, margin, margin);
        bar
    }))?;
    chart.draw_series(b.items.iter().enumerate().map(|(i, (_, v))| {
        Text::new(
            value_label(*v),
            (SegmentValue::CenterOf(i as u32), *v + ymax * 0.01),
            label(14, &INK, HPos::Center, VPos::Bottom),
        )
    }))?;
    Ok(())
}

fn latency<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &SimResult) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let title = "Task latency";
    let hist: Vec<(f64, f64, u64)> = {
        let h = &r.latency_s.task_histogram;
        let mut out = Vec::with_capacity(h.len());
        for (i, (upper, count)) in h.iter().enumerate() {
            let lower = if i == 0 {
                match h.get(1) {
                    Some((u1, _)) if *u1 > *upper && *upper > 0.0 => upper * upper / u1,
                    _ => upper / 2.0,
                }
            } else {
                h[i - 1].0
            };
            if lower > 0.0 && *upper > lower {
                out.push((lower, *upper, *count));
            }
        }
        out
    };
    let total: u64 = hist.iter().map(|(_, _, n)| n).sum();
    if total == 0 {
        return no_data(root, title, "no finished tasks");
    }
    let l = &r.latency_s.task;
    let mut x0 = hist[0].0;
    let mut x1 = hist[hist.len() - 1].1;
    for v in [l.p50, l.p95, l.p99] {
        if v > 0.0 {
            x0 = x0.min(v);
            x1 = x1.max(v);
        }
    }
    let ymax = hist.iter().map(|(_, _, n)| *n).max().unwrap_or(1) as f64 * 1.3;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("{title} ({} tasks, log scale)", crate::fmt::count(total)),
            caption_style(),
        )
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d((x0..x1).log_scale(), 0f64..ymax)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("Arrival to final answer (seconds)")
        .y_desc("Tasks")
        .x_label_formatter(&|x| num(*x))
        .y_label_formatter(&|y| num(*y))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    chart.draw_series(hist.iter().filter(|(_, _, n)| *n > 0).map(|(a, b, n)| {
        let mut bar = Rectangle::new([(*a, 0.0), (*b, *n as f64)], BAR.mix(0.85).filled());
        bar.set_margin(0, 0, 1, 1);
        bar
    }))?;
    for (k, (name, v, color)) in quantile_marks(l.p50, l.p95, l.p99).into_iter().enumerate() {
        if v <= 0.0 {
            continue;
        }
        draw_quantile_line(
            &mut chart,
            k,
            v,
            &color,
            ymax,
            format!("{name} {}", secs(v)),
        )?;
    }
    Ok(())
}

fn sample_day<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &SimResult) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let title = "One simulated day's cumulative spend";
    if r.sample_day.is_empty() {
        return no_data(root, title, "no spend on the sample day");
    }
    let spent = r.sample_day.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let budget = r.budget.daily_usd.filter(|b| *b >= 0.0);
    let on_chart = budget.filter(|b| *b <= 4.0 * spent.max(1e-9));
    let ymax = on_chart.unwrap_or(0.0).max(spent).max(1e-6) * 1.12;
    let mut points = Vec::with_capacity(r.sample_day.len() + 2);
    points.push((0.0, 0.0));
    let mut last = 0.0;
    for (h, v) in &r.sample_day {
        // A step line: spend jumps when a call is billed.
        points.push((*h, last));
        points.push((*h, *v));
        last = *v;
    }
    points.push((24.0, last));
    let mut chart = ChartBuilder::on(root)
        .caption(title, caption_style())
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d(0f64..24.0, 0f64..ymax)?;
    chart
        .configure_mesh()
        .x_labels(13)
        .x_desc("Hour of day")
        .y_desc("Cumulative spend (USD)")
        .x_label_formatter(&|h| format!("{:02}:00", *h as u32))
        .y_label_formatter(&|y| usd_axis(ymax, *y))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    chart.draw_series(LineSeries::new(points, BAR.stroke_width(2)))?;
    chart.draw_series(std::iter::once(Text::new(
        format!("spent {} ", usd(last)),
        (24.0, last),
        label(13, &BAR, HPos::Right, VPos::Bottom),
    )))?;
    match (budget, on_chart) {
        (Some(b), Some(_)) => {
            chart.draw_series(LineSeries::new(
                vec![(0.0, b), (24.0, b)],
                BUDGET.stroke_width(3),
            ))?;
            chart.draw_series(std::iter::once(Text::new(
                format!(" daily budget {}", usd(b)),
                (0.0, b),
                label(14, &BUDGET, HPos::Left, VPos::Bottom),
            )))?;
        }
        (Some(b), None) => {
            chart.draw_series(std::iter::once(Text::new(
                format!(" daily budget {} is above the chart ↑", usd(b)),
                (0.0, ymax * 0.99),
                label(14, &BUDGET, HPos::Left, VPos::Top),
            )))?;
        }
        _ => {}
    }
    Ok(())
}

/// The cost-over-time fan chart: p05-p95 band and p50 line of each day's cost across
/// replicas, the daily budget, and the median first breach day.
fn cost_over_time<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &SimResult) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let title = "Daily cost over the horizon";
    let days = &r.timeline.days;
    if days.is_empty() {
        return no_data(root, title, "no simulated days");
    }
    let top = days.iter().map(|d| d.cost_usd.p95).fold(0.0, f64::max);
    let budget = r.budget.daily_usd.filter(|b| *b >= 0.0);
    let on_chart = budget.filter(|b| *b <= 4.0 * top.max(1e-9));
    let ymax = on_chart.unwrap_or(0.0).max(top).max(1e-6) * 1.12;
    let x1 = days.len() as f64 + 0.5;
    let mut chart = day_axes(root, title, x1, ymax)?;
    chart
        .configure_mesh()
        .x_desc("Day of the horizon")
        .y_desc("Daily cost (USD)")
        .x_label_formatter(&|d| format!("{}", d.round() as i64))
        .y_label_formatter(&|y| usd_axis(ymax, *y))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    let day = |d: &burnrate_sim::TimelineDay| f64::from(d.day);
    let band: Vec<(f64, f64, f64)> = days
        .iter()
        .map(|d| (day(d), d.cost_usd.p05, d.cost_usd.p95))
        .collect();
    draw_band(&mut chart, &band, "p05-p95 across replicas")?;
    chart
        .draw_series(LineSeries::new(
            days.iter().map(|d| (day(d), d.cost_usd.p50)),
            P50.stroke_width(2),
        ))?
        .label("p50")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], P50.stroke_width(2)));
    match (budget, on_chart) {
        (Some(b), Some(_)) => {
            chart
                .draw_series(LineSeries::new(
                    vec![(0.5, b), (x1, b)],
                    BUDGET.stroke_width(3),
                ))?
                .label(format!("daily budget {}", usd(b)))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], BUDGET.stroke_width(3))
                });
        }
        (Some(b), None) => {
            chart.draw_series(std::iter::once(Text::new(
                format!(" daily budget {} is above the chart ↑", usd(b)),
                (0.5, ymax * 0.99),
                label(14, &BUDGET, HPos::Left, VPos::Top),
            )))?;
        }
        _ => {}
    }
    if let Some(first) = &r.budget.first_breach_day {
        let x = f64::from(first.p50);
        let k = 16;
        let segs = (0..k).step_by(2).map(|j| {
            let y0 = ymax * j as f64 / k as f64;
            let y1 = ymax * (j + 1) as f64 / k as f64;
            PathElement::new(vec![(x, y0), (x, y1)], INK.stroke_width(2))
        });
        chart.draw_series(segs)?;
        chart.draw_series(std::iter::once(Text::new(
            format!(" first breach: day {} (p50)", first.p50),
            (x, ymax * 0.9),
            label(
                13,
                &INK,
                if x > x1 / 2.0 {
                    HPos::Right
                } else {
                    HPos::Left
                },
                VPos::Bottom,
            ),
        )))?;
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Analysis charts

fn waterfall<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    steps: &[LeverStep],
    budget: Option<f64>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let title = "Cost levers: p50 daily cost, step by step";
    if steps.is_empty() {
        return no_data(root, title, "no lever steps");
    }
    let last = &steps[steps.len() - 1];
    // Bars: the naive start, one floating bar per lever, and the result.
    let with_total = steps.len() >= 2;
    let n = steps.len() as u32 + u32::from(with_total);
    let mut top = steps
        .iter()
        .flat_map(|s| [s.p50_usd_per_day, s.p95_usd_per_day])
        .fold(0.0, f64::max);
    if let Some(b) = budget {
        top = top.max(b);
    }
    let ymax = (top * 1.15).max(1e-6);
    let mut names: Vec<String> = steps.iter().map(|s| s.name.clone()).collect();
    if with_total {
        names.push("result".to_string());
    }
    let mut chart = ChartBuilder::on(root)
        .caption(title, caption_style())
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0f64..ymax)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n as usize + 1)
        .x_desc("Lever switched on (cumulative)")
        .y_desc("USD per day")
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|y| usd_axis(ymax, *y))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;

    // (bar index, bottom, top, colour, label)
    let mut bars: Vec<(u32, f64, f64, RGBColor, String)> = Vec::new();
    bars.push((
        0,
        0.0,
        steps[0].p50_usd_per_day,
        NAIVE,
        usd(steps[0].p50_usd_per_day),
    ));
    for (i, pair) in steps.windows(2).enumerate() {
        let (prev, cur) = (pair[0].p50_usd_per_day, pair[1].p50_usd_per_day);
        let s = &pair[1];
        let (color, text) = if s.saving_usd >= 0.0 {
            (
                SAVING,
                format!("-{} ({:.0}%)", usd(s.saving_usd), -s.saving_percent.abs()),
            )
        } else {
            (
                INCREASE,
                format!("+{} (+{:.0}%)", usd(-s.saving_usd), s.saving_percent.abs()),
            )
        };
        bars.push((i as u32 + 1, prev.min(cur), prev.max(cur), color, text));
    }
    if with_total {
        bars.push((
            n - 1,
            0.0,
            last.p50_usd_per_day,
            BAR,
            usd(last.p50_usd_per_day),
        ));
    }
    let margin = (120 / n.max(1)).clamp(8, 40);
    chart.draw_series(bars.iter().map(|(i, lo, hi, color, _)| {
        let mut bar = Rectangle::new(
            [(SegmentValue::Exact(*i), *lo), (right_edge(*i, n), *hi)],
            color.filled(),
        );
        bar.set_margin(0, 0, margin, margin);
        bar
    }))?;
    // Labels above the bar or above its p95 cross, whichever is higher.
    let p95_of = |i: u32| steps.get(i as usize).unwrap_or(last).p95_usd_per_day;
    chart.draw_series(bars.iter().map(|(i, _, hi, _, text)| {
        Text::new(
            text.clone(),
            (SegmentValue::CenterOf(*i), hi.max(p95_of(*i)) + ymax * 0.02),
            label(13, &INK, HPos::Center, VPos::Bottom),
        )
    }))?;
    // p95 after each step (and for the result).
    let mut p95: Vec<(u32, f64)> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u32, s.p95_usd_per_day))
        .collect();
    if with_total {
        p95.push((n - 1, last.p95_usd_per_day));
    }
    chart
        .draw_series(
            p95.iter()
                .map(|(i, v)| Cross::new((SegmentValue::CenterOf(*i), *v), 6, INK.stroke_width(2))),
        )?
        .label("p95")
        .legend(|(x, y)| Cross::new((x + 10, y), 6, INK.stroke_width(2)));
    if let Some(b) = budget {
        chart
            .draw_series(LineSeries::new(
                vec![(SegmentValue::Exact(0), b), (SegmentValue::Last, b)],
                BUDGET.stroke_width(3),
            ))?
            .label(format!("daily budget {}", usd(b)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BUDGET.stroke_width(3)));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

fn sweep<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: &Sweep) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let title = format!("Daily cost against {}", s.param);
    let Some(axes) = SweepAxes::new(s) else {
        return no_data(root, &title, "no sweep points");
    };
    let mut chart = ChartBuilder::on(root)
        .caption(&title, caption_style())
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .right_y_label_area_size(72)
        .build_cartesian_2d(axes.x0..axes.x1, 0f64..axes.ymax)?
        .set_secondary_coord(axes.x0..axes.x1, 0f64..1.0);
    draw_sweep_axes(&mut chart, s, &axes)?;
    draw_sweep_percentiles(&mut chart, &axes)?;
    draw_sweep_breach_probability(&mut chart, &axes)?;
    if let Some(b) = s.daily_budget {
        chart
            .draw_series(LineSeries::new(
                vec![(axes.x0, b), (axes.x1, b)],
                BUDGET.stroke_width(3),
            ))?
            .label(format!("daily budget {}", usd(b)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BUDGET.stroke_width(3)));
    }
    draw_sweep_budget_marks(&mut chart, s, &axes)?;
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

/// The sweep chart: daily cost on the left axis, breach probability (0..1) on the right.
type SweepChart<'a, DB> = DualCoordChartContext<
    'a,
    DB,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
>;

/// Where a sweep chart puts its points: the finite points sorted by value, the x range
/// (padded) and the top of the cost axis.
struct SweepAxes {
    pts: Vec<SweepPoint>,
    /// Labelled (non-numeric) values sit at their positions, named by their labels.
    labelled: bool,
    /// A log axis when the values are positive and span more than a decade.
    log: bool,
    x0: f64,
    x1: f64,
    ymax: f64,
}

impl SweepAxes {
    /// The axes of `s`; `None` without a finite point.
    fn new(s: &Sweep) -> Option<Self> {
        let mut pts = s.points.clone();
        pts.retain(|p| p.value.is_finite());
        pts.sort_by(|a, b| a.value.total_cmp(&b.value));
        if pts.is_empty() {
            return None;
        }
        let (vlo, vhi) = (pts[0].value, pts[pts.len() - 1].value);
        let labelled = s.is_labelled();
        let log = !labelled && vlo > 0.0 && vhi / vlo >= 10.0;
        let tx = |v: f64| if log { v.log10() } else { v };
        let (mut x0, mut x1) = (tx(vlo), tx(vhi));
        if x1 - x0 < 1e-9 {
            x0 -= 0.5;
            x1 += 0.5;
        } else {
            let pad = (x1 - x0) * 0.03;
            x0 -= pad;
            x1 += pad;
        }
        let mut top = pts
            .iter()
            .map(|p| p.p99.max(p.p95).max(p.p50))
            .fold(0.0, f64::max);
        if let Some(b) = s.daily_budget {
            top = top.max(b);
        }
        let ymax = (top * 1.15).max(1e-6);
        Some(SweepAxes {
            pts,
            labelled,
            log,
            x0,
            x1,
            ymax,
        })
    }

    /// A swept value's position on the x axis.
    fn x(&self, v: f64) -> f64 {
        if self.log { v.log10() } else { v }
    }

    /// The text of the x tick at `x`: a point's label, or the value (rounded on a log axis).
    fn tick(&self, x: f64) -> String {
        if self.labelled {
            let i = x.round();
            if (x - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            return self
                .pts
                .get(i as usize)
                .and_then(|p| p.label.clone())
                .unwrap_or_default();
        }
        if self.log {
            let v = 10f64.powf(x);
            let mag = 10f64.powf(v.log10().floor() - 1.0);
            num((v / mag).round() * mag)
        } else {
            num(x)
        }
    }

    /// How a label at `x` lines up: ending there in the right half, starting there otherwise.
    fn anchor(&self, x: f64) -> HPos {
        if x > (self.x0 + self.x1) / 2.0 {
            HPos::Right
        } else {
            HPos::Left
        }
    }
}

/// Draws the sweep chart's mesh: the swept parameter's axis, the cost axis and the breach
/// probability axis on the right.
fn draw_sweep_axes<DB: DrawingBackend>(
    chart: &mut SweepChart<'_, DB>,
    s: &Sweep,
    axes: &SweepAxes,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_mesh()
        .x_desc(if axes.log {
            format!("{} (log scale)", s.param)
        } else {
            s.param.clone()
        })
        .y_desc("Daily cost (USD)")
        .x_labels(if axes.labelled { axes.pts.len() } else { 10 })
        .x_label_formatter(&|x| axes.tick(*x))
        .y_label_formatter(&|y| usd_axis(axes.ymax, *y))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("Breach probability (dashed)")
        .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    Ok(())
}

/// Draws the p50, p95 and p99 daily cost of each swept value as lines with dots.
fn draw_sweep_percentiles<DB: DrawingBackend>(
    chart: &mut SweepChart<'_, DB>,
    axes: &SweepAxes,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    for (name, color, get) in [
        ("p50", P50, (|p: &SweepPoint| p.p50) as fn(&_) -> f64),
        ("p95", P95, |p| p.p95),
        ("p99", P99, |p| p.p99),
    ] {
        let line: Vec<(f64, f64)> = axes.pts.iter().map(|p| (axes.x(p.value), get(p))).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(format!("{name} daily cost"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(
            line.into_iter()
                .map(|(x, y)| Circle::new((x, y), 4, color.filled())),
        )?;
    }
    Ok(())
}

/// Draws the breach probability of each swept value on the right axis, dashed, with dots.
fn draw_sweep_breach_probability<DB: DrawingBackend>(
    chart: &mut SweepChart<'_, DB>,
    axes: &SweepAxes,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let breach: Vec<(f64, f64)> = axes
        .pts
        .iter()
        .map(|p| (axes.x(p.value), p.breach_probability))
        .collect();
    // Dashes drawn as short segments so both backends show them the same way.
    let mut dashes = Vec::new();
    for w in breach.windows(2) {
        let ((ax, ay), (bx, by)) = (w[0], w[1]);
        let k = 12;
        for j in (0..k).step_by(2) {
            let t0 = j as f64 / k as f64;
            let t1 = (j + 1) as f64 / k as f64;
            dashes.push(vec![
                (ax + (bx - ax) * t0, ay + (by - ay) * t0),
                (ax + (bx - ax) * t1, ay + (by - ay) * t1),
            ]);
        }
    }
    chart
        .draw_secondary_series(
            dashes
                .into_iter()
                .map(|seg| PathElement::new(seg, INK.stroke_width(2))),
        )?
        .label("breach probability")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], INK.stroke_width(2)));
    chart.draw_secondary_series(
        breach
            .iter()
            .map(|(x, y)| Circle::new((*x, *y), 3, INK.filled())),
    )?;
    Ok(())
}

/// Draws where the p95 cost crosses the budget (a dashed vertical line and its value) and
/// names the largest swept value under the budget.
fn draw_sweep_budget_marks<DB: DrawingBackend>(
    chart: &mut SweepChart<'_, DB>,
    s: &Sweep,
    axes: &SweepAxes,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let ymax = axes.ymax;
    if let Some(c) = s.crossing {
        let x = axes.x(c.value);
        let k = 16;
        chart.draw_series((0..k).step_by(2).map(|j| {
            let y0 = ymax * j as f64 / k as f64;
            let y1 = ymax * (j + 1) as f64 / k as f64;
            PathElement::new(vec![(x, y0), (x, y1)], BUDGET.stroke_width(2))
        }))?;
        chart.draw_series(std::iter::once(Text::new(
            format!(" crosses the budget at {} ", num(c.value)),
            (x, ymax * 0.86),
            label(13, &BUDGET, axes.anchor(x), VPos::Top),
        )))?;
    }
    if let Some(v) = s.largest_value_under_budget() {
        let x = axes.x(v);
        chart.draw_series(std::iter::once(Text::new(
            format!("largest under budget: {}", num(v)),
            (x, ymax * 0.97),
            label(13, &INK, axes.anchor(x), VPos::Top),
        )))?;
    }
    Ok(())
}

fn holdout<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, days: &[HoldoutDay]) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let title = "Held-out days: real cost against the simulated band";
    if days.is_empty() {
        return no_data(root, title, "no held-out days");
    }
    let top = days
        .iter()
        .map(|d| d.p95_usd.max(d.actual_usd))
        .fold(0.0, f64::max);
    let ymax = top.max(1e-6) * 1.15;
    let x1 = days.len() as f64 + 0.5;
    let labels: Vec<String> = days.iter().map(HoldoutDay::date).collect();
    let mut chart = day_axes(root, title, x1, ymax)?;
    chart
        .configure_mesh()
        .x_desc("Held-out day")
        .y_desc("Daily cost (USD)")
        .x_labels(days.len().min(14))
        .x_label_formatter(&|x| {
            let i = x.round() as usize;
            if (x - x.round()).abs() < 1e-9 && (1..=labels.len()).contains(&i) {
                labels[i - 1].clone()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| usd_axis(ymax, *y))
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    let x = |i: usize| i as f64 + 1.0;
    let band: Vec<(f64, f64, f64)> = days
        .iter()
        .enumerate()
        .map(|(i, d)| (x(i), d.p05_usd, d.p95_usd))
        .collect();
    draw_band(&mut chart, &band, "simulated p05-p95")?;
    chart
        .draw_series(LineSeries::new(
            days.iter().enumerate().map(|(i, d)| (x(i), d.mean_usd)),
            P50.stroke_width(2),
        ))?
        .label("simulated mean")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], P50.stroke_width(2)));
    chart
        .draw_series(days.iter().enumerate().map(|(i, d)| {
            let style = if d.inside() {
                INK.filled()
            } else {
                BUDGET.stroke_width(3)
            };
            Circle::new((x(i), d.actual_usd), 6, style)
        }))?
        .label("real cost (red ring: outside the band)")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, INK.filled()));
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}
