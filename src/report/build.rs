//! The report builder: the JSON report (schema `gwmon.report/v1`) of a pool's state. The pool
//! model keeps events and figures; the schema's shape is decided here.

use std::collections::BTreeMap;

use super::schema::*;
use crate::event::Reason;
use crate::pool::{DAY, Dist, HOUR, Open, Pool, history};
use crate::recognize::ReadStats;
use crate::units::{Millis, fmt_time, natural_cmp};

/// The ten organizations refused most.
fn top_refused(pool: &Pool) -> Vec<OrgRefused> {
    let mut v: Vec<OrgRefused> = pool
        .orgs
        .iter()
        .filter(|(_, s)| s.refused > 0)
        .map(|(org, s)| OrgRefused {
            org: org.clone(),
            refused: s.refused,
        })
        .collect();
    v.sort_by(|a, b| b.refused.cmp(&a.refused).then_with(|| a.org.cmp(&b.org)));
    v.truncate(10);
    v
}

fn restart_figures(d: &Dist) -> RestartFigures {
    let s = durations(d, 1000.0, &[]);
    RestartFigures {
        count: s.count,
        mean: s.mean,
        p50: s.p50,
        p90: s.p90,
        max: s.max,
    }
}

/// The gateways section.
fn gateways(pool: &Pool) -> GatewaysSection {
    let g = &pool.gateways;
    let side = g.side_logs();
    let mut by: Vec<GatewayFigures> = g
        .by_name
        .iter()
        .map(|(name, gw)| {
            let st = durations(&gw.startup, 1.0, &[]);
            GatewayFigures {
                gateway: name.clone(),
                id: gw.id.clone(),
                allocations: gw.allocations,
                failures: FailuresByReason {
                    no_gateway_available: 0,
                    health_check: gw.failures[Reason::HealthCheck as usize],
                    init: gw.failures[Reason::Init as usize],
                    other: gw.failures[Reason::Other as usize],
                },
                recycling_handouts: side.then_some(gw.recycling_handouts),
                startup_ms: StartupFigures {
                    count: st.count,
                    mean: st.mean,
                    p90: st.p90,
                },
                held_s: gw.held_ms as f64 / 1000.0,
                restart_s: gw.side_logs.then(|| restart_figures(&gw.restarts)),
            }
        })
        .collect();
    by.sort_by(|a, b| natural_cmp(&a.gateway, &b.gateway));
    GatewaysSection {
        side_logs: side,
        recycling_handouts: side.then_some(g.handouts),
        recycling_handout_outcomes: side.then(|| HandoutOutcomes {
            started: g.outcomes[0],
            health_check: g.outcomes[1],
            init: g.outcomes[2],
            other: g.outcomes[3],
            unfinished: g.pending.len() as u64,
        }),
        restart_s: side.then(|| restart_figures(&g.restarts)),
        by_gateway: by,
    }
}

/// Upper bounds of the allocation-duration histogram (seconds): a minute to a week.
pub const HELD_BOUNDS_S: [f64; 15] = [
    60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 43200.0, 86400.0,
    172800.0, 345600.0, 604800.0,
];
/// Upper bounds of the start-up histogram (milliseconds): a quarter second to a minute.
pub const STARTUP_BOUNDS_MS: [f64; 14] = [
    250.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0, 5000.0, 7500.0, 10000.0, 15000.0,
    30000.0, 60000.0,
];

/// A distribution's summary in seconds (or in the unit `scale` divides milliseconds into), with
/// a histogram over `bounds` (in that unit).
pub fn durations(d: &Dist, scale: f64, bounds: &[f64]) -> Durations {
    let n = d.count();
    if n == 0 {
        return Durations::default();
    }
    let q = |q: f64| d.quantile(q) as f64 / scale;
    let mut counts = vec![0u64; bounds.len() + 1];
    for v in d.hist.iter_recorded() {
        let x = d.hist.median_equivalent(v.value_iterated_to()) as f64 / scale;
        counts[bounds.partition_point(|le| *le < x)] += v.count_at_value();
    }
    Durations {
        count: n,
        mean: d.sum_ms as f64 / n as f64 / scale,
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        max: d.max_ms as f64 / scale,
        histogram: counts
            .into_iter()
            .enumerate()
            .map(|(i, count)| HistBucket {
                le: bounds.get(i).copied(),
                count,
            })
            .collect(),
    }
}

fn span(s: &history::Span, end: Option<Millis>) -> Span {
    let stop = s.end.or(end).unwrap_or(s.start);
    Span {
        start: fmt_time(s.start),
        end: s.end.map(fmt_time),
        s: (stop - s.start).max(0) as f64 / 1000.0,
        count: s.count,
    }
}

