//! The engine's tests: events in event time through a pool and an engine, notifications checked.

use super::*;
use crate::alert::Replay;
use crate::event::{Origin, Reason};
use crate::pool::PoolConfig;
use crate::units::Dur;

const T0: Millis = 1_772_600_000_000;

struct Sim {
    pool: Pool,
    engine: Engine,
    out: Vec<Notification>,
}

impl Sim {
    fn new(size: u64, cfg: Alerts) -> Sim {
        Sim {
            pool: Pool::new(PoolConfig {
                pool_size: Some(size),
                max_orgs: 100,
                ..PoolConfig::default()
            }),
            engine: Engine::new(cfg),
            out: Vec::new(),
        }
    }
    fn at(&mut self, secs: i64, kind: Kind) {
        let mut ev = Event {
            time: T0 + secs * 1000,
            kind,
            origin: Origin { input: 0, line: 0 },
            stream: None,
            raw: String::new(),
        };
        Replay {
            pool: &mut self.pool,
            engine: &mut self.engine,
        }
        .event(&mut ev, &mut self.out);
    }
    fn tick(&mut self, secs: i64) {
        let t = T0 + secs * 1000;
        let mut r = Replay {
            pool: &mut self.pool,
            engine: &mut self.engine,
        };
        r.ticks_until(t + 1, &mut self.out);
    }
    fn alloc(&mut self, secs: i64, org: &str) {
        self.at(secs, Kind::AllocAttempt { org: org.into() });
        self.at(
            secs,
            Kind::Allocated {
                org: org.into(),
                gateway: format!("gw-{org}"),
                port: None,
                gateway_id: None,
                recycling: false,
            },
        );
    }
    fn refuse(&mut self, secs: i64, org: &str) {
        self.at(secs, Kind::AllocAttempt { org: org.into() });
        self.at(
            secs,
            Kind::AllocFailed {
                org: org.into(),
                reason: Reason::NoGatewayAvailable,
                message: "no_gateway_available".into(),
                gateway: None,
                gateway_id: None,
            },
        );
    }
    fn fail(&mut self, secs: i64, org: &str) {
        self.at(secs, Kind::AllocAttempt { org: org.into() });
        self.at(
            secs,
            Kind::AllocFailed {
                org: org.into(),
                reason: Reason::HealthCheck,
                message: "Gateway health check failed".into(),
                gateway: None,
                gateway_id: None,
            },
        );
    }
    fn dealloc(&mut self, secs: i64, org: &str) {
        self.at(
            secs,
            Kind::Deallocated {
                org: org.into(),
                gateway: None,
                gateway_id: "g".into(),
                duration_s: None,
            },
        );
    }
    /// (seconds after T0, status, repeat, rule) of the notifications so far.
    fn timeline(&self) -> Vec<(i64, Status, bool, String)> {
        self.out
            .iter()
            .map(|n| {
                (
                    (n.at - T0) / 1000,
                    n.status,
                    n.repeat,
                    n.alert.rule.name().to_owned(),
                )
            })
            .collect()
    }
}

/// Only `rule` enabled, and no `keep_firing_for` (the state machine alone).
fn only(rule: &str) -> Alerts {
    let mut a = Alerts::default();
    a.pool_exhausted.keep_firing_for = Dur(0);
    a.pool_low.keep_firing_for = Dur(0);
    a.failure_rate.keep_firing_for = Dur(0);
    a.log_silent.enabled = rule == "log_silent";
    a.pool_exhausted.enabled = rule == "pool_exhausted";
    a.pool_low.enabled = rule == "pool_low";
    a.failure_rate.enabled = rule == "failure_rate";
    a.long_allocation.enabled = rule == "long_allocation";
    a.orphaned_allocation.enabled = rule == "orphaned_allocation";
    a.pool_imbalance.enabled = rule == "pool_imbalance";
    a
}

