//! Following stdin (`tail -f log | gwmon watch`): a thread frames it and hands whole lines
//! over as soon as a read brings them; a partial last line waits for its newline (and is
//! delivered, with one, at the end).

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;

use super::{CHUNK_TARGET, FollowChunk};
use crate::source::framer::Framer;
use crate::source::input::decompress;

/// Follows stdin (`tail -f log | gwmon watch`): a thread reads it and hands over complete lines;
/// a partial last line waits for its newline (and is delivered, with one, at the end).
pub struct StdinFollower {
    rx: mpsc::Receiver<Result<FollowChunk, String>>,
    eof: bool,
    error: Option<String>,
}

impl StdinFollower {
    pub fn new(max_line: usize) -> io::Result<StdinFollower> {
        StdinFollower::from_reader(Box::new(io::stdin()), max_line)
    }

    /// Follow any reader (compression recognized by its magic bytes, as for one-off reads).
    pub fn from_reader(r: Box<dyn Read + Send>, max_line: usize) -> io::Result<StdinFollower> {
        let (tx, rx) = mpsc::sync_channel(16);
        std::thread::Builder::new()
            .name("gwmon stdin".into())
            .spawn(move || stdin_thread(r, max_line, tx))?;
        Ok(StdinFollower {
            rx,
            eof: false,
            error: None,
        })
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
    let r = match decompress(r).context("<stdin>") {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Err(format!("{e:#}")));
            return;
        }
    };
    let mut framer = Framer::new(r, CHUNK_TARGET, max_line);
    // A pipe pauses between writes: hand lines over as they come.
    framer.eager = true;
    let mut scratch = Vec::new();
    loop {
        let msg = match framer.next_chunk(std::mem::take(&mut scratch)) {
            Ok(Some(c)) => {
                let chunk = FollowChunk {
                    input: 0,
                    path: path.clone(),
                    first_line: c.first_line,
                    data: c.data().to_vec(),
                    overlong: c.overlong,
                };
                scratch = c.buf;
                Ok(chunk)
            }
            Ok(None) => return,
            Err(e) => Err(format!("<stdin>: read error: {e}")),
        };
        let end = msg.is_err();
        if tx.send(msg).is_err() || end {
            return;
        }
    }
}
