//! The human report: aligned sections, pool figures first, readable in ten seconds.

use std::io::{self, Write};

use crate::alert::Engine;
use crate::pool::Pool;
use crate::recognize::ReadStats;
use crate::report::{Bucket, Durations, Report};
use crate::term::escape;
use crate::units::time::parse_rfc3339;
use crate::units::{Millis, fmt_time, human_secs, pct, thousands};

pub(crate) mod why;

/// The one-line pool status at `now` (`watch`'s SIGUSR1, --summary-every, and at its end).
pub fn pool_line(now: Millis, pool: &Pool, engine: &Engine, stats: &ReadStats) -> String {
    let c = &pool.counters;
    let total = pool.total().map_or("?".to_owned(), |t| t.to_string());
    let avail = pool.available().map_or("?".to_owned(), |a| a.to_string());
    let util = pool.utilization().map_or(String::new(), |u| {
        format!(" · utilization {:.1}%", u * 100.0)
    });
    let rate = if c.attempts > 0 {
        format!(" ({:.1}%)", c.failed as f64 / c.attempts as f64 * 100.0)
    } else {
        String::new()
    };
    let firing: Vec<&str> = engine.firing().iter().map(|a| a.rule.name()).collect();
    let firing = if firing.is_empty() {
        "no alert firing".to_owned()
    } else {
        format!("firing: {}", firing.join(", "))
    };
    let recycling = pool.recycling().map_or(String::new(), |n| {
        let names: Vec<&str> = pool.gateways.restarting().iter().map(|g| g.0).collect();
        let mut list = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
        if names.len() > 5 {
            list.push_str(", …");
        }
        if n == 0 {
            " · 0 restarting".to_owned()
        } else {
            format!(" · {n} restarting ({})", escape(&list))
        }
    });
    format!(
        "{} pool {}/{total} allocated · {avail} available · {} orphaned{recycling}{util} · {} allocated, {} failed{rate} · {} lines, {} skipped · {firing}",
        fmt_time(now),
        pool.allocated(),
        pool.orphaned_open,
        c.allocated,
        c.failed,
        stats.lines,
        stats.skipped
    )
}

const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of at most `width` cells; buckets are summed when there are more.
pub fn sparkline(values: &[u64], width: usize) -> String {
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let per = values.len().div_ceil(width);
    let cells: Vec<u64> = values.chunks(per).map(|c| c.iter().sum()).collect();
    let max = cells.iter().copied().max().unwrap_or(0);
    cells
        .iter()
        .map(|&v| {
            if max == 0 || v == 0 {
                ' '
            } else {
                SPARK[(v * 7 / max).min(7) as usize]
            }
        })
        .collect()
}

struct Style {
    color: bool,
}

