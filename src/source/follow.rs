//! Following files as they grow, with `tail -F` semantics, and following stdin.
//!
//! The parts: this file holds the follower loop (wait, check, deliver); `rotation` the
//! per-path state machine across rotations (which file generation is read, when to move on);
//! `dirs` the watching of directories for change events; `glob` the patterns; `stdin` the
//! stdin follower. Lines are framed by the crate's one [`Framer`](super::framer::Framer).
//!
//! A [`Follower`] follows each named path (or each file matching a glob in its last component)
//! across log rotation:
//!
//! - **rename + create** (logrotate `create`): the path names another file (device+inode changed).
//!   The old file stays open and keeps being read — a writer goes on writing to it until it
//!   reopens the path — until the new file holds data (the writer has moved on) or the old file
//!   is deleted. Then the old file is read to its end (a final line without newline is delivered
//!   as a line), and the new file is read from its start.
//! - **copytruncate**: the file is shorter than the read offset: reading restarts at offset 0.
//! - **delete + recreate**, **absent at start**: the new file is read from its start.
//!
//! Glob patterns (`*`, `?` in the last component) pick up matching files as they appear, read
//! from their start — except a file that is already followed under another name (renamed by its
//! writer to a name the glob matches too): it goes on where it was. Files a path moved away from
//! stay open ([`MAX_RETIRED`] at most, until deleted) to recognize them so.
//!
//! A line is delivered once its newline has arrived; a partial last line is held. A line longer
//! than [`FollowOptions::max_line`] is counted (its number) and skipped as it streams past, never
//! held whole.
//!
//! Change detection: natively, the parent directories are watched (inotify through `notify`,
//! non-recursive) and every path is also re-checked every [`SAFETY_NET`] in case an event was
//! missed; with [`FollowOptions::poll`], every path is checked at that interval (network and
//! container filesystems, where inotify sees nothing). Both block between checks: idle costs
//! no CPU.
//!
//! Inherent limits, as with `tail -F`: a file rotated away twice before it was looked at loses
//! the middle generation; with copytruncate, lines written between the copy and the truncation,
//! or not read yet when the file is truncated, are only in the copy, and a truncation is seen
//! only while the file is shorter than what was read (the writer must open it with `O_APPEND`);
//! after the switch to a new file, writes to the old one are not read any more.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::bail;

mod backlog;
mod dirs;
mod glob;
mod rotation;
mod stdin;
#[cfg(test)]
mod tests;

use crate::source::identity::FileId;
use dirs::{WatchedDir, limit_error};
use glob::{Pattern, is_glob};
use rotation::{Generation, Tracked};
pub use stdin::StdinFollower;

/// With native events, how often every path is re-checked anyway (a missed event, a directory
/// that did not exist yet, a symlink whose target lives elsewhere).
pub const SAFETY_NET: Duration = Duration::from_secs(1);

/// A chunk is closed once it holds this many bytes.
pub(crate) const CHUNK_TARGET: usize = 1 << 20;
/// Most bytes read from one file in one pass; beyond it the next `wait` returns at once.
const PASS_BUDGET: usize = 8 << 20;
/// Renamed-away files kept open after their path moved on, so that a glob that later matches
/// them under their new name continues where reading stopped instead of starting over.
pub const MAX_RETIRED: usize = 64;

#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// None: native events (inotify); Some(d): poll every d (network/container filesystems).
    pub poll: Option<Duration>,
    /// Read existing content first (default false: start at the current end, like `tail -F -n0`).
    pub from_start: bool,
    /// Longest line in bytes (newline excluded); a longer line is skipped (counted) and never
    /// held whole.
    pub max_line: usize,
}

impl Default for FollowOptions {
    fn default() -> FollowOptions {
        FollowOptions {
            poll: None,
            from_start: false,
            max_line: 1 << 20,
        }
    }
}

