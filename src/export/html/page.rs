//! The page: head (a content security policy that allows nothing to be fetched or run, the
//! inline stylesheet), the text report's sections in its order with their charts, and the
//! tables. The stylesheet keeps the page readable printed (`@media print`) and on a phone
//! (charts scale with their viewBox, tables scroll inside their own box, axis labels grow and
//! thin out).

use std::fmt::Write as _;

use super::{bars, charts, esc, num, rates, tables};
use crate::report::{Durations, Report};
use crate::units::time::parse_rfc3339;
use crate::units::{human_secs, pct, thousands};

const CSS: &str = include_str!("page.css");

/// The whole page.
pub(super) fn page(r: &Report) -> String {
    let mut o = String::with_capacity(256 * 1024);
    let title = match (&r.window.start, &r.window.end) {
        (Some(s), Some(e)) => format!(
            "gwmon report {} → {}",
            s.get(..10).unwrap_or(s),
            e.get(..10).unwrap_or(e)
        ),
        _ => "gwmon report".to_owned(),
    };
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"gwmon {}\"><title>{}</title><style>{CSS}</style></head>\
         <body><main>",
        env!("CARGO_PKG_VERSION"),
        esc(&title)
    );
    header(&mut o, r);
    if r.window.start.is_none() {
        let _ = write!(
            o,
            "<p class=\"empty\">No gateway lifecycle event was read ({} lines read): there is \
             nothing to report. Is this the gateway service's log?</p>",
            num("lines.read", r.lines.read, &thousands(r.lines.read))
        );
    } else {
        cards(&mut o, r);
        pool(&mut o, r);
        allocations(&mut o, r);
        durations(&mut o, r);
        failures(&mut o, r);
        tables::why_failed(&mut o, r);
        tables::longest(&mut o, r);
        tables::orgs(&mut o, r);
        tables::anomalies(&mut o, r);
        tables::alerts(&mut o, r);
    }
    let _ = writeln!(
        o,
        "<footer>Written by gwmon {} from its JSON report (schema {}): every number on this page \
         is in <code>gwmon report --json</code>. Times are UTC.</footer></main></body></html>",
        env!("CARGO_PKG_VERSION"),
        esc(&r.schema)
    );
    o
}

fn header(o: &mut String, r: &Report) {
    o.push_str("<header><h1>gwmon report</h1><p class=\"sub\">");
    match (&r.window.start, &r.window.end) {
        (Some(s), Some(e)) => {
            let span = match (parse_rfc3339(s), parse_rfc3339(e)) {
                (Some(a), Some(b)) => format!(" ({})", human_secs((b - a) as f64 / 1000.0)),
                _ => String::new(),
            };
            let _ = write!(o, "{} → {}{}", esc(s), esc(e), esc(&span));
        }
        _ => o.push_str("no gateway events"),
    }
    let _ = write!(
        o,
        "<br>lines: {} read · {} matched · <span class=\"{}\">{} skipped</span></p></header>",
        num("lines.read", r.lines.read, &thousands(r.lines.read)),
        num(
            "lines.matched",
            r.lines.matched,
            &thousands(r.lines.matched)
        ),
        if r.lines.skipped > 0 { "bad" } else { "" },
        num(
            "lines.skipped",
            r.lines.skipped,
            &thousands(r.lines.skipped)
        ),
    );
}

fn card(o: &mut String, label: &str, value: &str, sub: &str) {
    let _ = write!(
        o,
        "<div class=\"card\"><small>{}</small><b>{value}</b><small>{sub}</small></div>",
        esc(label)
    );
}

