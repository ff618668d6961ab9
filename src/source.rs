//! Source stage: files, gzip files (recognized by their magic bytes), stdin; framing of the bytes
//! into chunks of whole lines with a bounded line length.
//!
//! A [`Framer`] hands out chunks of about [`Framer::target`] bytes that end on a newline. A line
//! longer than the limit is counted and skipped while it streams past: it is never held whole.

pub mod follow;

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
        Input::Stdin => sniff(Box::new(io::stdin())).context("<stdin>"),
        Input::File(p) => open_file(p),
    }
}

fn open_file(p: &Path) -> anyhow::Result<Box<dyn Read + Send>> {
    let f = File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
    if f.metadata().is_ok_and(|m| m.is_dir()) {
        anyhow::bail!("{} is a directory", p.display());
    }
    sniff(Box::new(f)).with_context(|| format!("cannot read {}", p.display()))
}

/// Peek at the first bytes; wrap in a gzip decoder when they are gzip's magic.
pub fn sniff(mut r: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
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
    if n == 2 && head == [0x1f, 0x8b] {
        Ok(Box::new(MultiGzDecoder::new(chained)))
    } else {
        Ok(chained)
    }
}

/// A chunk of whole lines.
pub struct Chunk {
    /// Backing buffer; only `buf[..len]` is data. Buffers are recycled, so `buf` keeps its size.
    pub buf: Vec<u8>,
    pub len: usize,
    /// Line number (1-based) of the first line in the chunk.
    pub first_line: u64,
    /// Overlong lines skipped since the previous chunk, with the line numbers they had.
    pub overlong: Vec<u64>,
}

impl Chunk {
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Cuts a byte stream into chunks of whole lines.
pub struct Framer {
    inner: Box<dyn Read + Send>,
    /// Bytes of an incomplete line carried to the next chunk.
    carry: Vec<u8>,
    /// Inside an overlong line: drop bytes up to the next newline.
    discarding: bool,
    eof: bool,
    /// A read error, returned once the bytes read before it have been handed out.
    error: Option<io::Error>,
    /// Line number (1-based) of the next line; settable to continue a numbering.
    pub next_line: u64,
    pub target: usize,
    pub max_line: usize,
    /// At the end of the input, keep an unterminated last line back instead of handing it out
    /// (the writer may be in the middle of it): `gwmon check` reads it on its next run.
    pub hold_partial: bool,
    /// Bytes of the input accounted for: handed out in chunks or dropped as overlong.
    pub consumed: u64,
}

impl Framer {
    pub fn new(inner: Box<dyn Read + Send>, target: usize, max_line: usize) -> Framer {
        Framer {
            inner,
            carry: Vec::new(),
            discarding: false,
            eof: false,
            error: None,
            next_line: 1,
            hold_partial: false,
            consumed: 0,
            target: target.max(4096),
            max_line: max_line.max(1),
        }
    }

    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Fill `buf` (recycled or new) with the next chunk. `Ok(None)` at the end of the input.
    /// Errors are the reader's (a truncated gzip member, a failing disk).
    pub fn next_chunk(&mut self, mut buf: Vec<u8>) -> io::Result<Option<Chunk>> {
        let want = self.target + self.carry.len() + 64 * 1024;
        if buf.len() < want {
            buf.resize(want, 0);
        }
        let mut overlong = Vec::new();
        let mut len = self.carry.len();
        buf[..len].copy_from_slice(&self.carry);
        self.carry.clear();
        // Start of the last (unfinished) line in buf[..len].
        let mut line_start = memchr::memrchr(b'\n', &buf[..len]).map_or(0, |i| i + 1);
        loop {
            if self.eof {
                // A last line without newline is still a line in a one-off read.
                let cut = if self.hold_partial { line_start } else { len };
                if cut > 0 || !overlong.is_empty() {
                    return Ok(Some(self.finish(buf, cut, overlong, false)));
                }
                return match self.error.take() {
                    Some(e) => Err(e),
                    None => Ok(None),
                };
            }
            if len == buf.len() {
                let grow = buf.len().min(self.max_line + 64 * 1024);
                buf.resize(buf.len() + grow, 0);
            }
            // Reads are capped at half the line limit: a line that starts and ends within one
            // read cannot be too long, so only the line completed first needs a look.
            let read_end = (len + (self.max_line / 2).max(1)).min(buf.len());
            let mut n = match self.read_some(&mut buf[len..read_end]) {
                Ok(n) => n,
                Err(e) => {
                    // Hand out what was read before the error first.
                    self.error = Some(e);
                    0
                }
            };
            if n == 0 {
                self.eof = true;
                continue;
            }
            if self.discarding {
                match memchr::memchr(b'\n', &buf[len..len + n]) {
                    Some(i) => {
                        buf.copy_within(len + i + 1..len + n, len);
                        n -= i + 1;
                        self.consumed += i as u64 + 1;
                        self.discarding = false;
                    }
                    None => {
                        self.consumed += n as u64;
                        continue;
                    }
                }
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[len..len + n]) {
                let end = len + i;
                if end - line_start > self.max_line {
                    // A line that started before this read ended too long: drop it.
                    overlong
                        .push(self.next_line + bytecount::count(&buf[..line_start], b'\n') as u64);
                    self.consumed += (end + 1 - line_start) as u64;
                    buf.copy_within(end + 1..len + n, line_start);
                    n = len + n - (end + 1);
                    len = line_start;
                    if len > 0 {
                        self.carry.extend_from_slice(&buf[len..len + n]);
                        return Ok(Some(self.finish(buf, len, overlong, true)));
                    }
                    self.next_line += 1;
                }
            }
            if let Some(i) = memchr::memrchr(b'\n', &buf[len..len + n]) {
                line_start = len + i + 1;
            }
            len += n;
            if len - line_start > self.max_line {
                // The unfinished line is too long: note it, drop it, skip to its end.
                overlong.push(self.next_line + bytecount::count(&buf[..line_start], b'\n') as u64);
                self.discarding = true;
                self.consumed += (len - line_start) as u64;
                len = line_start;
                if len > 0 {
                    return Ok(Some(self.finish(buf, len, overlong, true)));
                }
                self.next_line += 1;
                continue;
            }
            if line_start >= self.target {
                self.carry.extend_from_slice(&buf[line_start..len]);
                return Ok(Some(self.finish(buf, line_start, overlong, false)));
            }
        }
    }

