//! Resuming files where an earlier run stopped (`gwmon check`): each file is remembered by its
//! offset, its line number and its identity. A file replaced since (rotation) has its remainder
//! read first from the rotated sibling, found by inode or, once compressed, by fingerprint; a
//! file that shrank or whose first bytes changed (copytruncate) is read from its start.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::framer::{AtEnd, Framer};
use super::identity::{FileId, HEAD, content_head, fingerprint, read_head};
use super::input::decompress;

/// How far a file was read, and which file it was.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Mark {
    pub dev: u64,
    pub ino: u64,
    /// Bytes of the (decompressed) content already read.
    pub offset: u64,
    /// Line number of the next line.
    pub line: u64,
    /// Fingerprint of the first `head_len` bytes (raw, as stored on disk).
    pub head: u64,
    pub head_len: usize,
}

impl Mark {
    fn id(&self) -> FileId {
        FileId {
            dev: self.dev,
            ino: self.ino,
        }
    }

    /// The mark of `path` read up to `offset` (next line `line`).
    pub fn of(path: &Path, offset: u64, line: u64) -> anyhow::Result<Mark> {
        let m =
            std::fs::metadata(path).with_context(|| format!("cannot stat {}", path.display()))?;
        let head_len = (m.len() as usize).min(HEAD);
        let head = read_head(path, head_len)?;
        let id = FileId::of(&m);
        Ok(Mark {
            dev: id.dev,
            ino: id.ino,
            offset,
            line,
            head: fingerprint(&head),
            head_len: head.len(),
        })
    }
}

/// One stretch of content to read: a file from an offset.
pub struct Segment {
    pub path: PathBuf,
    pub offset: u64,
    pub line: u64,
    /// The file may still be written: keep an unterminated last line for the next run.
    pub live: bool,
}

/// Decide what to read of `path` given what the last run saw: the segments, in order, and notes
/// for the output (a remainder that could not be found: also counted in `lost`).
pub fn plan(
    path: &Path,
    mark: Option<&Mark>,
    notes: &mut Vec<String>,
    lost: &mut u64,
) -> anyhow::Result<Vec<Segment>> {
    let meta = std::fs::metadata(path);
    if meta.as_ref().is_ok_and(|m| m.is_dir()) {
        bail!("{} is a directory: name the log file in it", path.display());
    }
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
        let same_inode = FileId::of(m) == mark.id();
        let head = read_head(path, mark.head_len)?;
        if same_inode
            && head.len() == mark.head_len
            && fingerprint(&head) == mark.head
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
        None => {
            *lost += 1;
            notes.push(format!(
                "{} was rotated or truncated and the rest of it (after byte {}) was not found next to it: lines lost",
                path.display(),
                mark.offset
            ));
        }
    }
    match meta {
        Ok(_) => segs.push(fresh(path)),
        Err(_) => notes.push(format!("{} does not exist (yet)", path.display())),
    }
    Ok(segs)
}

/// A sibling of `path` that is the file last read: same inode, or (compressed) same head.
fn find_rotated(path: &Path, mark: &Mark) -> Option<PathBuf> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = path.file_name()?.to_string_lossy().into_owned();
    let same_inode = |p: &Path| std::fs::metadata(p).is_ok_and(|m| FileId::of(&m) == mark.id());
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p != path && p.is_file())
        .filter(|p| {
            // Same inode (renamed), or a name derived from the log's (copied, compressed).
            same_inode(p)
                || p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&base))
        })
        .collect();
    candidates.sort();
    // Prefer the same inode; the content's first bytes must match either way (inodes are
    // reused once a rotated file is compressed and removed).
    candidates.sort_by_key(|p| !same_inode(p));
    candidates.into_iter().find(|p| {
        content_head(p, mark.head_len)
            .is_ok_and(|h| h.len() == mark.head_len && fingerprint(&h) == mark.head)
    })
}

/// Open a segment for framing: decompressed, what was read before skipped, the numbering
/// continued; a live segment holds an unterminated last line back.
pub fn open_segment(seg: &Segment, max_line: usize) -> anyhow::Result<Framer> {
    let f = File::open(&seg.path).with_context(|| format!("cannot open {}", seg.path.display()))?;
    frame_segment(f, seg, max_line)
}

/// [`open_segment`] of a file already open (`seg.path` names it in messages).
pub fn frame_segment(f: File, seg: &Segment, max_line: usize) -> anyhow::Result<Framer> {
    let mut r =
        decompress(Box::new(f)).with_context(|| format!("cannot read {}", seg.path.display()))?;
    // Skip what was read before (decompressed bytes for compressed files).
    let skipped = io::copy(&mut r.by_ref().take(seg.offset), &mut io::sink())
        .with_context(|| format!("cannot read {}", seg.path.display()))?;
    if skipped < seg.offset {
        bail!("{} is shorter than the saved offset", seg.path.display());
    }
    let mut framer = Framer::new(r, 1 << 20, max_line);
    if seg.live {
        framer.at_end = AtEnd::Hold;
    }
    framer.next_line = seg.line;
    Ok(framer)
}
