//! The live pipeline: following files (tail -F) or stdin into the pool and the alert engine,
//! with the clock ticking between lines, and the sinks notified as transitions happen. `watch`
//! and `events --follow` run [`follow`]; `top` drives a [`LiveSource`] and a [`Session`] from
//! its own loop; `check` reads through a [`Session`].
//!
//! The clock is the later of the last event time and the wall clock, ticking at least once a
//! second, so a lasting condition fires even when no line arrives (DESIGN.md §5).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Diagnostic;
use super::batch::ReadOptions;
use super::publish::Publisher;
use super::replay::Batch;
use crate::alert::sinks::Sinks;
use crate::alert::{Monitor, Notification};
use crate::event::Event;
use crate::exit::Exit;
use crate::export::text::pool_line;
use crate::recognize::input::{InputRecognizer, Output};
use crate::recognize::scan::{ScanConfig, Scanner};
use crate::recognize::{ReadStats, Skipped};
use crate::source::Input;
use crate::source::follow::{FollowChunk, FollowNote, FollowOptions, Follower, StdinFollower};
use crate::term::escape;
use crate::units::Millis;
use crate::units::time::wall_now;

/// The longest the live loop sleeps.
const TICK: Duration = Duration::from_millis(250);

/// Where lines come from while following.
pub enum LiveSource {
    Files(Box<Follower>),
    Stdin(StdinFollower),
}

impl LiveSource {
    /// Follow the named files (globs allowed), or stdin when no file is named.
    pub fn open(inputs: &[Input], opts: &FollowOptions) -> anyhow::Result<LiveSource> {
        let files: Vec<String> = inputs
            .iter()
            .filter_map(|i| match i {
                Input::File(p) => Some(p.display().to_string()),
                Input::Stdin => None,
            })
            .collect();
        if files.is_empty() {
            return Ok(LiveSource::Stdin(StdinFollower::new(opts.max_line)?));
        }
        Ok(LiveSource::Files(Box::new(Follower::new(
            &files,
            opts.clone(),
        )?)))
    }

    pub fn is_stdin(&self) -> bool {
        matches!(self, LiveSource::Stdin(_))
    }

    /// The inputs' names as given, by index (`<stdin>` when following stdin).
    pub fn names(&self, inputs: &[Input]) -> Vec<String> {
        if self.is_stdin() {
            vec!["<stdin>".to_owned()]
        } else {
            inputs
                .iter()
                .filter(|i| matches!(i, Input::File(_)))
                .map(Input::name)
                .collect()
        }
    }

    /// Record where reading goes on in each file followed now, per input (files no longer
    /// followed are dropped, so the map stays bounded).
    pub fn record_offsets(&self, stats: &mut ReadStats) {
        let LiveSource::Files(f) = self else {
            return;
        };
        for c in stats.inputs.values_mut() {
            c.offsets.clear();
        }
        for (input, path, offset) in f.positions() {
            let c = stats.inputs.entry(input).or_default();
            c.offsets.insert(path.display().to_string(), offset);
        }
    }

    /// New chunks and notes; `None` when the input has ended (stdin closed).
    pub fn wait(
        &mut self,
        timeout: Duration,
    ) -> anyhow::Result<Option<(Vec<FollowChunk>, Vec<FollowNote>)>> {
        match self {
            LiveSource::Files(f) => f.wait(timeout).map(Some),
            LiveSource::Stdin(s) => {
                let (chunks, eof) = s.wait(timeout);
                if eof && chunks.is_empty() {
                    match s.error() {
                        Some(e) => Err(anyhow::anyhow!("error reading <stdin>: {e}")),
                        None => Ok(None),
                    }
                } else {
                    Ok(Some((chunks, Vec::new())))
                }
            }
        }
    }
}

