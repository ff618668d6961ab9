//! Restart-safe live runs (`watch --state FILE`): the pool, the alert states (with what was
//! notified), the read counts and, per followed file, where reading stopped (offset, line,
//! identity) and its recognizer's state, written atomically every few seconds and at exit. A
//! restart resumes there: the unread rest of each file is read first (a rotated file's rest
//! from its sibling, as `gwmon check` finds it), then following goes on. Offsets and state are
//! saved together, so a kill at any moment loses only progress: what came after the saved
//! offsets is read again, and nothing it changed was saved.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::replay::Batch;
use super::session::{LiveSource, Session};
use crate::alert::{Engine, Monitor, Notification};
use crate::atomic::write_atomic;
use crate::pool::Pool;
use crate::recognize::{InputRecognizer, ReadStats};
use crate::source::follow::{FollowOptions, Follower};
use crate::source::identity::fingerprint;
use crate::source::resume::{Mark, Segment, open_segment, plan};
use crate::source::{Framer, Input};

const VERSION: u32 = 1;
/// How often the state is written while running (also before an alert is told, and at exit);
/// the metrics are published from the saved state only.
pub const SAVE_EVERY: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize)]
struct SavedFile {
    input: u32,
    mark: Mark,
    recognizer: InputRecognizer,
}

/// The events a save covers that were not yet written when it was made (`events --follow`),
/// and where they go: stdout, a regular file, and how long it was before them.
#[derive(Serialize, Deserialize)]
struct Outbox {
    dev: u64,
    ino: u64,
    len: u64,
    events: String,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    version: u32,
    /// The command that keeps it (states written before this was kept have none).
    #[serde(default)]
    command: Option<String>,
    /// By the path followed.
    files: BTreeMap<String, SavedFile>,
    pool: Pool,
    engine: Engine,
    stats: ReadStats,
    #[serde(default)]
    outbox: Option<Outbox>,
    /// What the command shows besides the pool (`top`'s charts and latest transitions).
    #[serde(default)]
    view: Option<serde_json::Value>,
}

/// stdout's identity and length when it is a regular file that only it writes to (stderr is
/// elsewhere): what a restart needs to tell how much of an outbox reached it.
fn stdout_file() -> Option<(u64, u64, u64)> {
    use std::mem::ManuallyDrop;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::io::FromRawFd;
    fn stat(fd: i32) -> Option<std::fs::Metadata> {
        // SAFETY: 1 and 2 are the process's standard streams, not owned by anything else here;
        // ManuallyDrop never closes them (only fstat is called).
        let f = ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
        f.metadata().ok()
    }
    let out = stat(1)?;
    if !out.file_type().is_file() {
        return None;
    }
    if stat(2).is_some_and(|err| (err.dev(), err.ino()) == (out.dev(), out.ino())) {
        return None;
    }
    Some((out.dev(), out.ino(), out.len()))
}

/// The state file of a run: locked while the run lasts, saved at an interval.
pub struct StateFile {
    path: PathBuf,
    _lock: File,
    last: Option<Instant>,
    saved: Option<Saved>,
    /// Saved with the run (`top`'s view), set by the command before a save.
    pub view: Option<serde_json::Value>,
    command: &'static str,
}

