//! Hostile input and resource bounds: text that would drive a terminal never reaches one raw,
//! and inputs built to exhaust memory (distinct organizations by the hundred thousand,
//! allocations that never end, a 1 GB line, a gzip bomb, a sparse file) keep gwmon's peak
//! RSS under 64 MiB. The peak is the child's own: `VmHWM` of its memory after `exec`, sampled
//! while it runs (`getrusage`'s figure would include the test process it was forked from).

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use crate::common::*;

/// Peak RSS allowed under hostile input.
const RSS_LIMIT_KIB: i64 = 64 * 1024;

/// What a measured run gave.
struct Measured {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    code: i32,
    max_rss_kib: i64,
}

/// Writes a child's stdin.
type Feed = Box<dyn FnOnce(&mut dyn Write) + Send>;

/// Run `gwmon ARGS`, feeding `stdin` from `feed` (in a thread), and measure its peak RSS.
fn measured(args: &[&str], feed: Option<Feed>) -> Measured {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gwmon"))
        .args(args)
        .stdin(if feed.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gwmon");
    let writer = feed.map(|f| {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            f(&mut stdin);
        })
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).unwrap();
        v
    });
    let ereader = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).unwrap();
        v
    });
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0i64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(v) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        {
            peak = peak.max(v);
        }
        if let Some(st) = child.try_wait().expect("wait for gwmon") {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    Measured {
        stdout: reader.join().unwrap(),
        stderr: ereader.join().unwrap(),
        code: status.code().unwrap_or(-1),
        max_rss_kib: peak,
    }
}

fn json(m: &Measured) -> serde_json::Value {
    assert_eq!(
        m.code,
        0,
        "gwmon failed: {}",
        String::from_utf8_lossy(&m.stderr)
    );
    serde_json::from_slice(&m.stdout).expect("JSON report")
}

fn org(i: u64) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", i >> 20, i)
}

#[test]
fn allocations_that_never_end_keep_memory_bounded() {
    // 200 000 organizations each allocated a `null` container and never deallocated.
    let m = measured(
        &["report", "--json"],
        Some(Box::new(|w: &mut dyn Write| {
            let mut buf = String::with_capacity(1 << 20);
            for i in 0..200_000u64 {
                let o = org(i);
                buf.push_str(&format!(
                    "2026-03-04T09:{:02}:{:02}.000Z [INFO     ] [GATEWAY_ALLOC       ] Allocated null (port 7100, upstream 172.17.0.1:7100) to org {o}\n",
                    i / 60 % 60,
                    i % 60
                ));
                if buf.len() > 1 << 20 {
                    let _ = w.write_all(buf.as_bytes());
                    buf.clear();
                }
            }
            let _ = w.write_all(buf.as_bytes());
        })),
    );
    let r = json(&m);
    assert_eq!(r["allocations"]["allocated"], 200_000);
    assert!(
        r["allocations"]["open"].as_u64().unwrap() <= 10_000,
        "{}",
        r["allocations"]
    );
    assert!(r["anomalies"]["open_folded"].as_u64().unwrap() >= 190_000);
    assert_eq!(
        r["orgs"]["distinct"], 10_000,
        "--max-orgs bounds the organizations"
    );
    assert!(
        m.max_rss_kib < RSS_LIMIT_KIB,
        "peak RSS {} KiB with 200 000 open allocations",
        m.max_rss_kib
    );
    eprintln!(
        "200 000 never-ended allocations: peak RSS {} KiB",
        m.max_rss_kib
    );
}

#[test]
fn a_1_gb_line_is_streamed_past() {
    let m = measured(
        &["report", "--json"],
        Some(Box::new(|w: &mut dyn Write| {
            let _ = w.write_all(alloc_cycle(ORG_A, 1, 0, 30).as_bytes());
            let chunk = vec![b'x'; 1 << 20];
            for _ in 0..1024 {
                if w.write_all(&chunk).is_err() {
                    return;
                }
            }
            let _ = w.write_all(b"\n");
            let _ = w.write_all(alloc_cycle(ORG_B, 2, 40, 30).as_bytes());
        })),
    );
    let r = json(&m);
    assert_eq!(r["allocations"]["allocated"], 2);
    assert_eq!(r["lines"]["skipped"], 1);
    assert!(
        m.max_rss_kib < RSS_LIMIT_KIB,
        "peak RSS {} KiB",
        m.max_rss_kib
    );
    eprintln!("1 GiB line: peak RSS {} KiB", m.max_rss_kib);
}

