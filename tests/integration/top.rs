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
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "100",
        "-y",
        "30",
        "sh",
        "-c",
        &cmd,
    ]);
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
