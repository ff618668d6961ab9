//! The live pipeline: following files (tail -F) or stdin into the pool and the alert engine,
//! with the clock ticking between lines, and the sinks notified as transitions happen. `watch`
//! and `events --follow` run [`follow`]; `top` drives a [`LiveSource`](super::session::LiveSource)
//! and a [`Session`] from its own loop; `check` reads through a `Session`.
//!
//! The clock is the later of the last event time and the wall clock, ticking at least once a
//! second, so a lasting condition fires even when no line arrives (DESIGN.md §5).

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Diagnostic;
use super::publish::Publisher;
use super::replay::Batch;
use super::session::{Session, describe};
use crate::alert::sinks::Sinks;
use crate::event::Event;
use crate::exit::Exit;
use crate::export::text::pool_line;
use crate::source::follow::{FollowNote, FollowOptions};
use crate::term::escape;
use crate::units::time::wall_now;

/// The most a first `--state` run holds of what its catch-up (`--from-start`) rendered until
/// its first save.
const CATCHUP_HOLD: usize = 16 << 20;

/// The longest the live loop sleeps.
const TICK: Duration = Duration::from_millis(250);

/// Signals the live loop reacts to.
struct Signals {
    stop: Arc<AtomicBool>,
    interrupted: Arc<AtomicBool>,
    summary: Arc<AtomicBool>,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
        let s = Signals {
            stop: Arc::new(AtomicBool::new(false)),
            interrupted: Arc::new(AtomicBool::new(false)),
            summary: Arc::new(AtomicBool::new(false)),
        };
        signal_hook::flag::register(SIGTERM, Arc::clone(&s.stop))?;
        signal_hook::flag::register(SIGINT, Arc::clone(&s.stop))?;
        signal_hook::flag::register(SIGINT, Arc::clone(&s.interrupted))?;
        signal_hook::flag::register(SIGUSR1, Arc::clone(&s.summary))?;
        Ok(s)
    }
}

/// How a live run behaves.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub follow: FollowOptions,
    /// Tell the pool line at this interval (also on SIGUSR1).
    pub summary_every: Option<Duration>,
    /// Keep the run's state in this file and resume from it (`watch --state`), with the
    /// command that keeps it.
    pub state: Option<(PathBuf, &'static str)>,
}

