//! Wiring of source → scan → recognize for one-off reads, and the merge of several inputs by
//! event time.
//!
//! Each input has a reader thread that frames it into chunks; a pool of scan workers (one per
//! core) decodes and classifies chunks of all inputs; the calling thread puts each input's results
//! back in order, runs that input's [`Recognizer`], and merges the inputs' events by time (k-way
//! merge: each input is in time order, rotated siblings need no particular order). An input may
//! have only a few chunks in flight, so memory stays bounded whatever the input size.

use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::io;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::decode::{Format, Malformed, console};
use crate::event::{Event, Millis, Origin};
use crate::recognize::{Fed, Recognizer};
use crate::scan::{Body, Item, ScanConfig, Scanned, Scanner, Skip, push_record};
use crate::source::{self, Chunk, Framer, Input};
use crate::term::escape;

/// How to read.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    pub format: Format,
    pub max_line: usize,
    pub verbose: bool,
    /// Scan workers; 0 = one per core.
    pub threads: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: Format::Auto,
            max_line: 1 << 20,
            verbose: false,
            threads: 0,
        }
    }
}

/// Counts of a read (DESIGN.md §4 `lines`, plus read-side anomalies).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadStats {
    pub lines: u64,
    pub skipped: u64,
    pub time_backwards: u64,
    /// Inputs that failed while being read (the message was printed).
    pub errors: u64,
}

/// The per-input, in-order part of recognition: Docker piece joining, the stateful
/// [`Recognizer`], and the time-order check.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct InputState {
    pub recognizer: Recognizer,
    pub last_time: Option<Millis>,
    /// A Docker line being joined from its 16 KiB pieces.
    piece: Option<Joining>,
}

/// A Docker line being joined.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Joining {
    /// Line number of the first piece, and of the latest.
    first: u64,
    latest: u64,
    text: String,
    /// Longer than the limit: counted once, its remaining pieces dropped.
    overlong: bool,
}

/// Sink for diagnostics of one input (skipped lines with `-v`).
pub struct Diag<'a> {
    pub name: &'a str,
    pub verbose: bool,
}

impl Diag<'_> {
    pub fn skipped(&self, s: &Skip) {
        if self.verbose {
            eprintln!(
                "gwmon: {}:{}: skipped: {}: {}",
                escape(self.name),
                s.line,
                s.reason,
                escape(&s.excerpt)
            );
        }
    }
}

impl InputState {
    /// Turn one scanned item into events (appended to `out`), counting skips into `stats`.
    pub fn feed(
        &mut self,
        input: u32,
        item: Item,
        opts: &ReadOptions,
        stats: &mut ReadStats,
        diag: &Diag<'_>,
        out: &mut VecDeque<Event>,
    ) {
        match item.body {
            Body::Piece { text, last } => {
                let continues = self
                    .piece
                    .as_ref()
                    .is_some_and(|j| j.latest + 1 == item.line);
                if !continues {
                    self.flush_piece(input, opts, stats, diag, out);
                }
                let mut j = self.piece.take().unwrap_or(Joining {
                    first: item.line,
                    latest: item.line,
                    text: String::new(),
                    overlong: false,
                });
                j.latest = item.line;
                if !j.overlong && j.text.len() + text.len() > opts.max_line {
                    stats.skipped += 1;
                    diag.skipped(&Skip {
                        line: j.first,
                        reason: "joined Docker line longer than --max-line-length",
                        excerpt: j.text.chars().take(300).collect(),
                    });
                    j.overlong = true;
                    j.text = String::new();
                }
                if !j.overlong {
                    j.text.push_str(&text);
                }
                self.piece = Some(j);
                if last {
                    self.flush_piece(input, opts, stats, diag, out);
                }
            }
            Body::Rec { .. } => {
                self.flush_piece(input, opts, stats, diag, out);
                self.recognize(input, item, stats, diag, out);
            }
        }
    }