#[test]
fn a_gzip_bomb_and_a_sparse_file_are_streamed() {
    let dir = tempfile::tempdir().unwrap();
    // 2 GiB of zeros compressed to ~2 MB, then a real allocation in a second member.
    let bomb = dir.path().join("bomb.log.gz");
    {
        let f = std::fs::File::create(&bomb).unwrap();
        let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..2048 {
            enc.write_all(&zeros).unwrap();
        }
        enc.write_all(b"\n").unwrap();
        enc.write_all(alloc_cycle(ORG_A, 1, 0, 30).as_bytes())
            .unwrap();
        enc.finish().unwrap();
    }
    assert!(std::fs::metadata(&bomb).unwrap().len() < 16 << 20);
    let m = measured(&["report", "--json", s(&bomb)], None);
    let r = json(&m);
    assert_eq!(r["allocations"]["allocated"], 1);
    assert!(
        m.max_rss_kib < RSS_LIMIT_KIB,
        "gzip bomb: peak RSS {} KiB",
        m.max_rss_kib
    );
    eprintln!("2 GiB gzip bomb: peak RSS {} KiB", m.max_rss_kib);

    // A 2 GB sparse file (holes read as zeros) with a log at its end (10 GB measured by hand,
    // see SECURITY.md; the tests run a debug build).
    let sparse = dir.path().join("sparse.log");
    {
        let mut f = std::fs::File::create(&sparse).unwrap();
        f.set_len(2_000_000_000).unwrap();
        use std::io::Seek;
        f.seek(std::io::SeekFrom::End(0)).unwrap();
        f.write_all(b"\n").unwrap();
        f.write_all(alloc_cycle(ORG_B, 2, 0, 30).as_bytes())
            .unwrap();
    }
    let m = measured(&["report", "--json", s(&sparse)], None);
    let r = json(&m);
    assert_eq!(r["allocations"]["allocated"], 1);
    assert!(
        m.max_rss_kib < RSS_LIMIT_KIB,
        "sparse file: peak RSS {} KiB",
        m.max_rss_kib
    );
    eprintln!("2 GB sparse file: peak RSS {} KiB", m.max_rss_kib);
}

/// ANSI and OSC escapes, bidi controls and NULs in organization ids and messages: never raw on
/// a terminal (text report, `-v`, `watch`'s alert lines, `check`), escaped in JSON and in
/// Prometheus label values (which promtool accepts).
#[test]
fn terminal_controls_in_logs_never_reach_a_terminal_raw() {
    let evil_org = "e\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}\u{0}x";
    let evil_msg = "boom \u{1b}[31mred\u{1b}]8;;http://x\u{7} \u{2066}iso\u{0}";
    let mut log = alloc_cycle(evil_org, 1, 0, 30);
    log += &line(
        "2026-03-04T09:00:00.000Z",
        "ERROR",
        "GATEWAY_ALLOC",
        &format!("Failed to start gateway for org {evil_org}: \"{evil_msg}\""),
    );
    log += "2026-03-04T09:01:00.000Z [INFO     ] [GATEWAY_ALLOC       ] Allocated gw-pool-\u{1b}[5m (port x) to org \u{202e}\n";
    let raw = |b: &[u8]| {
        // gwmon's own colours (SGR `ESC[…m`) are fine; anything else with ESC is not.
        let mut t = String::from_utf8_lossy(b).into_owned();
        for sgr in ["\u{1b}[0m", "\u{1b}[1m", "\u{1b}[31m"] {
            t = t.replace(sgr, "");
        }
        t.contains('\u{1b}') || t.contains('\u{202e}') || t.contains('\u{2066}') || t.contains('\0')
    };
    for args in [
        &["report", "--color", "never", "-v"][..],
        &["report", "--color", "always", "-v"],
        &["alerts", "-v"],
        &["events"],
        &["report", "--json"],
    ] {
        let out = run(args, Some(log.as_bytes()));
        assert!(
            !raw(&out.stdout),
            "{args:?} stdout: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            !raw(&out.stderr),
            "{args:?} stderr: {:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("evil.log");
    std::fs::write(&f, &log).unwrap();
    let state = dir.path().join("state.json");
    let out = run(&["check", "--state", s(&state), s(&f)], None);
    assert!(!raw(&out.stdout) && !raw(&out.stderr), "check: {out:?}");
    let out = run(&["report", "--prometheus", "--org-metrics", s(&f)], None);
    assert!(
        !raw(&out.stdout),
        "exposition: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    if let Some(promtool) = tool(&["promtool"]) {
        let mut p = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        p.stdin.take().unwrap().write_all(&out.stdout).unwrap();
        let o = p.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // JSON keeps the text, escaped.
    let out = run(&["report", "--json", s(&f)], None);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = r.to_string();
    assert!(text.contains("\\u001b"), "{text}");
}
