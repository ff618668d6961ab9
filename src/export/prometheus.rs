//! Prometheus exposition of the pool (DESIGN.md §8): text format 0.0.4, or OpenMetrics 1.0 when
//! the scraper asks for it. Counters, gauges and a histogram with buckets (never precomputed
//! quantiles), so several gwmon instances sum correctly; every counter with a known label set
//! is exported from the start, at 0. Label values from logs are escaped. The families render into
//! a [`out::Sink`]: the text of one exposition, or (`backfill`) a [`timeline::Timeline`] of every
//! step; [`process`] adds the exporter conventions, [`inputs`] what was read.

use crate::alert::{Engine, Rule};
use crate::event::{Millis, Reason};
use crate::pool::{DURATION_BUCKETS_S, OUTCOMES, OrgStats, Pool, RESTART_BUCKETS_S};
use crate::recognize::ReadStats;
use crate::units::natural_cmp;

mod inputs;
pub mod out;
pub mod process;
pub mod timeline;

#[cfg(test)]
use out::escape_label;
use out::{Kind, Sink, Text};

/// Exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What to export besides the pool.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Per-organization series (bounded by `--max-orgs`).
    pub per_org: bool,
    /// The standard `process_*` metrics of this process (a long-running exporter's `/metrics`;
    /// not in a node_exporter textfile, where they would clash with node_exporter's own).
    pub process: bool,
    /// The wall clock of a live run, for how far reading lags behind each input
    /// (`gwmon_input_read_lag_seconds`); None for a replay of history.
    pub wall: Option<Millis>,
    /// A replay of history sampled step by step (`backfill`): the families of this process
    /// (its build, what it read) are left out.
    pub history: bool,
    /// The clock the event-time integrals are extended to (`backfill`'s step); None: the last
    /// event (a live clock may run ahead of events still to be read).
    pub integrals_at: Option<Millis>,
}

/// Render the exposition of `pool` (and `engine`'s alert states) at clock `now`.
pub fn render(
    pool: &Pool,
    engine: Option<&Engine>,
    read: &ReadStats,
    now: Millis,
    fmt: Format,
    opts: &Options,
) -> String {
    let mut o = Text {
        s: String::with_capacity(8192),
        fmt,
    };
    families(&mut o, pool, engine, read, now, opts);
    if opts.process {
        process::process_families(&mut o);
    }
    if fmt == Format::OpenMetrics {
        o.s.push_str("# EOF\n");
    }
    o.s
}

