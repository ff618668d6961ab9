//! The charts that are not over time: the allocation-duration and start-up histograms on a
//! logarithmic axis with p50/p90/p99 marked, failures by reason in total, and the per-gateway
//! allocations, failures and restart times.

use std::fmt::Write as _;

use super::Figs;
use super::charts::figure;
use super::rates::{REASONS, reason_counts};
use super::svg::{Chart, LEFT, Lin, Log, RIGHT, W, nice_ticks};
use crate::report::{Durations, GatewayFigures, Report};
use crate::units::{human_secs, pct, thousands};

/// Gateways drawn at most in the per-gateway charts (the table says how many more there are).
pub(super) const GATEWAYS_DRAWN: usize = 40;

/// A bound in seconds in a few characters: `250ms`, `1.5s`, `15m`, `12h`, `7d`.
fn short(s: f64) -> String {
    let trim = |v: f64| {
        let t = format!("{v:.1}");
        t.trim_end_matches(".0").to_owned()
    };
    if s < 1.0 {
        format!("{}ms", (s * 1000.0).round())
    } else if s < 60.0 {
        format!("{}s", trim(s))
    } else if s < 3600.0 {
        format!("{}m", trim(s / 60.0))
    } else if s < 86400.0 {
        format!("{}h", trim(s / 3600.0))
    } else {
        format!("{}d", trim(s / 86400.0))
    }
}

/// A histogram of `d` (key `path` in the report; its values are milliseconds when `ms`) on a
/// logarithmic axis, with its p50, p90 and p99 marked.
pub(super) fn histogram(d: &Durations, path: &str, what: &str, ms: bool) -> Option<String> {
    if d.count == 0 || d.histogram.is_empty() {
        return None;
    }
    let secs = |v: f64| if ms { v / 1000.0 } else { v };
    let bounds: Vec<f64> = d.histogram.iter().filter_map(|b| b.le).collect();
    let (lo, hi) = (bounds.first()? / 2.0, bounds.last()? * 2.0);
    let (top, bottom) = (50.0, 200.0);
    let x = Log {
        d0: lo,
        d1: hi,
        r0: LEFT,
        r1: W - RIGHT,
    };
    let max = d.histogram.iter().map(|b| b.count).max().unwrap_or(0);
    let (ytop, ticks) = nice_ticks(max as f64, 4);
    let y = Lin {
        d0: 0.0,
        d1: ytop,
        r0: bottom,
        r1: top,
    };
    let mut c = Chart::new(path, bottom + 24.0, what);
    c.y_grid(&y, &ticks, |v| format!("{v}"));
    // Every bound gets a tick; labels where they fit (every other one of those on a phone).
    let mut last_label = f64::NEG_INFINITY;
    let mut labelled = 0;
    for le in &bounds {
        let px = x.at(*le);
        c.line(px, bottom, px, bottom + 4.0, "ax");
        if px - last_label >= 46.0 {
            let class = if labelled % 2 == 1 {
                "tick minor"
            } else {
                "tick"
            };
            c.text(px, bottom + 16.0, "middle", class, &short(secs(*le)));
            last_label = px;
            labelled += 1;
        }
    }
    let mut prev = lo;
    for (i, b) in d.histogram.iter().enumerate() {
        let upper = b.le.unwrap_or(hi);
        let (xa, xb) = (x.at(prev), x.at(upper));
        let range = match b.le {
            Some(le) if i == 0 => format!("up to {}", human_secs(secs(le))),
            Some(le) => format!("{} to {}", human_secs(secs(prev)), human_secs(secs(le))),
            None => format!("over {}", human_secs(secs(prev))),
        };
        prev = upper;
        if b.count == 0 {
            continue;
        }
        let h = bottom - y.at(b.count as f64);
        c.group(&format!("{range}: {}", thousands(b.count)));
        let figs = Figs::of(format_args!("{path}.histogram.{i}.count"), b.count);
        c.bar(
            xa + 1.0,
            bottom - h,
            (xb - xa - 2.0).max(1.0),
            h,
            "a",
            &figs,
        );
        c.end_group();
    }
    c.line(LEFT, bottom, W - RIGHT, bottom, "ax");
    for (k, (name, v)) in [("p50", d.p50), ("p90", d.p90), ("p99", d.p99)]
        .into_iter()
        .enumerate()
    {
        let px = x.at(v.max(lo));
        let ly = 14.0 + 16.0 * k as f64;
        c.group(&format!("{name}: {}", human_secs(secs(v))));
        c.mark_path(
            &format!(
                "M{} {}L{} {}",
                super::svg::N(px),
                super::svg::N(ly + 3.0),
                super::svg::N(px),
                super::svg::N(bottom)
            ),
            "q",
            &Figs::of(format_args!("{path}.{name}"), v),
        );
        let right = px > W - 160.0;
        let label = format!("{name} {}", human_secs(secs(v)));
        if right {
            c.text(px - 4.0, ly, "end", "tick ql", &label);
        } else {
            c.text(px + 4.0, ly, "start", "tick ql", &label);
        }
        c.end_group();
    }
    figure(
        &format!("{what}, on a logarithmic axis"),
        &[("a", "count per bucket"), ("q", "p50 / p90 / p99")],
        c,
        "",
    )
}

