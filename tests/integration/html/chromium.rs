//! The HTML report as headless Chromium renders it: at 1280 px and at 400 px wide, its
//! screenshots, and its DOM of a page from a hostile log.

use std::path::Path;

use scraper::Html;
use serde_json::Value;

use super::{POLICY, assert_no_markup_from_logs, hostile_log, report, week};
use crate::common::*;

/// Records, on the page's root element, what a test needs to know after the load: whether it
/// scrolls horizontally, its height, each chart's box and how many of its marks are drawn, and
/// every fetch the content security policy refused.
const LISTENER: &str = "<script>document.addEventListener('securitypolicyviolation',e=>{\
    const d=(window.frameElement?parent.document:document).documentElement;\
    d.dataset.violations=((d.dataset.violations||'')+' '+e.blockedURI).trim()});</script>";
const PROBE: &str = "<script>addEventListener('load',()=>{\
    const d=(window.frameElement?parent.document:document).documentElement;\
    const e=document.documentElement;\
    d.dataset.fits=String(e.scrollWidth<=innerWidth);d.dataset.width=innerWidth;\
    d.dataset.height=e.scrollHeight;\
    d.dataset.charts=[...document.querySelectorAll('svg.chart')].map(s=>{\
      const r=s.getBoundingClientRect();\
      const m=[...s.querySelectorAll('.m')].filter(x=>{const b=x.getBBox();return b.width>0||b.height>0}).length;\
      return [s.dataset.chart,Math.round(r.left+scrollX),Math.round(r.top+scrollY),\
        Math.round(r.width),Math.round(r.height),m].join(':')}).join(' ');\
    d.dataset.probed='yes'});</script>";

/// The test copy of a page: the probe added, and allowed to run (nothing else is).
fn probed(html: &str) -> String {
    assert!(html.contains(POLICY), "the page has its policy");
    html.replacen(POLICY, &format!("{POLICY}; script-src 'unsafe-inline'"), 1)
        .replacen("<head>", &format!("<head>{LISTENER}"), 1)
        .replacen("</body>", &format!("{PROBE}</body>"), 1)
}

/// A page laid out `width` CSS pixels wide inside a frame (headless Chromium's window is at
/// least 500 px wide), `extra` beside it.
fn framed(html: &str, width: u32, extra: &str) -> String {
    let src = html.replace('&', "&amp;").replace('"', "&quot;");
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>body{{margin:0}}\
         iframe{{border:0;display:block}}</style></head><body>{extra}<iframe width=\"{width}\" \
         height=\"3000\" srcdoc=\"{src}\"></iframe></body></html>"
    )
}

/// One headless Chromium run over `page`: its stdout, the console lines on stderr, and the
/// URLs the page asked the network for (from the net log; Chromium's own background requests
/// are not the page's). Every host name resolves to nothing and every request goes to a closed
/// loopback port, so nothing leaves the machine.
struct Run {
    stdout: String,
    console: Vec<String>,
    fetched: Vec<String>,
}

fn chromium(bin: &Path, page: &Path, args: &[String]) -> Run {
    let profile = tempfile::tempdir().unwrap();
    let netlog = profile.path().join("net.json");
    let mut cmd = std::process::Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        "--run-all-compositor-stages-before-draw",
        "--virtual-time-budget=5000",
    ])
    .arg(format!(
        "--user-data-dir={}",
        s(&profile.path().join("profile"))
    ))
    .arg(format!("--log-net-log={}", s(&netlog)))
    .args(args)
    .arg(format!("file://{}", s(page)));
    let out = run_fed(&mut cmd, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium {args:?} failed: {stderr}");
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    let log: Value =
        serde_json::from_slice(&std::fs::read(&netlog).expect("net log")).expect("net log JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    assert!(start_job.is_number(), "the net log names its events");
    let fetched = log["events"]
        .as_array()
        .expect("net log events")
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| e["params"]["url"].is_string())
        .filter(|e| e["params"]["initiator"] != "not an origin")
        .map(|e| e["params"]["url"].as_str().unwrap_or("").to_owned())
        .collect();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
        fetched,
    }
}