/// A file followed from a position past its start (see [`Follower::start_positions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartAt {
    pub input: u32,
    pub path: PathBuf,
    /// Bytes before the position.
    pub offset: u64,
    /// The number of the line at the position.
    pub next_line: u64,
}

/// Complete lines from one followed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowChunk {
    /// Index in the patterns given to [`Follower::new`] (0 for stdin).
    pub input: u32,
    /// The concrete file (for globs: the matched file).
    pub path: PathBuf,
    /// 1-based number of the first line in `data`, within the current file generation (restarts
    /// at 1 after a rotation or truncation). Lines of a file present at startup are counted even
    /// when reading starts at its end.
    pub first_line: u64,
    /// Whole lines, each ending in '\n' (a final line without newline, delivered when its file
    /// was rotated away, truncated or at the end of stdin, gets one). The lines are consecutive:
    /// a skipped overlong line ends a chunk.
    pub data: Vec<u8>,
    /// Numbers of the lines skipped for length, next to this chunk's lines (not in `data`).
    pub overlong: Vec<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowNote {
    /// The path names a new file; the old one has been read to its end.
    Rotated { input: u32, path: PathBuf },
    /// The file got shorter than what was read: reading restarted at its start.
    Truncated { input: u32, path: PathBuf },
    /// The path appeared (absent at start, or after a removal; a new glob match).
    Created { input: u32, path: PathBuf },
    /// The path disappeared (deleted or renamed away; a renamed file is still read while its
    /// writer writes to it).
    Removed { input: u32, path: PathBuf },
    /// The path does not exist (yet) at startup: it is waited for. `dir_missing`: its
    /// directory does not exist either.
    Waiting {
        input: u32,
        path: PathBuf,
        dir_missing: bool,
    },
    /// The path names a file that is already followed under another name (`of`): it is read
    /// once.
    Duplicate {
        input: u32,
        path: PathBuf,
        of: PathBuf,
    },
    /// A file the path named was found beside it and read whole: a generation rotated away
    /// before it was opened, or the copy a copytruncate made.
    Recovered { input: u32, path: PathBuf },
    /// The file was truncated (or rotated) and the rest of it, after byte `after`, was found
    /// nowhere beside it: those lines are lost.
    Lost {
        input: u32,
        path: PathBuf,
        after: u64,
    },
    /// A path cannot be read or watched (told once until it changes); following goes on.
    Error {
        input: u32,
        path: PathBuf,
        message: String,
    },
}

/// Follows files by name across rotation. See the module documentation.
pub struct Follower {
    opts: FollowOptions,
    patterns: Vec<Pattern>,
    /// One per followed path (a glob has one per matching file).
    entries: Vec<Tracked>,
    /// Files a path moved away from, kept open to recognize them under a new name.
    retired: Vec<Generation>,
    dirs: Vec<WatchedDir>,
    watcher: Option<(
        notify::RecommendedWatcher,
        mpsc::Receiver<notify::Result<notify::Event>>,
    )>,
    /// Interval of full checks: the poll interval, or [`SAFETY_NET`].
    interval: Duration,
    next_full: Instant,
    full: bool,
    check: bool,
    rescan: bool,
    /// A pass stopped at its budget: the next one runs at once.
    more: bool,
    round: usize,
    /// Some entry still reads a file its path no longer names (wait on any event in the dir).
    detached: bool,
    buf: Vec<u8>,
    chunks: Vec<FollowChunk>,
    notes: Vec<FollowNote>,
    /// Files opened (or queued to be read), so that no sibling is read twice.
    seen: std::collections::VecDeque<backlog::Seen>,
    /// First bytes of the files read to their end, to know a compressed copy of one.
    /// Files read to their end: their first bytes and their length (to know a compressed
    /// copy of one).
    seen_heads: std::collections::VecDeque<(backlog::Head, u64)>,
}

