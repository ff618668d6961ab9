//! The simulated gateway pool: a discrete-event simulation of app-ganymede's allocator in event
//! time. Requests arrive at a diurnal rate (quiet nights, busy business hours whose peaks exhaust
//! the pool), each request walks through the allocation steps of holistix-log-lines.md §2 and
//! writes its lines as it goes, so the lines of concurrent requests interleave; a rollback or a
//! failed cleanup is written as one contiguous sequence. Gateways are held for minutes to hours
//! and given back by `POST /gateway/stop` (§3). Every decision is also handed to [`Truth`].

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use super::Config;
use super::noise::Noise;
use super::rng::{Rng, splitmix64};
use super::sink::{Data, Prio, Rec, Sink, Val};
use super::truth::{Reason, Truth};

mod request;

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

const ALLOC: &str = "GATEWAY_ALLOC";
const SHUTDOWN: &str = "GATEWAY_SHUTDOWN";
const READY: &str = "GATEWAY_READY";
const STATE: &str = "GATEWAY_STATE";
const CLEANUP: &str = "GATEWAY_CLEANUP";
const DEALLOC: &str = "GATEWAY_DEALLOC";
const STATS: &str = "GATEWAY_STATS";
const HTTP: &str = "HTTP";

const HEALTH_MSG: &str = "Gateway health check failed after 5000ms. Gateway may not be ready.";

/// Relative request rate by UTC hour of day (the users work 8:00–18:00).
const HOURLY: [f64; 24] = [
    0.05, 0.03, 0.02, 0.02, 0.03, 0.06, 0.15, 0.40, 0.80, 1.00, 1.00, 0.90, 0.70, 0.90, 1.00, 1.00,
    0.85, 0.60, 0.40, 0.30, 0.20, 0.15, 0.10, 0.07,
];
/// Requests per hour and per pool gateway at the busiest moment of an ordinary weekday.
const PEAK_RATE_PER_GATEWAY: f64 = 1.0;
const MAX_DAY_FACTOR: f64 = 1.25;

/// The result of a simulation run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub truth: super::truth::Report,
    pub lines: u64,
    pub bytes: u64,
    pub malformed: u64,
}

#[derive(Clone, Copy, Debug)]
enum Hold {
    None,
    Allocated { gw: usize },
    Orphaned { gw: usize },
}

#[derive(Clone, Copy, Debug)]
enum Fate {
    Ok,
    Health,
    Init,
    Other,
}

#[derive(Clone, Copy, Debug)]
struct Inflight {
    started: i64,
    gw: usize,
    fate: Fate,
    health_ms: i64,
    /// For `Fate::Init`: the body of the failed `POST /collab/start`.
    page: usize,
}

struct Org {
    id: String,
    hold: Hold,
    /// A request of this org is being handled (between `Starting…` and its last line).
    inflight: Option<Inflight>,
    /// Generation of the scheduled release; a release of an older generation is void.
    epoch: u64,
    release_at: i64,
    idle_based: bool,
    retries: u32,
}

struct Gateway {
    name: String,
    port: u32,
    uuid: String,
    holder: Option<usize>,
    /// When its container is up: in the future while it restarts (the database marks it
    /// ready at once, so the allocator may hand it out meanwhile).
    up_at: i64,
    /// Generation of the scheduled ready signal; an older one is void.
    up_epoch: u64,
    /// Its own log, when gateway logs are written.
    log: Option<GatewayLog>,
}

/// A gateway container's own log.
struct GatewayLog {
    sink: Sink<Box<dyn Write>>,
    now: i64,
}

#[derive(Clone, Copy, Debug)]
enum Act {
    Arrival,
    Request(usize),
    Snapshot,
    Malformed(u32),
    /// Once a day a collab-server glitch: the next allocation fails its initialization with a
    /// big HTML page (so every day has a lifecycle line over Docker's 16 KiB piece).
    Glitch,
    Allocate(usize),
    Health(usize),
    Init(usize),
    Release(usize, u64),
    OperatorStop(usize, u64),
    /// A gateway container shuts down after the service stopped or rolled it back.
    GatewayShutdown(usize),
    /// Its container is up again: the ready signal (of that generation).
    GatewayUp(usize, u64),
}

impl Act {
    /// Steps of a request already started: finished even after the end of the simulated time.
    fn continues_request(self) -> bool {
        matches!(self, Act::Allocate(_) | Act::Health(_) | Act::Init(_))
    }
}