/// What the probe recorded on the root element of a dumped DOM.
struct Probe {
    fits: bool,
    width: u32,
    height: u32,
    violations: String,
    /// (name, left, top, width, height, marks drawn)
    charts: Vec<(String, u32, u32, u32, u32, u32)>,
}

fn probe(dom: &str) -> Probe {
    let doc = Html::parse_document(dom);
    let root = doc.root_element();
    assert_eq!(
        root.attr("data-probed"),
        Some("yes"),
        "the probe ran: {dom:.2000}"
    );
    let n = |k: &str| root.attr(k).and_then(|v| v.parse().ok()).unwrap_or(0);
    let charts = root
        .attr("data-charts")
        .unwrap_or("")
        .split_whitespace()
        .map(|c| {
            let f: Vec<&str> = c.split(':').collect();
            let p = |i: usize| f[i].parse().unwrap_or(0);
            (f[0].to_owned(), p(1), p(2), p(3), p(4), p(5))
        })
        .collect();
    Probe {
        fits: root.attr("data-fits") == Some("true"),
        width: n("data-width"),
        height: n("data-height"),
        violations: root.attr("data-violations").unwrap_or("").to_owned(),
        charts,
    }
}

/// A decoded screenshot: width, height, RGB(A) bytes and bytes per pixel.
struct Png {
    width: u32,
    height: u32,
    data: Vec<u8>,
    bpp: usize,
}

fn decode(path: &Path) -> Png {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut data = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut data).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let bpp = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("screenshot colour type {other:?}"),
    };
    Png {
        width: info.width,
        height: info.height,
        data,
        bpp,
    }
}

impl Png {
    /// Pixels of the box that are strongly coloured (chart marks; text and grid lines are
    /// grey).
    fn coloured(&self, x: u32, y: u32, w: u32, h: u32) -> usize {
        let mut n = 0;
        for py in y..(y + h).min(self.height) {
            for px in x..(x + w).min(self.width) {
                let i = (py as usize * self.width as usize + px as usize) * self.bpp;
                let (r, g, b) = (self.data[i], self.data[i + 1], self.data[i + 2]);
                let (max, min) = (r.max(g).max(b), r.min(g).min(b));
                if max - min > 60 {
                    n += 1;
                }
            }
        }
        n
    }
}

/// Asserts a probed run found the page whole: no console line, nothing fetched or refused,
/// no horizontal scroll, every chart with drawn marks.
fn assert_clean(what: &str, run: &Run, p: &Probe, charts: usize) {
    assert!(
        run.console.is_empty(),
        "{what}: console: {:#?}",
        run.console
    );
    assert!(run.fetched.is_empty(), "{what}: fetched {:?}", run.fetched);
    assert!(
        p.violations.is_empty(),
        "{what}: refused fetches {}",
        p.violations
    );
    assert!(
        p.fits,
        "{what}: the page scrolls horizontally at {} px",
        p.width
    );
    assert_eq!(p.charts.len(), charts, "{what}: charts");
    for c in &p.charts {
        assert!(
            c.3 > 0 && c.4 > 0 && c.5 > 0,
            "{what}: chart {} is empty: {c:?}",
            c.0
        );
    }
}

