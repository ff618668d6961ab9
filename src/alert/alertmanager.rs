//! Alertmanager v2 sink (`--alertmanager URL`): POST `/api/v2/alerts` from a thread of its own,
//! so a slow or absent Alertmanager never blocks the reading of logs.
//!
//! The client protocol, as Prometheus speaks it: while an alert fires it is re-sent every
//! interval with `endsAt` four intervals ahead; on resolve it is sent with `endsAt` = the resolve
//! time and re-sent for 5 minutes, since Alertmanager keeps no state of its own for clients.
//! Failed posts are retried with exponential backoff (1 s doubling up to 60 s).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Alert, Notification, Status};
use crate::units::time::wall_now;
use crate::units::{Millis, fmt_time};

pub struct Client {
    tx: Option<Sender<Notification>>,
    handle: Option<thread::JoinHandle<()>>,
}

struct Entry {
    alert: Alert,
    /// When the resolution was first sent (resolved alerts are re-sent for 5 minutes).
    resolved: Option<Instant>,
}

const KEEP_RESOLVED: Duration = Duration::from_secs(300);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// An Alertmanager URL this build can speak to: `http://HOST[:PORT][/PATH]`.
pub fn check_url(base: &str) -> anyhow::Result<()> {
    let rest = if let Some(r) = base.strip_prefix("http://") {
        r
    } else if base.starts_with("https://") {
        anyhow::bail!(
            "--alertmanager {base}: this build speaks plain http only; point it at a local http listener (or a TLS-terminating proxy)"
        );
    } else {
        anyhow::bail!("--alertmanager {base}: expected an http:// URL");
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(['@', ' ', '?', '#']) {
        anyhow::bail!("--alertmanager {base}: expected http://HOST[:PORT]");
    }
    Ok(())
}

impl Client {
    /// `base`: the Alertmanager URL (`http://host:9093`); `interval`: the resend interval;
    /// `headers`: sent with every request.
    pub fn new(
        base: &str,
        interval: Duration,
        headers: Arc<Vec<(String, String)>>,
    ) -> anyhow::Result<Client> {
        check_url(base)?;
        let base = base.trim_end_matches('/').to_owned();
        let url = format!("{base}/api/v2/alerts");
        let (tx, rx) = mpsc::channel::<Notification>();
        let handle = thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(5)))
                .build()
                .into();
            let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
            let mut next_send = Instant::now() + interval;
            let mut backoff = Duration::from_secs(1);
            let mut failing = false;
            let mut open = true;
            while open || !entries.is_empty() {
                let wait = next_send.saturating_duration_since(Instant::now());
                let mut changed = false;
                if open {
                    match rx.recv_timeout(wait) {
                        Ok(n) => {
                            update(&mut entries, n);
                            changed = true;
                            // Take whatever else is queued before posting.
                            while let Ok(n) = rx.try_recv() {
                                update(&mut entries, n);
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => {
                            open = false;
                            changed = true;
                        }
                    }
                } else if !changed {
                    // Shutting down: one last post of what we have, then stop.
                    changed = true;
                }
                if !changed && Instant::now() < next_send {
                    continue;
                }
                if entries.is_empty() {
                    next_send = Instant::now() + interval;
                    continue;
                }
                let body = body(&entries, interval);
                let mut req = agent.post(&url).header("Content-Type", "application/json");
                for (k, v) in headers.iter() {
                    req = req.header(k, v);
                }
                match req.send(body.as_bytes()) {
                    Ok(_) => {
                        if failing {
                            eprintln!("gwmon: alertmanager {url}: reachable again");
                        }
                        failing = false;
                        backoff = Duration::from_secs(1);
                        next_send = Instant::now() + interval;
                        let now = Instant::now();
                        for e in entries.values_mut() {
                            if e.alert.ends_at.is_some() && e.resolved.is_none() {
                                e.resolved = Some(now);
                            }
                        }
                        entries.retain(|_, e| e.resolved.is_none_or(|r| now - r < KEEP_RESOLVED));
                        if !open {
                            break;
                        }
                    }
                    Err(err) => {
                        if !failing {
                            eprintln!("gwmon: alertmanager {url}: {err}; retrying");
                        }
                        failing = true;
                        if !open {
                            break;
                        }
                        next_send = Instant::now() + backoff;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
        });
        Ok(Client {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    pub fn update(&self, n: &Notification) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(n.clone());
        }
    }

    /// Tell the client to post the latest state once more and stop (see [`Client::join`]).
    pub fn close(&mut self) {
        self.tx = None;
    }

    /// Wait for the last post (closing first if not done).
    pub fn join(mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn update(entries: &mut BTreeMap<String, Entry>, n: Notification) {
    let mut alert = n.alert;
    if n.status == Status::Resolved {
        alert.ends_at = Some(n.at);
    }
    entries.insert(
        alert.fingerprint.clone(),
        Entry {
            alert,
            resolved: None,
        },
    );
}

fn body(entries: &BTreeMap<String, Entry>, interval: Duration) -> String {
    let ahead = wall_now() + 4 * interval.as_millis() as Millis;
    let alerts: Vec<serde_json::Value> = entries
        .values()
        .map(|e| {
            let a = &e.alert;
            let mut labels = serde_json::Map::new();
            labels.insert("alertname".into(), json!(a.rule));
            labels.insert("severity".into(), json!(a.severity));
            for (k, v) in &a.labels {
                labels.insert(k.clone(), json!(v));
            }
            json!({
                "labels": labels,
                "annotations": {"summary": a.summary, "value": a.value.to_string()},
                "startsAt": fmt_time(a.starts_at),
                "endsAt": fmt_time(a.ends_at.unwrap_or(ahead.max(a.starts_at + 1))),
                "generatorURL": "",
            })
        })
        .collect();
    serde_json::Value::Array(alerts).to_string()
}