fn cards(o: &mut String, r: &Report) {
    let (p, a, ex) = (&r.pool, &r.allocations, &r.exhaustion);
    o.push_str("<section class=\"cards\">");
    let total = p.total.map_or("unknown".to_owned(), |t| {
        num("pool.total", t, &t.to_string())
    });
    card(
        o,
        "pool",
        &total,
        &format!("gateways ({})", esc(&p.total_source)),
    );
    let util = p.utilization_mean.map_or("unknown".to_owned(), |m| {
        num("pool.utilization_mean", m, &pct(m))
    });
    card(o, "utilization", &util, "time-weighted mean");
    card(
        o,
        "peak",
        &num(
            "pool.peak_allocated",
            p.peak_allocated,
            &p.peak_allocated.to_string(),
        ),
        "allocated at once",
    );
    card(
        o,
        "allocated",
        &num(
            "allocations.allocated",
            a.allocated,
            &thousands(a.allocated),
        ),
        &format!(
            "of {} attempts",
            num("allocations.attempts", a.attempts, &thousands(a.attempts))
        ),
    );
    card(
        o,
        "failed",
        &num("allocations.failed", a.failed, &thousands(a.failed)),
        &num(
            "allocations.failure_rate",
            a.failure_rate,
            &pct(a.failure_rate),
        ),
    );
    let none = ex.exhausted_s.map_or(String::new(), |s| {
        format!(
            ", {} none available",
            num("exhaustion.exhausted_s", s, &human_secs(s))
        )
    });
    card(
        o,
        "exhaustion",
        &num("exhaustion.episodes", ex.episodes, &thousands(ex.episodes)),
        &format!("episodes{none}"),
    );
    if r.durations_s.count > 0 {
        card(
            o,
            "held (p50)",
            &num(
                "durations_s.p50",
                r.durations_s.p50,
                &human_secs(r.durations_s.p50),
            ),
            &format!(
                "p90 {}",
                num(
                    "durations_s.p90",
                    r.durations_s.p90,
                    &human_secs(r.durations_s.p90)
                )
            ),
        );
    }
    o.push_str("</section>");
}

/// A row of a two-column list of figures: `label` and its HTML.
fn dl(o: &mut String, label: &str, html: &str) {
    let _ = write!(o, "<dt>{}</dt><dd>{html}</dd>", esc(label));
}

fn pool(o: &mut String, r: &Report) {
    let p = &r.pool;
    o.push_str("<section><h2>Pool</h2><dl>");
    let total = match p.total {
        Some(t) => format!(
            "{} ({})",
            num("pool.total", t, &t.to_string()),
            esc(&p.total_source)
        ),
        None => "unknown (no --pool-size and no pool snapshot in the logs)".to_owned(),
    };
    dl(o, "total", &total);
    let avail = p.available.map_or("unknown".to_owned(), |v| {
        num("pool.available", v, &v.to_string())
    });
    let mut now = format!(
        "{} allocated · {avail} available · {} orphaned",
        num("pool.allocated", p.allocated, &p.allocated.to_string()),
        num("pool.orphaned", p.orphaned, &p.orphaned.to_string())
    );
    if p.recycling > 0 {
        let _ = write!(
            now,
            " · {} recycling",
            num("pool.recycling", p.recycling, &p.recycling.to_string())
        );
    }
    dl(o, "now", &now);
    if !p.consistent {
        let held = p.allocated + p.orphaned;
        let t = p.total.unwrap_or(0);
        dl(
            o,
            "inconsistent",
            &format!(
                "<span class=\"bad\">the log shows {held} gateways held on a pool of {t}; \
                 deallocation lines are missing (a gap in the log, lines lost upstream) or the \
                 pool is larger than {t} (--pool-size)</span>"
            ),
        );
    }
    let util = match (p.utilization, p.utilization_mean) {
        (Some(u), Some(m)) => format!(
            "{} now · {} time-weighted mean",
            num("pool.utilization", u, &pct(u)),
            num("pool.utilization_mean", m, &pct(m))
        ),
        (Some(u), None) => format!("{} now", num("pool.utilization", u, &pct(u))),
        _ => "unknown (pool size unknown)".to_owned(),
    };
    dl(o, "utilization", &util);
    let ex = &r.exhaustion;
    let mut exh = format!(
        "{} episodes · {} refused (no_gateway_available)",
        num("exhaustion.episodes", ex.episodes, &thousands(ex.episodes)),
        num("exhaustion.failures", ex.failures, &thousands(ex.failures))
    );
    if let Some(s) = ex.exhausted_s {
        let _ = write!(
            exh,
            " · {} with none available",
            num("exhaustion.exhausted_s", s, &human_secs(s))
        );
    }
    dl(o, "exhaustion", &exh);
    if !r.gaps.is_empty() {
        let all: f64 = r.gaps.iter().map(|g| g.s).sum();
        dl(
            o,
            "gaps",
            &format!(
                "{} silences without lifecycle lines, {} in all",
                thousands(r.gaps.len() as u64),
                esc(&human_secs(all))
            ),
        );
    }
    if let Some(s) = &p.last_snapshot {
        dl(
            o,
            "snapshot",
            &format!(
                "{}: total {} · used {} · ready {} · not ready {}",
                esc(&s.time),
                num("pool.last_snapshot.total", s.total, &s.total.to_string()),
                num("pool.last_snapshot.used", s.used, &s.used.to_string()),
                num("pool.last_snapshot.ready", s.ready, &s.ready.to_string()),
                num(
                    "pool.last_snapshot.unused_not_ready",
                    s.unused_not_ready,
                    &s.unused_not_ready.to_string()
                )
            ),
        );
    }
    o.push_str("</dl>");
    if let Some(f) = charts::pool(r) {
        o.push_str(&f);
    }
    o.push_str("</section>");
}

