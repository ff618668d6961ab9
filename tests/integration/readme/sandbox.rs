//! The sandbox the README's blocks run in, and the runner of their commands (see the doc of
//! the `readme` module).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Block;
use crate::common::*;

/// Programs replaced by shell functions printing what they print, from the simulated logs.
pub const STAND_INS: &[(&str, &str)] = &[
    (
        "docker",
        "no Docker daemon in the test environment; `docker logs` prints the simulated log (the \
         gateways' for gw-pool-N), `-f` then keeps the pipe open, `docker ps` names the eight \
         gateway containers, `docker inspect` an id whose json-file log is simulated, `docker \
         compose logs` prefixes each service's lines as compose does",
    ),
    (
        "journalctl",
        "needs journald holding the service's journal; `-o cat` prints the simulated console \
         lines, `-o short-iso` prefixes them as journalctl does, `-f` keeps the pipe open",
    ),
    (
        "logcli",
        "needs a Loki server; prints the simulated log as `logcli query --output=jsonl` does",
    ),
];

const STAND_IN_FUNCTIONS: &str = r#"
docker() {
  case "$1" in
    logs)
      shift; local follow=0
      if [ "$1" = -f ]; then follow=1; shift; fi
      if [ "$1" = ganymede ]; then cat "$SIM/ganymede.log"; else cat "$SIM/gateways/$1.log"; fi
      if [ $follow = 1 ]; then sleep 600; fi ;;
    inspect) echo 0123abcd ;;
    ps) for i in 1 2 3 4 5 6 7 8; do echo "gw-pool-$i"; done ;;
    compose)
      shift 3
      for svc in "$@"; do
        if [ "$svc" = ganymede ]; then f="$SIM/ganymede.log"; else f="$SIM/gateways/$svc.log"; fi
        sed "s/^/$svc-1  | /" "$f"
      done ;;
    *) echo "docker stand-in: '$*' is not simulated" >&2; return 1 ;;
  esac
}
journalctl() {
  local follow=0 out=short
  while [ $# -gt 0 ]; do
    case "$1" in -f) follow=1 ;; -o) out=$2; shift ;; esac; shift
  done
  case $out in
    cat) cat "$SIM/ganymede.log" ;;
    short-iso) awk '/^20[0-9][0-9]-/ { t = substr($0, 1, 19) "+0000" } { print t " gwhost ganymede[1234]: " $0 }' "$SIM/ganymede.log" ;;
    *) echo "journalctl stand-in: -o $out is not simulated" >&2; return 1 ;;
  esac
  if [ $follow = 1 ]; then sleep 600; fi
}
logcli() { cat "$SIM/logcli.jsonl"; }
"#;

/// The sandbox the blocks run in (see the module doc).
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// Fixed port of the README → the free port used instead.
    pub ports: BTreeMap<u16, u16>,
}

impl Sandbox {
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// A README text with its paths moved into the sandbox and its ports made free ones.
    pub fn rewrite(&self, text: &str) -> String {
        // Through a placeholder: the sandbox's own path may hold `/tmp/`.
        const ROOT: &str = "\u{0}root\u{0}";
        let mut t = text.replace("~/", "$HOME/");
        for dir in ["/var/", "/etc/", "/usr/local/", "/tmp/"] {
            t = t.replace(dir, &format!("{ROOT}{dir}"));
        }
        let mut t = t.replace(ROOT, s(self.root()));
        for (from, to) in &self.ports {
            t = t.replace(&format!(":{from}"), &format!(":{to}"));
        }
        t
    }

    pub fn port(&self, readme_port: u16) -> u16 {
        self.ports[&readme_port]
    }
}

