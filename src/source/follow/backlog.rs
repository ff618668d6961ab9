//! What a followed path held that the follower never opened, found beside it and read before
//! the path's current file:
//! - the generations a fast rotation (logrotate `create`, Docker's size-based rotation)
//!   renamed away between two looks: siblings written since the old file's last change, never
//!   opened;
//! - the copy a `copytruncate` made: what was written after the last read and before the
//!   truncation is only there (a sibling with the file's first bytes, longer than what was
//!   read).
//!
//! Each is read whole (decompressed if it was compressed meanwhile), streamed under the pass
//! budget like any file. A remainder that cannot be found is told (a `Lost` note, counted).

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{FollowChunk, FollowNote, Follower};
use crate::source::framer::Framer;
use crate::source::identity::{FileId, content_head, content_head_of, fingerprint};
use crate::source::resume::{Segment, frame_segment, is_copy_of, mid_compression, siblings};

/// Missed generations read after one rotation, at most (the newest are kept).
const MAX_MISSED: usize = 100;
/// Generations remembered as opened, so that none is read twice.
pub(super) const MAX_SEEN: usize = 4096;

/// A file to read whole before the entry's current one, opened when it was found (rotations
/// go on renaming files while it waits its turn: by then its name may be another file's).
pub(super) struct Pending {
    pub(super) path: PathBuf,
    /// Positioned where reading starts (the copy of a copytruncate: after what was read).
    framer: Framer,
    /// Its content's first bytes, taken when it was opened (its name may be another file's by
    /// the time it is read).
    head: Option<Head>,
    /// Where reading started in its content (the framer counts from there).
    start: u64,
    /// Its length, when it is not compressed (a compressed copy of it made meanwhile holds
    /// as much).
    len: Option<u64>,
    /// The `Recovered` note was given (at its first line).
    told: bool,
}

/// What was read from a file before it was truncated.
pub(super) struct WhatWasRead<'a> {
    /// Its first bytes.
    pub(super) head: Head,
    /// Its first bytes as read (up to [`FIRST`](super::rotation::FIRST); none when it was not
    /// read from its start).
    pub(super) first: &'a [u8],
    /// The fingerprint of the last bytes read, and the offset they end at.
    pub(super) tail: Option<(u64, u64)>,
    /// Bytes read up to the end of the last complete line, and the number of the next line.
    pub(super) consumed: u64,
    pub(super) next_line: u64,
}

/// The first bytes of a file, as a fingerprint and a length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) struct Head {
    pub(super) fp: u64,
    pub(super) len: usize,
}

/// Open the sibling `path` of `id` for reading from `offset` (line `line` on); when a rotation
/// renamed it meanwhile, the sibling that is `id` now. `None` when it is gone.
fn open_pending(
    path: &Path,
    id: FileId,
    offset: u64,
    line: u64,
    max_line: usize,
) -> Option<anyhow::Result<Pending>> {
    let is_it = |p: &Path| {
        let f = fs::File::open(p).ok()?;
        let m = f.metadata().ok()?;
        (FileId::of(&m) == id).then_some(f)
    };
    let (p, file) = match is_it(path) {
        Some(f) => (path.to_path_buf(), f),
        None => siblings(path)
            .into_iter()
            .filter(|(_, m)| FileId::of(m) == id)
            .find_map(|(p, _)| is_it(&p).map(|f| (p, f)))?,
    };
    let head = content_head_of(&file, crate::source::identity::HEAD)
        .ok()
        .filter(|h| !h.is_empty())
        .map(|h| Head {
            fp: fingerprint(&h),
            len: h.len(),
        });
    let len = (!crate::source::resume::is_compressed_file(&file))
        .then(|| file.metadata().ok().map(|m| m.len()))
        .flatten();
    let seg = Segment {
        path: p.clone(),
        offset,
        line,
        live: false,
        rest: false,
    };
    Some(frame_segment(file, &seg, max_line).map(|framer| Pending {
        path: p,
        framer,
        head,
        start: offset,
        len,
        told: false,
    }))
}

impl Follower {
    /// Queue the sibling `p` of `id` in entry `i`'s backlog (or tell why it cannot be read).
    fn queue(&mut self, i: usize, p: &Path, id: FileId, offset: u64, line: u64) {
        match open_pending(p, id, offset, line, self.opts.max_line) {
            Some(Ok(pending)) => {
                if let Some(head) = pending.head {
                    self.remember_content(id, head);
                }
                self.entries[i].backlog.push_back(pending);
            }
            Some(Err(e)) => self.notes.push(FollowNote::Error {
                input: self.entries[i].input,
                path: p.to_path_buf(),
                message: format!("{e:#}"),
            }),
            None => self.notes.push(FollowNote::Lost {
                input: self.entries[i].input,
                path: p.to_path_buf(),
                after: offset,
            }),
        }
    }

