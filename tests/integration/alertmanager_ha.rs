//! High-availability Alertmanager (issue 12, item 4): every alert goes to every Alertmanager
//! named, each with its own retries — two real Alertmanagers on loopback, one stopped during the
//! test, both end up with the alerts; the headers and the basic credential reach the server.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;

use serde_json::Value;

use crate::common::*;

/// A real Alertmanager on `addr` (its own data directory under `dir`).
fn start_am(bin: &Path, dir: &Path, name: &str, addr: &str) -> Proc {
    let p = Proc(
        alertmanager(bin, dir, &dir.join(name), addr)
            .spawn()
            .unwrap(),
    );
    wait_for(30, "alertmanager ready", || {
        http_get(addr, "/-/ready").filter(|(c, _)| *c == 200)
    });
    p
}

/// The alert names active in the Alertmanager at `addr` (None while it does not answer).
fn active(addr: &str) -> Option<Vec<String>> {
    let (code, body) = http_get(addr, "/api/v2/alerts")?;
    let list: Vec<Value> = serde_json::from_str(&body).ok().filter(|_| code == 200)?;
    Some(
        list.iter()
            .filter(|a| a["status"]["state"] == "active")
            .map(|a| a["labels"]["alertname"].as_str().unwrap_or("").to_owned())
            .collect(),
    )
}

fn has(addr: &str, names: &[&str]) -> Option<()> {
    let got = active(addr)?;
    names
        .iter()
        .all(|n| got.iter().any(|g| g == n))
        .then_some(())
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn orphan(org: &str) -> String {
    line(
        &now_iso(),
        "CRITICAL",
        "GATEWAY_ALLOC",
        &format!(
            r#"⚠️ ORPHANED ALLOCATION - Manual cleanup required! {{"organization_id":"{org}","error":"Cleanup failed: db down"}}"#
        ),
    )
}

#[test]
fn every_alert_reaches_both_alertmanagers_one_of_them_stopped_meanwhile() {
    let Some(am) = tool(&["prometheus-alertmanager", "alertmanager"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = format!("127.0.0.1:{}", free_port());
    let b = format!("127.0.0.1:{}", free_port());
    let _am_a = start_am(&am, dir.path(), "a", &a);
    let mut am_b = Some(start_am(&am, dir.path(), "b", &b));
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let mut watch = Proc(
        gwmon()
            .args(["watch", "--from-start", "--pool-size", "1", "-q"])
            // A comma list and a repeated flag: both forms name the cluster.
            .args(["--alertmanager", &format!("http://{a},http://{b}/")])
            .args(["--alertmanager-header", "X-Scope-OrgID: gwmon-test"])
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    append(&log, &refusal(ORG_A));
    for addr in [&a, &b] {
        wait_for(30, "pool_exhausted in both", || {
            has(addr, &["pool_exhausted"])
        });
    }
    // b stops; a new alert still reaches a (b's retries are its own).
    let mut p = am_b.take().unwrap();
    sigterm(&p.0);
    wait_exit(&mut p.0, 30);
    drop(p);
    append(&log, &orphan(ORG_B));
    wait_for(30, "orphaned_allocation in a while b is down", || {
        has(&a, &["pool_exhausted", "orphaned_allocation"])
    });
    assert!(active(&b).is_none(), "b is down");
    // b comes back (empty: an Alertmanager keeps no alerts across a restart) and gets both
    // from gwmon's retries.
    let _am_b = start_am(&am, dir.path(), "b2", &b);
    wait_for(60, "both alerts in the restarted b", || {
        has(&b, &["pool_exhausted", "orphaned_allocation"])
    });
    sigterm(&watch.0);
    assert!(wait_exit(&mut watch.0, 20).success());
}

/// A one-shot HTTP server: the first request's head, answered 200.
fn capture() -> (String, mpsc::Receiver<String>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0;
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
                if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head += &l;
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let _ =
                c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if tx
                .send(head + "\r\n" + &String::from_utf8_lossy(&body))
                .is_err()
            {
                break;
            }
        }
    });
    (addr, rx)
}

#[test]
fn headers_and_basic_auth_reach_the_alertmanager() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, rx) = capture();
    let cred = dir.path().join("am.cred");
    std::fs::write(&cred, "gwmon:s3cr\u{e9}t\n").unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let mut watch = Proc(
        gwmon()
            .args(["watch", "--pool-size", "1", "-q"])
            .args(["--alertmanager", &format!("http://{addr}")])
            .args(["--alertmanager-header", "X-Scope-OrgID: team-a"])
            .args(["--alertmanager-basic-auth-file", s(&cred)])
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // (Following from the end: wait until it has the file open, then refuse a request.)
    std::thread::sleep(std::time::Duration::from_millis(300));
    let req = loop {
        append(&log, &refusal(ORG_A));
        if let Ok(r) = rx.recv_timeout(std::time::Duration::from_secs(2)) {
            break r;
        }
    };
    let low = req.to_ascii_lowercase();
    assert!(req.starts_with("POST /api/v2/alerts HTTP/1.1\r\n"), "{req}");
    assert!(low.contains("\r\nx-scope-orgid: team-a\r\n"), "{req}");
    // base64("gwmon:s3crét")
    assert!(
        low.contains("\r\nauthorization: basic z3dtb246cznjcsopda==\r\n"),
        "{req}"
    );
    let body: Value = serde_json::from_str(req.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body[0]["labels"]["alertname"], "pool_exhausted", "{body}");
    sigterm(&watch.0);
    assert!(wait_exit(&mut watch.0, 20).success());
}

#[test]
fn bad_alertmanager_options_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let cred = dir.path().join("bad.cred");
    std::fs::write(&cred, "no colon here\n").unwrap();
    let missing = dir.path().join("missing.cred");
    for (args, want) in [
        (
            vec!["--alertmanager", "ftp://am"],
            "expected an http:// or https:// URL",
        ),
        (
            vec!["--alertmanager", "http://a:1,,http://b:2"],
            "empty URL",
        ),
        (
            vec!["--alertmanager", "http://a:1,http://a:1/"],
            "named twice",
        ),
        (
            vec![
                "--alertmanager",
                "http://a:1",
                "--alertmanager-header",
                "NoColon",
            ],
            "NAME: VALUE",
        ),
        (
            vec![
                "--alertmanager",
                "http://a:1",
                "--alertmanager-header",
                "Bad Name: x",
            ],
            "not a header name",
        ),
        (
            vec![
                "--alertmanager",
                "http://a:1",
                "--alertmanager-header",
                "Host: x",
            ],
            "sets that header itself",
        ),
        (
            vec![
                "--alertmanager",
                "http://a:1",
                "--alertmanager-basic-auth-file",
                s(&cred),
            ],
            "USER:PASSWORD",
        ),
        (
            vec![
                "--alertmanager",
                "http://a:1",
                "--alertmanager-basic-auth-file",
                s(&missing),
            ],
            "missing.cred",
        ),
        (vec!["--alertmanager-header", "X-A: 1"], "--alertmanager"),
    ] {
        let out = run(&[&["watch"][..], &args, &[s(&log)]].concat(), None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
