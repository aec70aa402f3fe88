//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `scripts/setup-test-deps`) loads `report.html` from disk and must lay out and paint every
//! chart. This test fails, never skips, when Chromium is missing.

use crate::fixtures::{growing, support_agent};
use burnrate_reports as reports;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("BURNRATE_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "headless Chromium is needed for the report browser test but `chromium` is not on PATH: \
         run scripts/setup-test-deps (or set BURNRATE_CHROMIUM to a Chromium binary)"
    );
}

/// Runs Chromium headless on `page` with `extra` arguments, bounded by coreutils `timeout` so a
/// wedged browser fails the test instead of hanging it.
fn run_chromium(profile: &Path, page: &Path, extra: &[String]) -> Output {
    let url = format!("file://{}", page.display());
    let out = Command::new("timeout")
        .args(["--kill-after=10", "120"])
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--mute-audio",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(&url)
        .output()
        .expect("could not start chromium through `timeout`");
    assert!(
        out.status.success(),
        "chromium failed ({}) on {url}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Measures, inside the browser, what every chart figure rendered to. Injected into a copy of
/// the report only: the report itself has no script.
const PROBE: &str = r#"<script>
(function () {
  var figures = Array.prototype.slice.call(document.querySelectorAll('figure.chart'));
  var result = {
    parsererrors: document.getElementsByTagName('parsererror').length,
    verdict: (document.getElementById('verdict') || {}).textContent || null,
    saturation: (document.getElementById('saturation') || {}).textContent || null,
    sections: Array.prototype.slice.call(document.querySelectorAll('section')).map(function (s) { return s.id; }),
    polygons: Array.prototype.slice.call(document.querySelectorAll('figure.chart')).map(function (f) {
      return Array.prototype.slice.call(f.querySelectorAll('polygon')).filter(function (p) {
        var b = p.getBBox(); return b.width > 10 && b.height > 10; }).length; }),
    charts: figures.map(function (f) {
      var svg = f.querySelector('svg');
      if (!svg) { return { id: f.id, svg: false }; }
      var box = svg.getBoundingClientRect();
      var texts = Array.prototype.slice.call(svg.querySelectorAll('text'));
      var shapes = svg.querySelectorAll('rect, polyline, line, circle, path, polygon').length;
      var painted = texts.filter(function (t) { return t.getComputedTextLength() > 0; }).length;
      var bbox = svg.getBBox();
      return { id: f.id, svg: true, width: box.width, height: box.height,
               texts: texts.length, painted_texts: painted, shapes: shapes,
               content_width: bbox.width, content_height: bbox.height };
    })
  };
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
})();
</script>
"#;

/// Loads `dir/report.html` with the probe injected and returns what it measured.
fn probe_report(tmp: &Path, dir: &Path) -> (serde_json::Value, Output) {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let probe_page = dir.join("probe.html");
    std::fs::write(
        &probe_page,
        html.replace("</body>", &format!("{PROBE}</body>")),
    )
    .unwrap();
    let out = run_chromium(
        &tmp.join(format!("profile-dom-{}", dir.display().to_string().len())),
        &probe_page,
        &["--dump-dom".into()],
    );
    let dom = String::from_utf8(out.stdout.clone()).unwrap();
    let start = dom
        .find("<pre id=\"probe\">")
        .unwrap_or_else(|| panic!("the probe did not run; DOM:\n{dom}"))
        + "<pre id=\"probe\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    (serde_json::from_str(&json).unwrap(), out)
}

#[test]
fn growing_traffic_report_leads_with_the_fan_chart_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("growing");
    let r = growing();
    reports::write_report_dir(&r, &dir).unwrap();
    let (probe, _) = probe_report(tmp.path(), &dir);
    assert_eq!(probe["parsererrors"], 0, "{probe}");
    // The saturation verdict is painted before the budget one, and cost over time leads.
    let sat = probe["saturation"].as_str().expect("a saturation verdict");
    assert!(
        sat.starts_with("Saturated: rate limits saturate: claude-sonnet-4-5 ITPM"),
        "{sat}"
    );
    assert_eq!(probe["sections"][0], "cost-over-time", "{probe}");
    let first = &probe["charts"][0];
    assert_eq!(first["id"], "chart-cost_over_time", "{probe}");
    assert!(first["width"].as_f64().unwrap() >= 300.0, "{first}");
    assert_eq!(
        first["painted_texts"].as_u64().unwrap(),
        first["texts"].as_u64().unwrap()
            - empty_texts(&reports::simulation_charts(&r).unwrap()[0].svg),
        "{first}"
    );
    // The p05-p95 band is a laid-out polygon of real size.
    assert!(probe["polygons"][0].as_u64().unwrap() >= 1, "{probe}");
}

#[test]
fn report_html_renders_every_chart_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("report");
    let r = support_agent();
    reports::write_report_dir(&r, &dir).unwrap();
    let rendered = reports::simulation_charts(&r).unwrap();
    let chart_names: Vec<String> = rendered.iter().map(|c| c.name.clone()).collect();

    // 1. Layout: every chart's SVG is in the DOM with a real size and painted text.
    let (probe, out) = probe_report(tmp.path(), &dir);
    assert_eq!(probe["parsererrors"], 0, "{probe}");
    assert!(
        probe["verdict"]
            .as_str()
            .unwrap()
            .starts_with("Within budget: p95 daily cost $4.74 ("),
        "{probe}"
    );
    let charts = probe["charts"].as_array().unwrap();
    let ids: Vec<String> = charts
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = chart_names.iter().map(|n| format!("chart-{n}")).collect();
    assert_eq!(ids, expected);
    for (c, chart) in charts.iter().zip(&rendered) {
        let id = &c["id"];
        assert_eq!(c["svg"], true, "{id}: no <svg>");
        let (w, h) = (c["width"].as_f64().unwrap(), c["height"].as_f64().unwrap());
        assert!(w >= 300.0 && h >= 150.0, "{id}: laid out at {w}x{h}");
        let ratio = w / h;
        assert!(
            (ratio - 900.0 / 520.0).abs() < 0.05,
            "{id}: distorted to {w}x{h}"
        );
        assert!(
            c["content_width"].as_f64().unwrap() > 0.0,
            "{id}: empty drawing"
        );
        assert!(c["shapes"].as_u64().unwrap() >= 5, "{id}: {c}");
        let texts = c["texts"].as_u64().unwrap();
        assert!(texts >= 6, "{id}: {c}");
        assert_eq!(
            c["painted_texts"].as_u64().unwrap(),
            texts - empty_texts(&chart.svg),
            "{id}: some labels were not painted: {c}"
        );
    }
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Uncaught"),
        "script errors:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 2. Paint: a screenshot of the report itself (no probe) is far from blank and shows the
    // charts' bar colour.
    let shot = tmp.path().join("shot.png");
    run_chromium(
        &tmp.path().join("profile-shot"),
        &dir.join("report.html"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1000,2400".into(),
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1000, 2400));
    let channels = info.line_size / info.width as usize;
    let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let luma: Vec<f64> = px
        .iter()
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect();
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    let var = luma.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / luma.len() as f64;
    assert!(
        var > 200.0,
        "screenshot looks blank (luma variance {var:.1})"
    );
    let bar_blue = px
        .iter()
        .filter(|p| {
            (i32::from(p[0]) - 0x1F).abs() < 12
                && (i32::from(p[1]) - 0x77).abs() < 12
                && (i32::from(p[2]) - 0xB4).abs() < 12
        })
        .count();
    assert!(
        bar_blue > 20_000,
        "too few chart-bar pixels painted: {bar_blue}"
    );
}

/// Text elements that are empty on purpose (plotters emits blank tick labels); they have no
/// length to paint.
fn empty_texts(svg: &str) -> u64 {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("text") && n.text().unwrap_or("").trim().is_empty())
        .count() as u64
}
