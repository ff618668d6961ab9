//! `gwmon top`: the live terminal dashboard. Follows the files like `watch` (the pool is
//! rebuilt from their content first) and redraws on a timer, 4 times a second, never per line;
//! the terminal is restored on every exit path and from a panic (ratatui's hook).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event as TermEvent};

use crate::alert::Monitor;
use crate::exit::Exit;
use crate::pipeline::catchup;
use crate::pipeline::session::{LiveSource, Session, describe};
use crate::pipeline::state::StateFile;
use crate::settings::Top;
use crate::source::Input;
use crate::tui::{Action, Activity, Screen, View, draw};

pub fn run(s: Top) -> anyhow::Result<Exit> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!("gwmon top needs a terminal; use gwmon watch or gwmon report elsewhere");
    }
    let c = &s.common;
    let mut monitor = Monitor::new(c.pool.clone(), c.alerts.clone());
    // The derived pool_status events give the pool in use over time.
    monitor.pool.keep_derived = true;
    let mut session = Session::new(&c.batch.read, monitor);
    let mut act = Activity::default();
    let mut notes = Vec::new();
    let mut state = match &s.state {
        Some(p) => Some(StateFile::open(p, "top")?),
        None => None,
    };
    let mut live = match state.as_mut().filter(|st| st.resuming()) {
        // Where the last run stopped: its view, then what was written since.
        Some(st) => {
            if let Some(v) = st.take_view() {
                act = serde_json::from_value(v).map_err(|e| {
                    anyhow::anyhow!("--state {}: its view: {e}", st.path().display())
                })?;
            }
            let mut pending = Vec::new();
            let mut said = Vec::new();
            let (live, _firing) = st.resume(
                &c.batch,
                &s.follow,
                &mut session,
                &mut notes,
                &mut pending,
                &mut |line| said.push(line),
            )?;
            for ev in &pending {
                act.event(ev);
            }
            for line in said {
                act.note(false, line);
            }
            live
        }
        // The files' content first, merged by time (the pool as it is now).
        None => catchup::open(
            &c.batch,
            &s.follow,
            &mut session,
            &mut notes,
            &mut |ev, _| {
                act.event(ev);
                Ok(())
            },
        )?,
    };
    for n in notes.drain(..) {
        act.notification(&n);
    }
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
    let mut terminal = ratatui::init();
    let result = (|| -> anyhow::Result<()> {
        let mut last_draw: Option<Instant> = None;
        let mut save_failing = false;
        let mut ended = false;
        let mut view = View::default();
        // While paused: the state as it was, shown while reading goes on.
        let mut frozen: Option<(crate::pool::Pool, crate::alert::Engine, Activity, i64)> = None;
        loop {
            let mut redraw = false;
            while event::poll(Duration::ZERO)? {
                match event::read()? {
                    TermEvent::Key(k) => {
                        match view.key(k) {
                            Action::Quit => return Ok(()),
                            Action::Pause => {
                                let m = &session.monitor;
                                frozen = Some((
                                    m.pool.clone(),
                                    m.engine.clone(),
                                    act.clone(),
                                    session.clock(),
                                ));
                            }
                            Action::Resume => frozen = None,
                            Action::None => {}
                        }
                        redraw = true;
                    }
                    TermEvent::Resize(..) => redraw = true,
                    _ => {}
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
                            if matches!(n, crate::source::follow::FollowNote::Lost { .. }) {
                                session.stats.lost += 1;
                            }
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
            if let Some(st) = state.as_mut().filter(|st| st.due())
                && let Some(e) = save(st, &session, &live, &act, &mut save_failing)
            {
                act.note(true, e);
            }
            if redraw || last_draw.is_none_or(|t| t.elapsed() >= Duration::from_millis(250)) {
                let m = &session.monitor;
                let screen = match &frozen {
                    Some((pool, engine, act, now)) => Screen {
                        pool,
                        engine,
                        act,
                        source: &source,
                        now: *now,
                    },
                    None => Screen {
                        pool: &m.pool,
                        engine: &m.engine,
                        act: &act,
                        source: &source,
                        now: session.clock(),
                    },
                };
                terminal.draw(|f| draw(f, &screen, &mut view))?;
                last_draw = Some(Instant::now());
            }
        }
    })();
    ratatui::restore();
    if let Some(st) = &mut state {
        st.view = Some(serde_json::to_value(&act)?);
        st.save(&session, &live, true, None)?;
    }
    result.map(|()| Exit::Success)
}

/// Save the run (with its view); a failure is told once on the dashboard, and again once it
/// saved since.
fn save(
    st: &mut StateFile,
    session: &Session,
    live: &LiveSource,
    act: &Activity,
    failing: &mut bool,
) -> Option<String> {
    let result = serde_json::to_value(act)
        .map_err(anyhow::Error::from)
        .and_then(|v| {
            st.view = Some(v);
            st.save(session, live, false, None)
        });
    match result {
        Ok(_) => {
            *failing = false;
            None
        }
        Err(e) if !*failing => {
            *failing = true;
            Some(format!("{e:#}"))
        }
        Err(_) => None,
    }
}
