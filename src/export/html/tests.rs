use super::*;
use crate::alert::{AlertRecord, Rule, Severity};
use crate::pool::{Pool, PoolConfig};
use crate::recognize::ReadStats;
use crate::report::{
    Bucket, Durations, ErrorRecord, FailuresByReason, GatewayFigures, HistBucket, OpenAllocation,
    OrgFigures, OrgRefused, PoolHour, Span, StartupFigures,
};

const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// The tags this renderer writes: anything else in a page is markup that came from the data.
const OUR_TAGS: &[&str] = &[
    "!DOCTYPE",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "header",
    "footer",
    "section",
    "h1",
    "h2",
    "h3",
    "p",
    "br",
    "span",
    "b",
    "i",
    "small",
    "code",
    "div",
    "dl",
    "dt",
    "dd",
    "ul",
    "li",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "svg",
    "g",
    "rect",
    "line",
    "path",
    "text",
];

fn tags(page: &str) -> Vec<String> {
    page.split('<')
        .skip(1)
        .map(|t| {
            t.trim_start_matches('/')
                .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

fn empty() -> Report {
    crate::report::build(&Pool::new(PoolConfig::default()), &ReadStats::default())
}

#[test]
fn escaping_makes_markup_text() {
    assert_eq!(esc("plain ✅ text"), "plain ✅ text");
    assert_eq!(
        esc(HOSTILE),
        "&lt;img src=x onerror=alert(1)&gt;",
        "one helper for content and attributes"
    );
    assert_eq!(esc(r#"a"b'c&d"#), "a&quot;b&#39;c&amp;d");
    // Newlines and tabs stay (messages are shown with their lines); other controls and bidi
    // overrides are shown, not obeyed.
    assert_eq!(esc("a\nb\tc"), "a\nb\tc");
    assert_eq!(esc("x\x1b[31my\u{202e}z"), "x\\u{1b}[31my\\u{202e}z");
}

#[test]
fn an_empty_report_renders_and_says_there_is_nothing() {
    let page = render(&empty());
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.trim_end().ends_with("</html>"), "{page}");
    assert!(page.contains("nothing to report"), "{page}");
    assert!(!page.contains("<svg"), "no chart without data: {page}");
    for t in tags(&page) {
        assert!(OUR_TAGS.contains(&t.as_str()), "unexpected tag {t:?}");
    }
}

/// A report whose every text taken from logs is hostile markup, with enough figures for every
/// section and chart to be drawn.
fn hostile() -> Report {
    let mut r = empty();
    let h = HOSTILE.to_owned();
    let t = |hour: u32| format!("2026-03-02T{hour:02}:00:00.000Z");
    r.window.start = Some(t(0));
    r.window.end = Some(t(5));
    r.pool.total = Some(8);
    r.pool.total_source = h.clone();
    r.pool.history = (0..5)
        .map(|i| PoolHour {
            start: t(i),
            allocated: 3.5,
            orphaned: 1.0,
            recycling: Some(0.5),
            available: Some(3.5),
            total: Some(8.0),
        })
        .collect();
    let failures = FailuresByReason {
        no_gateway_available: 2,
        health_check: 1,
        init: 1,
        other: 1,
    };
    r.allocations.attempts = 10;
    r.allocations.allocated = 5;
    r.allocations.failed = 5;
    r.allocations.failures_by_reason = failures.clone();
    r.rate.per_hour = (0..5)
        .map(|i| Bucket {
            start: t(i),
            allocated: 1,
            failed: 1,
            reused: 1,
            failures_by_reason: failures.clone(),
        })
        .collect();
    let span = Span {
        start: t(1),
        end: None,
        s: 60.0,
        count: 2,
    };
    r.exhaustion.periods = vec![span.clone()];
    r.gaps = vec![span];
    r.errors = vec![ErrorRecord {
        kind: h.clone(),
        message: h.clone(),
        count: 3,
        first: h.clone(),
        last: h.clone(),
    }];
    r.orgs.top = vec![OrgFigures {
        org: h.clone(),
        allocated: 5,
        failed: 5,
        held_s: 10.0,
    }];
    r.orgs.top_refused = vec![OrgRefused {
        org: h.clone(),
        refused: 2,
    }];
    r.open_longest = vec![OpenAllocation {
        org: h.clone(),
        gateway: h.clone(),
        since: h.clone(),
        held_s: 1.0,
        orphaned: true,
    }];
    r.longest = r.open_longest.clone();
    r.gateways.side_logs = true;
    r.gateways.by_gateway = vec![GatewayFigures {
        gateway: h.clone(),
        id: Some(h.clone()),
        allocations: 5,
        failures,
        recycling_handouts: Some(1),
        startup_ms: StartupFigures {
            count: 3,
            mean: 1500.0,
            p90: 2000.0,
        },
        held_s: 10.0,
        restart_s: Some(crate::report::RestartFigures {
            count: 2,
            mean: 50.0,
            p50: 50.0,
            p90: 60.0,
            max: 70.0,
        }),
    }];
    r.durations_s = Durations {
        count: 3,
        mean: 100.0,
        p50: 50.0,
        p90: 200.0,
        p99: 250.0,
        max: 250.0,
        histogram: vec![
            HistBucket {
                le: Some(60.0),
                count: 1,
            },
            HistBucket {
                le: Some(120.0),
                count: 0,
            },
            HistBucket { le: None, count: 2 },
        ],
    };
    r.startup_ms = r.durations_s.clone();
    r.alerts = vec![AlertRecord {
        rule: Rule::PoolExhausted,
        severity: Severity::Critical,
        fired_at: t(1),
        resolved_at: None,
        summary: h,
    }];
    r
}

#[test]
fn text_from_logs_renders_as_text_everywhere() {
    let page = render(&hostile());
    for t in tags(&page) {
        assert!(OUR_TAGS.contains(&t.as_str()), "markup from the data: <{t}");
    }
    assert!(!page.contains("<img"), "{page}");
    // In content, in attributes, in SVG <title>s: the organization, the gateway, the message,
    // the summary, the pool's source all show as text.
    let shown = page.matches("&lt;img src=x onerror=alert(1)&gt;").count();
    assert!(shown >= 12, "shown {shown} times:\n{page}");
    assert!(
        page.contains(
            "<title>pool_exhausted (critical) 2026-03-02T01:00:00.000Z → still firing: &lt;img"
        ),
        "the summary on hover: {page}"
    );
    // Every chart drew marks.
    for chart in page.split("<svg").skip(1) {
        assert!(
            chart.contains("class=\"m "),
            "a chart without marks: {chart}"
        );
    }
    let charts: Vec<&str> = page
        .split("data-chart=\"")
        .skip(1)
        .filter_map(|c| c.split('"').next())
        .collect();
    assert_eq!(
        charts,
        [
            "pool",
            "rate.per_hour",
            "durations_s",
            "startup_ms",
            "allocations.failures_by_reason",
            "failures.per_hour",
            "gateways",
            "gateways.restart_s",
            "alerts"
        ],
        "every chart is drawn (one day: no chart per day)"
    );
}