    fn finish(&mut self, buf: Vec<u8>, len: usize, overlong: Vec<u64>, then_skip: bool) -> Chunk {
        let first_line = self.next_line;
        self.consumed += len as u64;
        let mut lines = bytecount::count(&buf[..len], b'\n') as u64;
        if len > 0 && buf[len - 1] != b'\n' {
            lines += 1;
        }
        self.next_line += lines + u64::from(then_skip);
        Chunk {
            buf,
            len,
            first_line,
            overlong,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per read, to exercise every boundary.
    struct Dribble(Vec<u8>, usize, usize);
    impl Read for Dribble {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len() - self.2);
            out[..n].copy_from_slice(&self.0[self.2..self.2 + n]);
            self.2 += n;
            Ok(n)
        }
    }

    fn frame(
        data: &[u8],
        step: usize,
        target: usize,
        max: usize,
    ) -> (Vec<(u64, Vec<u8>)>, Vec<u64>) {
        let mut f = Framer::new(Box::new(Dribble(data.to_vec(), step, 0)), target, max);
        let mut lines = Vec::new();
        let mut over = Vec::new();
        while let Some(c) = f.next_chunk(Vec::new()).unwrap() {
            over.extend(&c.overlong);
            for (n, l) in (c.first_line..).zip(c.data().split_inclusive(|b| *b == b'\n')) {
                lines.push((n, l.to_vec()));
            }
        }
        (lines, over)
    }

    #[test]
    fn frames_whole_lines_with_numbers() {
        let mut data = Vec::new();
        for i in 0..5000 {
            data.extend(format!("line {i} {}\n", "x".repeat(i % 97)).as_bytes());
        }
        data.extend(b"last without newline");
        for step in [1, 7, 4096, 1 << 20] {
            let (lines, over) = frame(&data, step, 4096, 1 << 20);
            assert!(over.is_empty());
            assert_eq!(lines.len(), 5001);
            for (i, (n, l)) in lines.iter().enumerate() {
                assert_eq!(*n, i as u64 + 1);
                if i < 5000 {
                    assert!(l.starts_with(format!("line {i} ").as_bytes()));
                }
            }
            assert_eq!(lines[5000].1, b"last without newline");
        }
    }

    #[test]
    fn skips_overlong_lines_without_holding_them() {
        let mut data = Vec::new();
        data.extend(b"a\n");
        data.extend(vec![b'x'; 100_000]);
        data.extend(b"\nb\n");
        data.extend(vec![b'y'; 50_000]);
        data.extend(b"\nc\n");
        data.extend(vec![b'z'; 30_000]); // overlong and unterminated
        for step in [3, 1000, 1 << 20] {
            let (lines, over) = frame(&data, step, 4096, 10_000);
            let got: Vec<(u64, &[u8])> = lines.iter().map(|(n, l)| (*n, l.as_slice())).collect();
            assert_eq!(
                got,
                vec![(1, &b"a\n"[..]), (3, b"b\n"), (5, b"c\n")],
                "step {step}"
            );
            assert_eq!(over, vec![2, 4, 6]);
        }
    }

    #[test]
    fn holds_a_partial_last_line_back_and_counts_consumed_bytes() {
        let data = b"one\ntwo\nthr";
        let mut f = Framer::new(Box::new(Dribble(data.to_vec(), 3, 0)), 4096, 1 << 20);
        f.hold_partial = true;
        let c = f.next_chunk(Vec::new()).unwrap().unwrap();
        assert_eq!(c.data(), b"one\ntwo\n");
        assert!(f.next_chunk(Vec::new()).unwrap().is_none());
        assert_eq!(f.consumed, 8);
        assert_eq!(f.next_line, 3);
        let mut f = Framer::new(
            Box::new(Dribble(b"ab\nxxxxxxxxxx\ncd".to_vec(), 5, 0)),
            4096,
            4,
        );
        f.hold_partial = true;
        while f.next_chunk(Vec::new()).unwrap().is_some() {}
        assert_eq!(
            f.consumed, 14,
            "the overlong line counts as consumed, the partial does not"
        );
    }

    #[test]
    fn a_long_line_completed_within_one_read_is_still_skipped() {
        let mut data = Vec::new();
        for i in 0..2000 {
            data.extend(format!("line {i}\n").as_bytes());
            if i % 500 == 17 {
                data.extend(vec![b'z'; 20_000]);
                data.push(b'\n');
            }
        }
        for step in [7, 4096, 1 << 20] {
            let (lines, over) = frame(&data, step, 4096, 10_000);
            assert_eq!(over, vec![19, 520, 1021, 1522], "step {step}");
            assert_eq!(lines.len(), 2000);
            assert!(lines.iter().all(|(_, l)| l.len() < 100));
        }
    }

    #[test]
    fn gzip_is_detected_by_magic() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b"hello\nworld\n").unwrap();
        let gz = e.finish().unwrap();
        let mut r = sniff(Box::new(io::Cursor::new(gz))).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello\nworld\n");
        let mut r = sniff(Box::new(io::Cursor::new(b"x".to_vec()))).unwrap();
        s.clear();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "x");
    }
}
