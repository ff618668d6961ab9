//! The alert timeline: one row per rule, each firing a bar, its summary on hover.

use super::Figs;
use super::charts::figure;
use super::svg::{Chart, LEFT, RIGHT, TimeAxis, W};
use crate::alert::Rule;
use crate::pool::HOUR;
use crate::report::{AlertRecord, Report};
use crate::units::time::parse_rfc3339;
use crate::units::{Millis, thousands};

/// Alerts drawn at most on the timeline (the newest).
pub(super) const ALERTS_DRAWN: usize = 1000;

/// The alert timeline: one row per rule, each firing a bar from fired to resolved (to the end
/// of the window while still firing), its summary on hover.
pub(super) fn alerts(r: &Report) -> Option<String> {
    let shown = r.alerts.len().saturating_sub(ALERTS_DRAWN);
    let alerts: Vec<(usize, Millis, Option<Millis>, &AlertRecord)> = r.alerts[shown..]
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let fired = parse_rfc3339(&a.fired_at)?;
            let resolved = a.resolved_at.as_deref().and_then(parse_rfc3339);
            Some((shown + i, fired, resolved, a))
        })
        .collect();
    if alerts.is_empty() {
        return None;
    }
    let min = alerts.iter().map(|a| a.1).min()?;
    let max = alerts.iter().map(|a| a.2.unwrap_or(a.1)).max()?;
    let t0 = r
        .window
        .start
        .as_deref()
        .and_then(parse_rfc3339)
        .map_or(min, |t| t.min(min));
    // From the hour the window starts in, like the hourly charts.
    let t0 = t0.div_euclid(HOUR) * HOUR;
    let t1 = r
        .window
        .end
        .as_deref()
        .and_then(parse_rfc3339)
        .map_or(max, |t| t.max(max));
    let rules: Vec<Rule> = Rule::ALL
        .into_iter()
        .filter(|rule| alerts.iter().any(|a| a.3.rule == *rule))
        .collect();
    // Each row: the rule's name over its bars (readable at any width).
    let (top, row) = (4.0, 36.0);
    let bottom = top + row * rules.len() as f64;
    let x = TimeAxis::new(t0, t1.max(t0 + HOUR), LEFT);
    let mut c = Chart::new("alerts", bottom + 24.0, "Alert timeline");
    x.draw(&mut c, top, bottom);
    for (k, rule) in rules.iter().enumerate() {
        let ry = top + row * k as f64;
        c.text(LEFT + 2.0, ry + 16.0, "start", "tick rl", rule.name());
        c.line(LEFT, ry + row, W - RIGHT, ry + row, "grid");
    }
    for &(i, fired, resolved, a) in &alerts {
        let Some(k) = rules.iter().position(|r| *r == a.rule) else {
            continue;
        };
        let ry = top + row * k as f64 + 20.0;
        let end = resolved.unwrap_or(t1);
        let (xa, xb) = (x.at(fired), x.at(end.max(fired)));
        let title = format!(
            "{} ({}) {} → {}: {}",
            a.rule.name(),
            a.severity.as_str(),
            a.fired_at,
            a.resolved_at.as_deref().unwrap_or("still firing"),
            a.summary
        );
        let class = format!(
            "sev-{}{}",
            a.severity.as_str(),
            if a.resolved_at.is_none() { " open" } else { "" }
        );
        let figs = Figs::of(format_args!("alerts.{i}.fired_at"), &a.fired_at);
        c.group(&title);
        c.bar(xa, ry, (xb - xa).max(2.0), 12.0, &class, &figs);
        c.end_group();
    }
    let note = if shown > 0 {
        format!(
            "The newest {} firings are drawn; {} earlier ones are in the JSON report.",
            thousands(ALERTS_DRAWN as u64),
            thousands(shown as u64)
        )
    } else {
        String::new()
    };
    figure(
        "Alerts: one row per rule, each bar a firing (to the end of the window while still \
         firing; the summary shows on hover)",
        &[
            ("sev-critical", "critical"),
            ("sev-warning", "warning"),
            ("sev-info", "info"),
        ],
        c,
        &note,
    )
}
