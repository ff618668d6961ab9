//! gwmon watch end to end: a pool-exhaustion burst appended to a watched file gives a FIRING
//! line, a successful allocation the RESOLVED line; alerts reach a real Alertmanager.

use std::io::Write;
use std::process::Stdio;

use crate::common::*;

/// These tests follow one exhaustion from FIRING to RESOLVED in seconds: the incident is not
/// kept firing over the calm that follows (keep_firing_for has its own test).
const NO_KEEP: [&str; 2] = ["--set", "alerts.pool_exhausted.keep_firing_for=0s"];

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn refusal_burst() -> String {
    let mut s = String::new();
    s += &line(
        &now_iso(),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {ORG_A}"),
    );
    s += &line(
        &now_iso(),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Allocated gw-pool-1 (port 7101, upstream 172.17.0.1:7101) to org {ORG_A}"),
    );
    for i in 0..3 {
        let org = format!("00000000-0000-4000-8000-00000000000{i}");
        s += &refusal(&org);
    }
    s
}

fn recovery() -> String {
    let mut s = String::new();
    s += &line(
        &now_iso(),
        "INFO",
        "GATEWAY_DEALLOC",
        &format!("Stopping gateway 00000000-0000-4000-8000-000000000001 for org {ORG_A}"),
    );
    s += &line(
        &now_iso(),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {ORG_B}"),
    );
    s += &line(
        &now_iso(),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Allocated gw-pool-1 (port 7101, upstream 172.17.0.1:7101) to org {ORG_B}"),
    );
    s
}

#[test]
fn firing_then_resolved_lines_for_a_watched_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let mut child = Proc(
        gwmon()
            .args([
                "watch",
                "--from-start",
                "--pool-size",
                "1",
                "--color",
                "never",
            ])
            .args(NO_KEEP)
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(&mut child.0);
    append(&log, &refusal_burst());
    let firing = expect_line(&rx, "FIRING");
    assert!(
        firing.contains("pool_exhausted") && firing.contains("critical"),
        "{firing}"
    );
    assert!(firing.contains("0/1 available"), "{firing}");
    append(&log, &recovery());
    let resolved = expect_line(&rx, "RESOLVED");
    assert!(resolved.contains("pool_exhausted"), "{resolved}");
    // One notification per transition: no second FIRING for the later refusals.
    unsafe_terminate(&child.0);
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(!rest.iter().any(|l| l.contains("FIRING")), "{rest:?}");
}

#[test]
fn stdin_is_followed_until_it_closes() {
    let mut child = gwmon()
        .args(["watch", "--pool-size", "1", "--alerts-json", "-"])
        .args(NO_KEEP)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let rx = lines_of(&mut child);
    stdin.write_all(refusal_burst().as_bytes()).unwrap();
    let firing = expect_line(&rx, "\"status\":\"firing\"");
    let v: serde_json::Value = serde_json::from_str(&firing).unwrap();
    assert_eq!(v["rule"], "pool_exhausted");
    assert_eq!(v["severity"], "critical");
    stdin.write_all(recovery().as_bytes()).unwrap();
    expect_line(&rx, "\"status\":\"resolved\"");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pool 1/1 allocated"));
}

