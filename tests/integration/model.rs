//! The rotation model test, in the manner of Vector's file-source model test: random sequences
//! of actions on a log (write lines, write a partial line and complete it, rename + create,
//! copytruncate, truncate, delete a rotated file, compress a rotated file, pause) run against the
//! real binary — `events --follow` native and `--poll`, and `check` run between actions (each run
//! a restart) — with a model of which lines exist where.
//!
//! The invariant, checked after every sequence: **no line is ever counted twice, and no line is
//! lost unless the file holding it was deleted or truncated before gwmon could see it** (told
//! when it was the rest of a file gwmon was reading; each sequence prints whether it was). The
//! known traps of peers are in every sequence: each new file starts with the same 1.5 KiB
//! banner (identical first KiB), files smaller than the fingerprint, inode numbers freed by
//! deletions and reused, compressed rotations beside the log, copytruncate followed by a
//! restart of `check`, a partial last line across a restart.
//!
//! A failure prints the seed and the actions; `GWMON_MODEL_SEED=0x…` runs that one. Each test
//! runs 8 sequences by default, 60 per mode with `GWMON_LONG=1`, N with `GWMON_MODEL_COUNT=N`
//! (the soak: 300 per mode).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn long() -> bool {
    std::env::var("GWMON_LONG").is_ok_and(|v| v == "1")
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Debug)]
enum Action {
    Write(u32),
    Partial,
    RenameCreate,
    CopyTruncate,
    Truncate,
    DeleteOldest,
    CompressNewest,
    Pause(u64),
    /// `check` mode: run check (a restart).
    Check,
}

fn actions(rng: &mut Rng, n: usize, with_check: bool) -> Vec<Action> {
    (0..n)
        .map(|_| match rng.below(if with_check { 20 } else { 17 }) {
            0..=5 => Action::Write(1 + rng.below(30) as u32),
            6 => Action::Partial,
            7 | 8 => Action::RenameCreate,
            9 => Action::CopyTruncate,
            10 => Action::Truncate,
            11 => Action::DeleteOldest,
            12 => Action::CompressNewest,
            13..=16 => Action::Pause(rng.below(120)),
            _ => Action::Check,
        })
        .collect()
}

/// The same first 1.5 KiB in every file (a banner nobody can tell apart by its head).
fn banner() -> String {
    (0..20)
        .map(|i| {
            format!("2026-03-04T00:00:00.000Z [INFO     ] [STARTUP             ] banner line {i:02} of the service, identical in every file\n")
        })
        .collect()
}

/// The model: which lines each file holds (by its current name), and what happened to lines.
struct Model {
    dir: PathBuf,
    next: u64,
    /// Lines in the live file, and rotated files by name (newest first), with their lines.
    live: Vec<u64>,
    rotated: Vec<(PathBuf, Vec<u64>)>,
    /// A partial line written at the end of the live file (not yet completed).
    partial: Option<u64>,
    /// Lines that may be missing: their file was deleted or truncated.
    may_lose: BTreeSet<u64>,
    /// check mode: the lines on disk at some run of check (each must be counted once).
    seen_by_check: BTreeSet<u64>,
    rotations: u64,
}

fn org(id: u64) -> String {
    format!("m-{id:08}")
}

/// A line of its own: as in every real log, its millisecond timestamp sets it apart from the
/// lines around it. (Lines alike up to a truncated file's offset would make a truncation and the
/// lines written after it look like the rest of the old file: nothing on the file tells.)
fn text(id: u64) -> String {
    let (s, ms) = (id / 1000, id % 1000);
    format!(
        "2026-03-04T08:{:02}:{:02}.{ms:03}Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org {}\n",
        s / 60 % 60,
        s % 60,
        org(id)
    )
}

impl Model {
    fn log(&self) -> PathBuf {
        self.dir.join("app.log")
    }

