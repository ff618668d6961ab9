//! `gwmon report --html`: the page of a simulated week checked against its JSON report, text
//! from logs that is markup, the file and stdout, an empty input, the page's self-containment,
//! and the page as headless Chromium renders it (desktop and 400 px wide).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

use crate::common::*;

mod chromium;

/// The page's content security policy: nothing fetched, nothing run, inline styles only.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// A simulated week (seed 1, 168 h, 8 gateways, with the gateways' own logs): its JSON report
/// and its HTML page.
struct Week {
    dir: tempfile::TempDir,
    inputs: Vec<PathBuf>,
    json: Value,
    html: String,
}

fn week() -> Week {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("week.log");
    let gw = dir.path().join("gw");
    ok(
        &run(
            &[
                "simulate",
                "--seed",
                "1",
                "--hours",
                "168",
                "--pool-size",
                "8",
                "--gateway-logs",
                s(&gw),
                "--out",
                s(&log),
                "--truth",
                s(&dir.path().join("week.truth.json")),
            ],
            None,
        ),
        "gwmon simulate",
    );
    let mut inputs = vec![log];
    let mut gws: Vec<PathBuf> = std::fs::read_dir(&gw)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    gws.sort();
    inputs.extend(gws);
    let json = report(&inputs, &["--json"]);
    let json: Value = serde_json::from_str(&json).expect("report JSON");
    let page = dir.path().join("week.html");
    report(&inputs, &["--html", s(&page)]);
    let html = std::fs::read_to_string(&page).unwrap();
    Week {
        dir,
        inputs,
        json,
        html,
    }
}

/// `gwmon report --pool-size 8 EXTRA… INPUTS…`, its stdout.
fn report(inputs: &[PathBuf], extra: &[&str]) -> String {
    let mut args = vec!["report", "--pool-size", "8"];
    args.extend_from_slice(extra);
    args.extend(inputs.iter().map(|p| s(p)));
    ok(&run(&args, None), "gwmon report")
}

fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap()
}

/// A key of the JSON report (`rate.per_hour.12.allocated`).
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| match v {
        Value::Array(a) => a.get(k.parse::<usize>().ok()?),
        Value::Object(o) => o.get(k),
        _ => None,
    })
}

/// The figures an element stands for: (key, value as written), `.leaf` paths expanded.
fn figures(e: ElementRef<'_>) -> Vec<(String, String)> {
    let (Some(paths), Some(values)) = (e.attr("data-figure"), e.attr("data-value")) else {
        return Vec::new();
    };
    let values: Vec<&str> = values.split(' ').collect();
    let mut parent = String::new();
    let paths: Vec<String> = paths
        .split(' ')
        .map(|p| {
            if let Some(leaf) = p.strip_prefix('.') {
                format!("{parent}.{leaf}")
            } else {
                parent = p.rsplit_once('.').map_or("", |x| x.0).to_owned();
                p.to_owned()
            }
        })
        .collect();
    assert_eq!(paths.len(), values.len(), "{paths:?} / {values:?}");
    paths
        .into_iter()
        .zip(values.iter().map(|v| (*v).to_owned()))
        .collect()
}

/// Whether a value written in the page is the JSON report's. Both write the shortest form of
/// the same f64; serde_json's parser (without `float_roundtrip`) may land one unit in the last
/// place off, hence the tolerance of a few.
fn same(json: &Value, shown: &str) -> bool {
    match json {
        Value::Number(n) => match (shown.parse::<f64>(), n.as_f64()) {
            (Ok(a), Some(b)) => {
                a == b || (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs())
            }
            _ => false,
        },
        Value::String(s) => s == shown,
        _ => false,
    }
}

