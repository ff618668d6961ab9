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
use super::identity::{
    FileId, HEAD, ReadAt, content_head, content_head_of, fingerprint, read_head,
};
use super::input::{Compression, MAGIC_LEN, decompress};

/// How far a file was read, and which file it was.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Mark {
    pub dev: u64,
    pub ino: u64,
    /// Bytes of the (decompressed) content already read.
    pub offset: u64,
    /// Line number of the next line.
    pub line: u64,
    /// Fingerprint of the first `head_len` bytes (raw, as stored on disk; decompressed for a
    /// compressed rotated file's mark).
    pub head: u64,
    pub head_len: usize,
    /// Fingerprint of the [`TAIL`] bytes of content before `offset`: tells the file read from
    /// another that starts the same (a common banner), and a file rewritten past the offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<u64>,
    /// When the run that made this mark started reading (ms since the epoch): a rotated
    /// sibling written since may hold lines that run never saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<i64>,
}

/// Bytes before a mark's offset kept as its tail fingerprint.
pub const TAIL: u64 = 64;

/// The fingerprint of the [`TAIL`] bytes of `p`'s content before `offset` (decompressed when
/// compressed); None when the content is shorter than `offset`.
pub fn content_tail(p: &Path, offset: u64) -> io::Result<Option<u64>> {
    content_tail_of(&File::open(p)?, offset)
}

/// [`content_tail`] of an open file (read with positioned reads).
fn content_tail_of(f: &File, offset: u64) -> io::Result<Option<u64>> {
    let start = offset.saturating_sub(TAIL);
    let len = (offset - start) as usize;
    let mut buf = vec![0u8; len];
    if !is_compressed_file(f) {
        let mut got = 0;
        while got < len {
            match std::os::unix::fs::FileExt::read_at(f, &mut buf[got..], start + got as u64)? {
                0 => return Ok(None),
                k => got += k,
            }
        }
    } else {
        let mut r = decompress(Box::new(ReadAt::new(f)?))?;
        let skipped = io::copy(&mut r.by_ref().take(start), &mut io::sink())?;
        if skipped < start || r.read_exact(&mut buf).is_err() {
            return Ok(None);
        }
    }
    Ok(Some(fingerprint(&buf)))
}

/// The length of `p`'s content (decompressed when compressed).
pub fn content_len(p: &Path) -> Option<u64> {
    content_len_of(&File::open(p).ok()?)
}

fn content_len_of(f: &File) -> Option<u64> {
    if !is_compressed_file(f) {
        return f.metadata().ok().map(|m| m.len());
    }
    let r = decompress(Box::new(ReadAt::new(f).ok()?)).ok()?;
    io::copy(&mut r.take(u64::MAX), &mut io::sink()).ok()
}

pub(crate) fn is_compressed_file(f: &File) -> bool {
    let mut magic = [0u8; MAGIC_LEN];
    std::os::unix::fs::FileExt::read_at(f, &mut magic, 0)
        .is_ok_and(|n| Compression::detect(&magic[..n]).is_some())
}

fn is_compressed(p: &Path) -> bool {
    File::open(p).is_ok_and(|f| is_compressed_file(&f))
}

/// A compressed file whose plain original is still beside it (`app.log.1.gz` and
/// `app.log.1`): mid-compression (gzip writes the copy, then removes the original), holding
/// at most what the original does.
pub fn mid_compression(p: &Path) -> bool {
    let stem = p.with_extension("");
    stem != p && stem.is_file() && is_compressed(p)
}

/// Whether the file at `copy` is a copy of the open file `of`, compressed or not, made as it
/// was or as it is: no longer than it, with its first bytes and the bytes before its own end
/// where `of` has them (a backup `cp app.log app.log.bak`, a copytruncate's copy of the file
/// being read). Files that only start alike (a banner) differ there, or are longer.
pub fn is_copy_of(copy: &Path, of: &File) -> bool {
    let (Some(n), Some(m)) = (content_len(copy), content_len_of(of)) else {
        return false;
    };
    let head = |f: &File| content_head_of(f, HEAD.min(n as usize)).ok();
    n > 0
        && n <= m
        && File::open(copy).is_ok_and(|c| head(&c) == head(of))
        && content_tail(copy, n).ok().flatten() == content_tail_of(of, n).ok().flatten()
}

/// When a file was last written, in milliseconds since the epoch.
pub fn mtime_ms(m: &std::fs::Metadata) -> Option<i64> {
    let d = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(d.as_millis() as i64)
}

