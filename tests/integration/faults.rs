//! Fault injection against the real binary: a full disk and a read-only file system under the
//! state file of `check` and the textfile of `watch` (a private tmpfs; skipped with a printed
//! reason where mounting is not allowed), logs replaced by a directory, a FIFO or a symlink loop,
//! an unreadable log (run as `nobody` with `setpriv`), a log that shrinks while it is read, and
//! `check` killed with SIGKILL at 100 moments.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// A tmpfs of `size` mounted at a fresh directory, unmounted when dropped.
/// (The temporary directory it is mounted in goes with it.)
struct Tmpfs(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Tmpfs {
    fn new(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("fs");
        std::fs::create_dir(&at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(at, dir)),
            Ok(o) => {
                skipped_optional(&format!(
                    "a full disk and a read-only file system: cannot mount a tmpfs here ({})",
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
                None
            }
            Err(e) => {
                skipped_optional(&format!(
                    "a full disk and a read-only file system: no mount ({e})"
                ));
                None
            }
        }
    }

    fn remount(&self, opts: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success(), "remount {opts}");
    }

    /// Fill it up (a file grown until the write fails).
    fn fill(&self) {
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let block = vec![b'x'; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.flush();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn check(state: &Path, log: &Path) -> std::process::Output {
    gwmon()
        .args(["check", "--state"])
        .arg(state)
        .arg(log)
        .output()
        .unwrap()
}

/// The cumulative counters of check's performance data (`attempts=557c …`).
fn counters(out: &std::process::Output) -> Vec<(String, u64)> {
    let text = String::from_utf8_lossy(&out.stdout);
    let perf = text
        .lines()
        .next()
        .and_then(|l| l.split_once(" | "))
        .map(|x| x.1);
    perf.unwrap_or_else(|| panic!("no performance data in {text:?}"))
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.strip_suffix('c')?.parse().ok()?))
        })
        .collect()
}

#[test]
fn check_on_a_full_disk_or_a_read_only_state_dir_exits_3_and_keeps_the_old_state() {
    let Some(fs) = Tmpfs::new("256k") else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, alloc_cycle(ORG_A, 1, 0, 30)).unwrap();
    let state = fs.0.join("check.json");
    let first = check(&state, &log);
    assert_ne!(first.status.code(), Some(3), "{first:?}");
    let saved = std::fs::read(&state).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(alloc_cycle(ORG_B, 2, 40, 30).as_bytes())
        .unwrap();
    for (what, fault) in [("disk full", 0), ("read-only", 1)] {
        if fault == 0 {
            fs.fill();
        } else {
            std::fs::remove_file(fs.0.join("filler")).unwrap();
            fs.remount("ro");
        }
        let out = check(&state, &log);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{what}: {stdout}{stderr}");
        assert!(
            format!("{stdout}{stderr}").contains("check.json"),
            "{what}: the message names the state file: {stdout}{stderr}"
        );
        assert_eq!(
            std::fs::read(&state).unwrap(),
            saved,
            "{what}: state changed"
        );
    }
    // Writable again: the next run counts the second allocation once.
    fs.remount("rw");
    let out = check(&state, &log);
    assert_ne!(out.status.code(), Some(3), "{out:?}");
    let c = counters(&out);
    assert!(c.contains(&("allocations".to_owned(), 2)), "{c:?}");
}

