//! gwmon check: incremental reads across runs, rotation between runs, crash safety, exit codes.

use std::path::Path;
use std::process::Stdio;

use crate::common::*;

fn check(state: &Path, files: &[&Path], extra: &[&str]) -> (i32, String) {
    let mut cmd = gwmon();
    cmd.arg("check").arg("--state").arg(state).args(extra);
    for f in files {
        cmd.arg(f);
    }
    // The logs here are from March: judged from today, any pool is "consistently empty".
    cmd.args(["--set", "alerts.pool_imbalance.enabled=false"]);
    // … and silent for months: log_silent has its own test; here the rules judge the content.
    cmd.args(["--set", "alerts.log_silent.enabled=false"]);
    let out = cmd.stderr(Stdio::piped()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn state_counts(state: &Path) -> (u64, u64, u64, u64) {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
    let c = &v["pool"]["c"];
    (
        c["attempts"].as_u64().unwrap(),
        c["allocated"].as_u64().unwrap(),
        c["deallocated"].as_u64().unwrap(),
        v["stats"]["lines"].as_u64().unwrap(),
    )
}

/// Allocations that end after 5 minutes: no alert fires for a pool of 50.
fn quiet_log(cycles: u32, first_minute: u32) -> String {
    (0..cycles)
        .map(|i| {
            let org = format!("00000000-0000-4000-8000-{:012}", i + first_minute * 1000);
            alloc_cycle(&org, i % 40, first_minute + i, 5)
        })
        .collect()
}

#[test]
fn two_runs_over_a_growing_log_count_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    let state = dir.path().join("state.json");
    let first = quiet_log(20, 0);
    std::fs::write(&log, &first).unwrap();
    // A partial last line is left for the next run.
    let second = quiet_log(20, 100);
    let (cut_a, cut_b) = second.split_at(second.len() / 2 + 7);
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, cut_a.as_bytes()).unwrap();
    let (code, out) = check(&state, &[&log], &["--pool-size", "50"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("GWMON OK - "), "{out}");
    std::io::Write::write_all(&mut f, cut_b.as_bytes()).unwrap();
    let (code, out) = check(&state, &[&log], &["--pool-size", "50"]);
    assert_eq!(code, 0, "{out}");
    let (attempts, allocated, deallocated, lines) = state_counts(&state);
    assert_eq!((attempts, allocated, deallocated), (40, 40, 40));
    assert_eq!(lines, 160);
    // A third run with nothing new changes nothing.
    check(&state, &[&log], &["--pool-size", "50"]);
    assert_eq!(state_counts(&state), (40, 40, 40, 160));
}

#[test]
fn rotation_between_runs_loses_nothing() {
    for compress in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("ganymede.log");
        let state = dir.path().join("state.json");
        std::fs::write(&log, quiet_log(10, 0)).unwrap();
        check(&state, &[&log], &["--pool-size", "50"]);
        // More lines land in the old file, then it is rotated (and maybe compressed), and the
        // new file gets lines too, all before the next run.
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        std::io::Write::write_all(&mut f, quiet_log(10, 100).as_bytes()).unwrap();
        drop(f);
        let rotated = dir.path().join("ganymede.log.1");
        std::fs::rename(&log, &rotated).unwrap();
        if compress {
            let data = std::fs::read(&rotated).unwrap();
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut e, &data).unwrap();
            std::fs::write(dir.path().join("ganymede.log.1.gz"), e.finish().unwrap()).unwrap();
            std::fs::remove_file(&rotated).unwrap();
        }
        std::fs::write(&log, quiet_log(10, 200)).unwrap();
        let (code, out) = check(&state, &[&log], &["--pool-size", "50"]);
        assert_eq!(code, 0, "{out}");
        assert!(!out.contains("not found"), "{out}");
        assert_eq!(
            state_counts(&state),
            (30, 30, 30, 120),
            "compress={compress}"
        );
    }
}

