//! WHY ALLOCATIONS FAILED: the failures explained in plain words (refusals by a full pool,
//! handouts to gateways that were still restarting, gateways that stand out), then one row per
//! gateway.

use std::io::{self, Write};

use super::Style;
use crate::report::{GatewayFigures, Report};
use crate::term::escape;
use crate::units::{human_secs, pct, thousands};

/// Rows of the per-gateway table before the rest are summed up (a pool is a few dozen).
const ROWS: usize = 40;

/// Sentences are wrapped to this many columns (continuations indented).
const WIDTH: usize = 96;

/// `text` in lines of at most `width` characters, broken at spaces (a longer word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Why a gateway's row is marked.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StandsOut {
    pub failures: bool,
    pub startup: bool,
}

fn post_alloc_failures(g: &GatewayFigures) -> u64 {
    g.failures.health_check + g.failures.init + g.failures.other
}

/// Which gateways stand out from the others. Failures: more than three standard deviations
/// above what the other gateways' failure rate predicts for its allocations (and at least
/// three). Start-up: a mean more than 1.5 times the median of the gateways' means (at least
/// five start-ups, and at least three gateways to compare).
pub(crate) fn stand_out(by: &[GatewayFigures]) -> Vec<StandsOut> {
    let allocs: u64 = by.iter().map(|g| g.allocations).sum();
    let fails: u64 = by.iter().map(post_alloc_failures).sum();
    let mut means: Vec<f64> = by
        .iter()
        .filter(|g| g.startup_ms.count >= 5)
        .map(|g| g.startup_ms.mean)
        .collect();
    means.sort_by(f64::total_cmp);
    let median = (means.len() >= 3).then(|| means[means.len() / 2]);
    by.iter()
        .map(|g| {
            let f = post_alloc_failures(g);
            let (others_n, others_f) = (allocs - g.allocations, fails - f);
            let failures = f >= 3 && others_n > 0 && g.allocations > 0 && {
                let p = others_f as f64 / others_n as f64;
                let expected = g.allocations as f64 * p;
                let sd = (expected * (1.0 - p)).sqrt();
                f as f64 > expected + 3.0 * sd.max(1.0)
            };
            let startup = median
                .is_some_and(|m| g.startup_ms.count >= 5 && m > 0.0 && g.startup_ms.mean > 1.5 * m);
            StandsOut { failures, startup }
        })
        .collect()
}

