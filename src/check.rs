//! `gwmon check`: a monitoring-plugin check for cron. Reads only what is new since the last run,
//! carries the pool and the alert states across runs in a state file, evaluates the alert rules
//! and prints `GWMON <STATE> - <text> | <perfdata>`, exiting 0 OK, 1 WARNING, 2 CRITICAL,
//! 3 UNKNOWN.
//!
//! Each file is remembered by its offset, its line number and its identity: device and inode plus
//! a fingerprint of its first bytes. A file replaced between runs (rotation) has its remainder read
//! first from the rotated sibling, found by inode or, once compressed, by fingerprint; a file that
//! shrank or whose first bytes changed (copytruncate) is read from its start. The state file is
//! locked for the whole run and replaced atomically, so two overlapping runs or a crash never
//! corrupt it or count a line twice.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::alert::Engine;
use crate::app::{load_config, pool_config};
use crate::cli::CheckArgs;
use crate::config::Config;
use crate::event::Millis;
use crate::pipeline::{InputState, ReadStats};
use crate::pool::Pool;
use crate::source::follow::FollowChunk;
use crate::source::{Framer, sniff};
use crate::watch::Session;

pub const OK: u8 = 0;
pub const WARNING: u8 = 1;
pub const CRITICAL: u8 = 2;
pub const UNKNOWN: u8 = 3;

/// Bytes of a file's head that identify it.
const HEAD: usize = 1024;
const STATE_VERSION: u32 = 1;
/// Firings kept in the state's alert history.
const HISTORY: usize = 200;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileMark {
    pub dev: u64,
    pub ino: u64,
    /// Bytes of the (decompressed) content already read.
    pub offset: u64,
    /// Line number of the next line.
    pub line: u64,
    /// Fingerprint of the first `head_len` bytes (raw, as stored on disk).
    pub head: u64,
    pub head_len: usize,
    /// The recognizer's state of this file (a cleanup sequence may span two runs).
    pub input: InputState,
}

#[derive(Serialize, Deserialize)]
struct State {
    version: u32,
    files: BTreeMap<String, FileMark>,
    pool: Pool,
    engine: Engine,
    stats: ReadStats,
}

/// FNV-1a, 64 bits: a stable fingerprint (std's hasher is not stable across releases).
fn fnv(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn read_head(p: &Path, len: usize) -> io::Result<Vec<u8>> {
    let mut f = File::open(p)?;
    let mut buf = vec![0; len];
    let mut n = 0;
    while n < len {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    buf.truncate(n);
    Ok(buf)
}

/// The decompressed head of a (possibly gzip) file.
fn content_head(p: &Path, len: usize) -> io::Result<Vec<u8>> {
    let mut r = sniff(Box::new(File::open(p)?))?;
    let mut buf = vec![0; len];
    let mut n = 0;
    while n < len {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => break,
        }
    }
    buf.truncate(n);
    Ok(buf)
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

/// One stretch of content to read: a file from an offset.
struct Segment {
    path: PathBuf,
    offset: u64,
    line: u64,
    /// The file may still be written: keep an unterminated last line for the next run.
    live: bool,
}

/// Decide what to read of `path` given what the last run saw. Returns the segments, in order,
/// and notes for the output.
fn plan(
    path: &Path,
    mark: Option<&FileMark>,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<Segment>> {
    let meta = std::fs::metadata(path);
    let fresh = |p: &Path| Segment {
        path: p.to_owned(),
        offset: 0,
        line: 1,
        live: true,
    };
    let Some(mark) = mark else {
        meta.with_context(|| format!("cannot open {}", path.display()))?;
        return Ok(vec![fresh(path)]);
    };
    let mut segs = Vec::new();
    if let Ok(m) = &meta {
        let same_inode = m.dev() == mark.dev && m.ino() == mark.ino;
        let head = read_head(path, mark.head_len)?;
        if same_inode
            && head.len() == mark.head_len
            && fnv(&head) == mark.head
            && m.len() >= mark.offset
        {
            segs.push(Segment {
                path: path.to_owned(),
                offset: mark.offset,
                line: mark.line,
                live: true,
            });
            return Ok(segs);
        }
    }
    // Replaced (rotated, or truncated after a copy), or gone: the rest of the file we were
    // reading is in a sibling with the same first bytes (a renamed, copied or compressed file).
    match find_rotated(path, mark).filter(|_| mark.offset > 0) {
        Some(old) => segs.push(Segment {
            path: old,
            offset: mark.offset,
            line: mark.line,
            live: false,
        }),
        None if mark.offset == 0 => {}
        None => notes.push(format!(
            "{} was rotated or truncated and the rest of it (after byte {}) was not found next to it",
            path.display(),
            mark.offset
        )),
    }
    match meta {
        Ok(_) => segs.push(fresh(path)),
        Err(_) => notes.push(format!("{} does not exist (yet)", path.display())),
    }
    Ok(segs)
}

/// A sibling of `path` that is the file last read: same inode, or (compressed) same head.
fn find_rotated(path: &Path, mark: &FileMark) -> Option<PathBuf> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = path.file_name()?.to_string_lossy().into_owned();
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p != path && p.is_file())
        .filter(|p| {
            // Same inode (renamed), or a name derived from the log's (copied, compressed).
            std::fs::metadata(p).is_ok_and(|m| m.dev() == mark.dev && m.ino() == mark.ino)
                || p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&base))
        })
        .collect();
    candidates.sort();
    // Prefer the same inode; the content's first bytes must match either way (inodes are
    // reused once a rotated file is compressed and removed).
    candidates.sort_by_key(|p| {
        !std::fs::metadata(p).is_ok_and(|m| m.dev() == mark.dev && m.ino() == mark.ino)
    });
    candidates.into_iter().find(|p| {
        content_head(p, mark.head_len)
            .is_ok_and(|h| h.len() == mark.head_len && fnv(&h) == mark.head)
    })
}