    /// Remember a file read to its end (`len` bytes of content, starting with `head`).
    pub(super) fn remember_head(&mut self, head: Head, len: u64) {
        if !self.seen_heads.contains(&(head, len)) {
            self.seen_heads.push_back((head, len));
            if self.seen_heads.len() > MAX_SEEN {
                self.seen_heads.pop_front();
            }
        }
    }

    /// Remember that the file `id` was opened (its first bytes follow with
    /// [`Follower::remember_content`]). Opened again, it may be another file that got a freed
    /// inode number: what it starts with is taken anew.
    pub(super) fn remember(&mut self, id: FileId, m: &fs::Metadata) {
        let born = m.created().ok();
        if let Some(e) = self.seen.iter_mut().find(|s| s.id == id) {
            e.head = Head::default();
            e.tail = None;
            e.born = born;
            return;
        }
        self.seen.push_back(Seen {
            id,
            head: Head::default(),
            tail: None,
            born,
        });
        if self.seen.len() > MAX_SEEN {
            self.seen.pop_front();
        }
    }

    /// Remember what the opened file `id` starts with, once known (see [`Follower::was_seen`]).
    pub(super) fn remember_content(&mut self, id: FileId, head: Head) {
        if let Some(e) = self.seen.iter_mut().find(|s| s.id == id)
            && head.len > e.head.len
        {
            e.head = head;
        }
    }

    /// Remember the bytes the file `id` holds before an offset (the fingerprint of the
    /// [`TAIL`](crate::source::resume::TAIL) bytes, and the offset): files that start alike (a
    /// banner) are told apart by them.
    pub(super) fn remember_tail(&mut self, id: FileId, tail: (u64, u64)) {
        if let Some(e) = self.seen.iter_mut().find(|s| s.id == id) {
            e.tail = Some(tail);
        }
    }

    /// The file at `p`, `id`, was opened before. Not when the inode was freed and reused since
    /// (a rotated file compressed and deleted, and a new one given its number): then its first
    /// bytes, or those before the offset it was known to, are not those remembered.
    fn was_seen(&self, id: FileId, p: &Path) -> bool {
        let Some(seen) = self.seen.iter().find(|s| s.id == id) else {
            return false;
        };
        // Created at another moment (where the file system keeps the birth time): another file.
        if let (Some(born), Ok(now)) = (seen.born, fs::metadata(p).and_then(|m| m.created()))
            && born != now
        {
            return false;
        }
        let head = seen.head;
        if head.len == 0 {
            return true;
        }
        // The content's first bytes (decompressed: a compressed copy is remembered by what it
        // holds, not by its bytes on disk). One that cannot be opened (gone) was seen.
        let same_head = match content_head(p, head.len) {
            Ok(b) => b.len() == head.len && fingerprint(&b) == head.fp,
            Err(_) => return fs::File::open(p).is_err(),
        };
        same_head
            && seen.tail.is_none_or(|(fp, end)| {
                crate::source::resume::content_tail(p, end).is_ok_and(|t| t == Some(fp))
            })
    }

    /// A sibling of entry `i`'s path changed after `since`, holds data and was never opened:
    /// a generation the writer moved on to (the path names `new`, which is not it).
    pub(super) fn newer_generation_beside(&self, i: usize, since: SystemTime, new: FileId) -> bool {
        siblings(&self.entries[i].path).into_iter().any(|(p, m)| {
            let id = FileId::of(&m);
            id != new
                && m.len() > 0
                && m.modified().is_ok_and(|t| t >= since)
                && !self.was_seen(id, &p)
                && !self
                    .entries
                    .iter()
                    .any(|e| e.current.as_ref().is_some_and(|g| g.id == id))
        })
    }

