//! `gwmon check`: a monitoring-plugin check for cron. Reads only what is new since the last run,
//! carries the pool and the alert states across runs in a state file, evaluates the alert rules
//! and prints `GWMON <STATE> - <text> | <perfdata>`, exiting 0 OK, 1 WARNING, 2 CRITICAL,
//! 3 UNKNOWN.
//!
//! Each file is remembered by its offset, its line number and its identity
//! ([`crate::source::resume`]). The state file is locked for the whole run and replaced
//! atomically, so two overlapping runs or a crash never corrupt it or count a line twice.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::alert::{Engine, Monitor};
use crate::atomic::write_atomic;
use crate::decode::line_time;
use crate::exit::Exit;
use crate::export::{plugin, prometheus};
use crate::pipeline::sanity;
use crate::pipeline::session::Session;
use crate::pool::Pool;
use crate::recognize::input::{gateway_of_file, stream_of_file};
use crate::recognize::{InputRecognizer, ReadStats};
use crate::settings::Check;
use crate::source::Input;
use crate::source::resume::{Mark, Segment, frame_segment, mtime_ms, plan};
use crate::units::Millis;
use crate::units::time::wall_now;

const STATE_VERSION: u32 = 1;
/// Firings kept in the state's alert history.
const HISTORY: usize = 200;

/// Where a file was read to, and its recognizer's state (a cleanup sequence may span two runs).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct FileMark {
    #[serde(flatten)]
    mark: Mark,
    input: InputRecognizer,
    /// The time written on the last line read (for `log_silent`).
    #[serde(default)]
    last_line: Option<Millis>,
    /// The rotated files beside it this run read (the rest of the file it had read, and those
    /// written since the run before): where each was read to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rotated: Vec<Mark>,
}

/// The time on the last line of `data` that carries one (looking back a few lines: the last
/// ones may be continuation lines).
fn last_line_time(data: &[u8]) -> Option<Millis> {
    data.split(|b| *b == b'\n')
        .rev()
        .filter(|l| !l.is_empty())
        .take(16)
        .find_map(|l| line_time(&String::from_utf8_lossy(l)))
}

#[derive(Serialize, Deserialize)]
struct State {
    version: u32,
    files: BTreeMap<String, FileMark>,
    pool: Pool,
    engine: Engine,
    stats: ReadStats,
}

/// Hold an exclusive lock on `STATE.lock` for the run; wait for another run at most `timeout`.
struct Lock(File);

