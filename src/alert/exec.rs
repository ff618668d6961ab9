//! `--exec CMD`: run a command per notification, with the alert in environment variables
//! (`GWMON_ALERT_*`) and as JSON on stdin. The command line is the operator's, split on white
//! space and run without a shell; nothing from the logs is ever parsed as a command. At most
//! `max` commands run at once (the rest wait in a bounded queue) and each is killed after the
//! timeout.

use std::collections::VecDeque;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread;
use std::time::{Duration, Instant};

use super::{Notification, Status};
use crate::units::fmt_time;

pub struct Runner {
    tx: Option<SyncSender<Notification>>,
    handle: Option<thread::JoinHandle<()>>,
}

const QUEUE: usize = 1000;

impl Runner {
    pub fn new(cmd: &str, max: usize, timeout: Duration) -> anyhow::Result<Runner> {
        let argv: Vec<String> = cmd.split_whitespace().map(str::to_owned).collect();
        if argv.is_empty() {
            anyhow::bail!("--exec: empty command");
        }
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let handle = thread::spawn(move || dispatch(&argv, rx, max.max(1), timeout));
        Ok(Runner {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    pub fn run(&self, n: &Notification) {
        if let Some(tx) = &self.tx
            && let Err(TrySendError::Full(_)) = tx.try_send(n.clone())
        {
            eprintln!(
                "gwmon: --exec queue full ({QUEUE}); dropped a notification for {}",
                n.alert.rule.name()
            );
        }
    }

    /// Wait for the queued commands (each still bounded by its timeout).
    pub fn finish(mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn spawn(argv: &[String], n: &Notification) -> std::io::Result<Child> {
    let a = &n.alert;
    let mut c = Command::new(&argv[0]);
    c.args(&argv[1..])
        .env(
            "GWMON_ALERT_STATUS",
            match n.status {
                Status::Firing => "firing",
                Status::Resolved => "resolved",
            },
        )
        .env("GWMON_ALERT_REPEAT", if n.repeat { "1" } else { "0" })
        .env("GWMON_ALERT_RULE", a.rule.name())
        .env("GWMON_ALERT_SEVERITY", a.severity.as_str())
        .env("GWMON_ALERT_SUMMARY", &a.summary)
        .env("GWMON_ALERT_VALUE", a.value.to_string())
        .env("GWMON_ALERT_FINGERPRINT", &a.fingerprint)
        .env("GWMON_ALERT_STARTS_AT", fmt_time(a.starts_at))
        .env("GWMON_ALERT_AT", fmt_time(n.at))
        .env(
            "GWMON_ALERT_LABELS",
            serde_json::to_string(&a.labels).unwrap_or_default(),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = c.spawn()?;
    if let Some(mut si) = child.stdin.take() {
        let body = serde_json::to_vec(n).unwrap_or_default();
        // A command that does not read its stdin must not block us: write from a thread.
        thread::spawn(move || {
            let _ = si.write_all(&body);
        });
    }
    Ok(child)
}

fn dispatch(argv: &[String], rx: Receiver<Notification>, max: usize, timeout: Duration) {
    let mut queue: VecDeque<Notification> = VecDeque::new();
    let mut running: Vec<(Child, Instant)> = Vec::new();
    let mut open = true;
    loop {
        // Reap finished commands, kill overdue ones.
        running.retain_mut(|(child, started)| match child.try_wait() {
            Ok(Some(status)) => {
                if !status.success() {
                    eprintln!("gwmon: --exec {}: {status}", argv[0]);
                }
                false
            }
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("gwmon: --exec {}: killed after {timeout:?}", argv[0]);
                false
            }
            Ok(None) => true,
            Err(_) => false,
        });
        while running.len() < max {
            let Some(n) = queue.pop_front() else { break };
            match spawn(argv, &n) {
                Ok(c) => running.push((c, Instant::now())),
                Err(e) => eprintln!("gwmon: --exec {}: {e}", argv[0]),
            }
        }
        if !open && queue.is_empty() && running.is_empty() {
            return;
        }
        let wait = if running.is_empty() {
            Duration::from_secs(3600)
        } else {
            Duration::from_millis(20)
        };
        if open {
            match rx.recv_timeout(wait) {
                Ok(n) => queue.push_back(n),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
        } else {
            thread::sleep(Duration::from_millis(20));
        }
    }
}
