//! Alert sinks: a human line per transition, JSON lines, a command, Alertmanager.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::{Notification, Status, alertmanager, exec};
use crate::term::escape;
use crate::units::{fmt_time, human_secs};

/// The human line: time, FIRING/RESOLVED, severity, rule, summary.
pub fn human_line(n: &Notification, color: bool) -> String {
    let status = match (n.status, n.repeat) {
        (Status::Firing, false) => "FIRING  ",
        (Status::Firing, true) => "REPEAT  ",
        (Status::Resolved, _) => "RESOLVED",
    };
    let status = if color {
        match n.status {
            Status::Firing => format!("\x1b[1;31m{status}\x1b[0m"),
            Status::Resolved => format!("\x1b[32m{status}\x1b[0m"),
        }
    } else {
        status.to_owned()
    };
    let lasted = match n.status {
        Status::Resolved => format!(
            " (fired {}, lasted {})",
            fmt_time(n.alert.starts_at),
            human_secs((n.at - n.alert.starts_at) as f64 / 1000.0)
        ),
        Status::Firing => String::new(),
    };
    format!(
        "{} {status} {:<8} {:<19} {}{lasted}",
        fmt_time(n.at),
        n.alert.severity,
        n.alert.rule,
        escape(&n.alert.summary)
    )
}

/// Where alerts go, as decided from the command line.
#[derive(Clone, Debug, Default)]
pub struct SinkOptions {
    /// Print the human lines on stdout (unless JSON goes there).
    pub human: bool,
    /// Colour the human lines.
    pub color: bool,
    /// JSON lines to this file (`-`: stdout, instead of the human lines).
    pub json: Option<PathBuf>,
    /// A command run per notification (split on white space, no shell), with its timeout and
    /// the most runs at once.
    pub exec: Option<String>,
    pub exec_timeout: Duration,
    pub exec_max: usize,
    /// Alertmanagers (each gets every alert), the headers sent to them, how often firing
    /// alerts are re-sent, and the CA certificates an https one is verified against (None: the
    /// system roots).
    pub alertmanagers: Vec<String>,
    pub alertmanager_headers: Vec<(String, String)>,
    pub alertmanager_interval: Duration,
    pub alertmanager_ca: Option<alertmanager::CaFile>,
}

/// Where notifications go.
#[derive(Default)]
pub struct Sinks {
    pub human: Option<(Box<dyn Write + Send>, bool)>,
    pub json: Option<Box<dyn Write + Send>>,
    pub exec: Option<exec::Runner>,
    pub alertmanagers: Vec<alertmanager::Client>,
}

impl Sinks {
    /// Open the sinks: the JSON file, the command runner, the Alertmanager client.
    pub fn open(o: &SinkOptions) -> anyhow::Result<Sinks> {
        let mut sinks = Sinks::default();
        let json_to_stdout = o.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
        if o.human && !json_to_stdout {
            sinks.human = Some((Box::new(io::stdout()), o.color));
        }
        if let Some(p) = &o.json {
            sinks.json = Some(if json_to_stdout {
                Box::new(io::stdout())
            } else {
                Box::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(p)
                        .with_context(|| format!("--alerts-json {}", p.display()))?,
                )
            });
        }
        if let Some(cmd) = &o.exec {
            sinks.exec = Some(exec::Runner::new(cmd, o.exec_max, o.exec_timeout)?);
        }
        // Every URL is checked before any client starts.
        for url in &o.alertmanagers {
            alertmanager::check_url(url)?;
        }
        let headers = std::sync::Arc::new(o.alertmanager_headers.clone());
        for url in &o.alertmanagers {
            sinks.alertmanagers.push(alertmanager::Client::new(
                url,
                o.alertmanager_interval,
                std::sync::Arc::clone(&headers),
                o.alertmanager_ca.clone(),
            )?);
        }
        Ok(sinks)
    }

    pub fn send(&mut self, n: &Notification) -> io::Result<()> {
        if let Some((w, color)) = &mut self.human {
            writeln!(w, "{}", human_line(n, *color))?;
            w.flush()?;
        }
        if let Some(w) = &mut self.json {
            let json = serde_json::to_string(n).map_err(io::Error::other)?;
            writeln!(w, "{}", crate::term::json_safe(json))?;
            w.flush()?;
        }
        if let Some(e) = &self.exec {
            e.run(n);
        }
        for a in &self.alertmanagers {
            a.update(n);
        }
        Ok(())
    }

    /// Tell only the Alertmanagers (a restarted run: what still fires, already told to the
    /// other sinks).
    pub fn resync(&mut self, n: &Notification) {
        for a in &self.alertmanagers {
            a.update(n);
        }
    }

    /// Let the command runs and the Alertmanager client finish their work.
    pub fn finish(self) {
        if let Some(e) = self.exec {
            e.finish();
        }
        // All told at once, then waited for: their last posts run side by side, so one that
        // is down does not hold the others.
        let mut clients = self.alertmanagers;
        for a in &mut clients {
            a.close();
        }
        for a in clients {
            a.join();
        }
    }
}
