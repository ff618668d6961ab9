//! Restart-safe `watch --state` (issue 12, item 2): a writer appends the simulated day in
//! parts while `watch --state` is killed with SIGKILL (sometimes mid-read) and restarted, with
//! rotations while it is down and while it runs; the final counters equal the simulator's
//! truth, and a real Prometheus scraping it all along sees no counter reset.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::*;
use crate::prometheus::{prom_values, sample_value};

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn sigkill(child: &std::process::Child) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid, not reaped yet.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// `gwmon watch --state` on `addr` (its alert transitions appended to `state`.alerts as JSON
/// lines); returns once it serves.
fn start(state: &Path, log: &Path, addr: &str) -> Proc {
    let alerts = state.with_extension("alerts");
    let p = Proc(
        gwmon()
            .args(["watch", "--from-start", "--pool-size", "8", "-q"])
            .args(["--alerts-json", s(&alerts)])
            .args(["--state", s(state), "--listen", addr, s(log)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(20, "gwmon watch serving", || {
        http_get(addr, "/healthz").map(|_| ())
    });
    p
}

fn read_total(addr: &str) -> Option<f64> {
    let (code, body) = http_get(addr, "/metrics")?;
    (code == 200).then(|| sample_value(&body, "gwmon_lines_read_total"))?
}

#[test]
fn watch_state_survives_sigkill_and_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, truth) = simulate(dir.path(), "24");
    let text = std::fs::read_to_string(&sim).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let parts = 8;
    let per = lines.len().div_ceil(parts);
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let state = dir.path().join("watch.state");
    let addr = format!("127.0.0.1:{}", free_port());
    // A real Prometheus scraping the same address across the restarts, when installed.
    let prom = tool(&["prometheus"]).map(|bin| {
        let cfg = dir.path().join("prometheus.yml");
        std::fs::write(
            &cfg,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gwmon\n    static_configs:\n      - targets: ['{addr}']\n"
            ),
        )
        .unwrap();
        let paddr = format!("127.0.0.1:{}", free_port());
        let p = Proc(
            Command::new(bin)
                .arg(format!("--config.file={}", s(&cfg)))
                .arg(format!("--storage.tsdb.path={}", s(&dir.path().join("data"))))
                .arg(format!("--web.listen-address={paddr}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for(30, "Prometheus ready", || {
            http_get(&paddr, "/-/ready").filter(|(c, _)| *c == 200)
        });
        (p, paddr)
    });
    let mut written = 0usize;
    for (k, chunk) in lines.chunks(per).enumerate() {
        // Rotations: while gwmon is down (k = 3) and while it runs (k = 5, below).
        if k == 3 {
            std::fs::rename(&log, dir.path().join("ganymede.log.1")).unwrap();
            std::fs::write(&log, "").unwrap();
        }
        let started = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        let mut watch = start(&state, &log, &addr);
        // Prometheus scrapes every run (so a counter that fell would show as a reset).
        // (`lines`: a scrape that saw this many lines read.)
        let scraped = |prom: &Option<(Proc, String)>, lines: Option<usize>| {
            if let Some((_, paddr)) = prom {
                wait_for(30, "Prometheus to scrape this run", || {
                    let t = prom_values(paddr, "timestamp(gwmon_lines_read_total)", None);
                    let v = prom_values(paddr, "gwmon_lines_read_total", None);
                    (t.get("").is_some_and(|t| *t > started)
                        && lines.is_none_or(|n| v.get("") == Some(&(n as f64))))
                    .then_some(())
                });
            }
        };
        if k == 5 {
            std::fs::rename(&log, dir.path().join("ganymede.log.1")).unwrap();
            std::fs::write(&log, "").unwrap();
        }
        // In two halves: what the second adds comes after a save and a scrape of the first,
        // so a run that published more than it saved would show a fall after the kill.
        let (first, second) = chunk.split_at(chunk.len() / 2);
        append(&log, &first.concat());
        written += first.len();
        if k % 2 == 0 {
            wait_for(30, "gwmon to read the first half", || {
                (read_total(&addr)? == written as f64).then_some(())
            });
            scraped(&prom, Some(written));
        }
        append(&log, &second.concat());
        written += second.len();
        if k % 2 == 1 && k + 1 < parts {
            // Killed while it may still be reading.
            scraped(&prom, None);
            sigkill(&watch.0);
            let _ = watch.0.wait();
            continue;
        }
        wait_for(30, "gwmon to read what was written", || {
            (read_total(&addr)? == written as f64).then_some(())
        });
        scraped(&prom, Some(written));
        if k + 1 < parts {
            sigkill(&watch.0);
            let _ = watch.0.wait();
            continue;
        }
        // The last run: everything read once, the truth's figures.
        let (_, body) = http_get(&addr, "/metrics").unwrap();
        let a = &truth["allocations"];
        for (name, want) in [
            ("gwmon_gateway_allocations_total", &a["allocated"]),
            ("gwmon_gateway_allocation_attempts_total", &a["attempts"]),
            ("gwmon_gateway_deallocations_total", &a["deallocated"]),
            ("gwmon_gateway_rollbacks_total", &a["rollbacks"]),
            ("gwmon_pool_allocated_gateways", &truth["pool"]["allocated"]),
        ] {
            assert_eq!(sample_value(&body, name), want.as_f64(), "{name}");
        }
        for (reason, n) in a["failures_by_reason"].as_object().unwrap() {
            let l = format!("gwmon_gateway_allocation_failures_total{{reason=\"{reason}\"}} ");
            let got = body
                .lines()
                .find_map(|x| x.strip_prefix(&l)?.parse::<f64>().ok());
            assert_eq!(got, n.as_f64(), "{reason}");
        }
        assert_eq!(written, lines.len());
        // No transition told twice across the restarts (a repeat while firing is not a
        // transition), and some told.
        let told = std::fs::read_to_string(state.with_extension("alerts")).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for l in told.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            if v["repeat"] == true {
                continue;
            }
            let key = format!("{} {} {}", v["fingerprint"], v["status"], v["starts_at"]);
            assert!(seen.insert(key.clone()), "told twice: {key}");
        }
        assert!(seen.len() > 5, "{told}");
        if let Some((_, paddr)) = &prom {
            // Scraped after the end: Prometheus has the final value, and never saw one fall.
            let final_allocs = a["allocated"].as_f64().unwrap();
            wait_for(30, "Prometheus to scrape the last run", || {
                let v = prom_values(paddr, "gwmon_gateway_allocations_total", None);
                (v.get("") == Some(&final_allocs)).then_some(())
            });
            for q in [
                "gwmon_gateway_allocations_total",
                "gwmon_lines_read_total",
                "gwmon_events_total",
                "gwmon_pool_allocated_gateway_seconds_total",
            ] {
                let r = prom_values(paddr, &format!("resets({q}[1h])"), None);
                assert_eq!(r.get(""), Some(&0.0), "{q} was reset across the restarts");
            }
            let scrapes = prom_values(paddr, "count_over_time(gwmon_lines_read_total[1h])", None);
            assert!(scrapes[""] >= parts as f64, "{scrapes:?}");
        }
        sigterm(&watch.0);
        assert!(wait_exit(&mut watch.0, 10).success());
    }
}

