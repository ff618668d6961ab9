//! `gwmon events`: the recognized lifecycle events as JSON lines, from history or (`--follow`)
//! as they are written.

use std::io::{self, Write};

use crate::alert::Monitor;
use crate::alert::sinks::Sinks;
use crate::event::{Event, Kind};
use crate::exit::Exit;
use crate::export::events::write_event;
use crate::pipeline::diagnostics_to_stderr;
use crate::pipeline::live::{self, tell_stderr};
use crate::pipeline::replay::{STDIN_TERMINAL, replay};
use crate::pipeline::sanity::batch_warnings;
use crate::pipeline::session::Session;
use crate::settings::Events;

pub fn run(s: Events) -> anyhow::Result<Exit> {
    let c = &s.common;
    let verbose = c.batch.read.verbose;
    let pool_status = s.pool_status;
    let shown = |ev: &Event| pool_status || !matches!(ev.kind, Kind::PoolStatus { .. });
    if let Some(opts) = &s.follow {
        let mut m = Monitor::new(c.pool.clone(), c.alerts.clone());
        m.engine.notify = false;
        m.pool.keep_derived = true;
        let session = Session::new(&c.batch.read, m);
        return live::follow(
            &c.batch,
            opts,
            session,
            Sinks::default(),
            None,
            &mut |ev, names, out| {
                if shown(ev) {
                    write_event(out, ev, names, verbose)?;
                }
                Ok(())
            },
            &mut tell_stderr(verbose),
        );
    }
    if c.batch.reads_terminal() {
        eprintln!("{STDIN_TERMINAL}");
    }
    let mut pool = crate::pool::Pool::new(c.pool.clone());
    pool.keep_derived = true;
    let names = c.batch.names();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let stats = replay(
        &c.batch,
        &mut pool,
        diagnostics_to_stderr(verbose),
        |ev, pool| {
            pool.apply(ev);
            let derived = pool.take_derived(ev);
            if pool.counting {
                write_event(&mut out, ev, &names, verbose)?;
                for d in derived.iter().filter(|d| shown(d)) {
                    write_event(&mut out, d, &names, verbose)?;
                }
            }
            Ok(())
        },
    )?;
    out.flush()?;
    for w in batch_warnings(&c.batch, &stats) {
        eprintln!("gwmon: {w}");
    }
    Ok(Exit::from_errors(stats.errors > 0))
}
