//! The per-path state machine of the follower: which generation of a file a followed path is
//! read from, and when to move on to the next one (rename + create, copytruncate, delete +
//! recreate, a file taken over by another name).

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

use super::backlog::{Backlog, Head, WhatWasRead};
use super::{CHUNK_TARGET, FollowChunk, FollowNote, Follower, MAX_RETIRED};
use crate::source::framer::{AtEnd, Framer};
use crate::source::identity::FileId;
use crate::source::input::Compression;

/// One concrete followed path.
pub(super) struct Tracked {
    pub(super) input: u32,
    pub(super) path: PathBuf,
    pub(super) name: OsString,
    pub(super) from_glob: bool,
    /// The file being read (the one the path named, or still the old one after a rename).
    pub(super) current: Option<Generation>,
    /// The path exists (as last checked).
    pub(super) present: bool,
    /// The old file was taken over by another path: the next file opened here is a rotation.
    pub(super) rotated: bool,
    /// The path names a file another entry already follows (hard link, overlapping patterns).
    pub(super) dup_of: Option<FileId>,
    pub(super) error: Option<String>,
    /// Files to read whole before the current one (missed generations, a copytruncate's copy).
    pub(super) backlog: Backlog,
    /// Rotated, and the path named no file when the next was to be opened (logrotate renames
    /// the log, then creates the next): when the old file last changed. Generations rotated
    /// away before the path is opened again are looked for from then.
    pub(super) missed_since: Option<std::time::SystemTime>,
}

impl Tracked {
    /// The path no longer names the file being read.
    pub(super) fn is_detached(&self) -> bool {
        let Some(g) = &self.current else {
            return false;
        };
        fs::metadata(&self.path).map_or(true, |m| FileId::of(&m) != g.id)
    }
}

/// How many of the last bytes read are kept to notice a file rewritten under the reader.
const TAIL: usize = 64;
/// How many of a file's first bytes are kept as read, to tell its copy from another file's
/// that starts alike (a banner) but is shorter than what was read: files that share a banner
/// differ after it. 8 KiB per followed file (a glob over 200 gateways' logs: 1.6 MiB).
pub(super) const FIRST: usize = 8 * 1024;

/// Positioned reads of an open file at an advancing offset (the descriptor is also used for
/// metadata checks, so its own position is never relied on). A compressed file is noticed at
/// its first bytes and then reads as empty: a rotated, compressed file does not grow.
pub(super) struct FileAt {
    file: File,
    /// Bytes read from the file.
    offset: u64,
    sniffed: bool,
    compressed: bool,
    /// The last bytes read (those just before `offset`), `tail_len` of them.
    tail: [u8; TAIL],
    tail_len: usize,
    /// The file's first bytes as last taken in ([`Generation::refresh_head`], or as read).
    head: Head,
    /// The first bytes read from it (up to [`FIRST`]), while read from its start: the head of
    /// what was read, even when the file was written between taking its head and reading,
    /// and what a copy of it must start with.
    first: Vec<u8>,
}

impl FileAt {
    fn new(file: File) -> FileAt {
        FileAt {
            file,
            offset: 0,
            sniffed: false,
            compressed: false,
            tail: [0; TAIL],
            tail_len: 0,
            head: Head::default(),
            first: Vec::new(),
        }
    }

    /// Keep the bytes of `data`, just read at the offset, among the first ones; the head is
    /// theirs (up to `HEAD`) once they are more than it holds.
    fn keep_first(&mut self, data: &[u8]) {
        use crate::source::identity::{HEAD, fingerprint};
        if self.first.len() as u64 != self.offset || self.first.len() >= FIRST {
            return;
        }
        let take = data.len().min(FIRST - self.first.len());
        self.first.extend_from_slice(&data[..take]);
        let head = &self.first[..self.first.len().min(HEAD)];
        if head.len() > self.head.len {
            self.head = Head {
                fp: fingerprint(head),
                len: head.len(),
            };
        }
    }

