//! The screen: header, pool gauge and counts, the pool in use and the allocation rate over time,
//! the open allocations, failures and restarting gateways, alerts and the follower's notes.
//! Every text is fitted to its cell (`…` when cut), labels shorten before numbers go; below
//! [`MIN_W`]×[`MIN_H`] one line says which size is needed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Gauge, Paragraph, Row, Sparkline, Table};

use super::activity::{Activity, MINUTES, POOL_MINUTES};
use super::fit::{first_fitting, fit, width};
use super::view::{HELP, Panel, Sort, View};
use crate::alert::{Engine, Status};
use crate::event::{Millis, Reason};
use crate::pool::{Open, Pool};
use crate::term::escape;
use crate::units::{fmt_time, human_secs, natural_cmp, thousands};

/// The smallest terminal every panel is legible in.
pub const MIN_W: u16 = 60;
pub const MIN_H: u16 = 18;

/// What one frame shows.
pub struct Screen<'a> {
    pub pool: &'a Pool,
    pub engine: &'a Engine,
    pub act: &'a Activity,
    /// The inputs, as named.
    pub source: &'a str,
    pub now: Millis,
}

fn block(title: String, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default().add_modifier(Modifier::BOLD)
    };
    let b = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" {title} "), style));
    if focused {
        b.border_style(Style::default().fg(Color::Cyan))
    } else {
        b
    }
}

/// The title of a panel fitted to its width (borders and padding taken off).
fn title(variants: &[String], area: Rect) -> String {
    first_fitting(variants, (area.width as usize).saturating_sub(4))
}

/// Draw the dashboard; the view learns each panel's page size.
pub fn draw(f: &mut Frame, s: &Screen, v: &mut View) {
    let area = f.area();
    if area.width < MIN_W || area.height < MIN_H {
        let msg = first_fitting(
            &[
                format!(
                    "gwmon top needs at least {MIN_W}×{MIN_H}; this terminal is {}×{} (q quits)",
                    area.width, area.height
                ),
                format!("needs {MIN_W}×{MIN_H}, has {}×{}", area.width, area.height),
                format!("{MIN_W}×{MIN_H}"),
            ],
            area.width as usize,
        );
        f.render_widget(Paragraph::new(msg), area);
        return;
    }
    let tall = area.height >= 30;
    let [head, gauges, charts, middle, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Length(if tall { 7 } else { 5 }),
        Constraint::Min(6),
        Constraint::Length(if tall { 9 } else { 6 }),
    ])
    .areas(area);
    header(f, s, v, head);
    pool_gauges(f, s, gauges);
    over_time(f, s, charts);
    let [open_area, fail_area] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(middle);
    open_table(f, s, v, open_area);
    failures(f, s, v, fail_area);
    let [alerts_area, notes_area] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(bottom);
    alerts(f, s, v, alerts_area);
    notes(f, s, v, notes_area);
    if v.help {
        help(f, area);
    }
}

