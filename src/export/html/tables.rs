//! The sections that are mostly tables: why allocations failed (the text report's sentences and
//! the per-gateway table, with its charts), the longest allocations, the organizations, the
//! anomalies and the alerts (their timeline and table).

use std::fmt::Write as _;

use super::{bars, esc, num, timeline};
use crate::export::text::why;
use crate::report::{OpenAllocation, Report};
use crate::units::{human_secs, pct, thousands};

/// Rows of the alert table (the newest; the timeline draws more).
const ALERT_ROWS: usize = 100;

pub(super) fn why_failed(o: &mut String, r: &Report) {
    let lines = why::sentences(r);
    let by = &r.gateways.by_gateway;
    if lines.is_empty() && by.is_empty() {
        return;
    }
    o.push_str("<section><h2>Why allocations failed</h2>");
    if !lines.is_empty() {
        o.push_str("<ul class=\"why\">");
        for l in &lines {
            let _ = write!(o, "<li>{}</li>", esc(l));
        }
        o.push_str("</ul>");
    }
    if !by.is_empty() {
        let marks = why::stand_out(by);
        o.push_str(
            "<div class=\"tbl\"><table><thead><tr><th>gateway</th><th class=\"r\">alloc</th>\
             <th class=\"r\">failed</th><th class=\"r\">fail%</th><th class=\"r\">restarting</th>\
             <th class=\"r\">start mean / p90</th><th class=\"r\">restarts</th><th></th></tr>\
             </thead><tbody>",
        );
        for (i, (g, m)) in by.iter().zip(&marks).enumerate() {
            let p = |k: &str| format!("gateways.by_gateway.{i}.{k}");
            let fails = g.failures.health_check + g.failures.init + g.failures.other;
            let rate = if g.allocations > 0 {
                pct(fails as f64 / g.allocations as f64)
            } else {
                "-".into()
            };
            let handouts = g.recycling_handouts.map_or("-".into(), |h| {
                num(p("recycling_handouts"), h, &thousands(h))
            });
            let startup = if g.startup_ms.count > 0 {
                format!(
                    "{} / {}",
                    num(
                        p("startup_ms.mean"),
                        g.startup_ms.mean,
                        &human_secs(g.startup_ms.mean / 1000.0)
                    ),
                    num(
                        p("startup_ms.p90"),
                        g.startup_ms.p90,
                        &human_secs(g.startup_ms.p90 / 1000.0)
                    )
                )
            } else {
                "-".into()
            };
            let restarts = g
                .restart_s
                .as_ref()
                .filter(|s| s.count > 0)
                .map_or("-".into(), |s| {
                    format!(
                        "{} × {}",
                        num(p("restart_s.count"), s.count, &thousands(s.count)),
                        num(p("restart_s.mean"), s.mean, &human_secs(s.mean))
                    )
                });
            let mark = match (m.failures, m.startup) {
                (true, true) => "◀ failures, slow start",
                (true, false) => "◀ failures",
                (false, true) => "◀ slow start",
                _ => "",
            };
            let _ = write!(
                o,
                "<tr{}><td class=\"id\">{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td>\
                 <td class=\"r\">{}</td><td class=\"r\">{handouts}</td><td class=\"r\">{startup}</td>\
                 <td class=\"r\">{restarts}</td><td>{}</td></tr>",
                if mark.is_empty() {
                    ""
                } else {
                    " class=\"bad\""
                },
                esc(&g.gateway),
                num(p("allocations"), g.allocations, &thousands(g.allocations)),
                esc(&thousands(fails)),
                esc(&rate),
                esc(mark)
            );
        }
        o.push_str("</tbody></table></div>");
        if by.len() > bars::GATEWAYS_DRAWN {
            let _ = write!(
                o,
                "<p class=\"note\">The charts draw the first {} of {} gateways.</p>",
                bars::GATEWAYS_DRAWN,
                thousands(by.len() as u64)
            );
        }
        for fig in [bars::gateways(r), bars::restarts(r)].into_iter().flatten() {
            o.push_str(&fig);
        }
    }
    o.push_str("</section>");
}

