//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub fn gwmon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gwmon"))
}

/// Spawn `cmd` with stdout and stderr piped and `stdin` written from a thread of its own (so a
/// child that stops reading its input never blocks the test). Join the returned thread after
/// the child ended.
#[track_caller]
pub fn spawn_fed(
    cmd: &mut Command,
    stdin: Option<Vec<u8>>,
) -> (std::process::Child, Option<std::thread::JoinHandle<()>>) {
    use std::io::Write;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let feeder = stdin.map(|data| {
        let mut si = child.stdin.take().expect("stdin");
        std::thread::spawn(move || {
            let _ = si.write_all(&data);
        })
    });
    (child, feeder)
}

/// Run `cmd` to its end (see [`spawn_fed`]).
#[track_caller]
pub fn run_fed(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    let (child, feeder) = spawn_fed(cmd, stdin.map(<[u8]>::to_vec));
    let out = child.wait_with_output().expect("wait");
    if let Some(f) = feeder {
        let _ = f.join();
    }
    out
}

/// Run gwmon with `args`, feeding `stdin`.
#[track_caller]
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    run_fed(gwmon().args(args), stdin)
}

/// `gwmon report --json` over `path`, parsed.
#[track_caller]
pub fn report_json(path: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["report", "--json"];
    args.extend_from_slice(extra);
    let p = path.to_str().expect("utf-8 path");
    args.push(p);
    let out = run(&args, None);
    assert!(
        out.status.success(),
        "gwmon {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report JSON")
}

pub const ORG_A: &str = "3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b";
pub const ORG_B: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

/// A console line of the service.
pub fn line(time: &str, prio: &str, cat: &str, msg: &str) -> String {
    format!("{time} [{prio:<9}] [{cat:<20}] {msg}\n")
}

/// An allocation of `org` refused now because every gateway is taken: its two lines.
pub fn refusal(org: &str) -> String {
    line(
        &now_iso(),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {org}"),
    ) + &line(
        &now_iso(),
        "ERROR",
        "GATEWAY_ALLOC",
        &format!("Failed to start gateway for org {org}: \"no_gateway_available\""),
    )
}

/// A real Alertmanager's command (`bin`): a route to nowhere (written to `dir/am.yml`), its
/// data in `data`, on `addr`, not clustered, quiet. Add flags, then spawn it.
pub fn alertmanager(bin: &Path, dir: &Path, data: &Path, addr: &str) -> Command {
    let cfg = dir.join("am.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n",
    )
    .unwrap();
    let mut c = Command::new(bin);
    c.arg(format!("--config.file={}", s(&cfg)))
        .arg(format!("--storage.path={}", s(data)))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// One successful allocation of `org` at minute `m`, deallocated `held` minutes later.
pub fn alloc_cycle(org: &str, gw: u32, m: u32, held: u32) -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2026-03-04T08:00:00Z").unwrap();
    let t = |min: u32, ms: u32| {
        (base
            + chrono::Duration::minutes(i64::from(min))
            + chrono::Duration::milliseconds(i64::from(ms)))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
    };
    let mut s = String::new();
    s += &line(
        &t(m, 0),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {org}"),
    );
    s += &line(
        &t(m, 20),
        "INFO",
        "GATEWAY_ALLOC",
        &format!(
            "Allocated gw-pool-{gw} (port 71{gw:02}, upstream 172.17.0.1:71{gw:02}) to org {org}"
        ),
    );
    s += &line(
        &t(m, 900),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("✅ Gateway started successfully for org {org}"),
    );
    s += &line(
        &t(m + held, 20),
        "INFO",
        "GATEWAY_DEALLOC",
        &format!("Stopping gateway 00000000-0000-4000-8000-0000000000{gw:02} for org {org}"),
    );
    s
}

