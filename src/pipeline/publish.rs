//! Publishing the metrics of a live run: the `/metrics` endpoint and the node_exporter
//! textfile, rendered from the session's state when something changed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::alert::Monitor;
use crate::atomic::write_atomic;
use crate::export::prometheus::{Format, Options, render};
use crate::export::serve::{self, Published, Shared};
use crate::recognize::ReadStats;
use crate::units::Millis;

/// Where the metrics go.
#[derive(Clone, Debug, Default)]
pub struct PublishOptions {
    /// Serve `/metrics` (and `/healthz`) on this address.
    pub listen: Option<String>,
    /// Write the metrics to this node_exporter textfile.
    pub textfile: Option<PathBuf>,
    /// How often the textfile is rewritten when something changed.
    pub textfile_every: Duration,
    /// Per-organization series.
    pub per_org: bool,
}

/// Publishes the metrics: the /metrics endpoint and the node_exporter textfile.
pub struct Publisher {
    shared: Option<Shared>,
    textfile: Option<PathBuf>,
    textfile_every: Duration,
    last_textfile: Option<Instant>,
    last_publish: Option<Instant>,
    /// Something changed since the last rendering.
    pub dirty: bool,
    per_org: bool,
}

impl Publisher {
    /// None when nothing is to be published. Starts the HTTP endpoint; returns its address.
    pub fn start(o: &PublishOptions) -> anyhow::Result<Option<(Publisher, Option<SocketAddr>)>> {
        if o.listen.is_none() && o.textfile.is_none() {
            return Ok(None);
        }
        let (shared, bound) = match &o.listen {
            Some(addr) => {
                let shared: Shared = Default::default();
                let bound = serve::serve(addr, Arc::clone(&shared))?;
                (Some(shared), Some(bound))
            }
            None => (None, None),
        };
        Ok(Some((
            Publisher {
                shared,
                textfile: o.textfile.clone(),
                textfile_every: o.textfile_every,
                last_textfile: None,
                last_publish: None,
                dirty: true,
                per_org: o.per_org,
            },
            bound,
        )))
    }

    /// Render the state at `now` and publish it when something changed (at most every 250 ms,
    /// and at least every second for the age gauges); rewrite the textfile at its interval.
    /// `force` at the end.
    pub fn publish(
        &mut self,
        m: &Monitor,
        stats: &ReadStats,
        now: Millis,
        force: bool,
    ) -> anyhow::Result<()> {
        let since = self.last_publish.map(|t| t.elapsed());
        let due = force
            || since.is_none_or(|d| d >= Duration::from_secs(1))
            || (self.dirty && since.is_some_and(|d| d >= Duration::from_millis(250)));
        if !due {
            return Ok(());
        }
        // The endpoint adds the process metrics; the textfile leaves them to node_exporter.
        let file_opts = Options {
            per_org: self.per_org,
            wall: Some(crate::units::time::wall_now()),
            ..Default::default()
        };
        let opts = Options {
            process: true,
            ..file_opts
        };
        if let Some(shared) = &self.shared {
            let text = render(&m.pool, Some(&m.engine), stats, now, Format::Text, &opts);
            let om = render(
                &m.pool,
                Some(&m.engine),
                stats,
                now,
                Format::OpenMetrics,
                &opts,
            );
            let p = Arc::new(Published {
                text,
                openmetrics: om,
                silent: m.engine.silent_inputs(),
            });
            if let Ok(mut g) = shared.write() {
                *g = p;
            }
        }
        if let Some(path) = &self.textfile {
            let tdue = force
                || self
                    .last_textfile
                    .is_none_or(|t| t.elapsed() >= self.textfile_every);
            if tdue {
                let text = render(
                    &m.pool,
                    Some(&m.engine),
                    stats,
                    now,
                    Format::Text,
                    &file_opts,
                );
                write_atomic(path, text.as_bytes())?;
                self.last_textfile = Some(Instant::now());
            }
        }
        self.last_publish = Some(Instant::now());
        self.dirty = false;
        Ok(())
    }
}