/// SIGTERM: end cleanly.
fn unsafe_terminate(child: &std::process::Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

#[test]
fn alerts_reach_a_real_alertmanager() {
    let Some(am) = tool(&["prometheus-alertmanager", "alertmanager"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _am = Proc(
        alertmanager(&am, dir.path(), &dir.path().join("data"), &addr)
            .spawn()
            .unwrap(),
    );
    wait_for(30, "alertmanager ready", || {
        http_get(&addr, "/-/ready").filter(|(c, _)| *c == 200)
    });
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let mut child = Proc(
        gwmon()
            .args(["watch", "--from-start", "--pool-size", "1", "-q"])
            .args(NO_KEEP)
            .args(["--alertmanager", &format!("http://{addr}")])
            .args(["--set", "alerts.labels.cluster=\"test\""])
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    append(&log, &refusal_burst());
    let active = |addr: &str| -> Option<Vec<serde_json::Value>> {
        let (code, body) = http_get(addr, "/api/v2/alerts")?;
        if code != 200 {
            return None;
        }
        serde_json::from_str::<Vec<serde_json::Value>>(&body).ok()
    };
    let alert = wait_for(20, "the alert in Alertmanager", || {
        active(&addr)?
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "pool_exhausted")
    });
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["labels"]["cluster"], "test");
    assert_eq!(alert["status"]["state"], "active");
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("refused")
    );
    append(&log, &recovery());
    wait_for(20, "the alert resolved in Alertmanager", || {
        let list = active(&addr)?;
        (!list
            .iter()
            .any(|a| a["labels"]["alertname"] == "pool_exhausted"))
        .then_some(())
    });
    unsafe_terminate(&child.0);
    assert!(child.0.wait().unwrap().success());
}

#[test]
fn events_follow_streams_each_event_once_across_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let mut child = Proc(
        gwmon()
            .args(["events", "--follow", "--from-start", "--no-pool-status"])
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(&mut child.0);
    let org = |i: u32| format!("00000000-0000-4000-8000-{i:012}");
    let attempt = |i: u32| {
        line(
            &now_iso(),
            "INFO",
            "GATEWAY_ALLOC",
            &format!("Starting gateway for org {}", org(i)),
        )
    };
    let mut seen: std::collections::BTreeMap<String, u32> = Default::default();
    // Take events until `want` has been seen (or the deadline passes).
    let drain = |seen: &mut std::collections::BTreeMap<String, u32>, want: &str, secs: u64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while !seen.contains_key(want) && std::time::Instant::now() < deadline {
            if let Ok(l) = rx.recv_timeout(std::time::Duration::from_millis(100)) {
                let v: serde_json::Value = serde_json::from_str(&l).unwrap();
                assert_eq!(v["event"], "alloc_attempt");
                *seen
                    .entry(v["org"].as_str().unwrap().to_owned())
                    .or_insert(0) += 1;
            }
        }
    };
    // Wait until gwmon follows the file: a marker line comes back.
    append(&log, &attempt(999_999));
    drain(&mut seen, &org(999_999), 15);
    let mut expected = 1;
    for round in 0..3u32 {
        for i in 0..50 {
            append(&log, &attempt(round * 100 + i));
        }
        expected += 50;
        // Rotations are far apart in real life: let gwmon reach this round's end first (a file
        // rotated away twice before it is looked at is lost to tail -F too).
        drain(&mut seen, &org(round * 100 + 49), 15);
        // logrotate `create`: a line lands in the old file after the rename.
        let rotated = dir.path().join(format!("ganymede.log.{round}"));
        std::fs::rename(&log, &rotated).unwrap();
        append(&rotated, &attempt(round * 100 + 99));
        expected += 1;
        std::fs::write(&log, "").unwrap();
    }
    append(&log, &attempt(777_777));
    expected += 1;
    drain(&mut seen, &org(777_777), 15);
    // A little longer: nothing is repeated.
    drain(&mut seen, "never", 2);
    assert_eq!(seen.len() as u32, expected, "every event arrives: {seen:?}");
    assert!(seen.values().all(|n| *n == 1), "no event twice: {seen:?}");
}

#[test]
fn exec_runs_the_command_with_the_alert_and_sigusr1_prints_the_pool_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    let out_dir = dir.path().join("calls");
    std::fs::create_dir(&out_dir).unwrap();
    // The command sees the alert in its environment and as JSON on stdin; no shell is
    // involved in running it, and the log text never reaches a command line.
    let script = dir.path().join("hook.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nf={}/$GWMON_ALERT_STATUS-$$\nenv | grep '^GWMON_ALERT_' > \"$f.env\"\ncat > \"$f.json\"\n",
            out_dir.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", script.to_str().unwrap()])
        .status()
        .unwrap();
    std::fs::write(&log, "").unwrap();
    let mut child = Proc(
        gwmon()
            .args(["watch", "--from-start", "--pool-size", "1", "-q"])
            .args(NO_KEEP)
            .args(["--exec", script.to_str().unwrap()])
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    append(&log, &refusal_burst());
    let files = |prefix: &str| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&out_dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy().into_owned();
                n.starts_with(prefix) && n.ends_with(".json")
            })
            .collect()
    };
    let fired = wait_for(15, "the --exec command for FIRING", || {
        files("firing")
            .into_iter()
            .find(|p| std::fs::read_to_string(p).is_ok_and(|s| s.ends_with('}')))
    });
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fired).unwrap()).unwrap();
    assert_eq!(v["rule"], "pool_exhausted");
    assert_eq!(v["status"], "firing");
    let env = std::fs::read_to_string(fired.with_extension("env")).unwrap();
    assert!(env.contains("GWMON_ALERT_RULE=pool_exhausted"), "{env}");
    assert!(env.contains("GWMON_ALERT_SEVERITY=critical"), "{env}");
    append(&log, &recovery());
    wait_for(15, "the --exec command for RESOLVED", || {
        files("resolved").pop()
    });
    // SIGUSR1: the pool line on stderr.
    std::process::Command::new("kill")
        .args(["-USR1", &child.0.id().to_string()])
        .status()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    unsafe_terminate(&child.0);
    let out = child.0.wait_with_output_ref();
    let pool_lines = out
        .lines()
        .filter(|l| l.contains(" pool 1/1 allocated"))
        .count();
    assert!(pool_lines >= 2, "SIGUSR1 and the final summary: {out}");
}