/// Every family of the pool, the reads and the alert states, into `o`.
pub fn families(
    o: &mut dyn Sink,
    pool: &Pool,
    engine: Option<&Engine>,
    read: &ReadStats,
    now: Millis,
    opts: &Options,
) {
    if !opts.history {
        process::build_info(o);
    }
    let c = &pool.counters;
    o.counter(
        "gwmon_gateway_allocation_attempts_total",
        "Gateway allocation attempts (Starting gateway for org).",
        c.attempts,
    );
    o.counter(
        "gwmon_gateway_allocations_total",
        "Gateways allocated to an organization.",
        c.allocated,
    );
    o.family(
        "gwmon_gateway_allocation_failures_total",
        Kind::Counter,
        "Failed allocation attempts, by reason class.",
        None,
    );
    for r in Reason::ALL {
        o.sample(
            "gwmon_gateway_allocation_failures_total",
            &[("reason", r.as_str())],
            c.by_reason[r as usize] as f64,
        );
    }
    o.counter(
        "gwmon_gateway_reuses_total",
        "Allocation requests answered with the gateway the organization already held.",
        c.reused,
    );
    o.counter(
        "gwmon_gateway_deallocations_total",
        "Gateways deallocated (Stopping gateway for org).",
        c.deallocated,
    );
    o.counter(
        "gwmon_gateway_deallocation_failures_total",
        "Failed deallocations (Failed to stop gateway).",
        c.dealloc_failed,
    );
    o.counter(
        "gwmon_gateway_rollbacks_total",
        "Allocations rolled back after a failure (gateway returned to pool).",
        c.rollbacks,
    );
    o.counter(
        "gwmon_gateway_orphaned_total",
        "Orphaned allocations (cleanup failed, manual intervention required).",
        c.orphaned,
    );
    o.counter(
        "gwmon_pool_exhaustion_episodes_total",
        "Runs of no_gateway_available refusals not separated by a successful allocation.",
        c.exhaustion_episodes,
    );
    o.counter(
        "gwmon_events_total",
        "Gateway lifecycle events recognized.",
        c.matched,
    );

    let total = pool.total();
    o.gauge(
        "gwmon_pool_gateways",
        "Gateways in the pool (from --pool-size or the latest pool snapshot).",
        None,
        total.map(|t| t as f64),
    );
    o.gauge(
        "gwmon_pool_allocated_gateways",
        "Gateways allocated to organizations now (orphaned ones excluded).",
        None,
        Some(pool.allocated() as f64),
    );
    o.gauge(
        "gwmon_pool_available_gateways",
        "Gateways the allocator can hand out now: total - allocated - orphaned.",
        None,
        pool.available().map(|a| a as f64),
    );
    o.gauge(
        "gwmon_pool_orphaned_gateways",
        "Gateways held by orphaned allocations now.",
        None,
        Some(pool.orphaned_open as f64),
    );
    o.gauge(
        "gwmon_pool_utilization_ratio",
        "Allocated gateways / pool size.",
        Some("ratio"),
        pool.utilization(),
    );
    o.gauge(
        "gwmon_gateway_open_allocations",
        "Allocations not ended (orphaned included).",
        None,
        Some(pool.open.len() as f64),
    );
    let oldest = pool.open.values().map(|o| o.start).min();
    o.gauge(
        "gwmon_gateway_oldest_open_allocation_age_seconds",
        "Age of the oldest open allocation.",
        Some("seconds"),
        Some(oldest.map_or(0.0, |s| (now - s).max(0) as f64 / 1000.0)),
    );
    o.gauge(
        "gwmon_last_event_timestamp_seconds",
        "Time of the last lifecycle event read.",
        Some("seconds"),
        pool.now.map(|t| t as f64 / 1000.0),
    );

    o.histogram(
        "gwmon_gateway_allocation_duration_seconds",
        "How long completed allocations were held.",
        &DURATION_BUCKETS_S,
        &pool.duration_buckets,
        pool.durations.sum_ms,
    );
    gateway_families(o, pool);
    integral_families(o, pool, opts.integrals_at.or(pool.now));

    if !opts.history {
        inputs::read_families(o, read, engine, opts.wall);
    }

    if let Some(engine) = engine {
        o.family(
            "gwmon_alert_state",
            Kind::Gauge,
            "State of each alert rule: 0 inactive, 1 pending, 2 firing.",
            None,
        );
        for rule in Rule::ALL {
            o.sample(
                "gwmon_alert_state",
                &[("rule", rule.name())],
                f64::from(engine.rule_state(rule)),
            );
        }
    }

    if opts.per_org {
        let mut orgs: Vec<(&String, &OrgStats)> = pool.orgs.iter().collect();
        orgs.sort_by(|a, b| a.0.cmp(b.0));
        type Get = fn(&OrgStats) -> f64;
        let families: [(&str, &str, Option<&str>, Get); 3] = [
            (
                "gwmon_org_allocations_total",
                "Gateways allocated, per organization.",
                None,
                |s| s.allocated as f64,
            ),
            (
                "gwmon_org_allocation_failures_total",
                "Failed allocation attempts, per organization.",
                None,
                |s| s.failed as f64,
            ),
            (
                "gwmon_org_held_seconds_total",
                "Seconds gateways were held by completed allocations, per organization.",
                Some("seconds"),
                |s| s.held_ms as f64 / 1000.0,
            ),
        ];
        for (name, help, unit, get) in families {
            o.family(name, Kind::Counter, help, unit);
            for (org, st) in &orgs {
                o.sample(name, &[("org", org)], get(st));
            }
        }
        // Organizations beyond --max-orgs: their own families, so no real organization id can
        // collide with the bucket.
        for (name, help, unit, get) in [
            (
                "gwmon_orgs_folded_allocations_total",
                "Gateways allocated to organizations beyond --max-orgs.",
                None,
                (|s| s.allocated as f64) as Get,
            ),
            (
                "gwmon_orgs_folded_allocation_failures_total",
                "Failed allocation attempts of organizations beyond --max-orgs.",
                None,
                |s| s.failed as f64,
            ),
            (
                "gwmon_orgs_folded_held_seconds_total",
                "Seconds held by completed allocations of organizations beyond --max-orgs.",
                Some("seconds"),
                |s| s.held_ms as f64 / 1000.0,
            ),
        ] {
            o.family(name, Kind::Counter, help, unit);
            o.sample(name, &[], get(&pool.other));
        }
    }
}

/// Gateways exported one by one (in name order); the others are summed in `…_folded_…`.
pub const MAX_EXPORTED_GATEWAYS: usize = 256;

