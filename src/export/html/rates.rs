//! Allocations, reuses and failures per hour (up to three weeks) or per day, and failures by
//! reason over time: bars on a UTC time axis with the weekends shaded.

use super::Figs;
use super::charts::{figure, timed};
use super::svg::{Chart, LEFT, Lin, RIGHT, TimeAxis, W, day_label, hour_label, nice_ticks};
use crate::pool::{DAY, HOUR};
use crate::report::{Bucket, FailuresByReason, Report};
use crate::units::{Millis, thousands};

/// Which buckets the rate charts use: per hour up to three weeks, per day beyond.
pub(super) fn hourly(r: &Report) -> bool {
    r.rate.per_hour.len() <= 21 * 24 + 1
}

fn bucket_series(
    r: &Report,
    per_day: bool,
) -> (&'static str, Millis, Vec<(usize, Millis, &Bucket)>) {
    if per_day {
        ("per_day", DAY, timed(&r.rate.per_day, |b| &b.start))
    } else {
        ("per_hour", HOUR, timed(&r.rate.per_hour, |b| &b.start))
    }
}

/// Allocations and reuses stacked up, failures down, per hour or per day.
pub(super) fn rates(r: &Report, per_day: bool) -> Option<String> {
    let (key, step, buckets) = bucket_series(r, per_day);
    let (first, last) = (buckets.first()?, buckets.last()?);
    let up = |b: &Bucket| b.allocated + b.reused;
    let max_up = buckets.iter().map(|b| up(b.2)).max().unwrap_or(0);
    let max_down = buckets.iter().map(|b| b.2.failed).max().unwrap_or(0);
    if max_up + max_down == 0 {
        return None;
    }
    let (_, t) = nice_ticks(max_up.max(max_down) as f64, 4);
    let vstep = t.get(1).copied().unwrap_or(1.0);
    let top_up = ((max_up as f64 / vstep).ceil() * vstep).max(vstep);
    let top_down = (max_down as f64 / vstep).ceil() * vstep;
    let (top, height) = (10.0, if per_day { 150.0 } else { 200.0 });
    let per = height / (top_up + top_down);
    let y0 = top + top_up * per;
    let bottom = top + height;
    let x = TimeAxis::new(first.1, last.1 + step, LEFT);
    let name = format!("rate.{key}");
    let mut c = Chart::new(&name, bottom + 24.0, "Allocations, reuses and failures");
    x.draw(&mut c, top, bottom);
    let mut v = 0.0;
    while v <= top_up + 1e-9 {
        let py = y0 - v * per;
        c.line(LEFT, py, W - RIGHT, py, "grid");
        c.text(LEFT - 5.0, py + 4.0, "end", "tick", &format!("{v}"));
        v += vstep;
    }
    let mut v = vstep;
    while v <= top_down + 1e-9 {
        let py = y0 + v * per;
        c.line(LEFT, py, W - RIGHT, py, "grid");
        c.text(LEFT - 5.0, py + 4.0, "end", "tick f", &format!("{v}"));
        v += vstep;
    }
    for &(i, t, b) in &buckets {
        if up(b) + b.failed == 0 {
            continue;
        }
        let (xa, xb) = (x.at(t), x.at(t + step));
        let bw = xb - xa;
        let pad = if bw > 4.0 { bw * 0.15 } else { 0.0 };
        let when = if per_day { day_label(t) } else { hour_label(t) };
        c.group(&format!(
            "{when}: {} allocated · {} reused · {} failed",
            thousands(b.allocated),
            thousands(b.reused),
            thousands(b.failed)
        ));
        let p = |k: &str| format!("rate.{key}.{i}.{k}");
        let ha = b.allocated as f64 * per;
        let hr = b.reused as f64 * per;
        if b.allocated > 0 {
            c.bar(
                xa + pad,
                y0 - ha,
                bw - 2.0 * pad,
                ha,
                "a",
                &Figs::of(p("allocated"), b.allocated),
            );
        }
        if b.reused > 0 {
            c.bar(
                xa + pad,
                y0 - ha - hr,
                bw - 2.0 * pad,
                hr,
                "re",
                &Figs::of(p("reused"), b.reused),
            );
        }
        if b.failed > 0 {
            let hf = b.failed as f64 * per;
            c.bar(
                xa + pad,
                y0,
                bw - 2.0 * pad,
                hf,
                "f",
                &Figs::of(p("failed"), b.failed),
            );
        }
        c.rect(xa, top, bw, height, "hv", &Figs::default());
        c.end_group();
    }
    c.line(LEFT, y0, W - RIGHT, y0, "ax");
    let unit = if per_day { "day" } else { "hour" };
    figure(
        &format!(
            "Allocations and reuses per {unit} (up), failures per {unit} (down), UTC; weekends shaded"
        ),
        &[("a", "allocated"), ("re", "reused"), ("f", "failed")],
        c,
        "",
    )
}

