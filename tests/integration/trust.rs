//! Issue 8, trust: gwmon never looks healthy when it cannot see (the wrong file, the wrong
//! format, a silent log), reads the line shapes collectors really write, never prints a pool
//! that cannot exist, and pages once per incident.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The report without its `lines` (which a prefix or a piece split changes).
fn figures(mut r: Value) -> Value {
    r.as_object_mut().unwrap().remove("lines");
    r
}

// ---- 1. Say when the input is wrong -------------------------------------------------------------

#[test]
fn an_empty_log_another_programs_log_and_the_wrong_format_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let out = run(&["report", s(&empty)], None);
    assert!(out.status.success());
    assert!(
        stderr_of(&out).contains("empty.log is empty"),
        "{}",
        stderr_of(&out)
    );

    let dpkg = dir.path().join("dpkg.log");
    let text: String = (0..3000)
        .map(|i| {
            format!(
                "2026-11-01 07:44:{:02} status installed pkg{i}:amd64 1.{i}\n",
                i % 60
            )
        })
        .collect();
    std::fs::write(&dpkg, text).unwrap();
    for cmd in ["report", "alerts", "events"] {
        let out = run(&[cmd, s(&dpkg)], None);
        let err = stderr_of(&out);
        assert!(
            err.contains("no gateway lifecycle line in 3,000 lines of")
                && err.contains("is this the ganymede log?"),
            "{cmd}: {err}"
        );
    }

    // Every line skipped: console lines read as Docker.
    let sample = repo().join("fixtures/ganymede-sample.log");
    let out = run(&["report", "--format", "docker", s(&sample)], None);
    let err = stderr_of(&out);
    assert!(
        err.contains("were skipped") && err.contains("try --format auto"),
        "{err}"
    );

    // check: UNKNOWN, never OK.
    let state = dir.path().join("state.json");
    for log in [&empty, &dpkg] {
        let _ = std::fs::remove_file(&state);
        let out = run(&["check", "--state", s(&state), s(log)], None);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{text}");
        assert!(text.starts_with("GWMON UNKNOWN - "), "{text}");
    }
}

#[test]
fn a_directory_is_an_error_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = s(dir.path());
    for args in [
        vec!["report", d],
        vec!["events", d],
        vec!["alerts", d],
        vec!["watch", d],
        vec!["events", "--follow", d],
    ] {
        let out = run(&args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr_of(&out).contains("is a directory"), "{args:?}");
    }
    let state = dir.path().join("state.json");
    let out = run(&["check", "--state", s(&state), d], None);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is a directory"));
}

#[test]
fn watch_says_once_that_it_waits_for_a_missing_path() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("missing/dir/ganymede.log");
    let err_path = dir.path().join("stderr.txt");
    let mut child = Proc(
        gwmon()
            .args(["watch", s(&log)])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(2500));
    sigterm(&child.0);
    let _ = wait_exit(&mut child.0, 10);
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert_eq!(err.matches("waiting for it").count(), 1, "told once: {err}");
    assert!(err.contains("nor does its directory"), "{err}");
}

#[test]
fn the_same_file_twice_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = repo().join("fixtures/ganymede-sample.log");
    let link = dir.path().join("link.log");
    std::fs::hard_link(&log, &link).unwrap();
    let once = report_json(&log, &[]);
    let out = run(&["report", "--json", s(&log), s(&link)], None);
    assert!(out.status.success());
    let twice: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(once, twice);
    assert!(
        stderr_of(&out).contains("is the same file as"),
        "{}",
        stderr_of(&out)
    );
}