    fn append(&self, s: &str) {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.log())
            .unwrap()
            .write_all(s.as_bytes())
            .unwrap();
    }

    /// Complete a partial line (a writer always ends its line before the file is rotated).
    fn complete(&mut self) {
        if let Some(id) = self.partial.take() {
            let t = text(id);
            self.append(&t[t.len() - 20..]);
            self.live.push(id);
        }
    }

    fn new_file(&mut self) {
        std::fs::write(self.log(), banner()).unwrap();
    }

    fn apply(&mut self, a: &Action) {
        match a {
            Action::Write(n) => {
                self.complete();
                let mut s = String::new();
                for _ in 0..*n {
                    s.push_str(&text(self.next));
                    self.live.push(self.next);
                    self.next += 1;
                }
                self.append(&s);
            }
            Action::Partial => {
                self.complete();
                let t = text(self.next);
                self.append(&t[..t.len() - 20]);
                self.partial = Some(self.next);
                self.next += 1;
            }
            Action::RenameCreate | Action::CopyTruncate => {
                self.complete();
                self.rotations += 1;
                let name = self.dir.join(format!("app.log.r{:03}", self.rotations));
                if matches!(a, Action::RenameCreate) {
                    std::fs::rename(self.log(), &name).unwrap();
                    self.new_file();
                } else {
                    std::fs::copy(self.log(), &name).unwrap();
                    // The writer goes on writing its lines (no banner: it did not restart).
                    let f = std::fs::OpenOptions::new()
                        .write(true)
                        .open(self.log())
                        .unwrap();
                    f.set_len(0).unwrap();
                }
                let lines = std::mem::take(&mut self.live);
                self.rotated.insert(0, (name, lines));
            }
            Action::Truncate => {
                self.complete();
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(self.log())
                    .unwrap();
                f.set_len(0).unwrap();
                self.may_lose.extend(self.live.drain(..));
            }
            Action::DeleteOldest => {
                if let Some((p, lines)) = self.rotated.pop() {
                    std::fs::remove_file(&p).unwrap();
                    self.may_lose.extend(lines);
                }
            }
            Action::CompressNewest => {
                if let Some((p, _)) = self.rotated.first_mut()
                    && p.extension().is_none_or(|e| e != "gz")
                {
                    let st = Command::new("gzip").arg("-f").arg(&*p).status().unwrap();
                    assert!(st.success());
                    let mut gz = p.clone().into_os_string();
                    gz.push(".gz");
                    *p = PathBuf::from(gz);
                }
            }
            Action::Pause(ms) => std::thread::sleep(Duration::from_millis(*ms)),
            Action::Check => {}
        }
    }

    /// Every line on disk now (complete lines only).
    fn on_disk(&self) -> impl Iterator<Item = u64> + '_ {
        self.live
            .iter()
            .chain(self.rotated.iter().flat_map(|(_, l)| l.iter()))
            .copied()
    }
}

fn new_model() -> Model {
    let dir = tempfile::tempdir().unwrap().keep();
    let mut m = Model {
        dir,
        next: 1,
        live: Vec::new(),
        rotated: Vec::new(),
        partial: None,
        may_lose: BTreeSet::new(),
        seen_by_check: BTreeSet::new(),
        rotations: 0,
    };
    m.new_file();
    m
}

/// Each org of the events gwmon printed, with how often.
fn orgs_in(events: &[String]) -> BTreeMap<u64, u64> {
    let mut got = BTreeMap::new();
    for l in events {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        if let Some(id) = v["org"].as_str().and_then(|o| o.strip_prefix("m-")) {
            *got.entry(id.parse().unwrap()).or_insert(0) += 1;
        }
    }
    got
}

fn follow_sequence(seed: u64, poll: bool) {
    let mut rng = Rng(seed);
    let acts = actions(&mut rng, 40, false);
    let mut m = new_model();
    let mut args = vec![
        "events",
        "--follow",
        "--from-start",
        "--no-pool-status",
        "-v",
    ];
    if poll {
        args.push("--poll=50ms");
    }
    let mut child = Proc(
        gwmon()
            .args(&args)
            .arg(m.log())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(&mut child.0);
    let err = child.0.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(err), &mut s);
        s
    });
    // gwmon follows the file before the first action (a marker line, not in the model).
    m.append(&text(0).replace("m-00000000", "sync"));
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("gwmon never read the marker line");
    assert!(first.contains("sync"), "{first}");
    let mut events = Vec::new();
    for a in &acts {
        m.apply(a);
        while let Ok(l) = rx.try_recv() {
            events.push(l);
        }
    }
    m.complete();
    let want: BTreeSet<u64> = m.on_disk().collect();
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        let got = orgs_in(&events);
        if want.iter().all(|id| got.contains_key(id)) {
            break;
        }
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            events.push(l);
        }
    }
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(400)) {
        events.push(l);
    }
    sigterm(&child.0);
    let _ = wait_exit(&mut child.0, 10);
    let said = stderr.join().unwrap();
    let got = orgs_in(&events);
    let files: Vec<String> = m
        .rotated
        .iter()
        .map(|(p, l)| {
            format!(
                "{} {:?}..{:?}",
                p.file_name().unwrap().to_string_lossy(),
                l.first(),
                l.last()
            )
        })
        .collect();
    let what = format!(
        "seed {seed:#x} ({}), {} lines, actions {acts:?}\nfiles (newest first) {files:?}, live {:?}..{:?}\ngwmon said:\n{said}",
        if poll { "--poll" } else { "native" },
        m.next - 1,
        m.live.first(),
        m.live.last()
    );
    let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "lines counted twice {twice:?}: {what}");
    let missing: Vec<_> = want.iter().filter(|id| !got.contains_key(id)).collect();
    assert!(
        missing.is_empty(),
        "lines on disk never read {missing:?}: {what}"
    );
    let unknown: Vec<_> = got.keys().filter(|id| **id >= m.next).collect();
    assert!(
        unknown.is_empty(),
        "lines never written {unknown:?}: {what}"
    );
    let lost: Vec<_> = (1..m.next)
        .filter(|id| !got.contains_key(id) && !want.contains(id))
        .collect();
    assert!(
        lost.iter().all(|id| m.may_lose.contains(id)),
        "lines lost that were never deleted or truncated {lost:?}: {what}"
    );
    let _ = std::fs::remove_dir_all(&m.dir);
    // (A loss is told when gwmon had the file open: lines truncated or deleted before it ever
    // looked at their file cannot be.)
    eprintln!(
        "model seed {seed:#x} ({}): {} lines, {} rotations, {} lost to deletion or truncation{}, 0 twice",
        if poll { "--poll" } else { "native" },
        m.next - 1,
        m.rotations,
        lost.len(),
        if said.contains("lines lost") {
            " (a loss told)"
        } else {
            ""
        }
    );
}