#[test]
fn watch_state_refuses_what_it_cannot_resume() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let state = dir.path().join("watch.state");
    std::fs::write(&state, "{\"not\": \"a state\"}").unwrap();
    let glob = format!("{}/*.log", dir.path().display());
    let missing = dir.path().join("nowhere/watch.state");
    for (args, want) in [
        (
            vec!["--state", s(&state), s(&log)],
            "not a gwmon watch state",
        ),
        (vec!["--state", s(&state)], "not stdin"),
        (vec!["--state", s(&state), "-"], "not stdin"),
        (vec!["--state", s(&state), &glob], "not globs"),
        (vec!["--state", s(&missing), s(&log)], "no such directory"),
    ] {
        let out = run(&[&["watch", "-q"][..], &args].concat(), None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // A second watch on a state in use: refused while the first holds it.
    let fresh = dir.path().join("fresh.state");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut first = start(&fresh, &log, &addr);
    let out = run(&["watch", "-q", "--state", s(&fresh), s(&log)], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("another gwmon holds it"));
    sigterm(&first.0);
    assert!(wait_exit(&mut first.0, 10).success());
    assert!(fresh.is_file(), "saved at exit");
}

/// `gwmon events --follow --no-pool-status --state STATE FILES…` (`--from-start` with
/// `from_start`), its stdout to `out`, stderr to `err` (else nowhere).
fn events_follow(
    state: &Path,
    files: &[&Path],
    from_start: bool,
    out: std::fs::File,
    err: Option<&Path>,
) -> Proc {
    let mut cmd = gwmon();
    cmd.args(["events", "--follow", "--no-pool-status"]);
    if from_start {
        cmd.arg("--from-start");
    }
    cmd.arg("--state").arg(state).args(files);
    let stderr = match err {
        Some(p) => Stdio::from(std::fs::File::create(p).unwrap()),
        None => Stdio::null(),
    };
    Proc(
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(stderr)
            .spawn()
            .unwrap(),
    )
}

/// What identifies an event across runs (its `source` line numbers restart after a rotation).
fn event_key(v: &serde_json::Value) -> String {
    format!("{} {} {} {}", v["event"], v["time"], v["org"], v["gateway"])
}

/// Killed at random moments while it reads and emits, with a rotation while it is down: every
/// event comes out once. (stdout is a regular file: the state's outbox covers a kill between a
/// save and the write of the events it covers.)
#[test]
fn events_follow_state_emits_every_event_once_across_kills() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, _) = simulate(dir.path(), "24");
    let text = std::fs::read_to_string(&sim).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // The events of the whole log, from a one-off read.
    let want: Vec<String> = ok(
        &run(&["events", "--no-pool-status", s(&sim)], None),
        "events",
    )
    .lines()
    .map(|l| event_key(&serde_json::from_str(l).unwrap()))
    .collect();
    assert!(want.len() > 200, "{}", want.len());
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let state = dir.path().join("events.state");
    let out = dir.path().join("events.jsonl");
    let parts = 6;
    let per = lines.len().div_ceil(parts);
    let mut seen = 0usize;
    for (k, chunk) in lines.chunks(per).enumerate() {
        if k == 2 {
            // Rotated while the stream is down.
            std::fs::rename(&log, dir.path().join("ganymede.log.1")).unwrap();
            std::fs::write(&log, "").unwrap();
        }
        let sink = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out)
            .unwrap();
        let mut child = events_follow(&state, &[&log], true, sink, None);
        append(&log, &chunk.concat());
        let count = || std::fs::read_to_string(&out).unwrap().lines().count();
        if k % 2 == 0 || k + 1 == parts {
            // Until some of this part's events are out.
            wait_for(30, "the events of what was written", || {
                let n = count();
                (n > seen && std::fs::metadata(&state).is_ok()).then_some(n)
            });
        }
        // Killed at once (odd parts: while it may still be reading), or once it has emitted.
        sigkill(&child.0);
        let _ = child.0.wait();
        seen = count();
    }
    // A last run reads whatever the kills left unread, then ends on SIGTERM.
    let sink = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
    let err = dir.path().join("last.err");
    // (Its state is saved once it runs: taken before it starts, or a save before this look
    // would go unseen.)
    let mtime = || std::fs::metadata(&state).and_then(|m| m.modified()).ok();
    let before = mtime();
    let mut last = events_follow(&state, &[&log], false, sink, Some(&err));
    // (Running once it has saved its state: its first loop; then every event is out.)
    wait_for(30, "every event emitted", || {
        let n = std::fs::read_to_string(&out).unwrap().lines().count();
        (n >= want.len() && mtime() != before).then_some(())
    });
    sigterm(&last.0);
    let st = wait_exit(&mut last.0, 10);
    assert!(
        st.success(),
        "{st}: {}",
        std::fs::read_to_string(&err).unwrap()
    );
    let got: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| event_key(&serde_json::from_str(l).unwrap()))
        .collect();
    fn count(v: &[String]) -> std::collections::BTreeMap<&str, usize> {
        let mut m = std::collections::BTreeMap::<&str, usize>::new();
        for k in v {
            *m.entry(k.as_str()).or_default() += 1;
        }
        m
    }
    let (g, w) = (count(&got), count(&want));
    let diff: Vec<_> = w
        .iter()
        .filter(|(k, n)| g.get(*k) != Some(n))
        .map(|(k, n)| format!("{k}: want {n}, got {:?}", g.get(k)))
        .chain(
            g.iter()
                .filter(|(k, _)| !w.contains_key(*k))
                .map(|(k, n)| format!("{k}: {n} unexpected")),
        )
        .take(10)
        .collect();
    assert!(
        diff.is_empty(),
        "events not emitted exactly once:\n{}",
        diff.join("\n")
    );
    assert_eq!(got.len(), want.len());
}