#[test]
fn watch_textfile_on_a_full_disk_says_so_keeps_the_old_file_and_goes_on() {
    let Some(fs) = Tmpfs::new("256k") else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let textfile = fs.0.join("gwmon.prom");
    let child = Proc(
        gwmon()
            .args([
                "watch",
                "--quiet",
                "--textfile-interval",
                "1s",
                "--textfile",
            ])
            .arg(&textfile)
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut child = child;
    let err = child.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufRead::lines(std::io::BufReader::new(err)).map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let append = |text: &str| {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    };
    let has = |n: u64| {
        std::fs::read_to_string(&textfile)
            .ok()
            .filter(|t| t.contains(&format!("gwmon_lines_read_total {n}\n")))
    };
    // Following from the end: lines until one is in the textfile.
    let mut n = 0;
    let before = wait_for(20, "the textfile", || {
        append(&line(&now_iso(), "INFO", "HTTP", "GET /health 200"));
        n += 1;
        std::thread::sleep(Duration::from_millis(300));
        (1..=n).rev().find_map(has).map(|t| (t, n))
    });
    let (old, _) = before;
    std::thread::sleep(Duration::from_millis(1500));
    let old = std::fs::read_to_string(&textfile).unwrap_or(old);
    fs.fill();
    append(&line(&now_iso(), "INFO", "HTTP", "GET /health 200"));
    let said = wait_for(20, "an error about the textfile", || {
        rx.recv_timeout(Duration::from_millis(200))
            .ok()
            .filter(|l| l.contains("gwmon.prom"))
    });
    assert!(
        said.contains("No space left") || said.contains("space"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(&textfile).unwrap(),
        old,
        "the old textfile is whole"
    );
    assert!(child.0.try_wait().unwrap().is_none(), "watch ended");
    // Room again: written again.
    std::fs::remove_file(fs.0.join("filler")).unwrap();
    append(&line(&now_iso(), "INFO", "HTTP", "GET /health 200"));
    wait_for(20, "the textfile written again", || {
        let t = std::fs::read_to_string(&textfile).ok()?;
        (t != old).then_some(())
    });
}

/// The log `watch` follows is replaced by a directory, a FIFO, a symlink loop, then a file
/// again: each is told, nothing hangs, and the file's lines are read once it is back.
#[test]
fn watch_survives_its_log_replaced_by_a_directory_a_fifo_and_a_symlink_loop() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let mut child = Proc(
        gwmon()
            .args(["watch", "-v", "--poll=100ms"])
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let err = child.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufRead::lines(std::io::BufReader::new(err)).map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let expect = |want: &str| {
        let end = Instant::now() + Duration::from_secs(15);
        let mut seen = Vec::new();
        while Instant::now() < end {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
                if l.contains(want) {
                    return;
                }
                seen.push(l);
            }
        }
        panic!("no {want:?} from watch; it said {seen:?}");
    };
    std::thread::sleep(Duration::from_millis(500));
    std::fs::remove_file(&log).unwrap();
    std::fs::create_dir(&log).unwrap();
    expect("is a directory");
    std::fs::remove_dir(&log).unwrap();
    let mk = Command::new("mkfifo").arg(&log).status().unwrap();
    assert!(mk.success());
    expect("not a regular file");
    std::fs::remove_file(&log).unwrap();
    let other = dir.path().join("other");
    std::os::unix::fs::symlink(&log, &other).unwrap();
    std::os::unix::fs::symlink(&other, &log).unwrap();
    expect("symbolic links");
    std::fs::remove_file(&log).unwrap();
    let text = alloc_cycle(ORG_A, 1, 0, 30);
    std::fs::write(&log, &text).unwrap();
    // Still reading: the allocation's lines arrive (SIGUSR1 prints the pool line).
    let pool = wait_for(15, "the allocation read", || {
        let pid = child.0.id().to_string();
        let _ = Command::new("kill").args(["-USR1", &pid]).status();
        let end = Instant::now() + Duration::from_millis(500);
        while Instant::now() < end {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(100))
                && l.contains("pool ")
                && l.contains("1 allocated")
            {
                return Some(l);
            }
        }
        None
    });
    assert!(pool.contains("1 allocated"), "{pool}");
    sigterm(&child.0);
    let st = wait_exit(&mut child.0, 10);
    assert!(st.code().is_some(), "watch ended by a signal: {st:?}");
}

