//! Pool model: applies events in time order and keeps the pool's state and every metric of
//! DESIGN.md §3. No I/O and no wall clock: the same events always give the same state, whichever
//! command consumes them.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashSet};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::event::{Event, Kind, Millis, Reason, Snapshot, fmt_time};
use crate::pipeline::ReadStats;
use crate::report::{self, Report};

const HOUR: Millis = 3_600_000;

/// Upper bounds (seconds) of the exported allocation-duration histogram: minutes to days.
pub const DURATION_BUCKETS_S: [f64; 14] = [
    30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 43200.0, 86400.0, 172800.0,
    345600.0, 604800.0,
];
const DAY: Millis = 24 * HOUR;

/// Settings that change what the model reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PoolConfig {
    /// Pool size given by the operator; else the latest snapshot's total.
    pub pool_size: Option<u64>,
    /// Organizations tracked one by one; the rest are folded into `other`.
    pub max_orgs: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            pool_size: None,
            max_orgs: 10_000,
        }
    }
}

/// An allocation that has not ended.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Open {
    pub start: Millis,
    pub gateway: String,
    pub orphaned: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct OrgStats {
    pub allocated: u64,
    pub failed: u64,
    pub held_ms: i64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Counters {
    pub attempts: u64,
    pub allocated: u64,
    pub reused: u64,
    pub ready: u64,
    pub failed: u64,
    pub by_reason: [u64; 4],
    pub rollbacks: u64,
    pub orphaned: u64,
    pub deallocated: u64,
    pub dealloc_failed: u64,
    pub gateway_ready: u64,
    pub idle_shutdowns: u64,
    pub snapshots: u64,
    pub exhaustion_failures: u64,
    pub exhaustion_episodes: u64,
    pub dealloc_without_alloc: u64,
    pub double_alloc: u64,
    pub matched: u64,
}

/// A histogram of milliseconds with an exact sum and max beside it.
#[derive(Clone, Debug)]
pub struct Dist {
    pub hist: Histogram<u64>,
    pub sum_ms: i128,
    pub max_ms: i64,
}

impl Default for Dist {
    fn default() -> Self {
        Dist {
            hist: Histogram::new(3).expect("3 significant digits is valid"),
            sum_ms: 0,
            max_ms: 0,
        }
    }
}

impl Dist {
    pub fn record(&mut self, ms: i64) {
        let ms = ms.max(0);
        // Auto-resizing histogram: recording cannot fail for a non-negative value.
        let _ = self.hist.record(ms as u64);
        self.sum_ms += i128::from(ms);
        self.max_ms = self.max_ms.max(ms);
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Summary in seconds (or in the unit `scale` divides milliseconds into).
    pub fn summary(&self, scale: f64) -> report::Durations {
        let n = self.count();
        if n == 0 {
            return report::Durations::default();
        }
        let q = |q: f64| self.hist.value_at_quantile(q) as f64 / scale;
        report::Durations {
            count: n,
            mean: self.sum_ms as f64 / n as f64 / scale,
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            max: self.max_ms as f64 / scale,
        }
    }
}

// The histogram is carried across `gwmon check` runs in its serialized V2 form.
impl Serialize for Dist {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let values: Vec<(u64, u64)> = self
            .hist
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        (values, self.sum_ms as f64, self.max_ms).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (values, sum, max): (Vec<(u64, u64)>, f64, i64) = Deserialize::deserialize(d)?;
        let mut dist = Dist::default();
        for (v, c) in values {
            dist.hist.record_n(v, c).map_err(serde::de::Error::custom)?;
        }
        dist.sum_ms = sum as i128;
        dist.max_ms = max;
        Ok(dist)
    }
}

/// The pool over event time.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Pool {
    pub cfg: PoolConfig,
    /// Open allocations by organization (an organization holds at most one).
    pub open: HashMap<String, Open>,
    pub orphaned_open: u64,
    pub snapshot: Option<(Millis, Snapshot)>,
    /// Gateways between their idle shutdown and their next ready signal.
    pub recycling: HashSet<String>,
    /// Whether events are counted (false while warming up before `--since`).
    pub counting: bool,
    /// Window of counted events.
    pub first: Option<Millis>,
    pub now: Option<Millis>,
    pub c: Counters,
    pub durations: Dist,
    pub startup: Dist,
    pub peak_open: u64,
    pub in_episode: bool,
    /// Time-weighted integrals over the window, where the total is known.
    pub exhausted_ms: i64,
    pub util_area: f64,
    pub known_ms: i64,
    pub per_hour: BTreeMap<i64, (u64, u64)>,
    pub orgs: HashMap<String, OrgStats>,
    pub other: OrgStats,
    pub other_orgs: bool,
    /// Completed allocations per duration bucket ([`DURATION_BUCKETS_S`], then +Inf), for the
    /// exported histogram (exact counts, not derived from the HDR histogram).
    pub duration_buckets: Vec<u64>,
    /// The ten longest completed allocations: (held ms, org, gateway, start).
    pub longest: Vec<(i64, String, String, Millis)>,
}