impl Lock {
    fn take(state: &Path, timeout: Duration) -> anyhow::Result<Lock> {
        let mut name = state.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                match dir.filter(|d| !d.is_dir()) {
                    // The usual first-run mistake: say how to fix it.
                    Some(d) => format!(
                        "cannot open lock file {}: the directory of --state does not exist \
                         (create it: install -d {})",
                        path.display(),
                        d.display()
                    ),
                    None => format!("cannot open lock file {}", path.display()),
                }
            })?;
        let start = Instant::now();
        loop {
            // SAFETY: flock on a file descriptor we own; no memory is involved.
            let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if r == 0 {
                return Ok(Lock(f));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::WouldBlock {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
            if start.elapsed() > timeout {
                bail!(
                    "another gwmon check holds {} (waited {timeout:?})",
                    path.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Read one segment into the session; returns the offset and the next line number reached,
/// and the time on its last line.
fn read_segment(
    session: &mut Session,
    input: u32,
    seg: &Segment,
    max_line: usize,
) -> anyhow::Result<(u64, u64, Option<Millis>, File)> {
    let f = File::open(&seg.path).with_context(|| format!("cannot open {}", seg.path.display()))?;
    // The file read, for its mark: its path may name another by the end (rotated meanwhile).
    let read = f
        .try_clone()
        .with_context(|| format!("cannot open {}", seg.path.display()))?;
    let mut framer = frame_segment(f, seg, max_line)?;
    let mut notes = Vec::new();
    let mut last = None;
    session.ingest_framed(
        &mut framer,
        input,
        &seg.path,
        &seg.path,
        &mut notes,
        &mut |data| last = last_line_time(data).or(last),
        &mut |_, _| Ok(()),
    )?;
    Ok((seg.offset + framer.consumed, framer.next_line, last, read))
}

fn mtime(path: &Path) -> Option<Millis> {
    std::fs::metadata(path).ok().and_then(|m| mtime_ms(&m))
}

fn load_state(path: &Path) -> anyhow::Result<Option<State>> {
    match std::fs::read(path) {
        Ok(bytes) => parse_state(&bytes, &path.display().to_string()).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read state file {}", path.display())),
    }
}

/// A state file's contents (`name` for the messages).
fn parse_state(bytes: &[u8], name: &str) -> anyhow::Result<State> {
    let s: State = serde_json::from_slice(bytes)
        .with_context(|| format!("state file {name} is not a gwmon check state"))?;
    if s.version != STATE_VERSION {
        bail!(
            "state file {name} has version {}, expected {STATE_VERSION}",
            s.version
        );
    }
    Ok(s)
}

pub fn run(s: Check) -> anyhow::Result<Exit> {
    let c = &s.common;
    let _lock = Lock::take(&s.state, s.lock_timeout)?;
    let (monitor, stats, files) = match load_state(&s.state)? {
        Some(saved) => {
            let mut pool = saved.pool;
            // Pool settings come from this run's flags and configuration.
            pool.cfg = c.pool.clone();
            let mut engine = Engine::with_history(c.alerts.clone(), saved.engine);
            engine.max_tracked = c.pool.max_orgs;
            (Monitor { pool, engine }, saved.stats, saved.files)
        }
        None => (
            Monitor::new(c.pool.clone(), c.alerts.clone()),
            ReadStats::default(),
            BTreeMap::new(),
        ),
    };
    // Files written from now on may hold lines this run does not see: the next run reads the
    // rotated ones written since.
    let read_at = wall_now();
    let mut session = Session::new(&c.batch.read, monitor);
    session.per_file = false;
    session.stats = stats;
    session.monitor.engine.notify = false;
    let mut notes = Vec::new();
    let mut marks = BTreeMap::new();
    let paths = c.batch.inputs.iter().filter_map(|i| match i {
        Input::File(p) => Some(p.clone()),
        Input::Stdin => None,
    });
    for (i, path) in paths.enumerate() {
        let key = std::path::absolute(&path)
            .unwrap_or(path.clone())
            .display()
            .to_string();
        let saved = files.get(&key);
        let mut state = saved.map_or_else(InputRecognizer::default, |m| m.input.clone());
        state.stream = stream_of_file(Some(&path));
        state.file_gateway = gateway_of_file(Some(&path));
        session.states.insert((i as u32, None), state);
        let segs = plan(
            &path,
            saved.map(|m| &m.mark),
            saved.map_or(&[][..], |m| &m.rotated),
            &mut notes,
            &mut session.stats.lost,
        )?;
        let mut last = None;
        let mut last_line = saved.and_then(|m| m.last_line);
        let mut rotated = Vec::new();
        // Where the rest of the file last read ended (it was found under another name).
        let mut rest_end = None;
        for seg in &segs {
            let (offset, line, time, file) =
                read_segment(&mut session, i as u32, seg, c.batch.read.max_line)?;
            last_line = time.or(last_line);
            if seg.live {
                last = Some((offset, line, file));
            } else if let Ok(m) = Mark::of_content(&file, &seg.path, offset, line) {
                if seg.rest {
                    rest_end = Some((offset, line, m.tail));
                }
                rotated.push(m);
            }
        }
        // When the file was last written: the time on its last line, else its mtime.
        let written = last_line.or_else(|| mtime(&path));
        let name = Input::File(path.clone()).name();
        session.stats.inputs.entry(i as u32).or_default().name = name.clone();
        match written {
            Some(t) => {
                session.monitor.engine.input_seen(&name, t);
            }
            None => session.monitor.engine.input_watched(&name, wall_now()),
        }
        let input = session.states.remove(&(i as u32, None)).unwrap_or_default();
        let counts = session.stats.inputs.entry(i as u32).or_default();
        counts.offsets.clear();
        if let Some((offset, _, _)) = &last {
            counts.offsets.insert(path.display().to_string(), *offset);
        }
        match last {
            Some((offset, line, file)) => {
                let mut mark = Mark::of(&file, &path, offset, line)?;
                mark.read_at = Some(read_at);
                marks.insert(
                    key,
                    FileMark {
                        mark,
                        input,
                        last_line,
                        rotated,
                    },
                );
            }
            None => {
                if let Some(mut m) = saved.cloned() {
                    // The file is gone: keep its mark so its remainder can still be found
                    // (and the siblings written since the run that made it), moved to where
                    // that remainder was read to.
                    if let Some((offset, line, tail)) = rest_end {
                        m.mark.offset = offset;
                        m.mark.line = line;
                        m.mark.tail = tail;
                    }
                    m.rotated = rotated;
                    marks.insert(key, m);
                }
            }
        }
    }
    for d in session.take_diagnostics() {
        if c.batch.read.verbose || d.is_error() {
            eprintln!("gwmon: {d}");
        }
    }
    // Lasting conditions are judged at the later of the last event and now — unless a log has
    // gone silent: then the other time-based rules (long_allocation) are not judged against a
    // clock the log never reached, and log_silent heads the output.
    let wall = wall_now();
    let silent = {
        let e = &session.monitor.engine;
        let limit = e.config().log_silent.for_.ms();
        e.config().log_silent.enabled && e.inputs().values().any(|s| wall - s.at >= limit)
    };
    let now = if silent {
        session.monitor.pool.now.unwrap_or(wall)
    } else {
        session.clock()
    };
    let Session {
        monitor: Monitor { pool, mut engine },
        stats,
        ..
    } = session;
    engine.set_read_clock(Some(wall));
    engine.evaluate(now, &pool);
    engine.trim_history(HISTORY);
    let state = State {
        version: STATE_VERSION,
        files: marks,
        pool,
        engine,
        stats,
    };
    // The state is saved before anything is printed: a run that dies after this point has
    // counted its lines exactly once.
    let json = serde_json::to_vec(&state)?;
    write_atomic(&s.state, &json)?;
    if let Some(path) = &s.textfile {
        // The families of `watch --textfile`, at this run's clock.
        let opts = prometheus::Options {
            per_org: s.per_org,
            wall: Some(wall),
            ..Default::default()
        };
        let text = prometheus::render(
            &state.pool,
            Some(&state.engine),
            &state.stats,
            now,
            prometheus::Format::Text,
            &opts,
        );
        write_atomic(path, text.as_bytes())?;
    }
    // An input that never yielded a lifecycle line (the wrong file, the wrong --format) makes
    // the figures worthless: UNKNOWN, not OK.
    let problems = sanity::warnings(&c.batch.names(), &state.stats, c.batch.read.format);
    let (code, text) = plugin::render(&state.pool, &state.engine, &notes, &problems);
    print!("{text}");
    Ok(Exit::Plugin(code))
}

/// What `gwmon check` does with a state file's contents once it has read them (the fuzz target
/// `check_state`): load it, read a few lines on top with the recognizer state saved for its
/// first file, evaluate, render the plugin output, save it — and the saved state loads again.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_state(bytes: &[u8]) {
    use crate::alert::config::Alerts;
    use crate::pipeline::batch::ReadOptions;
    use crate::pool::PoolConfig;

    const LINES: &[u8] = b"2026-03-02T05:52:29.875Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org e25bcbf2\n\
2026-03-02T05:52:29.898Z [INFO     ] [GATEWAY_ALLOC       ] Allocated gw-pool-1 (port 7101, upstream 172.17.0.1:7101) to org e25bcbf2\n\
2026-03-02T05:52:30.716Z [INFO     ] [GATEWAY_ALLOC       ] \xe2\x9c\x85 Gateway started successfully for org e25bcbf2\n\
2026-03-02T06:00:00.004Z [INFO     ] [GATEWAY_STATS       ] stats:  {\"total_gateways\":\"8\",\"used_gateways\":\"1\",\"ready_gateways\":\"7\",\"unused_not_ready_gateways\":\"0\"}\n\
2026-03-02T06:46:50.770Z [INFO     ] [GATEWAY_DEALLOC     ] Stopping gateway 3d6c63e4 for org e25bcbf2\n";

    let Ok(saved) = parse_state(bytes, "fuzz") else {
        return;
    };
    let mut pool = saved.pool;
    pool.cfg = PoolConfig::default();
    let engine = Engine::with_history(Alerts::default(), saved.engine);
    let mut session = Session::new(&ReadOptions::default(), Monitor { pool, engine });
    session.per_file = false;
    session.stats = saved.stats;
    session.monitor.engine.notify = false;
    let first = saved.files.values().next();
    let state = first.map_or_else(InputRecognizer::default, |m| m.input.clone());
    session.states.insert((0, None), state);
    let chunk = crate::source::follow::FollowChunk {
        input: 0,
        path: PathBuf::from("fuzz.log"),
        first_line: 1,
        data: LINES.to_vec(),
        overlong: Vec::new(),
    };
    let mut notes = Vec::new();
    let _ = session.ingest(vec![chunk], &mut notes, &mut |_, _| Ok(()));
    let last_line = last_line_time(LINES).or(first.and_then(|m| m.last_line));
    if let Some(t) = last_line {
        session.monitor.engine.input_seen("fuzz.log", t);
    }
    let now = session.monitor.pool.now.unwrap_or(0);
    let Session {
        monitor: Monitor { pool, mut engine },
        stats,
        ..
    } = session;
    engine.set_read_clock(Some(now));
    engine.evaluate(now, &pool);
    engine.trim_history(HISTORY);
    let state = State {
        version: STATE_VERSION,
        files: saved.files,
        pool,
        engine,
        stats,
    };
    let problems = sanity::warnings(
        &["fuzz.log".to_owned()],
        &state.stats,
        crate::decode::Format::Auto,
    );
    let _ = plugin::render(&state.pool, &state.engine, &[], &problems);
    let _ = crate::report::build(&state.pool, &state.stats);
    let json = serde_json::to_vec(&state).expect("a state serializes");
    if let Err(e) = parse_state(&json, "saved") {
        panic!("a saved state does not load again: {e:#}");
    }
}