    /// Recognize a classified record (pieces are joined before they get here).
    fn recognize(
        &mut self,
        input: u32,
        item: Item,
        stats: &mut ReadStats,
        diag: &Diag<'_>,
        out: &mut VecDeque<Event>,
    ) {
        let Body::Rec {
            time,
            line,
            emitter,
            raw,
        } = item.body
        else {
            return;
        };
        let line_no = item.line;
        match self.recognizer.feed(line, emitter.as_deref()) {
            Fed::Event(kind) => {
                if self.last_time.is_some_and(|t| time < t) {
                    stats.time_backwards += 1;
                }
                self.last_time = Some(self.last_time.map_or(time, |t| t.max(time)));
                out.push_back(Event {
                    time,
                    kind,
                    origin: Origin {
                        input,
                        line: line_no,
                    },
                    raw,
                });
            }
            Fed::Nothing => {}
            Fed::Malformed(reason) => {
                stats.skipped += 1;
                diag.skipped(&Skip {
                    line: line_no,
                    reason,
                    excerpt: raw,
                });
            }
        }
    }

    /// Decode a joined Docker line (also at the end of an input: a line cut short).
    pub fn flush_piece(
        &mut self,
        input: u32,
        opts: &ReadOptions,
        stats: &mut ReadStats,
        diag: &Diag<'_>,
        out: &mut VecDeque<Event>,
    ) {
        let Some(Joining {
            first,
            text,
            overlong: false,
            ..
        }) = self.piece.take()
        else {
            return;
        };
        let line = text.strip_suffix('\n').unwrap_or(&text);
        let mut scanned = Scanned::default();
        match console::decode(line) {
            Ok(Some(r)) => push_record(r, first, opts.verbose, &mut scanned),
            Ok(None) => {}
            Err(Malformed(why)) => {
                if line.contains("GATEWAY_") {
                    scanned.skipped.push(Skip {
                        line: first,
                        reason: why,
                        excerpt: line.chars().take(300).collect(),
                    })
                }
            }
        }
        for s in scanned.skipped {
            stats.skipped += 1;
            diag.skipped(&s);
        }
        for item in scanned.items {
            self.recognize(input, item, stats, diag, out);
        }
    }
}

struct Job {
    seq: u64,
    chunk: Chunk,
    reply: Sender<Msg>,
    recycle: Sender<Vec<u8>>,
}

enum Msg {
    Scanned {
        seq: u64,
        scanned: Scanned,
        overlong: Vec<u64>,
    },
    End {
        seq: u64,
    },
    Error {
        seq: u64,
        error: io::Error,
    },
}

impl Msg {
    fn seq(&self) -> u64 {
        match self {
            Msg::Scanned { seq, .. } | Msg::End { seq } | Msg::Error { seq, .. } => *seq,
        }
    }
}

/// One input being read: its reordering buffer and its recognizer.
struct Feed {
    index: u32,
    name: String,
    rx: Receiver<Msg>,
    permits: Receiver<()>,
    reorder: BTreeMap<u64, Msg>,
    next_seq: u64,
    state: InputState,
    events: VecDeque<Event>,
    done: bool,
}

impl Feed {
    /// The next event of this input, in its order; `None` at its end.
    fn next_event(&mut self, opts: &ReadOptions, stats: &mut ReadStats) -> Option<Event> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            if self.done {
                return None;
            }
            let msg = loop {
                if let Some(m) = self.reorder.remove(&self.next_seq) {
                    break m;
                }
                match self.rx.recv() {
                    Ok(m) => {
                        self.reorder.insert(m.seq(), m);
                    }
                    Err(_) => {
                        break Msg::Error {
                            seq: self.next_seq,
                            error: io::Error::other("reader thread ended unexpectedly"),
                        };
                    }
                }
            };
            self.next_seq += 1;
            let diag = Diag {
                name: &self.name,
                verbose: opts.verbose,
            };
            match msg {
                Msg::Scanned {
                    scanned, overlong, ..
                } => {
                    let _ = self.permits.recv();
                    stats.lines += scanned.lines + overlong.len() as u64;
                    for line in overlong {
                        stats.skipped += 1;
                        diag.skipped(&Skip {
                            line,
                            reason: "line longer than --max-line-length",
                            excerpt: String::new(),
                        });
                    }
                    for s in &scanned.skipped {
                        stats.skipped += 1;
                        diag.skipped(s);
                    }
                    for item in scanned.items {
                        self.state
                            .feed(self.index, item, opts, stats, &diag, &mut self.events);
                    }
                }
                Msg::End { .. } => {
                    self.state
                        .flush_piece(self.index, opts, stats, &diag, &mut self.events);
                    self.done = true;
                }
                Msg::Error { error, .. } => {
                    eprintln!("gwmon: error reading {}: {error}", escape(&self.name));
                    stats.errors += 1;
                    self.state
                        .flush_piece(self.index, opts, stats, &diag, &mut self.events);
                    self.done = true;
                }
            }
        }
    }
}

