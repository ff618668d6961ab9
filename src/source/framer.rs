//! The one line framer: cuts a byte stream into chunks of whole lines with a bounded line
//! length. Batch reads, `gwmon check` and the followers (files and stdin) all frame with it.
//!
//! A chunk ends on a newline and holds about [`Framer::target`] bytes (less when the input pauses
//! or ends). A line longer than [`Framer::max_line`] is counted (its number) and skipped while it
//! streams past: it is never held whole. What happens at the end of the input is [`AtEnd`]'s
//! choice: a one-off read delivers an unterminated last line, `check` holds it back for its next
//! run, a follower keeps it until its newline arrives.

use std::io::{self, Read};

/// What to do with an unterminated last line when the reader returns 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtEnd {
    /// The input is over: the partial line is a line (one-off reads).
    Deliver,
    /// The input is over for this run, but the writer may be in the middle of the line: leave
    /// it unread and out of [`Framer::consumed`] (`gwmon check` reads it next time).
    Hold,
    /// The input is only paused (a followed file): keep the partial line and go on reading at
    /// the next call; [`Framer::flush`] delivers it when nothing can complete it any more.
    Wait,
}

/// A chunk of whole lines.
pub struct Chunk {
    /// Backing buffer; only `buf[..len]` is data. Buffers are recycled, so `buf` keeps its size.
    pub buf: Vec<u8>,
    pub len: usize,
    /// Line number (1-based) of the first line in the chunk.
    pub first_line: u64,
    /// Overlong lines skipped next to this chunk's lines, with the line numbers they had.
    pub overlong: Vec<u64>,
}

impl Chunk {
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Cuts a byte stream into chunks of whole lines.
pub struct Framer<R: Read = Box<dyn Read + Send>> {
    inner: R,
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
    pub at_end: AtEnd,
    /// Hand out a chunk as soon as a read brings complete lines, instead of waiting for
    /// `target` bytes (a pipe being followed: lines must not wait for more input).
    pub eager: bool,
    /// Bytes of the input accounted for: handed out in chunks or dropped as overlong.
    pub consumed: u64,
}

impl<R: Read> Framer<R> {
    pub fn new(inner: R, target: usize, max_line: usize) -> Framer<R> {
        Framer {
            inner,
            carry: Vec::new(),
            discarding: false,
            eof: false,
            error: None,
            next_line: 1,
            at_end: AtEnd::Deliver,
            eager: false,
            consumed: 0,
            target: target.max(4096),
            max_line: max_line.max(1),
        }
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Bytes of an unterminated line held (waiting for its newline).
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.carry.len()
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

    /// Fill `buf` (recycled or new) with the next chunk. `Ok(None)` at the end of the input (for
    /// [`AtEnd::Wait`]: nothing complete for now). Errors are the reader's (a truncated gzip
    /// member, a failing disk), returned after the lines read before them.
    pub fn next_chunk(&mut self, mut buf: Vec<u8>) -> io::Result<Option<Chunk>> {
        if self.at_end == AtEnd::Wait {
            // A paused input may have grown since.
            self.eof = false;
        }
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
                let cut = match self.at_end {
                    // A last line without newline is still a line in a one-off read.
                    AtEnd::Deliver => len,
                    AtEnd::Hold => line_start,
                    AtEnd::Wait => {
                        self.carry.extend_from_slice(&buf[line_start..len]);
                        line_start
                    }
                };
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
            if line_start >= self.target || (self.eager && line_start > 0) {
                self.carry.extend_from_slice(&buf[line_start..len]);
                return Ok(Some(self.finish(buf, line_start, overlong, false)));
            }
        }
    }

    /// Forget a held partial line (its bytes are read again from elsewhere).
    pub fn discard_partial(&mut self) {
        self.carry.clear();
        if self.discarding {
            self.discarding = false;
            self.next_line += 1;
        }
    }

