//! What the live pipeline reads from ([`LiveSource`]: followed files or stdin) and the state of an
//! incremental run ([`Session`]: the pool, the alert engine and the read counts), shared by
//! `watch`, `events --follow`, `top` and `check`.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::Diagnostic;
use super::batch::ReadOptions;
use crate::alert::{Monitor, Notification};
use crate::event::Event;
use crate::recognize::input::{InputRecognizer, Output};
use crate::recognize::scan::{ScanConfig, Scanner};
use crate::recognize::{ReadStats, Skipped};
use crate::source::Input;
use crate::source::follow::{FollowChunk, FollowNote, FollowOptions, Follower, StdinFollower};
use crate::units::Millis;
use crate::units::time::wall_now;

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
    pub names: Vec<String>,
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

    /// Read `framer` to its end into the session as the lines of `path`, input `input`
    /// (`check` and a resumed `--state` read a saved segment so); `chunk` sees each chunk's
    /// data, `on_event` each event. `name` names the file in a read error.
    #[allow(clippy::too_many_arguments)]
    pub fn ingest_framed(
        &mut self,
        framer: &mut crate::source::Framer,
        input: u32,
        path: &std::path::Path,
        name: &std::path::Path,
        notes: &mut Vec<Notification>,
        chunk: &mut dyn FnMut(&[u8]),
        on_event: &mut dyn FnMut(&Event, &[String]) -> io::Result<()>,
    ) -> anyhow::Result<()> {
        use anyhow::Context;
        let mut buf = Vec::new();
        loop {
            let c = match framer.next_chunk(std::mem::take(&mut buf)) {
                Ok(Some(c)) => c,
                Ok(None) => return Ok(()),
                Err(e) => {
                    return Err(e).with_context(|| format!("error reading {}", name.display()));
                }
            };
            let fc = FollowChunk {
                input,
                path: path.to_owned(),
                first_line: c.first_line,
                data: c.data().to_vec(),
                overlong: c.overlong.clone(),
            };
            buf = c.buf;
            chunk(&fc.data);
            self.ingest(vec![fc], notes, on_event)?;
        }
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