/// Run check; the attempts it has counted (UNKNOWN is allowed only while no lifecycle line
/// was ever on disk: `none_yet`).
fn check_counts(state: &Path, log: &Path, none_yet: bool) -> u64 {
    let out = gwmon()
        .args(["check", "--state"])
        .arg(state)
        .arg(log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if none_yet && out.status.code() == Some(3) {
        return 0;
    }
    assert_ne!(
        out.status.code(),
        Some(3),
        "check: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .next()
        .and_then(|l| l.split_once(" | "))
        .and_then(|(_, perf)| {
            perf.split_whitespace().find_map(|kv| {
                kv.strip_prefix("attempts=")?
                    .strip_suffix('c')?
                    .parse()
                    .ok()
            })
        })
        .unwrap_or_else(|| panic!("no attempts in check's output: {text}"))
}

fn check_sequence(seed: u64) {
    let mut rng = Rng(seed);
    let acts = actions(&mut rng, 50, true);
    let mut m = new_model();
    let state = m.dir.join("check.json");
    let mut counted = check_counts(&state, &m.log(), true);
    for a in &acts {
        m.apply(a);
        if matches!(a, Action::Check) {
            // What is on disk now is seen by this run (the partial line is not a line yet).
            let now: Vec<u64> = m.on_disk().collect();
            m.seen_by_check.extend(now);
            counted = check_counts(&state, &m.log(), m.seen_by_check.is_empty());
            if std::env::var("GWMON_MODEL_TRACE").is_ok() {
                let ls = std::process::Command::new("ls")
                    .arg("-l")
                    .arg("--full-time")
                    .arg(&m.dir)
                    .output()
                    .unwrap();
                eprintln!(
                    "check: counted {counted}, want {}\n{}{}",
                    m.seen_by_check.len(),
                    String::from_utf8_lossy(&ls.stdout),
                    serde_json::from_str::<serde_json::Value>(
                        &std::fs::read_to_string(&state).unwrap_or_default()
                    )
                    .map(|v| {
                        let mut f = v["files"].clone();
                        for (_, x) in f.as_object_mut().unwrap().iter_mut() {
                            x.as_object_mut().unwrap().remove("input");
                        }
                        f.to_string()
                    })
                    .unwrap_or_default()
                );
            }
            assert_eq!(
                counted,
                m.seen_by_check.len() as u64,
                "seed {seed:#x}: check counted {counted} attempts, {} lines were on disk at its runs; actions {acts:?}",
                m.seen_by_check.len()
            );
        }
    }
    let _ = counted;
    let _ = std::fs::remove_dir_all(&m.dir);
}

/// Sequences per mode: `GWMON_MODEL_COUNT`, else 60 with `GWMON_LONG=1`, else 8.
fn sequences() -> u64 {
    match std::env::var("GWMON_MODEL_COUNT").map(|v| v.parse()) {
        Ok(Ok(n)) => n,
        _ if long() => 60,
        _ => 8,
    }
}

/// Run every sequence (each seed from `first`), then fail naming every failing seed and
/// how many passed.
fn run_all(first: u64, count: u64, run: impl Fn(u64)) {
    let mut failed = Vec::new();
    for s in 0..count {
        let seed = first + s * 7919;
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(seed))).is_err() {
            failed.push(format!("{seed:#x}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {count} sequences failed: seeds {}",
        failed.len(),
        failed.join(", ")
    );
}

/// `GWMON_MODEL_SEED=0x…` runs that one sequence only (to reproduce a failure).
fn only_seed() -> Option<u64> {
    let v = std::env::var("GWMON_MODEL_SEED").ok()?;
    u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()
}

/// `events --follow` (native events) while the actions run: every line on disk is read once.
#[test]
fn model_events_follow_native() {
    if let Some(seed) = only_seed() {
        return follow_sequence(seed, false);
    }
    run_all(0x1000, sequences(), |seed| follow_sequence(seed, false));
}

/// The same with `--poll` (a look every 50 ms: more happens between two looks).
#[test]
fn model_events_follow_poll() {
    if let Some(seed) = only_seed() {
        return follow_sequence(seed, true);
    }
    run_all(0x2000, sequences(), |seed| follow_sequence(seed, true));
}

/// `check` run between the actions (each run a restart): every line on disk at some run is
/// counted once, however many rotations, truncations and compressions came between two runs.
/// (`GWMON_MODEL_TRACE=1` prints each run's count, the files and the saved marks.)
#[test]
fn model_check_across_restarts() {
    if let Some(seed) = only_seed() {
        return check_sequence(seed);
    }
    run_all(0x3000, sequences(), check_sequence);
}
