//! The figure around a chart, and the pool over time (exhaustion episodes and gaps marked under
//! its time axis). Each chart function returns its `<figure>`, or nothing when it would draw no
//! mark.

use std::fmt::Write as _;

use super::svg::{Chart, LEFT, Lin, N, RIGHT, TimeAxis, W, hour_label, nice_ticks};
use super::{Figs, esc};
use crate::pool::HOUR;
use crate::report::{PoolHour, Report, Span};
use crate::units::time::parse_rfc3339;
use crate::units::{Millis, human_secs, thousands};

/// Hours of the pool chart that get a hover band of their own (five weeks).
const HOVER_HOURS: usize = 35 * 24;
/// Columns drawn at most across a time chart (longer histories are averaged per column).
const COLUMNS: usize = 700;

/// A chart in its figure: `caption` (HTML), the legend (swatch class, label), the SVG, and
/// `note` (HTML) under it; nothing when the chart drew no mark.
pub(super) fn figure(
    caption: &str,
    legend: &[(&str, &str)],
    chart: Chart,
    note: &str,
) -> Option<String> {
    if chart.marks == 0 {
        return None;
    }
    let mut out = String::from("<figure>");
    let _ = write!(out, "<figcaption>{caption}</figcaption>");
    if !legend.is_empty() {
        out.push_str("<p class=\"legend\">");
        for (class, label) in legend {
            let _ = write!(
                out,
                "<span><i class=\"sw {}\"></i>{}</span> ",
                esc(class),
                esc(label)
            );
        }
        out.push_str("</p>");
    }
    out.push_str(&chart.finish());
    if !note.is_empty() {
        let _ = write!(out, "<p class=\"note\">{note}</p>");
    }
    out.push_str("</figure>");
    Some(out)
}

/// Times of a series, parsed (entries whose time does not parse are left out).
pub(super) fn timed<T>(items: &[T], start: impl Fn(&T) -> &str) -> Vec<(usize, Millis, &T)> {
    items
        .iter()
        .enumerate()
        .filter_map(|(i, x)| parse_rfc3339(start(x)).map(|t| (i, t, x)))
        .collect()
}

/// A column of the pool chart: one hour, or the mean of several for long histories.
struct Col {
    t0: Millis,
    t1: Millis,
    allocated: f64,
    orphaned: f64,
    recycling: Option<f64>,
    available: Option<f64>,
    total: Option<f64>,
}

fn mean(xs: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let (n, sum) = xs.flatten().fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| sum / n as f64)
}

fn columns(hours: &[(usize, Millis, &PoolHour)]) -> Vec<Col> {
    let k = hours.len().div_ceil(COLUMNS).max(1);
    hours
        .chunks(k)
        .map(|c| Col {
            t0: c[0].1,
            t1: c[c.len() - 1].1 + HOUR,
            allocated: mean(c.iter().map(|h| Some(h.2.allocated))).unwrap_or(0.0),
            orphaned: mean(c.iter().map(|h| Some(h.2.orphaned))).unwrap_or(0.0),
            recycling: mean(c.iter().map(|h| h.2.recycling)),
            available: mean(c.iter().map(|h| h.2.available)),
            total: mean(c.iter().map(|h| h.2.total)),
        })
        .collect()
}

/// A step path through the columns' values: an area down to `base` (closed) or a line, with
/// horizontal and vertical moves only (`V y H x`).
fn steps(
    cols: &[Col],
    x: &TimeAxis,
    y: &Lin,
    base: f64,
    area: bool,
    f: impl Fn(&Col) -> Option<f64>,
) -> String {
    let mut d = String::new();
    // The last point while a subpath is open.
    let mut open: Option<(f64, f64)> = None;
    let mut prev_t1 = None;
    let close = |d: &mut String| {
        if area {
            let _ = write!(d, "V{}Z", N(base));
        }
    };
    for c in cols {
        let v = f(c);
        let broken = prev_t1.is_some_and(|t| c.t0 > t);
        prev_t1 = Some(c.t1);
        if open.is_some() && (v.is_none() || broken) {
            close(&mut d);
            open = None;
        }
        let Some(v) = v else { continue };
        let (xa, xb, yv) = (x.at(c.t0), x.at(c.t1), y.at(v));
        match open {
            None if area => {
                let _ = write!(d, "M{} {}V{}", N(xa), N(base), N(yv));
            }
            None => {
                let _ = write!(d, "M{} {}", N(xa), N(yv));
            }
            Some((_, last_y)) => {
                if N(yv).to_string() != N(last_y).to_string() {
                    let _ = write!(d, "V{}", N(yv));
                }
            }
        }
        let _ = write!(d, "H{}", N(xb));
        open = Some((xb, yv));
    }
    if open.is_some() {
        close(&mut d);
    }
    d
}

fn period_title(what: &str, s: &Span, refused: bool) -> String {
    let end = s.end.as_deref().unwrap_or("the end of the window");
    let mut t = format!("{what} {} → {end} ({})", s.start, human_secs(s.s));
    if refused {
        let _ = write!(t, ": {} refused", thousands(s.count));
    }
    t
}

/// Marks for spans (exhaustion periods or gaps) in a lane from `y` of height `h`.
fn spans(c: &mut Chart, x: &TimeAxis, (t0, t1): (Millis, Millis), lane: Lane<'_>) {
    for (i, s) in lane.spans.iter().enumerate() {
        let Some(a) = parse_rfc3339(&s.start) else {
            continue;
        };
        let b = s.end.as_deref().and_then(parse_rfc3339).unwrap_or(t1);
        let (a, b) = (a.clamp(t0, t1), b.clamp(t0, t1));
        let (xa, xb) = (x.at(a), x.at(b));
        // A short episode stays visible.
        let w = (xb - xa).max(1.5);
        let mut figs = Figs::of(format_args!("{}.{i}.s", lane.path), s.s);
        if lane.refused {
            figs = figs.and(format_args!("{}.{i}.count", lane.path), s.count);
        }
        c.group(&period_title(lane.what, s, lane.refused));
        c.bar(xa, lane.y, w, 10.0, lane.class, &figs);
        c.end_group();
    }
}