/// The reasons, their keys and classes, in the report's order.
pub(super) const REASONS: [(&str, &str); 4] = [
    ("no_gateway_available", "r-nga"),
    ("health_check", "r-hc"),
    ("init", "r-init"),
    ("other", "r-other"),
];

pub(super) fn reason_counts(f: &FailuresByReason) -> [u64; 4] {
    [f.no_gateway_available, f.health_check, f.init, f.other]
}

/// Failures per hour or per day, stacked by reason.
pub(super) fn failures(r: &Report, per_day: bool) -> Option<String> {
    let (key, step, buckets) = bucket_series(r, per_day);
    let (first, last) = (buckets.first()?, buckets.last()?);
    let sum = |b: &Bucket| reason_counts(&b.failures_by_reason).iter().sum::<u64>();
    let max = buckets.iter().map(|b| sum(b.2)).max().unwrap_or(0);
    if max == 0 {
        return None;
    }
    let (ytop, ticks) = nice_ticks(max as f64, 4);
    let (top, bottom) = (10.0, 150.0);
    let y = Lin {
        d0: 0.0,
        d1: ytop,
        r0: bottom,
        r1: top,
    };
    let x = TimeAxis::new(first.1, last.1 + step, LEFT);
    let mut c = Chart::new(
        &format!("failures.{key}"),
        bottom + 24.0,
        "Failures by reason over time",
    );
    x.draw(&mut c, top, bottom);
    c.y_grid(&y, &ticks, |v| format!("{v}"));
    let per = -y.per();
    for &(i, t, b) in &buckets {
        let counts = reason_counts(&b.failures_by_reason);
        if counts.iter().all(|n| *n == 0) {
            continue;
        }
        let (xa, xb) = (x.at(t), x.at(t + step));
        let bw = xb - xa;
        let pad = if bw > 4.0 { bw * 0.15 } else { 0.0 };
        let when = if per_day { day_label(t) } else { hour_label(t) };
        let parts: Vec<String> = REASONS
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|((name, _), n)| format!("{} {name}", thousands(n)))
            .collect();
        c.group(&format!("{when}: {}", parts.join(" · ")));
        let mut acc = 0.0;
        for ((name, class), n) in REASONS.iter().zip(counts) {
            if n == 0 {
                continue;
            }
            let h = n as f64 * per;
            let figs = Figs::of(format_args!("rate.{key}.{i}.failures_by_reason.{name}"), n);
            c.bar(xa + pad, bottom - acc - h, bw - 2.0 * pad, h, class, &figs);
            acc += h;
        }
        c.rect(xa, top, bw, bottom - top, "hv", &Figs::default());
        c.end_group();
    }
    c.line(LEFT, bottom, W - RIGHT, bottom, "ax");
    let unit = if per_day { "day" } else { "hour" };
    figure(
        &format!("Failures per {unit} by reason (UTC)"),
        &[
            ("r-nga", "no_gateway_available"),
            ("r-hc", "health_check"),
            ("r-init", "init"),
            ("r-other", "other"),
        ],
        c,
        "",
    )
}
