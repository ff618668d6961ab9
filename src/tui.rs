//! Dashboard stage: the screens of `gwmon top`, drawn from the pool, the alert engine and the
//! recent activity (allocations per minute, alert transitions, the follower's notes). Drawing
//! only: the command runs the loop, redrawing on a timer, never per line.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Gauge, Paragraph, Row, Sparkline, Table};

use crate::alert::{Engine, Notification, Status};
use crate::event::{Event, Kind, Millis, Reason};
use crate::pool::{Open, Pool};
use crate::term::escape;
use crate::units::{fmt_time, human_secs};

const MINUTE: Millis = 60_000;
/// Minutes shown in the allocation sparkline.
const MINUTES: usize = 120;

/// What the dashboard keeps besides the pool: recent activity.
#[derive(Default)]
pub struct Activity {
    /// (minute, allocations, failures), the last [`MINUTES`] minutes with events.
    per_minute: VecDeque<(Millis, u64, u64)>,
    /// The latest alert transitions, newest last.
    transitions: VecDeque<Notification>,
    /// The latest things the follower told (a file missing, rotated, unreadable): (error,
    /// text), newest last.
    notes: VecDeque<(bool, String)>,
}

impl Activity {
    pub fn event(&mut self, ev: &Event) {
        let (a, f) = match ev.kind {
            Kind::Allocated { .. } => (1, 0),
            Kind::AllocFailed { .. } => (0, 1),
            _ => return,
        };
        let m = ev.time.div_euclid(MINUTE);
        match self.per_minute.back_mut() {
            Some(last) if last.0 == m => {
                last.1 += a;
                last.2 += f;
            }
            Some(last) if last.0 > m => {} // time going backwards: not drawn
            _ => {
                self.per_minute.push_back((m, a, f));
                while self.per_minute.len() > MINUTES {
                    self.per_minute.pop_front();
                }
            }
        }
    }

    /// Something the follower told; errors are shown in red.
    pub fn note(&mut self, error: bool, text: String) {
        self.notes.push_back((error, text));
        while self.notes.len() > 20 {
            self.notes.pop_front();
        }
    }

    pub fn notification(&mut self, n: &Notification) {
        self.transitions.push_back(n.clone());
        while self.transitions.len() > 50 {
            self.transitions.pop_front();
        }
    }

    /// Allocations per minute over the last [`MINUTES`] minutes up to `now`, zeros included.
    fn series(&self, now: Millis) -> Vec<u64> {
        let end = now.div_euclid(MINUTE);
        let start = end - MINUTES as i64 + 1;
        let mut v = vec![0; MINUTES];
        for (m, a, _) in &self.per_minute {
            if (start..=end).contains(m) {
                v[(m - start) as usize] = *a;
            }
        }
        v
    }
}

fn block(title: &str) -> Block<'_> {
    Block::default().borders(Borders::ALL).title(Span::styled(
        format!(" {title} "),
        Style::default().add_modifier(Modifier::BOLD),
    ))
}