fn write(p: &Path, data: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

fn simulate_into(hours: &str, args: &[&str], out: &Path) {
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let mut a = vec![
        "simulate",
        "--seed",
        "1",
        "--hours",
        hours,
        "--pool-size",
        "8",
    ];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--out", s(out)]);
    ok(&run(&a, None), "gwmon simulate");
}

/// Build the sandbox: 60 simulated hours (three days, the last one 12 hours) of the service and
/// its gateways, in every place the recipes read; the other shapes (Loki, Docker json-file,
/// OTLP) hold 6 hours.
pub fn sandbox() -> Sandbox {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let sim = root.join(".sim");
    simulate_into(
        "60",
        &["--gateway-logs", s(&sim.join("gateways"))],
        &sim.join("ganymede.log"),
    );
    simulate_into("6", &["--format", "logcli"], &sim.join("logcli.jsonl"));
    simulate_into(
        "6",
        &["--format", "docker"],
        &root.join("var/lib/docker/containers/0123abcd/0123abcd-json.log"),
    );
    simulate_into(
        "6",
        &["--format", "otlp"],
        &root.join("var/log/otel/ganymede.jsonl"),
    );
    // The service's log by day, as logrotate leaves it: today plain, yesterday plain
    // (delaycompress), the day before gzipped. A record's continuation lines stay with it.
    let all = std::fs::read_to_string(sim.join("ganymede.log")).unwrap();
    let mut days: BTreeMap<String, String> = BTreeMap::new();
    let mut day = String::new();
    for l in all.split_inclusive('\n') {
        if l.starts_with("20") && l.len() > 10 {
            day = l[..10].to_owned();
        }
        days.entry(day.clone()).or_default().push_str(l);
    }
    assert_eq!(days.len(), 3, "three simulated days: {:?}", days.keys());
    let names = ["ganymede.log.2.gz", "ganymede.log.1", "ganymede.log"];
    for (name, text) in names.iter().zip(days.values()) {
        let p = root.join("var/log").join(name);
        if name.ends_with(".gz") {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
            write(&p, &gz.finish().unwrap());
        } else {
            write(&p, text.as_bytes());
        }
    }
    write(&root.join("ganymede.log"), all.as_bytes());
    for e in std::fs::read_dir(sim.join("gateways")).unwrap() {
        let p = e.unwrap().path();
        let data = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap();
        write(&root.join("gateways").join(name), &data);
        write(&root.join("var/log/gateways").join(name), &data);
    }
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gwmon"), root.join("bin/gwmon")).unwrap();
    for d in ["contrib", "fixtures"] {
        std::os::unix::fs::symlink(repo().join(d), root.join(d)).unwrap();
    }
    // `--exec /usr/local/bin/page`: a pager that keeps what it was given.
    let page = root.join("usr/local/bin/page");
    write(&page, b"#!/bin/sh\ncat >> \"$0.log\"\n");
    std::fs::set_permissions(&page, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(root.join("var/lib/prometheus/node-exporter")).unwrap();
    std::fs::create_dir_all(root.join("home")).unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    // What contrib/README.md says to do before its Prometheus commands: the example
    // configuration, with the rules file next to it.
    for f in ["prometheus.yml", "gwmon.rules.yml"] {
        let data = std::fs::read(contrib(&format!("prometheus/{f}"))).unwrap();
        write(&root.join("etc/prometheus").join(f), &data);
    }
    let ports = [9464, 9093, 9090, 3000, 8080]
        .into_iter()
        .map(|p| (p, free_port()))
        .collect();
    Sandbox { dir, ports }
}

/// Split a block into commands: a `\` continuation or a `for … done` loop is one command;
/// comments and blank lines are dropped.
pub fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    for l in text.lines() {
        let t = l.trim();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if t.starts_with("for ") || t.starts_with("while ") {
            depth += 1;
        }
        if t == "done" || t.starts_with("done ") || t.ends_with("; done") {
            depth -= 1;
        }
        cur.push_str(l);
        if let Some(c) = cur.strip_suffix('\\') {
            cur = c.to_owned();
            continue;
        }
        if depth > 0 {
            cur.push('\n');
            continue;
        }
        out.push(std::mem::take(&mut cur));
    }
    assert!(cur.is_empty(), "an unfinished command: {cur}");
    out
}

/// Whether a command runs until it is stopped.
fn follows(c: &str) -> bool {
    let c = c.trim_end();
    c.ends_with('&')
        || c.contains("gwmon watch")
        || c.contains("--follow")
        || c.contains("tail -f")
        || c.contains(" -f ganymede")
        || c.contains("journalctl -f")
}

/// The shell script running `cmds` (already rewritten) in the sandbox.
pub fn script(sb: &Sandbox, cmds: &[(String, Option<&str>)]) -> String {
    let root = s(sb.root());
    let mut sc = format!(
        "set -u -o pipefail\nset -m\nexport HOME={root}/home PATH={root}/bin:$PATH NO_COLOR=1\n\
         SIM={root}/.sim\ncd {root}\nmkdir -p .out\n{STAND_IN_FUNCTIONS}\n\
         fail() {{ echo \"FAILED ($2): $1\" >&2; exit 1; }}\n"
    );
    for (i, (c, skip)) in cmds.iter().enumerate() {
        let quoted = c.replace('\'', "'\\''");
        if let Some(why) = skip {
            sc += &format!("echo 'not run: {quoted} ({})'\n", why.replace('\'', ""));
            continue;
        }
        if c.trim_start().starts_with("gwmon top") {
            let i = format!("{}-{i}", std::process::id());
            sc += &format!(
                "tmux -L gwmon-readme-{i} new-session -d -x 120 -y 40 '{quoted}' || fail '{quoted}' tmux\n\
                 drawn=0; for _ in $(seq 100); do\n\
                   if tmux -L gwmon-readme-{i} capture-pane -p | grep -q avail; then drawn=1; break; fi; sleep 0.1\n\
                 done\n\
                 tmux -L gwmon-readme-{i} capture-pane -p > .out/{i}.screen 2>/dev/null\n\
                 tmux -L gwmon-readme-{i} kill-server 2>/dev/null\n\
                 [ $drawn = 1 ] || fail '{quoted}' 'no pool on the screen'\n"
            );
            continue;
        }
        if !follows(c) {
            // A monitoring-plugin check ends 0 to 2 by the state it found; 3 is an error.
            let max = if c.trim_start().starts_with("gwmon check") {
                2
            } else {
                0
            };
            sc += &format!(
                "{{ {c}\n}} >> .out/{i}.out 2>> .out/{i}.err; rc=$?\n\
                 [ $rc -le {max} ] || fail '{quoted}' \"exit $rc: $(tail -3 .out/{i}.err)\"\n"
            );
            continue;
        }
        // Ready when /metrics answers with events (a listener), when its textfile is written,
        // else when it still runs after 1 s.
        let body = c.trim_end().trim_end_matches('&');
        let listen = sb
            .ports
            .values()
            .find(|p| c.contains(&format!("--listen 127.0.0.1:{p}")));
        let file = c
            .split_whitespace()
            .skip_while(|w| *w != "--textfile")
            .nth(1);
        let ready = match (listen, file) {
            (Some(p), _) => format!(
                "curl -sf http://127.0.0.1:{p}/metrics | grep -Eq '^gwmon_events_total [1-9]'"
            ),
            (None, Some(f)) => format!("test -s {f}"),
            (None, None) => "test $waited -ge 10".to_owned(),
        };
        sc += &format!(
            "( {body}\n) > .out/{i}.out 2> .out/{i}.err &\npid=$!; waited=0; ready=0\n\
             while [ $waited -lt 200 ]; do\n\
               if ! kill -0 $pid 2>/dev/null; then wait $pid; rc=$?; [ $rc = 0 ] || fail '{quoted}' \"exit $rc: $(tail -3 .out/{i}.err)\"; ready=1; break; fi\n\
               if {ready}; then ready=1; break; fi\n\
               sleep 0.1; waited=$((waited + 1))\n\
             done\n\
             kill -TERM -$pid 2>/dev/null; wait $pid 2>/dev/null\n\
             for _ in $(seq 100); do kill -0 -$pid 2>/dev/null || break; sleep 0.05; done\n\
             kill -KILL -$pid 2>/dev/null\n\
             [ $ready = 1 ] || fail '{quoted}' \"not ready in 20 s: $(tail -3 .out/{i}.err)\"\n"
        );
    }
    sc
}

/// Run `cmds` in the sandbox; panics with the failing command and its stderr.
pub fn run_in(sb: &Sandbox, cmds: &[(String, Option<&str>)]) -> String {
    let sc = script(sb, cmds);
    let out = Command::new("bash")
        .arg("-c")
        .arg(&sc)
        .current_dir(sb.root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{err}\n--- the script:\n{sc}\n--- outputs:\n{}",
        outputs(sb)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn outputs(sb: &Sandbox) -> String {
    let mut s = String::new();
    let Ok(rd) = std::fs::read_dir(sb.path(".out")) else {
        return s;
    };
    let mut files: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
    files.sort();
    for p in files {
        let t = std::fs::read_to_string(&p).unwrap_or_default();
        if !t.is_empty() {
            let tail: String = t.lines().rev().take(5).collect::<Vec<_>>().join("\n");
            s += &format!("{}: …\n{tail}\n", p.display());
        }
    }
    s
}

/// A block's commands, rewritten for the sandbox, with the reason each skipped one is not run.
pub fn planned<'a>(
    sb: &Sandbox,
    b: &Block,
    skips: &[(&str, &'a str)],
) -> Vec<(String, Option<&'a str>)> {
    commands(&b.text)
        .into_iter()
        .map(|c| {
            let why = skips
                .iter()
                .find(|(p, _)| c.trim_start().starts_with(p))
                .map(|(_, w)| *w);
            (sb.rewrite(&c), why)
        })
        .collect()
}
