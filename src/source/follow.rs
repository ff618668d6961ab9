//! Following files as they grow, with `tail -F` semantics, and following stdin.
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

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use notify::{EventKind, RecursiveMode, Watcher};

/// With native events, how often every path is re-checked anyway (a missed event, a directory
/// that did not exist yet, a symlink whose target lives elsewhere).
pub const SAFETY_NET: Duration = Duration::from_secs(1);

/// A chunk is closed once it holds this many bytes.
const CHUNK_TARGET: usize = 1 << 20;
/// Most bytes read from one file in one pass; beyond it the next `wait` returns at once.
const PASS_BUDGET: usize = 8 << 20;
/// Renamed-away files kept open after their path moved on, so that a glob that later matches
/// them under their new name continues where reading stopped instead of starting over.
pub const MAX_RETIRED: usize = 64;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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
    entries: Vec<Entry>,
    retired: Vec<Gen>,
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
}

struct Pattern {
    index: u32,
    /// The directory part as given ("" for a bare name): matched paths are `dir.join(name)`.
    dir: PathBuf,
    /// The file-name part: a name, or a glob with `*`/`?`.
    name: OsString,
    glob: bool,
}

struct WatchedDir {
    path: PathBuf,
    /// Device and inode of the directory the watch was put on.
    watching: Option<(u64, u64)>,
    error: Option<String>,
}

/// One concrete followed path.
struct Entry {
    input: u32,
    path: PathBuf,
    name: OsString,
    from_glob: bool,
    /// The file being read (the one the path named, or still the old one after a rename).
    cur: Option<Gen>,
    /// The path exists (as last checked).
    present: bool,
    /// The old file was taken over by another path: the next file opened here is a rotation.
    rotated: bool,
    /// The path names a file another entry already follows (hard link, overlapping patterns).
    dup_of: Option<(u64, u64)>,
    error: Option<String>,
}

/// One generation of a file: the open descriptor and how far it was read.
struct Gen {
    file: File,
    id: (u64, u64),
    offset: u64,
    lines: Lines,
    sniffed: bool,
    gzip: bool,
}

impl Gen {
    fn new(file: File, m: &fs::Metadata, max_line: usize) -> Gen {
        Gen {
            file,
            id: (m.dev(), m.ino()),
            offset: 0,
            lines: Lines::new(max_line),
            sniffed: false,
            gzip: false,
        }
    }

    fn nlink(&self) -> u64 {
        self.file.metadata().map_or(0, |m| m.nlink())
    }

    /// Start reading at the end of the last complete line, counting the lines before it.
    fn skip_existing(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let size = self.file.metadata()?.len();
        let (mut off, mut lines, mut start) = (0u64, 0u64, 0u64);
        while off < size {
            let want = buf.len().min((size - off) as usize);
            let n = match self.file.read_at(&mut buf[..want], off) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if off == 0 && n >= 2 {
                self.sniffed = true;
                if buf[..2] == GZIP_MAGIC {
                    self.gzip = true;
                    return Ok(());
                }
            }
            lines += bytecount::count(&buf[..n], b'\n') as u64;
            if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
                start = off + i as u64 + 1;
            }
            off += n as u64;
        }
        self.offset = start;
        self.lines.next_line = lines + 1;
        Ok(())
    }

    /// Read up to `budget` bytes from the offset on. `Ok(true)` once at the end of the file.
    fn read(&mut self, buf: &mut [u8], emit: &mut Emit, budget: &mut usize) -> io::Result<bool> {
        if self.gzip {
            return Ok(true);
        }
        loop {
            if *budget == 0 {
                return Ok(false);
            }
            let want = buf.len().min(*budget);
            let n = match self.file.read_at(&mut buf[..want], self.offset) {
                Ok(0) => return Ok(true),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if self.offset == 0 && !self.sniffed && n >= 2 {
                self.sniffed = true;
                if buf[..2] == GZIP_MAGIC {
                    self.gzip = true;
                    return Ok(true);
                }
            }
            self.offset += n as u64;
            *budget -= n;
            self.lines.feed(&buf[..n], emit);
        }
    }
}

/// Assembles whole lines out of the bytes as they come, holding a partial last line.
struct Lines {
    partial: Vec<u8>,
    /// Inside an overlong line (already counted): drop bytes up to its newline.
    discarding: bool,
    /// Number of the line being assembled.
    next_line: u64,
    max_line: usize,
}

impl Lines {
    fn new(max_line: usize) -> Lines {
        Lines {
            partial: Vec::new(),
            discarding: false,
            next_line: 1,
            max_line: max_line.max(1),
        }
    }

    fn feed(&mut self, mut data: &[u8], emit: &mut Emit) {
        while !data.is_empty() {
            if self.discarding {
                match memchr::memchr(b'\n', data) {
                    Some(i) => {
                        data = &data[i + 1..];
                        self.discarding = false;
                        self.next_line += 1;
                    }
                    None => return,
                }
                continue;
            }
            match memchr::memchr(b'\n', data) {
                Some(i) => {
                    if self.partial.len() + i > self.max_line {
                        emit.overlong(self.next_line);
                    } else {
                        emit.line(self.next_line, &self.partial, &data[..=i]);
                    }
                    self.partial.clear();
                    self.next_line += 1;
                    data = &data[i + 1..];
                }
                None => {
                    if self.partial.len() + data.len() > self.max_line {
                        emit.overlong(self.next_line);
                        self.partial = Vec::new();
                        self.discarding = true;
                    } else {
                        self.partial.extend_from_slice(data);
                    }
                    return;
                }
            }
        }
    }

