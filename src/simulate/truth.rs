//! The expected report of a simulated log, kept from the simulator's own decisions (which
//! allocation it made, when it ended, which org held what) as the lines are written, never by
//! reading the log back. Its JSON has the shape of `gwmon report --json` (DESIGN.md §4) without
//! `alerts`.

use std::collections::BTreeMap;

mod gateways;
mod schema;
pub use schema::*;

/// Failure reason classes, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    NoGatewayAvailable = 0,
    HealthCheck = 1,
    Init = 2,
    Other = 3,
}

#[derive(Clone, Debug, Default)]
struct OrgStat {
    seen: bool,
    allocated: u64,
    failed: u64,
    refused: u64,
    held_ms: i64,
    /// Start of the open allocation, if any.
    open_since: Option<i64>,
    /// The gateway of the open allocation, when its line named it (not `null`).
    named_gw: Option<usize>,
    /// A handout to a restarting gateway whose outcome is awaited.
    pending: bool,
}

/// A gateway as gwmon must see it.
#[derive(Clone, Debug, Default)]
struct GwStat {
    /// gwmon has heard of it (a named allocation, or one of its own lines).
    seen: bool,
    /// One of its own lines was written.
    side: bool,
    /// gwmon can know its UUID (its own lines name it, or a stop or rollback joined it).
    id_known: bool,
    allocations: u64,
    failures: [u64; 4],
    handouts: u64,
    startups: Vec<i64>,
    held_ms: i64,
    restarts: Vec<i64>,
    /// Its marks as written: recycling since a DOWN mark (whole: after an UP mark).
    down: Option<(i64, bool)>,
    was_up: bool,
}

/// Accumulates the ground truth while the simulator writes lines.
#[derive(Clone, Debug)]
pub struct Truth {
    pool_size: u32,
    org_ids: Vec<String>,
    orgs: Vec<OrgStat>,
    first: Option<i64>,
    last: i64,
    matched: u64,
    pub attempts: u64,
    pub allocated: u64,
    pub reused: u64,
    pub failed: u64,
    pub by_reason: [u64; 4],
    pub rollbacks: u64,
    pub orphaned_events: u64,
    pub deallocated: u64,
    pub dealloc_failed: u64,
    /// Pool state: open allocations that are not orphaned, and orphaned ones.
    cur_alloc: u32,
    cur_orph: u32,
    peak: u32,
    last_change: i64,
    /// ∫ allocated dt, in gateway·ms, in all and per UTC day.
    alloc_integral: i128,
    alloc_per_day: BTreeMap<i64, i128>,
    exhausted_ms: i64,
    durations_ms: Vec<i64>,
    episodes: u64,
    in_episode: bool,
    hours: BTreeMap<i64, [u64; 2]>,
    days: BTreeMap<i64, [u64; 2]>,
    last_snapshot: Option<(i64, [u64; 4])>,
    /// Incidents that gwmon's default rules alert on at once: (rule, org, fired, resolved).
    incidents: Vec<(&'static str, Option<usize>, i64, Option<i64>)>,
    /// The exhaustion incident in progress has been calm since this allocation (it ends
    /// `keep_firing_for` later, unless refusals come back first).
    exhaust_calm: Option<i64>,
    gw_names: Vec<String>,
    gw_ids: Vec<String>,
    gws: Vec<GwStat>,
    /// Gateway-side logs are written.
    side_logs: bool,
    handouts: u64,
    outcomes: [u64; 4],
    /// The gateways' own logs: events, and the span of their lines.
    gw_events: u64,
    gw_span: Option<(i64, i64)>,
}

/// gwmon's default `alerts.pool_exhausted.keep_firing_for` (a test holds them equal).
pub const EXHAUSTED_KEEP_FIRING_MS: i64 = 2 * 3_600_000;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

impl Truth {
    pub fn new(
        pool_size: u32,
        org_ids: Vec<String>,
        gateways: Vec<(String, String)>,
        side_logs: bool,
    ) -> Truth {
        let n = org_ids.len();
        let g = gateways.len();
        let (gw_names, gw_ids) = gateways.into_iter().unzip();
        Truth {
            pool_size,
            org_ids,
            orgs: vec![OrgStat::default(); n],
            first: None,
            last: 0,
            matched: 0,
            attempts: 0,
            allocated: 0,
            reused: 0,
            failed: 0,
            by_reason: [0; 4],
            rollbacks: 0,
            orphaned_events: 0,
            deallocated: 0,
            dealloc_failed: 0,
            cur_alloc: 0,
            cur_orph: 0,
            peak: 0,
            last_change: 0,
            alloc_integral: 0,
            alloc_per_day: BTreeMap::new(),
            exhausted_ms: 0,
            durations_ms: Vec::new(),
            episodes: 0,
            in_episode: false,
            hours: BTreeMap::new(),
            days: BTreeMap::new(),
            last_snapshot: None,
            incidents: Vec::new(),
            exhaust_calm: None,
            gw_names,
            gw_ids,
            gws: vec![GwStat::default(); g],
            side_logs,
            handouts: 0,
            outcomes: [0; 4],
            gw_events: 0,
            gw_span: None,
        }
    }