fn header(f: &mut Frame, s: &Screen, v: &View, area: Rect) {
    let firing = s.engine.firing();
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
    let mut spans = vec![
        Span::styled("gwmon top ", Style::default().add_modifier(Modifier::BOLD)),
        status,
    ];
    let mut used = 10 + width(&spans[1].content);
    if v.paused {
        let p = " PAUSED · p resumes ";
        used += width(p) + 1;
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            p,
            Style::default().fg(Color::Black).bg(Color::Yellow),
        ));
    }
    let rest = (area.width as usize).saturating_sub(used);
    let src = escape(s.source);
    let text = first_fitting(
        &[
            format!("  {}  {src}  ? keys", fmt_time(s.now)),
            format!("  {}  {src}", fmt_time(s.now)),
            format!("  {}", fmt_time(s.now)),
        ],
        rest,
    );
    spans.push(Span::raw(text));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn pool_gauges(f: &mut Frame, s: &Screen, area: Rect) {
    let pool = s.pool;
    let c = &pool.counters;
    let [g1, g2] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area);
    let inner = (g1.width as usize).saturating_sub(2);
    let (a, o) = (pool.allocated(), pool.orphaned_open);
    let restarting = pool.recycling();
    let r_long = restarting.map_or(String::new(), |n| format!(" · {n} restarting"));
    let r_short = restarting.map_or(String::new(), |n| format!(" · {n} restarting"));
    match (pool.total(), pool.available()) {
        (Some(total), Some(avail)) => {
            let used = total as i64 - avail;
            let ratio = if total > 0 {
                (used as f64 / total as f64).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let color = match avail {
                x if x <= 0 => Color::Red,
                x if (x as f64) < 0.2 * total as f64 => Color::Yellow,
                _ => Color::Green,
            };
            let label = first_fitting(
                &[
                    format!(
                        "{a} allocated · {o} orphaned{r_long} · {avail} of {total} available ({})",
                        pool.total_source()
                    ),
                    format!("{a} allocated · {o} orphaned{r_long} · {avail} of {total} available"),
                    format!("{a} alloc · {o} orph{r_short} · {avail}/{total} avail"),
                    format!("{a}+{o}/{total} used · {avail} avail"),
                    format!("{avail}/{total} avail"),
                ],
                inner,
            );
            f.render_widget(
                Gauge::default()
                    .block(block("pool".into(), false))
                    .gauge_style(Style::default().fg(color))
                    .ratio(ratio)
                    .label(label),
                g1,
            );
        }
        _ => {
            let label = first_fitting(
                &[
                    format!(
                        "{a} allocated · {o} orphaned{r_long} · pool size unknown (--pool-size)"
                    ),
                    format!("{a} alloc · {o} orph{r_short} · size unknown"),
                    format!("{a}+{o} used · size ?"),
                ],
                inner,
            );
            f.render_widget(Paragraph::new(label).block(block("pool".into(), false)), g1);
        }
    }
    let rate = if c.attempts > 0 {
        format!("{:.1}%", c.failed as f64 / c.attempts as f64 * 100.0)
    } else {
        "0%".into()
    };
    let (n, fl, re) = (
        thousands(c.attempts),
        thousands(c.failed),
        thousands(c.reused),
    );
    let text = first_fitting(
        &[
            format!("{n} attempts · {fl} failed ({rate}) · {re} reused"),
            format!("{n} tries · {fl} failed ({rate}) · {re} reuse"),
            format!("{fl}/{n} failed ({rate})"),
            format!("{fl}/{n} failed"),
        ],
        (g2.width as usize).saturating_sub(2),
    );
    f.render_widget(
        Paragraph::new(text).block(block(title(&["since start".into()], g2), false)),
        g2,
    );
}

fn over_time(f: &mut Frame, s: &Screen, area: Rect) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    // The pool in use over the last hours, scaled to the pool's total.
    let cells = (left.width as usize).saturating_sub(2);
    let series = s.act.in_use_series(s.now, cells);
    let data: Vec<u64> = series.iter().map(|x| x.unwrap_or(0)).collect();
    let peak = series.iter().flatten().max().copied().unwrap_or(0);
    let total = s.pool.total();
    let hours = POOL_MINUTES / 60;
    let t = title(
        &[
            format!(
                "in use, last {hours}h (peak {peak}{})",
                total.map_or(String::new(), |t| format!(" of {t}"))
            ),
            format!("in use, {hours}h, peak {peak}"),
            format!("in use {hours}h"),
        ],
        left,
    );
    let mut spark = Sparkline::default()
        .block(block(t, false))
        .data(&data)
        .style(Style::default().fg(Color::Magenta));
    if let Some(t) = total.filter(|t| *t > 0) {
        spark = spark.max(t.max(peak));
    }
    f.render_widget(spark, left);

    let series = s.act.series(s.now);
    let w = (right.width as usize).saturating_sub(2);
    let series = &series[series.len().saturating_sub(w)..];
    let peak = series.iter().copied().max().unwrap_or(0);
    let t = title(
        &[
            format!("allocations/min, last {} min (peak {peak})", series.len()),
            format!("allocs/min, {} min, peak {peak}", series.len()),
            format!("allocs/min {}m", series.len().min(MINUTES)),
        ],
        right,
    );
    f.render_widget(
        Sparkline::default()
            .block(block(t, false))
            .data(series)
            .style(Style::default().fg(Color::Cyan)),
        right,
    );
}