fn allocation_table(o: &mut String, title: &str, path: &str, rows: &[OpenAllocation], from: &str) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<h3>{}</h3><div class=\"tbl\"><table><thead><tr><th>organization</th><th>gateway</th>\
         <th>{}</th><th class=\"r\">held</th><th></th></tr></thead><tbody>",
        esc(title),
        esc(from)
    );
    for (i, a) in rows.iter().enumerate() {
        let _ = write!(
            o,
            "<tr><td class=\"id\">{}</td><td class=\"id\">{}</td><td class=\"t\">{}</td>\
             <td class=\"r\">{}</td><td>{}</td></tr>",
            esc(&a.org),
            esc(if a.gateway.is_empty() {
                "?"
            } else {
                &a.gateway
            }),
            esc(&a.since),
            num(
                format_args!("{path}.{i}.held_s"),
                a.held_s,
                &human_secs(a.held_s)
            ),
            if a.orphaned {
                "<span class=\"bad\">ORPHANED</span>"
            } else {
                ""
            }
        );
    }
    o.push_str("</tbody></table></div>");
}

pub(super) fn longest(o: &mut String, r: &Report) {
    if r.open_longest.is_empty() && r.longest.is_empty() {
        return;
    }
    o.push_str("<section><h2>Longest allocations</h2>");
    allocation_table(
        o,
        "Still open at the end",
        "open_longest",
        &r.open_longest,
        "since",
    );
    allocation_table(o, "Completed", "longest", &r.longest, "from");
    o.push_str("</section>");
}

fn bar_cell(v: f64, max: f64, class: &str) -> String {
    let w = if max > 0.0 { v / max * 100.0 } else { 0.0 };
    format!(
        "<td class=\"barc\"><i class=\"hbar {}\" style=\"width:{:.1}%\"></i></td>",
        esc(class),
        w
    )
}

pub(super) fn orgs(o: &mut String, r: &Report) {
    let org = &r.orgs;
    if org.top.is_empty() && org.top_refused.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<section><h2>Organizations</h2><p>{} distinct organizations.</p>",
        num("orgs.distinct", org.distinct, &thousands(org.distinct))
    );
    if !org.top.is_empty() {
        o.push_str(
            "<h3>Busiest</h3><div class=\"tbl\"><table><thead><tr><th>organization</th>\
             <th class=\"r\">allocated</th><th class=\"r\">failed</th><th class=\"r\">held</th>\
             <th></th></tr></thead><tbody>",
        );
        let max = org.top.iter().map(|x| x.allocated).max().unwrap_or(0) as f64;
        let rows = org
            .top
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("orgs.top.{i}"), x));
        for (p, x) in rows.chain(org.other.iter().map(|x| ("orgs.other".to_owned(), x))) {
            let _ = write!(
                o,
                "<tr><td class=\"id\">{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td>\
                 <td class=\"r\">{}</td>{}</tr>",
                esc(&x.org),
                num(
                    format_args!("{p}.allocated"),
                    x.allocated,
                    &thousands(x.allocated)
                ),
                num(format_args!("{p}.failed"), x.failed, &thousands(x.failed)),
                num(format_args!("{p}.held_s"), x.held_s, &human_secs(x.held_s)),
                bar_cell(x.allocated as f64, max, "a")
            );
        }
        o.push_str("</tbody></table></div>");
    }
    if !org.top_refused.is_empty() {
        o.push_str(
            "<h3>Most refused (no_gateway_available)</h3><div class=\"tbl\"><table><thead><tr>\
             <th>organization</th><th class=\"r\">refused</th><th></th></tr></thead><tbody>",
        );
        let max = org.top_refused.iter().map(|x| x.refused).max().unwrap_or(0) as f64;
        for (i, x) in org.top_refused.iter().enumerate() {
            let _ = write!(
                o,
                "<tr><td class=\"id\">{}</td><td class=\"r\">{}</td>{}</tr>",
                esc(&x.org),
                num(
                    format_args!("orgs.top_refused.{i}.refused"),
                    x.refused,
                    &thousands(x.refused)
                ),
                bar_cell(x.refused as f64, max, "r-nga")
            );
        }
        o.push_str("</tbody></table></div>");
    }
    o.push_str("</section>");
}

