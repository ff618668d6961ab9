//! `gwmon alerts`: replay history through the alert rules — when each alert would have fired
//! and resolved — with a count per rule, to tune thresholds on past logs.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::alert::sinks::human_line;
use crate::alert::{Monitor, Rule, Status};
use crate::exit::Exit;
use crate::pipeline::diagnostics_to_stderr;
use crate::pipeline::replay::{STDIN_TERMINAL, replay_alerts};
use crate::pipeline::sanity::batch_warnings;
use crate::settings::AlertsReplay;

pub fn run(s: AlertsReplay) -> anyhow::Result<Exit> {
    let c = &s.common;
    let mut m = Monitor::new(c.pool.clone(), c.alerts.clone());
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut counts: BTreeMap<&str, (u64, u64)> =
        Rule::ALL.iter().map(|r| (r.name(), (0, 0))).collect();
    let verbose = c.batch.read.verbose;
    if c.batch.reads_terminal() {
        eprintln!("{STDIN_TERMINAL}");
    }
    let stats = replay_alerts(&c.batch, &mut m, diagnostics_to_stderr(verbose), |n| {
        let e = counts.entry(n.alert.rule.name()).or_default();
        match n.status {
            Status::Firing if !n.repeat => e.0 += 1,
            Status::Resolved => e.1 += 1,
            _ => {}
        }
        if n.repeat && !s.repeats {
            return Ok(());
        }
        if s.json {
            let json = serde_json::to_string(n)?;
            writeln!(out, "{}", crate::term::json_safe(json))?;
        } else {
            writeln!(out, "{}", human_line(n, false))?;
        }
        Ok(())
    })?;
    if !s.json {
        writeln!(out)?;
        writeln!(
            out,
            "{:<20} {:>6} {:>9} {:>12}",
            "rule", "fired", "resolved", "still firing"
        )?;
        for (rule, (f, r)) in &counts {
            writeln!(out, "{rule:<20} {f:>6} {r:>9} {:>12}", f.saturating_sub(*r))?;
        }
    }
    out.flush()?;
    for w in batch_warnings(&c.batch, &stats) {
        eprintln!("gwmon: {w}");
    }
    Ok(Exit::from_errors(stats.errors > 0))
}