/// The pool per hour (time-weighted means over the covered part of each hour).
fn pool_history(pool: &Pool) -> Vec<PoolHour> {
    let mean = |area: f64, ms: i64| (ms > 0).then(|| area / ms as f64);
    pool.history
        .hours
        .iter()
        .filter(|(_, h)| h.covered_ms > 0)
        .map(|(hour, h)| PoolHour {
            start: fmt_time(hour * HOUR),
            allocated: h.allocated / h.covered_ms as f64,
            orphaned: h.orphaned / h.covered_ms as f64,
            recycling: mean(h.recycling, h.recycling_ms),
            available: mean(h.available, h.total_ms),
            total: mean(h.total, h.total_ms),
        })
        .collect()
}

fn errors(pool: &Pool) -> Vec<ErrorRecord> {
    let mut v: Vec<&history::ErrorSeen> = pool.history.errors.iter().collect();
    v.sort_by(|a, b| b.last.cmp(&a.last).then_with(|| a.message.cmp(&b.message)));
    v.into_iter()
        .map(|e| ErrorRecord {
            kind: e.kind.clone(),
            message: e.message.clone(),
            count: e.count,
            first: fmt_time(e.first),
            last: fmt_time(e.last),
        })
        .collect()
}

/// The report of the pool's window so far. `read` holds the read-side counts.
pub fn build(pool: &Pool, read: &ReadStats) -> Report {
    let c = &pool.counters;
    let end = pool.now.filter(|_| pool.first.is_some());
    let held_now = |o: &Open| end.map_or(0, |e| (e - o.start).max(0));
    // Seconds held per org, open allocations counted up to the end of the window.
    let mut orgs: Vec<OrgFigures> = pool
        .orgs
        .iter()
        .map(|(org, s)| {
            let open_ms = pool.open.get(org).map_or(0, held_now);
            OrgFigures {
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
    let other = pool.other_orgs.then(|| {
        let open_ms: i64 = pool
            .open
            .iter()
            .filter(|(o, _)| !pool.orgs.contains_key(*o))
            .map(|(_, o)| held_now(o))
            .sum();
        OrgFigures {
            org: "other".into(),
            allocated: pool.other.allocated,
            failed: pool.other.failed,
            held_s: (pool.other.held_ms + open_ms) as f64 / 1000.0,
        }
    });
    let mut open_longest: Vec<OpenAllocation> = pool
        .open
        .iter()
        .map(|(org, o)| OpenAllocation {
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
    let total = pool.total();
    Report {
        schema: SCHEMA.into(),
        window: Window {
            start: pool.first.map(fmt_time),
            end: end.map(fmt_time),
        },
        lines: Lines {
            read: read.lines,
            matched: c.matched,
            skipped: read.skipped,
        },
        pool: PoolFigures {
            total,
            total_source: pool.total_source().into(),
            allocated: pool.allocated(),
            available: pool.available(),
            recycling: pool.gateways.recycling_now(),
            orphaned: pool.orphaned_open,
            peak_allocated: pool.peak_open,
            utilization: pool.utilization(),
            utilization_mean: (pool.known_ms > 0).then(|| pool.util_area / pool.known_ms as f64),
            consistent: pool.consistent(),
            history: pool_history(pool),
            last_snapshot: pool.snapshot.map(|(t, s)| SnapshotRecord {
                time: fmt_time(t),
                total: s.total,
                used: s.used,
                ready: s.ready,
                unused_not_ready: s.unused_not_ready,
            }),
        },
        allocations: Allocations {
            attempts: c.attempts,
            allocated: c.allocated,
            reused: c.reused,
            failed: c.failed,
            failure_rate: if c.attempts > 0 {
                c.failed as f64 / c.attempts as f64
            } else {
                0.0
            },
            failures_by_reason: FailuresByReason {
                no_gateway_available: c.by_reason[Reason::NoGatewayAvailable as usize],
                health_check: c.by_reason[Reason::HealthCheck as usize],
                init: c.by_reason[Reason::Init as usize],
                other: c.by_reason[Reason::Other as usize],
            },
            rollbacks: c.rollbacks,
            orphaned: c.orphaned,
            deallocated: c.deallocated,
            open: pool.open.len() as u64,
            dealloc_failed: c.dealloc_failed,
        },
        durations_s: durations(&pool.durations, 1000.0, &HELD_BOUNDS_S),
        exhaustion: Exhaustion {
            failures: c.exhaustion_failures,
            episodes: c.exhaustion_episodes,
            exhausted_s: (total.is_some() && pool.first.is_some())
                .then(|| pool.exhausted_ms as f64 / 1000.0),
            periods: pool
                .history
                .exhaustion
                .iter()
                .map(|p| span(p, end))
                .collect(),
            periods_dropped: pool.history.exhaustion_dropped,
        },
        rate: rates(pool),
        orgs: Orgs {
            distinct: pool.orgs.len() as u64,
            top: orgs,
            other,
            top_refused: top_refused(pool),
        },
        gateways: gateways(pool),
        anomalies: Anomalies {
            dealloc_without_alloc: c.dealloc_without_alloc,
            double_alloc: c.double_alloc,
            time_backwards: read.time_backwards,
            gateway_reassigned: c.gateway_reassigned,
            overcommitted: c.overcommitted,
            open_folded: c.open_folded,
            snapshot_drift: (pool.drift.lasting > 0).then(|| SnapshotDrift {
                snapshots: pool.drift.compared,
                lasting: pool.drift.lasting,
                largest: pool.drift.largest,
                at: pool.drift.largest_at.map(fmt_time),
                last: pool.drift.last,
            }),
        },
        alerts: Vec::new(),
        startup_ms: durations(&pool.startup, 1.0, &STARTUP_BOUNDS_MS),
        open_longest,
        longest: pool
            .longest
            .iter()
            .map(|(ms, org, gateway, start)| OpenAllocation {
                org: org.clone(),
                gateway: gateway.clone(),
                since: fmt_time(*start),
                held_s: *ms as f64 / 1000.0,
                orphaned: false,
            })
            .collect(),
        gaps: pool.history.gaps.iter().map(|g| span(g, end)).collect(),
        gaps_dropped: pool.history.gaps_dropped,
        errors: errors(pool),
    }
}

/// Per-hour and per-day buckets, contiguous over the window (zeros included), or only the
/// non-empty ones when the window is longer than ten years (broken timestamps).
fn rates(pool: &Pool) -> Rate {
    let (Some(first), Some(end)) = (pool.first, pool.now) else {
        return Rate::default();
    };
    // Per hour: (allocated, failed) from the model, reuses and failures by reason from the
    // history.
    #[derive(Default, Clone, Copy)]
    struct Counts {
        allocated: u64,
        failed: u64,
        reused: u64,
        by_reason: [u64; 4],
    }
    let mut hours: BTreeMap<i64, Counts> = BTreeMap::new();
    for (h, (a, f)) in &pool.per_hour {
        let c = hours.entry(*h).or_default();
        c.allocated += a;
        c.failed += f;
    }
    for (h, x) in &pool.history.hours {
        if x.reused > 0 || x.failed_by_reason.iter().any(|n| *n > 0) {
            let c = hours.entry(*h).or_default();
            c.reused += x.reused;
            for (i, n) in x.failed_by_reason.iter().enumerate() {
                c.by_reason[i] += n;
            }
        }
    }
    let bucket = |start: Millis, c: Counts| Bucket {
        start: fmt_time(start),
        allocated: c.allocated,
        failed: c.failed,
        reused: c.reused,
        failures_by_reason: FailuresByReason {
            no_gateway_available: c.by_reason[Reason::NoGatewayAvailable as usize],
            health_check: c.by_reason[Reason::HealthCheck as usize],
            init: c.by_reason[Reason::Init as usize],
            other: c.by_reason[Reason::Other as usize],
        },
    };
    let (h0, h1) = (first.div_euclid(HOUR), end.div_euclid(HOUR));
    let contiguous = h1 - h0 <= 10 * 366 * 24;
    let per_hour = if contiguous {
        (h0..=h1)
            .map(|h| bucket(h * HOUR, hours.get(&h).copied().unwrap_or_default()))
            .collect()
    } else {
        hours.iter().map(|(h, v)| bucket(h * HOUR, *v)).collect()
    };
    let mut days: BTreeMap<i64, Counts> = BTreeMap::new();
    for (h, c) in &hours {
        let d = days.entry((h * HOUR).div_euclid(DAY)).or_default();
        d.allocated += c.allocated;
        d.failed += c.failed;
        d.reused += c.reused;
        for i in 0..4 {
            d.by_reason[i] += c.by_reason[i];
        }
    }
    let (d0, d1) = (first.div_euclid(DAY), end.div_euclid(DAY));
    let per_day = if contiguous {
        (d0..=d1)
            .map(|d| bucket(d * DAY, days.get(&d).copied().unwrap_or_default()))
            .collect()
    } else {
        days.iter().map(|(d, v)| bucket(d * DAY, *v)).collect()
    };
    Rate { per_hour, per_day }
}
