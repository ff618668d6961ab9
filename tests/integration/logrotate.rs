//! The real `logrotate` (Debian package; skipped with a printed reason when missing) rotating a
//! log under a fast writer while `gwmon events --follow` reads it, native and `--poll`: with
//! `create`, `copytruncate`, `compress delaycompress` and `dateext`. The invariant: every line
//! that exists on disk at the end (the log and every rotated generation, decompressed) reached
//! gwmon exactly once, and gwmon saw no line that is not on disk. (copytruncate loses, by its
//! nature, what is written between its copy and its truncation: such lines are on no disk and
//! so outside the invariant; gwmon may have read them before the truncation, once.)
//!
//! `GWMON_LONG=1` runs 100 rotations per method at ≥ 10,000 lines/s; the default run does a
//! few per method.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;

fn long() -> bool {
    std::env::var("GWMON_LONG").is_ok_and(|v| v == "1")
}

/// The org id of line `i` (each line an allocation attempt: one event per line).
fn org(i: u64) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// Every org id in the files of `dir` (decompressed), with how often it appears.
fn on_disk(dir: &Path) -> BTreeMap<String, u64> {
    let mut seen = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("app.log") {
            continue;
        }
        let mut data = Vec::new();
        let f = std::fs::File::open(&p).unwrap();
        if name.ends_with(".gz") {
            flate2::read::MultiGzDecoder::new(f)
                .read_to_end(&mut data)
                .unwrap();
        } else {
            std::io::BufReader::new(f).read_to_end(&mut data).unwrap();
        }
        for l in String::from_utf8_lossy(&data).lines() {
            if let Some(o) = l.split("for org ").nth(1)
                && !o.starts_with("marker-")
            {
                *seen.entry(o.trim().to_owned()).or_insert(0) += 1;
            }
        }
    }
    seen
}

/// Which files hold the first missing lines, and the range of lines in each file.
fn describe_files(dir: &Path, missing: &[&String]) {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("app.log") {
            continue;
        }
        let one = tempfile::tempdir().unwrap();
        std::fs::copy(&p, one.path().join(&name)).unwrap();
        let orgs: Vec<String> = on_disk(one.path()).into_keys().collect();
        let has: Vec<&&String> = missing
            .iter()
            .filter(|m| orgs.contains(m))
            .take(3)
            .collect();
        eprintln!(
            "  {name} (inode {}): {} lines, {:?} .. {:?}, missing here: {has:?}",
            std::fs::metadata(&p).unwrap().ino(),
            orgs.len(),
            orgs.first(),
            orgs.last()
        );
    }
}

struct Run {
    method: &'static str,
    config: &'static str,
    rotations: usize,
    every: Duration,
    rate: u64,
    poll: bool,
}

/// Count the org of an event line (markers aside).
fn count(got: &mut BTreeMap<String, u64>, l: &str) {
    let v: serde_json::Value = serde_json::from_str(l).unwrap();
    let o = v["org"].as_str().unwrap_or_default();
    if !o.starts_with("marker-") {
        *got.entry(o.to_owned()).or_insert(0) += 1;
    }
}