fn read_segment(
    session: &mut Session,
    input: u32,
    seg: &Segment,
    max_line: usize,
) -> anyhow::Result<(u64, u64)> {
    let f = File::open(&seg.path).with_context(|| format!("cannot open {}", seg.path.display()))?;
    let mut r =
        sniff(Box::new(f)).with_context(|| format!("cannot read {}", seg.path.display()))?;
    // Skip what was read before (decompressed bytes for gzip files).
    let skipped = io::copy(&mut r.by_ref().take(seg.offset), &mut io::sink())
        .with_context(|| format!("cannot read {}", seg.path.display()))?;
    if skipped < seg.offset {
        bail!("{} is shorter than the saved offset", seg.path.display());
    }
    let mut framer = Framer::new(r, 1 << 20, max_line);
    framer.hold_partial = seg.live;
    framer.next_line = seg.line;
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

fn mark_of(path: &Path, offset: u64, line: u64, input: InputState) -> anyhow::Result<FileMark> {
    let m = std::fs::metadata(path).with_context(|| format!("cannot stat {}", path.display()))?;
    let head_len = (m.len() as usize).min(HEAD);
    let head = read_head(path, head_len)?;
    Ok(FileMark {
        dev: m.dev(),
        ino: m.ino(),
        offset,
        line,
        head: fnv(&head),
        head_len: head.len(),
        input,
    })
}

pub fn check(a: CheckArgs) -> u8 {
    match run(&a) {
        Ok(code) => code,
        Err(e) if crate::app::is_broken_pipe(&e) => OK,
        Err(e) => {
            println!("GWMON UNKNOWN - {}", crate::term::escape(&format!("{e:#}")));
            UNKNOWN
        }
    }
}

fn wall_now() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

fn run(a: &CheckArgs) -> anyhow::Result<u8> {
    if a.input.files.is_empty() || a.input.files.iter().any(|f| f == "-") {
        bail!("gwmon check reads files (it remembers where it stopped); name them");
    }
    let cfg: Config = load_config(&a.config)?;
    let _lock = Lock::take(&a.state, Duration::from_secs(a.lock_timeout))?;
    let saved: Option<State> = match std::fs::read(&a.state) {
        Ok(bytes) => {
            let s: State = serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "state file {} is not a gwmon check state",
                    a.state.display()
                )
            })?;
            if s.version != STATE_VERSION {
                bail!(
                    "state file {} has version {}, expected {STATE_VERSION}",
                    a.state.display(),
                    s.version
                );
            }
            Some(s)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read state file {}", a.state.display()));
        }
    };
    let (pool, engine, stats, files) = match saved {
        Some(s) => {
            let mut pool = s.pool;
            // Pool settings come from this run's flags and configuration.
            pool.cfg = pool_config(&a.pool, &cfg);
            (
                pool,
                Engine::with_history(cfg.alerts.clone(), s.engine),
                s.stats,
                s.files,
            )
        }
        None => (
            Pool::new(pool_config(&a.pool, &cfg)),
            Engine::new(cfg.alerts.clone()),
            ReadStats::default(),
            BTreeMap::new(),
        ),
    };
    let mut session = Session::new(&a.input, pool, engine, Vec::new());
    session.per_file = false;
    session.stats = stats;
    session.engine.notify = false;
    let mut notes = Vec::new();
    let mut marks = BTreeMap::new();
    for (i, name) in a.input.files.iter().enumerate() {
        let path = PathBuf::from(name);
        let key = std::path::absolute(&path)
            .unwrap_or(path.clone())
            .display()
            .to_string();
        let mark = files.get(&key);
        if let Some(m) = mark {
            session.states.insert((i as u32, None), m.input.clone());
        }
        let segs = plan(&path, mark, &mut notes)?;
        let mut last = None;
        for seg in &segs {
            let (offset, line) =
                read_segment(&mut session, i as u32, seg, a.input.max_line_length)?;
            if seg.live {
                last = Some((offset, line));
            }
        }
        let input = session.states.remove(&(i as u32, None)).unwrap_or_default();
        match last {
            Some((offset, line)) => {
                marks.insert(key, mark_of(&path, offset, line, input)?);
            }
            None => {
                if let Some(m) = mark.cloned() {
                    // The file is gone: keep its mark so its remainder can still be found.
                    marks.insert(key, m);
                }
            }
        }
    }
    // Lasting conditions are judged at the later of the last event and now.
    let now = session.pool.now.unwrap_or(0).max(wall_now());
    session.engine.evaluate(now, &session.pool);
    session.engine.trim_history(HISTORY);
    let Session {
        pool,
        engine,
        stats,
        ..
    } = session;
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
    crate::serve::write_atomic(&a.state, &json)?;
    let (code, text) = output(&state.pool, &state.engine, &notes);
    print!("{text}");
    Ok(code)
}