impl Pool {
    pub fn new(cfg: PoolConfig) -> Pool {
        Pool {
            cfg,
            counting: true,
            ..Pool::default()
        }
    }

    /// The pool size in force: configured, else the latest snapshot's.
    pub fn total(&self) -> Option<u64> {
        self.cfg.pool_size.or(self.snapshot.map(|(_, s)| s.total))
    }

    pub fn total_source(&self) -> &'static str {
        if self.cfg.pool_size.is_some() {
            "config"
        } else if self.snapshot.is_some() {
            "snapshot"
        } else {
            "unknown"
        }
    }

    /// Allocations open and not orphaned.
    pub fn allocated(&self) -> u64 {
        self.open.len() as u64 - self.orphaned_open
    }

    /// Gateways the allocator can hand out: total − allocated − orphaned.
    pub fn available(&self) -> Option<i64> {
        self.total().map(|t| t as i64 - self.open.len() as i64)
    }

    pub fn utilization(&self) -> Option<f64> {
        self.total()
            .filter(|t| *t > 0)
            .map(|t| self.allocated() as f64 / t as f64)
    }

    /// The utilization integral and the time with a known total, extended from the last event
    /// to `t` (the state holds until the next event).
    pub fn util_area_at(&self, t: Millis) -> (f64, i64) {
        let (mut area, mut known) = (self.util_area, self.known_ms);
        if let (Some(now), Some(total)) = (self.now, self.total())
            && t > now
            && self.counting
        {
            let dt = t - now;
            known += dt;
            if total > 0 {
                area += self.allocated() as f64 / total as f64 * dt as f64;
            }
        }
        (area, known)
    }

    /// Start counting at `at` (the end of a `--since` warm-up).
    pub fn start_counting(&mut self, at: Millis) {
        if !self.counting {
            self.counting = true;
            if self.now.is_some() {
                self.first = Some(at);
                self.now = Some(at);
            }
        }
    }

    /// Move the clock to `t`, integrating the state over the elapsed time.
    pub fn advance(&mut self, t: Millis) {
        let Some(now) = self.now else {
            self.now = Some(t);
            if self.counting {
                self.first = Some(t);
            }
            return;
        };
        if t <= now {
            return;
        }
        if self.counting {
            let dt = t - now;
            if let Some(total) = self.total() {
                self.known_ms += dt;
                if total > 0 {
                    self.util_area += self.allocated() as f64 / total as f64 * dt as f64;
                }
                if self.available().is_some_and(|a| a <= 0) {
                    self.exhausted_ms += dt;
                }
            }
        }
        self.now = Some(t);
    }

    fn org_stats(&mut self, org: &str) -> &mut OrgStats {
        if self.orgs.len() >= self.cfg.max_orgs && !self.orgs.contains_key(org) {
            self.other_orgs = true;
            return &mut self.other;
        }
        // One hash for the common case (a known organization); allocate only for a new one.
        if !self.orgs.contains_key(org) {
            self.orgs.insert(org.to_owned(), OrgStats::default());
        }
        self.orgs.get_mut(org).expect("present")
    }

    fn end_allocation(&mut self, org: &str, t: Millis) -> Option<f64> {
        let Some(o) = self.open.remove(org) else {
            if self.counting {
                self.c.dealloc_without_alloc += 1;
            }
            return None;
        };
        if o.orphaned {
            self.orphaned_open -= 1;
        }
        let ms = (t - o.start).max(0);
        if self.counting {
            self.durations.record(ms);
            let b = DURATION_BUCKETS_S.partition_point(|le| (*le * 1000.0) < ms as f64);
            if self.duration_buckets.len() != DURATION_BUCKETS_S.len() + 1 {
                self.duration_buckets = vec![0; DURATION_BUCKETS_S.len() + 1];
            }
            self.duration_buckets[b] += 1;
            self.org_stats(org).held_ms += ms;
            if self.longest.len() < 10 || self.longest.last().is_some_and(|l| ms > l.0) {
                self.longest.push((ms, org.to_owned(), o.gateway, o.start));
                self.longest
                    .sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
                self.longest.truncate(10);
            }
        }
        Some(ms as f64 / 1000.0)
    }

    fn bump_hour(&mut self, t: Millis, alloc: u64, failed: u64) {
        let e = self.per_hour.entry(t.div_euclid(HOUR)).or_default();
        e.0 += alloc;
        e.1 += failed;
    }

    /// Apply one event; fills in what the model knows (durations, startup time).
    pub fn apply(&mut self, ev: &mut Event) {
        self.advance(ev.time);
        let t = self.now.unwrap_or(ev.time);
        let counting = self.counting;
        if counting {
            self.c.matched += 1;
        }
        match &mut ev.kind {
            Kind::AllocAttempt { org } => {
                if counting {
                    self.c.attempts += 1;
                    let org = org.clone();
                    self.org_stats(&org);
                }
            }
            Kind::Allocated { org, gateway, .. } => {
                if let Some(old) = self.open.remove(org.as_str()) {
                    if old.orphaned {
                        self.orphaned_open -= 1;
                    }
                    if counting {
                        self.c.double_alloc += 1;
                    }
                }
                self.open.insert(
                    org.clone(),
                    Open {
                        start: t,
                        gateway: gateway.clone(),
                        orphaned: false,
                    },
                );
                self.in_episode = false;
                if counting {
                    self.c.allocated += 1;
                    let org = org.clone();
                    self.org_stats(&org).allocated += 1;
                    self.bump_hour(t, 1, 0);
                    self.peak_open = self.peak_open.max(self.open.len() as u64);
                }
            }
            Kind::Reused { org } => {
                if counting {
                    self.c.reused += 1;
                    let org = org.clone();
                    self.org_stats(&org);
                }
            }
            Kind::AllocReady { org, startup_ms } => {
                if let Some(o) = self.open.get(org.as_str()) {
                    let ms = (t - o.start).max(0);
                    *startup_ms = Some(ms);
                    if counting {
                        self.startup.record(ms);
                    }
                }
                if counting {
                    self.c.ready += 1;
                }
            }
            Kind::AllocFailed { org, reason, .. } => {
                if *reason == Reason::NoGatewayAvailable {
                    if counting {
                        self.c.exhaustion_failures += 1;
                        if !self.in_episode {
                            self.c.exhaustion_episodes += 1;
                        }
                    }
                    self.in_episode = true;
                }
                if counting {
                    self.c.failed += 1;
                    self.c.by_reason[*reason as usize] += 1;
                    let org = org.clone();
                    self.org_stats(&org).failed += 1;
                    self.bump_hour(t, 0, 1);
                }
            }
            Kind::Rollback {
                org, duration_s, ..
            } => {
                *duration_s = self.end_allocation(org, t);
                if counting {
                    self.c.rollbacks += 1;
                }
            }
            Kind::Deallocated {
                org, duration_s, ..
            } => {
                *duration_s = self.end_allocation(org, t);
                if counting {
                    self.c.deallocated += 1;
                }
            }
            Kind::Orphaned { org, .. } => {
                match self.open.get_mut(org.as_str()) {
                    Some(o) if o.orphaned => {}
                    Some(o) => {
                        o.orphaned = true;
                        self.orphaned_open += 1;
                    }
                    None => {
                        self.open.insert(
                            org.clone(),
                            Open {
                                start: t,
                                gateway: String::new(),
                                orphaned: true,
                            },
                        );
                        self.orphaned_open += 1;
                    }
                }
                if counting {
                    self.c.orphaned += 1;
                    let org = org.clone();
                    self.org_stats(&org);
                    self.peak_open = self.peak_open.max(self.open.len() as u64);
                }
            }
            Kind::DeallocFailed { .. } => {
                if counting {
                    self.c.dealloc_failed += 1;
                }
            }
            Kind::GatewayReady { gateway } => {
                let key = gateway_key(gateway.as_deref(), ev.origin.input);
                self.recycling.remove(&key);
                if counting {
                    self.c.gateway_ready += 1;
                }
            }
            Kind::IdleShutdown { gateway, .. } => {
                self.recycling
                    .insert(gateway_key(gateway.as_deref(), ev.origin.input));
                if counting {
                    self.c.idle_shutdowns += 1;
                }
            }
            Kind::PoolSnapshot {
                total,
                used,
                ready,
                unused_not_ready,
            } => {
                self.snapshot = Some((
                    t,
                    Snapshot {
                        total: *total,
                        used: *used,
                        ready: *ready,
                        unused_not_ready: *unused_not_ready,
                    },
                ));
                if counting {
                    self.c.snapshots += 1;
                }
            }
        }
    }

    /// The report of the window so far. `read` holds the read-side counts.
    pub fn report(&self, read: &ReadStats) -> Report {
        let c = &self.c;
        let end = self.now.filter(|_| self.first.is_some());
        let held_now = |o: &Open| end.map_or(0, |e| (e - o.start).max(0));
        // Seconds held per org, open allocations counted up to the end of the window.
        let mut orgs: Vec<report::OrgFigures> = self
            .orgs
            .iter()
            .map(|(org, s)| {
                let open_ms = self.open.get(org).map_or(0, held_now);
                report::OrgFigures {
                    org: org.clone(),
                    allocated: s.allocated,
                    failed: s.failed,
                    held_s: (s.held_ms + open_ms) as f64 / 1000.0,
                }
            })
            .collect();
        orgs.sort_by(|a, b| {
            b.allocated
                .cmp(&a.allocated)
                .then_with(|| a.org.cmp(&b.org))
        });
        orgs.truncate(10);
        let other = self.other_orgs.then(|| {
            let open_ms: i64 = self
                .open
                .iter()
                .filter(|(o, _)| !self.orgs.contains_key(*o))
                .map(|(_, o)| held_now(o))
                .sum();
            report::OrgFigures {
                org: "other".into(),
                allocated: self.other.allocated,
                failed: self.other.failed,
                held_s: (self.other.held_ms + open_ms) as f64 / 1000.0,
            }
        });
        let mut open_longest: Vec<report::OpenAllocation> = self
            .open
            .iter()
            .map(|(org, o)| report::OpenAllocation {
                org: org.clone(),
                gateway: o.gateway.clone(),
                since: fmt_time(o.start),
                held_s: held_now(o) as f64 / 1000.0,
                orphaned: o.orphaned,
            })
            .collect();
        open_longest.sort_by(|a, b| {
            b.held_s
                .total_cmp(&a.held_s)
                .then_with(|| a.org.cmp(&b.org))
        });
        open_longest.truncate(10);
        let total = self.total();
        Report {
            schema: report::SCHEMA.into(),
            window: report::Window {
                start: self.first.map(fmt_time),
                end: end.map(fmt_time),
            },
            lines: report::Lines {
                read: read.lines,
                matched: c.matched,
                skipped: read.skipped,
            },
            pool: report::PoolFigures {
                total,
                total_source: self.total_source().into(),
                allocated: self.allocated(),
                available: self.available(),
                recycling: self.recycling.len() as u64,
                orphaned: self.orphaned_open,
                peak_allocated: self.peak_open,
                utilization: self.utilization(),
                utilization_mean: (self.known_ms > 0)
                    .then(|| self.util_area / self.known_ms as f64),
                last_snapshot: self.snapshot.map(|(t, s)| report::SnapshotRecord {
                    time: fmt_time(t),
                    total: s.total,
                    used: s.used,
                    ready: s.ready,
                    unused_not_ready: s.unused_not_ready,
                }),
            },
            allocations: report::Allocations {
                attempts: c.attempts,
                allocated: c.allocated,
                reused: c.reused,
                failed: c.failed,
                failure_rate: if c.attempts > 0 {
                    c.failed as f64 / c.attempts as f64
                } else {
                    0.0
                },
                failures_by_reason: report::FailuresByReason {
                    no_gateway_available: c.by_reason[Reason::NoGatewayAvailable as usize],
                    health_check: c.by_reason[Reason::HealthCheck as usize],
                    init: c.by_reason[Reason::Init as usize],
                    other: c.by_reason[Reason::Other as usize],
                },
                rollbacks: c.rollbacks,
                orphaned: c.orphaned,
                deallocated: c.deallocated,
                open: self.open.len() as u64,
                dealloc_failed: c.dealloc_failed,
            },
            durations_s: self.durations.summary(1000.0),
            exhaustion: report::Exhaustion {
                failures: c.exhaustion_failures,
                episodes: c.exhaustion_episodes,
                exhausted_s: (total.is_some() && self.first.is_some())
                    .then(|| self.exhausted_ms as f64 / 1000.0),
            },
            rate: self.rates(),
            orgs: report::Orgs {
                distinct: self.orgs.len() as u64,
                top: orgs,
                other,
            },
            anomalies: report::Anomalies {
                dealloc_without_alloc: c.dealloc_without_alloc,
                double_alloc: c.double_alloc,
                time_backwards: read.time_backwards,
            },
            alerts: Vec::new(),
            startup_ms: self.startup.summary(1.0),
            open_longest,
            longest: self
                .longest
                .iter()
                .map(|(ms, org, gateway, start)| report::OpenAllocation {
                    org: org.clone(),
                    gateway: gateway.clone(),
                    since: fmt_time(*start),
                    held_s: *ms as f64 / 1000.0,
                    orphaned: false,
                })
                .collect(),
        }
    }

    /// Per-hour and per-day buckets, contiguous over the window (zeros included), or only the
    /// non-empty ones when the window is longer than ten years (broken timestamps).
    fn rates(&self) -> report::Rate {
        let (Some(first), Some(end)) = (self.first, self.now) else {
            return report::Rate::default();
        };
        let bucket = |start: Millis, (a, f): (u64, u64)| report::Bucket {
            start: fmt_time(start),
            allocated: a,
            failed: f,
        };
        let (h0, h1) = (first.div_euclid(HOUR), end.div_euclid(HOUR));
        let contiguous = h1 - h0 <= 10 * 366 * 24;
        let per_hour = if contiguous {
            (h0..=h1)
                .map(|h| bucket(h * HOUR, self.per_hour.get(&h).copied().unwrap_or_default()))
                .collect()
        } else {
            self.per_hour
                .iter()
                .map(|(h, v)| bucket(h * HOUR, *v))
                .collect()
        };
        let mut days: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
        for (h, (a, f)) in &self.per_hour {
            let d = days.entry((h * HOUR).div_euclid(DAY)).or_default();
            d.0 += a;
            d.1 += f;
        }
        let (d0, d1) = (first.div_euclid(DAY), end.div_euclid(DAY));
        let per_day = if contiguous {
            (d0..=d1)
                .map(|d| bucket(d * DAY, days.get(&d).copied().unwrap_or_default()))
                .collect()
        } else {
            days.iter().map(|(d, v)| bucket(d * DAY, *v)).collect()
        };
        report::Rate { per_hour, per_day }
    }
}