/// The outbox: a kill in the middle of writing a batch of events (its state saved, its events
/// partly written) is made up on restart by writing exactly what the output file lacks.
#[test]
fn events_follow_state_completes_a_batch_cut_by_a_kill() {
    let log_text: String = (0..40)
        .map(|i| alloc_cycle(&format!("org-{i}"), i % 8, i, 3))
        .collect();
    let mut attempt = 0;
    // The outbox lasts until the next save (at most a second later): the kill must land before
    // it. On a machine too loaded for that, tried again.
    let (dir, out, state, full, outbox) = loop {
        attempt += 1;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("ganymede.log");
        std::fs::write(&log, &log_text).unwrap();
        let state = dir.path().join("events.state");
        let out = dir.path().join("events.jsonl");
        let child = events_follow(
            &state,
            &[&log],
            true,
            std::fs::File::create(&out).unwrap(),
            None,
        );
        wait_for(30, "the events", || {
            let n = std::fs::read_to_string(&out).unwrap().lines().count();
            (n >= 120).then_some(())
        });
        sigkill(&child.0);
        let mut child = child;
        let _ = child.0.wait();
        let saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        let full = std::fs::read(&out).unwrap();
        match saved["outbox"].as_object() {
            Some(ob) => {
                let events = ob["events"].as_str().unwrap().to_owned();
                assert_eq!(
                    ob["len"].as_u64().unwrap() + events.len() as u64,
                    full.len() as u64
                );
                break (dir, out, state, full, events);
            }
            None if attempt < 5 => continue,
            None => panic!("the outbox was saved over before each of 5 kills"),
        }
    };
    assert!(full.ends_with(outbox.as_bytes()));
    // As if the kill had come in the middle of the write (inside a line).
    let cut = full.len() - outbox.len() + outbox.len() / 3;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&out)
        .unwrap()
        .set_len(cut as u64)
        .unwrap();
    let log = dir.path().join("ganymede.log");
    let err = dir.path().join("err");
    let sink = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
    let mut again = events_follow(&state, &[&log], false, sink, Some(&err));
    wait_for(30, "the rest of the batch", || {
        (std::fs::metadata(&out).unwrap().len() >= full.len() as u64).then_some(())
    });
    // Nothing more comes (and nothing twice).
    std::thread::sleep(std::time::Duration::from_millis(600));
    sigterm(&again.0);
    assert!(wait_exit(&mut again.0, 10).success());
    assert_eq!(
        String::from_utf8(std::fs::read(&out).unwrap()).unwrap(),
        String::from_utf8(full).unwrap()
    );
    // A clean exit leaves no outbox.
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(saved["outbox"].is_null(), "{}", saved["outbox"]);
}