/// Chunks a reader may have in flight before the merge consumes them.
const IN_FLIGHT: usize = 3;

fn spawn_reader(
    framer: Framer,
    jobs: Sender<Job>,
    reply: Sender<Msg>,
    permits: SyncSender<()>,
) -> thread::JoinHandle<()> {
    let mut framer = framer;
    thread::spawn(move || {
        let (recycle_tx, recycle_rx) = mpsc::channel::<Vec<u8>>();
        let mut seq = 0;
        loop {
            if permits.send(()).is_err() {
                return; // the consumer is gone
            }
            let buf = recycle_rx.try_recv().unwrap_or_default();
            let msg = match framer.next_chunk(buf) {
                Ok(Some(chunk)) => {
                    let job = Job {
                        seq,
                        chunk,
                        reply: reply.clone(),
                        recycle: recycle_tx.clone(),
                    };
                    if jobs.send(job).is_err() {
                        return;
                    }
                    seq += 1;
                    continue;
                }
                Ok(None) => Msg::End { seq },
                Err(error) => Msg::Error { seq, error },
            };
            let _ = reply.send(msg);
            return;
        }
    })
}

fn spawn_workers(n: usize, cfg: &ScanConfig) -> (Sender<Job>, Vec<thread::JoinHandle<()>>) {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let handles = (0..n)
        .map(|_| {
            let rx = Arc::clone(&rx);
            let mut scanner = Scanner::new(cfg.clone());
            thread::spawn(move || {
                loop {
                    let job = {
                        let Ok(guard) = rx.lock() else { return };
                        match guard.recv() {
                            Ok(j) => j,
                            Err(_) => return,
                        }
                    };
                    let scanned = scanner.scan(job.chunk.data(), job.chunk.first_line);
                    let Chunk { buf, overlong, .. } = job.chunk;
                    let _ = job.recycle.send(buf);
                    let _ = job.reply.send(Msg::Scanned {
                        seq: job.seq,
                        scanned,
                        overlong,
                    });
                }
            })
        })
        .collect();
    (tx, handles)
}

/// Open every input first, so a missing file is reported before any output.
pub fn open_all(inputs: &[Input]) -> anyhow::Result<Vec<Box<dyn io::Read + Send>>> {
    inputs.iter().map(source::open).collect()
}