    /// No more bytes will come: deliver a partial last line as a line.
    fn flush(&mut self, emit: &mut Emit) {
        if !self.partial.is_empty() {
            emit.line(self.next_line, &self.partial, b"\n");
            self.partial.clear();
            self.next_line += 1;
        } else if self.discarding {
            self.next_line += 1;
        }
        self.discarding = false;
        emit.finish();
    }
}

/// Collects lines into chunks of consecutive lines.
struct Emit<'a> {
    out: &'a mut Vec<FollowChunk>,
    cur: FollowChunk,
}

impl<'a> Emit<'a> {
    fn new(out: &'a mut Vec<FollowChunk>, input: u32, path: &Path) -> Emit<'a> {
        Emit {
            out,
            cur: FollowChunk {
                input,
                path: path.to_path_buf(),
                first_line: 0,
                data: Vec::new(),
                overlong: Vec::new(),
            },
        }
    }

    fn line(&mut self, n: u64, a: &[u8], b: &[u8]) {
        if self.cur.data.is_empty() {
            self.cur.first_line = n;
        }
        self.cur.data.extend_from_slice(a);
        self.cur.data.extend_from_slice(b);
        if self.cur.data.len() >= CHUNK_TARGET {
            self.finish();
        }
    }

    fn overlong(&mut self, n: u64) {
        if self.cur.data.is_empty() && self.cur.overlong.is_empty() {
            self.cur.first_line = n;
        }
        self.cur.overlong.push(n);
        if !self.cur.data.is_empty() {
            // Lines in `data` are consecutive: the next line starts a new chunk.
            self.finish();
        }
    }

    fn finish(&mut self) {
        if !self.cur.data.is_empty() || !self.cur.overlong.is_empty() {
            let next = FollowChunk {
                input: self.cur.input,
                path: self.cur.path.clone(),
                first_line: 0,
                data: Vec::new(),
                overlong: Vec::new(),
            };
            self.out.push(std::mem::replace(&mut self.cur, next));
        }
    }
}

impl Drop for Emit<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `*` (any run, possibly empty) and `?` (one byte) over the bytes of a file name; a leading
/// `.` must be matched literally, as in the shell.
fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pat.first() != Some(&b'.') {
        return false;
    }
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&b| b == b'*')
}

fn is_glob(s: &OsStr) -> bool {
    s.as_bytes().iter().any(|&b| b == b'*' || b == b'?')
}

