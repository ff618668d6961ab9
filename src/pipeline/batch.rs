//! The batch pipeline: source → scan → recognize for one-off reads, and the merge of several
//! inputs by event time.
//!
//! Each input has a reader thread that frames it into chunks; a pool of scan workers (one per
//! core) decodes and classifies chunks of all inputs; the calling thread puts each input's results
//! back in order, runs that input's [`InputRecognizer`], and merges the inputs' events by time (k-way
//! merge: each input is in time order, rotated siblings need no particular order). An input may
//! have only a few chunks in flight, so memory stays bounded whatever the input size.

use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::io;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

use super::Diagnostic;
use crate::decode::Format;
use crate::event::Event;
use crate::recognize::input::{InputRecognizer, Output};
use crate::recognize::scan::{ScanConfig, Scanned, Scanner};
use crate::recognize::{ReadStats, Skipped};
use crate::source::{Chunk, Framer, Input};

/// How to read.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    pub format: Format,
    pub max_line: usize,
    pub verbose: bool,
    /// Scan workers; 0 = one per core.
    pub threads: usize,
}

impl ReadOptions {
    /// What a scan of these options needs.
    pub fn scan(&self) -> ScanConfig {
        ScanConfig {
            format: self.format,
            max_line: self.max_line,
            verbose: self.verbose,
        }
    }
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
struct InputFeed {
    index: u32,
    rx: Receiver<Msg>,
    permits: Receiver<()>,
    reorder: BTreeMap<u64, Msg>,
    next_seq: u64,
    state: InputRecognizer,
    events: VecDeque<Event>,
    /// Lines skipped since the diagnostics were last taken.
    skipped: Vec<Skipped>,
    /// A read error that ended this input, not yet reported.
    error: Option<io::Error>,
    done: bool,
}

impl InputFeed {
    /// The next event of this input, in its order; `None` at its end.
    fn next_event(&mut self, cfg: &ScanConfig, stats: &mut ReadStats) -> Option<Event> {
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
            let mut out = Output {
                input: self.index,
                events: &mut self.events,
                skipped: &mut self.skipped,
                stats,
            };
            match msg {
                Msg::Scanned {
                    mut scanned,
                    overlong,
                    ..
                } => {
                    let _ = self.permits.recv();
                    out.chunk(&mut scanned, &overlong);
                    for hit in scanned.hits {
                        self.state.push(self.index, hit, cfg, &mut out);
                    }
                }
                Msg::End { .. } => {
                    self.state.flush_piece(self.index, cfg, &mut out);
                    self.done = true;
                }
                Msg::Error { error, .. } => {
                    out.stats.errors += 1;
                    self.state.flush_piece(self.index, cfg, &mut out);
                    self.error = Some(error);
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

/// Read `inputs` (already opened, same order), merge their events by time, and hand each to
/// `on_event`, and what went wrong on the way to `on_diag` (skipped lines, read errors: the
/// caller decides what to print). Stops early when `on_event` fails (a closed pipe) and returns
/// that error.
pub fn read_merged(
    inputs: &[Input],
    readers: Vec<Box<dyn io::Read + Send>>,
    opts: &ReadOptions,
    mut on_event: impl FnMut(Event) -> anyhow::Result<()>,
    mut on_diag: impl FnMut(Diagnostic),
) -> anyhow::Result<ReadStats> {
    let threads = if opts.threads == 0 {
        thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let cfg = opts.scan();
    // Keep memory bounded when many files are merged: smaller chunks each.
    let target = (8usize << 20)
        .checked_div(inputs.len().max(1))
        .unwrap_or(1 << 20)
        .clamp(64 << 10, 1 << 20);
    let (jobs, workers) = spawn_workers(threads, &cfg);
    let mut feeds = Vec::with_capacity(inputs.len());
    let mut readers_h = Vec::new();
    for (i, r) in readers.into_iter().enumerate() {
        let (reply_tx, reply_rx) = mpsc::channel();
        let (permit_tx, permit_rx) = mpsc::sync_channel(IN_FLIGHT);
        let framer = Framer::new(r, target, opts.max_line);
        readers_h.push(spawn_reader(framer, jobs.clone(), reply_tx, permit_tx));
        feeds.push(InputFeed {
            index: i as u32,
            rx: reply_rx,
            permits: permit_rx,
            reorder: BTreeMap::new(),
            next_seq: 0,
            state: InputRecognizer::for_path(match &inputs[i] {
                Input::File(p) => Some(p.as_path()),
                Input::Stdin => None,
            }),
            events: VecDeque::new(),
            skipped: Vec::new(),
            error: None,
            done: false,
        });
    }
    drop(jobs);
    let mut stats = ReadStats::default();
    let names: Vec<String> = inputs.iter().map(Input::name).collect();
    for (i, name) in names.iter().enumerate() {
        stats.inputs.entry(i as u32).or_default().name = name.clone();
    }
    let result = merge(&mut feeds, &cfg, &mut stats, &mut on_event, &mut |f| {
        for s in f.skipped.drain(..) {
            on_diag(Diagnostic::Skipped {
                input: names[f.index as usize].clone(),
                skipped: s,
            });
        }
        if let Some(error) = f.error.take() {
            on_diag(Diagnostic::ReadError {
                input: names[f.index as usize].clone(),
                error: error.to_string(),
            });
        }
    });
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

/// The k-way merge. `diags` takes each input's diagnostics as they come up (between events, so
/// a skipped line is told in about the order it was read).
fn merge(
    feeds: &mut [InputFeed],
    cfg: &ScanConfig,
    stats: &mut ReadStats,
    on_event: &mut impl FnMut(Event) -> anyhow::Result<()>,
    diags: &mut impl FnMut(&mut InputFeed),
) -> anyhow::Result<()> {
    // Heap of (time, input, line) of each input's head event, smallest first.
    let mut heads: Vec<Option<Event>> = Vec::with_capacity(feeds.len());
    let mut heap = BinaryHeap::new();
    for (i, f) in feeds.iter_mut().enumerate() {
        let e = f.next_event(cfg, stats);
        diags(f);
        if let Some(e) = &e {
            heap.push(std::cmp::Reverse((e.time, i, e.origin.line)));
        }
        heads.push(e);
    }
    while let Some(std::cmp::Reverse((_, i, _))) = heap.pop() {
        let Some(e) = heads[i].take() else { continue };
        on_event(e)?;
        let next = feeds[i].next_event(cfg, stats);
        diags(&mut feeds[i]);
        if let Some(next) = next {
            heap.push(std::cmp::Reverse((next.time, i, next.origin.line)));
            heads[i] = Some(next);
        }
    }
    Ok(())
}