#[test]
fn report_names_what_it_cannot_read_and_reads_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    // A directory, a symlink loop.
    let sub = dir.path().join("logs");
    std::fs::create_dir(&sub).unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    for p in [&sub, &a] {
        let out = gwmon().arg("report").arg(p).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", p.display());
        assert!(stderr.contains(&*p.to_string_lossy()), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A FIFO with a writer: read as a stream.
    let fifo = dir.path().join("fifo.log");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let text = alloc_cycle(ORG_A, 1, 0, 30) + &alloc_cycle(ORG_B, 2, 10, 30);
    let writer = {
        let (fifo, text) = (fifo.clone(), text.clone());
        std::thread::spawn(move || std::fs::write(&fifo, text).unwrap())
    };
    let out = gwmon()
        .args(["report", "--json"])
        .arg(&fifo)
        .output()
        .unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["allocations"]["allocated"], 2);
    // Unreadable: run as nobody (root reads everything).
    let Some(setpriv) = tool(&["setpriv"]) else {
        return;
    };
    let secret = dir.path().join("secret.log");
    std::fs::write(&secret, &text).unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_gwmon"))
        .arg("report")
        .arg(&secret)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("setpriv:") {
        skipped_optional(&format!(
            "an unreadable log: setpriv cannot switch users ({stderr})"
        ));
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("secret.log") && stderr.contains("ermission denied"),
        "{stderr}"
    );
}

/// A log truncated and rewritten shorter while `report` reads it: no panic, an ordinary exit.
#[test]
fn a_log_that_shrinks_while_it_is_read_is_no_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, _) = simulate(dir.path(), "168");
    let data = std::fs::read(&sim).unwrap();
    let log = dir.path().join("shrinking.log");
    for round in 0..5 {
        std::fs::write(&log, &data).unwrap();
        let child = gwmon()
            .args(["report", "--json"])
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(5 * round));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(data.len() as u64 / 3)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            matches!(out.status.code(), Some(0 | 2)),
            "{:?}: {stderr}",
            out.status
        );
    }
}

/// `check` killed with SIGKILL at 100 random moments while a log grows (about every other run
/// is killed, the others finish and save): its state always loads (never UNKNOWN for a broken
/// state), and after a last whole run its counters equal one clean run's.
#[test]
fn check_killed_at_100_moments_keeps_a_loadable_state_and_counts_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, _) = simulate(dir.path(), "72");
    let data = std::fs::read_to_string(&sim).unwrap();
    let lines: Vec<&str> = data.split_inclusive('\n').collect();
    let clean_state = dir.path().join("clean.json");
    let clean = check(&clean_state, &sim);
    let want = counters(&clean);
    let log = dir.path().join("growing.log");
    std::fs::write(&log, "").unwrap();
    let state = dir.path().join("killed.json");
    // How long a run takes (the last one that finished), to kill within it.
    let mut span = 20_000u64;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let parts = 25;
    let (mut killed, mut finished, mut broken) = (0, 0, 0);
    let mut run = 0;
    while killed < 100 && run < 400 {
        run += 1;
        if run % 4 == 1 && run / 4 < parts {
            let k = run / 4;
            let from = lines.len() * k / parts;
            let to = lines.len() * (k + 1) / parts;
            std::fs::OpenOptions::new()
                .append(true)
                .open(&log)
                .unwrap()
                .write_all(lines[from..to].concat().as_bytes())
                .unwrap();
        }
        let t0 = Instant::now();
        let mut child = gwmon()
            .args(["check", "--state"])
            .arg(&state)
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(next() % (2 * span)));
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        if out.status.code().is_none() {
            killed += 1;
            // Kill later next time: some runs must finish (and save) in between.
            span = span * 11 / 10;
        } else {
            finished += 1;
            span = (t0.elapsed().as_micros() as u64 * 3 / 4).max(1000);
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.code() == Some(3) && stderr.contains("state") {
                broken += 1;
                eprintln!("run {run}: {stderr}");
            }
        }
        if state.exists() {
            let text = std::fs::read_to_string(&state).unwrap();
            if serde_json::from_str::<serde_json::Value>(&text).is_err() {
                broken += 1;
            }
        }
    }
    let last = check(&state, &log);
    let stderr = String::from_utf8_lossy(&last.stderr);
    assert_ne!(last.status.code(), Some(3), "{stderr}");
    eprintln!(
        "check: {killed} runs killed by SIGKILL, {finished} finished, {broken} broken states"
    );
    assert_eq!(broken, 0);
    assert_eq!(killed, 100, "the test kills too late");
    assert!(
        finished > 10,
        "few runs finished ({finished}): the test kills too early"
    );
    assert_eq!(counters(&last), want);
}
