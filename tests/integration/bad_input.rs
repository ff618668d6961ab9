//! Bad input never panics and never loses data: malformed lines are counted and skipped (and
//! shown with -v); missing files are errors naming the file; a closed stdout ends quietly.

use std::io::{Read, Write};
use std::process::Stdio;

use crate::common::*;

fn report_stdin(data: &[u8], extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec!["report", "--json"];
    args.extend_from_slice(extra);
    let out = run(&args, Some(data));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    (
        serde_json::from_slice(&out.stdout).expect("JSON report"),
        stderr,
    )
}

#[test]
fn invalid_utf8_and_binary_junk_are_survived() {
    let mut data = Vec::new();
    data.extend(alloc_cycle(ORG_A, 1, 0, 30).as_bytes());
    data.extend(b"\xff\xfe\x00 GATEWAY_ALLOC \xc3\x28 junk\n");
    data.extend((0..=255u8).cycle().take(70_000).collect::<Vec<u8>>());
    data.push(b'\n');
    // A gateway line with an invalid byte in an unimportant place is still read.
    data.extend(
        b"2026-03-04T09:00:00.000Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org ",
    );
    data.extend(ORG_B.as_bytes());
    data.extend(b" \xff\n");
    data.extend(alloc_cycle(ORG_B, 2, 61, 30).as_bytes());
    let (r, _) = report_stdin(&data, &["--pool-size", "4"]);
    assert_eq!(r["allocations"]["attempts"], 3);
    assert_eq!(r["allocations"]["allocated"], 2);
    assert_eq!(r["allocations"]["deallocated"], 2);
    assert_eq!(
        r["lines"]["skipped"], 1,
        "the junk line holding GATEWAY_ is counted"
    );
}

#[test]
fn a_200_mb_line_without_newline_is_skipped_not_held() {
    let mut data = alloc_cycle(ORG_A, 1, 0, 30).into_bytes();
    let before = data.len();
    data.resize(before + 200 * 1024 * 1024, b'x');
    let (r, stderr) = report_stdin(&data, &["-v"]);
    assert_eq!(r["lines"]["read"], 5);
    assert_eq!(r["lines"]["skipped"], 1);
    assert_eq!(r["allocations"]["allocated"], 1);
    assert!(
        stderr.contains("<stdin>:5: skipped: line longer than"),
        "{stderr}"
    );
}

#[test]
fn truncated_json_and_missing_fields_are_counted_and_shown() {
    let docker_ok = serde_json::json!({
        "log": line("2026-03-04T08:00:00.000Z", "INFO", "GATEWAY_ALLOC", &format!("Starting gateway for org {ORG_A}")),
        "stream": "stdout", "time": "2026-03-04T08:00:00.000123Z"
    })
    .to_string();
    let mut data = format!("{docker_ok}\n");
    data +=
        "{\"log\":\"2026-03-04T08:00:01.000Z [INFO     ] [GATEWAY_ALLOC       ] Allocated gw-po\n";
    data += &line(
        "2026-03-04T08:00:02.000Z",
        "INFO",
        "GATEWAY_ALLOC",
        "Allocated gw-pool-3 (port 7103, upstream 172.17.0.1:7103)",
    );
    data += &line(
        "2026-03-04T08:00:03.000Z",
        "INFO",
        "GATEWAY_STATS",
        r#"stats:  {"total_gateways":"eight"}"#,
    );
    let (r, stderr) = report_stdin(data.as_bytes(), &["-v"]);
    assert_eq!(r["allocations"]["attempts"], 1);
    assert_eq!(r["lines"]["read"], 4);
    assert_eq!(r["lines"]["skipped"], 3);
    assert!(
        stderr.contains("<stdin>:2: skipped: invalid Docker json-file line"),
        "{stderr}"
    );
    assert!(
        stderr.contains("<stdin>:3: skipped: `Allocated` without `to org`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("<stdin>:4: skipped: pool stats"),
        "{stderr}"
    );
    // Without -v, nothing on stderr.
    let (_, quiet) = report_stdin(data.as_bytes(), &[]);
    assert_eq!(quiet, "");
}

#[test]
fn time_backwards_and_deallocation_without_allocation_are_anomalies() {
    let mut data = alloc_cycle(ORG_A, 1, 30, 10);
    data += &line(
        "2026-03-04T08:05:00.000Z",
        "INFO",
        "GATEWAY_DEALLOC",
        &format!("Stopping gateway 00000000-0000-4000-8000-000000000009 for org {ORG_B}"),
    );
    let (r, _) = report_stdin(data.as_bytes(), &[]);
    assert_eq!(r["anomalies"]["time_backwards"], 1);
    assert_eq!(r["anomalies"]["dealloc_without_alloc"], 1);
    assert_eq!(r["allocations"]["deallocated"], 2);
    assert_eq!(r["durations_s"]["count"], 1);
    assert_eq!(r["durations_s"]["max"], 600.0);
}

#[test]
fn empty_input_gives_an_empty_report() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.log");
    std::fs::write(&p, b"").unwrap();
    let r = report_json(&p, &[]);
    assert_eq!(r["lines"]["read"], 0);
    assert_eq!(r["window"]["start"], serde_json::Value::Null);
    assert_eq!(r["pool"]["total"], serde_json::Value::Null);
    assert_eq!(r["pool"]["total_source"], "unknown");
    assert_eq!(r["exhaustion"]["exhausted_s"], serde_json::Value::Null);
    let out = run(&["report", p.to_str().unwrap()], None);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("no gateway events"));
}