fn allocations(o: &mut String, r: &Report) {
    let a = &r.allocations;
    o.push_str("<section><h2>Allocations</h2><dl>");
    let f = |k: &str, v: u64| num(format_args!("allocations.{k}"), v, &thousands(v));
    dl(
        o,
        "attempts",
        &format!(
            "{} → {} allocated · {} reused · <span class=\"{}\">{} failed ({})</span>",
            f("attempts", a.attempts),
            f("allocated", a.allocated),
            f("reused", a.reused),
            if a.failed > 0 { "bad" } else { "" },
            f("failed", a.failed),
            num(
                "allocations.failure_rate",
                a.failure_rate,
                &pct(a.failure_rate)
            )
        ),
    );
    dl(
        o,
        "ended",
        &format!(
            "{} deallocated · {} rolled back · {} orphaned · {} open · {} failed stops",
            f("deallocated", a.deallocated),
            f("rollbacks", a.rollbacks),
            f("orphaned", a.orphaned),
            f("open", a.open),
            f("dealloc_failed", a.dealloc_failed)
        ),
    );
    o.push_str("</dl>");
    if rates::hourly(r)
        && let Some(fig) = rates::rates(r, false)
    {
        o.push_str(&fig);
    }
    if r.rate.per_day.len() > 1
        && let Some(fig) = rates::rates(r, true)
    {
        o.push_str(&fig);
    }
    o.push_str("</section>");
}

fn dist_line(d: &Durations, path: &str, ms: bool) -> String {
    if d.count == 0 {
        return "none completed".to_owned();
    }
    let h = |v: f64| human_secs(if ms { v / 1000.0 } else { v });
    let f = |k: &str, v: f64| num(format_args!("{path}.{k}"), v, &h(v));
    format!(
        "n={} · mean {} · p50 {} · p90 {} · p99 {} · max {}",
        num(format_args!("{path}.count"), d.count, &thousands(d.count)),
        f("mean", d.mean),
        f("p50", d.p50),
        f("p90", d.p90),
        f("p99", d.p99),
        f("max", d.max)
    )
}

fn durations(o: &mut String, r: &Report) {
    o.push_str("<section><h2>Durations</h2><dl>");
    dl(o, "held", &dist_line(&r.durations_s, "durations_s", false));
    dl(o, "start-up", &dist_line(&r.startup_ms, "startup_ms", true));
    o.push_str("</dl>");
    for fig in [
        bars::histogram(
            &r.durations_s,
            "durations_s",
            "How long allocations were held",
            false,
        ),
        bars::histogram(
            &r.startup_ms,
            "startup_ms",
            "Start-up times (allocation to ready)",
            true,
        ),
    ]
    .into_iter()
    .flatten()
    {
        o.push_str(&fig);
    }
    o.push_str("</section>");
}

fn failures(o: &mut String, r: &Report) {
    o.push_str("<section><h2>Failures</h2>");
    if r.allocations.failed == 0 {
        o.push_str("<p>No allocation failed.</p>");
    }
    let per_day = !rates::hourly(r);
    for fig in [bars::reasons(r), rates::failures(r, per_day)]
        .into_iter()
        .flatten()
    {
        o.push_str(&fig);
    }
    if !r.errors.is_empty() {
        o.push_str(
            "<h3>Latest distinct error messages</h3><div class=\"tbl\"><table><thead><tr>\
             <th>kind</th><th class=\"r\">count</th><th>last</th><th>first</th><th>message</th>\
             </tr></thead><tbody>",
        );
        for (i, e) in r.errors.iter().enumerate() {
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=\"r\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td>\
                 <td><div class=\"msg\">{}</div></td></tr>",
                esc(&e.kind),
                num(
                    format_args!("errors.{i}.count"),
                    e.count,
                    &thousands(e.count)
                ),
                esc(&e.last),
                esc(&e.first),
                esc(&e.message)
            );
        }
        o.push_str("</tbody></table></div>");
    }
    o.push_str("</section>");
}
