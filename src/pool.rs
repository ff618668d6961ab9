//! Pool model: applies events in time order and keeps the pool's state and every metric of
//! DESIGN.md §3, the gateways one by one ([`gateways`]: identity, restarts, handouts of restarting
//! gateways) and the events it derives (`gateway_down`, `gateway_up`, `pool_status`). No I/O and
//! no wall clock: the same events always give the same state, whichever command consumes them.

use std::collections::BTreeMap;

use foldhash::HashMap;

use serde::{Deserialize, Serialize};

use crate::event::{DownCause, Event, Kind, Millis, Reason, Snapshot};
use history::{Composition, History};

mod dist;
pub mod gateways;
pub mod history;
mod marks;

pub use dist::Dist;
pub use gateways::{Gateways, OUTCOMES, RESTART_BUCKETS_S, Transition};

pub const HOUR: Millis = 3_600_000;

/// Upper bounds (seconds) of the exported allocation-duration histogram: minutes to days.
pub const DURATION_BUCKETS_S: [f64; 14] = [
    30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 43200.0, 86400.0, 172800.0,
    345600.0, 604800.0,
];
pub const DAY: Millis = 24 * HOUR;

/// What a `pool_status` event says: allocated, orphaned, recycling, available, total.
type StatusFigures = (u64, u64, Option<u64>, Option<i64>, Option<u64>);

/// Settings that change what the model reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolConfig {
    /// Pool size given by the operator; else the latest snapshot's total.
    pub pool_size: Option<u64>,
    /// Organizations tracked one by one; the rest are folded into `other`.
    pub max_orgs: usize,
    /// A silence longer than this without a lifecycle event is a gap of the history
    /// (`pool.gap_after`).
    pub gap_ms: Millis,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            pool_size: None,
            max_orgs: 10_000,
            gap_ms: 2 * HOUR,
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
#[serde(default)]
pub struct OrgStats {
    pub allocated: u64,
    pub failed: u64,
    pub held_ms: i64,
    /// Requests refused with `no_gateway_available`.
    pub refused: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
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
    /// A container allocated while the model had it held by another organization: that
    /// allocation ended unseen.
    pub gateway_reassigned: u64,
    /// Moments allocated + orphaned rose above the known total.
    pub overcommitted: u64,
    /// Open allocations dropped from the model to keep it bounded (the oldest, beyond
    /// `--max-orgs` open at once: a log without deallocation lines).
    #[serde(default)]
    pub open_folded: u64,
}

/// How the model compares with the pool snapshots (`gateway-stats`): a difference seen at
/// two snapshots in a row is a lasting one (one alone may be a snapshot taken while lines were
/// on their way).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Drift {
    /// Snapshots compared with the model.
    pub compared: u64,
    /// Snapshots whose difference lasted from the one before.
    pub lasting: u64,
    /// The difference (model − snapshot, in gateways held) at the latest snapshot.
    pub last: i64,
    /// The largest lasting difference, and when it was seen.
    pub largest: i64,
    pub largest_at: Option<Millis>,
}