/// What a follower note says to an operator, and whether it is an error (shown without `-v`).
pub fn describe(n: &FollowNote) -> (bool, String) {
    match n {
        FollowNote::Rotated { path, .. } => (
            false,
            format!("{}: rotated; following the new file", path.display()),
        ),
        FollowNote::Truncated { path, .. } => (
            false,
            format!("{}: truncated; reading from its start", path.display()),
        ),
        FollowNote::Created { path, .. } => {
            (false, format!("{}: appeared; following it", path.display()))
        }
        FollowNote::Removed { path, .. } => (
            false,
            format!("{}: removed; waiting for it to come back", path.display()),
        ),
        FollowNote::Waiting {
            path, dir_missing, ..
        } => (
            false,
            if *dir_missing {
                format!(
                    "{}: does not exist, nor does its directory; waiting for it",
                    path.display()
                )
            } else {
                format!("{}: does not exist yet; waiting for it", path.display())
            },
        ),
        FollowNote::Duplicate { path, of, .. } => (
            false,
            format!(
                "{}: the same file as {}; read once",
                path.display(),
                of.display()
            ),
        ),
        FollowNote::Error { path, message, .. } => (true, format!("{}: {message}", path.display())),
        FollowNote::Recovered { path, .. } => (
            false,
            format!(
                "{}: read a rotated file that was not followed yet (rotated between two looks, or a copytruncate's copy)",
                path.display()
            ),
        ),
        FollowNote::Lost { path, after, .. } => (
            true,
            format!(
                "{}: rotated or truncated, and the rest of it after byte {after} is nowhere beside it: lines lost",
                path.display()
            ),
        ),
    }
}

/// The state of an incremental run, shared by `watch`, `events --follow`, `top` and `check`.
pub struct Session {
    pub monitor: Monitor,
    scanner: Scanner,
    cfg: ScanConfig,
    /// Recognizer state per input, and per file of a glob input (a rotated file and its
    /// successor share their path, so a cleanup sequence may span a rotation).
    pub states: HashMap<(u32, Option<PathBuf>), InputRecognizer>,
    /// Key states by file as well as by input (`watch`); `check` keys by input only, since it
    /// reads a rotated remainder under another name.
    pub per_file: bool,
    pub stats: ReadStats,
    /// Per input: the file being read now (for `source` and messages).
    names: Vec<String>,
    /// Per input: its name as given (a path or a glob), for `log_silent` and the input metrics.
    given: Vec<String>,
    /// What the reads found to tell (skipped lines), until taken.
    diagnostics: Vec<Diagnostic>,
}