#[test]
fn refusal_fires_at_once_and_resolves_when_an_allocation_succeeds() {
    let mut s = Sim::new(2, only("pool_exhausted"));
    s.alloc(0, "a");
    s.alloc(10, "b");
    s.refuse(20, "c");
    s.refuse(25, "d");
    s.tick(200);
    s.dealloc(300, "a");
    s.alloc(400, "c");
    use Status::*;
    assert_eq!(
        s.timeline(),
        vec![
            (20, Firing, false, "pool_exhausted".into()),
            (400, Resolved, false, "pool_exhausted".into())
        ]
    );
    assert!(
        s.out[0].alert.summary.contains("1 request refused"),
        "{}",
        s.out[0].alert.summary
    );
    assert!(s.out[0].alert.summary.contains("0/2 available"));
    assert_eq!(s.engine.history.len(), 1);
    assert!(s.engine.history[0].resolved_at.is_some());
}

#[test]
fn pool_low_waits_for_its_duration_and_has_hysteresis() {
    let mut cfg = only("pool_low");
    cfg.pool_low.for_ = Dur::secs(600);
    let mut s = Sim::new(4, cfg);
    for (i, o) in ["a", "b", "c", "d"].iter().enumerate() {
        s.alloc(i as i64, o); // available: 3, 2, 1, 0
    }
    // Low since t=2 (available 1 <= 10% of 4, at least 1): pending, fires 600 s later.
    s.tick(601);
    s.dealloc(700, "a"); // 1 available: still low
    s.dealloc(800, "b"); // 2 available: clears (threshold 1, clear at 2)
    s.tick(840);
    let tl = s.timeline();
    assert_eq!(tl.len(), 2, "{tl:?}");
    // Evaluated every 30 s: pending from the first evaluation that saw it (t <= 32), fires
    // at the first evaluation 600 s later; resolves at the first evaluation after t=800.
    assert!(
        (602..=632).contains(&tl[0].0) && tl[0].1 == Status::Firing,
        "{tl:?}"
    );
    assert!(
        (800..=830).contains(&tl[1].0) && tl[1].1 == Status::Resolved,
        "{tl:?}"
    );
}

#[test]
fn a_pending_condition_that_goes_away_is_never_notified() {
    let mut cfg = only("pool_low");
    cfg.pool_low.for_ = Dur::secs(600);
    let mut s = Sim::new(4, cfg);
    for (i, o) in ["a", "b", "c"].iter().enumerate() {
        s.alloc(i as i64, o);
    }
    s.dealloc(300, "a");
    s.tick(2000);
    assert!(s.out.is_empty());
}

#[test]
fn failure_rate_needs_enough_attempts_and_clears_below_its_clear_mark() {
    let mut cfg = only("failure_rate");
    cfg.failure_rate.for_ = Dur(0);
    cfg.failure_rate.min_attempts = 10;
    let mut s = Sim::new(100, cfg);
    // 3 of 5 fail: not enough attempts.
    for i in 0..5 {
        if i < 3 {
            s.fail(i, &format!("f{i}"));
        } else {
            s.alloc(i, &format!("o{i}"));
        }
    }
    assert!(s.out.is_empty());
    // 5 more successes: 3/10 = 30% > 20%: fires.
    for i in 5..10 {
        s.alloc(i, &format!("o{i}"));
    }
    // Evaluated at every event: fires at the tenth attempt.
    assert_eq!(s.timeline().len(), 1);
    assert_eq!(s.out[0].at, T0 + 9000);
    // 15% is below the threshold but above the clear mark: stays firing.
    for i in 10..20 {
        s.alloc(i, &format!("o{i}"));
    }
    assert_eq!(s.timeline().len(), 1);
    // Refusals are not counted as failures, only as attempts.
    s.refuse(21, "r");
    // When the failures leave the 15-minute window, the rate drops to 0: resolved.
    s.tick(16 * 60);
    let tl = s.timeline();
    assert_eq!(tl.len(), 2);
    assert_eq!(tl[1].1, Status::Resolved);
    assert!((tl[1].0 - 900).abs() <= 30, "{tl:?}");
}

#[test]
fn long_allocation_fires_per_org_and_resolves_on_deallocation_with_repeats() {
    let mut cfg = only("long_allocation");
    cfg.long_allocation.max_age = Dur::secs(3600);
    cfg.repeat_interval = Dur::secs(3600);
    let mut s = Sim::new(10, cfg);
    s.alloc(0, "a");
    s.alloc(600, "b");
    s.dealloc(1200, "b");
    s.tick(3 * 3600);
    s.dealloc(3 * 3600 + 10, "a");
    use Status::*;
    let tl = s.timeline();
    assert_eq!(tl.len(), 3, "{tl:?}");
    assert_eq!((tl[0].1, tl[0].2), (Firing, false));
    assert!((3600..=3630).contains(&tl[0].0), "{tl:?}");
    // Repeated an hour later; the next repeat would be due after the deallocation.
    assert_eq!((tl[1].0 - tl[0].0, tl[1].1, tl[1].2), (3600, Firing, true));
    assert_eq!((tl[2].0, tl[2].1), (3 * 3600 + 10, Resolved));
    assert_eq!(
        s.out[0].alert.labels.get("org").map(String::as_str),
        Some("a")
    );
}

