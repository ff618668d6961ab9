//! Helpers shared by the integration tests.

use std::path::Path;
use std::process::{Command, Output, Stdio};

pub fn gwmon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gwmon"))
}

/// Run gwmon with `args`, feeding `stdin`.
#[track_caller]
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut cmd = gwmon();
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn gwmon");
    if let Some(data) = stdin {
        let mut si = child.stdin.take().expect("stdin");
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = si.write_all(&data);
        });
    }
    child.wait_with_output().expect("wait gwmon")
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

/// One successful allocation of `org` at minute `m`, deallocated `held` minutes later.
pub fn alloc_cycle(org: &str, gw: u32, m: u32, held: u32) -> String {
    let t =
        |min: u32, ms: u32| format!("2026-03-04T{:02}:{:02}:00.{ms:03}Z", 8 + min / 60, min % 60);
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
