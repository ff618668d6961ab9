//! The `/metrics` endpoint of `gwmon watch --listen`.
//!
//! The watch loop renders the exposition and publishes it here; connection threads only copy the
//! latest rendering out, so a slow or hostile client can never stall the reading of logs. GET
//! and HEAD only, requests bounded in size (8 KiB) and time (5 s per read, 10 s for the whole
//! request head), at most 32 connections at once (more are answered 503 and closed).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::Duration;

use anyhow::Context;

use super::prometheus::{self, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};

/// The latest renderings: (text format 0.0.4, OpenMetrics), and what `/healthz` says.
#[derive(Default)]
pub struct Published {
    pub text: String,
    pub openmetrics: String,
    /// Inputs silent for longer than `log_silent.for`: `/healthz` answers 503 while any is.
    pub silent: Vec<String>,
}

pub type Shared = Arc<RwLock<Arc<Published>>>;

const MAX_CONNECTIONS: usize = 32;
const MAX_REQUEST: usize = 8 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole request head must arrive within this (a client sending a byte now and then —
/// slowloris — is cut off, whatever each read's timeout).
const HEAD_DEADLINE: Duration = Duration::from_secs(10);

/// Start serving on `addr`. Returns the bound address (for `:0`).
pub fn serve(addr: &str, shared: Shared) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).with_context(|| format!("--listen {addr}"))?;
    let local = listener.local_addr()?;
    let active = Arc::new(AtomicUsize::new(0));
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut stream) = conn else { continue };
            if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
                let _ = respond(
                    &mut stream,
                    503,
                    "text/plain",
                    b"too many connections\n",
                    true,
                );
                continue;
            }
            active.fetch_add(1, Ordering::SeqCst);
            let shared = Arc::clone(&shared);
            let active = Arc::clone(&active);
            thread::spawn(move || {
                let timeouts = stream
                    .set_read_timeout(Some(IO_TIMEOUT))
                    .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)));
                if timeouts.is_ok() {
                    let _ = handle(&mut stream, &shared);
                }
                active.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Ok(local)
}

fn respond(
    s: &mut impl Write,
    code: u16,
    ctype: &str,
    body: &[u8],
    with_body: bool,
) -> io::Result<()> {
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let allow = if code == 405 {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    write!(
        s,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
        body.len()
    )?;
    if with_body {
        s.write_all(body)?;
    }
    s.flush()
}

/// Answer one request on `s` (a connection whose read and write timeouts are set).
pub(crate) fn handle(s: &mut (impl Read + Write), shared: &Shared) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let start = std::time::Instant::now();
    let head_end = loop {
        if let Some(i) = memchr::memmem::find(&buf, b"\r\n\r\n") {
            break i;
        }
        if start.elapsed() > HEAD_DEADLINE {
            return respond(s, 408, "text/plain", b"timeout\n", true);
        }
        if buf.len() > MAX_REQUEST {
            return respond(s, 431, "text/plain", b"request too large\n", true);
        }
        match s.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return respond(s, 408, "text/plain", b"timeout\n", true);
            }
            Err(e) => return Err(e),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut lines = head.split("\r\n");
    let mut req = lines.next().unwrap_or("").split_whitespace();
    let (method, target) = (req.next().unwrap_or(""), req.next().unwrap_or(""));
    let accept = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("accept"))
        .map(|(_, v)| v.trim().to_owned());
    let with_body = match method {
        "GET" => true,
        "HEAD" => false,
        "" => return respond(s, 400, "text/plain", b"bad request\n", true),
        _ => return respond(s, 405, "text/plain", b"only GET\n", true),
    };
    let path = target.split('?').next().unwrap_or("");
    match path {
        "/metrics" => {
            let p = shared.read().map(|g| Arc::clone(&g)).unwrap_or_default();
            match prometheus::negotiate(accept.as_deref()) {
                prometheus::Format::OpenMetrics => {
                    respond(s, 200, OPENMETRICS_CONTENT_TYPE, p.openmetrics.as_bytes(), with_body)
                }
                prometheus::Format::Text => {
                    respond(s, 200, TEXT_CONTENT_TYPE, p.text.as_bytes(), with_body)
                }
            }
        }
        "/healthz" => {
            let p = shared.read().map(|g| Arc::clone(&g)).unwrap_or_default();
            if p.silent.is_empty() {
                respond(s, 200, "text/plain", b"ok\n", with_body)
            } else {
                let body = format!("silent: {}\n", p.silent.join(", "));
                respond(s, 503, "text/plain", body.as_bytes(), with_body)
            }
        }
        "/" => respond(
            s,
            200,
            "text/html; charset=utf-8",
            b"<html><body><h1>gwmon</h1><p><a href=\"/metrics\">/metrics</a> <a href=\"/healthz\">/healthz</a></p></body></html>\n",
            with_body,
        ),
        _ => respond(s, 404, "text/plain", b"not found\n", with_body),
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;

    use super::*;

    fn get(addr: SocketAddr, req: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_metrics_and_refuses_the_rest() {
        let shared: Shared = Arc::new(RwLock::new(Arc::new(Published {
            text: "m 1\n".into(),
            openmetrics: "m 1\n# EOF\n".into(),
            silent: Vec::new(),
        })));
        let addr = serve("127.0.0.1:0", Arc::clone(&shared)).unwrap();
        let r = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(
            r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("\r\n\r\nm 1\n"),
            "{r}"
        );
        assert!(r.contains("version=0.0.4"));
        let r = get(
            addr,
            "GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text; version=1.0.0\r\n\r\n",
        );
        assert!(
            r.contains("openmetrics-text") && r.ends_with("# EOF\n"),
            "{r}"
        );
        assert!(get(addr, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(get(addr, "GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "GET /healthz HTTP/1.1\r\n\r\n").ends_with("ok\n"));
        let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.write_all(huge.as_bytes());
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1.1 431"), "{out}");
    }

    #[test]
    fn a_silent_client_does_not_block_others() {
        let shared: Shared = Arc::new(RwLock::new(Arc::new(Published {
            text: "m 2\n".into(),
            openmetrics: String::new(),
            silent: Vec::new(),
        })));
        let addr = serve("127.0.0.1:0", shared).unwrap();
        let _silent: Vec<TcpStream> = (0..5).map(|_| TcpStream::connect(addr).unwrap()).collect();
        assert!(get(addr, "GET /metrics HTTP/1.1\r\n\r\n").ends_with("m 2\n"));
    }
}