trait WaitRef {
    fn wait_with_output_ref(&mut self) -> String;
}

impl WaitRef for std::process::Child {
    fn wait_with_output_ref(&mut self) -> String {
        use std::io::Read;
        let _ = self.wait();
        let mut s = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }
}

/// `gwmon events --follow` derives the gateways' marks and the pool's status live: a stop is a
/// `gateway_down` of the container the allocation named, its ready signal in the gateway's own
/// log a `gateway_up` with the restart time, each followed by the pool's figures.
#[test]
fn events_follow_derives_gateway_marks_and_pool_status() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, gw) = (
        dir.path().join("ganymede.log"),
        dir.path().join("gw-pool-3.log"),
    );
    std::fs::write(&svc, "").unwrap();
    std::fs::write(&gw, "").unwrap();
    let mut child = Proc(
        gwmon()
            .args(["events", "--follow", "--from-start", "--pool-size", "4"])
            .arg(&svc)
            .arg(&gw)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(&mut child.0);
    let next = |want: &str| -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let l = rx
                .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
                .unwrap_or_else(|_| panic!("no {want} event"));
            let v: serde_json::Value = serde_json::from_str(&l).unwrap();
            if v["event"] == want {
                return v;
            }
        }
    };
    let org = "00000000-0000-4000-8000-00000000abcd";
    // The gateway's own log first: it is up (its first mark), so it is watched.
    let ready = |t: &str| {
        line(
            t,
            "INFO",
            "GATEWAY_READY",
            "Successfully signaled ready to Ganymede",
        )
    };
    append(&gw, &ready("2026-03-04T07:59:00.000Z"));
    let st = next("pool_status");
    assert_eq!(st["recycling"], 0, "{st}");
    append(&svc, &alloc_cycle(org, 3, 0, 10));
    let st = next("pool_status");
    assert_eq!(
        (st["allocated"].as_u64(), st["available"].as_i64()),
        (Some(1), Some(3))
    );
    let down = next("gateway_down");
    assert_eq!(down["gateway"], "gw-pool-3", "{down}");
    assert_eq!(down["cause"], "stop");
    let st = next("pool_status");
    assert_eq!(
        (st["allocated"].as_u64(), st["recycling"].as_u64()),
        (Some(0), Some(1))
    );
    append(&gw, &ready("2026-03-04T08:10:45.020Z"));
    let up = next("gateway_up");
    assert_eq!(up["gateway"], "gw-pool-3");
    assert_eq!(up["restart_s"], 45.0, "{up}");
    assert_eq!(next("pool_status")["recycling"], 0);
    unsafe_terminate(&child.0);
    assert!(child.0.wait().unwrap().success());
}

/// `events --follow --from-start` over the service's log and the gateways' logs reads their
/// existing content merged by time, as the batch `events` does: the same events in the same
/// order (a follower reading file after file would apply the gateways' restarts out of order).
#[test]
fn from_start_merges_the_existing_content_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let (log, gw) = (dir.path().join("svc.log"), dir.path().join("gw"));
    let out = run(
        &[
            "simulate",
            "--seed",
            "6",
            "--hours",
            "24",
            "--pool-size",
            "8",
            "--out",
            s(&log),
            "--gateway-logs",
            s(&gw),
        ],
        None,
    );
    ok(&out, "gwmon simulate");
    let mut files: Vec<String> = std::fs::read_dir(&gw)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    let mut args = vec!["events", "--pool-size", "8", s(&log)];
    args.extend(files.iter().map(String::as_str));
    let batch = ok(&run(&args, None), "gwmon events");
    let want: Vec<&str> = batch.lines().collect();
    assert!(
        want.iter().any(|l| l.contains("\"gateway_up\"")),
        "restarts in the log"
    );
    let mut child = Proc(
        gwmon()
            .args([
                "events",
                "--follow",
                "--from-start",
                "--pool-size",
                "8",
                s(&log),
            ])
            .args(&files)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(&mut child.0);
    let mut got = Vec::new();
    while got.len() < want.len() {
        let l = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{} of {} events", got.len(), want.len()));
        got.push(l);
    }
    unsafe_terminate(&child.0);
    assert!(child.0.wait().unwrap().success());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "event {i} differs");
    }
}