    /// Every event: window, matched count.
    fn event(&mut self, t: i64) {
        if self.first.is_none() {
            self.first = Some(t);
            self.last_change = t;
        }
        debug_assert!(t >= self.last, "events must be written in time order");
        self.last = t;
        self.matched += 1;
    }

    fn org_event(&mut self, org: usize, t: i64) {
        self.event(t);
        self.orgs[org].seen = true;
    }

    /// Integrate the pool state up to `t` (the state changes at `t`).
    fn advance(&mut self, t: i64) {
        let dt = t - self.last_change;
        if dt > 0 {
            self.alloc_integral += i128::from(self.cur_alloc) * i128::from(dt);
            let mut from = self.last_change;
            while from < t && self.cur_alloc > 0 {
                let day = from.div_euclid(DAY);
                let to = t.min((day + 1) * DAY);
                *self.alloc_per_day.entry(day).or_default() +=
                    i128::from(self.cur_alloc) * i128::from(to - from);
                from = to;
            }
            if i64::from(self.pool_size) - i64::from(self.cur_alloc) - i64::from(self.cur_orph) <= 0
            {
                self.exhausted_ms += dt;
            }
            self.last_change = t;
        }
    }

    fn rate(&mut self, t: i64, col: usize) {
        self.hours.entry(t.div_euclid(HOUR)).or_default()[col] += 1;
        self.days.entry(t.div_euclid(DAY)).or_default()[col] += 1;
    }

    pub fn attempt(&mut self, org: usize, t: i64) {
        self.org_event(org, t);
        self.attempts += 1;
    }

    pub fn reuse(&mut self, org: usize, t: i64) {
        self.org_event(org, t);
        self.reused += 1;
    }

    pub fn ready(&mut self, org: usize, t: i64) {
        self.org_event(org, t);
        let o = &mut self.orgs[org];
        if let (Some(g), Some(since)) = (o.named_gw, o.open_since) {
            self.gws[g].startups.push(t - since);
        }
        self.outcome(org, 0);
    }

    /// A handout's outcome (0 started, else the failure class).
    fn outcome(&mut self, org: usize, i: usize) {
        if std::mem::take(&mut self.orgs[org].pending) {
            self.outcomes[i] += 1;
        }
    }

    /// One of the gateway's own lines was written at `t`; `event`: one gwmon recognizes as an
    /// event (not `Notifying Ganymede…` or `Gateway shutdown complete`).
    pub fn gw_line(&mut self, gw: usize, t: i64, event: bool) {
        let g = &mut self.gws[gw];
        g.seen = true;
        g.side = true;
        if event {
            self.gw_events += 1;
            self.gw_span = Some(match self.gw_span {
                Some((a, b)) => (a.min(t), b.max(t)),
                None => (t, t),
            });
        }
    }

    /// A line that tells gwmon the gateway's UUID (its own, or a join through a named
    /// allocation).
    pub fn gw_id(&mut self, gw: usize) {
        self.gws[gw].id_known = true;
    }

    /// A DOWN mark of the gateway (a second one while down changes nothing).
    pub fn gw_down(&mut self, gw: usize, t: i64) {
        let g = &mut self.gws[gw];
        if g.down.is_none() {
            g.down = Some((t, g.was_up));
        }
    }

    /// An UP mark: a whole phase is a restart time.
    pub fn gw_up(&mut self, gw: usize, t: i64) {
        let g = &mut self.gws[gw];
        if let Some((since, true)) = g.down.take() {
            g.restarts.push(t - since);
        }
        g.down = None;
        g.was_up = true;
    }