    /// Nothing can complete a held partial line any more (its file was rotated away, deleted or
    /// truncated): hand it out as a line of its own, with a newline added. A line being skipped
    /// for length ends too.
    pub fn flush(&mut self) -> Option<Chunk> {
        if self.discarding {
            self.discarding = false;
            self.next_line += 1;
        }
        if self.carry.is_empty() {
            return None;
        }
        let mut buf = std::mem::take(&mut self.carry);
        buf.push(b'\n');
        let len = buf.len();
        let chunk = self.finish(buf, len, Vec::new(), false);
        // The added newline was never read.
        self.consumed -= 1;
        Some(chunk)
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
        let mut f = Framer::new(Dribble(data.to_vec(), step, 0), target, max);
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
        let mut f = Framer::new(Dribble(data.to_vec(), 3, 0), 4096, 1 << 20);
        f.at_end = AtEnd::Hold;
        let c = f.next_chunk(Vec::new()).unwrap().unwrap();
        assert_eq!(c.data(), b"one\ntwo\n");
        assert!(f.next_chunk(Vec::new()).unwrap().is_none());
        assert_eq!(f.consumed, 8);
        assert_eq!(f.next_line, 3);
        let mut f = Framer::new(Dribble(b"ab\nxxxxxxxxxx\ncd".to_vec(), 5, 0), 4096, 4);
        f.at_end = AtEnd::Hold;
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

    /// A reader whose content grows between calls, like a followed file.
    struct Growing(std::rc::Rc<std::cell::RefCell<(Vec<u8>, usize)>>);
    impl Read for Growing {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let mut g = self.0.borrow_mut();
            let (data, pos) = &mut *g;
            let n = out.len().min(data.len() - *pos).min(3);
            out[..n].copy_from_slice(&data[*pos..*pos + n]);
            *pos += n;
            Ok(n)
        }
    }

    #[test]
    fn waiting_keeps_a_partial_line_until_its_newline_or_a_flush() {
        let shared = std::rc::Rc::new(std::cell::RefCell::new((Vec::new(), 0)));
        let mut f = Framer::new(Growing(shared.clone()), 4096, 8);
        f.at_end = AtEnd::Wait;
        let take = |f: &mut Framer<Growing>, more: &[u8]| {
            shared.borrow_mut().0.extend_from_slice(more);
            let mut got = Vec::new();
            while let Some(c) = f.next_chunk(Vec::new()).unwrap() {
                got.push((c.first_line, c.data().to_vec(), c.overlong));
            }
            got
        };
        assert_eq!(take(&mut f, b"a\nbc"), vec![(1, b"a\n".to_vec(), vec![])]);
        assert_eq!(f.pending(), 2);
        assert_eq!(take(&mut f, b"d"), vec![]);
        assert_eq!(take(&mut f, b"e\nf"), vec![(2, b"bcde\n".to_vec(), vec![])]);
        // An overlong line arriving in pieces is dropped as it streams, never held.
        assert_eq!(
            take(&mut f, b"xxxxxxxxxxxx"),
            vec![(4, Vec::new(), vec![3])]
        );
        assert_eq!(f.pending(), 0);
        assert_eq!(take(&mut f, b"yy\ng"), vec![]);
        let c = f.flush().unwrap();
        assert_eq!((c.first_line, c.data()), (4, &b"g\n"[..]));
        assert!(f.flush().is_none());
        assert_eq!(f.next_line, 5);
        assert_eq!(f.consumed, 2 + 5 + 16 + 1);
    }

    #[test]
    fn eager_hands_out_each_read() {
        let mut f = Framer::new(Dribble(b"a\nb\nc\n".to_vec(), 2, 0), 4096, 100);
        f.eager = true;
        let mut n = 0;
        while let Some(c) = f.next_chunk(Vec::new()).unwrap() {
            assert_eq!(c.data().len(), 2);
            n += 1;
        }
        assert_eq!(n, 3);
    }
}