/// The gateways: per gateway (bounded), and what their own logs tell (only when read, so an
/// unknown figure is absent rather than 0).
fn gateway_families(o: &mut dyn Sink, pool: &Pool) {
    let g = &pool.gateways;
    let mut names: Vec<&String> = g.by_name.keys().collect();
    names.sort_by(|a, b| natural_cmp(a, b));
    let (shown, folded) = names.split_at(names.len().min(MAX_EXPORTED_GATEWAYS));
    let name = "gwmon_pool_member_allocations_total";
    o.family(
        name,
        Kind::Counter,
        "Allocations, per gateway container.",
        None,
    );
    for n in shown {
        o.sample(name, &[("gateway", n)], g.by_name[*n].allocations as f64);
    }
    let name = "gwmon_pool_member_allocation_failures_total";
    o.family(
        name,
        Kind::Counter,
        "Failed start-ups after an allocation, per gateway container and reason.",
        None,
    );
    const AFTER: [(Reason, &str); 3] = [
        (Reason::HealthCheck, "health_check"),
        (Reason::Init, "init"),
        (Reason::Other, "other"),
    ];
    for n in shown {
        for (r, label) in AFTER {
            let v = g.by_name[*n].failures[r as usize];
            o.sample(name, &[("gateway", n), ("reason", label)], v as f64);
        }
    }
    let sum = |f: fn(&crate::pool::gateways::Gateway) -> u64| -> u64 {
        folded.iter().map(|n| f(&g.by_name[*n])).sum()
    };
    o.counter(
        "gwmon_pool_members_folded_allocations_total",
        "Allocations of gateways beyond the first 256 (in name order).",
        sum(|x| x.allocations),
    );
    o.counter(
        "gwmon_pool_members_folded_allocation_failures_total",
        "Failed start-ups after allocations of gateways beyond the first 256.",
        sum(|x| x.failures.iter().sum()),
    );
    if !g.side_logs() {
        return;
    }
    o.gauge(
        "gwmon_pool_recycling_gateways",
        "Gateways restarting now: between a DOWN mark and their next ready signal (gateway-side logs).",
        None,
        Some(g.recycling_now() as f64),
    );
    let name = "gwmon_gateway_recycling_handouts_total";
    o.family(
        name,
        Kind::Counter,
        "Allocations of gateways still restarting, by outcome of the start-up (gateway-side logs).",
        None,
    );
    for (i, outcome) in OUTCOMES.iter().enumerate() {
        o.sample(name, &[("outcome", outcome)], g.outcomes[i] as f64);
    }
    o.gauge(
        "gwmon_gateway_recycling_handouts_pending",
        "Allocations of gateways still restarting whose start-up has no outcome yet.",
        None,
        Some(g.pending.len() as f64),
    );
    o.histogram(
        "gwmon_gateway_restart_duration_seconds",
        "How long gateways took to restart: from a DOWN mark after a ready signal to the next ready signal (gateway-side logs).",
        &RESTART_BUCKETS_S,
        &g.restart_buckets,
        g.restarts.sum_ms,
    );
}

/// The event-time integrals as counters, so PromQL gets exact time-weighted figures:
/// `rate(gwmon_pool_allocated_gateway_seconds_total[1h]) / gwmon_pool_gateways` is the
/// utilization over the hour weighted by time (`avg_over_time` weights samples instead).
fn integral_families(o: &mut dyn Sink, pool: &Pool, at: Option<Millis>) {
    let (allocated, orphaned, exhausted) = at.map_or((0, 0, 0), |t| pool.integrals_at(t));
    o.counter_f(
        "gwmon_pool_allocated_gateway_seconds_total",
        "Gateways allocated times seconds, in event time (orphaned ones excluded): rate() of it is the mean number allocated.",
        "seconds",
        allocated as f64 / 1000.0,
    );
    o.counter_f(
        "gwmon_pool_orphaned_gateway_seconds_total",
        "Gateways held by orphaned allocations times seconds, in event time.",
        "seconds",
        orphaned as f64 / 1000.0,
    );
    o.counter_f(
        "gwmon_pool_exhausted_seconds_total",
        "Seconds with no gateway available (pool size known), in event time.",
        "seconds",
        exhausted as f64 / 1000.0,
    );
}

/// Pick the format from an HTTP Accept header.
pub fn negotiate(accept: Option<&str>) -> Format {
    match accept {
        Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
        _ => Format::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_text_is_escaped() {
        let mut o = Text {
            s: String::new(),
            fmt: Format::OpenMetrics,
        };
        o.family("m", Kind::Gauge, "a \"quoted\" back\\slash\nline", None);
        assert_eq!(
            o.s.lines().next().unwrap(),
            r#"# HELP m a \"quoted\" back\\slash\nline"#
        );
    }

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn empty_pool_exports_zero_counters() {
        let pool = Pool::new(Default::default());
        let text = render(
            &pool,
            None,
            &ReadStats::default(),
            0,
            Format::Text,
            &Options::default(),
        );
        assert!(text.contains(
            "gwmon_gateway_allocation_failures_total{reason=\"no_gateway_available\"} 0\n"
        ));
        assert!(text.contains("# TYPE gwmon_gateway_allocations_total counter\n"));
        assert!(
            !text.contains("gwmon_pool_gateways "),
            "unknown total is not exported as 0"
        );
        assert!(text.contains("gwmon_gateway_allocation_duration_seconds_bucket{le=\"+Inf\"} 0\n"));
        let om = render(
            &pool,
            None,
            &ReadStats::default(),
            0,
            Format::OpenMetrics,
            &Options::default(),
        );
        assert!(om.contains("# TYPE gwmon_gateway_allocations counter\n"));
        assert!(om.ends_with("# EOF\n"));
    }
}