/// Wrap every physical line of `src` in a collector's prefix; `cri` splits lines longer than
/// `piece` bytes into `P` pieces as the kubelet does at 16 KiB.
fn prefixed(src: &str, shape: &str, piece: usize) -> String {
    let mut out = String::with_capacity(src.len() * 2);
    for (i, l) in src.lines().enumerate() {
        let ts = format!(
            "2026-03-02T10:{:02}:{:02}.123456789Z",
            (i / 60) % 60,
            i % 60
        );
        let p = match shape {
            "syslog" => "Mar  2 10:00:00 gwhost ganymede[1234]: ".to_owned(),
            "rfc5424" => "<165>1 2026-03-02T10:00:00.123Z gwhost ganymede 1234 - - ".to_owned(),
            "short-iso" => "2026-03-02T10:00:00+0000 gwhost ganymede[1234]: ".to_owned(),
            "short-precise" => "Mar 02 10:00:00.123456 gwhost ganymede[1234]: ".to_owned(),
            "docker-t" => format!("{ts} "),
            "compose" => "ganymede-1  | ".to_owned(),
            "kubectl" => "[pod/ganymede-7d9f/ganymede] ".to_owned(),
            "cri" => {
                let mut rest = l;
                while rest.len() > piece {
                    let mut cut = piece;
                    while !rest.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    out += &format!("{ts} stdout P {}\n", &rest[..cut]);
                    rest = &rest[cut..];
                }
                out += &format!("{ts} stdout F {rest}\n");
                continue;
            }
            other => panic!("{other}"),
        };
        out += &p;
        out += l;
        out.push('\n');
    }
    out
}

#[test]
fn records_behind_every_collector_prefix_give_the_bare_logs_report() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = simulate(dir.path(), "24");
    let bare_text = std::fs::read_to_string(&log).unwrap();
    let bare = report_json(&log, &["--pool-size", "8"]);
    assert!(bare["allocations"]["allocated"].as_u64().unwrap() > 10);
    for shape in [
        "syslog",
        "rfc5424",
        "short-iso",
        "short-precise",
        "docker-t",
        "compose",
        "kubectl",
        "cri",
    ] {
        let p = dir.path().join(format!("{shape}.log"));
        std::fs::write(&p, prefixed(&bare_text, shape, 90)).unwrap();
        for format in ["auto", "console"] {
            let r = report_json(&p, &["--pool-size", "8", "--format", format]);
            assert_eq!(r["lines"]["skipped"], 0, "{shape} --format {format}");
            assert_eq!(
                figures(r.clone()),
                figures(bare.clone()),
                "{shape} --format {format}"
            );
        }
    }
    // The prefix names the stream; a CRI file's name names the pod and container.
    let compose = dir.path().join("compose.log");
    let out = run(&["events", s(&compose)], None);
    let first: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["stream"], "ganymede-1");
    let cri = dir.path().join(format!(
        "ganymede-7d9f_prod_ganymede-{}.log",
        "a".repeat(64)
    ));
    std::fs::copy(dir.path().join("cri.log"), &cri).unwrap();
    let out = run(&["events", s(&cri)], None);
    let first: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["stream"], "ganymede-7d9f/ganymede");
}

#[test]
fn zstd_xz_and_bzip2_rotations_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = simulate(dir.path(), "12");
    let text = std::fs::read(&log).unwrap();
    let bare = report_json(&log, &["--pool-size", "8"]);
    let z = dir.path().join("sim.log.1.zst");
    std::fs::write(&z, zstd::encode_all(&text[..], 19).unwrap()).unwrap();
    let x = dir.path().join("sim.log.2.xz");
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(&text).unwrap();
    std::fs::write(&x, e.finish().unwrap()).unwrap();
    let b = dir.path().join("sim.log.3.bz2");
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    e.write_all(&text).unwrap();
    std::fs::write(&b, e.finish().unwrap()).unwrap();
    for p in [&z, &x, &b] {
        assert_eq!(
            report_json(p, &["--pool-size", "8"]),
            bare,
            "{}",
            p.display()
        );
    }
}