fn attr_f(e: ElementRef<'_>, name: &str) -> f64 {
    e.attr(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Every bar of `chart` drawn for a single figure is `dim` (height or width) long in
/// proportion to its value, on one scale per group of keys (`group` maps a key to its scale).
fn check_scale(doc: &Html, chart: &str, dim: &str, group: impl Fn(&str) -> String) {
    let svg = doc
        .select(&sel(&format!("svg[data-chart=\"{chart}\"]")))
        .next()
        .unwrap_or_else(|| panic!("no chart {chart}"));
    let mut bars: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for r in svg.select(&sel("rect.m[data-figure]")) {
        let f = figures(r);
        if let [(path, value)] = f.as_slice() {
            let v: f64 = value.parse().unwrap();
            bars.entry(group(path))
                .or_default()
                .push((v, attr_f(r, dim)));
        }
    }
    assert!(!bars.is_empty(), "{chart}: no bars");
    for (g, bars) in bars {
        let &(v_max, len_max) = bars.iter().max_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
        let per = len_max / v_max;
        for (v, len) in &bars {
            // Coordinates are written with one decimal.
            assert!(
                (v * per - len).abs() <= 0.11,
                "{chart} ({g}): a bar of {v} is {len} long, {} on the scale of the largest",
                v * per
            );
        }
    }
}

/// The page of a simulated week shows the JSON report's numbers: every number and chart mark
/// carrying a key has its value, every series of the report is drawn, and the bars are in
/// proportion to their values.
#[test]
fn figures_equal_the_json_report() {
    let w = week();
    let doc = Html::parse_document(&w.html);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut count = 0;
    for e in doc.select(&sel("[data-figure]")) {
        for (path, value) in figures(e) {
            let json =
                lookup(&w.json, &path).unwrap_or_else(|| panic!("{path}: not in the report"));
            assert!(same(json, &value), "{path}: page {value}, report {json}");
            seen.insert(path);
            count += 1;
        }
    }
    assert!(count > 1000, "{count} figures");
    // Whole numbers as shown equal their figure.
    for e in doc.select(&sel("span.n[data-figure]")) {
        let text: String = e.text().collect();
        if text.chars().all(|c| c.is_ascii_digit() || c == ',') {
            assert_eq!(
                text.replace(',', ""),
                e.attr("data-value").unwrap(),
                "{:?}",
                e.attr("data-figure")
            );
        }
    }
    let r = &w.json;
    let want = |path: String| {
        assert!(seen.contains(&path), "{path} is not shown");
    };
    for k in [
        "attempts",
        "allocated",
        "reused",
        "failed",
        "failure_rate",
        "open",
    ] {
        want(format!("allocations.{k}"));
    }
    for k in ["no_gateway_available", "health_check", "init", "other"] {
        want(format!("allocations.failures_by_reason.{k}"));
    }
    for k in ["total", "utilization_mean", "peak_allocated", "allocated"] {
        want(format!("pool.{k}"));
    }
    for k in ["episodes", "failures", "exhausted_s"] {
        want(format!("exhaustion.{k}"));
    }
    for d in ["durations_s", "startup_ms"] {
        for k in ["count", "mean", "p50", "p90", "p99", "max"] {
            want(format!("{d}.{k}"));
        }
        for (i, b) in r[d]["histogram"].as_array().unwrap().iter().enumerate() {
            if b["count"].as_u64().unwrap() > 0 {
                want(format!("{d}.histogram.{i}.count"));
            }
        }
    }
    let hours = r["pool"]["history"].as_array().unwrap();
    assert_eq!(hours.len(), 168);
    for (i, h) in hours.iter().enumerate() {
        for k in ["allocated", "orphaned", "recycling", "available", "total"] {
            if !h[k].is_null() {
                want(format!("pool.history.{i}.{k}"));
            }
        }
    }
    for series in ["per_hour", "per_day"] {
        for (i, b) in r["rate"][series].as_array().unwrap().iter().enumerate() {
            for k in ["allocated", "reused", "failed"] {
                if b[k].as_u64().unwrap() > 0 {
                    want(format!("rate.{series}.{i}.{k}"));
                }
            }
            if series == "per_hour" {
                for (k, n) in b["failures_by_reason"].as_object().unwrap() {
                    if n.as_u64().unwrap() > 0 {
                        want(format!("rate.per_hour.{i}.failures_by_reason.{k}"));
                    }
                }
            }
        }
    }
    let periods = r["exhaustion"]["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 43);
    for i in 0..periods.len() {
        want(format!("exhaustion.periods.{i}.s"));
        want(format!("exhaustion.periods.{i}.count"));
    }
    for i in 0..r["gaps"].as_array().unwrap().len() {
        want(format!("gaps.{i}.s"));
    }
    for (i, g) in r["gateways"]["by_gateway"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        want(format!("gateways.by_gateway.{i}.allocations"));
        want(format!("gateways.by_gateway.{i}.recycling_handouts"));
        for k in ["mean", "p90", "max"] {
            want(format!("gateways.by_gateway.{i}.restart_s.{k}"));
        }
        for (k, n) in g["failures"].as_object().unwrap() {
            if n.as_u64().unwrap() > 0 {
                want(format!("gateways.by_gateway.{i}.failures.{k}"));
            }
        }
    }
    for i in 0..r["alerts"].as_array().unwrap().len() {
        want(format!("alerts.{i}.fired_at"));
    }
    for i in 0..r["errors"].as_array().unwrap().len() {
        want(format!("errors.{i}.count"));
    }
    for i in 0..r["orgs"]["top"].as_array().unwrap().len() {
        want(format!("orgs.top.{i}.allocated"));
    }
    for i in 0..r["orgs"]["top_refused"].as_array().unwrap().len() {
        want(format!("orgs.top_refused.{i}.refused"));
    }
    // Bars in proportion: allocations up and failures down share one scale.
    for chart in [
        "rate.per_hour",
        "rate.per_day",
        "failures.per_hour",
        "durations_s",
        "startup_ms",
    ] {
        check_scale(&doc, chart, "height", |_| "all".into());
    }
    check_scale(&doc, "gateways", "width", |p| {
        if p.contains(".failures.") {
            "failures".into()
        } else {
            "allocations".into()
        }
    });
    check_scale(&doc, "allocations.failures_by_reason", "width", |_| {
        "all".into()
    });
    // Every chart drew marks.
    let charts: Vec<_> = doc.select(&sel("svg")).collect();
    assert_eq!(charts.len(), 10, "the charts of a week with gateway logs");
    for svg in charts {
        assert_eq!(svg.attr("class"), Some("chart"));
        let name = svg.attr("data-chart").unwrap();
        assert!(
            svg.select(&sel(".m")).next().is_some(),
            "{name} drew nothing"
        );
    }
}

/// The WHY ALLOCATIONS FAILED sentences are the text report's.
#[test]
fn why_sentences_are_the_text_reports() {
    let w = week();
    let text = report(&w.inputs, &["--color", "never"]);
    let section: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "WHY ALLOCATIONS FAILED")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    let mut sentences: Vec<String> = Vec::new();
    for l in section {
        if let Some(cont) = l.strip_prefix("    ") {
            let last = sentences.last_mut().unwrap();
            last.push(' ');
            last.push_str(cont);
        } else {
            sentences.push(l.trim_start().to_owned());
        }
    }
    assert!(sentences.len() >= 3, "{text}");
    let doc = Html::parse_document(&w.html);
    let shown: Vec<String> = doc
        .select(&sel("ul.why li"))
        .map(|li| li.text().collect())
        .collect();
    assert_eq!(shown, sentences);
    // The marked gateways too: the table has a row per gateway.
    let rows = doc
        .select(&sel("td.id"))
        .filter(|td| td.text().collect::<String>().starts_with("gw-pool-"))
        .count();
    assert!(rows >= 8, "{rows}");
}

const IMG: &str = "<img src=x onerror=alert(1)>";
const ORG_SVG: &str = "<svg/onload=alert(2)>";
const ORG_SCRIPT: &str = "\"><script>alert(3)</script>";
const GW_I: &str = "<i>gw</i>";

/// A log whose failure message, organization ids and container name are markup.
fn hostile_log() -> String {
    let t = |s: u32| format!("2026-03-04T08:{:02}:{:02}.000Z", s / 60, s % 60);
    let mut log = String::new();
    log += &line(
        &t(0),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {ORG_SVG}"),
    );
    log += &line(
        &t(1),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Allocated gw-pool-1 (port 7101, upstream 172.17.0.1:7101) to org {ORG_SVG}"),
    );
    log += &line(
        &t(2),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("✅ Gateway started successfully for org {ORG_SVG}"),
    );
    log += &line(
        &t(10),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {ORG_B}"),
    );
    log += &line(
        &t(11),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Allocated {GW_I} (port 7102, upstream 172.17.0.1:7102) to org {ORG_B}"),
    );
    log += &line(
        &t(12),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("✅ Gateway started successfully for org {ORG_B}"),
    );
    log += &line(
        &t(20),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {ORG_A}"),
    );
    log += &line(
        &t(21),
        "ERROR",
        "GATEWAY_ALLOC",
        &format!(
            "Failed to start gateway for org {ORG_A}: {}",
            serde_json::to_string(IMG).unwrap()
        ),
    );
    log += &line(
        &t(30),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {ORG_SCRIPT}"),
    );
    log += &line(
        &t(31),
        "ERROR",
        "GATEWAY_ALLOC",
        &format!("Failed to start gateway for org {ORG_SCRIPT}: \"no_gateway_available\""),
    );
    log += &line(
        &t(3000),
        "INFO",
        "GATEWAY_DEALLOC",
        &format!("Stopping gateway 00000000-0000-4000-8000-000000000001 for org {ORG_SVG}"),
    );
    log
}

/// Checks a parsed page (gwmon's or the DOM Chromium built from it) for markup from the log:
/// no element or attribute of it, and every piece shown as text.
fn assert_no_markup_from_logs(doc: &Html, what: &str) {
    for tag in [
        "img", "script", "iframe", "object", "embed", "link", "a", "form",
    ] {
        assert_eq!(
            doc.select(&sel(tag)).count(),
            0,
            "{what}: a <{tag}> element"
        );
    }
    for e in doc.select(&sel("*")) {
        for (name, _) in e.value().attrs() {
            assert!(!name.starts_with("on"), "{what}: an {name} attribute");
        }
    }
    for svg in doc.select(&sel("svg")) {
        assert_eq!(
            svg.attr("class"),
            Some("chart"),
            "{what}: an <svg> from the log"
        );
    }
    for i in doc.select(&sel("i")) {
        assert!(i.attr("class").is_some(), "{what}: an <i> from the log");
    }
    let text: String = doc.root_element().text().collect();
    for s in [IMG, ORG_SVG, ORG_SCRIPT, GW_I] {
        assert!(text.contains(s), "{what}: {s} is not shown as text");
    }
    let msgs: Vec<String> = doc
        .select(&sel(".msg"))
        .map(|m| m.text().collect())
        .collect();
    assert!(msgs.iter().any(|m| m == IMG), "{what}: {msgs:?}");
}

/// Text from logs that is markup shows as text: a failure message `<img src=x
/// onerror=alert(1)>`, organization ids and a container name that are tags.
#[test]
fn hostile_log_text_renders_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hostile.log");
    std::fs::write(&log, hostile_log()).unwrap();
    let inputs = vec![log];
    let json: Value = serde_json::from_str(&report(&inputs, &["--json"])).unwrap();
    // The log says what the test means it to: the markup reached the report.
    assert_eq!(json["errors"][0]["message"], IMG, "{json}");
    assert!(
        json["orgs"]["top"].to_string().contains("onload=alert(2)"),
        "{json}"
    );
    assert_eq!(json["orgs"]["top_refused"][0]["org"], ORG_SCRIPT, "{json}");
    assert!(
        json["gateways"]["by_gateway"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["gateway"] == GW_I),
        "{json}"
    );
    let html = report(&inputs, &["--html", "-"]);
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    let doc = Html::parse_document(&html);
    assert_no_markup_from_logs(&doc, "gwmon's page");
}

/// `--html -` prints what `--html FILE` writes; a missing directory is an error naming it
/// (before anything is read), `--html` goes with neither `--json` nor `--prometheus`.
#[test]
fn html_goes_to_a_file_or_stdout() {
    let w = week();
    let stdout = report(&w.inputs, &["--html", "-"]);
    assert_eq!(stdout, w.html);
    let missing = w.dir.path().join("no/such/dir/report.html");
    let out = run(&["report", "--html", s(&missing), s(&w.inputs[0])], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(s(&w.dir.path().join("no/such/dir"))), "{err}");
    assert!(!missing.exists());
    for other in ["--json", "--prometheus"] {
        let out = run(&["report", "--html", "-", other, s(&w.inputs[0])], None);
        assert_eq!(out.status.code(), Some(2), "--html with {other}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    }
    // Replaced whole: a second run over an existing page leaves only the new page.
    let page = w.dir.path().join("week.html");
    std::fs::write(&page, "old").unwrap();
    report(&w.inputs, &["--html", s(&page)]);
    assert_eq!(std::fs::read_to_string(&page).unwrap(), w.html);
    let left: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// An input without any lifecycle line still gives a whole page, saying there is nothing.
#[test]
fn an_empty_input_gives_a_page_that_says_so() {
    let out = run(&["report", "--html", "-"], Some(b"not a gateway line\n"));
    let html = ok(&out, "gwmon report --html - (no events)");
    let doc = Html::parse_document(&html);
    let text: String = doc.root_element().text().collect();
    assert!(text.contains("nothing to report"), "{html}");
    assert!(html.trim_end().ends_with("</html>"));
    assert_eq!(doc.select(&sel("svg")).count(), 0);
    assert_eq!(
        doc.select(&sel("[data-figure=\"lines.read\"]"))
            .next()
            .and_then(|e| e.attr("data-value")),
        Some("1")
    );
}

/// Nothing in the page is fetched from anywhere, nor run: no element that loads or runs
/// anything, no attribute referring to another resource, no `@import` or `url(` in its styles,
/// and a content security policy that allows neither.
fn assert_self_contained(html: &str) {
    // Markup from logs is escaped, so a raw `<tag` is gwmon's own.
    for tag in [
        "<script", "<link", "<img", "<iframe", "<object", "<embed", "<image", "<use",
    ] {
        assert!(!html.contains(tag), "the page holds {tag}");
    }
    let doc = Html::parse_document(html);
    for e in doc.select(&sel("*")) {
        for (name, value) in e.value().attrs() {
            let v = value.trim().to_ascii_lowercase();
            let refers = [
                "src",
                "href",
                "srcset",
                "xlink:href",
                "action",
                "poster",
                "data",
            ]
            .contains(&name)
                || v.contains("url(");
            assert!(!refers, "<{}> refers to {name}={value:?}", e.value().name());
            if name != "xmlns" {
                assert!(
                    !v.starts_with("http:") && !v.starts_with("https:") && !v.starts_with("//"),
                    "<{}> {name}={value:?}",
                    e.value().name()
                );
            }
        }
    }
    let styles: Vec<String> = doc
        .select(&sel("style"))
        .map(|s| s.text().collect::<String>().to_ascii_lowercase())
        .collect();
    assert_eq!(styles.len(), 1);
    for css in &styles {
        for needle in ["@import", "url(", "@font-face", "http:", "https:", "//"] {
            assert!(!css.contains(needle), "the stylesheet holds {needle}");
        }
    }
    let policy = doc
        .select(&sel("meta[http-equiv=\"Content-Security-Policy\"]"))
        .next()
        .and_then(|m| m.attr("content"));
    assert_eq!(policy, Some(POLICY), "the page's policy");
}

#[test]
fn the_page_is_self_contained() {
    let w = week();
    assert_self_contained(&w.html);
    let doc = Html::parse_document(&w.html);
    assert!(doc.errors.is_empty(), "HTML parse errors: {:?}", doc.errors);
    assert!(w.html.len() < 400_000, "{} bytes", w.html.len());
}