#[test]
fn an_allocation_read_after_the_clock_passed_it_is_still_judged() {
    let mut cfg = only("long_allocation");
    cfg.long_allocation.max_age = Dur::secs(3600);
    let mut s = Sim::new(10, cfg);
    s.alloc(0, "a");
    // `check` evaluates at the wall clock, far after the log…
    let now = T0 + 10 * 3_600_000;
    let first = s.engine.evaluate(now, &s.pool);
    assert_eq!(first.len(), 1);
    // …then reads an allocation older than the limit on its next run.
    s.alloc(5 * 3600, "b");
    let next = s.engine.evaluate(now + 60_000, &s.pool);
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0].alert.labels["org"], "b");
}

#[test]
fn orphans_fire_until_cleaned_up() {
    let mut s = Sim::new(10, only("orphaned_allocation"));
    s.alloc(0, "a");
    s.at(
        5,
        Kind::Orphaned {
            org: "a".into(),
            error: "Cleanup failed".into(),
        },
    );
    s.dealloc(7200, "a");
    use Status::*;
    assert_eq!(
        s.timeline(),
        vec![
            (5, Firing, false, "orphaned_allocation".into()),
            (7200, Resolved, false, "orphaned_allocation".into())
        ]
    );
}

#[test]
fn imbalance_uses_a_long_window() {
    let mut cfg = only("pool_imbalance");
    cfg.pool_imbalance.window = Dur::secs(3600);
    let mut s = Sim::new(2, cfg);
    s.alloc(0, "a");
    s.alloc(0, "b");
    // Full for an hour: fires once the window is covered.
    s.tick(3700);
    assert_eq!(s.timeline().len(), 1);
    assert_eq!(
        s.out[0].alert.labels.get("direction").map(String::as_str),
        Some("high")
    );
    s.dealloc(3700, "a");
    s.dealloc(3700, "b");
    // Empty for an hour: the high alert clears, then the low one fires.
    s.tick(3 * 3600);
    let rules: Vec<(Status, String)> = s
        .out
        .iter()
        .map(|n| (n.status, n.alert.labels["direction"].clone()))
        .collect();
    assert_eq!(
        rules,
        vec![
            (Status::Firing, "high".into()),
            (Status::Resolved, "high".into()),
            (Status::Firing, "low".into())
        ]
    );
}

#[test]
fn fingerprints_are_stable() {
    let mut l = BTreeMap::new();
    l.insert("org".to_owned(), "a\"b".to_owned());
    assert_eq!(
        fingerprint("long_allocation", &l),
        "long_allocation{org=\"a\\\"b\"}"
    );
}

#[test]
fn the_engine_forgets_the_oldest_beyond_max_tracked() {
    let mut s = Sim::new(1000, Alerts::default());
    s.engine.max_tracked = 10;
    for i in 0..50 {
        s.alloc(i, &format!("o{i}"));
        s.at(
            i,
            Kind::Orphaned {
                org: format!("p{i}"),
                error: "x".into(),
            },
        );
    }
    assert!(s.engine.open.len() <= 10 && s.engine.open_start.len() <= 10);
    assert!(s.engine.orphans.len() <= 10, "{}", s.engine.orphans.len());
    assert!(s.engine.open_start.contains_key("o49"));
    // A flood of attempts at one moment: the window stays bounded.
    for i in 0..(MAX_WINDOW + 10) {
        s.engine.observe(&Event {
            time: T0,
            kind: Kind::AllocAttempt {
                org: format!("f{i}"),
            },
            origin: Origin { input: 0, line: 0 },
            stream: None,
            raw: String::new(),
        });
    }
    assert_eq!(s.engine.window.len(), MAX_WINDOW);
}