struct Lane<'a> {
    spans: &'a [Span],
    path: &'a str,
    what: &'a str,
    class: &'a str,
    refused: bool,
    y: f64,
}

/// The pool over time: allocated, orphaned and available stacked to the total, the total as a
/// line, the gateways restarting as a dashed line (they overlap the others: a handout while
/// restarting is allocated too), exhaustion episodes and gaps in lanes under the time axis.
pub(super) fn pool(r: &Report) -> Option<String> {
    let hours = timed(&r.pool.history, |h| &h.start);
    let (first, last) = (hours.first()?, hours.last()?);
    let (t0, t1) = (first.1, last.1 + HOUR);
    let cols = columns(&hours);
    let ymax = cols
        .iter()
        .map(|c| {
            let held = c.allocated + c.orphaned;
            (held + c.available.unwrap_or(0.0))
                .max(c.total.unwrap_or(0.0))
                .max(c.recycling.unwrap_or(0.0))
        })
        .fold(0.0, f64::max);
    let (ytop, ticks) = nice_ticks(ymax, 4);
    let (top, bottom) = (10.0, 190.0);
    let y = Lin {
        d0: 0.0,
        d1: ytop,
        r0: bottom,
        r1: top,
    };
    let x = TimeAxis::new(t0, t1, LEFT);
    let mut c = Chart::new("pool", 246.0, "The pool over time");
    x.draw(&mut c, top, bottom);
    c.y_grid(&y, &ticks, |v| format!("{v}"));
    let known_av = cols.iter().any(|c| c.available.is_some());
    if known_av {
        let d = steps(&cols, &x, &y, bottom, true, |c| {
            c.available.map(|a| c.allocated + c.orphaned + a)
        });
        c.mark_path(&d, "av", &Figs::default());
    }
    let d = steps(&cols, &x, &y, bottom, true, |c| {
        Some(c.allocated + c.orphaned)
    });
    c.mark_path(&d, "o", &Figs::default());
    let d = steps(&cols, &x, &y, bottom, true, |c| Some(c.allocated));
    c.mark_path(&d, "a", &Figs::default());
    if cols.iter().any(|c| c.total.is_some()) {
        let d = steps(&cols, &x, &y, bottom, false, |c| c.total);
        c.mark_path(&d, "tot", &Figs::default());
    }
    if cols.iter().any(|c| c.recycling.is_some()) {
        let d = steps(&cols, &x, &y, bottom, false, |c| c.recycling);
        c.mark_path(&d, "rec", &Figs::default());
    }
    c.line(LEFT, bottom, W - RIGHT, bottom, "ax");
    let lanes = [
        Lane {
            spans: &r.exhaustion.periods,
            path: "exhaustion.periods",
            what: "pool exhausted",
            class: "ex",
            refused: true,
            y: 211.0,
        },
        Lane {
            spans: &r.gaps,
            path: "gaps",
            what: "gap without lifecycle lines",
            class: "gap",
            refused: false,
            y: 230.0,
        },
    ];
    for lane in lanes {
        c.text(
            LEFT - 5.0,
            lane.y + 9.0,
            "end",
            "tick nm",
            &lane.class.replace("ex", "exh"),
        );
        if lane.spans.is_empty() {
            c.text(LEFT + 2.0, lane.y + 9.0, "start", "tick nm", "none");
        }
        spans(&mut c, &x, (t0, t1), lane);
    }
    if hours.len() <= HOVER_HOURS {
        for &(i, t, h) in &hours {
            let fmt = |v: Option<f64>| v.map_or("unknown".to_owned(), |v| format!("{v:.1}"));
            let title = format!(
                "{}: allocated {:.1} · orphaned {:.1} · recycling {} · available {} · total {}",
                hour_label(t),
                h.allocated,
                h.orphaned,
                fmt(h.recycling),
                fmt(h.available),
                fmt(h.total)
            );
            let p = |k: &str| format!("pool.history.{i}.{k}");
            let figs = Figs::of(p("allocated"), h.allocated)
                .and(p("orphaned"), h.orphaned)
                .and_opt(p("recycling"), h.recycling)
                .and_opt(p("available"), h.available)
                .and_opt(p("total"), h.total);
            let (xa, xb) = (x.at(t), x.at(t + HOUR));
            c.hover(xa, top, xb - xa, bottom - top, &title, &figs);
        }
    }
    let per = hours.len().div_ceil(COLUMNS).max(1);
    let unit = if per == 1 {
        "per hour".to_owned()
    } else {
        format!("per {per} hours (means of the hourly means)")
    };
    let mut legend = vec![("a", "allocated"), ("o", "orphaned")];
    if known_av {
        legend.push(("av", "available"));
        legend.push(("tot", "total"));
    }
    if cols.iter().any(|c| c.recycling.is_some()) {
        legend.push(("rec", "recycling (restarting; overlaps the others)"));
    }
    legend.push(("ex", "exhaustion episode"));
    legend.push(("gap", "gap without lifecycle lines"));
    figure(
        &format!("Gateways over time, time-weighted means {unit} (UTC; weekends shaded)"),
        &legend,
        c,
        "",
    )
}