    /// The file's first bytes are no longer those taken in: truncated and written again, where
    /// the bytes before the offset are too few to tell, or happen to be alike (lines that
    /// differ only at their ends).
    fn head_changed(&self) -> bool {
        if self.head.len == 0 || self.compressed {
            return false;
        }
        let mut b = [0u8; crate::source::identity::HEAD];
        let len = self.head.len.min(b.len());
        match self.file.read_at(&mut b[..len], 0) {
            Ok(n) => n < len || crate::source::identity::fingerprint(&b[..len]) != self.head.fp,
            Err(_) => false,
        }
    }

    /// Keep the last bytes of `data`, just read, as the tail.
    fn keep_tail(&mut self, data: &[u8]) {
        if data.len() >= TAIL {
            self.tail.copy_from_slice(&data[data.len() - TAIL..]);
            self.tail_len = TAIL;
        } else {
            let keep = (TAIL - data.len()).min(self.tail_len);
            self.tail
                .copy_within(self.tail_len - keep..self.tail_len, 0);
            self.tail[keep..keep + data.len()].copy_from_slice(data);
            self.tail_len = keep + data.len();
        }
    }

    /// Take the tail from the file itself (after starting at an offset without reading up to it).
    fn load_tail(&mut self) {
        let len = (self.offset as usize).min(TAIL);
        let mut b = [0u8; TAIL];
        self.tail_len = 0;
        if let Ok(n) = self.file.read_at(&mut b[..len], self.offset - len as u64)
            && n == len
        {
            self.tail[..len].copy_from_slice(&b[..len]);
            self.tail_len = len;
        }
    }

    /// The fingerprint of the last bytes read and the offset they end at, when they are the
    /// [`TAIL`] bytes before it (or all of a shorter file's), as
    /// [`content_tail`](crate::source::resume::content_tail) gives them.
    pub(super) fn tail(&self) -> Option<(u64, u64)> {
        (self.tail_len > 0 && self.tail_len as u64 == self.offset.min(TAIL as u64)).then(|| {
            (
                crate::source::identity::fingerprint(&self.tail[..self.tail_len]),
                self.offset,
            )
        })
    }

    /// The bytes before the offset are still those that were read. They are not when the file
    /// was truncated and written past the old offset again between two looks (a copytruncate
    /// under a busy writer): its length alone does not show that.
    fn unchanged(&self) -> bool {
        if self.tail_len == 0 || self.compressed {
            return true;
        }
        let mut b = [0u8; TAIL];
        let at = self.offset - self.tail_len as u64;
        match self.file.read_at(&mut b[..self.tail_len], at) {
            Ok(n) => n == self.tail_len && b[..n] == self.tail[..n],
            Err(_) => true,
        }
    }
}

impl Read for FileAt {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.compressed {
            return Ok(0);
        }
        let n = self.file.read_at(buf, self.offset)?;
        // Truncated and written past the offset again while this read was under way (the look
        // before it found the file as it was read): what came is the new content, not the rest
        // of the old. Not taken; the next look sees the change and goes by the copy.
        if n > 0 && (!self.unchanged() || self.head_changed()) {
            return Ok(0);
        }
        if self.offset == 0 && !self.sniffed && n >= 2 {
            self.sniffed = true;
            if Compression::detect(&buf[..n]).is_some() {
                self.compressed = true;
                return Ok(0);
            }
        }
        self.keep_first(&buf[..n]);
        self.offset += n as u64;
        self.keep_tail(&buf[..n]);
        Ok(n)
    }
}

/// One generation of a file: the open descriptor and how far it was read.
pub(super) struct Generation {
    pub(super) id: FileId,
    framer: Framer<FileAt>,
    /// When it last changed, as last looked at (copies made since are newer).
    changed: Option<std::time::SystemTime>,
}

impl Generation {
    fn new(file: File, m: &fs::Metadata, max_line: usize) -> Generation {
        let mut framer = Framer::new(FileAt::new(file), CHUNK_TARGET, max_line);
        framer.at_end = AtEnd::Wait;
        Generation {
            id: FileId::of(m),
            framer,
            changed: None,
        }
    }