/// What a live run has to tell; the command decides where it goes (stderr, a dashboard).
pub enum Tell<'a> {
    /// A skipped line or a read error.
    Diagnostic(&'a Diagnostic),
    /// A file rotated, truncated, appeared, removed, or unreadable.
    Note(&'a FollowNote),
    /// The one-line pool status (SIGUSR1, --summary-every, the end).
    Status(String),
    /// The metrics could not be published.
    PublishError(&'a anyhow::Error),
}

/// Tell on stderr, as `watch` and `events --follow` do: errors always, follower notes and
/// skipped lines with `-v`.
pub fn tell_stderr(verbose: bool) -> impl FnMut(Tell<'_>) {
    move |t| match t {
        Tell::Diagnostic(d) => {
            if verbose || d.always_told() {
                eprintln!("gwmon: {d}");
            }
        }
        Tell::Note(n) => {
            let (error, line) = describe(n);
            // Waiting for a path and reading a file once are said even without -v: they
            // explain a silence.
            let always = matches!(n, FollowNote::Waiting { .. } | FollowNote::Duplicate { .. });
            if error || always || verbose {
                eprintln!("gwmon: {}", escape(&line));
            }
        }
        Tell::Status(line) => eprintln!("{line}"),
        Tell::PublishError(e) => eprintln!("gwmon: {e:#}"),
    }
}

/// Renders an event as the bytes a live run emits on stdout (nothing: the event is not emitted).
pub type Render<'a> = &'a mut dyn FnMut(&Event, &[String], &mut Vec<u8>) -> io::Result<()>;

/// Write what was rendered to stdout, at once.
fn emit(out: &mut Vec<u8>) -> io::Result<()> {
    if !out.is_empty() {
        let mut stdout = io::stdout().lock();
        stdout.write_all(out)?;
        stdout.flush()?;
        out.clear();
    }
    Ok(())
}

/// Follow `inputs` until stdin ends or a signal stops the run: ingest what arrives, tick the
/// clock, notify the sinks, publish the metrics. `render` turns every event into what is
/// written on stdout; `tell` sees what there is to tell. Ends 2 when a follower note was an
/// error (a file could not be read).
///
/// With `--state`, the events rendered wait for the save that covers their lines, and that save
/// holds them too (an outbox): when stdout is a regular file, a restart after a kill between the
/// save and the write writes what the file lacks of them, so each event is emitted exactly once.
pub fn follow(
    batch: &Batch,
    opts: &LiveOptions,
    mut session: Session,
    mut sinks: Sinks,
    mut publisher: Option<Publisher>,
    render: Render<'_>,
    tell: &mut dyn FnMut(Tell<'_>),
) -> anyhow::Result<Exit> {
    let signals = Signals::install()?;
    for (input, same_as) in &batch.duplicates {
        tell(Tell::Diagnostic(&Diagnostic::Duplicate {
            input: input.clone(),
            same_as: same_as.clone(),
        }));
    }
    // The existing content (--from-start) is read first, merged by time; alerts are rebuilt,
    // not notified, until then.
    let mut notes = Vec::new();
    session.monitor.engine.notify = false;
    let mut state = match &opts.state {
        Some((p, command)) => Some(super::state::StateFile::open(p, command)?),
        None => None,
    };
    let resumed = state.as_ref().is_some_and(|s| s.resuming());
    // What is rendered for stdout; with --state it waits for the save that covers its lines.
    let mut out: Vec<u8> = Vec::new();
    let mut pending: Vec<Event> = Vec::new();
    let mut live = match state.as_mut().filter(|s| s.resuming()) {
        // Where the last run stopped: its unread rest first; what it changes is new, and told.
        Some(st) => {
            // What the last run saved but may not have written, first.
            if let Some(rest) = st.unwritten_outbox() {
                out.extend_from_slice(&rest);
                emit(&mut out)?;
            }
            let mut say = |s: String| tell(Tell::Status(format!("gwmon: {}", escape(&s))));
            let (live, firing) = st.resume(
                batch,
                &opts.follow,
                &mut session,
                &mut notes,
                &mut pending,
                &mut say,
            )?;
            // The Alertmanagers hear again of what still fires (they keep no state).
            for n in &firing {
                sinks.resync(n);
            }
            for d in session.take_diagnostics() {
                tell(Tell::Diagnostic(&d));
            }
            for ev in pending.drain(..) {
                render(&ev, &session.names, &mut out)?;
            }
            // Saved before anything is told or emitted: a kill after this repeats nothing.
            st.save(&session, &live, true, Some(&out))?;
            for n in notes.drain(..) {
                sinks.send(&n)?;
            }
            emit(&mut out)?;
            live
        }
        // With --state, what the catch-up renders waits for the first save too, up to a bound:
        // memory stays bounded whatever the history (a kill in the first catch-up of a longer
        // one may emit its first events again). Without, it is written as it comes.
        None => {
            let hold = if state.is_some() {
                CATCHUP_HOLD
            } else {
                64 << 10
            };
            super::catchup::open(
                batch,
                &opts.follow,
                &mut session,
                &mut notes,
                &mut |ev, names| {
                    render(ev, names, &mut out)?;
                    if out.len() > hold {
                        emit(&mut out)?;
                    }
                    Ok(())
                },
            )?
        }
    };
    if state.is_none() {
        emit(&mut out)?;
    }
    live.record_offsets(&mut session.stats);
    notes.clear();
    let mut catching_up = !resumed && !live.is_stdin() && opts.follow.from_start;
    session.monitor.engine.notify = !catching_up;
    let summary_every = opts.summary_every;
    let mut next_summary = summary_every.map(|d| Instant::now() + d);
    let mut errored = false;
    // The newest record read is current (within a minute of the wall clock).
    let mut recent = false;
    loop {
        if signals.stop.load(Ordering::Relaxed) {
            break;
        }
        if signals.summary.swap(false, Ordering::Relaxed)
            || next_summary.is_some_and(|t| Instant::now() >= t)
        {
            let m = &session.monitor;
            tell(Tell::Status(pool_line(
                session.clock(),
                &m.pool,
                &m.engine,
                &session.stats,
            )));
            if let (Some(t), Some(d)) = (next_summary.as_mut(), summary_every) {
                *t = Instant::now() + d;
            }
        }
        // Wake at least 4 times a second: signals (SIGTERM, SIGUSR1) take effect within 250 ms,
        // and the clock ticks; an idle wait costs next to nothing.
        let timeout = next_summary
            .map_or(TICK, |t| t.saturating_duration_since(Instant::now()))
            .min(TICK);
        let Some((chunks, fnotes)) = live.wait(timeout)? else {
            break; // stdin closed
        };
        let idle = chunks.is_empty();
        session.ingest(chunks, &mut notes, &mut |ev, names| {
            render(ev, names, &mut out)
        })?;
        if !idle || !fnotes.is_empty() {
            live.record_offsets(&mut session.stats);
        }
        for d in session.take_diagnostics() {
            tell(Tell::Diagnostic(&d));
        }
        if let Some(p) = &mut publisher {
            p.dirty |= !idle;
        }
        for n in &fnotes {
            errored |= describe(n).0;
            if matches!(n, FollowNote::Lost { .. }) {
                session.stats.lost += 1;
            }
            tell(Tell::Note(n));
        }
        if catching_up
            && (idle
                || session
                    .monitor
                    .pool
                    .now
                    .is_some_and(|t| t >= wall_now() - 10_000))
        {
            catching_up = false;
            session.monitor.engine.notify = true;
            // What is still firing is told once, as it is now.
            let now = session.clock();
            session.monitor.engine.set_read_clock(Some(wall_now()));
            let m = &mut session.monitor;
            notes.extend(m.engine.announce(now, &m.pool));
        }
        if !idle {
            let newest = session
                .stats
                .inputs
                .values()
                .filter_map(|c| c.last_time)
                .max();
            recent = newest.is_some_and(|t| t >= wall_now() - 60_000);
        }
        if !catching_up {
            session.tick(&mut notes);
            // The exported integrals run with the live clock once what is read is live: files
            // after their catch-up, stdin once its lines are current (a history piped in is
            // integrated in its own time). They never go back.
            if !live.is_stdin() || recent {
                let clock = session.clock();
                session.monitor.pool.integrate_to(clock);
            }
        }
        // With --state, what is told and published is saved first: a kill loses progress, but
        // a restart neither tells a transition again nor shows a counter lower than was seen.
        let force = !notes.is_empty() || !out.is_empty();
        let saved = match state
            .as_mut()
            .map(|s| s.save(&session, &live, force, Some(&out)))
        {
            None => true,
            Some(Ok(written)) => written,
            Some(Err(err)) => {
                tell(Tell::PublishError(&err));
                false
            }
        };
        for n in notes.drain(..) {
            sinks.send(&n)?;
        }
        emit(&mut out)?;
        if saved
            && let Some(Err(err)) = publisher
                .as_mut()
                .map(|p| p.publish(&session.monitor, &session.stats, session.clock(), false))
        {
            tell(Tell::PublishError(&err));
        }
    }
    if let Some(s) = &mut state {
        s.save(&session, &live, true, Some(&out))?;
    }
    emit(&mut out)?;
    if let Some(p) = &mut publisher {
        p.publish(&session.monitor, &session.stats, session.clock(), true)?;
    }
    let m = &session.monitor;
    tell(Tell::Status(pool_line(
        session.clock(),
        &m.pool,
        &m.engine,
        &session.stats,
    )));
    sinks.finish();
    if signals.interrupted.load(Ordering::Relaxed) {
        return Ok(Exit::Interrupted);
    }
    Ok(Exit::from_errors(errored))
}