struct Item {
    t: i64,
    seq: u64,
    act: Act,
}

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.seq) == (o.t, o.seq)
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    /// Reversed: the heap pops the earliest item first, ties in scheduling order.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.t, o.seq).cmp(&(self.t, self.seq))
    }
}

/// Writes records in time order and fills the gaps between lifecycle lines with noise.
struct Emitter<W: Write> {
    sink: Sink<W>,
    noise: Noise,
    noise_mean: f64,
    now: i64,
    started: bool,
}

impl<W: Write> Emitter<W> {
    /// Write a record at `t` or, if lines were already written later than that, at the time of
    /// the last line. Returns the time written.
    fn emit(
        &mut self,
        t: i64,
        prio: Prio,
        cat: &str,
        msg: &str,
        data: Data<'_>,
    ) -> io::Result<i64> {
        let t = self.advance(t)?;
        self.sink.record(&Rec {
            t,
            prio,
            cat,
            msg,
            data,
        })?;
        Ok(t)
    }

    fn advance(&mut self, t: i64) -> io::Result<i64> {
        let t = t.max(self.now);
        if self.started {
            self.noise
                .fill(self.now, t, self.noise_mean, &mut self.sink)?;
        }
        self.started = true;
        self.now = t;
        Ok(t)
    }

    fn malformed(&mut self, t: i64, prio: Prio, cat: &str, msg: &str) -> io::Result<()> {
        let t = self.advance(t)?;
        self.sink.malformed(&Rec {
            t,
            prio,
            cat,
            msg,
            data: Data::None,
        })
    }
}

struct Sim<W: Write> {
    rng: Rng,
    seed: u64,
    em: Emitter<W>,
    truth: Truth,
    orgs: Vec<Org>,
    /// Cumulative popularity of the orgs (Zipf-like).
    popularity: Vec<f64>,
    gateways: Vec<Gateway>,
    heap: BinaryHeap<Item>,
    seq: u64,
    pool_size: u32,
    ended: bool,
    malformed: u64,
    init_pages: Vec<String>,
    glitch: bool,
    /// The gateways' own randomness (restart times, their lines' timing), apart so the
    /// service's stream of decisions does not depend on it.
    grng: Rng,
}

/// Run the simulation described by `cfg`, writing the log to `w` and, with
/// `cfg.gateway_logs`, each gateway container's own log to a file of its own
/// (`gw-pool-N.log`, in the same shape).
pub fn generate<W: Write>(cfg: &Config, w: W) -> io::Result<Outcome> {
    let mut rng = Rng::new(cfg.seed, 0);
    let pool_size = cfg.pool_size.max(1);
    let orgs: Vec<Org> = (0..cfg.orgs.max(1))
        .map(|_| Org {
            id: rng.uuid(),
            hold: Hold::None,
            inflight: None,
            epoch: 0,
            release_at: 0,
            idle_based: false,
            retries: 0,
        })
        .collect();
    let mut acc = 0.0;
    let popularity = (0..orgs.len())
        .map(|i| {
            acc += 1.0 / ((i + 1) as f64).powf(0.8);
            acc
        })
        .collect();
    let mut gateways: Vec<Gateway> = (1..=pool_size)
        .map(|n| Gateway {
            name: format!("gw-pool-{n}"),
            port: 7100 + n,
            uuid: rng.uuid(),
            holder: None,
            up_at: cfg.start_ms,
            up_epoch: 0,
            log: None,
        })
        .collect();
    if let Some(dir) = &cfg.gateway_logs {
        std::fs::create_dir_all(dir)?;
        for (i, g) in gateways.iter_mut().enumerate() {
            let f = std::fs::File::create(dir.join(format!("{}.log", g.name)))?;
            let w: Box<dyn Write> = Box::new(io::BufWriter::new(f));
            g.log = Some(GatewayLog {
                sink: Sink::for_gateway(w, cfg.format, Rng::new(cfg.seed, 100 + i as u64), &g.name),
                now: cfg.start_ms,
            });
        }
    }
    let ids: Vec<(String, String)> = gateways
        .iter()
        .map(|g| (g.name.clone(), g.uuid.clone()))
        .collect();
    let org_ids: Vec<String> = orgs.iter().map(|o| o.id.clone()).collect();
    let noise = Noise::new(Rng::new(cfg.seed, 1), org_ids.clone(), pool_size);
    let sink = Sink::new(w, cfg.format, Rng::new(cfg.seed, 2));
    let noise_mean = if cfg.noise > 0.0 {
        cfg.noise / (1.0 - cfg.noise)
    } else {
        0.0
    };
    let init_pages = init_pages(&mut rng);
    let mut sim = Sim {
        rng,
        seed: cfg.seed,
        em: Emitter {
            sink,
            noise,
            noise_mean,
            now: cfg.start_ms,
            started: false,
        },
        truth: Truth::new(pool_size, org_ids, ids, cfg.gateway_logs.is_some()),
        orgs,
        popularity,
        gateways,
        heap: BinaryHeap::new(),
        seq: 0,
        pool_size,
        ended: false,
        malformed: 0,
        init_pages,
        glitch: false,
        grng: Rng::new(cfg.seed, 3),
    };
    sim.run(cfg)?;
    sim.em.sink.finish()?;
    let mut gateway_lines = 0;
    for g in &mut sim.gateways {
        if let Some(l) = &mut g.log {
            l.sink.finish()?;
            gateway_lines += l.sink.lines;
        }
    }
    Ok(Outcome {
        truth: sim
            .truth
            .report(sim.em.sink.lines + gateway_lines, sim.malformed),
        lines: sim.em.sink.lines,
        bytes: sim.em.sink.bytes,
        malformed: sim.malformed,
    })
}