impl StateFile {
    /// Lock `path` (another run holding it is an error) and load what it holds; `command`
    /// (`watch`, `events`, `top`) is the run's: a state another command keeps is refused (each
    /// reads its files on its own, so they cannot share where reading stopped).
    pub fn open(path: &Path, command: &'static str) -> anyhow::Result<StateFile> {
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        let lock_path = PathBuf::from(name);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("--state: cannot open {}", lock_path.display()))?;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            bail!(
                "--state {}: another gwmon holds it ({})",
                path.display(),
                io::Error::last_os_error()
            );
        }
        let saved = match std::fs::read(path) {
            Ok(bytes) => {
                let s: Saved = serde_json::from_slice(&bytes).with_context(|| {
                    format!("--state {}: not a gwmon watch state", path.display())
                })?;
                if s.version != VERSION {
                    bail!(
                        "--state {}: version {}, expected {VERSION}",
                        path.display(),
                        s.version
                    );
                }
                if let Some(other) = s.command.as_deref().filter(|c| *c != command) {
                    bail!(
                        "--state {}: the state of gwmon {other}, not of {command} (give each its own file)",
                        path.display()
                    );
                }
                Some(s)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("--state: cannot read {}", path.display()));
            }
        };
        Ok(StateFile {
            path: path.to_owned(),
            _lock: lock,
            last: None,
            saved,
            view: None,
            command,
        })
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a save is due (an unforced [`save`](Self::save) writes).
    pub fn due(&self) -> bool {
        self.last.is_none_or(|t| t.elapsed() >= SAVE_EVERY)
    }

    /// What the last run saved of its view, once.
    pub fn take_view(&mut self) -> Option<serde_json::Value> {
        self.saved.as_mut()?.view.take()
    }

    /// Whether there is a run to resume.
    pub fn resuming(&self) -> bool {
        self.saved.is_some()
    }

    /// What the last run's outbox holds that its stdout lacks, when stdout is the same regular
    /// file: a kill came between its save and the write of those events (or in the write). On
    /// any other stdout nothing is repeated (the events of one batch may be missing there).
    pub fn unwritten_outbox(&mut self) -> Option<Vec<u8>> {
        let ob = self.saved.as_mut()?.outbox.take()?;
        let (dev, ino, len) = stdout_file()?;
        if (dev, ino) != (ob.dev, ob.ino) {
            return None;
        }
        // Shorter than before the batch: emptied by someone else; then all of it is missing.
        let written = len.saturating_sub(ob.len).min(ob.events.len() as u64) as usize;
        let rest = ob.events.as_bytes().get(written..)?;
        (!rest.is_empty()).then(|| rest.to_vec())
    }

    /// Write the state when due (`force`: now); whether it was written. `outbox`: the events
    /// rendered for stdout since the last save, written to it right after this save.
    pub fn save(
        &mut self,
        session: &Session,
        live: &LiveSource,
        force: bool,
        outbox: Option<&[u8]>,
    ) -> anyhow::Result<bool> {
        if !force && !self.due() {
            return Ok(false);
        }
        let LiveSource::Files(f) = live else {
            return Ok(false);
        };
        let mut files = BTreeMap::new();
        for (input, path, offset, line, id, head) in f.resume_points() {
            let key = path.display().to_string();
            let recognizer = session
                .states
                .get(&(input, Some(path.clone())))
                .cloned()
                .unwrap_or_default();
            let mark = Mark {
                dev: id.dev,
                ino: id.ino,
                offset,
                line,
                head: fingerprint(&head),
                head_len: head.len(),
                tail: None,
                read_at: None,
            };
            files.insert(
                key,
                SavedFile {
                    input,
                    mark,
                    recognizer,
                },
            );
        }
        let outbox = outbox
            .filter(|o| !o.is_empty())
            .and_then(|o| Some((stdout_file()?, o)))
            .map(|((dev, ino, len), o)| Outbox {
                dev,
                ino,
                len,
                events: String::from_utf8_lossy(o).into_owned(),
            });
        let json = serde_json::to_vec(&SavedRef {
            version: VERSION,
            command: self.command,
            files: &files,
            pool: &session.monitor.pool,
            engine: &session.monitor.engine,
            stats: &session.stats,
            outbox: outbox.as_ref(),
            view: self.view.as_ref(),
        })?;
        write_atomic(&self.path, &json)?;
        self.last = Some(Instant::now());
        Ok(true)
    }

    /// Restore the saved run into `session` and open the inputs: each file's unread rest is
    /// read first (up to where following starts), then the follower goes on. Returns the live
    /// source and the notifications for the Alertmanagers (alerts still firing, already told
    /// elsewhere).
    pub fn resume(
        &mut self,
        batch: &Batch,
        follow: &FollowOptions,
        session: &mut Session,
        notes: &mut Vec<Notification>,
        pending: &mut Vec<crate::event::Event>,
        tell: &mut dyn FnMut(String),
    ) -> anyhow::Result<(LiveSource, Vec<Notification>)> {
        let Some(saved) = self.saved.take() else {
            bail!("no state to resume");
        };
        // This run's settings: the pool's size and bounds, what it keeps for the command.
        let now_pool = &session.monitor.pool;
        let mut pool = saved.pool;
        pool.cfg = now_pool.cfg.clone();
        pool.keep_derived = now_pool.keep_derived;
        pool.keep_notes = now_pool.keep_notes;
        let mut engine =
            Engine::with_history(session.monitor.engine.config().clone(), saved.engine);
        engine.max_tracked = pool.cfg.max_orgs;
        session.monitor = Monitor { pool, engine };
        session.stats = saved.stats;
        let files: Vec<PathBuf> = batch
            .inputs
            .iter()
            .filter_map(|i| match i {
                Input::File(p) => Some(p.clone()),
                Input::Stdin => None,
            })
            .collect();
        if files.len() != batch.inputs.len() {
            bail!("--state follows files (it remembers where it stopped); name them, not stdin");
        }
        // Following starts at the files' ends; what lies between the saved offsets and there
        // is read first.
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        let at_end = FollowOptions {
            from_start: false,
            ..follow.clone()
        };
        let follower = Follower::new(&names, at_end)?;
        let starts: BTreeMap<PathBuf, (u64, u64)> = follower
            .start_positions()
            .into_iter()
            .map(|s| (s.path, (s.offset, s.next_line)))
            .collect();
        let live = LiveSource::Files(Box::new(follower));
        session.watch(live.names(&batch.inputs));
        session.monitor.engine.notify = true;
        for (i, path) in files.iter().enumerate() {
            let key = path.display().to_string();
            let input = i as u32;
            let sf = saved.files.get(&key);
            if sf.is_none() && !path.exists() {
                continue; // absent then and now: the follower waits for it
            }
            // (Not followed by the last run, absent then: what it holds now was written while
            // that run was down, and is read from its start.)
            if let Some(sf) = sf {
                session
                    .states
                    .insert((input, Some(path.clone())), sf.recognizer.clone());
            }
            let mut said = Vec::new();
            let segs = plan(
                path,
                sf.map(|sf| &sf.mark),
                &[],
                &mut said,
                &mut session.stats.lost,
            )?;
            for s in said {
                tell(s);
            }
            for seg in segs {
                let bound = if seg.live {
                    match starts.get(path) {
                        Some(&(end, _)) => Some(end),
                        // Read from its start by the follower (it was empty when opened).
                        None => continue,
                    }
                } else {
                    None
                };
                read_segment(
                    session,
                    input,
                    path,
                    &seg,
                    bound,
                    batch.read.max_line,
                    notes,
                    pending,
                )?;
            }
        }
        let now = session.clock();
        let m = &mut session.monitor;
        let firing = m.engine.announce(now, &m.pool);
        Ok((live, firing))
    }
}