pub(super) fn anomalies(o: &mut String, r: &Report) {
    let an = &r.anomalies;
    let any = an.dealloc_without_alloc
        + an.double_alloc
        + an.time_backwards
        + an.gateway_reassigned
        + an.overcommitted
        > 0
        || an.snapshot_drift.is_some();
    if !any {
        return;
    }
    let f = |k: &str, v: u64| num(format_args!("anomalies.{k}"), v, &thousands(v));
    let _ = write!(
        o,
        "<section><h2>Anomalies</h2><ul><li>{} deallocations without allocation · {} second \
         allocations · {} times going backwards</li><li>{} allocations ended unseen (their \
         gateway was allocated to another organization) · {} times more gateways held than the \
         pool has</li>",
        f("dealloc_without_alloc", an.dealloc_without_alloc),
        f("double_alloc", an.double_alloc),
        f("time_backwards", an.time_backwards),
        f("gateway_reassigned", an.gateway_reassigned),
        f("overcommitted", an.overcommitted)
    );
    if let Some(d) = &an.snapshot_drift {
        let _ = write!(
            o,
            "<li>pool snapshots: {} of {} differ from the model in a row; largest {} gateways in \
             use{}</li>",
            num(
                "anomalies.snapshot_drift.lasting",
                d.lasting,
                &thousands(d.lasting)
            ),
            num(
                "anomalies.snapshot_drift.snapshots",
                d.snapshots,
                &thousands(d.snapshots)
            ),
            num(
                "anomalies.snapshot_drift.largest",
                d.largest,
                &format!("{:+}", d.largest)
            ),
            d.at.as_deref()
                .map_or(String::new(), |t| format!(" at {}", esc(t)))
        );
    }
    o.push_str("</ul></section>");
}

pub(super) fn alerts(o: &mut String, r: &Report) {
    o.push_str("<section><h2>Alerts</h2>");
    if r.alerts.is_empty() {
        o.push_str("<p>No alert fired.</p></section>");
        return;
    }
    let mut per_rule: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for a in &r.alerts {
        let e = per_rule.entry(a.rule.name()).or_default();
        e.0 += 1;
        e.1 += u64::from(a.resolved_at.is_none());
    }
    o.push_str("<p>");
    let counts: Vec<String> = per_rule
        .iter()
        .map(|(rule, (n, open))| {
            let still = if *open > 0 {
                format!(", <span class=\"bad\">{open} still firing</span>")
            } else {
                String::new()
            };
            format!("{} {}{still}", esc(rule), thousands(*n))
        })
        .collect();
    o.push_str(&counts.join(" · "));
    o.push_str("</p>");
    if let Some(f) = timeline::alerts(r) {
        o.push_str(&f);
    }
    let skip = r.alerts.len().saturating_sub(ALERT_ROWS);
    if skip > 0 {
        let _ = write!(
            o,
            "<p class=\"note\">The newest {ALERT_ROWS} of {} firings (gwmon alerts lists them \
             all).</p>",
            thousands(r.alerts.len() as u64)
        );
    }
    o.push_str(
        "<div class=\"tbl\"><table><thead><tr><th>fired</th><th>resolved</th><th>rule</th>\
         <th>severity</th><th>summary</th></tr></thead><tbody>",
    );
    for a in &r.alerts[skip..] {
        let _ = write!(
            o,
            "<tr><td class=\"t\">{}</td><td class=\"t\">{}</td><td>{}</td><td class=\"sev {}\">{}</td>\
             <td>{}</td></tr>",
            esc(&a.fired_at),
            esc(a.resolved_at.as_deref().unwrap_or("still firing")),
            esc(a.rule.name()),
            esc(a.severity.as_str()),
            esc(a.severity.as_str()),
            esc(&a.summary)
        );
    }
    o.push_str("</tbody></table></div></section>");
}
