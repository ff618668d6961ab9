//! Alert sinks: a human line per transition, JSON lines, a command, Alertmanager.

use std::io::{self, Write};

use super::{Notification, Status, alertmanager, exec};
use crate::event::fmt_time;
use crate::term::escape;

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
            crate::export::text::human_secs((n.at - n.alert.starts_at) as f64 / 1000.0)
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

/// Where notifications go.
#[derive(Default)]
pub struct Sinks {
    pub human: Option<(Box<dyn Write + Send>, bool)>,
    pub json: Option<Box<dyn Write + Send>>,
    pub exec: Option<exec::Runner>,
    pub alertmanager: Option<alertmanager::Client>,
}

impl Sinks {
    pub fn send(&mut self, n: &Notification) -> io::Result<()> {
        if let Some((w, color)) = &mut self.human {
            writeln!(w, "{}", human_line(n, *color))?;
            w.flush()?;
        }
        if let Some(w) = &mut self.json {
            serde_json::to_writer(&mut *w, n).map_err(io::Error::other)?;
            writeln!(w)?;
            w.flush()?;
        }
        if let Some(e) = &self.exec {
            e.run(n);
        }
        if let Some(a) = &self.alertmanager {
            a.update(n);
        }
        Ok(())
    }

    /// Let the command runs and the Alertmanager client finish their work.
    pub fn finish(self) {
        if let Some(e) = self.exec {
            e.finish();
        }
        if let Some(a) = self.alertmanager {
            a.finish();
        }
    }
}