fn open_table(f: &mut Frame, s: &Screen, v: &mut View, area: Rect) {
    let pool = s.pool;
    let mut open: Vec<(&String, &Open)> = pool.open.iter().collect();
    match v.sort {
        Sort::Held => open.sort_by(|a, b| a.1.start.cmp(&b.1.start).then_with(|| a.0.cmp(b.0))),
        Sort::Org => open.sort_by(|a, b| a.0.cmp(b.0)),
        Sort::Gateway => {
            open.sort_by(|a, b| natural_cmp(&a.1.gateway, &b.1.gateway).then_with(|| a.0.cmp(b.0)))
        }
    }
    let inner = (area.width as usize).saturating_sub(2);
    let rows_room = (area.height as usize).saturating_sub(3);
    let first = v.drawn(Panel::Open, rows_room, open.len());
    let shown = &open[first.min(open.len())..(first + rows_room).min(open.len())];
    // Columns: the gateway as wide as the widest shown (whole names), held, the state; the
    // organization takes the rest.
    let gw_w = shown
        .iter()
        .map(|(_, o)| width(&escape(&o.gateway)))
        .max()
        .unwrap_or(7)
        .clamp(7, 14);
    let held_w = 8;
    let flag_w = if inner >= 56 { 8 } else { 4 };
    let org_w = inner.saturating_sub(gw_w + held_w + flag_w + 3).max(4);
    let rows: Vec<Row> = shown
        .iter()
        .map(|(org, o)| {
            let held = human_secs((s.now - o.start).max(0) as f64 / 1000.0);
            let style = if o.orphaned {
                Style::default().fg(Color::Red)
            } else {
                Style::default()
            };
            let gw = if o.gateway.is_empty() {
                "?".to_owned()
            } else {
                escape(&o.gateway).into_owned()
            };
            let flag = match (o.orphaned, flag_w) {
                (false, _) => "",
                (true, 8) => "ORPHANED",
                (true, _) => "ORPH",
            };
            Row::new(vec![
                Cell::from(fit(&escape(org), org_w)),
                Cell::from(fit(&gw, gw_w)),
                Cell::from(fit(&held, held_w)),
                Cell::from(flag),
            ])
            .style(style)
        })
        .collect();
    let n = open.len();
    let range = if n > rows_room {
        format!(" {}–{} of {n}", first + 1, first + shown.len())
    } else {
        format!(" {n}")
    };
    let t = title(
        &[
            format!("open allocations{range}, by {} (s sorts)", v.sort.label()),
            format!("open{range}, by {}", v.sort.label()),
            format!("open{range}"),
        ],
        area,
    );
    let header = Row::new(vec![
        Cell::from(fit("organization", org_w)),
        Cell::from(fit("gateway", gw_w)),
        Cell::from("held"),
        Cell::from(""),
    ])
    .style(Style::default().add_modifier(Modifier::BOLD));
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(org_w as u16),
                Constraint::Length(gw_w as u16),
                Constraint::Length(held_w as u16),
                Constraint::Length(flag_w as u16),
            ],
        )
        .header(header)
        .block(block(t, v.focus == Panel::Open)),
        area,
    );
}

/// A label and its number, right-aligned: the label shortens (then is cut) to leave the number
/// whole.
fn figure(label: &str, short: &str, value: String, cols: usize) -> Line<'static> {
    let room = cols.saturating_sub(width(&value) + 1);
    let l = if width(label) <= room { label } else { short };
    let l = fit(l, room);
    let pad = cols.saturating_sub(width(&l) + width(&value)).max(1);
    Line::from(format!("{l}{}{value}", " ".repeat(pad)))
}

fn failures(f: &mut Frame, s: &Screen, v: &mut View, area: Rect) {
    let pool = s.pool;
    let c = &pool.counters;
    let cols = (area.width as usize).saturating_sub(2);
    let mut lines: Vec<Line> = Reason::ALL
        .iter()
        .map(|r| {
            let short = match r {
                Reason::NoGatewayAvailable => "no gateway",
                Reason::HealthCheck => "health",
                Reason::Init => "init",
                Reason::Other => "other",
            };
            figure(r.as_str(), short, thousands(c.by_reason[*r as usize]), cols)
        })
        .collect();
    if pool.recycling().is_some() {
        lines.push(figure(
            "handed out restarting",
            "to restarting",
            thousands(pool.gateways.handouts),
            cols,
        ));
        let restarting = pool.gateways.restarting();
        lines.push(Line::styled(
            fit(&format!("restarting now: {}", restarting.len()), cols),
            Style::default().add_modifier(Modifier::BOLD),
        ));
        for (name, since) in restarting {
            lines.push(
                figure(
                    &format!(" {}", escape(name)),
                    &format!(" {}", escape(name)),
                    human_secs((s.now - since).max(0) as f64 / 1000.0),
                    cols,
                )
                .style(Style::default().fg(Color::Yellow)),
            );
        }
    }
    lines.push(Line::from(fit(
        &first_fitting(
            &[
                format!(
                    "rollbacks {} · orphaned {}",
                    thousands(c.rollbacks),
                    thousands(c.orphaned)
                ),
                format!(
                    "rollbk {} · orph {}",
                    thousands(c.rollbacks),
                    thousands(c.orphaned)
                ),
            ],
            cols,
        ),
        cols,
    )));
    lines.push(figure(
        "exhaustion episodes",
        "exhausted",
        thousands(c.exhaustion_episodes),
        cols,
    ));
    if let Some(p) = pool.history.exhaustion.back() {
        let end = p.end.unwrap_or(s.now);
        let at = fmt_time(p.start);
        let at = at.get(11..19).unwrap_or("");
        let lasted = human_secs((end - p.start).max(0) as f64 / 1000.0);
        let when = match p.end {
            // An episode ends with the next allocation.
            None => first_fitting(
                &[
                    format!("last from {at}, no allocation since · {} refused", p.count),
                    format!("last from {at} · {} refused", p.count),
                ],
                cols,
            ),
            Some(_) => first_fitting(
                &[
                    format!("last {at} for {lasted} · {} refused", p.count),
                    format!("last {at}, {lasted}"),
                ],
                cols,
            ),
        };
        let style = if pool.available().is_some_and(|a| a <= 0) {
            Style::default().fg(Color::Red)
        } else {
            Style::default()
        };
        lines.push(Line::styled(when, style));
    }
    scrolled(f, v, Panel::Failures, area, lines, |more| {
        [
            format!("failures · gateways{more}"),
            format!("failures{more}"),
        ]
    });
}