#[derive(Serialize)]
struct SavedRef<'a> {
    version: u32,
    command: &'a str,
    files: &'a BTreeMap<String, SavedFile>,
    pool: &'a Pool,
    engine: &'a Engine,
    stats: &'a ReadStats,
    outbox: Option<&'a Outbox>,
    view: Option<&'a serde_json::Value>,
}

/// Read a segment of `path` (a rotated sibling's rest, or the file itself up to `bound`) into
/// the session, as lines of the followed path; its events wait in `pending` for the next save.
#[allow(clippy::too_many_arguments)]
fn read_segment(
    session: &mut Session,
    input: u32,
    path: &Path,
    seg: &Segment,
    bound: Option<u64>,
    max_line: usize,
    notes: &mut Vec<Notification>,
    pending: &mut Vec<crate::event::Event>,
) -> anyhow::Result<()> {
    let mut framer: Framer = match bound {
        None => open_segment(seg, max_line)?,
        Some(end) => {
            if end <= seg.offset {
                return Ok(());
            }
            let mut f = File::open(&seg.path)
                .with_context(|| format!("cannot open {}", seg.path.display()))?;
            f.seek(io::SeekFrom::Start(seg.offset))?;
            let r: Box<dyn Read + Send> = Box::new(f.take(end - seg.offset));
            let mut fr = Framer::new(r, 1 << 20, max_line);
            fr.next_line = seg.line;
            fr
        }
    };
    session.ingest_framed(
        &mut framer,
        input,
        path,
        &seg.path,
        notes,
        &mut |_| {},
        &mut |ev, _| {
            pending.push(ev.clone());
            Ok(())
        },
    )
}
