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
use crate::exit::Exit;
use crate::export::plugin;
use crate::pipeline::live::Session;
use crate::pool::Pool;
use crate::recognize::{InputRecognizer, ReadStats};
use crate::settings::Check;
use crate::source::Input;
use crate::source::follow::FollowChunk;
use crate::source::resume::{Mark, Segment, open_segment, plan};

const STATE_VERSION: u32 = 1;
/// Firings kept in the state's alert history.
const HISTORY: usize = 200;

/// Where a file was read to, and its recognizer's state (a cleanup sequence may span two runs).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct FileMark {
    #[serde(flatten)]
    mark: Mark,
    input: InputRecognizer,
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
            .with_context(|| format!("cannot open lock file {}", path.display()))?;
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

/// Read one segment into the session; returns the offset and the next line number reached.
fn read_segment(
    session: &mut Session,
    input: u32,
    seg: &Segment,
    max_line: usize,
) -> anyhow::Result<(u64, u64)> {
    let mut framer = open_segment(seg, max_line)?;
    let mut buf = Vec::new();
    let mut notes = Vec::new();
    loop {
        let chunk = match framer.next_chunk(std::mem::take(&mut buf)) {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                return Err(e).with_context(|| format!("error reading {}", seg.path.display()));
            }
        };
        let fc = FollowChunk {
            input,
            path: seg.path.clone(),
            first_line: chunk.first_line,
            data: chunk.data().to_vec(),
            overlong: chunk.overlong.clone(),
        };
        buf = chunk.buf;
        session.ingest(vec![fc], &mut notes, &mut |_, _| Ok(()))?;
    }
    Ok((seg.offset + framer.consumed, framer.next_line))
}

fn load_state(path: &Path) -> anyhow::Result<Option<State>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let s: State = serde_json::from_slice(&bytes).with_context(|| {
                format!("state file {} is not a gwmon check state", path.display())
            })?;
            if s.version != STATE_VERSION {
                bail!(
                    "state file {} has version {}, expected {STATE_VERSION}",
                    path.display(),
                    s.version
                );
            }
            Ok(Some(s))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read state file {}", path.display())),
    }
}

pub fn run(s: Check) -> anyhow::Result<Exit> {
    let c = &s.common;
    let _lock = Lock::take(&s.state, s.lock_timeout)?;
    let (monitor, stats, files) = match load_state(&s.state)? {
        Some(saved) => {
            let mut pool = saved.pool;
            // Pool settings come from this run's flags and configuration.
            pool.cfg = c.pool.clone();
            let engine = Engine::with_history(c.alerts.clone(), saved.engine);
            (Monitor { pool, engine }, saved.stats, saved.files)
        }
        None => (
            Monitor::new(c.pool.clone(), c.alerts.clone()),
            ReadStats::default(),
            BTreeMap::new(),
        ),
    };
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
        if let Some(m) = saved {
            session.states.insert((i as u32, None), m.input.clone());
        }
        let segs = plan(&path, saved.map(|m| &m.mark), &mut notes)?;
        let mut last = None;
        for seg in &segs {
            let (offset, line) = read_segment(&mut session, i as u32, seg, c.batch.read.max_line)?;
            if seg.live {
                last = Some((offset, line));
            }
        }
        let input = session.states.remove(&(i as u32, None)).unwrap_or_default();
        match last {
            Some((offset, line)) => {
                marks.insert(
                    key,
                    FileMark {
                        mark: Mark::of(&path, offset, line)?,
                        input,
                    },
                );
            }
            None => {
                if let Some(m) = saved.cloned() {
                    // The file is gone: keep its mark so its remainder can still be found.
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
    // Lasting conditions are judged at the later of the last event and now.
    let now = session.clock();
    let Session {
        monitor: Monitor { pool, mut engine },
        stats,
        ..
    } = session;
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
    let (code, text) = plugin::render(&state.pool, &state.engine, &notes);
    print!("{text}");
    Ok(Exit::Plugin(code))
}
