//! The inputs named on the command line and how they are opened: files, stdin, compressed
//! files (gzip, zstd, xz, bzip2) recognized by their magic bytes.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;
use flate2::read::MultiGzDecoder;

/// One input named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    pub fn from_arg(s: &str) -> Input {
        if s == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(s))
        }
    }

    /// The name used in messages and `source` fields.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_owned(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

/// Open an input for reading, transparently decompressing gzip, zstd, xz and bzip2.
pub fn open(input: &Input) -> anyhow::Result<Box<dyn Read + Send>> {
    match input {
        Input::Stdin => decompress(Box::new(io::stdin())).context("<stdin>"),
        Input::File(p) => open_file(p),
    }
}

fn open_file(p: &Path) -> anyhow::Result<Box<dyn Read + Send>> {
    let f = File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
    if f.metadata().is_ok_and(|m| m.is_dir()) {
        anyhow::bail!("{} is a directory", p.display());
    }
    decompress(Box::new(f)).with_context(|| format!("cannot read {}", p.display()))
}

/// gzip's magic bytes.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The compression formats logrotate's `compresscmd` is used with, recognized by their magic
/// bytes (never by the file name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Xz,
    Bzip2,
}

/// Bytes of a file's head that tell its compression.
pub const MAGIC_LEN: usize = 6;

/// Most memory a decoder may take, so that a hostile file (a declared window of gigabytes)
/// cannot exhaust it: zstd's window is capped at 2^25 bytes (32 MiB; logrotate's default level
/// uses 8 MiB at most), xz's decoder at 48 MiB (every preset but -9, which needs 65 MiB).
const ZSTD_WINDOW_LOG_MAX: u32 = 25;
const XZ_MEMLIMIT: u64 = 48 << 20;

impl Compression {
    /// Whether `head` could still grow into some format's magic bytes (so a reader must not
    /// wait for more bytes of a plain text stream, such as a pipe that paused).
    fn could_be(head: &[u8]) -> bool {
        let magics: [&[u8]; 4] = [
            &GZIP_MAGIC,
            &[0x28, 0xb5, 0x2f, 0xfd],
            b"\xfd7zXZ\x00",
            b"BZh",
        ];
        magics
            .iter()
            .any(|m| m.starts_with(head) || (head.len() > m.len() && head.starts_with(m)))
    }

    /// The format whose magic bytes start `head`.
    pub fn detect(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&GZIP_MAGIC) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Some(Compression::Bzip2)
        } else {
            None
        }
    }

    /// A streaming decoder of `r`; every format's concatenated members or frames are read.
    fn decoder(self, r: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Compression::Gzip => Box::new(MultiGzDecoder::new(r)),
            Compression::Zstd => {
                let mut d = zstd::stream::read::Decoder::new(r)?;
                d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
                Box::new(d)
            }
            Compression::Xz => {
                let stream = liblzma::stream::Stream::new_stream_decoder(
                    XZ_MEMLIMIT,
                    liblzma::stream::CONCATENATED,
                )
                .map_err(io::Error::other)?;
                Box::new(liblzma::read::XzDecoder::new_stream(
                    io::BufReader::new(r),
                    stream,
                ))
            }
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        })
    }
}

/// Peek at the first bytes; wrap in a decoder when they are a compression format's magic.
pub fn decompress(mut r: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut head = [0u8; MAGIC_LEN];
    let mut n = 0;
    // Read no more than needed: a pipe that sent "a\n" and paused must not be waited on.
    while n < MAGIC_LEN && (n == 0 || Compression::could_be(&head[..n])) {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if n < MAGIC_LEN && n == 0 {
        // The input ended at once. A terminal's end (Ctrl-D) is not sticky: reading on would
        // wait for another one.
        return Ok(Box::new(io::empty()));
    }
    let prefix = io::Cursor::new(head[..n].to_vec());
    let chained: Box<dyn Read + Send> = Box::new(prefix.chain(r));
    match Compression::detect(&head[..n]) {
        Some(c) => c.decoder(chained),
        None => Ok(chained),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(compressed: Vec<u8>) -> String {
        let mut r = decompress(Box::new(io::Cursor::new(compressed))).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn zstd_xz_and_bzip2_are_detected_by_magic_with_concatenated_members() {
        use std::io::Write;
        let text = "hello\nworld\n";
        let mut z = zstd::encode_all(text.as_bytes(), 3).unwrap();
        z.extend(zstd::encode_all(text.as_bytes(), 3).unwrap());
        assert_eq!(round_trip(z), text.repeat(2));
        let mut x = Vec::new();
        for _ in 0..2 {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(text.as_bytes()).unwrap();
            x.extend(e.finish().unwrap());
        }
        assert_eq!(round_trip(x), text.repeat(2));
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        assert_eq!(round_trip(e.finish().unwrap()), text);
        assert_eq!(Compression::detect(b"BZh9"), Some(Compression::Bzip2));
        assert_eq!(Compression::detect(b"BZhx"), None);
        assert_eq!(Compression::detect(b"2026-"), None);
    }

    #[test]
    fn gzip_is_detected_by_magic() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b"hello\nworld\n").unwrap();
        let gz = e.finish().unwrap();
        let mut r = decompress(Box::new(io::Cursor::new(gz))).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello\nworld\n");
        let mut r = decompress(Box::new(io::Cursor::new(b"x".to_vec()))).unwrap();
        s.clear();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "x");
    }
}