/// A scrollable list of lines in a focusable panel; the title says which rows are shown.
fn scrolled(
    f: &mut Frame,
    v: &mut View,
    panel: Panel,
    area: Rect,
    lines: Vec<Line<'static>>,
    name: impl Fn(&str) -> [String; 2],
) {
    let room = (area.height as usize).saturating_sub(2);
    let n = lines.len();
    let first = v.drawn(panel, room, n);
    let more = if n > room {
        format!(" {}–{} of {n}", first + 1, (first + room).min(n))
    } else {
        String::new()
    };
    let [long, short] = name(&more);
    let t = title(&[long, short, name("")[1].clone()], area);
    let shown: Vec<Line> = lines.into_iter().skip(first).take(room).collect();
    f.render_widget(
        Paragraph::new(shown).block(block(t, v.focus == panel)),
        area,
    );
}

fn alerts(f: &mut Frame, s: &Screen, v: &mut View, area: Rect) {
    let cols = (area.width as usize).saturating_sub(2);
    let wide = cols >= 70;
    let mut lines: Vec<Line> = s
        .engine
        .firing()
        .iter()
        .map(|a| {
            let text = if wide {
                format!("{:<8} {:<19} {}", a.severity, a.rule, escape(&a.summary))
            } else {
                format!("{} {}", a.rule, escape(&a.summary))
            };
            Line::from(vec![
                Span::styled(
                    "FIRING ",
                    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                ),
                Span::raw(fit(&text, cols.saturating_sub(7))),
            ])
        })
        .collect();
    for n in s
        .act
        .transitions
        .iter()
        .rev()
        .filter(|n| n.status == Status::Resolved)
    {
        let at = fmt_time(n.at);
        let text = if wide {
            format!("{at} {:<19} {}", n.alert.rule, escape(&n.alert.summary))
        } else {
            format!("{} {}", at.get(11..19).unwrap_or(&at), n.alert.rule)
        };
        lines.push(Line::from(vec![
            Span::styled("resolved ", Style::default().fg(Color::Green)),
            Span::raw(fit(&text, cols.saturating_sub(9))),
        ]));
    }
    if lines.is_empty() {
        lines.push(Line::from("no alert"));
    }
    scrolled(f, v, Panel::Alerts, area, lines, |more| {
        [format!("alerts{more}"), format!("alerts{more}")]
    });
}

fn notes(f: &mut Frame, s: &Screen, v: &mut View, area: Rect) {
    let cols = (area.width as usize).saturating_sub(2);
    let mut lines: Vec<Line> = s
        .act
        .notes
        .iter()
        .rev()
        .map(|(error, text)| {
            let style = if *error {
                Style::default().fg(Color::Red)
            } else {
                Style::default().fg(Color::Yellow)
            };
            Line::styled(fit(&escape(text), cols), style)
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from("no note from the follower"));
    }
    scrolled(f, v, Panel::Notes, area, lines, |more| {
        [format!("follower's notes{more}"), format!("notes{more}")]
    });
}

fn help(f: &mut Frame, area: Rect) {
    let keys_w = HELP.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    let w = (area.width.saturating_sub(4)).min(76);
    let h = (HELP.len() as u16 + 4).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let cols = (w as usize).saturating_sub(2);
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            let text = format!("{k:<keys_w$}  {what}");
            Line::from(fit(&text, cols))
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(fit("any key closes this help", cols)));
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block("keys".into(), true)), r);
}
