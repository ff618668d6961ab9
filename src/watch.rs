//! `gwmon watch` and `gwmon events --follow`: follow live logs (tail -F) or stdin, feed the pool
//! and the alert engine, and notify the sinks as transitions happen.
//!
//! The clock is the later of the last event time and the wall clock, ticking at least once a
//! second, so a lasting condition fires even when no line arrives (DESIGN.md §5).

use std::collections::{HashMap, VecDeque};
use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::alert::sinks::Sinks;
use crate::alert::{Engine, Notification, Replay, Status, alertmanager, exec};
use crate::app::{load_config, parse_duration_ms, pool_config};
use crate::cli::{EventsArgs, ExportArgs, FollowArgs, InputArgs, SinkArgs, WatchArgs};
use crate::config::Config;
use crate::event::{Event, Millis, fmt_time};
use crate::pipeline::{Diag, InputState, ReadOptions, ReadStats};
use crate::pool::Pool;
use crate::scan::{ScanConfig, Scanner, Skip};
use crate::source::follow::{FollowChunk, FollowNote, FollowOptions, Follower, StdinFollower};
use crate::term::escape;

/// The longest the live loop sleeps.
const TICK: Duration = Duration::from_millis(250);

/// Signals the loop reacts to.
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

/// Where lines come from while following.
pub(crate) enum Live {
    Files(Box<Follower>),
    Stdin(StdinFollower),
}

impl Live {
    pub fn open(input: &InputArgs, follow: &FollowArgs) -> anyhow::Result<(Live, Vec<String>)> {
        let stdin = input.files.is_empty() || input.files.iter().all(|f| f == "-");
        if stdin {
            return Ok((
                Live::Stdin(StdinFollower::new(input.max_line_length)),
                vec!["<stdin>".into()],
            ));
        }
        let poll = follow
            .poll
            .poll
            .as_deref()
            .map(|p| {
                parse_duration_ms(p)
                    .filter(|ms| *ms > 0)
                    .map(|ms| Duration::from_millis(ms as u64))
                    .with_context(|| format!("--poll {p}: not a duration (examples: 1s, 250ms)"))
            })
            .transpose()?;
        let f = Follower::new(
            &input.files,
            FollowOptions {
                poll,
                from_start: follow.from_start,
                max_line: input.max_line_length,
            },
        )?;
        Ok((Live::Files(Box::new(f)), input.files.clone()))
    }

