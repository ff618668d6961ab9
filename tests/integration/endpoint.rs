//! The `/metrics` endpoint of `gwmon watch --listen` under hostile and heavy clients, on
//! loopback: only GET and HEAD on its paths; request heads capped in size and time (a slowloris
//! client is cut off); connections capped; and under a real `wrk` load (Debian package `wrk`;
//! skipped with a printed reason when missing) the logs are still read whole.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::prometheus::{sample_value, start_watch};

/// Send `req` raw and read the whole answer.
fn raw(addr: &str, req: &[u8]) -> String {
    let mut st = TcpStream::connect(addr).unwrap();
    st.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    st.write_all(req).unwrap();
    let mut buf = Vec::new();
    let _ = st.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn only_get_and_head_on_its_paths_and_request_heads_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let (_w, addr) = start_watch(&[s(&log)]);
    for m in [
        "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "BREW",
    ] {
        let r = raw(&addr, format!("{m} /metrics HTTP/1.1\r\n\r\n").as_bytes());
        assert!(r.starts_with("HTTP/1.1 405"), "{m}: {r}");
        assert!(r.contains("Allow: GET, HEAD"), "{m}: {r}");
    }
    let r = raw(&addr, b"GET /metrics/../etc/passwd HTTP/1.1\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    let r = raw(&addr, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.ends_with("\r\n\r\n"), "HEAD has no body: {r}");
    let big = format!(
        "GET /metrics HTTP/1.1\r\nCookie: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let r = raw(&addr, big.as_bytes());
    assert!(r.starts_with("HTTP/1.1 431"), "{}", &r[..r.len().min(200)]);
    // Not HTTP at all.
    let r = raw(
        &addr,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 4"), "{r}");
    // Still serving.
    assert_eq!(http_get(&addr, "/metrics").unwrap().0, 200);
}

/// A client that sends its request head a few bytes a second (slowloris) is answered 408 and
/// cut off after the head deadline (10 s), while other clients are served meanwhile; clients
/// beyond the connection cap (32) get 503 at once instead of waiting.
#[test]
fn slow_clients_are_cut_off_and_connections_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let (_w, addr) = start_watch(&[s(&log)]);
    let slow = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let mut st = TcpStream::connect(&addr).unwrap();
            st.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let start = Instant::now();
            let head = b"GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
            let mut answer = Vec::new();
            for b in head.iter().cycle() {
                if st.write_all(&[*b]).is_err() {
                    break;
                }
                let mut buf = [0u8; 512];
                match st.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                    Err(_) => {}
                }
                if start.elapsed() > Duration::from_secs(40) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(400));
            }
            (
                start.elapsed(),
                String::from_utf8_lossy(&answer).into_owned(),
            )
        })
    };
    // Others are served while it dribbles.
    for _ in 0..5 {
        assert_eq!(http_get(&addr, "/metrics").unwrap().0, 200);
        std::thread::sleep(Duration::from_millis(300));
    }
    // 40 idle connections: the cap is 32 (one is the slow client); the rest are told 503.
    let idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let mut refused = 0;
    for mut c in idle.iter().skip(31) {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = String::new();
        let _ = c.read_to_string(&mut buf);
        if buf.starts_with("HTTP/1.1 503") {
            refused += 1;
        }
    }
    assert!(
        refused >= 8,
        "{refused} of the connections beyond the cap told 503"
    );
    drop(idle);
    let (took, answer) = slow.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        took < Duration::from_secs(30),
        "a slow client kept its connection {took:?}"
    );
    eprintln!(
        "slowloris client cut off after {took:.1?}; {refused} connections beyond the cap refused"
    );
    // Served again once the idle ones are gone (their 5 s read timeout).
    wait_for(20, "the endpoint serving again", || {
        http_get(&addr, "/metrics").filter(|(c, _)| *c == 200)
    });
}

/// The endpoint hammered by wrk (2 threads, 16 connections) while a simulated log is appended:
/// every line is read, every request is answered 200. The figures are printed (requests served,
/// lines read per second during the load); no timing is asserted.
/// Append `data` to `log` and wait until gwmon at `addr` has read its `lines` lines: how long.
/// (A first line, waited for, says gwmon follows the file: it starts at the end.)
fn append_and_wait(addr: &str, log: &std::path::Path, data: &[u8], lines: u64) -> Option<Duration> {
    let read = || {
        let (_, body) = http_get(addr, "/metrics")?;
        sample_value(&body, "gwmon_lines_read_total")
    };
    wait_for(10, "gwmon following the log", || {
        let mut f = std::fs::OpenOptions::new().append(true).open(log).unwrap();
        f.write_all(line(&now_iso(), "INFO", "HTTP", "GET /health 200").as_bytes())
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        (read()? >= 1.0).then_some(())
    });
    // The markers read (once the last is), and the lines to come.
    std::thread::sleep(Duration::from_millis(500));
    let lines = read().unwrap() as u64 + lines;
    let start = Instant::now();
    std::fs::OpenOptions::new()
        .append(true)
        .open(log)
        .unwrap()
        .write_all(data)
        .unwrap();
    let mut last = None;
    while start.elapsed() < Duration::from_secs(60) {
        if let Some((200, body)) = http_get(addr, "/metrics") {
            last = sample_value(&body, "gwmon_lines_read_total");
            if last == Some(lines as f64) {
                return Some(start.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("{}: {last:?} of {lines} lines read", log.display());
    None
}

#[test]
fn under_a_wrk_load_every_line_is_read_and_every_request_answered() {
    let Some(wrk) = tool(&["wrk"]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (sim, _) = simulate(dir.path(), "168");
    let data = std::fs::read(&sim).unwrap();
    let lines = line_count(&sim);
    // Without load first, for comparison.
    let quiet = {
        let log = dir.path().join("quiet.log");
        std::fs::write(&log, "").unwrap();
        let (_w, addr) = start_watch(&[s(&log)]);
        append_and_wait(&addr, &log, &data, lines)
            .unwrap_or_else(|| panic!("not every line read without load"))
    };
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let (_w, addr) = start_watch(&[s(&log)]);
    let load = std::process::Command::new(&wrk)
        .args(["-t2", "-c16", "-d6s", "--latency"])
        .arg(format!("http://{addr}/metrics"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let read_at = append_and_wait(&addr, &log, &data, lines);
    let out = load.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let took =
        read_at.unwrap_or_else(|| panic!("not every line read under load; wrk said:\n{report}"));
    assert!(
        out.status.success(),
        "wrk: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests: u64 = report
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's report:\n{report}"));
    assert!(requests > 0, "{report}");
    assert!(
        !report.contains("Non-2xx or 3xx responses"),
        "some requests were refused:\n{report}"
    );
    eprintln!(
        "under wrk load: {requests} requests answered in 6 s; {lines} lines read in {took:.2?} ({:.0} lines/s; {quiet:.2?} without load; debug build)",
        lines as f64 / took.as_secs_f64()
    );
}
