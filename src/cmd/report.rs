//! `gwmon report`: one pass over historical logs through the pool and the alert rules, then the
//! report as text, JSON, an HTML page or a Prometheus exposition.

use std::io::{self, Write};

use crate::alert::Monitor;
use crate::atomic::write_atomic;
use crate::exit::Exit;
use crate::export::{html, prometheus, text};
use crate::pipeline::diagnostics_to_stderr;
use crate::pipeline::replay::{STDIN_TERMINAL, replay_alerts};
use crate::pipeline::sanity::batch_warnings;
use crate::settings::{HtmlOut, Report, ReportFormat};

pub fn run(s: Report) -> anyhow::Result<Exit> {
    let c = &s.common;
    let mut m = Monitor::new(c.pool.clone(), c.alerts.clone());
    // The report lists the alerts' history; no notification is wanted (nor built).
    m.engine.notify = false;
    let verbose = c.batch.read.verbose;
    if c.batch.reads_terminal() {
        eprintln!("{STDIN_TERMINAL}");
    }
    let stats = replay_alerts(&c.batch, &mut m, diagnostics_to_stderr(verbose), |_| Ok(()))?;
    let mut report = crate::report::build(&m.pool, &stats);
    report.alerts = m.engine.history.clone();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match s.format {
        ReportFormat::Json => {
            let json = serde_json::to_string_pretty(&report)?;
            writeln!(out, "{}", crate::term::json_safe(json))?;
        }
        ReportFormat::Prometheus { per_org } => {
            let now = m.pool.now.unwrap_or(0);
            out.write_all(
                prometheus::render(
                    &m.pool,
                    Some(&m.engine),
                    &stats,
                    now,
                    prometheus::Format::Text,
                    &prometheus::Options {
                        per_org,
                        ..Default::default()
                    },
                )
                .as_bytes(),
            )?;
        }
        ReportFormat::Text { color } => text::write_report(&mut out, &report, color)?,
        ReportFormat::Html(HtmlOut::Stdout) => html::write_report(&mut out, &report)?,
        ReportFormat::Html(HtmlOut::File(path)) => {
            write_atomic(&path, html::render(&report).as_bytes())?;
        }
    }
    out.flush()?;
    for w in batch_warnings(&c.batch, &stats) {
        eprintln!("gwmon: {w}");
    }
    Ok(Exit::from_errors(stats.errors > 0))
}