/// Several rotations between two runs, the file the last run knew truncated first (a
/// copytruncate) and the copy deleted: what is left on disk is counted, once — the generation
/// that was truncated, then rotated away and compressed included — while a backup copy of the
/// log (`cp ganymede.log ganymede.log.bak`) is not counted again, and a third run changes
/// nothing.
#[test]
fn generations_rotated_after_a_truncation_between_runs_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    let state = dir.path().join("state.json");
    let append = |p: &Path, text: String| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    };
    append(&log, quiet_log(5, 0));
    check(&state, &[&log], &["--pool-size", "50"]);
    // copytruncate; the copy is deleted (its 5 cycles after the first are lost, and said)
    append(&log, quiet_log(5, 100));
    std::fs::copy(&log, dir.path().join("ganymede.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    std::fs::remove_file(dir.path().join("ganymede.log.1")).unwrap();
    // the truncated file gets 5 cycles, is renamed away and compressed
    append(&log, quiet_log(5, 200));
    std::fs::rename(&log, dir.path().join("ganymede.log.1")).unwrap();
    let st = std::process::Command::new("gzip")
        .arg(dir.path().join("ganymede.log.1"))
        .status()
        .unwrap();
    assert!(st.success());
    // a new file with 5 more, and a backup copy of it
    append(&log, quiet_log(5, 300));
    std::fs::copy(&log, dir.path().join("ganymede.log.bak")).unwrap();
    let (_, out) = check(&state, &[&log], &["--pool-size", "50", "-v"]);
    assert_eq!(state_counts(&state).0, 15, "{out}");
    assert_eq!(check(&state, &[&log], &["--pool-size", "50"]).0, 0);
    assert_eq!(state_counts(&state).0, 15);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(v["stats"]["lost"], 1, "the deleted copy is counted as lost");
}

/// The log rotated away and not created again before two runs: the rest of it is read by the
/// first, and not again by the second.
#[test]
fn a_log_rotated_away_and_not_recreated_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    let state = dir.path().join("state.json");
    std::fs::write(&log, quiet_log(5, 0)).unwrap();
    check(&state, &[&log], &["--pool-size", "50"]);
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, quiet_log(5, 100).as_bytes()).unwrap();
    drop(f);
    std::fs::rename(&log, dir.path().join("ganymede.log.1")).unwrap();
    for _ in 0..2 {
        check(&state, &[&log], &["--pool-size", "50"]);
        assert_eq!(state_counts(&state).0, 10);
    }
    // Created again: its lines are read, the old rest is not.
    std::fs::write(&log, quiet_log(5, 200)).unwrap();
    check(&state, &[&log], &["--pool-size", "50"]);
    assert_eq!(state_counts(&state).0, 15);
}

#[test]
fn exit_codes_follow_the_alert_severities() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    let state = dir.path().join("state.json");
    std::fs::write(&log, quiet_log(3, 0)).unwrap();
    let (code, out) = check(&state, &[&log], &["--pool-size", "50"]);
    assert_eq!(code, 0, "{out}");
    // A refusal: critical.
    let refusal = line(
        "2026-03-04T09:00:00.000Z",
        "ERROR",
        "GATEWAY_ALLOC",
        &format!("Failed to start gateway for org {ORG_A}: \"no_gateway_available\""),
    );
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, refusal.as_bytes()).unwrap();
    let (code, out) = check(&state, &[&log], &["--pool-size", "50"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.starts_with("GWMON CRITICAL - pool exhausted: 50/50 available |"),
        "{out}"
    );
    assert!(out.contains("available=50;5;0;0;50"), "{out}");
    // A successful allocation resolves it; an allocation open too long is a warning.
    let alloc = line(
        "2026-03-04T09:01:00.000Z",
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Allocated gw-pool-1 (port 7101, upstream 172.17.0.1:7101) to org {ORG_B}"),
    );
    std::io::Write::write_all(&mut f, alloc.as_bytes()).unwrap();
    let (code, out) = check(&state, &[&log], &["--pool-size", "50"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("GWMON WARNING - 1 allocation open longer than 1d"),
        "{out}"
    );
    // Unreadable input: UNKNOWN.
    let (code, out) = check(&state, &[&dir.path().join("missing.log")], &[]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with("GWMON UNKNOWN - ") && out.contains("missing.log"),
        "{out}"
    );
    // A corrupt state file: UNKNOWN, and left alone.
    std::fs::write(&state, b"{not json").unwrap();
    let (code, out) = check(&state, &[&log], &[]);
    assert_eq!(code, 3, "{out}");
    assert_eq!(std::fs::read(&state).unwrap(), b"{not json");
}

#[test]
fn sigkill_at_random_points_never_corrupts_or_double_counts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    let state = dir.path().join("state.json");
    let mut all = String::new();
    // Grow the log between attempts; kill most runs at a varying moment.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..25u32 {
        let part = quiet_log(200, round * 1000);
        all += &part;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        std::io::Write::write_all(&mut f, part.as_bytes()).unwrap();
        drop(f);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = std::time::Duration::from_micros(seed % 40_000);
        let mut child = gwmon()
            .args([
                "check",
                "--pool-size",
                "50",
                "--set",
                "alerts.pool_imbalance.enabled=false",
                "--state",
            ])
            .arg(&state)
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        if state.exists() {
            let bytes = std::fs::read(&state).unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).expect("state is always whole");
        }
    }
    let (code, out) = check(&state, &[&log], &["--pool-size", "50"]);
    assert!(code == 0 || code == 1, "{out}");
    let (attempts, allocated, deallocated, lines) = state_counts(&state);
    assert_eq!((attempts, allocated, deallocated), (5000, 5000, 5000));
    assert_eq!(lines, all.lines().count() as u64);
}

#[test]
fn overlapping_runs_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    let state = dir.path().join("state.json");
    std::fs::write(&log, quiet_log(3000, 0)).unwrap();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            gwmon()
                .args([
                    "check",
                    "--pool-size",
                    "50",
                    "--set",
                    "alerts.pool_imbalance.enabled=false",
                    "--state",
                ])
                .arg(&state)
                .arg(&log)
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut r in runs {
        r.wait().unwrap();
    }
    assert_eq!(state_counts(&state).0, 3000);
}