/// Bodies of failed `POST /collab/start` calls: short and long HTML pages, JSON, plain text.
/// One is longer than Docker's 16 KiB piece (on one physical line), yet its OTLP form (one
/// attribute per character) stays under 1 MiB.
fn init_pages(rng: &mut Rng) -> Vec<String> {
    let nginx = "502 <html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx/1.25.3</center>\n</body>\n</html>".to_owned();
    let json = r#"500 {"error":"collab server not ready","retry":true}"#.to_owned();
    let plain = "503 Service Unavailable".to_owned();
    let mut css = String::with_capacity(17_000);
    let mut i = 0u64;
    while css.len() < 16_700 {
        let h = splitmix64(&mut rng.next_u64()) & 0xFF_FFFF;
        css.push_str(&format!(
            ".c{i}{{color:#{h:06x};margin:{}px {}px;font:12px/1.4 sans-serif}}",
            i % 17,
            i % 5
        ));
        i += 1;
    }
    let big = format!(
        "502 <!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n<style>{css}</style>\n</head>\n<body>\n<pre>Cannot POST /collab/start</pre>\n</body>\n</html>"
    );
    vec![nginx, json, plain, big]
}

impl<W: Write> Sim<W> {
    fn schedule(&mut self, t: i64, act: Act) {
        self.seq += 1;
        self.heap.push(Item {
            t,
            seq: self.seq,
            act,
        });
    }

    fn emit(&mut self, t: i64, prio: Prio, cat: &str, msg: &str) -> io::Result<i64> {
        self.em.emit(t, prio, cat, msg, Data::None)
    }