    /// Whether gwmon can tell which gateway a stop or rollback of `org` is about: its
    /// allocation named the container, or the UUID is known already.
    pub fn identifiable(&self, org: usize, gw: usize) -> bool {
        self.orgs[org].named_gw.is_some() || self.gws[gw].id_known
    }

    /// Whether gwmon sees the gateway restarting now (its marks, with its own logs read).
    pub fn gw_recycling(&self, gw: usize) -> bool {
        let g = &self.gws[gw];
        g.side && g.down.is_some()
    }

    /// An allocation of `org`; `named`: the gateway its line names (not `null`).
    pub fn allocated_gw(&mut self, org: usize, t: i64, named: Option<usize>) {
        self.allocated(org, t);
        self.orgs[org].named_gw = named;
        self.orgs[org].pending = false;
        if let Some(g) = named {
            let handout = self.gw_recycling(g);
            let gs = &mut self.gws[g];
            gs.seen = true;
            gs.allocations += 1;
            if handout {
                gs.handouts += 1;
                self.handouts += 1;
                self.orgs[org].pending = true;
            }
        }
    }

    pub fn allocated(&mut self, org: usize, t: i64) {
        self.org_event(org, t);
        self.advance(t);
        self.allocated += 1;
        self.cur_alloc += 1;
        self.peak = self.peak.max(self.cur_alloc + self.cur_orph);
        if self.in_episode {
            // The episode ends with the first successful allocation; the incident stays
            // firing for keep_firing_for after it.
            self.exhaust_calm = Some(t);
        }
        self.in_episode = false;
        self.rate(t, 0);
        let o = &mut self.orgs[org];
        o.allocated += 1;
        debug_assert!(
            o.open_since.is_none(),
            "the simulator never double-allocates"
        );
        o.open_since = Some(t);
    }

    pub fn failed(&mut self, org: usize, t: i64, reason: Reason) {
        self.org_event(org, t);
        self.failed += 1;
        self.by_reason[reason as usize] += 1;
        self.orgs[org].failed += 1;
        if reason == Reason::NoGatewayAvailable {
            self.orgs[org].refused += 1;
        } else {
            // Charged to the gateway the organization holds (its open allocation).
            if self.orgs[org].open_since.is_some()
                && let Some(g) = self.orgs[org].named_gw
            {
                self.gws[g].failures[reason as usize] += 1;
            }
            self.outcome(org, reason as usize);
        }
        self.rate(t, 1);
        if reason == Reason::NoGatewayAvailable && !self.in_episode {
            self.in_episode = true;
            self.episodes += 1;
            match self.exhaust_calm.take() {
                // Refusals again within keep_firing_for of the calm: the same incident.
                Some(calm) if t <= calm + EXHAUSTED_KEEP_FIRING_MS => {}
                calm => {
                    if let Some(calm) = calm {
                        self.resolve_exhaustion(calm + EXHAUSTED_KEEP_FIRING_MS);
                    }
                    self.incidents.push(("pool_exhausted", None, t, None));
                }
            }
        }
    }

    fn resolve_exhaustion(&mut self, at: i64) {
        if let Some(i) = self
            .incidents
            .iter_mut()
            .rev()
            .find(|i| i.0 == "pool_exhausted")
        {
            i.3 = Some(at);
        }
    }

    /// An allocation ends (`rollback` or `deallocated`); `orphaned` says which count it left.
    fn end(&mut self, org: usize, t: i64, orphaned: bool) {
        self.advance(t);
        if orphaned {
            self.cur_orph -= 1;
            if let Some(i) = self
                .incidents
                .iter_mut()
                .rev()
                .find(|i| i.0 == "orphaned_allocation" && i.1 == Some(org))
            {
                i.3 = Some(t);
            }
        } else {
            self.cur_alloc -= 1;
        }
        let o = &mut self.orgs[org];
        let since = o.open_since.take().unwrap_or(t);
        o.held_ms += t - since;
        if let Some(g) = o.named_gw.take() {
            self.gws[g].held_ms += t - since;
        }
        self.durations_ms.push(t - since);
    }

    pub fn rollback(&mut self, org: usize, t: i64) {
        self.org_event(org, t);
        self.rollbacks += 1;
        self.join(org);
        self.end(org, t, false);
    }

    pub fn deallocated(&mut self, org: usize, t: i64, orphaned: bool) {
        self.org_event(org, t);
        self.deallocated += 1;
        self.join(org);
        self.end(org, t, orphaned);
    }

