//! `gwmon backfill`: the metric families over the logs' whole history, one sample per series per
//! step in event time, as timestamped OpenMetrics for `promtool tsdb create-blocks-from
//! openmetrics`.

use std::io::{self, Write};

use crate::alert::Monitor;
use crate::exit::Exit;
use crate::export::prometheus::timeline::Timeline;
use crate::export::prometheus::{Options, families};
use crate::pipeline::diagnostics_to_stderr;
use crate::pipeline::replay::{STDIN_TERMINAL, replay_sampled};
use crate::pipeline::sanity::batch_warnings;
use crate::recognize::ReadStats;
use crate::settings::Backfill;

/// Words (times and values) buffered in memory before they are spilled (8 bytes each: 16 MiB).
const BUFFERED: usize = 2 << 20;

pub fn run(s: Backfill) -> anyhow::Result<Exit> {
    let c = &s.common;
    let mut m = Monitor::new(c.pool.clone(), c.alerts.clone());
    // A history: nothing is notified.
    m.engine.notify = false;
    if c.batch.reads_terminal() {
        eprintln!("{STDIN_TERMINAL}");
    }
    let mut timeline = Timeline::new(BUFFERED, s.labels.clone())?;
    let none = ReadStats::default();
    let opts = Options {
        per_org: s.per_org,
        history: true,
        ..Default::default()
    };
    let verbose = c.batch.read.verbose;
    let stats = replay_sampled(
        &c.batch,
        &mut m,
        s.step,
        diagnostics_to_stderr(verbose),
        |t, pool, engine| {
            timeline.step(t)?;
            let at = Options {
                integrals_at: Some(t),
                ..opts
            };
            families(&mut timeline, pool, Some(engine), &none, t, &at);
            Ok(())
        },
    )?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    timeline.finish(&mut out)?;
    out.write_all(b"# EOF\n")?;
    out.flush()?;
    for w in batch_warnings(&c.batch, &stats) {
        eprintln!("gwmon: {w}");
    }
    Ok(Exit::from_errors(stats.errors > 0))
}