/// Which gateway a gateway-side line is about: the emitter named by the transport, else the
/// input it was read from (one file per gateway container).
fn gateway_key(emitter: Option<&str>, input: u32) -> String {
    match emitter {
        Some(g) => g.to_owned(),
        None => format!("input#{input}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Origin;

    const T0: Millis = 1_772_600_400_000; // 2026-03-04T05:00:00Z, on an hour

    fn ev(secs: i64, kind: Kind) -> Event {
        Event {
            time: T0 + secs * 1000,
            kind,
            origin: Origin { input: 0, line: 1 },
            raw: String::new(),
        }
    }

    fn alloc(org: &str) -> Kind {
        Kind::Allocated {
            org: org.into(),
            gateway: format!("gw-{org}"),
            port: Some(7100),
        }
    }

    fn dealloc(org: &str) -> Kind {
        Kind::Deallocated {
            org: org.into(),
            gateway: "uuid".into(),
            duration_s: None,
        }
    }

    fn pool(size: Option<u64>) -> Pool {
        Pool::new(PoolConfig {
            pool_size: size,
            max_orgs: 100,
        })
    }

    fn apply(p: &mut Pool, secs: i64, kind: Kind) -> Event {
        let mut e = ev(secs, kind);
        p.apply(&mut e);
        e
    }

    #[test]
    fn durations_and_the_join_by_organization() {
        let mut p = pool(Some(4));
        apply(&mut p, 0, alloc("a"));
        apply(&mut p, 10, alloc("b"));
        let e = apply(&mut p, 70, dealloc("a"));
        assert_eq!(
            e.kind,
            Kind::Deallocated {
                org: "a".into(),
                gateway: "uuid".into(),
                duration_s: Some(70.0)
            }
        );
        let e = apply(
            &mut p,
            100,
            Kind::Rollback {
                org: "b".into(),
                gateway: "g".into(),
                duration_s: None,
            },
        );
        assert!(matches!(e.kind, Kind::Rollback { duration_s: Some(d), .. } if d == 90.0));
        let r = p.report(&ReadStats::default());
        assert_eq!(r.durations_s.count, 2);
        assert_eq!(r.durations_s.max, 90.0);
        assert_eq!(r.allocations.open, 0);
        assert_eq!(r.pool.peak_allocated, 2);
        assert_eq!(r.pool.available, Some(4));
    }

    #[test]
    fn anomalies_do_not_break_the_state() {
        let mut p = pool(Some(4));
        apply(&mut p, 0, dealloc("ghost"));
        apply(&mut p, 1, alloc("a"));
        apply(&mut p, 2, alloc("a")); // second allocation for a holder
        apply(&mut p, 50, dealloc("a"));
        let r = p.report(&ReadStats::default());
        assert_eq!(r.anomalies.dealloc_without_alloc, 1);
        assert_eq!(r.anomalies.double_alloc, 1);
        assert_eq!(
            r.durations_s.count, 1,
            "the replaced allocation has no known end"
        );
        assert_eq!(r.durations_s.max, 48.0);
        assert_eq!(r.pool.allocated, 0);
    }

    #[test]
    fn orphans_stay_out_of_the_pool_until_deallocated() {
        let mut p = pool(Some(3));
        apply(&mut p, 0, alloc("a"));
        let orphan = |org: &str| Kind::Orphaned {
            org: org.into(),
            error: "Cleanup failed".into(),
        };
        apply(&mut p, 5, orphan("a"));
        apply(&mut p, 6, orphan("z")); // no allocation seen: the orphan opens one
        let r = p.report(&ReadStats::default());
        assert_eq!(
            (r.pool.allocated, r.pool.orphaned, r.pool.available),
            (0, 2, Some(1))
        );
        assert_eq!(r.allocations.open, 2);
        assert_eq!(r.pool.peak_allocated, 2);
        apply(&mut p, 100, dealloc("a"));
        let r = p.report(&ReadStats::default());
        assert_eq!((r.pool.orphaned, r.pool.available), (1, Some(2)));
        assert_eq!(r.durations_s.max, 100.0);
    }

    #[test]
    fn total_from_config_else_latest_snapshot_else_unknown() {
        let mut p = pool(None);
        apply(&mut p, 0, alloc("a"));
        let r = p.report(&ReadStats::default());
        assert_eq!(
            (r.pool.total, r.pool.total_source.as_str()),
            (None, "unknown")
        );
        assert_eq!(r.pool.available, None);
        assert_eq!(r.pool.utilization, None);
        assert_eq!(r.pool.utilization_mean, None);
        assert_eq!(r.exhaustion.exhausted_s, None);
        let snap = |total| Kind::PoolSnapshot {
            total,
            used: 1,
            ready: total - 1,
            unused_not_ready: 0,
        };
        apply(&mut p, 100, snap(2));
        apply(&mut p, 200, snap(4));
        let r = p.report(&ReadStats::default());
        assert_eq!(
            (r.pool.total, r.pool.total_source.as_str()),
            (Some(4), "snapshot")
        );
        // Known for 100 s: 50 s at 1/2, then 0 s more (the window ends at the last event).
        assert_eq!(r.pool.utilization_mean, Some(0.5));
        let mut c = pool(Some(8));
        apply(&mut c, 0, snap(2));
        assert_eq!(c.total(), Some(8));
        assert_eq!(c.total_source(), "config");
    }

    #[test]
    fn exhaustion_episodes_and_time_without_a_free_gateway() {
        let mut p = pool(Some(1));
        let refuse = |org: &str| Kind::AllocFailed {
            org: org.into(),
            reason: Reason::NoGatewayAvailable,
            message: "no_gateway_available".into(),
        };
        apply(&mut p, 0, alloc("a"));
        apply(&mut p, 10, refuse("b"));
        apply(&mut p, 20, refuse("c"));
        apply(&mut p, 30, dealloc("a"));
        apply(&mut p, 40, alloc("b"));
        apply(&mut p, 50, refuse("c"));
        apply(&mut p, 60, dealloc("b"));
        let r = p.report(&ReadStats::default());
        assert_eq!((r.exhaustion.failures, r.exhaustion.episodes), (3, 2));
        assert_eq!(r.exhaustion.exhausted_s, Some(50.0));
        assert_eq!(r.allocations.failures_by_reason.no_gateway_available, 3);
        assert_eq!(r.pool.utilization_mean, Some(50.0 / 60.0));
    }

    #[test]
    fn time_going_backwards_never_runs_the_clock_back() {
        let mut p = pool(Some(2));
        apply(&mut p, 100, alloc("a"));
        apply(&mut p, 50, dealloc("a"));
        let r = p.report(&ReadStats::default());
        assert_eq!(r.durations_s.max, 0.0, "a negative duration is clamped");
        assert_eq!(p.now, Some(T0 + 100_000));
    }

    #[test]
    fn recycling_gateways_between_shutdown_and_ready() {
        let mut p = pool(None);
        let idle = |g: &str| Kind::IdleShutdown {
            gateway: Some(g.into()),
            idle_ms: 1_800_000,
        };
        let ready = |g: &str| Kind::GatewayReady {
            gateway: Some(g.into()),
        };
        apply(&mut p, 0, idle("gw-pool-1"));
        apply(&mut p, 1, idle("gw-pool-2"));
        apply(&mut p, 2, ready("gw-pool-1"));
        assert_eq!(p.recycling.len(), 1);
        // Without an emitter, the input names the gateway (one file per container).
        let mut e = ev(
            3,
            Kind::IdleShutdown {
                gateway: None,
                idle_ms: 1,
            },
        );
        e.origin.input = 7;
        p.apply(&mut e);
        assert!(p.recycling.contains("input#7"));
    }

    #[test]
    fn organizations_beyond_the_limit_are_folded() {
        let mut p = Pool::new(PoolConfig {
            pool_size: Some(10),
            max_orgs: 2,
        });
        for (i, o) in ["a", "b", "c", "d"].iter().enumerate() {
            apply(&mut p, i as i64, alloc(o));
        }
        let r = p.report(&ReadStats::default());
        assert_eq!(r.orgs.distinct, 2);
        let other = r.orgs.other.expect("folded");
        assert_eq!(other.allocated, 2);
        assert_eq!(r.orgs.top.len(), 2);
    }

    #[test]
    fn rates_are_contiguous_utc_hours() {
        let mut p = pool(Some(2));
        apply(&mut p, 0, alloc("a"));
        apply(&mut p, 3 * 3600 + 5, alloc("b"));
        let r = p.report(&ReadStats::default());
        let hours: Vec<(String, u64)> = r
            .rate
            .per_hour
            .iter()
            .map(|b| (b.start.clone(), b.allocated))
            .collect();
        assert_eq!(
            hours,
            vec![
                ("2026-03-04T05:00:00.000Z".into(), 1),
                ("2026-03-04T06:00:00.000Z".into(), 0),
                ("2026-03-04T07:00:00.000Z".into(), 0),
                ("2026-03-04T08:00:00.000Z".into(), 1)
            ]
        );
        assert_eq!(r.rate.per_day.len(), 1);
        assert_eq!(r.rate.per_day[0].allocated, 2);
    }

    #[test]
    fn warm_up_before_since_rebuilds_state_without_counting() {
        let mut p = pool(Some(4));
        p.counting = false;
        apply(&mut p, 0, alloc("a"));
        p.start_counting(T0 + 60_000);
        apply(&mut p, 120, dealloc("a"));
        let r = p.report(&ReadStats::default());
        assert_eq!(r.allocations.allocated, 0, "before --since: not counted");
        assert_eq!(r.allocations.deallocated, 1);
        assert_eq!(
            r.durations_s.max, 120.0,
            "but the allocation's start is known"
        );
        assert_eq!(r.window.start.as_deref(), Some("2026-03-04T05:01:00.000Z"));
        assert_eq!(r.anomalies.dealloc_without_alloc, 0);
    }
}
