//! `gwmon top`: the live terminal dashboard. Follows the files like `watch` (the pool is
//! rebuilt from their content first) and redraws on a timer, 4 times a second, never per line;
//! the terminal is restored on every exit path and from a panic (ratatui's hook).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};

use crate::alert::Monitor;
use crate::exit::Exit;
use crate::pipeline::live::{LiveSource, Session, describe};
use crate::settings::Top;
use crate::source::Input;
use crate::tui::{Activity, draw};

pub fn run(s: Top) -> anyhow::Result<Exit> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!("gwmon top needs a terminal; use gwmon watch or gwmon report elsewhere");
    }
    let c = &s.common;
    let mut session = Session::new(
        &c.batch.read,
        Monitor::new(c.pool.clone(), c.alerts.clone()),
    );
    let mut live = LiveSource::open(&c.batch.inputs, &s.follow)?;
    session.watch(live.names(&c.batch.inputs));
    let source = if live.is_stdin() {
        "<stdin>".to_owned()
    } else {
        c.batch
            .inputs
            .iter()
            .map(Input::name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut act = Activity::default();
    let mut terminal = ratatui::init();
    let result = (|| -> anyhow::Result<()> {
        let mut last_draw: Option<Instant> = None;
        let mut notes = Vec::new();
        let mut ended = false;
        loop {
            while event::poll(Duration::ZERO)? {
                if let TermEvent::Key(k) = event::read()? {
                    let ctrl_c =
                        k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                    if k.kind == KeyEventKind::Press
                        && (matches!(k.code, KeyCode::Char('q') | KeyCode::Esc) || ctrl_c)
                    {
                        return Ok(());
                    }
                }
            }
            if !ended {
                match live.wait(Duration::from_millis(100))? {
                    Some((chunks, fnotes)) => {
                        session.ingest(chunks, &mut notes, &mut |ev, _| {
                            act.event(ev);
                            Ok(())
                        })?;
                        for n in &fnotes {
                            let (error, text) = describe(n);
                            act.note(error, text);
                        }
                        for d in session.take_diagnostics() {
                            if d.is_error() {
                                act.note(true, d.to_string());
                            }
                        }
                    }
                    None => ended = true, // stdin closed: keep showing the last state
                }
            } else {
                std::thread::sleep(Duration::from_millis(100));
            }
            session.tick(&mut notes);
            for n in notes.drain(..) {
                act.notification(&n);
            }
            if last_draw.is_none_or(|t| t.elapsed() >= Duration::from_millis(250)) {
                let now = session.clock();
                let m = &session.monitor;
                terminal.draw(|f| draw(f, &m.pool, &m.engine, &act, &source, now))?;
                last_draw = Some(Instant::now());
            }
        }
    })();
    ratatui::restore();
    result.map(|()| Exit::Success)
}