    /// New chunks and notes; `None` when the input has ended (stdin closed).
    pub fn wait(
        &mut self,
        timeout: Duration,
    ) -> anyhow::Result<Option<(Vec<FollowChunk>, Vec<FollowNote>)>> {
        match self {
            Live::Files(f) => f.wait(timeout).map(Some),
            Live::Stdin(s) => {
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

fn wall_now() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

fn build_sinks(a: &SinkArgs, alerts_interval: Duration) -> anyhow::Result<Sinks> {
    let color = crate::term::use_color(a.color, io::stdout().is_terminal());
    let mut sinks = Sinks::default();
    let json_to_stdout = a
        .alerts_json
        .as_deref()
        .is_some_and(|p| p.as_os_str() == "-");
    if !a.quiet && !json_to_stdout {
        sinks.human = Some((Box::new(io::stdout()), color));
    }
    if let Some(p) = &a.alerts_json {
        sinks.json = Some(if json_to_stdout {
            Box::new(io::stdout())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .with_context(|| format!("--alerts-json {}", p.display()))?,
            )
        });
    }
    if let Some(cmd) = &a.exec {
        let timeout = parse_duration_ms(&a.exec_timeout)
            .filter(|t| *t > 0)
            .with_context(|| format!("--exec-timeout {}: not a duration", a.exec_timeout))?;
        sinks.exec = Some(exec::Runner::new(
            cmd,
            a.exec_max,
            Duration::from_millis(timeout as u64),
        )?);
    }
    if let Some(url) = &a.alertmanager {
        sinks.alertmanager = Some(alertmanager::Client::new(url, alerts_interval)?);
    }
    Ok(sinks)
}

/// The one-line pool status (SIGUSR1, --summary-every, and at the end).
pub fn pool_line(now: Millis, pool: &Pool, engine: &Engine, stats: &ReadStats) -> String {
    let c = &pool.c;
    let total = pool.total().map_or("?".to_owned(), |t| t.to_string());
    let avail = pool.available().map_or("?".to_owned(), |a| a.to_string());
    let util = pool.utilization().map_or(String::new(), |u| {
        format!(" · utilization {:.1}%", u * 100.0)
    });
    let rate = if c.attempts > 0 {
        format!(" ({:.1}%)", c.failed as f64 / c.attempts as f64 * 100.0)
    } else {
        String::new()
    };
    let firing: Vec<String> = engine.firing().iter().map(|a| a.rule.clone()).collect();
    let firing = if firing.is_empty() {
        "no alert firing".to_owned()
    } else {
        format!("firing: {}", firing.join(", "))
    };
    format!(
        "{} pool {}/{total} allocated · {avail} available · {} orphaned{util} · {} allocated, {} failed{rate} · {} lines, {} skipped · {firing}",
        fmt_time(now),
        pool.allocated(),
        pool.orphaned_open,
        c.allocated,
        c.failed,
        stats.lines,
        stats.skipped
    )
}

/// The state of an incremental run, shared by `watch`, `events --follow` and `check`.
pub(crate) struct Session {
    pub pool: Pool,
    pub engine: Engine,
    scanner: Scanner,
    /// Recognizer state per input, and per file of a glob input (a rotated file and its
    /// successor share their path, so a cleanup sequence may span a rotation).
    pub states: HashMap<(u32, Option<std::path::PathBuf>), InputState>,
    /// Key states by file as well as by input (`watch`); `check` keys by input only, since it
    /// reads a rotated remainder under another name.
    pub per_file: bool,
    pub stats: ReadStats,
    opts: ReadOptions,
    /// Per input: the file being read now (for `source` and messages).
    names: Vec<String>,
}

impl Session {
    pub fn new(input: &InputArgs, pool: Pool, engine: Engine, names: Vec<String>) -> Session {
        let opts = ReadOptions {
            format: input.format,
            max_line: input.max_line_length,
            verbose: input.verbose,
            threads: 1,
        };
        Session {
            pool,
            engine,
            scanner: Scanner::new(ScanConfig {
                format: opts.format,
                max_line: opts.max_line,
                verbose: opts.verbose,
            }),
            states: HashMap::new(),
            per_file: true,
            stats: ReadStats::default(),
            opts,
            names,
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
        for chunk in chunks {
            let idx = chunk.input as usize;
            if self.names.len() <= idx {
                self.names.resize(idx + 1, String::new());
            }
            self.names[idx] = chunk.path.display().to_string();
            let diag = Diag {
                name: &self.names[idx],
                verbose: self.opts.verbose,
            };
            let scanned = self.scanner.scan(&chunk.data, chunk.first_line);
            self.stats.lines += scanned.lines + chunk.overlong.len() as u64;
            for line in &chunk.overlong {
                self.stats.skipped += 1;
                diag.skipped(&Skip {
                    line: *line,
                    reason: "line longer than --max-line-length",
                    excerpt: String::new(),
                });
            }
            for sk in &scanned.skipped {
                self.stats.skipped += 1;
                diag.skipped(sk);
            }
            let key = (chunk.input, self.per_file.then(|| chunk.path.clone()));
            let state = self.states.entry(key).or_default();
            for item in scanned.items {
                state.feed(
                    chunk.input,
                    item,
                    &self.opts,
                    &mut self.stats,
                    &diag,
                    &mut queue,
                );
            }
            for mut ev in queue.drain(..) {
                Replay {
                    pool: &mut self.pool,
                    engine: &mut self.engine,
                }
                .event(&mut ev, notes);
                on_event(&ev, &self.names)?;
            }
        }
        Ok(())
    }

    /// Evaluate at the clock: the later of the last event time and the wall clock.
    pub fn tick(&mut self, notes: &mut Vec<Notification>) {
        let now = self.pool.now.unwrap_or(0).max(wall_now());
        if self.engine.due(now) {
            notes.extend(self.engine.evaluate(now, &self.pool));
        }
    }
}

fn note_line(n: &FollowNote) -> (bool, String) {
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
        FollowNote::Error { path, message, .. } => (true, format!("{}: {message}", path.display())),
    }
}

/// Publishes the metrics: the /metrics endpoint and the node_exporter textfile.
struct Exporter {
    shared: Option<crate::serve::Shared>,
    textfile: Option<std::path::PathBuf>,
    textfile_every: Duration,
    last_textfile: Option<Instant>,
    last_publish: Option<Instant>,
    dirty: bool,
    per_org: bool,
}

impl Exporter {
    fn new(a: &ExportArgs) -> anyhow::Result<Option<Exporter>> {
        if a.listen.is_none() && a.textfile.is_none() {
            return Ok(None);
        }
        let shared = match &a.listen {
            Some(addr) => {
                let shared: crate::serve::Shared = Default::default();
                let bound = crate::serve::serve(addr, std::sync::Arc::clone(&shared))?;
                eprintln!("gwmon: serving http://{bound}/metrics");
                Some(shared)
            }
            None => None,
        };
        Ok(Some(Exporter {
            shared,
            textfile: a.textfile.clone(),
            textfile_every: duration_arg("--textfile-interval", &a.textfile_interval)?,
            last_textfile: None,
            last_publish: None,
            dirty: true,
            per_org: a.org_metrics,
        }))
    }

    /// Render and publish when something changed (at most every 250 ms, and at least every
    /// second for the age gauges); rewrite the textfile at its interval. `force` at the end.
    fn publish(&mut self, s: &Session, force: bool) -> anyhow::Result<()> {
        use crate::export::prometheus::{Format, Options, render};
        let now = s.pool.now.unwrap_or(0).max(wall_now());
        let since = self.last_publish.map(|t| t.elapsed());
        let due = force
            || since.is_none_or(|d| d >= Duration::from_secs(1))
            || (self.dirty && since.is_some_and(|d| d >= Duration::from_millis(250)));
        if !due {
            return Ok(());
        }
        let opts = Options {
            per_org: self.per_org,
        };
        let text = render(&s.pool, Some(&s.engine), &s.stats, now, Format::Text, &opts);
        if let Some(shared) = &self.shared {
            let om = render(
                &s.pool,
                Some(&s.engine),
                &s.stats,
                now,
                Format::OpenMetrics,
                &opts,
            );
            let p = std::sync::Arc::new(crate::serve::Published {
                text: text.clone(),
                openmetrics: om,
            });
            if let Ok(mut g) = shared.write() {
                *g = p;
            }
        }
        if let Some(path) = &self.textfile {
            let tdue = force
                || self
                    .last_textfile
                    .is_none_or(|t| t.elapsed() >= self.textfile_every);
            if tdue {
                crate::serve::write_atomic(path, text.as_bytes())?;
                self.last_textfile = Some(Instant::now());
            }
        }
        self.last_publish = Some(Instant::now());
        self.dirty = false;
        Ok(())
    }
}

/// The shared loop. Returns the exit code.
fn run_live(
    input: &InputArgs,
    follow: &FollowArgs,
    mut session: Session,
    mut sinks: Sinks,
    summary_every: Option<Duration>,
    mut exporter: Option<Exporter>,
    on_event: &mut dyn FnMut(&Event, &[String]) -> io::Result<()>,
) -> anyhow::Result<u8> {
    let signals = Signals::install()?;
    let (mut live, _) = Live::open(input, follow)?;
    let files = matches!(live, Live::Files(_));
    // While the existing content is read (--from-start), alerts are rebuilt, not notified.
    let mut catching_up = files && follow.from_start;
    session.engine.notify = !catching_up;
    let mut next_summary = summary_every.map(|d| Instant::now() + d);
    let mut notes = Vec::new();
    let mut errored = false;
    loop {
        if signals.stop.load(Ordering::Relaxed) {
            break;
        }
        if signals.summary.swap(false, Ordering::Relaxed)
            || next_summary.is_some_and(|t| Instant::now() >= t)
        {
            let now = session.pool.now.unwrap_or(0).max(wall_now());
            eprintln!(
                "{}",
                pool_line(now, &session.pool, &session.engine, &session.stats)
            );
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
        session.ingest(chunks, &mut notes, on_event)?;
        if let Some(e) = &mut exporter {
            e.dirty |= !idle;
        }
        for n in &fnotes {
            let (error, line) = note_line(n);
            if error {
                errored = true;
            }
            if error || input.verbose {
                eprintln!("gwmon: {}", escape(&line));
            }
        }
        if catching_up && (idle || session.pool.now.is_some_and(|t| t >= wall_now() - 10_000)) {
            catching_up = false;
            session.engine.notify = true;
            let now = session.pool.now.unwrap_or(0).max(wall_now());
            for alert in session.engine.firing() {
                notes.push(Notification {
                    status: Status::Firing,
                    repeat: false,
                    at: now,
                    alert,
                });
            }
        }
        if !catching_up {
            session.tick(&mut notes);
        }
        for n in notes.drain(..) {
            sinks.send(&n)?;
        }
        if let Some(Err(err)) = exporter.as_mut().map(|e| e.publish(&session, false)) {
            eprintln!("gwmon: {err:#}");
        }
    }
    if let Some(e) = &mut exporter {
        e.publish(&session, true)?;
    }
    let now = session.pool.now.unwrap_or(0).max(wall_now());
    eprintln!(
        "{}",
        pool_line(now, &session.pool, &session.engine, &session.stats)
    );
    sinks.finish();
    if signals.interrupted.load(Ordering::Relaxed) {
        return Ok(130);
    }
    Ok(if errored {
        crate::app::EXIT_ERROR
    } else {
        crate::app::EXIT_OK
    })
}

fn duration_arg(flag: &str, v: &str) -> anyhow::Result<Duration> {
    parse_duration_ms(v)
        .filter(|ms| *ms > 0)
        .map(|ms| Duration::from_millis(ms as u64))
        .with_context(|| format!("{flag} {v}: not a duration (examples: 30s, 5m)"))
}

pub fn watch(a: WatchArgs) -> anyhow::Result<u8> {
    let cfg = load_config(&a.config)?;
    let pool = Pool::new(pool_config(&a.pool, &cfg));
    let engine = Engine::new(cfg.alerts.clone());
    let interval = duration_arg("--alertmanager-interval", &a.sinks.alertmanager_interval)?;
    let sinks = build_sinks(&a.sinks, interval)?;
    let summary = a
        .summary_every
        .as_deref()
        .map(|v| duration_arg("--summary-every", v))
        .transpose()?;
    let session = Session::new(&a.input, pool, engine, Vec::new());
    let exporter = Exporter::new(&a.export)?;
    run_live(
        &a.input,
        &a.follow,
        session,
        sinks,
        summary,
        exporter,
        &mut |_, _| Ok(()),
    )
}

pub fn events_follow(a: EventsArgs) -> anyhow::Result<u8> {
    let cfg = Config::default();
    let pool = Pool::new(pool_config(&a.pool, &cfg));
    let mut engine = Engine::new(cfg.alerts);
    engine.notify = false;
    let session = Session::new(&a.input, pool, engine, Vec::new());
    let verbose = a.input.verbose;
    let mut out = io::stdout();
    run_live(
        &a.input,
        &a.follow,
        session,
        Sinks::default(),
        None,
        None,
        &mut |ev, names| {
            crate::export::events::write_event(&mut out, ev, names, verbose)?;
            out.flush()
        },
    )
}