    /// After a rotation of entry `i` from the file `old` (last changed at `since`) to `new`:
    /// queue the siblings written since that were never opened, oldest first; not copies of
    /// `like`, the file being read (it still holds what they do). With `copies_only`, only
    /// files created since too (where the file system keeps birth times): copies made since,
    /// not an older generation the writer still appended to.
    pub(super) fn find_missed(
        &mut self,
        i: usize,
        since: SystemTime,
        new: Option<FileId>,
        like: Option<fs::File>,
        copies_only: bool,
    ) {
        let path = self.entries[i].path.clone();
        let mut found: Vec<(SystemTime, PathBuf, FileId)> = siblings(&path)
            .into_iter()
            .filter_map(|(p, m)| {
                let id = FileId::of(&m);
                let mtime = m.modified().ok()?;
                if copies_only && m.created().is_ok_and(|born| born < since) {
                    return None;
                }
                let unseen = Some(id) != new
                    && !self.was_seen(id, &p)
                    && !self
                        .entries
                        .iter()
                        .any(|e| e.current.as_ref().is_some_and(|g| g.id == id));
                // Not older than the old file's last change (timestamps are coarse: the next
                // generation may be created within the same tick).
                (unseen && mtime >= since && m.len() > 0).then_some((mtime, p, id))
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
        let skip = found.len().saturating_sub(MAX_MISSED);
        for (_, p, id) in found.into_iter().skip(skip) {
            // A compressed copy of a file already read has the same first bytes as one seen:
            // such a sibling is a new inode but not new content. Nor is one still being
            // written beside its original (which is read, or was).
            if mid_compression(&p) || self.is_compressed_copy_of_seen(&p) {
                continue;
            }
            if like.as_ref().is_some_and(|f| is_copy_of(&p, f)) {
                continue;
            }
            let Ok(m) = fs::metadata(&p) else {
                continue;
            };
            self.remember(id, &m);
            self.queue(i, &p, id, 0, 1);
        }
    }

    fn is_compressed_copy_of_seen(&self, p: &Path) -> bool {
        let Ok(head) = crate::source::identity::read_head(p, 4) else {
            return false;
        };
        if crate::source::input::Compression::detect(&head).is_none() {
            return false;
        }
        let Ok(h) = content_head(p, crate::source::identity::HEAD) else {
            return false;
        };
        let fp = Head {
            fp: fingerprint(&h),
            len: h.len(),
        };
        // Files may share their first KiB (a banner): the same length of content too. Files
        // read to their end, and those waiting to be read (compressed while they wait: gzip
        // writes the copy before it removes the file).
        let queued = self
            .entries
            .iter()
            .flat_map(|e| e.backlog.iter())
            .filter_map(|p| Some((p.head?, p.len?)));
        let lens: Vec<u64> = self
            .seen_heads
            .iter()
            .copied()
            .chain(queued)
            .filter(|(h, _)| *h == fp)
            .map(|(_, l)| l)
            .collect();
        if lens.is_empty() {
            return false;
        }
        let Ok(f) = fs::File::open(p) else {
            return false;
        };
        let Ok(r) = crate::source::input::decompress(Box::new(f)) else {
            return false;
        };
        // Bounded: a copy is no longer than the longest file it could be a copy of.
        let max = lens.iter().copied().max().unwrap_or(0);
        let n = std::io::copy(&mut std::io::Read::take(r, max + 1), &mut std::io::sink());
        n.is_ok_and(|n| lens.contains(&n))
    }

    /// Entry `i`'s file `truncated` was truncated after what was `read` from it: read the
    /// rest from the copy beside it, or tell that it is lost.
    pub(super) fn recover_copy(&mut self, i: usize, read: &WhatWasRead, truncated: FileId) {
        let &WhatWasRead {
            head,
            first,
            tail,
            consumed,
            next_line,
        } = read;
        let path = self.entries[i].path.clone();
        // The newest sibling that starts as the file did — not the file itself (renamed since:
        // truncated, then rotated), nor one read before, nor a compressed copy of one read to
        // its end. Files may share their first KiB (a banner): one that also holds the bytes
        // last read where they were read is the copy, before any other.
        let mut by_tail = false;
        let copy = (head.len > 0)
            .then(|| {
                let mut c: Vec<(PathBuf, fs::Metadata)> = siblings(&path)
                    .into_iter()
                    .filter(|(p, m)| {
                        let id = FileId::of(m);
                        id != truncated && !self.was_seen(id, p) && !mid_compression(p)
                    })
                    .filter(|(p, _)| {
                        content_head(p, head.len)
                            .is_ok_and(|h| h.len() == head.len && fingerprint(&h) == head.fp)
                    })
                    // Starting alike is not enough: a copy holds what was read as far as both
                    // go (another file that starts with the same banner, shorter than what was
                    // read, does not).
                    .filter(|(p, _)| {
                        first.is_empty()
                            || content_head(p, first.len()).is_ok_and(|b| b[..] == first[..b.len()])
                    })
                    // A compressed copy of a file read whole holds nothing unread, though it
                    // holds the bytes last read where they were read when all files start
                    // alike and only their start was read (a banner).
                    .filter(|(p, _)| !self.is_compressed_copy_of_seen(p))
                    .collect();
                c.sort_by_key(|(_, m)| std::cmp::Reverse(m.modified().ok()));
                let holds_tail = |p: &Path| {
                    tail.is_some_and(|(fp, end)| {
                        crate::source::resume::content_tail(p, end).is_ok_and(|got| got == Some(fp))
                    })
                };
                match c.iter().position(|(p, _)| holds_tail(p)) {
                    Some(k) => {
                        by_tail = true;
                        Some(c.swap_remove(k).0)
                    }
                    None => c.into_iter().map(|(p, _)| p).next(),
                }
            })
            .flatten();
        match copy {
            Some(p) => {
                let Ok(m) = fs::metadata(&p) else {
                    return;
                };
                let id = FileId::of(&m);
                self.remember(id, &m);
                // Its first bytes too, even when there is nothing left to read in it: once it is
                // deleted, its inode number may be given to a new file, which must not pass for it.
                let copy_head = content_head(&p, crate::source::identity::HEAD)
                    .ok()
                    .filter(|h| !h.is_empty())
                    .map(|h| Head {
                        fp: fingerprint(&h),
                        len: h.len(),
                    });
                if let Some(head) = copy_head {
                    self.remember_content(id, head);
                }
                if let Some(t) = tail.filter(|_| by_tail) {
                    self.remember_tail(id, t);
                }
                let compressed = crate::source::identity::read_head(&p, 8)
                    .is_ok_and(|h| crate::source::input::Compression::detect(&h).is_some());
                if !compressed && m.len() <= consumed {
                    // Everything it holds was read already: a compressed copy of it later is
                    // not new content either.
                    if let Some(head) = copy_head {
                        self.remember_head(head, m.len());
                    }
                    return;
                }
                self.queue(i, &p, id, consumed, next_line);
            }
            None => self.notes.push(FollowNote::Lost {
                input: self.entries[i].input,
                path,
                after: consumed,
            }),
        }
    }

    /// Read entry `i`'s backlog as far as the budget goes. True once it is empty.
    pub(super) fn read_backlog(&mut self, i: usize, budget: &mut usize) -> bool {
        let input = self.entries[i].input;
        while let Some(mut p) = self.entries[i].backlog.pop_front() {
            loop {
                let f = &mut p.framer;
                if *budget == 0 {
                    // Go on from here at the next pass.
                    self.entries[i].backlog.push_front(p);
                    self.more = true;
                    return false;
                }
                match f.next_chunk(std::mem::take(&mut self.buf)) {
                    Ok(Some(c)) => {
                        *budget = budget.saturating_sub(c.len);
                        if !p.told && (c.len > 0 || !c.overlong.is_empty()) {
                            p.told = true;
                            self.notes.push(FollowNote::Recovered {
                                input,
                                path: p.path.clone(),
                            });
                        }
                        self.chunks.push(FollowChunk {
                            input,
                            path: p.path.clone(),
                            first_line: c.first_line,
                            data: c.data().to_vec(),
                            overlong: c.overlong,
                        });
                        self.buf = c.buf;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.notes.push(FollowNote::Error {
                            input,
                            path: p.path.clone(),
                            message: format!("read error: {e}"),
                        });
                        break;
                    }
                }
            }
            if let Some(c) = p.framer.flush() {
                self.chunks.push(FollowChunk {
                    input,
                    path: p.path.clone(),
                    first_line: c.first_line,
                    data: c.buf,
                    overlong: c.overlong,
                });
            }
            // Read: a compressed copy of it later is not new content.
            if let Some(head) = p.head {
                self.remember_head(head, p.start + p.framer.consumed);
            }
        }
        true
    }
}

/// A file opened before: its identity, its first bytes and (once known) the bytes before an
/// offset it had then.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    id: FileId,
    head: Head,
    tail: Option<(u64, u64)>,
    /// Its birth time, where the file system keeps one (an inode number given to a new file
    /// comes with a new one).
    born: Option<std::time::SystemTime>,
}

/// Pending files of an entry, oldest first.
pub(super) type Backlog = VecDeque<Pending>;