/// A real program a test needs. When it is missing the test is skipped with a printed reason,
/// or fails when GWMON_REQUIRE_TOOLS=1 (CI installs them). Every skip is also counted, and the
/// integration binary ends with one line saying how many checks were skipped and why
/// ([`skip_summary`]), so a skip shows in `cargo test`'s output without `--nocapture`.
pub fn tool(names: &[&str]) -> Option<std::path::PathBuf> {
    register_summary();
    for name in names {
        for dir in std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .chain(["/usr/bin", "/usr/sbin"])
        {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    skipped(&format!(
        "{} not installed (Debian package)",
        names.join(" or ")
    ));
    None
}

/// Record that the running test skips a check for `why`: printed now, counted in the final
/// line, and a failure under GWMON_REQUIRE_TOOLS=1.
#[track_caller]
pub fn skipped(why: &str) {
    let msg = format!("skipped: {why}");
    if std::env::var("GWMON_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
        panic!("{msg}, and GWMON_REQUIRE_TOOLS=1");
    }
    skipped_optional(why);
}

/// Record a skipped check CI does not require either (a program CI does not install): printed
/// now and counted in the final line, never a failure.
pub fn skipped_optional(why: &str) {
    register_summary();
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    eprintln!("skipped: {why}");
    SKIPS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(format!("{test} ({why})"));
}

static SKIPS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Print the skip count when the test binary exits (after libtest's own summary), once.
fn register_summary() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers a plain extern "C" function with no arguments; it runs at exit,
        // when the test threads are done.
        unsafe {
            libc::atexit(skip_summary);
        }
    });
}

/// The final line of the integration binary: how many checks were skipped for a missing
/// program, and which.
extern "C" fn skip_summary() {
    let skips = SKIPS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if skips.is_empty() {
        eprintln!("\ngwmon integration: no check skipped: every program the tests use was found");
    } else {
        eprintln!(
            "\ngwmon integration: {} check(s) SKIPPED (GWMON_REQUIRE_TOOLS=1 makes them fail): {}",
            skips.len(),
            skips.join("; ")
        );
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed when dropped — with its process group when it leads one (started
/// with `process_group(0)`: a shell line whose command runs another, as `flock … gwmon` does).
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: getpgid/kill on our own child's pid, not reaped yet; only signals a group
            // it leads.
            unsafe {
                if libc::getpgid(pid) == pid {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Poll `f` until it returns Some or `secs` pass.
#[track_caller]
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if std::time::Instant::now() > deadline {
            panic!("timed out after {secs}s waiting for {what}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A plain HTTP GET on loopback (no client crate needed for tests).
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Some((code, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Now, as the service writes it.
pub fn now_iso() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn contrib(rel: &str) -> PathBuf {
    repo().join("contrib").join(rel)
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[track_caller]
pub fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

/// `gwmon simulate` into `dir`: the log and its truth (`gwmon report --json --pool-size 8`).
pub fn simulate(dir: &Path, hours: &str) -> (PathBuf, Value) {
    let log = dir.join("sim.log");
    let truth = dir.join("sim.truth.json");
    let out = run(
        &[
            "simulate",
            "--seed",
            "1",
            "--hours",
            hours,
            "--pool-size",
            "8",
            "--out",
            s(&log),
            "--truth",
            s(&truth),
        ],
        None,
    );
    ok(&out, "gwmon simulate");
    let t = serde_json::from_slice(&std::fs::read(&truth).unwrap()).expect("truth JSON");
    (log, t)
}

pub fn line_count(p: &Path) -> u64 {
    std::fs::read(p)
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// Send SIGTERM (gwmon ends cleanly on it).
pub fn sigterm(child: &std::process::Child) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// Wait for a child to exit, at most `secs`.
#[track_caller]
pub fn wait_exit(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    wait_for(secs, "the process to exit", || child.try_wait().unwrap())
}

/// Lines of a child's stdout, as they come.
pub fn lines_of(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in std::io::BufRead::lines(std::io::BufReader::new(out)).map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

#[track_caller]
pub fn expect_line(rx: &std::sync::mpsc::Receiver<String>, want: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(want) => return l,
            Ok(_) => {}
            Err(_) => panic!("no line containing {want:?} within 15 s"),
        }
    }
}
