//! File identity: device and inode (which file a path names now), and a fingerprint of the
//! first bytes (which content it is, even after a copy or compression gave it a new inode).

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::input::decompress;

/// Device and inode of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(m: &Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// Bytes of a file's head that identify it.
pub const HEAD: usize = 1024;

/// FNV-1a, 64 bits: a stable fingerprint (std's hasher is not stable across releases).
pub fn fingerprint(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Read up to `len` bytes from the start of `r`.
fn head_of(r: &mut dyn Read, len: usize, stop_on_error: bool) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; len];
    let mut n = 0;
    while n < len {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) if stop_on_error => break,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(n);
    Ok(buf)
}

/// The first `len` bytes of a file, as stored on disk.
pub fn read_head(p: &Path, len: usize) -> io::Result<Vec<u8>> {
    head_of(&mut File::open(p)?, len, false)
}

/// The first `len` bytes of a file's content, decompressed when it is compressed (a rotated
/// file that logrotate compressed keeps its content's head).
pub fn content_head(p: &Path, len: usize) -> io::Result<Vec<u8>> {
    let mut r = decompress(Box::new(File::open(p)?))?;
    head_of(&mut r, len, true)
}

/// An open file read from its start with positioned reads: the descriptor's own offset, which
/// its other users may rely on, is left as it is.
pub struct ReadAt(File, u64);

impl ReadAt {
    pub fn new(f: &File) -> io::Result<ReadAt> {
        Ok(ReadAt(f.try_clone()?, 0))
    }
}

impl Read for ReadAt {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = std::os::unix::fs::FileExt::read_at(&self.0, buf, self.1)?;
        self.1 += n as u64;
        Ok(n)
    }
}

/// [`content_head`] of an open file, read with positioned reads (its offset is left as it is).
pub fn content_head_of(f: &File, len: usize) -> io::Result<Vec<u8>> {
    let mut r = decompress(Box::new(ReadAt::new(f)?))?;
    head_of(&mut r, len, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable() {
        assert_eq!(fingerprint(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fingerprint(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