impl Style {
    fn head(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn bad(&self, s: &str, bad: bool) -> String {
        if self.color && bad {
            format!("\x1b[31m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

fn durations(d: &Durations, unit_ms: bool) -> String {
    if d.count == 0 {
        return "none completed".into();
    }
    let f = |v: f64| {
        if unit_ms {
            human_secs(v / 1000.0)
        } else {
            human_secs(v)
        }
    };
    format!(
        "n={}  mean {}  p50 {}  p90 {}  p99 {}  max {}",
        thousands(d.count),
        f(d.mean),
        f(d.p50),
        f(d.p90),
        f(d.p99),
        f(d.max)
    )
}

fn window_line(r: &Report) -> String {
    match (&r.window.start, &r.window.end) {
        (Some(s), Some(e)) => {
            let span = match (parse_rfc3339(s), parse_rfc3339(e)) {
                (Some(a), Some(b)) => format!("  ({})", human_secs((b - a) as f64 / 1000.0)),
                _ => String::new(),
            };
            format!("{s} → {e}{span}")
        }
        _ => "no gateway events".into(),
    }
}

fn hour_axis(buckets: &[Bucket], width: usize) -> String {
    // Label the first cell and then every quarter of the line with the bucket's hour.
    let per = buckets.len().div_ceil(width.max(1)).max(1);
    let cells = buckets.len().div_ceil(per);
    let mut axis = vec![' '; cells + 6];
    let step = (cells / 4).max(6);
    let mut i = 0;
    while i < cells {
        if let Some(b) = buckets.get(i * per) {
            let label = format!("{}h", b.start.get(11..13).unwrap_or("??"));
            for (k, c) in label.chars().enumerate() {
                if i + k < axis.len() {
                    axis[i + k] = c;
                }
            }
        }
        i += step;
    }
    axis.into_iter().collect::<String>().trim_end().to_owned()
}

/// Write the text report.
pub fn write_report(out: &mut impl Write, r: &Report, color: bool) -> io::Result<()> {
    let st = Style { color };
    let p = &r.pool;
    let a = &r.allocations;
    writeln!(out, "{}  {}", st.head("gwmon report"), window_line(r))?;
    writeln!(
        out,
        "lines         {} read · {} matched · {}",
        thousands(r.lines.read),
        thousands(r.lines.matched),
        st.bad(
            &format!("{} skipped", thousands(r.lines.skipped)),
            r.lines.skipped > 0
        )
    )?;
    writeln!(out)?;

    writeln!(out, "{}", st.head("POOL"))?;
    let total = match p.total {
        Some(t) => format!("{t} ({})", p.total_source),
        None => "unknown (no --pool-size and no pool snapshot in the logs)".into(),
    };
    writeln!(out, "  total         {total}")?;
    let avail = p.available.map_or("unknown".into(), |v| v.to_string());
    writeln!(
        out,
        "  now           {} allocated · {} · {} orphaned{}",
        p.allocated,
        st.bad(
            &format!("{avail} available"),
            p.available.is_some_and(|v| v <= 0)
        ),
        p.orphaned,
        if p.recycling > 0 {
            format!(" · {} recycling", p.recycling)
        } else {
            String::new()
        }
    )?;
    if !p.consistent {
        let held = p.allocated + p.orphaned;
        writeln!(
            out,
            "  {}",
            st.bad(
                &format!(
                    "INCONSISTENT: the log shows {held} gateways held on a pool of {}; deallocation lines are missing (a gap in the log, lines lost upstream) or the pool is larger than {} (--pool-size)",
                    p.total.unwrap_or(0),
                    p.total.unwrap_or(0)
                ),
                true
            )
        )?;
    }
    let util = match (p.utilization, p.utilization_mean) {
        (Some(u), Some(m)) => format!("{} now · {} time-weighted mean", pct(u), pct(m)),
        (Some(u), None) => format!("{} now", pct(u)),
        _ => "unknown (pool size unknown)".into(),
    };
    writeln!(out, "  utilization   {util}")?;
    writeln!(
        out,
        "  peak          {} allocated at once{}",
        p.peak_allocated,
        p.total.map_or(String::new(), |t| format!(" of {t}"))
    )?;
    let ex = &r.exhaustion;
    let exhausted = ex.exhausted_s.map_or(String::new(), |s| {
        format!(" · {} with none available", human_secs(s))
    });
    writeln!(
        out,
        "  exhaustion    {}{}",
        st.bad(
            &format!(
                "{} episodes · {} refused (no_gateway_available)",
                ex.episodes,
                thousands(ex.failures)
            ),
            ex.failures > 0
        ),
        exhausted
    )?;
    if let Some(s) = &p.last_snapshot {
        writeln!(
            out,
            "  snapshot      {}  total {} · used {} · ready {} · not ready {}",
            s.time, s.total, s.used, s.ready, s.unused_not_ready
        )?;
    }
    writeln!(out)?;

    writeln!(out, "{}", st.head("ALLOCATIONS"))?;
    writeln!(
        out,
        "  attempts      {}  → {} allocated · {} reused · {}",
        thousands(a.attempts),
        thousands(a.allocated),
        thousands(a.reused),
        st.bad(
            &format!("{} failed ({})", thousands(a.failed), pct(a.failure_rate)),
            a.failed > 0
        )
    )?;
    writeln!(
        out,
        "  ended         {} deallocated · {} rolled back · {} orphaned · {} open",
        thousands(a.deallocated),
        thousands(a.rollbacks),
        thousands(a.orphaned),
        thousands(a.open)
    )?;
    writeln!(out, "  held          {}", durations(&r.durations_s, false))?;
    if r.startup_ms.count > 0 {
        writeln!(out, "  start-up      {}", durations(&r.startup_ms, true))?;
    }
    writeln!(out)?;

    let hours = &r.rate.per_hour;
    if !hours.is_empty() {
        let values: Vec<u64> = hours.iter().map(|b| b.allocated).collect();
        let fails: Vec<u64> = hours.iter().map(|b| b.failed).collect();
        let max = values.iter().max().copied().unwrap_or(0);
        let per = hours.len().div_ceil(72);
        let unit = if per == 1 {
            "hour".to_owned()
        } else {
            format!("{per} hours")
        };
        writeln!(
            out,
            "{}  per {unit}, peak {}",
            st.head("ALLOCATIONS OVER TIME"),
            max
        )?;
        writeln!(out, "  allocated  {}", sparkline(&values, 72))?;
        if fails.iter().any(|f| *f > 0) {
            writeln!(out, "  failed     {}", st.bad(&sparkline(&fails, 72), true))?;
        }
        writeln!(out, "             {}", hour_axis(hours, 72))?;
        if r.rate.per_day.len() > 1 {
            for d in &r.rate.per_day {
                writeln!(
                    out,
                    "  {}  {:>7} allocated  {:>6} failed",
                    d.start.get(..10).unwrap_or(&d.start),
                    thousands(d.allocated),
                    thousands(d.failed)
                )?;
            }
        }
        writeln!(out)?;
    }

    if a.failed > 0 {
        writeln!(out, "{}", st.head("FAILURES BY REASON"))?;
        let f = &a.failures_by_reason;
        let rows = [
            ("no_gateway_available", f.no_gateway_available),
            ("health_check", f.health_check),
            ("init", f.init),
            ("other", f.other),
        ];
        let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
        for (name, n) in rows {
            let bar = "█".repeat(((n * 30).div_ceil(max)) as usize);
            writeln!(
                out,
                "  {name:<22}{:>8}  {:>6}  {bar}",
                thousands(n),
                pct(n as f64 / a.failed as f64)
            )?;
        }
        writeln!(out)?;
    }
    why::write(out, r, &st)?;

    if !r.open_longest.is_empty() {
        writeln!(out, "{}", st.head("LONGEST OPEN ALLOCATIONS"))?;
        for o in &r.open_longest {
            writeln!(
                out,
                "  {:<38} {:<12} since {}  {:>8}{}",
                escape(&o.org),
                escape(if o.gateway.is_empty() {
                    "?"
                } else {
                    &o.gateway
                }),
                o.since,
                human_secs(o.held_s),
                if o.orphaned { "  ORPHANED" } else { "" }
            )?;
        }
        writeln!(out)?;
    }

    if !r.longest.is_empty() {
        writeln!(out, "{}", st.head("LONGEST COMPLETED ALLOCATIONS"))?;
        for o in &r.longest {
            writeln!(
                out,
                "  {:<38} {:<12} from {}  {:>8}",
                escape(&o.org),
                escape(&o.gateway),
                o.since,
                human_secs(o.held_s)
            )?;
        }
        writeln!(out)?;
    }

    if !r.orgs.top.is_empty() {
        writeln!(
            out,
            "{}  {} distinct",
            st.head("BUSIEST ORGANIZATIONS"),
            thousands(r.orgs.distinct)
        )?;
        writeln!(
            out,
            "  {:<38} {:>9} {:>7} {:>9}",
            "organization", "allocated", "failed", "held"
        )?;
        for o in r.orgs.top.iter().chain(r.orgs.other.iter()) {
            writeln!(
                out,
                "  {:<38} {:>9} {:>7} {:>9}",
                escape(&o.org),
                thousands(o.allocated),
                thousands(o.failed),
                human_secs(o.held_s)
            )?;
        }
        writeln!(out)?;
    }

    let an = &r.anomalies;
    let reassigned = an.gateway_reassigned + an.overcommitted;
    if an.dealloc_without_alloc + an.double_alloc + an.time_backwards + reassigned + an.open_folded
        > 0
        || an.snapshot_drift.is_some()
    {
        writeln!(out, "{}", st.head("ANOMALIES"))?;
        writeln!(
            out,
            "  {} deallocations without allocation · {} second allocations · {} times going backwards",
            an.dealloc_without_alloc, an.double_alloc, an.time_backwards
        )?;
        if reassigned > 0 {
            writeln!(
                out,
                "  {} allocations ended unseen (their gateway was allocated to another organization) · {} times more gateways held than the pool has",
                an.gateway_reassigned, an.overcommitted
            )?;
        }
        if an.open_folded > 0 {
            writeln!(
                out,
                "  {} open allocations dropped from the model to keep it bounded (more than --max-orgs open at once: deallocation lines missing?)",
                thousands(an.open_folded)
            )?;
        }
        if let Some(d) = &an.snapshot_drift {
            writeln!(
                out,
                "  pool snapshots: {} of {} differ from the model in a row; largest {:+} gateways in use{}",
                d.lasting,
                d.snapshots,
                d.largest,
                d.at.as_deref()
                    .map_or(String::new(), |t| format!(" at {t}"))
            )?;
        }
        writeln!(out)?;
    }

    if !r.alerts.is_empty() {
        let mut per_rule: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
        for al in &r.alerts {
            let e = per_rule.entry(al.rule.name()).or_default();
            e.0 += 1;
            e.1 += usize::from(al.resolved_at.is_none());
        }
        let counts: Vec<String> = per_rule
            .iter()
            .map(|(rule, (n, open))| {
                let still = if *open > 0 {
                    format!(", {open} still firing")
                } else {
                    String::new()
                };
                st.bad(&format!("{rule} {n}{still}"), *open > 0)
            })
            .collect();
        writeln!(out, "{}  {}", st.head("ALERTS"), counts.join(" · "))?;
        const SHOWN: usize = 15;
        if r.alerts.len() > SHOWN {
            writeln!(
                out,
                "  … {} earlier (gwmon alerts lists them all)",
                r.alerts.len() - SHOWN
            )?;
        }
        for al in &r.alerts[r.alerts.len().saturating_sub(SHOWN)..] {
            writeln!(
                out,
                "  {} → {:<24}  {:<19} {:<8} {}",
                al.fired_at,
                al.resolved_at.as_deref().unwrap_or("still firing"),
                al.rule,
                al.severity,
                escape(&al.summary)
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8], 10), " ▁▂▄█");
        assert_eq!(sparkline(&[1, 1, 1, 1], 2).chars().count(), 2);
        assert_eq!(sparkline(&[], 10), "");
    }
}