/// The monitoring-plugin output and exit code.
fn output(pool: &Pool, engine: &Engine, notes: &[String]) -> (u8, String) {
    let firing = engine.firing();
    let code = firing
        .iter()
        .map(|a| match a.severity.as_str() {
            "critical" => CRITICAL,
            "warning" => WARNING,
            _ => OK,
        })
        .max()
        .unwrap_or(OK);
    let label = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][code as usize];
    let total = pool.total();
    let avail = pool.available();
    let status = match (total, avail) {
        (Some(t), Some(av)) => format!("{av}/{t} available"),
        _ => format!("{} allocated (pool size unknown)", pool.allocated()),
    };
    let mut worst: Vec<&crate::alert::Alert> = firing.iter().collect();
    worst.sort_by_key(|a| match a.severity.as_str() {
        "critical" => 0,
        "warning" => 1,
        _ => 2,
    });
    let text = match worst.first() {
        Some(a) if code != OK => {
            let more = if firing.len() > 1 {
                format!(" (+{} more)", firing.len() - 1)
            } else {
                String::new()
            };
            let same = firing.iter().filter(|x| x.rule == a.rule).count();
            let plural = if same == 1 { "" } else { "s" };
            let head = match a.rule.as_str() {
                "pool_exhausted" => "pool exhausted".to_owned(),
                "pool_low" => "pool running low".to_owned(),
                "failure_rate" => format!("failure rate {:.0}%", a.value * 100.0),
                "long_allocation" => format!(
                    "{same} allocation{plural} open longer than {}",
                    engine.config().long_allocation.max_age
                ),
                "orphaned_allocation" => format!("{same} orphaned allocation{plural}"),
                _ => format!(
                    "pool consistently too {}",
                    if a.labels.get("direction").is_some_and(|d| d == "low") {
                        "empty"
                    } else {
                        "full"
                    }
                ),
            };
            format!("{head}: {status}{more}")
        }
        _ => {
            let util = pool.utilization().map_or(String::new(), |u| {
                format!(", utilization {:.0}%", u * 100.0)
            });
            format!("{status}{util}, no alert firing")
        }
    };
    let low = engine.config().pool_low.available_at_most;
    let perf_total = total.map_or(String::new(), |t| t.to_string());
    let mut perf = Vec::new();
    if let (Some(t), Some(av)) = (total, avail) {
        perf.push(format!("available={av};{};0;0;{t}", low.resolve(t)));
    }
    perf.push(format!("allocated={};;;0;{perf_total}", pool.allocated()));
    perf.push(format!("orphaned={};;;0;{perf_total}", pool.orphaned_open));
    if let Some(u) = pool.utilization() {
        perf.push(format!("utilization={u:.4};;;0;1"));
    }
    let c = &pool.c;
    perf.push(format!("attempts={}c", c.attempts));
    perf.push(format!("allocations={}c", c.allocated));
    perf.push(format!("failures={}c", c.failed));
    perf.push(format!("refusals={}c", c.exhaustion_failures));
    let mut out = format!(
        "GWMON {label} - {} | {}\n",
        crate::term::escape(&text),
        perf.join(" ")
    );
    for a in &worst {
        out.push_str(&format!(
            "{} {}: {}\n",
            a.severity,
            a.rule,
            crate::term::escape(&a.summary)
        ));
    }
    for n in notes {
        out.push_str(&format!("note: {}\n", crate::term::escape(n)));
    }
    (code, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable() {
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