impl Session {
    pub fn new(read: &ReadOptions, mut monitor: Monitor) -> Session {
        let cfg = read.scan();
        monitor.pool.keep_notes = read.verbose;
        Session {
            monitor,
            scanner: Scanner::new(cfg.clone()),
            cfg,
            states: HashMap::new(),
            per_file: true,
            stats: ReadStats::default(),
            names: Vec::new(),
            given: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    /// The live clock: the later of the last event time and the wall clock.
    pub fn clock(&self) -> Millis {
        self.monitor.clock(wall_now())
    }

    /// Watch these inputs (their names as given, by index) from now on: each is expected to
    /// get lines (`log_silent`), and is counted under its name.
    pub fn watch(&mut self, given: Vec<String>) {
        let now = wall_now();
        for (i, name) in given.iter().enumerate() {
            self.monitor.engine.input_watched(name, now);
            self.stats.inputs.entry(i as u32).or_default().name = name.clone();
        }
        self.given = given;
    }

    /// The diagnostics gathered since the last call.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diagnostics)
    }

    /// Decode, recognize and apply the chunks; `on_event` sees each event after the pool.
    pub fn ingest(
        &mut self,
        chunks: Vec<FollowChunk>,
        notes: &mut Vec<Notification>,
        on_event: &mut dyn FnMut(&Event, &[String]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut queue = VecDeque::new();
        let mut skipped: Vec<Skipped> = Vec::new();
        for chunk in chunks {
            let idx = chunk.input as usize;
            if self.names.len() <= idx {
                self.names.resize(idx + 1, String::new());
            }
            self.names[idx] = chunk.path.display().to_string();
            if let Some(given) = self.given.get(idx) {
                let now = wall_now();
                let engine = &mut self.monitor.engine;
                if engine.input_seen(given, now) {
                    // It was silent: tell at once that lines flow again.
                    engine.set_read_clock(Some(now));
                    let at = self.monitor.clock(now);
                    let m = &mut self.monitor;
                    notes.extend(m.engine.evaluate_event(
                        at,
                        &m.pool,
                        crate::alert::Rule::LogSilent.bit(),
                    ));
                }
            }
            let mut scanned = self.scanner.scan(&chunk.data, chunk.first_line);
            let key = (chunk.input, self.per_file.then(|| chunk.path.clone()));
            let state = self
                .states
                .entry(key)
                .or_insert_with(|| InputRecognizer::for_path(Some(&chunk.path)));
            let mut out = Output {
                input: chunk.input,
                events: &mut queue,
                skipped: &mut skipped,
                stats: &mut self.stats,
            };
            out.chunk(&mut scanned, &chunk.overlong);
            for hit in scanned.hits {
                state.push(chunk.input, hit, &self.cfg, &mut out);
            }
            for s in skipped.drain(..) {
                self.diagnostics.push(Diagnostic::Skipped {
                    input: self.names[idx].clone(),
                    skipped: s,
                });
            }
            for ev in queue.drain(..) {
                self.apply(ev, notes, on_event)?;
            }
        }
        Ok(())
    }

    /// Apply one event (of the input it names, read from the file `names` holds for it):
    /// through the monitor, then `on_event` sees it and what the pool derived from it.
    pub(super) fn apply(
        &mut self,
        mut ev: Event,
        notes: &mut Vec<Notification>,
        on_event: &mut dyn FnMut(&Event, &[String]) -> io::Result<()>,
    ) -> io::Result<()> {
        let idx = ev.origin.input as usize;
        if self.names.len() <= idx {
            self.names.resize(idx + 1, String::new());
        }
        self.monitor.event(&mut ev, notes);
        for text in self.monitor.pool.notes.drain(..) {
            self.diagnostics.push(Diagnostic::Anomaly {
                input: self.names[idx].clone(),
                text,
            });
        }
        on_event(&ev, &self.names)?;
        for d in self.monitor.pool.take_derived(&ev) {
            on_event(&d, &self.names)?;
        }
        Ok(())
    }

    /// The file input `idx` is read from now.
    pub(super) fn set_name(&mut self, idx: usize, name: String) {
        if self.names.len() <= idx {
            self.names.resize(idx + 1, String::new());
        }
        self.names[idx] = name;
    }

    pub(super) fn tell(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Evaluate at the live clock (`log_silent` at the wall clock).
    pub fn tick(&mut self, notes: &mut Vec<Notification>) {
        let now = wall_now();
        self.monitor.engine.set_read_clock(Some(now));
        self.monitor.tick(now, notes);
    }
}

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
    /// Keep the run's state in this file and resume from it (`watch --state`).
    pub state: Option<PathBuf>,
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

/// Follow `inputs` until stdin ends or a signal stops the run: ingest what arrives, tick the
/// clock, notify the sinks, publish the metrics. `on_event` sees every event; `tell` what there
/// is to tell. Ends 2 when a follower note was an error (a file could not be read).
pub fn follow(
    batch: &Batch,
    opts: &LiveOptions,
    mut session: Session,
    mut sinks: Sinks,
    mut publisher: Option<Publisher>,
    on_event: &mut dyn FnMut(&Event, &[String]) -> io::Result<()>,
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
        Some(p) => Some(super::state::StateFile::open(p)?),
        None => None,
    };
    let resumed = state.as_ref().is_some_and(|s| s.resuming());
    // With --state, events wait for the save that covers their lines before they are emitted.
    let mut pending: Vec<Event> = Vec::new();
    let mut live = match state.as_mut().filter(|s| s.resuming()) {
        // Where the last run stopped: its unread rest first; what it changes is new, and told.
        Some(st) => {
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
            // Saved before anything is told or emitted: a kill after this repeats nothing.
            st.save(&session, &live, true)?;
            for n in notes.drain(..) {
                sinks.send(&n)?;
            }
            for ev in pending.drain(..) {
                on_event(&ev, &session.names)?;
            }
            live
        }
        None => super::catchup::open(batch, &opts.follow, &mut session, &mut notes, on_event)?,
    };
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
        if state.is_some() {
            session.ingest(chunks, &mut notes, &mut |ev, _| {
                pending.push(ev.clone());
                Ok(())
            })?;
        } else {
            session.ingest(chunks, &mut notes, on_event)?;
        }
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
        let force = !notes.is_empty() || !pending.is_empty();
        let saved = match state.as_mut().map(|s| s.save(&session, &live, force)) {
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
        for ev in pending.drain(..) {
            on_event(&ev, &session.names)?;
        }
        if saved
            && let Some(Err(err)) = publisher
                .as_mut()
                .map(|p| p.publish(&session.monitor, &session.stats, session.clock(), false))
        {
            tell(Tell::PublishError(&err));
        }
    }
    if let Some(s) = &mut state {
        s.save(&session, &live, true)?;
    }
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