    fn run(&mut self, cfg: &Config) -> io::Result<()> {
        let start = cfg.start_ms;
        let end = start + (cfg.hours * HOUR as f64).round() as i64;
        // The first line: a snapshot, so the pool total is known from the start.
        self.snapshot(start + 4)?;
        // Every container signals ready when it starts.
        for gw in 0..self.gateways.len() {
            self.gw_ready(gw, start + 1 + gw as i64)?;
        }
        self.schedule(start.div_euclid(HOUR) * HOUR + HOUR + 4, Act::Snapshot);
        let mut glitch = start.div_euclid(DAY) * DAY + self.rng.range(8 * HOUR, 17 * HOUR);
        if glitch <= start {
            glitch += DAY;
        }
        self.schedule(glitch, Act::Glitch);
        let first = self.next_arrival(start);
        self.schedule(first, Act::Arrival);
        for _ in 0..cfg.malformed {
            let t = self.rng.range(start + 10, (end - 1).max(start + 10));
            let variant = self.rng.below(3) as u32;
            self.schedule(t, Act::Malformed(variant));
        }
        while let Some(Item { t, act, .. }) = self.heap.pop() {
            if !self.ended && t >= end && cfg.target_bytes.is_none_or(|b| self.em.sink.bytes >= b) {
                self.ended = true;
            }
            if self.ended && !act.continues_request() {
                continue;
            }
            match act {
                Act::Arrival => {
                    let org = self.pick_org();
                    self.request(t, org)?;
                    // Users of several organizations often start at once.
                    if self.rng.chance(0.15) {
                        let other = self.pick_org();
                        let dt = self.rng.range(30, 3000);
                        self.schedule(t + dt, Act::Request(other));
                    }
                    let next = self.next_arrival(t);
                    self.schedule(next, Act::Arrival);
                }
                Act::Request(org) => self.request(t, org)?,
                Act::Snapshot => {
                    self.snapshot(t)?;
                    self.schedule(t + HOUR, Act::Snapshot);
                }
                Act::Malformed(v) => self.malformed(t, v)?,
                Act::Glitch => {
                    self.glitch = true;
                    let next = (t.div_euclid(DAY) + 1) * DAY + self.rng.range(8 * HOUR, 17 * HOUR);
                    self.schedule(next, Act::Glitch);
                }
                Act::Allocate(org) => self.allocate(t, org)?,
                Act::Health(org) => self.health(t, org)?,
                Act::Init(org) => self.init(t, org)?,
                Act::Release(org, epoch) => {
                    if self.orgs[org].epoch == epoch
                        && let Hold::Allocated { gw } = self.orgs[org].hold
                    {
                        if self.orgs[org].idle_based {
                            self.idle_shutdown(t, org, gw)?;
                        } else {
                            self.stop(t, org, gw, false)?;
                            self.restart(t, gw, true);
                        }
                    }
                }
                Act::OperatorStop(org, epoch) => {
                    if self.orgs[org].epoch == epoch
                        && let Hold::Orphaned { gw } = self.orgs[org].hold
                    {
                        self.stop(t, org, gw, true)?;
                        self.restart(t, gw, true);
                    }
                }
                Act::GatewayShutdown(gw) => {
                    let t = self.gw_write(gw, t, "Initiating graceful shutdown...")?;
                    self.truth.gw_down(gw, t);
                    let dt = self.grng.range(100, 800);
                    self.gw_write(gw, t + dt, "Gateway shutdown complete")?;
                }
                Act::GatewayUp(gw, epoch) => {
                    if self.gateways[gw].up_epoch == epoch {
                        self.gw_ready(gw, t)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A line of the gateway's own log (when gateway logs are written), at `t` or after its
    /// last line. Returns the time written.
    fn gw_line(&mut self, gw: usize, t: i64, prio: Prio, cat: &str, msg: &str) -> io::Result<i64> {
        let Some(l) = &mut self.gateways[gw].log else {
            return Ok(t);
        };
        let t = t.max(l.now);
        l.now = t;
        l.sink.record(&Rec {
            t,
            prio,
            cat,
            msg,
            data: Data::None,
        })?;
        let event = !(msg.starts_with("Notifying Ganymede") || msg.starts_with("Gateway shutdown"));
        self.truth.gw_line(gw, t, event);
        Ok(t)
    }

    fn gw_write(&mut self, gw: usize, t: i64, msg: &str) -> io::Result<i64> {
        self.gw_line(gw, t, Prio::Info, SHUTDOWN, msg)
    }

    /// Whether gateway logs are written (the gateway's own lines exist).
    fn side_logs(&self) -> bool {
        self.gateways.first().is_some_and(|g| g.log.is_some())
    }

    /// The container is up: its ready signal (an UP mark).
    fn gw_ready(&mut self, gw: usize, t: i64) -> io::Result<()> {
        let t = self.gw_line(
            gw,
            t,
            Prio::Info,
            READY,
            "Successfully signaled ready to Ganymede",
        )?;
        if self.side_logs() {
            self.truth.gw_up(gw, t);
        }
        Ok(())
    }

    /// The container restarts after going down at `t` (`shutdown`: its own shutdown lines
    /// follow the service's stop); it is up again 20 to 90 seconds later, or when a restart in
    /// progress ends, whichever is later.
    pub(super) fn restart(&mut self, t: i64, gw: usize, shutdown: bool) {
        if shutdown {
            let dt = self.grng.range(200, 2000);
            self.schedule(t + dt, Act::GatewayShutdown(gw));
        }
        let up = (t + self.grng.range(20 * SECOND, 90 * SECOND)).max(self.gateways[gw].up_at);
        let g = &mut self.gateways[gw];
        g.up_at = up;
        g.up_epoch += 1;
        let epoch = g.up_epoch;
        self.schedule(up, Act::GatewayUp(gw, epoch));
    }

    /// A gateway with no active project for 30 minutes shuts itself down and asks for its
    /// deallocation (holistix-log-lines.md §4): its lines, the service's stop, its restart.
    fn idle_shutdown(&mut self, t: i64, org: usize, gw: usize) -> io::Result<()> {
        let idle = 30 * MINUTE + self.grng.range(0, 60_000);
        let t = self.gw_write(
            gw,
            t,
            &format!("No active projects for {idle}ms - initiating shutdown"),
        )?;
        if self.side_logs() {
            self.truth.gw_down(gw, t);
        }
        let dt = self.grng.range(1, 4);
        let t = self.gw_write(gw, t + dt, "Initiating graceful shutdown...")?;
        let down = t;
        let id = self.orgs[org].id.clone();
        let dt = self.grng.range(1, 6);
        let t = self.gw_write(
            gw,
            t + dt,
            &format!("Notifying Ganymede of deallocation for org {id}"),
        )?;
        let dt = self.grng.range(20, 150);
        let stopped = self.stop(t + dt, org, gw, false)?;
        let dt = self.grng.range(5, 50);
        let uuid = self.gateways[gw].uuid.clone();
        let t = self.gw_write(
            gw,
            stopped + dt,
            &format!("✅ Gateway {uuid} deallocated, returned to pool"),
        )?;
        if self.side_logs() {
            self.truth.gw_id(gw);
        }
        let dt = self.grng.range(100, 800);
        self.gw_write(gw, t + dt, "Gateway shutdown complete")?;
        self.restart(down, gw, false);
        Ok(())
    }

    /// Requests per millisecond at `t`.
    fn rate(&self, t: i64) -> f64 {
        let day = t.div_euclid(DAY);
        let in_day = t.rem_euclid(DAY) as f64 / HOUR as f64;
        let h = in_day.floor() as usize % 24;
        let f = in_day - in_day.floor();
        let w = HOURLY[h] * (1.0 - f) + HOURLY[(h + 1) % 24] * f;
        // 1970-01-01 was a Thursday: day 2 (mod 7) is a Saturday.
        let weekend = matches!(day.rem_euclid(7), 2 | 3);
        let mut s = self.seed ^ (day as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let u = (splitmix64(&mut s) >> 11) as f64 / (1u64 << 53) as f64;
        let day_factor = if weekend {
            0.2 + 0.1 * u
        } else {
            0.75 + 0.5 * u
        };
        f64::from(self.pool_size) * PEAK_RATE_PER_GATEWAY * w * day_factor / HOUR as f64
    }

    /// The next request after `t` (non-homogeneous Poisson process, by thinning).
    fn next_arrival(&mut self, mut t: i64) -> i64 {
        let max = f64::from(self.pool_size) * PEAK_RATE_PER_GATEWAY * MAX_DAY_FACTOR / HOUR as f64;
        loop {
            t += (self.rng.exp(1.0 / max) as i64).max(1);
            if self.rng.f64() * max < self.rate(t) {
                return t;
            }
        }
    }

    fn pick_org(&mut self) -> usize {
        let total = *self.popularity.last().unwrap_or(&1.0);
        let x = self.rng.f64() * total;
        self.popularity
            .partition_point(|&c| c <= x)
            .min(self.orgs.len() - 1)
    }

    fn snapshot(&mut self, t: i64) -> io::Result<()> {
        let used = self.gateways.iter().filter(|g| g.holder.is_some()).count() as u64;
        let total = u64::from(self.pool_size);
        let counts = [total, used, total - used, 0];
        let texts = counts.map(|c| c.to_string());
        let numbers = self.rng.chance(0.1);
        let keys = [
            "total_gateways",
            "used_gateways",
            "ready_gateways",
            "unused_not_ready_gateways",
        ];
        let fields: Vec<(&str, Val<'_>)> = keys
            .iter()
            .zip(counts.iter().zip(texts.iter()))
            .map(|(k, (n, s))| (*k, if numbers { Val::N(*n) } else { Val::S(s) }))
            .collect();
        let t = self
            .em
            .emit(t, Prio::Info, STATS, "stats: ", Data::Obj(&fields))?;
        self.truth.snapshot(t, counts);
        Ok(())
    }

    fn malformed(&mut self, t: i64, variant: u32) -> io::Result<()> {
        let n = self.rng.range(1, i64::from(self.pool_size));
        let (prio, cat, msg) = match variant {
            0 => (Prio::Info, ALLOC, format!("Allocated gw-pool-{n} (port 71")),
            1 => {
                let gw = &self.gateways[(n - 1) as usize];
                (Prio::Info, DEALLOC, format!("Stopping gateway {}", gw.uuid))
            }
            _ => (
                Prio::Error,
                ALLOC,
                "Failed to start gateway for org : \"no_gateway_available\"".to_owned(),
            ),
        };
        self.em.malformed(t, prio, cat, &msg)?;
        self.malformed += 1;
        Ok(())
    }
}