#[test]
fn a_record_that_merely_mentions_gateway_is_never_skipped_in_any_shape() {
    let quoted = line(
        "2026-03-04T09:15:02.118Z",
        "INFO",
        "HTTP",
        "POST /logs body=\"2026-03-04T09:15:02.118Z [INFO     ] [GATEWAY_ALLOC       ] x\"",
    );
    let broken = line(
        "2026-03-04T09:15:03.118Z",
        "INFO",
        "GATEWAY_ALLOC",
        "Allocated gw-pool-5 (port 71",
    );
    let console = format!("{quoted}{broken}");
    let docker: String = console
        .lines()
        .map(|l| {
            serde_json::json!({"log": format!("{l}\n"), "stream": "stdout", "time": "2026-03-04T09:15:02.118734Z"})
                .to_string()
                + "\n"
        })
        .collect();
    let logcli: String = console
        .lines()
        .map(|l| {
            serde_json::json!({"labels": {"app": "ganymede"}, "line": l, "timestamp": "2026-03-04T09:15:02.118Z"})
                .to_string()
                + "\n"
        })
        .collect();
    let compose = prefixed(&console, "compose", 1 << 20);
    let mut seen = Vec::new();
    for (shape, text) in [
        ("console", console.clone()),
        ("docker", docker),
        ("logcli", logcli),
        ("compose", compose),
    ] {
        let out = run(&["report", "--json", "-v"], Some(text.as_bytes()));
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let reasons: Vec<String> = stderr_of(&out)
            .lines()
            .filter_map(|l| l.split(": skipped: ").nth(1))
            .map(|r| r.split(':').next().unwrap().to_owned())
            .collect();
        assert_eq!(r["lines"]["skipped"], 1, "{shape}: {reasons:?}");
        seen.push(reasons);
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

// ---- 2. The dead-man's switch -------------------------------------------------------------------

#[test]
fn a_log_that_stops_growing_fires_log_silent_and_healthz_says_503() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Proc(
        gwmon()
            .args(["watch", "--color", "never", "--listen", &addr])
            .args(["--set", "alerts.log_silent.for=2s"])
            .args(["--set", "alerts.eval_interval=1s"])
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(&mut child.0);
    let write = |text: &str| {
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    };
    // Up and following (it starts at the end of the file) before the first line: the offset
    // gauge is published once the file is open (the endpoint is served before that).
    wait_for(10, "gwmon serving", || {
        http_get(&addr, "/healthz").filter(|(c, _)| *c == 200)
    });
    wait_for(10, "gwmon following the file", || {
        http_get(&addr, "/metrics").filter(|(_, m)| m.contains("gwmon_input_offset_bytes{"))
    });
    write(&line(&now_iso(), "INFO", "HTTP", "GET /health 200"));
    let firing = expect_line(&rx, "FIRING");
    assert!(
        firing.contains("log_silent") && firing.contains("ganymede.log"),
        "{firing}"
    );
    // Published within a second of the transition.
    let (code, body) = wait_for(10, "/healthz 503", || {
        http_get(&addr, "/healthz").filter(|(c, _)| *c == 503)
    });
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("ganymede.log"), "{body}");
    // (On a loaded machine log_silent may fire before the line is read: the file was silent
    // since gwmon started too. The line's figures are published once it is.)
    wait_for(10, "the input's figures in /metrics", || {
        http_get(&addr, "/metrics").filter(|(_, m)| {
            m.contains("gwmon_input_last_line_timestamp_seconds{input=")
                && m.contains("gwmon_input_lines_read_total{input=")
        })
    });
    write(&line(&now_iso(), "INFO", "HTTP", "GET /health 200"));
    let resolved = expect_line(&rx, "RESOLVED");
    assert!(resolved.contains("log_silent"), "{resolved}");
    let ok = wait_for(10, "/healthz 200", || {
        http_get(&addr, "/healthz").filter(|(c, _)| *c == 200)
    });
    assert_eq!(ok.1, "ok\n");
}

#[test]
fn check_on_a_log_silent_for_months_says_so_first_and_judges_nothing_else_by_today() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    // An allocation open for 10 minutes at the end of a March log.
    std::fs::write(
        &log,
        alloc_cycle(ORG_A, 1, 0, 1)
            + &{
                let mut open = alloc_cycle(ORG_B, 2, 5, 1);
                // Drop its deallocation: still open at the end.
                open.truncate(open.rfind("GATEWAY_DEALLOC").unwrap());
                open.truncate(open.rfind('\n').unwrap() + 1);
                open
            },
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let out = run(
        &["check", "--state", s(&state), "--pool-size", "4", s(&log)],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.starts_with("GWMON CRITICAL - 1 log silent for more than 15m"),
        "{text}"
    );
    assert!(!text.contains("long_allocation"), "{text}");
}

// ---- 3. A pool that cannot exist is never printed -----------------------------------------------

#[test]
fn missing_deallocation_lines_never_give_a_negative_pool() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = simulate(dir.path(), "48");
    let gap = dir.path().join("gap.log");
    let kept: String = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("Stopping gateway"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&gap, kept).unwrap();
    let r = report_json(&gap, &["--pool-size", "8"]);
    assert!(r["pool"]["available"].as_i64().unwrap() >= 0);
    assert!(r["anomalies"]["gateway_reassigned"].as_u64().unwrap() > 0);
    // Named containers free each other; only allocations of a container named `null` can stay
    // open unseen, and then the pool is said to be inconsistent.
    let held = r["pool"]["allocated"].as_u64().unwrap() + r["pool"]["orphaned"].as_u64().unwrap();
    assert!(
        held <= 8 || r["pool"]["consistent"] == false,
        "{}",
        r["pool"]
    );
    // Told too small a pool, the model is inconsistent: said, never negative.
    let r = report_json(&gap, &["--pool-size", "2"]);
    assert_eq!(r["pool"]["consistent"], false);
    assert_eq!(r["pool"]["available"], 0);
    assert!(r["anomalies"]["overcommitted"].as_u64().unwrap() > 0);
    let text = run(
        &["report", "--color", "never", "--pool-size", "2", s(&gap)],
        None,
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("INCONSISTENT: "), "{text}");
    assert!(text.contains("allocations ended unseen"), "{text}");
    let prom = run(
        &["report", "--prometheus", "--pool-size", "2", s(&gap)],
        None,
    );
    let prom = String::from_utf8_lossy(&prom.stdout);
    let avail = prom
        .lines()
        .find(|l| l.starts_with("gwmon_pool_available_gateways "))
        .unwrap();
    assert_eq!(avail, "gwmon_pool_available_gateways 0");
    // -v tells each allocation that ended unseen.
    let out = run(&["report", "-v", "--pool-size", "8", s(&gap)], None);
    assert!(stderr_of(&out).contains("that allocation ended unseen"));
}