/// Whether `p`'s content starts as the mark's did and (when it has one) holds its tail at its
/// offset: the file the mark was made of, under whatever name and compression it has now.
fn holds(p: &Path, mark: &Mark) -> bool {
    content_head(p, mark.head_len)
        .is_ok_and(|h| h.len() == mark.head_len && fingerprint(&h) == mark.head)
        && mark
            .tail
            .is_none_or(|t| content_tail(p, mark.offset).is_ok_and(|got| got == Some(t)))
}

impl Mark {
    fn id(&self) -> FileId {
        FileId {
            dev: self.dev,
            ino: self.ino,
        }
    }

    /// The mark of the open file `f` (`path` names it in messages) read up to `offset` (next
    /// line `line`): its identity and bytes are the opened file's, whatever `path` names by
    /// now (the file may have been rotated while it was read).
    pub fn of(f: &File, path: &Path, offset: u64, line: u64) -> anyhow::Result<Mark> {
        let m = f
            .metadata()
            .with_context(|| format!("cannot stat {}", path.display()))?;
        let mut head = Vec::with_capacity(HEAD);
        ReadAt::new(f)?
            .take(m.len().min(HEAD as u64))
            .read_to_end(&mut head)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Mark::at(f, &m, &head, offset, line))
    }

    /// The mark of the open rotated file `f` read up to `offset` (of its content,
    /// decompressed): its head is the content's.
    pub fn of_content(f: &File, path: &Path, offset: u64, line: u64) -> anyhow::Result<Mark> {
        let m = f
            .metadata()
            .with_context(|| format!("cannot stat {}", path.display()))?;
        let head =
            content_head_of(f, HEAD).with_context(|| format!("cannot read {}", path.display()))?;
        let head = &head[..head.len().min(offset as usize)];
        Ok(Mark::at(f, &m, head, offset, line))
    }

    /// The mark of `f` (metadata `m`, first bytes `head`) at `offset`, line `line`.
    fn at(f: &File, m: &std::fs::Metadata, head: &[u8], offset: u64, line: u64) -> Mark {
        let id = FileId::of(m);
        Mark {
            dev: id.dev,
            ino: id.ino,
            offset,
            line,
            head: fingerprint(head),
            head_len: head.len(),
            tail: content_tail_of(f, offset).ok().flatten(),
            read_at: None,
        }
    }
}

/// One stretch of content to read: a file from an offset.
pub struct Segment {
    pub path: PathBuf,
    pub offset: u64,
    pub line: u64,
    /// The file may still be written: keep an unterminated last line for the next run.
    pub live: bool,
    /// The rest of the file the mark was made of, found under another name.
    pub rest: bool,
}