#[test]
fn missing_or_unreadable_files_exit_2_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.log");
    let out = run(&["report", missing.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope.log"), "{err}");
    assert!(out.stdout.is_empty(), "no partial report");
    let out = run(&["report", dir.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a directory"));
}

#[test]
fn a_corrupt_gzip_file_is_an_error_after_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.log.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(alloc_cycle(ORG_A, 1, 0, 5).repeat(200).as_bytes())
        .unwrap();
    let mut gz = e.finish().unwrap();
    gz.truncate(gz.len() / 2);
    std::fs::write(&p, &gz).unwrap();
    let out = run(&["report", "--json", p.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("x.log.gz"));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report still printed");
    assert!(r["allocations"]["attempts"].as_u64().unwrap() > 0);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let data = alloc_cycle(ORG_A, 1, 0, 1).repeat(20_000);
    for args in [&["events"][..], &["report"][..]] {
        let (mut child, writer) = spawn_fed(gwmon().args(args), Some(data.clone().into_bytes()));
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 16];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        writer.unwrap().join().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

#[test]
fn control_characters_from_logs_are_escaped_on_the_terminal_report() {
    let evil = "evil\u{1b}[2J\u{202e}org";
    let data = alloc_cycle(evil, 1, 0, 5);
    let out = run(&["report", "--color", "always"], Some(data.as_bytes()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("evil\\u{1b}[2J\\u{202e}org"), "{text}");
    assert!(!text.contains("\u{1b}[2J"));
}

/// Fuzzing regression (fuzz/regressions/): a continuation line holding `GATEWAY_` whose byte 256
/// falls inside a multi-byte character panicked the prefix search and ended the whole run.
#[test]
fn a_character_across_the_prefix_window_end_is_survived() {
    let mut data = alloc_cycle(ORG_A, 1, 0, 30).into_bytes();
    data.extend(include_bytes!(
        "../../fuzz/regressions/prefix-window-char-boundary.log"
    ));
    data.extend(alloc_cycle(ORG_B, 2, 61, 30).as_bytes());
    let (r, _) = report_stdin(&data, &["--pool-size", "4"]);
    assert_eq!(r["allocations"]["allocated"], 2);
}

/// Fuzzing regression (fuzz/regressions/pool-timestamp-in-year-8677.log): one line stamped in
/// the year 8677 after a firing alert made every replay evaluate a repeat every 4 h up to it —
/// `report` and `alerts` ran without end and grew out of memory. Each must end (a hang is
/// killed after a minute and fails the test), with the far line counted.
#[test]
fn a_line_stamped_thousands_of_years_ahead_ends_every_replay() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("jump.log");
    let mut text = String::new();
    for i in 0..9 {
        text.push_str(&line(
            "2026-03-04T09:15:02.118Z",
            "INFO",
            "GATEWAY_ALLOC",
            &format!("Starting gateway for org o{i}"),
        ));
        text.push_str(&line(
            "2026-03-04T09:15:02.140Z",
            "ERROR",
            "GATEWAY_ALLOC",
            &format!("Failed to start gateway for org o{i}: \"no_gateway_available\""),
        ));
    }
    text.push_str(&line(
        "8677-03-04T09:15:02.118Z",
        "INFO",
        "GATEWAY_ALLOC",
        "Starting gateway for org far",
    ));
    std::fs::write(&log, text).unwrap();
    for args in [
        vec!["report", "--json", "--pool-size", "8"],
        vec!["alerts", "--repeats", "--pool-size", "8"],
        vec!["events"],
    ] {
        let mut child = gwmon()
            .args(&args)
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(out), &mut s);
            s
        });
        let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if std::time::Instant::now() > end {
                let _ = child.kill();
                panic!("{args:?} still running after a minute");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let stdout = reader.join().unwrap();
        assert!(status.success(), "{args:?}: {status:?}");
        assert!(
            stdout.len() < 10 << 20,
            "{args:?}: {} bytes of output",
            stdout.len()
        );
        if args[0] == "report" {
            let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(v["allocations"]["attempts"], 10, "{v}");
        }
    }
}