#[test]
fn a_snapshot_that_disagrees_lastingly_is_reported() {
    let mut log = String::new();
    for (m, used) in [(10, 3), (20, 3), (30, 3)] {
        log += &line(
            &format!("2026-03-04T08:{m:02}:00.000Z"),
            "INFO",
            "GATEWAY_STATS",
            &format!(
                "stats:  {{\"total_gateways\":\"8\",\"used_gateways\":\"{used}\",\"ready_gateways\":\"5\",\"unused_not_ready_gateways\":\"0\"}}"
            ),
        );
    }
    let out = run(&["report", "--json"], Some(log.as_bytes()));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &r["anomalies"]["snapshot_drift"];
    assert_eq!(d["snapshots"], 3, "{d}");
    assert_eq!(d["lasting"], 2, "{d}");
    assert_eq!(d["largest"], -3, "{d}");
    assert_eq!(d["at"], "2026-03-04T08:20:00.000Z");
}

// ---- 4. One page per incident -------------------------------------------------------------------

fn alert_lines(log: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["alerts", "--json"];
    args.extend_from_slice(extra);
    args.push(s(log));
    let out = run(&args, None);
    assert!(out.status.success(), "{}", stderr_of(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_busy_afternoon_is_one_incident_and_every_refusal_is_inside_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("week.log");
    let st = gwmon()
        .args([
            "simulate",
            "--seed",
            "1",
            "--hours",
            "168",
            "--out",
            s(&log),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let r = report_json(&log, &[]);
    let episodes = r["exhaustion"]["episodes"].as_u64().unwrap();
    let spans: Vec<(String, Option<String>)> = r["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["rule"] == "pool_exhausted")
        .map(|a| {
            (
                a["fired_at"].as_str().unwrap().to_owned(),
                a["resolved_at"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert!(
        (spans.len() as u64) * 2 <= episodes,
        "{} incidents for {episodes} episodes",
        spans.len()
    );
    // Every refusal lies inside a firing span.
    let events = run(&["events", s(&log)], None);
    for l in String::from_utf8_lossy(&events.stdout).lines() {
        let e: Value = serde_json::from_str(l).unwrap();
        if e["event"] == "alloc_failed" && e["reason"] == "no_gateway_available" {
            let t = e["time"].as_str().unwrap();
            assert!(
                spans
                    .iter()
                    .any(|(f, r)| f.as_str() <= t && r.as_deref().is_none_or(|r| t <= r)),
                "refusal at {t} outside every incident: {spans:?}"
            );
        }
    }
    // A new incident after a calm spell pages again: more than one incident over the week.
    assert!(spans.len() > 1);
    // The summary of a long incident counts its refusals and episodes.
    let notes = alert_lines(&log, &[]);
    assert!(
        notes.iter().any(|n| n["rule"] == "pool_exhausted"
            && n["summary"].as_str().unwrap().contains(" episodes since ")),
        "{notes:?}"
    );
}

#[test]
fn from_start_over_an_old_log_notifies_each_firing_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("old.log");
    // Months old, with an allocation still open and a refusal at its end: two alerts firing.
    let mut text = alloc_cycle(ORG_A, 1, 0, 1);
    let mut open = alloc_cycle(ORG_B, 2, 5, 1);
    open.truncate(open.rfind("GATEWAY_DEALLOC").unwrap());
    open.truncate(open.rfind('\n').unwrap() + 1);
    text += &open;
    text += &line(
        "2026-03-04T08:30:00.000Z",
        "ERROR",
        "GATEWAY_ALLOC",
        "Failed to start gateway for org 00000000-0000-4000-8000-000000000009: \"no_gateway_available\"",
    );
    std::fs::write(&log, text).unwrap();
    let mut child = Proc(
        gwmon()
            .args([
                "watch",
                "--from-start",
                "--pool-size",
                "1",
                "--alerts-json",
                "-",
            ])
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(&mut child.0);
    std::thread::sleep(Duration::from_secs(3));
    sigterm(&child.0);
    let _ = wait_exit(&mut child.0, 10);
    let notes: Vec<Value> = rx
        .try_iter()
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    let firing: Vec<&Value> = notes.iter().filter(|n| n["status"] == "firing").collect();
    assert!(
        firing.iter().all(|n| n["repeat"] == false),
        "no REPEAT with the announcement: {notes:?}"
    );
    // Each alert once (no fingerprint twice), the ones the old log left firing among them…
    let mut prints: Vec<&str> = firing
        .iter()
        .map(|n| n["fingerprint"].as_str().unwrap())
        .collect();
    prints.sort();
    let n = prints.len();
    prints.dedup();
    assert_eq!(prints.len(), n, "{notes:?}");
    for rule in ["long_allocation", "pool_exhausted"] {
        assert!(
            firing.iter().any(|f| f["rule"] == rule),
            "{rule}: {notes:?}"
        );
    }
    // … all told at one moment, with the summaries of that moment.
    assert!(
        firing.iter().all(|f| f["at"] == firing[0]["at"]),
        "{notes:?}"
    );
}

// ---- 5. The small things ----------------------------------------------------------------------

#[test]
fn a_closed_pipe_ends_quietly_and_check_usage_errors_are_unknown() {
    let week = repo().join("fixtures/ganymede-sample.log");
    let (mut child, _) = spawn_fed(gwmon().args(["alerts", "--json", s(&week)]), None);
    let mut first = [0u8; 8];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr_of(&out), "");

    let out = run(&["check", "x.log"], None);
    assert_eq!(out.status.code(), Some(3), "without --state");
    let out = run(&["check", "--state", "s.json", "--bogus", "x.log"], None);
    assert_eq!(out.status.code(), Some(3), "a bad flag");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[alerts]\nx = \n").unwrap();
    let out = run(&["report", "--config", s(&bad), s(&week)], None);
    let err = stderr_of(&out);
    assert!(err.lines().count() > 2 && !err.contains("\\n"), "{err}");
}

#[test]
fn report_from_a_terminal_says_it_reads_stdin() {
    let Some(python) = tool(&["python3"]) else {
        return;
    };
    // A pseudo-terminal on stdin; EOF (Ctrl-D) right away.
    let script = format!(
        "import os, pty, signal, sys\nsignal.alarm(20)\npid, fd = pty.fork()\nif pid == 0:\n    os.execv({bin:?}, [{bin:?}, 'report'])\nos.write(fd, b'\\x04')\nout = b''\nwhile True:\n    try:\n        d = os.read(fd, 4096)\n    except OSError:\n        break\n    if not d:\n        break\n    out += d\nos.waitpid(pid, 0)\nsys.stdout.write(out.decode('utf-8', 'replace'))\n",
        bin = env!("CARGO_BIN_EXE_gwmon")
    );
    let out = std::process::Command::new(python)
        .args(["-c", &script])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("reading the log from stdin until Ctrl-D"),
        "{text}"
    );
}