/// The pool over event time.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Pool {
    pub cfg: PoolConfig,
    /// Open allocations by organization (an organization holds at most one).
    pub open: HashMap<String, Open>,
    pub orphaned_open: u64,
    pub snapshot: Option<(Millis, Snapshot)>,
    /// The gateways: identities, restarts, figures per gateway.
    pub gateways: Gateways,
    /// Whether events are counted (false while warming up before `--since`).
    pub counting: bool,
    /// Window of counted events.
    pub first: Option<Millis>,
    pub now: Option<Millis>,
    /// (Named `c` in `gwmon check` state files written before the rename.)
    #[serde(rename = "c")]
    pub counters: Counters,
    pub durations: Dist,
    pub startup: Dist,
    pub peak_open: u64,
    pub in_episode: bool,
    /// Time-weighted integrals over the window, where the total is known.
    pub exhausted_ms: i64,
    pub util_area: f64,
    pub known_ms: i64,
    /// Σ allocated × ms and Σ orphaned × ms over the window, known total or not (the exported
    /// `gwmon_pool_*_gateway_seconds_total` counters).
    pub allocated_gw_ms: i64,
    pub orphaned_gw_ms: i64,
    /// Those integrals run to here when a live clock took them past the last event
    /// ([`Pool::integrate_to`]).
    pub integrated_to: Option<Millis>,
    pub per_hour: BTreeMap<i64, (u64, u64)>,
    pub orgs: HashMap<String, OrgStats>,
    pub other: OrgStats,
    pub other_orgs: bool,
    /// Completed allocations per duration bucket ([`DURATION_BUCKETS_S`], then +Inf), for the
    /// exported histogram (exact counts, not derived from the HDR histogram).
    pub duration_buckets: Vec<u64>,
    /// The ten longest completed allocations: (held ms, org, gateway, start).
    pub longest: Vec<(i64, String, String, Millis)>,
    /// Which organization holds each named container (a container is held by one organization
    /// at a time).
    pub holders: HashMap<String, String>,
    /// allocated + orphaned is above the known total now.
    pub overcommitted: bool,
    pub drift: Drift,
    /// What the model noticed about the log (an allocation ended unseen), told with `-v`.
    #[serde(skip)]
    pub notes: Vec<String>,
    #[serde(skip)]
    pub keep_notes: bool,
    /// Events the model derives from the last one applied (`gateway_down`, `gateway_up`,
    /// `pool_status`), kept for `gwmon events` when asked.
    #[serde(skip)]
    pub derived: Vec<Kind>,
    #[serde(skip)]
    pub keep_derived: bool,
    /// The figures of the last `pool_status`.
    #[serde(skip)]
    last_status: Option<StatusFigures>,
    /// Per hour and spans, for charts (not carried across `gwmon check` runs).
    #[serde(skip)]
    pub history: History,
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

    /// Gateways the allocator can hand out: total − allocated − orphaned, never below 0 (a
    /// model holding more than the pool is inconsistent, not a negative pool).
    pub fn available(&self) -> Option<i64> {
        self.total()
            .map(|t| (t as i64 - self.open.len() as i64).max(0))
    }

    /// Whether the model fits the pool: allocated + orphaned within the known total.
    pub fn consistent(&self) -> bool {
        self.total().is_none_or(|t| self.open.len() as u64 <= t)
    }

    /// allocated / total, at most 1.
    pub fn utilization(&self) -> Option<f64> {
        self.total()
            .filter(|t| *t > 0)
            .map(|t| (self.allocated() as f64 / t as f64).min(1.0))
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
                area += (self.allocated() as f64 / total as f64).min(1.0) * dt as f64;
            }
        }
        (area, known)
    }

    /// The event-time integrals (allocated gateway-ms, orphaned gateway-ms, exhausted ms),
    /// extended from where they were integrated to `t` when `t` is later: the state holds until
    /// the next event. A clock `t` never earlier than the next event's time keeps them monotonic.
    pub fn integrals_at(&self, t: Millis) -> (i64, i64, i64) {
        let (mut a, mut o, mut e) = (self.allocated_gw_ms, self.orphaned_gw_ms, self.exhausted_ms);
        if let Some(from) = self.integrated_from()
            && t > from
            && self.counting
        {
            let dt = t - from;
            a += self.allocated() as i64 * dt;
            o += self.orphaned_open as i64 * dt;
            if self.available().is_some_and(|x| x <= 0) {
                e += dt;
            }
        }
        (a, o, e)
    }

    /// Where the integrals of [`Pool::integrals_at`] stand: the last event, or the live clock
    /// they were taken to.
    fn integrated_from(&self) -> Option<Millis> {
        self.now.map(|n| n.max(self.integrated_to.unwrap_or(n)))
    }

    /// Take the integrals to the live clock `t` (a live run publishing them): they never go
    /// back, and an event written before `t` but read after it counts from `t`.
    pub fn integrate_to(&mut self, t: Millis) {
        let (a, o, e) = self.integrals_at(t);
        if self.integrated_from().is_some_and(|f| t > f) && self.counting {
            (self.allocated_gw_ms, self.orphaned_gw_ms, self.exhausted_ms) = (a, o, e);
            self.integrated_to = Some(t);
        }
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
            let c = self.composition();
            self.history.integrate(now, t, c);
            // (From where a live clock already took them.)
            let idt = t - now.max(self.integrated_to.unwrap_or(now));
            if idt > 0 {
                self.allocated_gw_ms += self.allocated() as i64 * idt;
                self.orphaned_gw_ms += self.orphaned_open as i64 * idt;
            }
            if let Some(total) = self.total() {
                self.known_ms += dt;
                if total > 0 {
                    self.util_area += (self.allocated() as f64 / total as f64).min(1.0) * dt as f64;
                }
                if self.available().is_some_and(|a| a <= 0) && idt > 0 {
                    self.exhausted_ms += idt;
                }
            }
        }
        self.now = Some(t);
    }

    /// Keep the open allocations bounded: beyond `max_orgs` at once (deallocations missing
    /// from the log, hostile input), the oldest tenth is dropped and counted (amortized: one
    /// pass per tenth).
    fn bound_open(&mut self) {
        let cap = self.cfg.max_orgs.max(1);
        if self.open.len() <= cap {
            return;
        }
        let drop = (cap / 10).max(1);
        let mut starts: Vec<Millis> = self.open.values().map(|o| o.start).collect();
        let (_, cutoff, _) = starts.select_nth_unstable(drop - 1);
        let cutoff = *cutoff;
        let oldest: Vec<String> = self
            .open
            .iter()
            .filter(|(_, o)| o.start <= cutoff)
            .map(|(k, _)| k.clone())
            .take(drop)
            .collect();
        for org in oldest {
            self.close(&org);
            self.counters.open_folded += 1;
        }
    }

    /// The pool's figures now, for the history.
    fn composition(&self) -> Composition {
        Composition {
            allocated: self.allocated(),
            orphaned: self.orphaned_open,
            recycling: self.recycling(),
            available: self.available(),
            total: self.total(),
        }
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

    /// Take the organization's open allocation out of the model (it ended, or was replaced).
    fn close(&mut self, org: &str) -> Option<Open> {
        let o = self.open.remove(org)?;
        if o.orphaned {
            self.orphaned_open -= 1;
        }
        if self.holders.get(&o.gateway).is_some_and(|h| h == org) {
            self.holders.remove(&o.gateway);
        }
        Some(o)
    }

    /// A container name that identifies one gateway (not the literal `null`, not empty).
    fn named(gateway: &str) -> bool {
        !gateway.is_empty() && gateway != "null"
    }

    /// Note an overcommitted pool when it starts (allocated + orphaned above the total).
    fn check_overcommit(&mut self) {
        let over = !self.consistent();
        if over && !self.overcommitted && self.counting {
            self.counters.overcommitted += 1;
        }
        self.overcommitted = over;
    }

    fn end_allocation(&mut self, org: &str, t: Millis) -> Option<f64> {
        let Some(o) = self.close(org) else {
            if self.counting {
                self.counters.dealloc_without_alloc += 1;
            }
            return None;
        };
        let ms = (t - o.start).max(0);
        if self.counting {
            self.durations.record(ms);
            let b = DURATION_BUCKETS_S.partition_point(|le| (*le * 1000.0) < ms as f64);
            if self.duration_buckets.len() != DURATION_BUCKETS_S.len() + 1 {
                self.duration_buckets = vec![0; DURATION_BUCKETS_S.len() + 1];
            }
            self.duration_buckets[b] += 1;
            self.org_stats(org).held_ms += ms;
            if Self::named(&o.gateway)
                && let Some(g) = self.gateways.get(&o.gateway)
            {
                g.held_ms += ms;
            }
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
            self.counters.matched += 1;
            self.history.event(t, self.cfg.gap_ms);
        }
        match &mut ev.kind {
            Kind::AllocAttempt { org } => {
                if counting {
                    self.counters.attempts += 1;
                    let org = org.clone();
                    self.org_stats(&org);
                }
            }
            Kind::Allocated {
                org,
                gateway,
                gateway_id,
                recycling,
                ..
            } => {
                if self.close(org.as_str()).is_some() && counting {
                    self.counters.double_alloc += 1;
                }
                if Self::named(gateway) {
                    *recycling = self.gateways.allocated(gateway, org, counting);
                    *gateway_id = self.gateways.id_of(gateway).map(str::to_owned);
                }
                if Self::named(gateway) {
                    // The container is held by one organization at a time: an earlier holder
                    // whose end the log did not show (a gap, lost lines) ended unseen — not a
                    // completed duration.
                    if let Some(prev) = self.holders.get(gateway.as_str()).cloned()
                        && prev != *org
                        && let Some(o) = self.close(&prev)
                    {
                        if counting {
                            self.counters.gateway_reassigned += 1;
                        }
                        let (gw, to) = (gateway.clone(), org.clone());
                        let since = crate::units::fmt_time(o.start);
                        let note = move || {
                            format!(
                                "{gw} allocated to org {to} while held by org {prev} since {since}: that allocation ended unseen"
                            )
                        };
                        if self.keep_notes {
                            let line = ev.origin.line;
                            self.notes.push(format!("line {line}: {}", note()));
                        }
                    }
                    self.holders.insert(gateway.clone(), org.clone());
                }
                self.open.insert(
                    org.clone(),
                    Open {
                        start: t,
                        gateway: gateway.clone(),
                        orphaned: false,
                    },
                );
                self.bound_open();
                self.in_episode = false;
                if counting {
                    self.history.allocated(t);
                    self.counters.allocated += 1;
                    let org = org.clone();
                    self.org_stats(&org).allocated += 1;
                    self.bump_hour(t, 1, 0);
                    self.peak_open = self.peak_open.max(self.open.len() as u64);
                }
            }
            Kind::Reused { org } => {
                if counting {
                    self.history.reused(t);
                    self.counters.reused += 1;
                    let org = org.clone();
                    self.org_stats(&org);
                }
            }
            Kind::AllocReady {
                org,
                gateway,
                gateway_id,
                startup_ms,
            } => {
                if let Some(o) = self.open.get(org.as_str()) {
                    let ms = (t - o.start).max(0);
                    *startup_ms = Some(ms);
                    let name = o.gateway.clone();
                    if counting {
                        self.startup.record(ms);
                        if Self::named(&name)
                            && let Some(g) = self.gateways.get(&name)
                        {
                            g.startup.record(ms);
                        }
                    }
                    self.name_event(&name, gateway, gateway_id);
                }
                self.gateways.outcome(org, None, counting);
                if counting {
                    self.counters.ready += 1;
                }
            }
            Kind::AllocFailed {
                org,
                reason,
                gateway,
                gateway_id,
                message,
            } => {
                if counting {
                    self.history.failed(t, *reason);
                    if *reason == Reason::NoGatewayAvailable {
                        self.history.refused(t, !self.in_episode);
                    } else {
                        self.history.error(t, reason.as_str(), message);
                    }
                }
                // A failure after an allocation is charged to the gateway the org held.
                if let Some(o) = self.open.get(org.as_str())
                    && *reason != Reason::NoGatewayAvailable
                {
                    let name = o.gateway.clone();
                    if counting
                        && Self::named(&name)
                        && let Some(g) = self.gateways.get(&name)
                    {
                        g.failures[*reason as usize] += 1;
                    }
                    self.name_event(&name, gateway, gateway_id);
                }
                if *reason != Reason::NoGatewayAvailable {
                    self.gateways.outcome(org, Some(*reason), counting);
                }
                if *reason == Reason::NoGatewayAvailable {
                    if counting {
                        self.counters.exhaustion_failures += 1;
                        if !self.in_episode {
                            self.counters.exhaustion_episodes += 1;
                        }
                    }
                    self.in_episode = true;
                }
                if counting {
                    self.counters.failed += 1;
                    self.counters.by_reason[*reason as usize] += 1;
                    let org = org.clone();
                    let refused = *reason == Reason::NoGatewayAvailable;
                    let s = self.org_stats(&org);
                    s.failed += 1;
                    s.refused += u64::from(refused);
                    self.bump_hour(t, 0, 1);
                }
            }
            Kind::Rollback {
                org,
                gateway,
                gateway_id,
                duration_s,
            } => {
                *gateway = self.identify(org, gateway_id);
                *duration_s = self.end_allocation(org, t);
                if let Some(name) = gateway.clone() {
                    self.mark_down(&name, t, DownCause::Rollback);
                }
                if counting {
                    self.counters.rollbacks += 1;
                }
            }
            Kind::Deallocated {
                org,
                gateway,
                gateway_id,
                duration_s,
            } => {
                *gateway = self.identify(org, gateway_id);
                *duration_s = self.end_allocation(org, t);
                if let Some(name) = gateway.clone() {
                    self.mark_down(&name, t, DownCause::Stop);
                }
                if counting {
                    self.counters.deallocated += 1;
                }
            }
            Kind::Orphaned { org, error } => {
                if counting {
                    self.history.error(t, "orphaned", error);
                }
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
                        self.bound_open();
                    }
                }
                if counting {
                    self.counters.orphaned += 1;
                    let org = org.clone();
                    self.org_stats(&org);
                    self.peak_open = self.peak_open.max(self.open.len() as u64);
                }
            }
            Kind::DeallocFailed { message, .. } => {
                if counting {
                    self.history.error(t, "dealloc_failed", message);
                    self.counters.dealloc_failed += 1;
                }
            }
            Kind::GatewayReady { .. }
            | Kind::IdleShutdown { .. }
            | Kind::GatewayShutdown { .. }
            | Kind::GatewayInitialized { .. }
            | Kind::GatewayReleased { .. } => {
                self.own_line(&mut ev.kind, ev.origin.input, t);
            }
            // Derived events are not applied.
            Kind::GatewayDown { .. } | Kind::GatewayUp { .. } | Kind::PoolStatus { .. } => {}
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
                    self.counters.snapshots += 1;
                    self.compare(*used, t);
                }
            }
        }
        self.check_overcommit();
        self.status();
    }

    /// Compare the model with a snapshot's count of gateways in use.
    fn compare(&mut self, used: u64, t: Millis) {
        let diff = self.open.len() as i64 - used as i64;
        let d = &mut self.drift;
        let lasting = diff != 0 && d.compared > 0 && d.last != 0;
        d.compared += 1;
        d.last = diff;
        if lasting {
            d.lasting += 1;
            if diff.abs() > d.largest.abs() {
                d.largest = diff;
                d.largest_at = Some(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Origin;

    /// The report's figures of the pool (the builder lives in the report stage).
    fn report(p: &Pool) -> crate::report::Report {
        crate::report::build(p, &Default::default())
    }

    const T0: Millis = 1_772_600_400_000; // 2026-03-04T05:00:00Z, on an hour

    fn ev(secs: i64, kind: Kind) -> Event {
        Event {
            time: T0 + secs * 1000,
            kind,
            origin: Origin { input: 0, line: 1 },
            stream: None,
            raw: String::new(),
        }
    }

    fn alloc(org: &str) -> Kind {
        Kind::Allocated {
            org: org.into(),
            gateway: format!("gw-{org}"),
            port: Some(7100),
            gateway_id: None,
            recycling: false,
        }
    }

    fn dealloc(org: &str) -> Kind {
        Kind::Deallocated {
            org: org.into(),
            gateway: None,
            gateway_id: "uuid".into(),
            duration_s: None,
        }
    }

    fn pool(size: Option<u64>) -> Pool {
        Pool::new(PoolConfig {
            pool_size: size,
            max_orgs: 100,
            ..PoolConfig::default()
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
                gateway: Some("gw-a".into()),
                gateway_id: "uuid".into(),
                duration_s: Some(70.0)
            },
            "the join names the container the UUID is"
        );
        assert_eq!(p.gateways.name_of("uuid"), Some("gw-a"));
        let e = apply(
            &mut p,
            100,
            Kind::Rollback {
                org: "b".into(),
                gateway: None,
                gateway_id: "g".into(),
                duration_s: None,
            },
        );
        assert!(matches!(e.kind, Kind::Rollback { duration_s: Some(d), .. } if d == 90.0));
        let r = report(&p);
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
        let r = report(&p);
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
        let r = report(&p);
        assert_eq!(
            (r.pool.allocated, r.pool.orphaned, r.pool.available),
            (0, 2, Some(1))
        );
        assert_eq!(r.allocations.open, 2);
        assert_eq!(r.pool.peak_allocated, 2);
        apply(&mut p, 100, dealloc("a"));
        let r = report(&p);
        assert_eq!((r.pool.orphaned, r.pool.available), (1, Some(2)));
        assert_eq!(r.durations_s.max, 100.0);
    }

    #[test]
    fn total_from_config_else_latest_snapshot_else_unknown() {
        let mut p = pool(None);
        apply(&mut p, 0, alloc("a"));
        let r = report(&p);
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
        let r = report(&p);
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
            gateway: None,
            gateway_id: None,
        };
        apply(&mut p, 0, alloc("a"));
        apply(&mut p, 10, refuse("b"));
        apply(&mut p, 20, refuse("c"));
        apply(&mut p, 30, dealloc("a"));
        apply(&mut p, 40, alloc("b"));
        apply(&mut p, 50, refuse("c"));
        apply(&mut p, 60, dealloc("b"));
        let r = report(&p);
        assert_eq!((r.exhaustion.failures, r.exhaustion.episodes), (3, 2));
        assert_eq!(r.exhaustion.exhausted_s, Some(50.0));
        assert_eq!(r.allocations.failures_by_reason.no_gateway_available, 3);
        assert_eq!(r.pool.utilization_mean, Some(50.0 / 60.0));
    }

    #[test]
    fn event_time_integrals_match_the_time_weighted_mean() {
        let mut p = pool(Some(2));
        apply(&mut p, 0, alloc("a"));
        apply(&mut p, 10, alloc("b"));
        apply(
            &mut p,
            20,
            Kind::Orphaned {
                org: "b".into(),
                error: "Cleanup failed".into(),
            },
        );
        apply(&mut p, 40, dealloc("a"));
        apply(&mut p, 60, dealloc("b"));
        // allocated: 1 over [0,10), 2 over [10,20), 1 over [20,40); orphaned: 1 over [20,60);
        // none available over [10,40).
        assert_eq!(p.integrals_at(T0 + 60_000), (50_000, 40_000, 30_000));
        let r = report(&p);
        let mean = r.pool.utilization_mean.unwrap();
        assert!((p.allocated_gw_ms as f64 - mean * 2.0 * 60_000.0).abs() < 1e-6);
        // Extended to a later clock: the state holds (nothing open now), never earlier.
        apply(&mut p, 70, alloc("c"));
        assert_eq!(p.integrals_at(T0 + 100_000).0, 50_000 + 30_000);
        assert_eq!(p.integrals_at(T0 + 50_000).0, 50_000);
        // A live clock takes them on; an event read later, written before it, counts from it.
        p.integrate_to(T0 + 90_000);
        assert_eq!(p.allocated_gw_ms, 50_000 + 20_000);
        p.integrate_to(T0 + 80_000);
        assert_eq!(p.allocated_gw_ms, 70_000);
        apply(&mut p, 85, dealloc("c"));
        assert_eq!(p.integrals_at(T0 + 200_000).0, 70_000);
        apply(&mut p, 100, alloc("d"));
        assert_eq!(p.integrals_at(T0 + 110_000).0, 80_000);
    }

    #[test]
    fn open_allocations_are_bounded_by_max_orgs() {
        let mut p = Pool::new(PoolConfig {
            pool_size: None,
            max_orgs: 20,
            ..PoolConfig::default()
        });
        let null = |i: usize| Kind::Allocated {
            org: format!("org-{i}"),
            gateway: "null".into(),
            port: None,
            gateway_id: None,
            recycling: false,
        };
        for i in 0..100 {
            apply(&mut p, i as i64, null(i));
        }
        assert!(p.open.len() <= 20, "{}", p.open.len());
        assert_eq!(p.counters.open_folded, 100 - p.open.len() as u64);
        // The newest are kept.
        assert!(p.open.contains_key("org-99") && !p.open.contains_key("org-0"));
    }

    #[test]
    fn time_going_backwards_never_runs_the_clock_back() {
        let mut p = pool(Some(2));
        apply(&mut p, 100, alloc("a"));
        apply(&mut p, 50, dealloc("a"));
        let r = report(&p);
        assert_eq!(r.durations_s.max, 0.0, "a negative duration is clamped");
        assert_eq!(p.now, Some(T0 + 100_000));
    }

    #[test]
    fn recycling_gateways_between_shutdown_and_ready() {
        let mut p = pool(None);
        let idle = |g: &str| Kind::IdleShutdown {
            gateway: Some(g.into()),
            idle_ms: 1_800_000,
            gateway_id: None,
        };
        let ready = |g: &str| Kind::GatewayReady {
            gateway: Some(g.into()),
            gateway_id: None,
        };
        apply(&mut p, 0, idle("gw-pool-1"));
        apply(&mut p, 1, idle("gw-pool-2"));
        apply(&mut p, 2, ready("gw-pool-1"));
        assert_eq!(p.gateways.recycling_now(), 1);
        // Without an emitter, the input names the gateway (one file per container).
        let mut e = ev(
            3,
            Kind::IdleShutdown {
                gateway: None,
                idle_ms: 1,
                gateway_id: None,
            },
        );
        e.origin.input = 7;
        p.apply(&mut e);
        assert!(p.gateways.by_name["input#7"].recycling());
        assert_eq!(p.gateways.recycling_now(), 2);
    }

    #[test]
    fn organizations_beyond_the_limit_are_folded() {
        let mut p = Pool::new(PoolConfig {
            pool_size: Some(10),
            max_orgs: 2,
            ..PoolConfig::default()
        });
        for (i, o) in ["a", "b", "c", "d"].iter().enumerate() {
            apply(&mut p, i as i64, alloc(o));
        }
        let r = report(&p);
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
        let r = report(&p);
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
        let r = report(&p);
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
