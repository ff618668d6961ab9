//! `gwmon watch`: follow live logs (tail -F) or stdin, raise alerts as they happen (stdout,
//! JSON lines, a command, Alertmanager) and publish the metrics.

use crate::alert::Monitor;
use crate::alert::sinks::Sinks;
use crate::exit::Exit;
use crate::pipeline::live::{self, tell_stderr};
use crate::pipeline::publish::Publisher;
use crate::pipeline::session::Session;
use crate::settings::Watch;

pub fn run(s: Watch) -> anyhow::Result<Exit> {
    let c = &s.common;
    let sinks = Sinks::open(&s.sinks)?;
    let session = Session::new(
        &c.batch.read,
        Monitor::new(c.pool.clone(), c.alerts.clone()),
    );
    let publisher = match Publisher::start(&s.publish)? {
        Some((p, bound)) => {
            if let Some(bound) = bound {
                if !bound.ip().is_loopback() {
                    eprintln!("gwmon: serving metrics on {bound}, beyond loopback");
                }
                eprintln!("gwmon: serving http://{bound}/metrics");
            }
            Some(p)
        }
        None => None,
    };
    live::follow(
        &c.batch,
        &s.live,
        session,
        sinks,
        publisher,
        &mut |_, _, _| Ok(()),
        &mut tell_stderr(c.batch.read.verbose),
    )
}