/// Failures by reason in total: one bar per reason.
pub(super) fn reasons(r: &Report) -> Option<String> {
    let a = &r.allocations;
    if a.failed == 0 {
        return None;
    }
    let counts = reason_counts(&a.failures_by_reason);
    // Each row: the reason's name over its bar (readable at any width).
    let row = 34.0;
    let max = counts.iter().copied().max().unwrap_or(0);
    let (xtop, _) = nice_ticks(max as f64, 4);
    let x = Lin {
        d0: 0.0,
        d1: xtop,
        r0: LEFT,
        r1: W - 190.0,
    };
    let mut c = Chart::new(
        "allocations.failures_by_reason",
        row * 4.0 + 4.0,
        "Failures by reason in total",
    );
    for (k, ((name, class), n)) in REASONS.iter().zip(counts).enumerate() {
        let ry = 2.0 + row * k as f64;
        let share = pct(n as f64 / a.failed as f64);
        c.group(&format!("{name}: {} ({share})", thousands(n)));
        c.text(LEFT, ry + 13.0, "start", "tick", name);
        if n > 0 {
            let figs = Figs::of(format_args!("allocations.failures_by_reason.{name}"), n);
            c.bar(LEFT, ry + 17.0, x.at(n as f64) - LEFT, 13.0, class, &figs);
        }
        c.text(
            x.at(n as f64) + 6.0,
            ry + 29.0,
            "start",
            "tick",
            &format!("{} · {share}", thousands(n)),
        );
        c.end_group();
    }
    figure("Failures by reason, in total", &[], c, "")
}

/// A gateway's name as a chart label: at most 12 characters (the tables show it whole).
fn short_name(name: &str) -> String {
    if name.chars().count() > 12 {
        name.chars().take(11).chain(['…']).collect()
    } else {
        name.to_owned()
    }
}

fn post_alloc(g: &GatewayFigures) -> u64 {
    g.failures.health_check + g.failures.init + g.failures.other
}

/// Per gateway: allocations (those handed out while restarting darker) and failures by reason,
/// on two scales side by side.
pub(super) fn gateways(r: &Report) -> Option<String> {
    let by = &r.gateways.by_gateway;
    if by.is_empty() {
        return None;
    }
    let shown = &by[..by.len().min(GATEWAYS_DRAWN)];
    let (row, top) = (22.0, 24.0);
    let (name_w, mid, gap) = (130.0, 480.0, 30.0);
    let amax = shown.iter().map(|g| g.allocations).max().unwrap_or(0);
    let fmax = shown.iter().map(post_alloc).max().unwrap_or(0);
    let (atop, _) = nice_ticks(amax as f64, 4);
    let (ftop, _) = nice_ticks(fmax as f64, 4);
    let xa = Lin {
        d0: 0.0,
        d1: atop,
        r0: name_w,
        r1: mid - gap,
    };
    let xf = Lin {
        d0: 0.0,
        d1: ftop,
        r0: mid,
        r1: W - RIGHT - 30.0,
    };
    let bottom = top + row * shown.len() as f64;
    let mut c = Chart::new(
        "gateways",
        bottom + 8.0,
        "Allocations and failures per gateway",
    );
    c.text(name_w, 14.0, "start", "tick", "allocations");
    c.text(mid, 14.0, "start", "tick", "failures after allocation");
    for (i, g) in shown.iter().enumerate() {
        let ry = top + row * i as f64;
        c.text(
            name_w - 6.0,
            ry + 15.0,
            "end",
            "tick nm",
            &short_name(&g.gateway),
        );
        let fails = post_alloc(g);
        let mut title = format!("{}: {} allocations", g.gateway, thousands(g.allocations));
        if let Some(h) = g.recycling_handouts {
            let _ = write!(title, " ({} while restarting)", thousands(h));
        }
        let _ = write!(
            title,
            ", {} failed: {} health_check, {} init, {} other",
            thousands(fails),
            thousands(g.failures.health_check),
            thousands(g.failures.init),
            thousands(g.failures.other)
        );
        c.group(&title);
        let p = |k: &str| format!("gateways.by_gateway.{i}.{k}");
        if g.allocations > 0 {
            let w = xa.at(g.allocations as f64) - name_w;
            c.bar(
                name_w,
                ry + 4.0,
                w,
                row - 8.0,
                "a",
                &Figs::of(p("allocations"), g.allocations),
            );
        }
        if let Some(h) = g.recycling_handouts.filter(|h| *h > 0) {
            let w = xa.at(h as f64) - name_w;
            c.bar(
                name_w,
                ry + 4.0,
                w,
                row - 8.0,
                "rh",
                &Figs::of(p("recycling_handouts"), h),
            );
        }
        c.text(
            xa.at(g.allocations as f64) + 4.0,
            ry + 15.0,
            "start",
            "tick",
            &thousands(g.allocations),
        );
        let mut acc = mid;
        for (name, class, n) in [
            ("health_check", "r-hc", g.failures.health_check),
            ("init", "r-init", g.failures.init),
            ("other", "r-other", g.failures.other),
        ] {
            if n == 0 {
                continue;
            }
            let w = xf.at(n as f64) - mid;
            let figs = Figs::of(p(&format!("failures.{name}")), n);
            c.bar(acc, ry + 4.0, w, row - 8.0, class, &figs);
            acc += w;
        }
        c.text(acc + 4.0, ry + 15.0, "start", "tick", &thousands(fails));
        c.end_group();
    }
    c.line(name_w, top, name_w, bottom, "ax");
    c.line(mid, top, mid, bottom, "ax");
    let mut legend = vec![("a", "allocations")];
    if r.gateways.side_logs {
        legend.push(("rh", "handed out while restarting"));
    }
    legend.extend([
        ("r-hc", "health_check"),
        ("r-init", "init"),
        ("r-other", "other"),
    ]);
    figure(
        "Per gateway: allocations, and failures after an allocation by reason",
        &legend,
        c,
        "",
    )
}