/// A named file that did not exist (or was empty) while the last run followed it, written while
/// it was down: read from its start on restart, nothing of the others twice.
#[test]
fn state_reads_files_that_appeared_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    let c = dir.path().join("c.log");
    std::fs::write(&a, alloc_cycle("org-a", 1, 0, 2)).unwrap();
    std::fs::write(&c, "").unwrap();
    let state = dir.path().join("events.state");
    let out = dir.path().join("events.jsonl");
    let start = || {
        let sink = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out)
            .unwrap();
        events_follow(&state, &[&a, &b, &c], true, sink, None)
    };
    let count = || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let mut first = start();
    wait_for(30, "a's events", || (count() == 5).then_some(()));
    sigterm(&first.0);
    assert!(wait_exit(&mut first.0, 10).success());
    std::fs::write(&b, alloc_cycle("org-b", 2, 10, 2)).unwrap();
    append(&c, &alloc_cycle("org-c", 3, 20, 2));
    append(&a, &alloc_cycle("org-a2", 4, 30, 2));
    let mut second = start();
    wait_for(30, "the events written while it was down", || {
        (count() >= 20).then_some(())
    });
    std::thread::sleep(std::time::Duration::from_millis(600));
    sigterm(&second.0);
    assert!(wait_exit(&mut second.0, 10).success());
    let text = std::fs::read_to_string(&out).unwrap();
    let allocated: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"event\":\"allocated\""))
        .collect();
    assert_eq!(allocated.len(), 4, "{text}");
    for org in ["org-a\"", "org-b\"", "org-c\"", "org-a2\""] {
        assert_eq!(
            allocated.iter().filter(|l| l.contains(org)).count(),
            1,
            "{org}: {text}"
        );
    }
}