/// Read `inputs` (already opened, same order), merge their events by time, and hand each to
/// `on_event`. Stops early when `on_event` fails (a closed pipe) and returns that error.
pub fn read_merged(
    inputs: &[Input],
    readers: Vec<Box<dyn io::Read + Send>>,
    opts: &ReadOptions,
    mut on_event: impl FnMut(Event) -> anyhow::Result<()>,
) -> anyhow::Result<ReadStats> {
    let threads = if opts.threads == 0 {
        thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let cfg = ScanConfig {
        format: opts.format,
        max_line: opts.max_line,
        verbose: opts.verbose,
    };
    // Keep memory bounded when many files are merged: smaller chunks each.
    let target = (8usize << 20)
        .checked_div(inputs.len().max(1))
        .unwrap_or(1 << 20)
        .clamp(64 << 10, 1 << 20);
    let (jobs, workers) = spawn_workers(threads, &cfg);
    let mut feeds = Vec::with_capacity(inputs.len());
    let mut readers_h = Vec::new();
    for (i, (input, r)) in inputs.iter().zip(readers).enumerate() {
        let (reply_tx, reply_rx) = mpsc::channel();
        let (permit_tx, permit_rx) = mpsc::sync_channel(IN_FLIGHT);
        let framer = Framer::new(r, target, opts.max_line);
        readers_h.push(spawn_reader(framer, jobs.clone(), reply_tx, permit_tx));
        feeds.push(Feed {
            index: i as u32,
            name: input.name(),
            rx: reply_rx,
            permits: permit_rx,
            reorder: BTreeMap::new(),
            next_seq: 0,
            state: InputState::default(),
            events: VecDeque::new(),
            done: false,
        });
    }
    drop(jobs);
    let mut stats = ReadStats::default();
    let result = merge(&mut feeds, opts, &mut stats, &mut on_event);
    // Dropping the feeds closes their channels, which ends readers and workers.
    drop(feeds);
    for h in readers_h {
        let _ = h.join();
    }
    for h in workers {
        let _ = h.join();
    }
    result.map(|()| stats)
}

fn merge(
    feeds: &mut [Feed],
    opts: &ReadOptions,
    stats: &mut ReadStats,
    on_event: &mut impl FnMut(Event) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // Heap of (time, input, line) of each input's head event, smallest first.
    let mut heads: Vec<Option<Event>> = Vec::with_capacity(feeds.len());
    let mut heap = BinaryHeap::new();
    for (i, f) in feeds.iter_mut().enumerate() {
        let e = f.next_event(opts, stats);
        if let Some(e) = &e {
            heap.push(std::cmp::Reverse((e.time, i, e.origin.line)));
        }
        heads.push(e);
    }
    while let Some(std::cmp::Reverse((_, i, _))) = heap.pop() {
        let Some(e) = heads[i].take() else { continue };
        on_event(e)?;
        if let Some(next) = feeds[i].next_event(opts, stats) {
            heap.push(std::cmp::Reverse((next.time, i, next.origin.line)));
            heads[i] = Some(next);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Kind;

    fn piece(line: u64, text: &str, last: bool) -> Item {
        Item {
            line,
            body: Body::Piece {
                text: text.into(),
                last,
            },
        }
    }

    fn feed(items: Vec<Item>, max_line: usize) -> (Vec<Event>, ReadStats) {
        let mut st = InputState::default();
        let opts = ReadOptions {
            max_line,
            ..ReadOptions::default()
        };
        let mut stats = ReadStats::default();
        let diag = Diag {
            name: "t",
            verbose: false,
        };
        let mut out = VecDeque::new();
        for i in items {
            st.feed(0, i, &opts, &mut stats, &diag, &mut out);
        }
        st.flush_piece(0, &opts, &mut stats, &diag, &mut out);
        (out.into(), stats)
    }

    #[test]
    fn docker_pieces_are_joined_into_one_line() {
        let line = "2026-03-04T09:15:02.119Z [ERROR    ] [GATEWAY_ALLOC       ] Failed to start gateway for org o: \"Gateway initialization failed: 502 <html>";
        let (a, b) = line.split_at(40);
        let (b, c) = b.split_at(30);
        let (ev, stats) = feed(
            vec![
                piece(7, a, false),
                piece(8, b, false),
                piece(9, &format!("{c}...</html>\"\n"), true),
            ],
            1 << 20,
        );
        assert_eq!(stats.skipped, 0);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].origin.line, 7);
        match &ev[0].kind {
            Kind::AllocFailed {
                reason, message, ..
            } => {
                assert_eq!(*reason, crate::event::Reason::Init);
                assert!(message.ends_with("...</html>"), "{message}");
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn an_overlong_joined_line_is_counted_once_and_dropped() {
        let head = "2026-03-04T09:15:02.118Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org o ";
        let mut items = vec![piece(1, head, false)];
        for i in 2..10 {
            items.push(piece(i, &"x".repeat(100), false));
        }
        items.push(piece(10, "end\n", true));
        // The next line, complete, is read normally.
        items.push(piece(11, "2026-03-04T09:15:03.000Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org p\n", true));
        let (ev, stats) = feed(items, 300);
        assert_eq!(stats.skipped, 1);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, Kind::AllocAttempt { org: "p".into() });
    }
}
