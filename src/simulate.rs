//! `gwmon simulate` (hidden): a deterministic, seeded simulator of the gateway pool. It writes
//! the log app-ganymede would write (holistix-log-lines.md) in any of the four transport shapes,
//! and the exact report gwmon must produce from it ("truth"), computed from the simulator's own
//! decisions, never by reading the log back. Tests compare `gwmon report --json` with the truth;
//! benchmarks use it to make logs of any size.
//!
//! `fixtures/ganymede-sample.log` and its truth are
//! `gwmon simulate --seed 7 --hours 24 --pool-size 8 --format console --noise 0.9
//! --out fixtures/ganymede-sample.log --truth fixtures/ganymede-sample.truth.json`; a test checks
//! that they still regenerate byte for byte.
//!
//! Stages: [`model`] (the pool and its requests, in event time) → [`sink`] (one transport shape)
//! with [`noise`] (the unrelated lines between) and [`truth`] (the expected report).

pub mod model;
pub mod noise;
pub mod rng;
pub mod sink;
pub mod truth;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::decode::Format;

pub use model::{Outcome, generate};

#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {
    /// Seed of the simulation: the same arguments always give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated time, from --start.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// Number of gateways in the pool.
    #[arg(long, default_value_t = 8)]
    pub pool_size: u32,
    /// Shape of the written lines (not auto).
    #[arg(long, value_enum, default_value = "console")]
    pub format: Format,
    /// Start of the simulated time (RFC 3339).
    #[arg(long, default_value = "2026-03-02T00:00:00Z")]
    pub start: String,
    /// Number of distinct organizations.
    #[arg(long, default_value_t = 60)]
    pub orgs: u32,
    /// Fraction of the lines that are unrelated to gateways (0 ≤ noise < 1).
    #[arg(long, default_value_t = 0.95)]
    pub noise: f64,
    /// Inject N malformed gateway lines (each counts once in lines.skipped).
    #[arg(long, default_value_t = 0)]
    pub malformed: u32,
    /// Benchmarks: go on past --hours until the log is about this many bytes (truth still exact).
    #[arg(long)]
    pub target_bytes: Option<u64>,
    /// Write the log here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the expected `gwmon report --json --pool-size N` here.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Also write each gateway container's own log into DIR (`gw-pool-N.log`, same shape); the
    /// truth then has the figures that need them (restarts, handouts to restarting gateways).
    #[arg(long, value_name = "DIR")]
    pub gateway_logs: Option<PathBuf>,
}

/// The validated parameters of a simulation.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub hours: f64,
    pub pool_size: u32,
    /// Never `Auto`.
    pub format: Format,
    /// Start time, ms since the epoch.
    pub start_ms: i64,
    pub orgs: u32,
    pub noise: f64,
    pub malformed: u32,
    pub target_bytes: Option<u64>,
    pub gateway_logs: Option<PathBuf>,
}

impl Config {
    pub fn from_args(a: &SimulateArgs) -> anyhow::Result<Config> {
        if a.format == Format::Auto {
            bail!("simulate: --format must be one of console, docker, otlp, logcli");
        }
        if !(a.hours.is_finite() && a.hours > 0.0 && a.hours <= 24.0 * 366.0 * 20.0) {
            bail!("simulate: --hours must be a positive number of hours");
        }
        if a.pool_size == 0 {
            bail!("simulate: --pool-size must be at least 1");
        }
        if a.orgs == 0 {
            bail!("simulate: --orgs must be at least 1");
        }
        if !(0.0..1.0).contains(&a.noise) {
            bail!("simulate: --noise must be in [0, 1)");
        }
        let start = chrono::DateTime::parse_from_rfc3339(&a.start)
            .with_context(|| format!("simulate: --start {:?} is not an RFC 3339 time", a.start))?
            .timestamp_millis();
        Ok(Config {
            seed: a.seed,
            hours: a.hours,
            pool_size: a.pool_size,
            format: a.format,
            start_ms: start,
            orgs: a.orgs,
            noise: a.noise,
            malformed: a.malformed,
            target_bytes: a.target_bytes,
            gateway_logs: a.gateway_logs.clone(),
        })
    }
}

pub fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    let cfg = Config::from_args(args)?;
    let outcome = match &args.out {
        Some(path) => {
            let f = File::create(path)
                .with_context(|| format!("simulate: cannot create {}", path.display()))?;
            generate(&cfg, BufWriter::with_capacity(1 << 20, f))
                .with_context(|| format!("simulate: writing {}", path.display()))?
        }
        None => {
            let out = io::stdout().lock();
            generate(&cfg, BufWriter::with_capacity(1 << 20, out)).context("simulate: writing")?
        }
    };
    if let Some(path) = &args.truth {
        let f = File::create(path)
            .with_context(|| format!("simulate: cannot create {}", path.display()))?;
        let mut w = BufWriter::new(f);
        serde_json::to_writer_pretty(&mut w, &outcome.truth)?;
        w.write_all(b"\n")?;
        w.flush()
            .with_context(|| format!("simulate: writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