fn watch_dir(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

fn limit_error(what: &str, e: notify::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "{what}: {e}; the inotify limits (fs.inotify.max_user_watches, \
         fs.inotify.max_user_instances) may be reached: raise them, or use --poll"
    )
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
        };
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

    /// Block until an event or `dur`, recording what to check.
    fn block(&mut self, dur: Duration) -> anyhow::Result<()> {
        let Some((_, rx)) = &self.watcher else {
            std::thread::sleep(dur);
            return Ok(());
        };
        let mut events = Vec::new();
        match rx.recv_timeout(dur) {
            Ok(ev) => {
                events.push(ev);
                while let Ok(ev) = rx.try_recv() {
                    events.push(ev);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // The watcher thread is gone: the safety net still checks.
                std::thread::sleep(dur);
            }
        }
        for ev in events {
            self.on_event(ev)?;
        }
        Ok(())
    }

    fn on_event(&mut self, ev: notify::Result<notify::Event>) -> anyhow::Result<()> {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                if let notify::ErrorKind::MaxFilesWatch = e.kind {
                    return Err(limit_error("cannot watch files", e));
                }
                let path = e.paths.first().cloned().unwrap_or_default();
                self.notes.push(FollowNote::Error {
                    input: 0,
                    path,
                    message: format!("file watch: {e}"),
                });
                self.full = true;
                return Ok(());
            }
        };
        if ev.need_rescan() || ev.paths.is_empty() {
            self.full = true;
            return Ok(());
        }
        if matches!(ev.kind, EventKind::Access(_)) {
            // Opens (ours included) and closes: no content change.
            return Ok(());
        }
        for p in &ev.paths {
            if self.dirs.iter().any(|d| d.path == *p) {
                // The directory itself was removed or moved.
                self.full = true;
                continue;
            }
            let Some(name) = p.file_name() else { continue };
            if self
                .patterns
                .iter()
                .any(|pt| pt.glob && glob_match(pt.name.as_bytes(), name.as_bytes()))
            {
                self.rescan = true;
                self.check = true;
            }
            if self.detached || self.entries.iter().any(|e| e.name == name) {
                self.check = true;
            }
        }
        Ok(())
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
            self.retired
                .retain(|g| g.file.metadata().is_ok_and(|m| m.nlink() > 0));
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
                .retain(|e| !(e.from_glob && !e.present && e.cur.is_none()));
            self.detached = self
                .entries
                .iter()
                .any(|e| e.cur.is_some() && e.is_detached());
        }
        Ok(())
    }

    /// Put a watch on each directory that exists and is not watched yet (or was replaced).
    fn maintain_watches(&mut self) -> anyhow::Result<()> {
        let Some((w, _)) = &mut self.watcher else {
            return Ok(());
        };
        for d in &mut self.dirs {
            let id = fs::metadata(&d.path).ok().map(|m| (m.dev(), m.ino()));
            if id == d.watching {
                continue;
            }
            if d.watching.is_some() {
                let _ = w.unwatch(&d.path);
                d.watching = None;
            }
            if id.is_none() {
                continue;
            }
            match w.watch(&d.path, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    d.watching = id;
                    d.error = None;
                }
                Err(e) => {
                    if let notify::ErrorKind::MaxFilesWatch = e.kind {
                        return Err(limit_error(
                            &format!("cannot watch {}", d.path.display()),
                            e,
                        ));
                    }
                    if let notify::ErrorKind::PathNotFound = e.kind {
                        continue;
                    }
                    let message = format!("cannot watch the directory: {e}");
                    if d.error.as_ref() != Some(&message) {
                        d.error = Some(message.clone());
                        let input = self
                            .patterns
                            .iter()
                            .find(|p| watch_dir(&p.dir) == d.path)
                            .map_or(0, |p| p.index);
                        self.notes.push(FollowNote::Error {
                            input,
                            path: d.path.clone(),
                            message,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn add_entry(&mut self, pi: usize, path: PathBuf, from_glob: bool) -> usize {
        let p = &self.patterns[pi];
        let name = path.file_name().unwrap_or_default().to_os_string();
        self.entries.push(Entry {
            input: p.index,
            path,
            name,
            from_glob,
            cur: None,
            present: false,
            rotated: false,
            dup_of: None,
            error: None,
        });
        self.entries.len() - 1
    }

    /// New entries for the files a glob matches that are not followed yet.
    fn rescan_glob(&mut self, pi: usize, startup: bool) {
        let p = &self.patterns[pi];
        let dir = watch_dir(&p.dir).to_path_buf();
        let Ok(rd) = fs::read_dir(&dir) else { return };
        let mut found = Vec::new();
        for de in rd.flatten() {
            let name = de.file_name();
            if glob_match(p.name.as_bytes(), name.as_bytes()) {
                found.push(p.dir.join(&name));
            }
        }
        found.sort();
        let input = p.index;
        for path in found {
            if self
                .entries
                .iter()
                .any(|e| e.input == input && e.path == path)
            {
                continue;
            }
            if fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            let i = self.add_entry(pi, path, true);
            if startup {
                self.start_entry(i);
            } else {
                // Checked (opened from its start, noted as created) in this pass.
                self.check = true;
            }
        }
    }

    /// At startup: open an existing file at its end (or start, with `from_start`).
    fn start_entry(&mut self, i: usize) {
        let path = self.entries[i].path.clone();
        let m = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
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

    /// Open the file the entry's path names now. At startup it is read from its end (unless
    /// `from_start`); later from its start — unless it is a file already followed under another
    /// name (renamed), which is continued where it was.
    fn open(&mut self, i: usize, startup: bool) -> bool {
        let path = self.entries[i].path.clone();
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return false,
            Err(e) => {
                self.error(i, format!("cannot open: {e}"));
                return false;
            }
        };
        let m = match file.metadata() {
            Ok(m) => m,
            Err(e) => {
                self.error(i, format!("{e}"));
                return false;
            }
        };
        let id = (m.dev(), m.ino());
        // Another entry following this very file?
        if let Some(j) = self
            .entries
            .iter()
            .position(|e| e.cur.as_ref().is_some_and(|g| g.id == id))
        {
            let still_there =
                fs::metadata(&self.entries[j].path).is_ok_and(|m| (m.dev(), m.ino()) == id);
            if still_there {
                // Two names, one file: the other entry follows it.
                self.entries[i].dup_of = Some(id);
                return false;
            }
            // Renamed from the other entry's path to this one: take it over as it is.
            let g = self.entries[j].cur.take();
            self.entries[j].rotated = true;
            self.entries[i].cur = g;
            self.entries[i].dup_of = None;
            self.entries[i].error = None;
            return true;
        }
        self.entries[i].dup_of = None;
        self.entries[i].error = None;
        if let Some(k) = self.retired.iter().position(|g| g.id == id) {
            self.entries[i].cur = Some(self.retired.remove(k));
            return true;
        }
        let mut g = Gen::new(file, &m, self.opts.max_line);
        if startup
            && !self.opts.from_start
            && let Err(e) = g.skip_existing(&mut self.buf)
        {
            self.error(i, format!("read error: {e}"));
        }
        if g.gzip {
            // A compressed (rotated) file does not grow: nothing to follow.
            if !self.entries[i].from_glob {
                self.error(i, "gzip-compressed: not followed".into());
            }
        }
        self.entries[i].cur = Some(g);
        true
    }

    /// Read what is new in the entry's file, then see whether its path still names it.
    fn check_entry(&mut self, i: usize, budget: &mut usize) {
        let mut buf = std::mem::take(&mut self.buf);
        self.check_entry_with(i, budget, &mut buf);
        self.buf = buf;
    }

    fn check_entry_with(&mut self, i: usize, budget: &mut usize, buf: &mut [u8]) {
        self.read_cur(i, budget, buf);
        let e = &mut self.entries[i];
        match fs::metadata(&e.path) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                if e.present {
                    e.present = false;
                    self.note(i, |input, path| FollowNote::Removed { input, path });
                }
                let e = &mut self.entries[i];
                e.dup_of = None;
                // Deleted: nobody can add to it any more (what was written before is read
                // after seeing so).
                if e.cur.as_ref().is_some_and(|g| g.nlink() == 0) && self.read_cur(i, budget, buf) {
                    self.finish_cur(i);
                }
            }
            Err(err) => self.error(i, format!("{err}")),
            Ok(m) => {
                let appeared = !e.present;
                e.present = true;
                if m.is_dir() {
                    return self.error(i, "is a directory".into());
                }
                let id = (m.dev(), m.ino());
                if e.dup_of == Some(id) {
                    return;
                }
                match &mut e.cur {
                    Some(g) if g.id == id => {}
                    Some(g) => {
                        // The path names another file. Go on reading the old one until the
                        // writer has moved on (the new file has data) or the old one is deleted.
                        if !(m.len() > 0 || g.nlink() == 0) {
                            return;
                        }
                        // Read it to its end once more: what the writer wrote to it before
                        // writing to the new file is there now.
                        if !self.read_cur(i, budget, buf) {
                            return;
                        }
                        self.finish_cur(i);
                        self.entries[i].rotated = true;
                        self.open_new(i, appeared, budget, buf);
                    }
                    None => self.open_new(i, appeared, budget, buf),
                }
            }
        }
    }

    /// Done with the entry's current file: deliver its partial last line, keep it open among
    /// the retired ones unless it is deleted.
    fn finish_cur(&mut self, i: usize) {
        let e = &mut self.entries[i];
        let Some(mut g) = e.cur.take() else { return };
        g.lines
            .flush(&mut Emit::new(&mut self.chunks, e.input, &e.path));
        if g.nlink() > 0 {
            self.retired.push(g);
            if self.retired.len() > MAX_RETIRED {
                self.retired.remove(0);
            }
        }
    }

    /// Open the file that appeared at the entry's path (after a rotation, a removal, or for the
    /// first time), tell so, and read it.
    fn open_new(&mut self, i: usize, appeared: bool, budget: &mut usize, buf: &mut [u8]) {
        if !self.open(i, false) {
            return;
        }
        if std::mem::take(&mut self.entries[i].rotated) {
            self.note(i, |input, path| FollowNote::Rotated { input, path });
        } else if appeared || self.entries[i].from_glob {
            self.note(i, |input, path| FollowNote::Created { input, path });
        }
        self.read_cur(i, budget, buf);
    }

    /// Read the entry's current file as far as the budget goes (after a truncation, from its
    /// start). True at its end.
    fn read_cur(&mut self, i: usize, budget: &mut usize, buf: &mut [u8]) -> bool {
        let e = &mut self.entries[i];
        let Some(g) = &mut e.cur else { return true };
        let mut emit = Emit::new(&mut self.chunks, e.input, &e.path);
        let mut truncated = false;
        let r = g.file.metadata().and_then(|m| {
            if m.len() < g.offset {
                // copytruncate: what was read is gone; a held partial line will not complete.
                g.lines.flush(&mut emit);
                g.lines.next_line = 1;
                g.offset = 0;
                g.sniffed = false;
                truncated = true;
            }
            g.read(buf, &mut emit, budget)
        });
        drop(emit);
        if truncated {
            self.note(i, |input, path| FollowNote::Truncated { input, path });
        }
        match r {
            Ok(eof) => {
                if !eof {
                    self.more = true;
                }
                eof
            }
            Err(err) => {
                self.error(i, format!("read error: {err}"));
                true
            }
        }
    }
}

impl Entry {
    fn is_detached(&self) -> bool {
        let Some(g) = &self.cur else { return false };
        fs::metadata(&self.path).map_or(true, |m| (m.dev(), m.ino()) != g.id)
    }
}

/// Follows stdin (`tail -f log | gwmon watch`): a thread reads it and hands over complete lines;
/// a partial last line waits for its newline (and is delivered, with one, at the end).
pub struct StdinFollower {
    rx: mpsc::Receiver<Result<FollowChunk, String>>,
    eof: bool,
    error: Option<String>,
}

impl StdinFollower {
    pub fn new(max_line: usize) -> StdinFollower {
        StdinFollower::from_reader(Box::new(io::stdin()), max_line)
    }

    /// Follow any reader (gzip recognized by its magic bytes, as for one-off reads).
    pub fn from_reader(r: Box<dyn Read + Send>, max_line: usize) -> StdinFollower {
        let (tx, rx) = mpsc::sync_channel(16);
        std::thread::Builder::new()
            .name("gwmon stdin".into())
            .spawn(move || stdin_thread(r, max_line, tx))
            .expect("spawn the stdin reader");
        StdinFollower {
            rx,
            eof: false,
            error: None,
        }
    }

    /// Wait up to `timeout` for lines. The flag is true once the input has ended: the chunks
    /// returned with it are the last ones.
    pub fn wait(&mut self, timeout: Duration) -> (Vec<FollowChunk>, bool) {
        let mut out: Vec<FollowChunk> = Vec::new();
        if self.eof {
            return (out, true);
        }
        let mut take = |m: Result<FollowChunk, String>, this_error: &mut Option<String>| match m {
            Ok(c) => {
                if let Some(last) = out.last_mut() {
                    let joinable = last.overlong.is_empty()
                        && c.overlong.is_empty()
                        && last.data.len() < CHUNK_TARGET
                        && last.first_line + bytecount::count(&last.data, b'\n') as u64
                            == c.first_line;
                    if joinable {
                        last.data.extend_from_slice(&c.data);
                        return;
                    }
                }
                out.push(c);
            }
            Err(e) => *this_error = Some(e),
        };
        match self.rx.recv_timeout(timeout) {
            Ok(m) => take(m, &mut self.error),
            Err(mpsc::RecvTimeoutError::Timeout) => return (out, false),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.eof = true;
                return (out, true);
            }
        }
        loop {
            match self.rx.try_recv() {
                Ok(m) => take(m, &mut self.error),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.eof = true;
                    break;
                }
            }
        }
        (out, self.eof)
    }

    /// The read error that ended the input, if one did.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

fn stdin_thread(
    r: Box<dyn Read + Send>,
    max_line: usize,
    tx: mpsc::SyncSender<Result<FollowChunk, String>>,
) {
    let path = PathBuf::from("<stdin>");
    let mut r = match super::sniff(r).context("<stdin>") {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Err(format!("{e:#}")));
            return;
        }
    };
    let mut lines = Lines::new(max_line);
    let mut buf = vec![0u8; 64 * 1024];
    let mut chunks = Vec::new();
    let mut error = None;
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                lines.feed(&buf[..n], &mut Emit::new(&mut chunks, 0, &path));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                error = Some(format!("<stdin>: read error: {e}"));
                break;
            }
        }
        for c in chunks.drain(..) {
            if tx.send(Ok(c)).is_err() {
                return;
            }
        }
    }
    lines.flush(&mut Emit::new(&mut chunks, 0, &path));
    for c in chunks.drain(..) {
        if tx.send(Ok(c)).is_err() {
            return;
        }
    }
    if let Some(e) = error {
        let _ = tx.send(Err(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    const DEADLINE: Duration = Duration::from_secs(20);

    fn opts(poll: Option<Duration>, from_start: bool) -> FollowOptions {
        FollowOptions {
            poll,
            from_start,
            max_line: 1000,
        }
    }

    fn follower(paths: &[&Path], o: FollowOptions) -> Follower {
        let p: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        Follower::new(&p, o).unwrap()
    }

    /// What a follower delivered: each line with its input, path and number.
    #[derive(Default)]
    struct Got {
        lines: Vec<(u32, PathBuf, u64, String)>,
        overlong: Vec<u64>,
        notes: Vec<FollowNote>,
    }

    impl Got {
        fn texts(&self) -> Vec<&str> {
            self.lines.iter().map(|l| l.3.as_str()).collect()
        }

        fn add(&mut self, chunks: Vec<FollowChunk>, notes: Vec<FollowNote>) {
            for c in chunks {
                assert!(c.data.is_empty() || c.data.ends_with(b"\n"), "{c:?}");
                let text = String::from_utf8(c.data).unwrap();
                for (k, l) in text.split_inclusive('\n').enumerate() {
                    let l = l.strip_suffix('\n').expect("whole lines").to_owned();
                    self.lines
                        .push((c.input, c.path.clone(), c.first_line + k as u64, l));
                }
                self.overlong.extend(c.overlong);
            }
            self.notes.extend(notes);
        }

        fn count(&self, f: impl Fn(&FollowNote) -> bool) -> usize {
            self.notes.iter().filter(|n| f(n)).count()
        }
    }

    /// Wait (deadline loop, no fixed sleeps) until `done` holds.
    fn until(f: &mut Follower, got: &mut Got, done: impl Fn(&Got) -> bool) {
        let end = Instant::now() + DEADLINE;
        while !done(got) {
            assert!(
                Instant::now() < end,
                "timed out; got {:?} notes {:?}",
                got.texts(),
                got.notes
            );
            let (c, n) = f.wait(Duration::from_millis(200)).unwrap();
            got.add(c, n);
        }
    }

    /// Nothing more arrives within `d`.
    fn quiet(f: &mut Follower, got: &mut Got, d: Duration) {
        let before = got.lines.len();
        let end = Instant::now() + d;
        while Instant::now() < end {
            let (c, n) = f.wait(end - Instant::now()).unwrap();
            got.add(c, n);
        }
        assert_eq!(got.lines.len(), before, "unexpected {:?}", got.texts());
    }

    fn append(path: &Path, s: &str) {
        let mut w = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        w.write_all(s.as_bytes()).unwrap();
    }

    fn spin_until(what: &str, cond: impl Fn() -> bool) {
        let end = Instant::now() + DEADLINE;
        while !cond() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn followers_can_move_to_a_thread() {
        fn send<T: Send>() {}
        send::<Follower>();
        send::<StdinFollower>();
    }

    #[test]
    fn glob_matching() {
        assert!(glob_match(b"*.log", b"a.log"));
        assert!(!glob_match(b"*.log", b".log.log"));
        assert!(glob_match(b".*", b".x"));
        assert!(glob_match(b"gw-??.log", b"gw-01.log"));
        assert!(!glob_match(b"gw-??.log", b"gw-1.log"));
        assert!(glob_match(b"*a*b*", b"xxaxxbxx"));
        assert!(!glob_match(b"*a*b", b"xxaxxbxx"));
        assert!(glob_match(b"*", b"anything"));
        assert!(!glob_match(b"*.log", b"a.log.1"));
        assert!(
            Follower::new(&["/tmp/*/x.log".to_owned()], opts(None, false))
                .err()
                .unwrap()
                .to_string()
                .contains("file name only")
        );
    }

    #[test]
    fn appended_lines_are_delivered_with_their_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        append(&path, "one\ntwo\nthree\n");
        let mut f = follower(&[&path], opts(None, false));
        let mut got = Got::default();
        quiet(&mut f, &mut got, Duration::from_millis(200));
        append(&path, "four\nfive\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        append(&path, "six\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        let expect: Vec<(u32, PathBuf, u64, String)> = [(4, "four"), (5, "five"), (6, "six")]
            .iter()
            .map(|(n, s)| (0, path.clone(), *n, s.to_string()))
            .collect();
        assert_eq!(got.lines, expect);
        assert!(got.notes.is_empty(), "{:?}", got.notes);
    }

    #[test]
    fn partial_line_waits_for_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        append(&path, "old\nstarted but");
        let mut f = follower(&[&path], opts(None, false));
        let mut got = Got::default();
        quiet(&mut f, &mut got, Duration::from_millis(200));
        append(&path, " finished\nabc");
        until(&mut f, &mut got, |g| !g.lines.is_empty());
        quiet(&mut f, &mut got, Duration::from_millis(300));
        append(&path, "def\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        assert_eq!(got.texts(), ["started but finished", "abcdef"]);
        assert_eq!(got.lines[0].2, 2);
        assert_eq!(got.lines[1].2, 3);
    }

    #[test]
    fn rename_and_create_drains_the_old_file_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        fs::write(&path, "").unwrap();
        let mut f = follower(&[&path], opts(None, false));
        let mut w = fs::OpenOptions::new().append(true).open(&path).unwrap();
        w.write_all(b"a\nb\n").unwrap();
        let mut got = Got::default();
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        // logrotate `create`: rename, create; the writer goes on with the old file until it
        // reopens the path.
        fs::rename(&path, dir.path().join("gw.log.1")).unwrap();
        w.write_all(b"c\n").unwrap();
        let mut f2 = fs::File::create(&path).unwrap();
        let (c, n) = f.wait(Duration::from_millis(100)).unwrap();
        got.add(c, n);
        w.write_all(b"d\nlast without newline").unwrap();
        let (c, n) = f.wait(Duration::from_millis(100)).unwrap();
        got.add(c, n);
        f2.write_all(b"e\nf\n").unwrap();
        until(&mut f, &mut got, |g| g.lines.len() >= 7);
        assert_eq!(
            got.texts(),
            ["a", "b", "c", "d", "last without newline", "e", "f"]
        );
        let numbers: Vec<u64> = got.lines.iter().map(|l| l.2).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 1, 2]);
        assert_eq!(got.count(|n| matches!(n, FollowNote::Rotated { .. })), 1);
        quiet(&mut f, &mut got, Duration::from_millis(200));
    }

    #[test]
    fn copytruncate_restarts_at_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        fs::write(&path, "").unwrap();
        let mut f = follower(&[&path], opts(None, false));
        let mut got = Got::default();
        append(&path, "line 1\nline 2\nline 3\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        fs::copy(&path, dir.path().join("gw.log.1")).unwrap();
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&path, "line 4\nline 5\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 5);
        assert_eq!(
            got.texts(),
            ["line 1", "line 2", "line 3", "line 4", "line 5"]
        );
        assert_eq!(got.lines[3].2, 1);
        assert_eq!(got.count(|n| matches!(n, FollowNote::Truncated { .. })), 1);
    }

    #[test]
    fn delete_and_recreate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        fs::write(&path, "").unwrap();
        let mut f = follower(&[&path], opts(None, false));
        let mut got = Got::default();
        append(&path, "a\nb");
        until(&mut f, &mut got, |g| !g.lines.is_empty());
        fs::remove_file(&path).unwrap();
        append(&path, "c\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        // The deleted file's partial last line is delivered: nothing can complete it.
        assert_eq!(got.texts(), ["a", "b", "c"]);
        // Removed + Created, or Rotated when the new file was there at the first look.
        assert!(
            got.count(|n| matches!(n, FollowNote::Rotated { .. } | FollowNote::Created { .. }))
                == 1,
            "{:?}",
            got.notes
        );
        let removed = got.count(|n| matches!(n, FollowNote::Removed { .. }));
        fs::remove_file(&path).unwrap();
        until(&mut f, &mut got, |g| {
            g.count(|n| matches!(n, FollowNote::Removed { .. })) > removed
        });
        append(&path, "d\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 4);
        assert_eq!(got.lines[3].2, 1);
        assert!(matches!(got.notes.last(), Some(FollowNote::Created { .. })));
    }

    #[test]
    fn absent_at_start_then_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.log");
        let mut f = follower(&[&path], opts(None, false));
        let mut got = Got::default();
        quiet(&mut f, &mut got, Duration::from_millis(200));
        append(&path, "first\nsecond\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        assert_eq!(got.texts(), ["first", "second"]);
        assert_eq!(
            got.notes,
            [FollowNote::Created {
                input: 0,
                path: path.clone()
            }]
        );
    }

    #[test]
    fn absent_directory_is_picked_up_by_the_safety_net() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("later");
        let path = sub.join("gw.log");
        let mut f = follower(&[&path], opts(None, false));
        let mut got = Got::default();
        fs::create_dir(&sub).unwrap();
        append(&path, "x\n");
        until(&mut f, &mut got, |g| !g.lines.is_empty());
        // Now the directory is watched: the next line comes by event.
        append(&path, "y\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        assert_eq!(got.texts(), ["x", "y"]);
    }

    #[test]
    fn glob_picks_up_new_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.log");
        append(&a, "old a\n");
        let other = dir.path().join("other.txt");
        let pats = [
            other.display().to_string(),
            dir.path().join("*.log").display().to_string(),
        ];
        let mut f = Follower::new(&pats, opts(None, false)).unwrap();
        let mut got = Got::default();
        quiet(&mut f, &mut got, Duration::from_millis(200));
        let b = dir.path().join("b.log");
        append(&b, "b1\nb2\n");
        append(&dir.path().join("c.txt"), "not matched\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        append(&a, "a2\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        append(&other, "o1\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 4);
        let expect: Vec<(u32, PathBuf, u64, String)> = vec![
            (1, b.clone(), 1, "b1".into()),
            (1, b.clone(), 2, "b2".into()),
            (1, a.clone(), 2, "a2".into()),
            (0, other.clone(), 1, "o1".into()),
        ];
        assert_eq!(got.lines, expect);
        assert!(
            got.notes
                .contains(&FollowNote::Created { input: 1, path: b })
        );
    }

    #[test]
    fn glob_match_of_a_renamed_file_is_not_read_again() {
        // The application renames gw.log to gw-1.log (which the glob matches too) and starts
        // a new gw.log: gw-1.log goes on where gw.log stopped.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        fs::write(&path, "").unwrap();
        let pats = [dir.path().join("gw*.log").display().to_string()];
        let mut f = Follower::new(&pats, opts(None, false)).unwrap();
        let mut got = Got::default();
        let mut w = fs::OpenOptions::new().append(true).open(&path).unwrap();
        w.write_all(b"1\n2\n").unwrap();
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        fs::rename(&path, dir.path().join("gw-1.log")).unwrap();
        w.write_all(b"3\n").unwrap();
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        append(&path, "4\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 4);
        quiet(&mut f, &mut got, Duration::from_millis(1500));
        assert_eq!(got.texts(), ["1", "2", "3", "4"]);
    }

    #[test]
    fn from_start_reads_existing_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        append(&path, "one\ntwo\npartial");
        let mut f = follower(&[&path], opts(None, true));
        let mut got = Got::default();
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        quiet(&mut f, &mut got, Duration::from_millis(200));
        append(&path, "\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        assert_eq!(got.texts(), ["one", "two", "partial"]);
    }

    #[test]
    fn overlong_lines_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        fs::write(&path, "").unwrap();
        let mut f = follower(&[&path], opts(None, false));
        let mut got = Got::default();
        let long = "x".repeat(5000);
        append(&path, &format!("short\n{long}\nafter\n"));
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        // An overlong line arriving in pieces is dropped as it streams, never held.
        append(&path, &"y".repeat(700));
        let (c, n) = f.wait(Duration::from_millis(100)).unwrap();
        got.add(c, n);
        append(&path, &"y".repeat(700));
        let (c, n) = f.wait(Duration::from_millis(100)).unwrap();
        got.add(c, n);
        append(&path, &format!("{}\nend\n", "y".repeat(700)));
        until(&mut f, &mut got, |g| g.lines.len() >= 3);
        let lines: Vec<(u64, &str)> = got.lines.iter().map(|l| (l.2, l.3.as_str())).collect();
        assert_eq!(lines, [(1, "short"), (3, "after"), (5, "end")]);
        assert_eq!(got.overlong, [2, 4]);
        let mut lines = Lines::new(1000);
        let mut out = Vec::new();
        let mut emit = Emit::new(&mut out, 0, Path::new("x"));
        lines.feed(&[b'z'; 3000], &mut emit);
        assert!(lines.partial.capacity() < 2000);
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Style {
        Create,
        CopyTruncate,
    }

    /// 20 000 numbered lines from a steady writer thread, rotated every 1 000 lines: each line
    /// delivered once, in order.
    fn rotation_stress(style: Style, poll: Option<Duration>) {
        const N: u64 = 20_000;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        fs::write(&path, "").unwrap();
        let mut f = follower(&[&path], opts(poll, false));
        let seen = Arc::new(AtomicUsize::new(0)); // rotations or truncations noticed
        let delivered = Arc::new(AtomicU64::new(0));
        let writer = {
            let (seen, delivered, path) = (seen.clone(), delivered.clone(), path.clone());
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let open = || {
                    fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .unwrap()
                };
                let mut w = open();
                // Each line in two writes, so that the follower also sees partial lines.
                let put = |w: &mut fs::File, i: u64| {
                    let line = format!("line {i:05} {}\n", "p".repeat((i % 37) as usize));
                    let cut = (i as usize * 7) % line.len();
                    w.write_all(&line.as_bytes()[..cut]).unwrap();
                    w.write_all(&line.as_bytes()[cut..]).unwrap();
                };
                let mut i = 0;
                while i < N {
                    if i > 0 && i % 1000 == 0 {
                        let k = (i / 1000) as usize;
                        let rotated = dir.join(format!("gw.log.{k}"));
                        match style {
                            Style::Create => {
                                // Rotations hours apart in real life: at least the previous
                                // one has been noticed (tail -F, too, cannot follow a file
                                // that was rotated away twice before it looked).
                                spin_until("previous rotation", || {
                                    seen.load(Ordering::SeqCst) + 1 >= k
                                });
                                fs::rename(&path, &rotated).unwrap();
                                // The writer goes on with the old file until it reopens.
                                for _ in 0..3 {
                                    put(&mut w, i);
                                    i += 1;
                                }
                                let mut new = open();
                                put(&mut w, i);
                                i += 1;
                                std::mem::swap(&mut w, &mut new);
                            }
                            Style::CopyTruncate => {
                                // copytruncate has two inherent races, in real `tail -F` as
                                // here: lines written between the copy and the truncation are
                                // only in the copy, and lines the follower had not read yet
                                // when the file was truncated are gone from it. A truncation
                                // is also seen only while the file is shorter than what was
                                // read. So the writer pauses: until all it wrote is read, for
                                // the copy and truncation, and until the truncation is seen.
                                spin_until("lines read before the copy", || {
                                    delivered.load(Ordering::SeqCst) == i
                                });
                                fs::copy(&path, &rotated).unwrap();
                                fs::OpenOptions::new()
                                    .write(true)
                                    .open(&path)
                                    .unwrap()
                                    .set_len(0)
                                    .unwrap();
                                spin_until("truncation noticed", || {
                                    seen.load(Ordering::SeqCst) >= k
                                });
                            }
                        }
                    }
                    put(&mut w, i);
                    i += 1;
                    if i % 25 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            })
        };
        let mut next = 0u64;
        let mut line_no = 0u64;
        let end = Instant::now() + Duration::from_secs(60);
        while next < N {
            assert!(Instant::now() < end, "timed out at line {next}");
            let (chunks, notes) = f.wait(Duration::from_millis(200)).unwrap();
            for n in &notes {
                match n {
                    FollowNote::Rotated { .. } if style == Style::Create => {}
                    FollowNote::Truncated { .. } if style == Style::CopyTruncate => {}
                    // Between the rename and the creation, the path is absent.
                    FollowNote::Removed { .. } if style == Style::Create => continue,
                    other => panic!("unexpected note {other:?}"),
                }
                seen.fetch_add(1, Ordering::SeqCst);
            }
            for c in chunks {
                assert!(c.overlong.is_empty());
                assert!(
                    c.first_line == line_no + 1 || c.first_line == 1,
                    "numbering"
                );
                line_no = c.first_line - 1;
                for l in c.data.split_inclusive(|b| *b == b'\n') {
                    let want = format!("line {next:05} {}\n", "p".repeat((next % 37) as usize));
                    assert_eq!(std::str::from_utf8(l).unwrap(), want);
                    next += 1;
                    line_no += 1;
                }
                delivered.store(next, Ordering::SeqCst);
            }
        }
        writer.join().unwrap();
        let mut got = Got::default();
        quiet(&mut f, &mut got, Duration::from_millis(300));
        assert_eq!(seen.load(Ordering::SeqCst) + got.notes.len(), 19);
    }

    #[test]
    fn rotation_stress_create() {
        rotation_stress(Style::Create, None);
    }

    #[test]
    fn rotation_stress_copytruncate() {
        rotation_stress(Style::CopyTruncate, None);
    }

    #[test]
    fn rotation_stress_create_poll() {
        rotation_stress(Style::Create, Some(Duration::from_millis(50)));
    }

    #[test]
    fn rotation_stress_copytruncate_poll() {
        rotation_stress(Style::CopyTruncate, Some(Duration::from_millis(50)));
    }

    #[test]
    fn poll_mode_follows_appends_and_creation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.log");
        let mut f = follower(&[&path], opts(Some(Duration::from_millis(50)), false));
        let mut got = Got::default();
        append(&path, "a\n");
        until(&mut f, &mut got, |g| !g.lines.is_empty());
        append(&path, "b\n");
        until(&mut f, &mut got, |g| g.lines.len() >= 2);
        assert_eq!(got.texts(), ["a", "b"]);
    }

    fn cpu_seconds() -> f64 {
        // SAFETY: getrusage fills the struct it is given.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        t(ru.ru_utime) + t(ru.ru_stime)
    }

    /// An idle wait blocks: measured in a child process running only this test, so that the
    /// process CPU time (all threads, the watcher's included) is this follower's alone.
    #[test]
    fn idle_wait_uses_no_cpu() {
        const CHILD: &str = "GWMON_FOLLOW_IDLE_CHILD";
        if std::env::var_os(CHILD).is_some() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("gw.log");
            append(&path, "existing\n");
            let mut f = follower(&[&path], opts(None, false));
            let (c, _) = f.wait(Duration::from_millis(50)).unwrap();
            assert!(c.is_empty());
            let (cpu0, t0) = (cpu_seconds(), Instant::now());
            let (c, n) = f.wait(Duration::from_secs(2)).unwrap();
            let (cpu, wall) = (cpu_seconds() - cpu0, t0.elapsed());
            assert!(c.is_empty() && n.is_empty());
            assert!(
                wall >= Duration::from_millis(1990),
                "returned early: {wall:?}"
            );
            println!("idle wait: {cpu:.4} s CPU over {wall:?}");
            assert!(cpu < 0.1, "idle wait used {cpu} s of CPU");
            return;
        }
        let name = "source::follow::tests::idle_wait_uses_no_cpu";
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--test-threads=1", "--nocapture"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(text.contains("idle wait:"), "the child did not run: {text}");
    }

    #[test]
    fn stdin_holds_a_partial_line_until_its_newline_or_the_end() {
        let (r, mut w) = io::pipe().unwrap();
        let mut s = StdinFollower::from_reader(Box::new(r), 1000);
        let mut lines = Vec::new();
        let mut eof = false;
        let mut collect = |s: &mut StdinFollower, want: usize, lines: &mut Vec<(u64, String)>| {
            let end = Instant::now() + DEADLINE;
            while lines.len() < want && !eof {
                assert!(Instant::now() < end);
                let (chunks, e) = s.wait(Duration::from_millis(200));
                eof = e;
                for c in chunks {
                    let text = String::from_utf8(c.data).unwrap();
                    for (k, l) in text.lines().enumerate() {
                        lines.push((c.first_line + k as u64, l.to_owned()));
                    }
                }
            }
        };
        w.write_all(b"a\nb").unwrap();
        collect(&mut s, 1, &mut lines);
        assert_eq!(s.wait(Duration::from_millis(200)), (vec![], false));
        w.write_all(b"c\nd").unwrap();
        collect(&mut s, 2, &mut lines);
        drop(w);
        collect(&mut s, 3, &mut lines);
        let want: Vec<(u64, String)> = vec![(1, "a".into()), (2, "bc".into()), (3, "d".into())];
        assert_eq!(lines, want);
        let end = Instant::now() + DEADLINE;
        while !s.wait(Duration::from_millis(100)).1 {
            assert!(Instant::now() < end);
        }
        assert!(s.error().is_none());
    }
}