/// Draw the dashboard for the state at `now`.
pub fn draw(
    f: &mut Frame,
    pool: &Pool,
    engine: &Engine,
    act: &Activity,
    source: &str,
    now: Millis,
) {
    let area = f.area();
    if area.width < 20 || area.height < 8 {
        f.render_widget(Paragraph::new("gwmon top: window too small"), area);
        return;
    }
    let [head, gauges, spark, middle, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Length(5),
        Constraint::Min(6),
        Constraint::Length(8),
    ])
    .areas(area);

    let c = &pool.counters;
    let firing = engine.firing();
    let status = if firing.is_empty() {
        Span::styled(" OK ", Style::default().fg(Color::Black).bg(Color::Green))
    } else {
        Span::styled(
            format!(" {} FIRING ", firing.len()),
            Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        )
    };
    let mut header = vec![
        Span::styled("gwmon top ", Style::default().add_modifier(Modifier::BOLD)),
        status,
        Span::raw(format!(
            "  {}  {}  (q to quit)",
            fmt_time(now),
            escape(source)
        )),
    ];
    if let Some((error, note)) = act.notes.back() {
        let color = if *error { Color::Red } else { Color::Yellow };
        header.push(Span::styled(
            format!("  {}", escape(note)),
            Style::default().fg(color),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(header)), head);

    let [g1, g2] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(gauges);
    let recycling = pool
        .recycling()
        .map_or(String::new(), |n| format!(" · {n} restarting"));
    match (pool.total(), pool.available()) {
        (Some(total), Some(avail)) => {
            let used = total as i64 - avail;
            let ratio = if total > 0 {
                (used as f64 / total as f64).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let color = match avail {
                a if a <= 0 => Color::Red,
                a if (a as f64) < 0.2 * total as f64 => Color::Yellow,
                _ => Color::Green,
            };
            f.render_widget(
                Gauge::default()
                    .block(block("pool"))
                    .gauge_style(Style::default().fg(color))
                    .ratio(ratio)
                    .label(format!(
                        "{} allocated · {} orphaned{recycling} · {avail} of {total} available ({})",
                        pool.allocated(),
                        pool.orphaned_open,
                        pool.total_source()
                    )),
                g1,
            );
        }
        _ => f.render_widget(
            Paragraph::new(format!(
                "{} allocated · {} orphaned{recycling} · pool size unknown (--pool-size)",
                pool.allocated(),
                pool.orphaned_open
            ))
            .block(block("pool")),
            g1,
        ),
    }
    let rate = if c.attempts > 0 {
        c.failed as f64 / c.attempts as f64 * 100.0
    } else {
        0.0
    };
    f.render_widget(
        Paragraph::new(format!(
            "{} attempts · {} failed ({rate:.1}%) · {} reused",
            c.attempts, c.failed, c.reused
        ))
        .block(block("since start")),
        g2,
    );

    let series = act.series(now);
    // The newest minutes are on the right; a narrow window shows fewer of them.
    let width = spark.width.saturating_sub(2) as usize;
    let series = &series[series.len().saturating_sub(width)..];
    let peak = series.iter().copied().max().unwrap_or(0);
    f.render_widget(
        Sparkline::default()
            .block(block(&format!(
                "allocations per minute, last {MINUTES} min (peak {peak})"
            )))
            .data(series)
            .style(Style::default().fg(Color::Cyan)),
        spark,
    );

    let [open_area, fail_area] =
        Layout::horizontal([Constraint::Percentage(65), Constraint::Percentage(35)]).areas(middle);
    let mut open: Vec<(&String, &Open)> = pool.open.iter().collect();
    open.sort_by(|a, b| a.1.start.cmp(&b.1.start).then_with(|| a.0.cmp(b.0)));
    let rows: Vec<Row> = open
        .iter()
        .take(open_area.height.saturating_sub(3) as usize)
        .map(|(org, o)| {
            let held = human_secs((now - o.start).max(0) as f64 / 1000.0);
            let style = if o.orphaned {
                Style::default().fg(Color::Red)
            } else {
                Style::default()
            };
            Row::new(vec![
                Cell::from(escape(org).into_owned()),
                Cell::from(
                    escape(if o.gateway.is_empty() {
                        "?"
                    } else {
                        &o.gateway
                    })
                    .into_owned(),
                ),
                Cell::from(held),
                Cell::from(if o.orphaned { "ORPHANED" } else { "" }),
            ])
            .style(style)
        })
        .collect();
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Min(20),
                Constraint::Length(12),
                Constraint::Length(9),
                Constraint::Length(9),
            ],
        )
        .header(
            Row::new(vec!["organization", "gateway", "held", ""])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(block(&format!(
            "open allocations ({}), oldest first",
            pool.open.len()
        ))),
        open_area,
    );
    let fail_rows: Vec<Row> = Reason::ALL
        .iter()
        .map(|r| {
            Row::new(vec![
                Cell::from(r.as_str()),
                Cell::from(c.by_reason[*r as usize].to_string()),
            ])
        })
        .chain([
            Row::new(vec![
                Cell::from("rollbacks"),
                Cell::from(c.rollbacks.to_string()),
            ]),
            Row::new(vec![
                Cell::from("orphaned"),
                Cell::from(c.orphaned.to_string()),
            ]),
            Row::new(vec![
                Cell::from("exhaustion episodes"),
                Cell::from(c.exhaustion_episodes.to_string()),
            ]),
        ])
        .chain(pool.recycling().map(|_| {
            Row::new(vec![
                Cell::from("to restarting gw"),
                Cell::from(pool.gateways.handouts.to_string()),
            ])
        }))
        .chain(pool.gateways.restarting().into_iter().map(|(name, since)| {
            Row::new(vec![
                Cell::from(format!("restarting {}", escape(name))),
                Cell::from(human_secs((now - since).max(0) as f64 / 1000.0)),
            ])
            .style(Style::default().fg(Color::Yellow))
        }))
        .collect();
    f.render_widget(
        Table::new(fail_rows, [Constraint::Min(12), Constraint::Length(9)])
            .block(block("failures")),
        fail_area,
    );

    let mut lines: Vec<Line> = firing
        .iter()
        .map(|a| {
            Line::from(vec![
                Span::styled(
                    "FIRING   ",
                    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!(
                    "{:<8} {:<19} {}",
                    a.severity,
                    a.rule,
                    escape(&a.summary)
                )),
            ])
        })
        .collect();
    let room = (bottom.height as usize)
        .saturating_sub(2)
        .saturating_sub(lines.len());
    let recent: Vec<&Notification> = act
        .transitions
        .iter()
        .rev()
        .filter(|n| n.status == Status::Resolved)
        .take(room)
        .collect();
    for n in recent.into_iter().rev() {
        lines.push(Line::from(vec![
            Span::styled("resolved ", Style::default().fg(Color::Green)),
            Span::raw(format!(
                "{} {:<19} {}",
                fmt_time(n.at),
                n.alert.rule,
                escape(&n.alert.summary)
            )),
        ]));
    }
    if lines.is_empty() {
        lines.push(Line::from("no alert"));
    }
    f.render_widget(Paragraph::new(lines).block(block("alerts")), bottom);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Origin;
    use crate::pool::PoolConfig;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn state() -> (Pool, Engine, Activity) {
        let mut pool = Pool::new(PoolConfig {
            pool_size: Some(2),
            max_orgs: 10,
            ..PoolConfig::default()
        });
        let mut engine = Engine::new(crate::alert::Alerts::default());
        let mut act = Activity::default();
        let t0 = 1_772_600_000_000;
        let mut notes = Vec::new();
        for (i, kind) in [
            Kind::AllocAttempt {
                org: "org-a".into(),
            },
            Kind::Allocated {
                org: "org-a".into(),
                gateway: "gw-pool-1".into(),
                port: None,
                gateway_id: None,
                recycling: false,
            },
            Kind::AllocAttempt {
                org: "org-b".into(),
            },
            Kind::Allocated {
                org: "org-b".into(),
                gateway: "gw-pool-2".into(),
                port: None,
                gateway_id: None,
                recycling: false,
            },
            Kind::AllocAttempt {
                org: "org-c".into(),
            },
            Kind::AllocFailed {
                org: "org-c".into(),
                reason: Reason::NoGatewayAvailable,
                message: "no_gateway_available".into(),
                gateway: None,
                gateway_id: None,
            },
        ]
        .into_iter()
        .enumerate()
        {
            let mut ev = Event {
                time: t0 + i as i64 * 1000,
                kind,
                origin: Origin {
                    input: 0,
                    line: i as u64 + 1,
                },
                stream: None,
                raw: String::new(),
            };
            crate::alert::Replay {
                pool: &mut pool,
                engine: &mut engine,
            }
            .event(&mut ev, &mut notes);
            act.event(&ev);
        }
        for n in &notes {
            act.notification(n);
        }
        (pool, engine, act)
    }

    fn screen(w: u16, h: u16) -> String {
        let (pool, engine, act) = state();
        render(&pool, &engine, &act, w, h)
    }

    fn render(pool: &Pool, engine: &Engine, act: &Activity, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        let now = pool.now.unwrap();
        t.draw(|f| draw(f, pool, engine, act, "ganymede.log", now))
            .unwrap();
        let buf = t.backend().buffer().clone();
        let mut s = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                s.push_str(buf[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    }

    #[test]
    fn the_dashboard_shows_pool_open_allocations_and_alerts() {
        let s = screen(120, 32);
        assert!(s.contains("1 FIRING"), "{s}");
        assert!(
            s.contains("2 allocated · 0 orphaned · 0 of 2 available (config)"),
            "{s}"
        );
        assert!(s.contains("org-a") && s.contains("gw-pool-2"), "{s}");
        assert!(s.contains("pool_exhausted"), "{s}");
        assert!(s.contains("no_gateway_available"), "{s}");
        assert!(
            s.contains("3 attempts · 1 failed (33.3%) · 0 reused"),
            "{s}"
        );
        let lines: Vec<&str> = s.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains("allocations per minute"))
            .unwrap();
        assert!(
            lines[at + 1..at + 4]
                .iter()
                .any(|l| l.contains(['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'])),
            "the sparkline shows this minute's allocations: {s}"
        );
    }

    #[test]
    fn restarting_gateways_show_with_their_own_logs() {
        let (mut pool, engine, act) = state();
        assert!(!screen(120, 32).contains("restarting"));
        let mut ev = Event {
            time: pool.now.unwrap() + 5_000,
            kind: Kind::IdleShutdown {
                gateway: Some("gw-pool-3".into()),
                idle_ms: 1_800_000,
                gateway_id: None,
            },
            origin: Origin { input: 1, line: 1 },
            stream: None,
            raw: String::new(),
        };
        pool.apply(&mut ev);
        pool.advance(ev.time + 12_000);
        let s = render(&pool, &engine, &act, 120, 32);
        assert!(s.contains("0 orphaned · 1 restarting ·"), "{s}");
        assert!(
            s.contains("restarting gw-pool-3") && s.contains("12.0s"),
            "{s}"
        );
    }

    #[test]
    fn tiny_and_empty_areas_do_not_panic() {
        for (w, h) in [(0, 0), (1, 1), (19, 7), (20, 8), (40, 12)] {
            let _ = screen(w, h);
        }
    }
}