    /// Its first bytes (up to `HEAD`), to find its copy after a copytruncate.
    pub(super) fn head(&self) -> Head {
        self.framer.get_ref().head
    }

    /// Take in the file's first bytes while they are fewer than `HEAD` — as long as they
    /// start with those read (else it was truncated and written again: the next read sees so).
    fn refresh_head(&mut self) {
        use crate::source::identity::{HEAD, fingerprint};
        let at = self.framer.get_mut();
        if at.head.len >= HEAD {
            return;
        }
        let mut b = vec![0u8; HEAD];
        if let Ok(n) = at.file.read_at(&mut b, 0)
            && n > at.head.len
            && b[..n.min(at.first.len())] == at.first[..n.min(at.first.len())]
        {
            at.head = Head {
                fp: fingerprint(&b[..n]),
                len: n,
            };
        }
    }

    fn file(&self) -> &File {
        &self.framer.get_ref().file
    }

    fn head_changed(&self) -> bool {
        self.framer.get_ref().head_changed()
    }

    pub(super) fn compressed(&self) -> bool {
        self.framer.get_ref().compressed
    }

    /// Where reading goes on from (the end of the last complete line at startup), and the
    /// number of the next line.
    pub(super) fn position(&self) -> (u64, u64) {
        (self.framer.get_ref().offset, self.framer.next_line)
    }