/// The directory to watch for a path's directory part ("" is the current one).
fn watch_dir(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

impl Follower {
    /// `patterns`: file paths, or globs with `*`/`?` in the file-name part (e.g.
    /// `/var/log/gw/*.log`), each watched even when absent at start (created later).
    pub fn new(patterns: &[String], opts: FollowOptions) -> anyhow::Result<Follower> {
        let mut pats = Vec::new();
        let mut dirs: Vec<WatchedDir> = Vec::new();
        for (index, p) in patterns.iter().enumerate() {
            let path = Path::new(p);
            let Some(name) = path.file_name() else {
                bail!("{p}: not a file path");
            };
            let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
            if dir.components().any(|c| is_glob(c.as_os_str())) {
                bail!("{p}: `*` and `?` are supported in the file name only");
            }
            let wd = watch_dir(&dir);
            if !dirs.iter().any(|d| d.path == wd) {
                dirs.push(WatchedDir {
                    path: wd.to_path_buf(),
                    watching: None,
                    error: None,
                });
            }
            pats.push(Pattern {
                index: index as u32,
                dir,
                name: name.to_os_string(),
                glob: is_glob(name),
            });
        }
        let watcher = match opts.poll {
            Some(_) => None,
            None => {
                let (tx, rx) = mpsc::channel();
                let w = notify::recommended_watcher(tx)
                    .map_err(|e| limit_error("cannot start watching files", e))?;
                Some((w, rx))
            }
        };
        let interval = opts
            .poll
            .unwrap_or(SAFETY_NET)
            .max(Duration::from_millis(1));
        let mut f = Follower {
            opts,
            patterns: pats,
            entries: Vec::new(),
            retired: Vec::new(),
            dirs,
            watcher,
            interval,
            next_full: Instant::now() + interval,
            full: false,
            check: true,
            rescan: false,
            more: false,
            round: 0,
            detached: false,
            buf: vec![0; 256 * 1024],
            chunks: Vec::new(),
            notes: Vec::new(),
            seen: Default::default(),
            seen_heads: Default::default(),
        };
        // A named path that is a directory is a mistake to say at once (a glob is the way to
        // follow the files in it).
        for p in &f.patterns {
            let path = p.dir.join(&p.name);
            if !p.glob && path.is_dir() {
                bail!(
                    "{} is a directory: name the log file in it, or a glob such as '{}/*.log'",
                    path.display(),
                    path.display()
                );
            }
        }
        // Watch first, then open: a change after the open is an event.
        f.maintain_watches()?;
        for pi in 0..f.patterns.len() {
            let p = &f.patterns[pi];
            if p.glob {
                f.rescan_glob(pi, true);
            } else {
                let path = p.dir.join(&p.name);
                let i = f.add_entry(pi, path, false);
                f.start_entry(i);
            }
        }
        Ok(f)
    }

    /// The plain files opened at startup and where reading goes on in each (the end of its
    /// last complete line): what lies before is the existing content, for a caller that reads
    /// it another way (merged by time) before following.
    pub fn start_positions(&self) -> Vec<StartAt> {
        self.entries
            .iter()
            .filter_map(|e| {
                let g = e.current.as_ref()?;
                let (offset, next_line) = g.position();
                (!g.compressed() && offset > 0).then(|| StartAt {
                    input: e.input,
                    path: e.path.clone(),
                    offset,
                    next_line,
                })
            })
            .collect()
    }

    /// Where reading goes on in each plain file followed now (the end of its last complete
    /// line): (input, path, offset).
    pub fn positions(&self) -> Vec<(u32, PathBuf, u64)> {
        self.entries
            .iter()
            .filter_map(|e| {
                let g = e.current.as_ref()?;
                (!g.compressed()).then(|| (e.input, e.path.clone(), g.position().0))
            })
            .collect()
    }

    /// Where a later run resumes each plain file followed now: (input, path, consumed offset,
    /// next line, identity, first bytes).
    pub fn resume_points(&self) -> Vec<(u32, PathBuf, u64, u64, FileId, Vec<u8>)> {
        self.entries
            .iter()
            .filter_map(|e| {
                let (off, line, id, head) = e.current.as_ref()?.resume_point()?;
                Some((e.input, e.path.clone(), off, line, id, head))
            })
            .collect()
    }

    /// Wait up to `timeout` for new data; return the chunks and notes available (possibly
    /// none). Blocks on the watcher's events (or sleeps the poll interval) meanwhile. The only
    /// error is the inotify limit being reached (the message suggests `--poll`).
    pub fn wait(
        &mut self,
        timeout: Duration,
    ) -> anyhow::Result<(Vec<FollowChunk>, Vec<FollowNote>)> {
        let deadline = Instant::now() + timeout;
        loop {
            self.pass()?;
            if !self.chunks.is_empty() || !self.notes.is_empty() {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if self.more {
                continue;
            }
            let until = deadline.min(self.next_full);
            self.block(until.saturating_duration_since(now))?;
        }
        Ok((
            std::mem::take(&mut self.chunks),
            std::mem::take(&mut self.notes),
        ))
    }

    /// Check what the events, the timer or a pending backlog call for.
    fn pass(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        if now >= self.next_full {
            self.full = true;
            self.next_full = now + self.interval;
        }
        let (full, rescan, check) = (self.full, self.rescan, self.check || self.more);
        self.full = false;
        self.rescan = false;
        self.check = false;
        self.more = false;
        if full {
            self.maintain_watches()?;
            self.retired.retain(|g| g.nlink() > 0);
        }
        if full || rescan {
            for pi in 0..self.patterns.len() {
                if self.patterns[pi].glob {
                    self.rescan_glob(pi, false);
                }
            }
        }
        if full || check {
            // Start with another entry each pass: one busy file cannot hold the others back.
            let mut budget = PASS_BUDGET;
            let n = self.entries.len();
            self.round = self.round.wrapping_add(1);
            for k in 0..n {
                self.check_entry((self.round + k) % n, &mut budget);
            }
            // A glob's entry whose file is gone is dropped (a new match makes a new one).
            self.entries
                .retain(|e| !(e.from_glob && !e.present && e.current.is_none()));
            self.detached = self
                .entries
                .iter()
                .any(|e| e.current.is_some() && e.is_detached());
        }
        Ok(())
    }

    fn add_entry(&mut self, pi: usize, path: PathBuf, from_glob: bool) -> usize {
        let p = &self.patterns[pi];
        let name = path.file_name().unwrap_or_default().to_os_string();
        self.entries.push(Tracked {
            input: p.index,
            path,
            name,
            from_glob,
            current: None,
            present: false,
            rotated: false,
            dup_of: None,
            error: None,
            backlog: Default::default(),
            missed_since: None,
        });
        self.entries.len() - 1
    }

    /// At startup: open an existing file at its end (or start, with `from_start`).
    fn start_entry(&mut self, i: usize) {
        let path = self.entries[i].path.clone();
        let m = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !self.entries[i].from_glob {
                    let dir_missing = path
                        .parent()
                        .filter(|d| !d.as_os_str().is_empty())
                        .is_some_and(|d| !d.exists());
                    self.notes.push(FollowNote::Waiting {
                        input: self.entries[i].input,
                        path,
                        dir_missing,
                    });
                }
                return;
            }
            Err(e) => return self.error(i, format!("{e}")),
        };
        self.entries[i].present = true;
        if m.is_dir() {
            return self.error(i, "is a directory".into());
        }
        self.open(i, true);
        // Anything already there is checked by the first wait.
        self.check = true;
    }

    fn error(&mut self, i: usize, message: String) {
        let e = &mut self.entries[i];
        if e.error.as_ref() != Some(&message) {
            e.error = Some(message.clone());
            self.notes.push(FollowNote::Error {
                input: e.input,
                path: e.path.clone(),
                message,
            });
        }
    }

    fn note(&mut self, i: usize, make: fn(u32, PathBuf) -> FollowNote) {
        let e = &self.entries[i];
        self.notes.push(make(e.input, e.path.clone()));
    }
}