fn rotate_under_load(logrotate: &Path, r: &Run) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "").unwrap();
    let conf = dir.path().join("logrotate.conf");
    std::fs::write(
        &conf,
        format!(
            "{} {{\n  rotate 1000\n  missingok\n  notifempty\n{}\n}}\n",
            log.display(),
            r.config
        ),
    )
    .unwrap();
    let state = dir.path().join("logrotate.state");
    let mut args = vec!["events", "--follow", "--no-pool-status", "-v"];
    if r.poll {
        args.push("--poll=50ms");
    }
    let mut child = gwmon()
        .args(&args)
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    // gwmon follows from the end: markers until it reads one (markers are not counted).
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    let mut k = 0;
    loop {
        let marker = line(
            &now_iso(),
            "INFO",
            "GATEWAY_ALLOC",
            &format!("Starting gateway for org marker-{k}"),
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(marker.as_bytes())
            .unwrap();
        k += 1;
        if rx.recv_timeout(Duration::from_millis(300)).is_ok() {
            break;
        }
        assert!(k < 100, "gwmon never read the log");
    }
    // The writer: `rate` lines a second; it reopens the path when logrotate replaced the file
    // (as a service does on its postrotate signal).
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written, log, rate) = (stop.clone(), written.clone(), log.clone(), r.rate);
        std::thread::spawn(move || {
            let open = || {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .unwrap()
            };
            let mut w = open();
            let start = Instant::now();
            let mut i = 1u64;
            let mut buf = String::new();
            while !stop.load(Ordering::SeqCst) {
                let due = (start.elapsed().as_secs_f64() * rate as f64) as u64 + 1;
                while i < due {
                    buf.push_str(&line(
                        &now_iso(),
                        "INFO",
                        "GATEWAY_ALLOC",
                        &format!("Starting gateway for org {}", org(i)),
                    ));
                    i += 1;
                }
                if !buf.is_empty() {
                    w.write_all(buf.as_bytes()).unwrap();
                    buf.clear();
                    written.store(i, Ordering::SeqCst);
                }
                let same = std::fs::metadata(&log)
                    .is_ok_and(|m| w.metadata().is_ok_and(|f| f.ino() == m.ino()));
                if !same {
                    w = open();
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let mut rotated = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while rotated < r.rotations {
        std::thread::sleep(r.every);
        let out = Command::new(logrotate)
            .args(["-f", "-s"])
            .arg(&state)
            .arg(&conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "logrotate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        rotated += 1;
        // Keep up with the reading meanwhile.
        while let Ok(l) = rx.try_recv() {
            count(&mut got, &l);
        }
        assert!(Instant::now() < deadline);
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let disk = on_disk(dir.path());
    let total = written.load(Ordering::SeqCst);
    // Everything on disk arrives (or the wait ends and the comparison says what is missing).
    let end = Instant::now() + Duration::from_secs(30);
    while disk.keys().any(|k| !got.contains_key(k)) && Instant::now() < end {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            count(&mut got, &l);
        }
    }
    // And nothing more comes.
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
        count(&mut got, &l);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = child.wait();
    let what = format!(
        "{} ({}), {} rotations",
        r.method,
        if r.poll { "--poll" } else { "native" },
        r.rotations
    );
    let missing: Vec<&String> = disk.keys().filter(|k| !got.contains_key(*k)).collect();
    let dup: Vec<(&String, &u64)> = got.iter().filter(|(_, n)| **n > 1).collect();
    let extra: Vec<&String> = got.keys().filter(|k| !disk.contains_key(*k)).collect();
    eprintln!(
        "{what}: {total} lines written, {} on disk, {} read by gwmon, {} missing, {} twice, {} not on disk",
        disk.len(),
        got.len(),
        missing.len(),
        dup.len(),
        extra.len()
    );
    if !missing.is_empty() {
        describe_files(dir.path(), &missing);
        if std::env::var_os("GWMON_KEEP").is_some() {
            eprintln!("kept {}", dir.keep().display());
            return;
        }
    }
    assert!(
        missing.is_empty(),
        "{what}: {} lines on disk never read (first {:?}); gwmon said:\n{stderr}",
        missing.len(),
        missing.first()
    );
    assert!(
        dup.is_empty(),
        "{what}: lines read twice: {:?}",
        &dup[..dup.len().min(5)]
    );
    // Lines read that are on no disk: copytruncate loses what is written between its copy and
    // its truncation, yet gwmon may have read it from the file before; dateext names a
    // rotation to the second, so two rotations in one second overwrite one. Never a line that
    // was not written (or read twice: see `dup`).
    let invented: Vec<&&String> = extra
        .iter()
        .filter(|o| {
            let n: Option<u64> = o.rsplit('-').next().and_then(|d| d.parse().ok());
            !n.is_some_and(|n| n >= 1 && n < total && org(n) == ***o)
        })
        .collect();
    assert!(
        invented.is_empty(),
        "{what}: lines read that were never written: {:?}",
        &invented[..invented.len().min(5)]
    );
    assert!(
        disk.values().all(|n| *n == 1),
        "{what}: a line twice on disk"
    );
}

fn run_all(method: &'static str, config: &'static str, every: Duration, rotations_short: usize) {
    let Some(logrotate) = tool(&["logrotate"]) else {
        return;
    };
    let rotations = if long() { 100 } else { rotations_short };
    let rate = if long() { 10_000 } else { 2_000 };
    for poll in [false, true] {
        rotate_under_load(
            &logrotate,
            &Run {
                method,
                config,
                rotations,
                every,
                rate,
                poll,
            },
        );
    }
}

#[test]
fn logrotate_create_under_a_fast_writer() {
    run_all("create", "  create", Duration::from_millis(30), 20);
}

#[test]
fn logrotate_copytruncate_under_a_fast_writer() {
    run_all(
        "copytruncate",
        "  copytruncate",
        Duration::from_millis(100),
        10,
    );
}

#[test]
fn logrotate_compress_delaycompress_under_a_fast_writer() {
    run_all(
        "compress delaycompress",
        "  create\n  compress\n  delaycompress",
        Duration::from_millis(50),
        15,
    );
}

#[test]
fn logrotate_dateext_under_a_fast_writer() {
    // One rotation a second at most: the date extension names it to the second.
    run_all(
        "dateext",
        "  create\n  dateext\n  dateformat -%Y%m%d-%s",
        Duration::from_millis(1100),
        if long() { 100 } else { 3 },
    );
}