    /// A stop or a rollback names the UUID; the org's named allocation names the container.
    fn join(&mut self, org: usize) {
        if self.orgs[org].open_since.is_some()
            && let Some(g) = self.orgs[org].named_gw
        {
            self.gw_id(g);
        }
    }

    pub fn orphaned(&mut self, org: usize, t: i64) {
        self.org_event(org, t);
        self.advance(t);
        self.orphaned_events += 1;
        self.cur_alloc -= 1;
        self.cur_orph += 1;
        self.incidents
            .push(("orphaned_allocation", Some(org), t, None));
    }

    pub fn dealloc_failed(&mut self, org: usize, t: i64) {
        self.org_event(org, t);
        self.dealloc_failed += 1;
    }

    pub fn snapshot(&mut self, t: i64, counts: [u64; 4]) {
        self.event(t);
        self.last_snapshot = Some((t, counts));
    }

    /// Number of events so far (`lines.matched`).
    pub fn matched(&self) -> u64 {
        self.matched
    }

    /// Open allocations (allocated, orphaned) right now, as the simulator's pool sees them.
    pub fn open(&self) -> (u32, u32) {
        (self.cur_alloc, self.cur_orph)
    }

    /// The report, given the line counts of the written logs (the gateways' included).
    pub fn report(&self, lines_read: u64, skipped: u64) -> Report {
        // The window spans the events of every log, the gateways' included.
        let (start, end) = match (self.first, self.gw_span) {
            (Some(f), Some((a, b))) => (f.min(a), self.last.max(b)),
            (None, Some((a, b))) => (a, b),
            (f, None) => (f.unwrap_or(0), self.last),
        };
        let mut this = self.clone();
        this.advance(end);
        let total = f64::from(self.pool_size);
        let span = (end - start) as f64;
        // Undefined over an empty window: null, as the report says what it cannot know.
        let utilization_mean = (span > 0.0).then(|| this.alloc_integral as f64 / (total * span));
        let mut d = self.durations_ms.clone();
        d.sort_unstable();
        let rank = |q: f64| -> f64 {
            if d.is_empty() {
                return 0.0;
            }
            let n = d.len();
            let k = ((q * n as f64).ceil() as usize).clamp(1, n);
            d[k - 1] as f64 / 1000.0
        };
        let durations = Durations {
            count: d.len() as u64,
            mean: if d.is_empty() {
                0.0
            } else {
                d.iter().map(|&x| x as f64).sum::<f64>() / d.len() as f64 / 1000.0
            },
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: d.last().map_or(0.0, |&x| x as f64 / 1000.0),
        };
        let series = |map: &BTreeMap<i64, [u64; 2]>, unit: i64| -> Vec<RatePoint> {
            if self.first.is_none() {
                return Vec::new();
            }
            (start.div_euclid(unit)..=end.div_euclid(unit))
                .map(|k| {
                    let c = map.get(&k).copied().unwrap_or([0, 0]);
                    RatePoint {
                        start: fmt_ms(k * unit),
                        allocated: c[0],
                        failed: c[1],
                    }
                })
                .collect()
        };
        let mut top: Vec<(usize, &OrgStat)> = self
            .orgs
            .iter()
            .enumerate()
            .filter(|(_, o)| o.seen)
            .collect();
        let distinct = top.len() as u64;
        top.sort_by(|a, b| {
            b.1.allocated
                .cmp(&a.1.allocated)
                .then_with(|| self.org_ids[a.0].cmp(&self.org_ids[b.0]))
        });
        let top = top
            .into_iter()
            .take(10)
            .map(|(i, o)| TopOrg {
                org: self.org_ids[i].clone(),
                allocated: o.allocated,
                failed: o.failed,
                held_s: (o.held_ms + o.open_since.map_or(0, |s| end - s)) as f64 / 1000.0,
            })
            .collect();
        let (alloc, orph) = (self.cur_alloc, self.cur_orph);
        Report {
            schema: "gwmon.report/v1",
            window: Window {
                start: fmt_ms(start),
                end: fmt_ms(end),
            },
            lines: Lines {
                read: lines_read,
                matched: self.matched + self.gw_events,
                skipped,
            },
            pool: Pool {
                total: u64::from(self.pool_size),
                total_source: "config",
                allocated: u64::from(alloc),
                available: i64::from(self.pool_size) - i64::from(alloc) - i64::from(orph),
                recycling: (0..self.gws.len())
                    .filter(|&g| self.gw_recycling(g))
                    .count() as u64,
                orphaned: u64::from(orph),
                peak_allocated: u64::from(self.peak),
                utilization: f64::from(alloc) / total,
                utilization_mean,
                consistent: true,
                last_snapshot: self.last_snapshot.map(|(t, c)| LastSnapshot {
                    time: fmt_ms(t),
                    total: c[0],
                    used: c[1],
                    ready: c[2],
                    unused_not_ready: c[3],
                }),
            },
            allocations: Allocations {
                attempts: self.attempts,
                allocated: self.allocated,
                reused: self.reused,
                failed: self.failed,
                failure_rate: if self.attempts == 0 {
                    0.0
                } else {
                    self.failed as f64 / self.attempts as f64
                },
                failures_by_reason: ByReason {
                    no_gateway_available: self.by_reason[0],
                    health_check: self.by_reason[1],
                    init: self.by_reason[2],
                    other: self.by_reason[3],
                },
                rollbacks: self.rollbacks,
                orphaned: self.orphaned_events,
                deallocated: self.deallocated,
                open: u64::from(alloc + orph),
                dealloc_failed: self.dealloc_failed,
            },
            durations_s: durations,
            exhaustion: Exhaustion {
                failures: self.by_reason[0],
                episodes: self.episodes,
                exhausted_s: this.exhausted_ms as f64 / 1000.0,
            },
            rate: Rates {
                per_hour: series(&self.hours, HOUR),
                per_day: series(&self.days, DAY),
            },
            orgs: Orgs {
                distinct,
                top,
                top_refused: {
                    let mut v: Vec<TopRefused> = self
                        .orgs
                        .iter()
                        .enumerate()
                        .filter(|(_, o)| o.refused > 0)
                        .map(|(i, o)| TopRefused {
                            org: self.org_ids[i].clone(),
                            refused: o.refused,
                        })
                        .collect();
                    v.sort_by(|a, b| b.refused.cmp(&a.refused).then_with(|| a.org.cmp(&b.org)));
                    v.truncate(10);
                    v
                },
            },
            gateways: self.gateways_section(),
            anomalies: Anomalies::default(),
            per_day_utilization: this
                .alloc_per_day
                .iter()
                .map(|(day, ms)| DayUtilization {
                    start: fmt_ms(day * DAY),
                    allocated_gateway_s: *ms as f64 / 1000.0,
                })
                .collect(),
            expected_alerts: self
                .incidents
                .iter()
                .map(|(rule, _, fired, resolved)| {
                    // An incident calm at the end is resolved if its keep_firing_for ran out
                    // before the last event (a replay evaluates up to there).
                    let resolved = resolved.or_else(|| {
                        let calm = self.exhaust_calm.filter(|_| *rule == "pool_exhausted")?;
                        let end = calm + EXHAUSTED_KEEP_FIRING_MS;
                        (end < self.last).then_some(end)
                    });
                    ExpectedAlert {
                        rule,
                        fired_at: fmt_ms(*fired),
                        resolved_at: resolved.map(fmt_ms),
                    }
                })
                .collect(),
        }
    }
}

/// Nearest-rank quantile of sorted values.
fn rank(d: &[i64], q: f64) -> i64 {
    if d.is_empty() {
        return 0;
    }
    let n = d.len();
    d[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
}

fn mean(d: &[i64]) -> f64 {
    if d.is_empty() {
        0.0
    } else {
        d.iter().map(|&x| x as f64).sum::<f64>() / d.len() as f64
    }
}

/// RFC 3339 with milliseconds, `2026-03-02T00:00:00.004Z`.
pub fn fmt_ms(t: i64) -> String {
    let mut f = super::sink::TimeFmt::default();
    String::from_utf8_lossy(f.ms(t)).into_owned()
}

#[cfg(test)]
mod keep_tests {
    #[test]
    fn the_truth_keeps_firing_as_long_as_gwmon_does() {
        let d = crate::alert::Alerts::default();
        assert_eq!(
            d.pool_exhausted.keep_firing_for.ms(),
            super::EXHAUSTED_KEEP_FIRING_MS
        );
        assert_eq!(d.orphaned_allocation.keep_firing_for.ms(), 0);
    }
}
