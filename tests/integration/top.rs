//! `gwmon top` in a real terminal (Debian `tmux`, skipped with a printed reason when missing):
//! on a growing file the figures change, `p` freezes them while reading goes on, `?` shows the
//! keys, `q` quits and restores the terminal (the alternate screen is left, the shell's screen
//! is back).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

struct Tmux {
    bin: PathBuf,
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A session "top" of `width`×`height` running `cmd` under `sh -c`.
    fn start(&self, width: u16, height: u16, cmd: &str) {
        let (w, h) = (width.to_string(), height.to_string());
        self.run(&[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            &w,
            "-y",
            &h,
            "sh",
            "-c",
            cmd,
        ]);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "top"])
    }

    /// Wait until the screen holds `want`; returns that screen.
    fn wait_for(&self, want: &str) -> String {
        let mut last = String::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            last = self.screen();
            if last.contains(want) {
                return last;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{want:?} never on the screen; last screen:\n{last}");
    }

    /// Wait until the screen no longer holds `gone`; returns that screen.
    fn wait_gone(&self, gone: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let s = self.screen();
            if !s.contains(gone) {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{gone:?} stays on the screen:\n{s}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &str) {
        self.run(&["send-keys", "-t", "top", keys]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new(&self.bin)
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn allocations(from: u32, to: u32) -> String {
    let mut s = String::new();
    for i in from..to {
        let org = format!("00000000-0000-4000-8000-{i:012}");
        s += &line(
            &now_iso(),
            "INFO",
            "GATEWAY_ALLOC",
            &format!("Starting gateway for org {org}"),
        );
        s += &line(
            &now_iso(),
            "INFO",
            "GATEWAY_ALLOC",
            &format!(
                "Allocated gw-pool-{} (port 71{:02}, upstream 172.17.0.1:71{:02}) to org {org}",
                10 + i,
                10 + i,
                10 + i
            ),
        );
    }
    s
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn top_in_a_real_terminal_follows_pauses_helps_and_restores() {
    let Some(bin) = tool(&["tmux"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, allocations(0, 3)).unwrap();
    let tmux = Tmux {
        bin,
        socket: format!("gwmon-test-{}", std::process::id()),
    };
    let cmd = format!(
        "'{}' top --pool-size 16 '{}'; echo \"EXITED $?\"; sleep 600",
        env!("CARGO_BIN_EXE_gwmon"),
        log.display()
    );
    tmux.start(100, 30, &cmd);
    // The file's content first, then what is appended.
    tmux.wait_for("3 allocated · 0 orphaned · 13 of 16 available");
    append(&log, &allocations(3, 5));
    tmux.wait_for("5 allocated · 0 orphaned · 11 of 16 available");
    tmux.keys("p");
    let paused = tmux.wait_for("PAUSED");
    assert!(paused.contains("5 allocated"), "{paused}");
    append(&log, &allocations(5, 8));
    // Reading goes on while the display is frozen: after resuming, the figures are current
    // at once.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let still = tmux.screen();
    assert!(
        still.contains("5 allocated") && still.contains("PAUSED"),
        "the display stays frozen:\n{still}"
    );
    tmux.keys("p");
    tmux.wait_for("8 allocated · 0 orphaned · 8 of 16 available");
    tmux.wait_gone("PAUSED");
    tmux.keys("?");
    tmux.wait_for("any key closes this help");
    tmux.keys("x");
    let closed = tmux.wait_gone("any key closes this help");
    assert!(closed.contains("8 allocated"), "{closed}");
    tmux.keys("s");
    tmux.wait_for("by organization");
    tmux.keys("q");
    let after = tmux.wait_for("EXITED 0");
    assert!(
        !after.contains("gwmon top") && !after.contains("┌"),
        "the dashboard is gone from the restored screen:\n{after}"
    );
    let alt = tmux.run(&["display-message", "-p", "-t", "top", "#{alternate_on}"]);
    assert_eq!(alt.trim(), "0", "the alternate screen was left");
}

/// `top --state`: quit, the log rotated and written while it is down, started again: it shows the
/// whole pool (the old file's allocations are not read again: a fresh start would see only the
/// new file's), and its charts come back from the state.
#[test]
fn top_state_resumes_across_a_rotation_while_down() {
    let Some(bin) = tool(&["tmux"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    let state = dir.path().join("top.state");
    std::fs::write(&log, allocations(0, 3)).unwrap();
    let tmux = Tmux {
        bin,
        socket: format!("gwmon-test-state-{}", std::process::id()),
    };
    let cmd = format!(
        "for i in 1 2; do '{}' top --pool-size 16 --state '{}' '{}'; echo \"EXITED$i $?\"; read x; done; sleep 600",
        env!("CARGO_BIN_EXE_gwmon"),
        state.display(),
        log.display()
    );
    tmux.start(100, 30, &cmd);
    tmux.wait_for("3 allocated · 0 orphaned · 13 of 16 available");
    tmux.keys("q");
    tmux.wait_for("EXITED1 0");
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["command"], "top");
    assert!(
        saved["view"]["in_use"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "the pool chart is saved: {}",
        saved["view"]
    );
    // Rotated and written while it is down.
    std::fs::rename(&log, dir.path().join("ganymede.log.1")).unwrap();
    std::fs::write(&log, allocations(3, 5)).unwrap();
    tmux.keys("Enter");
    tmux.wait_for("5 allocated · 0 orphaned · 11 of 16 available");
    append(&log, &allocations(5, 6));
    tmux.wait_for("6 allocated · 0 orphaned · 10 of 16 available");
    tmux.keys("q");
    tmux.wait_for("EXITED2 0");
    // Another command's state is refused, naming it.
    let out = run(&["watch", "--state", s(&state), s(&log)], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the state of gwmon top, not of watch"),
        "{err}"
    );
}

/// The 16 base colours of a terminal (xterm's), for the screenshot.
const BASE: [&str; 16] = [
    "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
];

fn color256(n: u32) -> String {
    match n {
        0..=15 => BASE[n as usize].to_owned(),
        16..=231 => {
            let n = n - 16;
            let c = |v: u32| if v == 0 { 0 } else { 55 + v * 40 };
            format!("#{:02x}{:02x}{:02x}", c(n / 36), c(n / 6 % 6), c(n % 6))
        }
        _ => {
            let g = 8 + (n - 232) * 10;
            format!("#{g:02x}{g:02x}{g:02x}")
        }
    }
}

/// A captured pane (`capture-pane -e`: SGR escapes) as an HTML page of coloured text.
fn pane_html(ansi: &str) -> String {
    let (mut fg, mut bg, mut bold) = (None::<String>, None::<String>, false);
    let mut body = String::new();
    let mut rest = ansi;
    let mut open = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("\x1b[") {
            let end = r.find('m').unwrap_or(r.len());
            let codes: Vec<u32> = r[..end]
                .split(';')
                .map(|c| c.parse().unwrap_or(0))
                .collect();
            let mut i = 0;
            while i < codes.len() {
                match codes[i] {
                    0 => (fg, bg, bold) = (None, None, false),
                    1 => bold = true,
                    22 => bold = false,
                    c @ 30..=37 => fg = Some(BASE[(c - 30) as usize].into()),
                    c @ 90..=97 => fg = Some(BASE[(c - 90 + 8) as usize].into()),
                    c @ 40..=47 => bg = Some(BASE[(c - 40) as usize].into()),
                    c @ 100..=107 => bg = Some(BASE[(c - 100 + 8) as usize].into()),
                    39 => fg = None,
                    49 => bg = None,
                    38 | 48 if codes.get(i + 1) == Some(&5) => {
                        let c = color256(codes.get(i + 2).copied().unwrap_or(0));
                        if codes[i] == 38 {
                            fg = Some(c);
                        } else {
                            bg = Some(c);
                        }
                        i += 2;
                    }
                    _ => {}
                }
                i += 1;
            }
            if open {
                body.push_str("</span>");
            }
            body.push_str(&format!(
                "<span style=\"color:{};background:{};font-weight:{}\">",
                fg.as_deref().unwrap_or("#e5e5e5"),
                bg.as_deref().unwrap_or("transparent"),
                if bold { "bold" } else { "normal" }
            ));
            open = true;
            rest = &r[(end + 1).min(r.len())..];
            continue;
        }
        let c = rest.chars().next().unwrap();
        match c {
            '<' => body.push_str("&lt;"),
            '>' => body.push_str("&gt;"),
            '&' => body.push_str("&amp;"),
            c => body.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    if open {
        body.push_str("</span>");
    }
    format!(
        "<!doctype html><meta charset=utf-8><style>body{{margin:0;background:#1e1e1e}}\
         pre{{margin:8px;font:14px/1.0 'DejaVu Sans Mono',monospace;color:#e5e5e5}}</style>\
         <pre>{body}</pre>"
    )
}

/// A screenshot of `gwmon top` on two simulated days that end now, with the gateways' own logs
/// (the README's picture: `GWMON_WRITE_DOCS=1` writes it to docs/top.png).
#[test]
fn top_screenshot_of_a_simulated_pool() {
    let (Some(bin), Some(chromium)) = (tmux_bin(), tool(&["chromium", "chromium-browser"])) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (log, gw) = (dir.path().join("ganymede.log"), dir.path().join("gw"));
    let start = chrono::Utc::now() - chrono::Duration::hours(47);
    let start = start.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    ok(
        &run(
            &[
                "simulate",
                "--seed",
                "3",
                "--hours",
                "47",
                "--pool-size",
                "8",
                "--start",
                &start,
                "--out",
                s(&log),
                "--gateway-logs",
                s(&gw),
            ],
            None,
        ),
        "gwmon simulate",
    );
    let tmux = Tmux {
        bin,
        socket: format!("gwmon-shot-{}", std::process::id()),
    };
    let cmd = format!(
        "cd '{}' && '{}' top --pool-size 8 ganymede.log gw/*.log; sleep 600",
        dir.path().display(),
        env!("CARGO_BIN_EXE_gwmon"),
    );
    tmux.start(120, 36, &cmd);
    tmux.wait_for("open allocations");
    let ansi = tmux.run(&["capture-pane", "-e", "-p", "-t", "top"]);
    let html = dir.path().join("top.html");
    std::fs::write(&html, pane_html(&ansi)).unwrap();
    let png = dir.path().join("top.png");
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1040,640",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(
        png.is_file(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "a PNG with content"
    );
    if std::env::var("GWMON_WRITE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::write(repo().join("docs/top.png"), bytes).unwrap();
    }
}

fn tmux_bin() -> Option<PathBuf> {
    tool(&["tmux"])
}