/// Per gateway: restart times (the mean as a bar, p90 as a tick, the whisker to the max).
pub(super) fn restarts(r: &Report) -> Option<String> {
    let rows: Vec<(usize, &GatewayFigures, &crate::report::RestartFigures)> = r
        .gateways
        .by_gateway
        .iter()
        .take(GATEWAYS_DRAWN)
        .enumerate()
        .filter_map(|(i, g)| {
            g.restart_s
                .as_ref()
                .filter(|s| s.count > 0)
                .map(|s| (i, g, s))
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let (row, top, name_w) = (22.0, 8.0, 130.0);
    let max = rows.iter().map(|r| r.2.max).fold(0.0, f64::max);
    let (xtop, ticks) = nice_ticks(max, 5);
    let x = Lin {
        d0: 0.0,
        d1: xtop,
        r0: name_w,
        r1: W - RIGHT - 20.0,
    };
    let bottom = top + row * rows.len() as f64;
    let mut c = Chart::new(
        "gateways.restart_s",
        bottom + 24.0,
        "Restart times per gateway",
    );
    for t in &ticks {
        let px = x.at(*t);
        c.line(px, top, px, bottom, "grid");
        let label = if *t == 0.0 {
            "0".to_owned()
        } else if xtop <= 600.0 {
            format!("{t}s")
        } else {
            short(*t)
        };
        c.text(px, bottom + 16.0, "middle", "tick", &label);
    }
    for (k, &(i, g, s)) in rows.iter().enumerate() {
        let ry = top + row * k as f64;
        c.text(
            name_w - 6.0,
            ry + 15.0,
            "end",
            "tick nm",
            &short_name(&g.gateway),
        );
        c.group(&format!(
            "{}: {} restarts, mean {}, p50 {}, p90 {}, max {}",
            g.gateway,
            thousands(s.count),
            human_secs(s.mean),
            human_secs(s.p50),
            human_secs(s.p90),
            human_secs(s.max)
        ));
        let p = |k: &str| format!("gateways.by_gateway.{i}.restart_s.{k}");
        let mid = ry + row / 2.0;
        c.mark_path(
            &format!(
                "M{} {}L{} {}M{} {}L{} {}",
                super::svg::N(x.at(s.mean)),
                super::svg::N(mid),
                super::svg::N(x.at(s.max)),
                super::svg::N(mid),
                super::svg::N(x.at(s.max)),
                super::svg::N(mid - 4.0),
                super::svg::N(x.at(s.max)),
                super::svg::N(mid + 4.0)
            ),
            "wh",
            &Figs::of(p("max"), s.max),
        );
        c.bar(
            name_w,
            ry + 5.0,
            x.at(s.mean) - name_w,
            row - 10.0,
            "rs",
            &Figs::of(p("mean"), s.mean),
        );
        c.mark_path(
            &format!(
                "M{} {}L{} {}",
                super::svg::N(x.at(s.p90)),
                super::svg::N(ry + 2.0),
                super::svg::N(x.at(s.p90)),
                super::svg::N(ry + row - 2.0)
            ),
            "p90",
            &Figs::of(p("p90"), s.p90),
        );
        c.end_group();
    }
    c.line(name_w, top, name_w, bottom, "ax");
    figure(
        "Restart times per gateway (a DOWN mark after an UP to the next UP)",
        &[("rs", "mean"), ("p90", "p90"), ("wh", "max")],
        c,
        "",
    )
}
