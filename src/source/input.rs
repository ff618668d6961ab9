//! The inputs named on the command line and how they are opened: files, stdin, compressed
//! files recognized by their magic bytes.

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

/// Open an input for reading, transparently decompressing gzip.
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

/// Peek at the first bytes; wrap in a decoder when they are a compression format's magic.
pub fn decompress(mut r: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut head = [0u8; 2];
    let mut n = 0;
    while n < 2 {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let prefix = io::Cursor::new(head[..n].to_vec());
    let chained: Box<dyn Read + Send> = Box::new(prefix.chain(r));
    if n == 2 && head == GZIP_MAGIC {
        Ok(Box::new(MultiGzDecoder::new(chained)))
    } else {
        Ok(chained)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