    /// Where a later run resumes this file: the end of the last complete line consumed, the
    /// number of the next line, and the file's identity and first bytes (read from the open
    /// file, not its path, which may name another file by now).
    pub(super) fn resume_point(&self) -> Option<(u64, u64, FileId, Vec<u8>)> {
        use std::os::unix::fs::FileExt;
        if self.compressed() {
            return None;
        }
        let m = self.file().metadata().ok()?;
        let mut head = vec![0; (m.len() as usize).min(crate::source::identity::HEAD)];
        let mut got = 0;
        while got < head.len() {
            match self.file().read_at(&mut head[got..], got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        head.truncate(got);
        Some((self.framer.consumed, self.framer.next_line, self.id, head))
    }

    pub(super) fn nlink(&self) -> u64 {
        self.file().metadata().map_or(0, |m| m.nlink())
    }

    /// Start reading at the end of the last complete line, counting the lines before it.
    fn skip_existing(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        if buf.len() < 256 * 1024 {
            buf.resize(256 * 1024, 0);
        }
        let at = self.framer.get_mut();
        let size = at.file.metadata()?.len();
        let (mut off, mut lines, mut start) = (0u64, 0u64, 0u64);
        while off < size {
            let want = buf.len().min((size - off) as usize);
            let n = match at.file.read_at(&mut buf[..want], off) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if off == 0 && n >= 2 {
                at.sniffed = true;
                if Compression::detect(&buf[..n]).is_some() {
                    at.compressed = true;
                    return Ok(());
                }
            }
            lines += bytecount::count(&buf[..n], b'\n') as u64;
            if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
                start = off + i as u64 + 1;
            }
            // Its first bytes, as if read (what its copy starts with).
            if at.first.len() as u64 == off && at.first.len() < FIRST {
                let take = n.min(FIRST - at.first.len());
                at.first.extend_from_slice(&buf[..take]);
            }
            off += n as u64;
        }
        at.first.truncate(start.min(at.first.len() as u64) as usize);
        at.offset = start;
        at.load_tail();
        self.framer.next_line = lines + 1;
        self.framer.consumed = start;
        Ok(())
    }

    /// Read up to about `budget` bytes from the offset on, into chunks. `Ok(true)` once at the
    /// end of the file.
    fn read(
        &mut self,
        scratch: &mut Vec<u8>,
        out: &mut Vec<FollowChunk>,
        input: u32,
        path: &std::path::Path,
        budget: &mut usize,
    ) -> io::Result<bool> {
        loop {
            if *budget == 0 {
                return Ok(false);
            }
            let before = self.framer.get_ref().offset;
            let Some(c) = self.framer.next_chunk(std::mem::take(scratch))? else {
                return Ok(true);
            };
            let read = self.framer.get_ref().offset - before;
            *budget = budget.saturating_sub(read as usize);
            out.push(FollowChunk {
                input,
                path: path.to_path_buf(),
                first_line: c.first_line,
                data: c.data().to_vec(),
                overlong: c.overlong,
            });
            *scratch = c.buf;
        }
    }

    /// Nothing can complete a held partial line any more: deliver it (with a newline).
    fn flush(&mut self, out: &mut Vec<FollowChunk>, input: u32, path: &std::path::Path) {
        if let Some(c) = self.framer.flush() {
            out.push(FollowChunk {
                input,
                path: path.to_path_buf(),
                first_line: c.first_line,
                data: c.buf,
                overlong: c.overlong,
            });
        }
    }

    /// The file was truncated in place: what was read is gone, start again at its start (and
    /// take its first bytes anew: the next copytruncate's copy starts with them).
    fn restart(&mut self) {
        self.framer.next_line = 1;
        self.framer.consumed = 0;
        let at = self.framer.get_mut();
        at.offset = 0;
        at.sniffed = false;
        at.tail_len = 0;
        at.head = Head::default();
        at.first.clear();
    }
}

impl Follower {
    /// Open the file the entry's path names now. At startup it is read from its end (unless
    /// `from_start`); later from its start — unless it is a file already followed under another
    /// name (renamed), which is continued where it was.
    pub(super) fn open(&mut self, i: usize, startup: bool) -> bool {
        let path = self.entries[i].path.clone();
        // Non-blocking: opening a FIFO put where the file was must not wait for a writer.
        let file = match fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return false,
            Err(e) => {
                self.error(i, format!("cannot open: {e}"));
                return false;
            }
        };
        if file.metadata().is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            self.error(
                i,
                "not a regular file (a FIFO, socket or device): not followed; pipe it into \
                 `gwmon watch` instead"
                    .into(),
            );
            return false;
        }
        let m = match file.metadata() {
            Ok(m) => m,
            Err(e) => {
                self.error(i, format!("{e}"));
                return false;
            }
        };
        let id = FileId::of(&m);
        // Another entry following this very file?
        if let Some(j) = self
            .entries
            .iter()
            .position(|e| e.current.as_ref().is_some_and(|g| g.id == id))
        {
            let still_there =
                fs::metadata(&self.entries[j].path).is_ok_and(|m| FileId::of(&m) == id);
            if still_there {
                // Two names, one file: the other entry follows it.
                if self.entries[i].dup_of != Some(id) {
                    self.notes.push(FollowNote::Duplicate {
                        input: self.entries[i].input,
                        path: self.entries[i].path.clone(),
                        of: self.entries[j].path.clone(),
                    });
                }
                self.entries[i].dup_of = Some(id);
                return false;
            }
            // Renamed from the other entry's path to this one: take it over as it is.
            let g = self.entries[j].current.take();
            self.entries[j].rotated = true;
            self.entries[i].current = g;
            self.entries[i].dup_of = None;
            self.entries[i].error = None;
            return true;
        }
        self.entries[i].dup_of = None;
        self.entries[i].error = None;
        if let Some(k) = self.retired.iter().position(|g| g.id == id) {
            self.entries[i].current = Some(self.retired.remove(k));
            return true;
        }
        self.remember(id, &m);
        let mut g = Generation::new(file, &m, self.opts.max_line);
        if startup
            && !self.opts.from_start
            && let Err(e) = g.skip_existing(&mut self.buf)
        {
            self.error(i, format!("read error: {e}"));
        }
        if g.compressed() {
            // A compressed (rotated) file does not grow: nothing to follow.
            if !self.entries[i].from_glob {
                self.error(i, "compressed: not followed".into());
            }
        }
        // What it starts with now, before reading it: a copytruncate before the first read
        // shows as other first bytes. And when it last changed: opened empty, it may be
        // written and copytruncated before it is read (as between two looks).
        g.refresh_head();
        g.changed = m.modified().ok();
        self.entries[i].current = Some(g);
        true
    }

    /// Read what is new in the entry's file, then see whether its path still names it.
    pub(super) fn check_entry(&mut self, i: usize, budget: &mut usize) {
        self.read_current(i, budget);
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
                if e.current.as_ref().is_some_and(|g| g.nlink() == 0)
                    && self.read_current(i, budget)
                {
                    self.finish_current(i);
                }
            }
            Err(err) => self.error(i, format!("{err}")),
            Ok(m) => {
                let appeared = !e.present;
                e.present = true;
                if m.is_dir() {
                    return self.error(i, "is a directory".into());
                }
                let id = FileId::of(&m);
                if e.dup_of == Some(id) {
                    return;
                }
                match &mut e.current {
                    Some(g) if g.id == id => {}
                    Some(g) => {
                        // The path names another file. Go on reading the old one until the
                        // writer has moved on (the new file has data, or a newer generation
                        // beside it has: rotated twice, the latest still empty) or the old one
                        // is deleted.
                        if !(m.len() > 0 || g.nlink() == 0) {
                            let since = g.file().metadata().ok().and_then(|m| m.modified().ok());
                            if !since.is_some_and(|t| self.newer_generation_beside(i, t, id)) {
                                return;
                            }
                        }
                        // Read it to its end once more: what the writer wrote to it before
                        // writing to the new file is there now.
                        if !self.read_current(i, budget) {
                            return;
                        }
                        let since = self.entries[i]
                            .current
                            .as_ref()
                            .and_then(|g| g.file().metadata().ok())
                            .and_then(|m| m.modified().ok());
                        self.finish_current(i);
                        self.entries[i].rotated = true;
                        self.open_new(i, appeared, since, budget);
                    }
                    None => {
                        let since = e.missed_since.take();
                        self.open_new(i, appeared, since, budget)
                    }
                }
            }
        }
    }

    /// Done with the entry's current file: deliver its partial last line, keep it open among
    /// the retired ones unless it is deleted.
    fn finish_current(&mut self, i: usize) {
        let e = &mut self.entries[i];
        let Some(mut g) = e.current.take() else {
            return;
        };
        g.flush(&mut self.chunks, e.input, &e.path);
        // What it started with is for finding its copy, which only the current file may need.
        g.framer.get_mut().first = Vec::new();
        g.refresh_head();
        let head = g.head();
        if head.len > 0 {
            let len = g.framer.consumed;
            self.remember_head(head, len);
            self.remember_content(g.id, head);
        }
        if let Some(t) = g.framer.get_ref().tail() {
            self.remember_tail(g.id, t);
        }
        if g.nlink() > 0 {
            self.retired.push(g);
            if self.retired.len() > MAX_RETIRED {
                self.retired.remove(0);
            }
        }
    }

    /// Open the file that appeared at the entry's path (after a rotation, a removal, or for the
    /// first time), tell so, and read it. After a rotation (`since`: the old file's last change),
    /// first the generations the path named between two looks and renamed away since — found
    /// once the new file is open, since the path may have moved on again in between.
    fn open_new(
        &mut self,
        i: usize,
        appeared: bool,
        since: Option<std::time::SystemTime>,
        budget: &mut usize,
    ) {
        let opened = self.open(i, false);
        if let Some(since) = since {
            let now = self.entries[i].current.as_ref().map(|g| g.id);
            let like = self.entries[i]
                .current
                .as_ref()
                .and_then(|g| g.file().try_clone().ok());
            self.find_missed(i, since, now, like, false);
        }
        if !opened {
            self.entries[i].missed_since = since;
            return;
        }
        if std::mem::take(&mut self.entries[i].rotated) {
            self.note(i, |input, path| FollowNote::Rotated { input, path });
        } else if appeared || self.entries[i].from_glob {
            self.note(i, |input, path| FollowNote::Created { input, path });
        }
        self.read_current(i, budget);
    }

    /// Read the entry's current file as far as the budget goes (after a truncation, from its
    /// start). True at its end.
    fn read_current(&mut self, i: usize, budget: &mut usize) -> bool {
        if !self.read_backlog(i, budget) {
            return false;
        }
        let e = &mut self.entries[i];
        let Some(g) = &mut e.current else {
            return true;
        };
        if g.compressed() {
            return true;
        }
        let meta = g.file().metadata().ok();
        let shrunk = meta
            .as_ref()
            .is_some_and(|m| m.len() < g.framer.get_ref().offset)
            || !g.framer.get_ref().unchanged()
            || g.head_changed();
        let mut changed = meta.as_ref().and_then(|m| m.modified().ok());
        if shrunk {
            // copytruncate: what was written after the last read is in the copy beside the
            // file (a held partial line included): read it from there, then the file anew.
            let (head, consumed, next_line) = (g.head(), g.framer.consumed, g.framer.next_line);
            let (since, id, tail) = (g.changed, g.id, g.framer.get_ref().tail());
            let first = std::mem::take(&mut g.framer.get_mut().first);
            g.framer.discard_partial();
            g.restart();
            // What it starts with now and when it changed, as at an open: it may be
            // copytruncated again before it is read.
            g.refresh_head();
            g.changed = changed;
            self.note(i, |input, path| FollowNote::Truncated { input, path });
            let read = WhatWasRead {
                head,
                first: &first,
                tail,
                consumed,
                next_line,
            };
            self.recover_copy(i, &read, id);
            // Generations copied and truncated away whole between two looks: copies made
            // since the file last changed, never seen.
            if let Some(since) = since {
                // (Not a copy of what it holds now: it is read from the file, from its start.)
                let like = self.entries[i]
                    .current
                    .as_ref()
                    .and_then(|g| g.file().try_clone().ok());
                self.find_missed(i, since, Some(id), like, false);
            }
            if !self.read_backlog(i, budget) {
                return false;
            }
            changed = self.entries[i]
                .current
                .as_ref()
                .and_then(|g| g.file().metadata().ok())
                .and_then(|m| m.modified().ok());
        }
        let e = &mut self.entries[i];
        let Some(g) = &mut e.current else {
            return true;
        };
        // Nothing of it read yet and nothing known of what it holds (empty at the last look,
        // when it was opened or found truncated), and changed since: it may have been written
        // and copytruncated in between, before any of it was read — empty again, or holding
        // what came after. The copy is a file written since, never seen, and no copy of what
        // the file holds now (that is read from the file).
        let emptied = g.framer.get_ref().offset == 0
            && g.head().len == 0
            && g.changed.is_some_and(|c| changed.is_some_and(|t| t > c));
        if emptied && let Some(since) = g.changed {
            let id = g.id;
            let like = g.file().try_clone().ok();
            self.find_missed(i, since, Some(id), like, true);
            if !self.read_backlog(i, budget) {
                let e = &mut self.entries[i];
                if let Some(g) = &mut e.current {
                    g.changed = changed.or(g.changed);
                }
                return false;
            }
        }
        let e = &mut self.entries[i];
        let Some(g) = &mut e.current else {
            return true;
        };
        // Nothing known of what it holds (empty as just looked at): what the read finds may
        // have been written after a copytruncate that came after that look.
        let unknown = (g.framer.get_ref().offset == 0 && g.head().len == 0)
            .then_some(changed)
            .flatten();
        g.changed = changed.or(g.changed);
        g.refresh_head();
        let mark = self.chunks.len();
        let r = g.read(&mut self.buf, &mut self.chunks, e.input, &e.path, budget);
        if let Some(since) = unknown
            && g.framer.get_ref().offset > 0
        {
            let (id, like) = (g.id, g.file().try_clone().ok());
            self.find_missed(i, since, Some(id), like, true);
            if !self.entries[i].backlog.is_empty() {
                // Copies made meanwhile hold what came before: read them first, then the file
                // again from its start.
                self.chunks.truncate(mark);
                if let Some(g) = &mut self.entries[i].current {
                    g.framer.discard_partial();
                    g.restart();
                }
                self.more = true;
                return false;
            }
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