fn of(part: u64, whole: u64) -> String {
    if whole == 0 {
        String::new()
    } else {
        format!(" ({})", pct(part as f64 / whole as f64))
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The section's sentences, one per line (without indentation or colour).
pub(crate) fn sentences(r: &Report) -> Vec<String> {
    let a = &r.allocations;
    let f = &a.failures_by_reason;
    let g = &r.gateways;
    let mut out = Vec::new();
    if a.failed == 0 && a.attempts > 0 {
        out.push("No allocation failed.".to_owned());
    }
    if f.no_gateway_available > 0 {
        let ex = &r.exhaustion;
        let none = ex.exhausted_s.map_or(String::new(), |s| {
            format!(", {} in all with none available", human_secs(s))
        });
        let mut s = format!(
            "{} of {} refused because every gateway was taken (no_gateway_available), in {}{none}",
            thousands(f.no_gateway_available),
            plural(a.failed, "failure was", "failures were"),
            plural(ex.episodes, "exhaustion episode", "exhaustion episodes"),
        );
        if let Some(top) = r.orgs.top_refused.first() {
            s.push_str(&format!(
                "; most refused: {} ({})",
                escape(&top.org),
                thousands(top.refused)
            ));
        }
        s.push('.');
        out.push(s);
    }
    let after = f.health_check + f.init + f.other;
    match (&g.recycling_handouts, &g.recycling_handout_outcomes) {
        (Some(handouts), Some(o)) => {
            let restarts =
                g.restart_s
                    .as_ref()
                    .filter(|r| r.count > 0)
                    .map_or(String::new(), |r| {
                        format!(
                            "; restarts take {} on average (max {})",
                            human_secs(r.mean),
                            human_secs(r.max)
                        )
                    });
            if f.health_check > 0 {
                out.push(format!(
                    "{} of {}{} hit gateways handed out while still restarting{restarts}.",
                    thousands(o.health_check),
                    plural(
                        f.health_check,
                        "health-check failure",
                        "health-check failures"
                    ),
                    of(o.health_check, f.health_check),
                ));
            } else if !restarts.is_empty() {
                out.push(format!("No health-check failures{restarts}."));
            }
            if *handouts > 0 {
                let failed = o.health_check + o.init + o.other;
                let mut s = format!(
                    "{} went to a restarting gateway: {} failed{}, {} started",
                    plural(*handouts, "allocation", "allocations"),
                    thousands(failed),
                    of(failed, *handouts),
                    thousands(o.started),
                );
                if o.unfinished > 0 {
                    s.push_str(&format!(", {} still starting", thousands(o.unfinished)));
                }
                let rest_n = a.allocated.saturating_sub(*handouts);
                let rest_f = after.saturating_sub(failed);
                if rest_n > 0 {
                    s.push_str(&format!(
                        "; of the other {} allocations {} failed{}",
                        thousands(rest_n),
                        thousands(rest_f),
                        of(rest_f, rest_n)
                    ));
                }
                s.push('.');
                out.push(s);
            }
        }
        _ if after > 0 => out.push(format!(
            "{} after an allocation; without the gateways' own logs gwmon cannot tell \
             whether they hit gateways still restarting (add them: gwmon report ganymede.log \
             gw-pool-*.log).",
            plural(after, "failure came", "failures came")
        )),
        _ => {}
    }
    let marks = stand_out(&g.by_gateway);
    for (gw, m) in g.by_gateway.iter().zip(&marks) {
        if m.failures {
            let fails = post_alloc_failures(gw);
            out.push(format!(
                "{} failed {} of its {} allocations{}, well above the other gateways.",
                escape(&gw.gateway),
                thousands(fails),
                thousands(gw.allocations),
                of(fails, gw.allocations)
            ));
        }
        if m.startup {
            out.push(format!(
                "{} starts slowly: {} on average over {} start-ups.",
                escape(&gw.gateway),
                human_secs(gw.startup_ms.mean / 1000.0),
                thousands(gw.startup_ms.count)
            ));
        }
    }
    out
}

fn row(gw: &GatewayFigures, m: StandsOut, st: &Style) -> String {
    let fails = post_alloc_failures(gw);
    let dash = || "-".to_owned();
    let handouts = gw.recycling_handouts.map_or_else(dash, thousands);
    let startup = if gw.startup_ms.count > 0 {
        format!(
            "{} / {}",
            human_secs(gw.startup_ms.mean / 1000.0),
            human_secs(gw.startup_ms.p90 / 1000.0)
        )
    } else {
        dash()
    };
    let restarts = gw
        .restart_s
        .as_ref()
        .filter(|r| r.count > 0)
        .map_or_else(dash, |r| {
            format!("{} × {}", thousands(r.count), human_secs(r.mean))
        });
    let mark = match (m.failures, m.startup) {
        (true, true) => "  ◀ failures, slow start",
        (true, false) => "  ◀ failures",
        (false, true) => "  ◀ slow start",
        _ => "",
    };
    let line = format!(
        "  {:<14} {:>6} {:>6} {:>7} {:>10} {:>15} {:>14}{mark}",
        escape(&gw.gateway),
        thousands(gw.allocations),
        thousands(fails),
        if gw.allocations > 0 {
            pct(fails as f64 / gw.allocations as f64)
        } else {
            dash()
        },
        handouts,
        startup,
        restarts,
    );
    st.bad(&line, !mark.is_empty())
}

/// Write the section (nothing when there is nothing to explain).
pub(super) fn write(out: &mut impl Write, r: &Report, st: &Style) -> io::Result<()> {
    let lines = sentences(r);
    let by = &r.gateways.by_gateway;
    if lines.is_empty() && by.is_empty() {
        return Ok(());
    }
    writeln!(out, "{}", st.head("WHY ALLOCATIONS FAILED"))?;
    for l in &lines {
        for (i, part) in wrap(l, WIDTH).iter().enumerate() {
            let indent = if i == 0 { "  " } else { "    " };
            writeln!(out, "{indent}{part}")?;
        }
    }
    if !by.is_empty() {
        if !lines.is_empty() {
            writeln!(out)?;
        }
        writeln!(
            out,
            "  {:<14} {:>6} {:>6} {:>7} {:>10} {:>15} {:>14}",
            "gateway", "alloc", "failed", "fail%", "restarting", "start mean/p90", "restarts"
        )?;
        let marks = stand_out(by);
        // The marked gateways always show; then the others in name order.
        let mut shown: Vec<usize> = (0..by.len())
            .filter(|&i| marks[i] != StandsOut::default())
            .collect();
        shown.extend((0..by.len()).filter(|&i| marks[i] == StandsOut::default()));
        shown.truncate(ROWS);
        shown.sort_unstable();
        for &i in &shown {
            writeln!(out, "{}", row(&by[i], marks[i], st))?;
        }
        if by.len() > shown.len() {
            writeln!(
                out,
                "  … {} more gateways (gwmon report --json lists them all)",
                by.len() - shown.len()
            )?;
        }
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{FailuresByReason, StartupFigures};

    fn gw(name: &str, allocations: u64, health_check: u64, startup_mean: f64) -> GatewayFigures {
        GatewayFigures {
            gateway: name.into(),
            id: None,
            allocations,
            failures: FailuresByReason {
                health_check,
                ..FailuresByReason::default()
            },
            recycling_handouts: None,
            startup_ms: StartupFigures {
                count: allocations - health_check,
                mean: startup_mean,
                p90: startup_mean,
            },
            held_s: 0.0,
            restart_s: None,
        }
    }

    #[test]
    fn sentences_wrap_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("a verylongword b", 4), ["a", "verylongword", "b"]);
        assert_eq!(wrap("", 10), Vec::<String>::new());
    }

    #[test]
    fn a_gateway_failing_far_more_often_than_the_others_stands_out() {
        let mut by: Vec<_> = (1..=7)
            .map(|i| gw(&format!("gw-pool-{i}"), 50, 1, 1500.0))
            .collect();
        by.push(gw("gw-pool-8", 50, 12, 1500.0));
        let m = stand_out(&by);
        assert!(m[7].failures, "{m:?}");
        assert!(m[..7].iter().all(|m| !m.failures && !m.startup), "{m:?}");
        // Chance-sized differences are not marked: 3 of 50 against 1 of 50.
        by[7] = gw("gw-pool-8", 50, 3, 1500.0);
        assert!(stand_out(&by).iter().all(|m| !m.failures));
    }

    #[test]
    fn a_slow_starting_gateway_stands_out() {
        let mut by: Vec<_> = (1..=5)
            .map(|i| gw(&format!("gw-pool-{i}"), 20, 0, 1400.0 + i as f64 * 20.0))
            .collect();
        by[2].startup_ms.mean = 4000.0;
        let m = stand_out(&by);
        assert!(m[2].startup && !m[2].failures, "{m:?}");
        assert_eq!(m.iter().filter(|m| m.startup).count(), 1);
        // Two gateways are too few to call one an outlier.
        assert!(stand_out(&by[1..3]).iter().all(|m| !m.startup));
    }
}