/// Headless Chromium renders the simulated week's page: at 1280 px and at 400 px wide it
/// fetches nothing, logs nothing on the console, does not scroll horizontally, and every chart
/// has drawn marks and coloured pixels in the screenshot; Chromium's own DOM of the hostile
/// page holds no markup from the log. A control page shows each of these checks can fail.
/// With GWMON_WRITE_DOCS=1 the desktop screenshot is written to docs/report.png.
#[test]
fn chromium_renders_the_week() {
    let Some(bin) = tool(&["chromium", "chromium-browser"]) else {
        return;
    };
    let w = week();
    let dir = w.dir.path();
    let charts = 10;

    // The checks can fail: a page that is too wide, fetches, logs and has an empty chart.
    let control = dir.join("control.html");
    std::fs::write(
        &control,
        framed(
            &probed(&format!(
                "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
                 content=\"{POLICY}\"></head><body><div style=\"width:900px\">wide</div>\
                 <img src=\"http://127.0.0.1:9/refused.png\"><svg class=\"chart\" \
                 data-chart=\"empty\" viewBox=\"0 0 10 10\"></svg></body></html>"
            )),
            400,
            "<img src=\"http://127.0.0.1:9/fetched.png\" alt=\"\">",
        ),
    )
    .unwrap();
    let run = chromium(
        &bin,
        &control,
        &["--window-size=500,3000".into(), "--dump-dom".into()],
    );
    let p = probe(&run.stdout);
    assert!(!p.fits, "control: too wide");
    assert!(
        p.violations.contains("refused.png"),
        "control: {}",
        p.violations
    );
    assert!(!run.console.is_empty(), "control: console");
    assert!(
        run.fetched.iter().any(|u| u.contains("fetched.png")),
        "control: net log {:?}",
        run.fetched
    );
    assert_eq!(p.charts.len(), 1);
    assert_eq!(p.charts[0].5, 0, "control: the empty chart has no marks");

    // 400 px wide, in a frame of that width.
    let narrow = dir.join("narrow.html");
    std::fs::write(&narrow, framed(&probed(&w.html), 400, "")).unwrap();
    let run = chromium(
        &bin,
        &narrow,
        &["--window-size=500,3000".into(), "--dump-dom".into()],
    );
    let p = probe(&run.stdout);
    assert_eq!(p.width, 400);
    assert_clean("400 px", &run, &p, charts);
    let shot = dir.join("narrow.png");
    let run = chromium(
        &bin,
        &narrow,
        &[
            "--window-size=400,3000".into(),
            format!("--screenshot={}", s(&shot)),
        ],
    );
    assert!(run.console.is_empty() && run.fetched.is_empty());
    let png = decode(&shot);
    assert_eq!(png.width, 400);
    // The first charts are within the first 3000 px.
    for c in p.charts.iter().filter(|c| c.2 + c.4 < 3000) {
        let n = png.coloured(c.1, c.2, c.3, c.4);
        assert!(n > 200, "400 px: chart {} shows {n} coloured pixels", c.0);
    }

    // 1280 px wide, the whole page in one screenshot.
    let wide = dir.join("wide.html");
    std::fs::write(&wide, probed(&w.html)).unwrap();
    let run = chromium(
        &bin,
        &wide,
        &["--window-size=1280,2400".into(), "--dump-dom".into()],
    );
    let p = probe(&run.stdout);
    assert_eq!(p.width, 1280);
    assert_clean("1280 px", &run, &p, charts);
    let shot = dir.join("wide.png");
    let height = p.height.clamp(2400, 16000);
    chromium(
        &bin,
        &wide,
        &[
            format!("--window-size=1280,{height}"),
            format!("--screenshot={}", s(&shot)),
        ],
    );
    let png = decode(&shot);
    assert_eq!((png.width, png.height), (1280, height));
    for c in &p.charts {
        let n = png.coloured(c.1, c.2, c.3, c.4);
        let area = (c.3 * c.4) as usize;
        assert!(
            n > 500 && n * 200 > area,
            "1280 px: chart {} shows {n} coloured pixels of {area}",
            c.0
        );
    }

    // Chromium's DOM of the hostile page: the markup from the log is text there too.
    let hostile = dir.join("hostile.log");
    std::fs::write(&hostile, hostile_log()).unwrap();
    let page = dir.join("hostile.html");
    report(&[hostile], &["--html", s(&page)]);
    let run = chromium(
        &bin,
        &page,
        &["--window-size=1280,2400".into(), "--dump-dom".into()],
    );
    assert!(
        run.console.is_empty(),
        "hostile page: console {:#?}",
        run.console
    );
    assert!(
        run.fetched.is_empty(),
        "hostile page: fetched {:?}",
        run.fetched
    );
    assert_no_markup_from_logs(&Html::parse_document(&run.stdout), "Chromium's DOM");

    if std::env::var("GWMON_WRITE_DOCS").is_ok_and(|v| v == "1") {
        let docs = repo().join("docs/report.png");
        std::fs::create_dir_all(repo().join("docs")).unwrap();
        let page = dir.join("week.html");
        chromium(
            &bin,
            &page,
            &[
                "--window-size=1280,2400".into(),
                format!("--screenshot={}", s(&docs)),
            ],
        );
        let png = decode(&docs);
        assert_eq!((png.width, png.height), (1280, 2400));
        eprintln!("wrote {}", docs.display());
    }
}