/// Decide what to read of `path` given what the last run saw: the segments, in order, and notes
/// for the output (a remainder that could not be found: also counted in `lost`).
///
/// `mark` is where the last run stopped in `path`; `rotated` the marks of the rotated siblings
/// it read. With the mark's `read_at`, the siblings written since that run started (named like
/// the log: rotated, copied, compressed) are read too, each from where a mark says it was read
/// to, or whole: they hold lines that run never saw (several rotations between two runs, or a
/// file truncated and then rotated away).
pub fn plan(
    path: &Path,
    mark: Option<&Mark>,
    rotated: &[Mark],
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
        rest: false,
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
            && mark
                .tail
                .is_none_or(|t| content_tail(path, mark.offset).is_ok_and(|got| got == Some(t)))
        {
            segs.extend(written_since(path, mark, rotated, None));
            segs.push(Segment {
                path: path.to_owned(),
                offset: mark.offset,
                line: mark.line,
                live: true,
                rest: false,
            });
            return Ok(segs);
        }
    }
    // Replaced (rotated, or truncated after a copy), or gone: the rest of the file we were
    // reading is in a sibling with the same first bytes (a renamed, copied or compressed file).
    let continuation = find_rotated(path, mark, rotated).filter(|_| mark.offset > 0);
    match &continuation {
        Some(old) => segs.push(Segment {
            path: old.clone(),
            offset: mark.offset,
            line: mark.line,
            live: false,
            rest: true,
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
    segs.extend(written_since(path, mark, rotated, continuation.as_deref()));
    match meta {
        Ok(_) => segs.push(fresh(path)),
        Err(_) => notes.push(format!("{} does not exist (yet)", path.display())),
    }
    Ok(segs)
}

/// The rotated siblings of `path` written since the last run started reading (`mark.read_at`),
/// oldest first, but `continuation` (read from the mark) and a file being compressed (its
/// plain original is still there): from where `rotated` says each was read to, or whole.
fn written_since(
    path: &Path,
    mark: &Mark,
    rotated: &[Mark],
    continuation: Option<&Path>,
) -> Vec<Segment> {
    let Some(since) = mark.read_at else {
        return Vec::new();
    };
    let live = std::fs::metadata(path).ok().map(|m| FileId::of(&m));
    // What holds the lines the mark covers and after: a copy of one of them holds no other.
    let holders: Vec<&Path> = continuation
        .into_iter()
        .chain(live.is_some().then_some(path))
        .collect();
    let mut found: Vec<(i64, PathBuf)> = siblings(path)
        .into_iter()
        .filter(|(p, _)| Some(p.as_path()) != continuation)
        .filter_map(|(p, m)| {
            if Some(FileId::of(&m)) == live || m.len() == 0 {
                return None;
            }
            let mtime = mtime_ms(&m)?;
            (mtime >= since - CLOCK_MARGIN_MS).then_some((mtime, p))
        })
        // (Only the files written since: the others are not read, let alone decompressed.)
        .filter(|(_, p)| {
            !holders
                .iter()
                .any(|h| File::open(h).is_ok_and(|f| is_copy_of(p, &f)))
        })
        .collect();
    // A compressed file beside its plain original is the same content, mid-compression.
    found.retain(|(_, p)| !mid_compression(p));
    found.sort();
    found
        .into_iter()
        .map(|(_, p)| {
            let id = std::fs::metadata(&p).ok().map(|m| FileId::of(&m));
            let known = rotated
                .iter()
                .find(|r| Some(r.id()) == id && holds(&p, r))
                .or_else(|| rotated.iter().find(|r| r.tail.is_some() && holds(&p, r)));
            // Read again from where it was read to (nothing, or what was written since), or
            // whole.
            let (offset, line) = known.map_or((0, 1), |r| (r.offset, r.line));
            Segment {
                path: p,
                offset,
                line,
                live: false,
                rest: false,
            }
        })
        .collect()
}

/// The files beside `path` named like it (`app.log.1`, `app.log-20260304.gz`, `app.log.r001`),
/// with their metadata, by name.
pub fn siblings(path: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(base) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<(PathBuf, std::fs::Metadata)> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n != base && n.starts_with(&base)
        })
        .filter_map(|e| {
            let p = e.path();
            let m = std::fs::metadata(&p).ok()?;
            m.is_file().then_some((p, m))
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// A sibling of `path` that is the file last read: same inode, or (compressed) same head; not
/// a file that one of the `rotated` marks names (same inode, same content).
fn find_rotated(path: &Path, mark: &Mark, rotated: &[Mark]) -> Option<PathBuf> {
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
    // Prefer the same inode; the content's first bytes (and those before the offset) must
    // match either way (inodes are reused once a rotated file is compressed and removed).
    // Files that start alike (a common banner) are told apart by time: the file read was
    // rotated after that run read it, so it is the oldest written since; or, when it was not
    // written since, the newest before (the others were rotated earlier).
    let mtime = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| mtime_ms(&m))
            .unwrap_or(0)
    };
    let since = |t: i64| mark.read_at.is_some_and(|r| t >= r - CLOCK_MARGIN_MS);
    candidates.sort_by_cached_key(|p| {
        let t = mtime(p);
        (!same_inode(p), !since(t), if since(t) { t } else { -t })
    });
    // A file not written since that run started reading was read by it to its end but for an
    // unterminated line: one with whole lines past the offset is another file.
    let another = |p: &Path| {
        let id = std::fs::metadata(p).ok().map(|m| FileId::of(&m));
        rotated.iter().any(|r| Some(r.id()) == id && holds(p, r))
    };
    candidates.into_iter().find(|p| {
        holds(p, mark)
            && !another(p)
            && (mark.read_at.is_none()
                || since(mtime(p))
                || !line_after(p, mark.offset).unwrap_or(true))
    })
}

/// How much earlier than the wall clock a file's modification time may read: the kernel stamps
/// it from a coarse clock (a tick of 1 to 10 ms).
const CLOCK_MARGIN_MS: i64 = 20;

/// Whether `p`'s content holds a whole line after `offset`.
fn line_after(p: &Path, offset: u64) -> io::Result<bool> {
    let f = File::open(p)?;
    let mut r: Box<dyn Read> = if is_compressed(p) {
        let mut r = decompress(Box::new(f))?;
        io::copy(&mut r.by_ref().take(offset), &mut io::sink())?;
        Box::new(r)
    } else {
        let mut f = f;
        io::Seek::seek(&mut f, io::SeekFrom::Start(offset))?;
        Box::new(f)
    };
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf)? {
            0 => return Ok(false),
            n if memchr::memchr(b'\n', &buf[..n]).is_some() => return Ok(true),
            _ => {}
        }
    }
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
