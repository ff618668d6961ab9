//! Alert engine (DESIGN.md §6): rules evaluated over the pool model in event time, each alert a
//! state machine inactive → pending → firing → resolved with hysteresis, one notification per
//! transition, a repeat interval while firing and deduplication by fingerprint (rule + labels).
//!
//! The engine is fed the same events as the pool ([`Engine::observe`]) and evaluated after each
//! event and on clock ticks ([`Engine::evaluate`]); it never reads the wall clock itself, so a
//! replay of history gives exactly the alerts a live run would have given.

pub mod alertmanager;
pub mod exec;
pub mod sinks;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;

use crate::config::{Alerts, Severity};
use crate::event::{Event, Kind, Millis, Reason, fmt_time};
use crate::export::text::human_secs;
use crate::pool::Pool;
use crate::report::AlertRecord;

/// The rules, in the order they are evaluated and listed.
pub const RULES: [&str; 6] = [
    "pool_exhausted",
    "pool_low",
    "failure_rate",
    "long_allocation",
    "orphaned_allocation",
    "pool_imbalance",
];

/// An alert as sinks see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub rule: String,
    pub severity: String,
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    /// The figure that triggered it (refusals, available gateways, failure rate, age in seconds…).
    pub value: f64,
    pub fingerprint: String,
    #[serde(serialize_with = "crate::event::ser_time")]
    pub starts_at: Millis,
    #[serde(serialize_with = "crate::event::ser_opt_time")]
    pub ends_at: Option<Millis>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Firing,
    Resolved,
}

/// One transition (or a repeat of a firing alert).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
    pub status: Status,
    pub repeat: bool,
    #[serde(serialize_with = "crate::event::ser_time")]
    pub at: Millis,
    #[serde(flatten)]
    pub alert: Alert,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum State {
    Pending { since: Millis },
    Firing { since: Millis, notified: Millis },
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Instance {
    rule: String,
    labels: BTreeMap<String, String>,
    state: State,
    summary: String,
    value: f64,
    /// Index of this firing in the history.
    history: Option<usize>,
}

/// What a rule says about one alert instance at an evaluation.
struct Verdict {
    labels: BTreeMap<String, String>,
    /// The trigger condition holds.
    trigger: bool,
    /// The clear condition holds (hysteresis: a firing alert stays until then).
    clear: bool,
    summary: String,
    value: f64,
}

/// The alert engine.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Engine {
    cfg: Alerts,
    instances: BTreeMap<String, Instance>,
    /// Refusals since the last successful allocation (the exhaustion incident), and the first.
    refusals: u64,
    first_refusal: Option<Millis>,
    /// Attempts and failures in the failure-rate window: (time, org, failed reason).
    window: VecDeque<(Millis, String, Option<Reason>)>,
    /// Open allocations by start time, for the long-allocation rule.
    open: BTreeSet<(Millis, String)>,
    open_start: BTreeMap<String, Millis>,
    orphans: BTreeMap<String, Millis>,
    /// (time, utilization area, time with known total) samples for the imbalance window.
    util: VecDeque<(Millis, f64, i64)>,
    last_eval: Option<Millis>,
    /// Every firing, with its resolution: the report's `alerts`.
    pub history: Vec<AlertRecord>,
    /// When false, transitions are recorded but not notified (rebuilding state from history).
    pub notify: bool,
}

impl Engine {
    pub fn new(cfg: Alerts) -> Engine {
        Engine {
            cfg,
            instances: BTreeMap::new(),
            refusals: 0,
            first_refusal: None,
            window: VecDeque::new(),
            open: BTreeSet::new(),
            open_start: BTreeMap::new(),
            orphans: BTreeMap::new(),
            util: VecDeque::new(),
            last_eval: None,
            history: Vec::new(),
            notify: true,
        }
    }

    pub fn config(&self) -> &Alerts {
        &self.cfg
    }

    /// An engine with this run's configuration and a previous run's state (`gwmon check`).
    pub fn with_history(cfg: Alerts, mut saved: Engine) -> Engine {
        saved.cfg = cfg;
        saved
    }

    /// Keep the last `n` firings of the history.
    pub fn trim_history(&mut self, n: usize) {
        if self.history.len() > n {
            let cut = self.history.len() - n;
            self.history.drain(..cut);
            for i in self.instances.values_mut() {
                i.history = i.history.and_then(|h| h.checked_sub(cut));
            }
        }
    }

    /// Update the engine's windows with an event (already applied to the pool).
    pub fn observe(&mut self, ev: &Event) {
        let t = ev.time;
        match &ev.kind {
            Kind::AllocAttempt { org } => self.window.push_back((t, org.clone(), None)),
            Kind::AllocFailed { org, reason, .. } => {
                if *reason == Reason::NoGatewayAvailable {
                    self.refusals += 1;
                    self.first_refusal.get_or_insert(t);
                }
                // The failure replaces its attempt's entry when there is one in the window.
                if let Some(e) = self
                    .window
                    .iter_mut()
                    .rev()
                    .find(|(_, o, r)| o == org && r.is_none())
                {
                    e.2 = Some(*reason);
                } else {
                    self.window.push_back((t, org.clone(), Some(*reason)));
                }
            }
            Kind::Allocated { org, .. } => {
                self.refusals = 0;
                self.first_refusal = None;
                self.close(org);
                self.orphans.remove(org);
                self.open.insert((t, org.clone()));
                self.open_start.insert(org.clone(), t);
            }
            Kind::Deallocated { org, .. } | Kind::Rollback { org, .. } => {
                self.close(org);
                self.orphans.remove(org);
            }
            Kind::Orphaned { org, .. } => {
                self.orphans.entry(org.clone()).or_insert(t);
            }
            _ => {}
        }
    }

    fn close(&mut self, org: &str) {
        if let Some(s) = self.open_start.remove(org) {
            self.open.remove(&(s, org.to_owned()));
        }
    }

    /// Whether `now` is due for a periodic evaluation.
    pub fn due(&self, now: Millis) -> bool {
        self.last_eval
            .is_none_or(|l| now - l >= self.cfg.eval_interval.ms())
    }

    /// The next time a periodic evaluation is due after the last one.
    pub fn next_due(&self) -> Option<Millis> {
        self.last_eval.map(|l| l + self.cfg.eval_interval.ms())
    }

    /// Evaluate every rule at `now` and return the notifications of the transitions.
    pub fn evaluate(&mut self, now: Millis, pool: &Pool) -> Vec<Notification> {
        self.last_eval = Some(now);
        let horizon = now - self.cfg.failure_rate.window.ms();
        while self.window.front().is_some_and(|(t, _, _)| *t <= horizon) {
            self.window.pop_front();
        }
        let (area, known) = pool.util_area_at(now);
        if self
            .util
            .back()
            .is_none_or(|(t, _, _)| now - t >= self.cfg.eval_interval.ms())
        {
            self.util.push_back((now, area, known));
        }
        let keep = now - self.cfg.pool_imbalance.window.ms() - 2 * self.cfg.eval_interval.ms();
        while self.util.len() > 2 && self.util.get(1).is_some_and(|(t, _, _)| *t <= keep) {
            self.util.pop_front();
        }

        let mut out = Vec::new();
        for rule in RULES {
            let (enabled, for_, verdicts) = self.verdicts(rule, now, pool, area, known);
            if !enabled {
                continue;
            }
            self.step(rule, now, for_, verdicts, &mut out);
        }
        out
    }

    fn base_labels(&self, rule_labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut l = self.cfg.labels.clone();
        l.extend(rule_labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        l
    }

    fn severity(&self, rule: &str) -> Severity {
        let a = &self.cfg;
        match rule {
            "pool_exhausted" => a.pool_exhausted.severity.clone(),
            "pool_low" => a.pool_low.severity.clone(),
            "failure_rate" => a.failure_rate.severity.clone(),
            "long_allocation" => a.long_allocation.severity.clone(),
            "orphaned_allocation" => a.orphaned_allocation.severity.clone(),
            _ => a.pool_imbalance.severity.clone(),
        }
    }

    /// The rule's instances now: (enabled, `for` in ms, verdicts).
    fn verdicts(
        &self,
        rule: &str,
        now: Millis,
        pool: &Pool,
        area: f64,
        known: i64,
    ) -> (bool, i64, Vec<Verdict>) {
        let a = &self.cfg;
        let total = pool.total();
        let avail = pool.available();
        let avail_txt = match (avail, total) {
            (Some(av), Some(t)) => format!("{av}/{t} available"),
            _ => format!("{} allocated, pool size unknown", pool.allocated()),
        };
        match rule {
            "pool_exhausted" => {
                let r = &a.pool_exhausted;
                let trigger = self.refusals > 0;
                let since = self
                    .first_refusal
                    .map_or(String::new(), |t| format!(" since {}", fmt_time(t)));
                let summary = if trigger {
                    format!(
                        "pool exhausted: {} request{} refused{since} (no_gateway_available), {avail_txt}",
                        self.refusals,
                        if self.refusals == 1 { "" } else { "s" }
                    )
                } else {
                    format!("allocations succeed again, {avail_txt}")
                };
                let v = Verdict {
                    labels: self.base_labels(&r.labels),
                    trigger,
                    clear: !trigger,
                    summary,
                    value: self.refusals as f64,
                };
                (r.enabled, r.for_.ms(), vec![v])
            }
            "pool_low" => {
                let r = &a.pool_low;
                let (Some(t), Some(av)) = (total, avail) else {
                    return (r.enabled, r.for_.ms(), Vec::new());
                };
                let at_most = r.available_at_most.resolve(t) as i64;
                let clear_at = (r.clear_at_least.resolve(t) as i64).max(at_most + 1);
                let v = Verdict {
                    labels: self.base_labels(&r.labels),
                    trigger: av <= at_most,
                    clear: av >= clear_at,
                    summary: format!("pool running low: {av}/{t} available (threshold {at_most})"),
                    value: av as f64,
                };
                (r.enabled, r.for_.ms(), vec![v])
            }
            "failure_rate" => {
                let r = &a.failure_rate;
                let counted = |reason: &Option<Reason>| {
                    reason.is_some_and(|x| !r.exclude_reasons.iter().any(|e| e == x.as_str()))
                };
                let win = human_secs(r.window.ms() as f64 / 1000.0);
                let verdict = |labels, attempts: u64, failed: u64, min: u64, who: &str| {
                    let rate = if attempts > 0 {
                        failed as f64 / attempts as f64
                    } else {
                        0.0
                    };
                    Verdict {
                        labels,
                        trigger: attempts >= min && rate > r.threshold,
                        clear: attempts == 0 || (attempts >= min.min(1) && rate <= r.clear),
                        summary: format!(
                            "{who}failure rate {:.1}% ({failed} of {attempts} attempts in {win}; threshold {:.0}%)",
                            rate * 100.0,
                            r.threshold * 100.0
                        ),
                        value: rate,
                    }
                };
                let attempts = self.window.len() as u64;
                let failed = self.window.iter().filter(|(_, _, x)| counted(x)).count() as u64;
                let mut v = vec![verdict(
                    self.base_labels(&r.labels),
                    attempts,
                    failed,
                    r.min_attempts,
                    "",
                )];
                if r.per_org {
                    let mut per: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
                    for (_, org, x) in &self.window {
                        let e = per.entry(org).or_default();
                        e.0 += 1;
                        e.1 += u64::from(counted(x));
                    }
                    // Organizations with an alert in progress are evaluated even when quiet.
                    for inst in self.instances.values().filter(|i| i.rule == "failure_rate") {
                        if let Some(o) = inst.labels.get("org") {
                            per.entry(o.as_str()).or_default();
                        }
                    }
                    for (org, (n, f)) in per {
                        let mut labels = self.base_labels(&r.labels);
                        labels.insert("org".into(), org.to_owned());
                        v.push(verdict(
                            labels,
                            n,
                            f,
                            r.org_min_attempts,
                            &format!("org {org}: "),
                        ));
                    }
                }
                (r.enabled, r.for_.ms(), v)
            }
            "long_allocation" => {
                let r = &a.long_allocation;
                let limit = now - r.max_age.ms();
                let mut v: Vec<Verdict> = self
                    .open
                    .range(..(limit, String::new()))
                    .map(|(start, org)| {
                        let mut labels = self.base_labels(&r.labels);
                        labels.insert("org".into(), org.clone());
                        let age = (now - start) as f64 / 1000.0;
                        let gw = pool.open.get(org).map_or("?", |o| o.gateway.as_str());
                        Verdict {
                            labels,
                            trigger: true,
                            clear: false,
                            summary: format!(
                                "allocation of {gw} to org {org} open for {} (limit {})",
                                human_secs(age),
                                r.max_age
                            ),
                            value: age,
                        }
                    })
                    .collect();
                self.clear_missing("long_allocation", &mut v);
                (r.enabled, 0, v)
            }
            "orphaned_allocation" => {
                let r = &a.orphaned_allocation;
                let mut v: Vec<Verdict> = self
                    .orphans
                    .iter()
                    .map(|(org, since)| {
                        let mut labels = self.base_labels(&r.labels);
                        labels.insert("org".into(), org.clone());
                        Verdict {
                            labels,
                            trigger: true,
                            clear: false,
                            summary: format!(
                                "orphaned allocation of org {org} since {} (cleanup failed: manual intervention required)",
                                fmt_time(*since)
                            ),
                            value: (now - since) as f64 / 1000.0,
                        }
                    })
                    .collect();
                self.clear_missing("orphaned_allocation", &mut v);
                (r.enabled, 0, v)
            }
            _ => {
                let r = &a.pool_imbalance;
                let from = now - r.window.ms();
                let base = self.util.iter().rev().find(|(t, _, _)| *t <= from);
                let mut v = Vec::new();
                if let Some((_, a0, k0)) = base {
                    let dk = known - k0;
                    // Judge only a window where the pool size was known most of the time.
                    if dk as f64 >= 0.9 * r.window.ms() as f64 && dk > 0 {
                        let mean = (area - a0) / dk as f64;
                        let win = &r.window;
                        for (dir, trigger, clear, mark) in [
                            ("high", mean > r.high, mean <= r.high_clear, r.high),
                            ("low", mean < r.low, mean >= r.low_clear, r.low),
                        ] {
                            let mut labels = self.base_labels(&r.labels);
                            labels.insert("direction".into(), dir.into());
                            v.push(Verdict {
                                labels,
                                trigger,
                                clear,
                                summary: format!(
                                    "pool consistently too {}: utilization {:.1}% over {win} (mark {:.0}%)",
                                    if dir == "high" { "full" } else { "empty" },
                                    mean * 100.0,
                                    mark * 100.0
                                ),
                                value: mean,
                            });
                        }
                    }
                }
                (r.enabled, 0, v)
            }
        }
    }

    /// Instances of `rule` without a verdict now are cleared (their allocation ended).
    fn clear_missing(&self, rule: &str, v: &mut Vec<Verdict>) {
        for inst in self.instances.values().filter(|i| i.rule == rule) {
            if !v.iter().any(|x| x.labels == inst.labels) {
                v.push(Verdict {
                    labels: inst.labels.clone(),
                    trigger: false,
                    clear: true,
                    summary: match rule {
                        "long_allocation" => format!(
                            "allocation of org {} ended",
                            inst.labels.get("org").map_or("?", String::as_str)
                        ),
                        _ => format!(
                            "orphaned allocation of org {} cleaned up",
                            inst.labels.get("org").map_or("?", String::as_str)
                        ),
                    },
                    value: 0.0,
                });
            }
        }
    }

    fn step(
        &mut self,
        rule: &str,
        now: Millis,
        for_: i64,
        verdicts: Vec<Verdict>,
        out: &mut Vec<Notification>,
    ) {
        let severity = self.severity(rule).as_str().to_owned();
        let repeat = self.cfg.repeat_interval.ms();
        for v in verdicts {
            let fp = fingerprint(rule, &v.labels);
            let inst = self.instances.get_mut(&fp);
            match inst {
                None => {
                    if !v.trigger {
                        continue;
                    }
                    let mut inst = Instance {
                        rule: rule.to_owned(),
                        labels: v.labels,
                        state: State::Pending { since: now },
                        summary: v.summary,
                        value: v.value,
                        history: None,
                    };
                    if for_ <= 0 {
                        fire(
                            &mut inst,
                            now,
                            &fp,
                            &severity,
                            &mut self.history,
                            self.notify,
                            out,
                        );
                    }
                    self.instances.insert(fp, inst);
                }
                Some(inst) => match inst.state {
                    State::Pending { since } => {
                        if !v.trigger {
                            self.instances.remove(&fp);
                            continue;
                        }
                        inst.summary = v.summary;
                        inst.value = v.value;
                        if now - since >= for_ {
                            fire(
                                inst,
                                now,
                                &fp,
                                &severity,
                                &mut self.history,
                                self.notify,
                                out,
                            );
                        }
                    }
                    State::Firing { since, notified } => {
                        if v.clear {
                            let mut inst = self.instances.remove(&fp).expect("present");
                            inst.summary = v.summary;
                            inst.value = v.value;
                            if let Some(h) = inst.history.and_then(|i| self.history.get_mut(i)) {
                                h.resolved_at = Some(fmt_time(now));
                            }
                            if self.notify {
                                out.push(notification(
                                    &inst,
                                    Status::Resolved,
                                    false,
                                    now,
                                    since,
                                    Some(now),
                                    &fp,
                                    &severity,
                                ));
                            }
                            continue;
                        }
                        inst.summary = v.summary;
                        inst.value = v.value;
                        if repeat > 0 && now - notified >= repeat {
                            inst.state = State::Firing {
                                since,
                                notified: now,
                            };
                            if self.notify {
                                out.push(notification(
                                    inst,
                                    Status::Firing,
                                    true,
                                    now,
                                    since,
                                    None,
                                    &fp,
                                    &severity,
                                ));
                            }
                        }
                    }
                },
            }
        }
    }

    /// The alerts firing now.
    pub fn firing(&self) -> Vec<Alert> {
        self.instances
            .iter()
            .filter_map(|(fp, i)| match i.state {
                State::Firing { since, .. } => Some(Alert {
                    rule: i.rule.clone(),
                    severity: self.severity(&i.rule).as_str().to_owned(),
                    labels: i.labels.clone(),
                    summary: i.summary.clone(),
                    value: i.value,
                    fingerprint: fp.clone(),
                    starts_at: since,
                    ends_at: None,
                }),
                State::Pending { .. } => None,
            })
            .collect()
    }

    /// Whether a rule has a firing instance (for the exported alert-state gauges).
    pub fn rule_state(&self, rule: &str) -> u8 {
        let mut s = 0;
        for i in self.instances.values().filter(|i| i.rule == rule) {
            s = s.max(match i.state {
                State::Pending { .. } => 1,
                State::Firing { .. } => 2,
            });
        }
        s
    }
}

#[allow(clippy::too_many_arguments)]
fn fire(
    inst: &mut Instance,
    now: Millis,
    fp: &str,
    severity: &str,
    history: &mut Vec<AlertRecord>,
    notify: bool,
    out: &mut Vec<Notification>,
) {
    inst.state = State::Firing {
        since: now,
        notified: now,
    };
    history.push(AlertRecord {
        rule: inst.rule.clone(),
        severity: severity.to_owned(),
        fired_at: fmt_time(now),
        resolved_at: None,
        summary: inst.summary.clone(),
    });
    inst.history = Some(history.len() - 1);
    if notify {
        out.push(notification(
            inst,
            Status::Firing,
            false,
            now,
            now,
            None,
            fp,
            severity,
        ));
    }
}

#[allow(clippy::too_many_arguments)]
fn notification(
    inst: &Instance,
    status: Status,
    repeat: bool,
    at: Millis,
    starts_at: Millis,
    ends_at: Option<Millis>,
    fp: &str,
    severity: &str,
) -> Notification {
    Notification {
        status,
        repeat,
        at,
        alert: Alert {
            rule: inst.rule.clone(),
            severity: severity.to_owned(),
            labels: inst.labels.clone(),
            summary: inst.summary.clone(),
            value: inst.value,
            fingerprint: fp.to_owned(),
            starts_at,
            ends_at,
        },
    }
}

/// `rule{k="v",…}`: the identity used for deduplication.
pub fn fingerprint(rule: &str, labels: &BTreeMap<String, String>) -> String {
    let mut s = rule.to_owned();
    s.push('{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push('=');
        s.push_str(&serde_json::to_string(v).unwrap_or_default());
    }
    s.push('}');
    s
}

/// Drives a pool and an engine over events in event time, with periodic evaluations between
/// events, for replays (`gwmon report`, `gwmon alerts`, `gwmon check`).
pub struct Replay<'a> {
    pub pool: &'a mut Pool,
    pub engine: &'a mut Engine,
}

impl Replay<'_> {
    /// Evaluate at every due tick strictly before `t`, then apply `ev` and evaluate at its time.
    pub fn event(&mut self, ev: &mut Event, out: &mut Vec<Notification>) {
        self.ticks_until(ev.time, out);
        self.pool.apply(ev);
        self.engine.observe(ev);
        out.extend(
            self.engine
                .evaluate(ev.time.max(self.pool.now.unwrap_or(ev.time)), self.pool),
        );
    }

    /// Periodic evaluations up to (not including) `t`.
    pub fn ticks_until(&mut self, t: Millis, out: &mut Vec<Notification>) {
        while let Some(due) = self.engine.next_due() {
            if due >= t {
                break;
            }
            out.extend(self.engine.evaluate(due, self.pool));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Alerts, Dur};
    use crate::event::Origin;
    use crate::pool::PoolConfig;

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
                },
            );
        }
        fn dealloc(&mut self, secs: i64, org: &str) {
            self.at(
                secs,
                Kind::Deallocated {
                    org: org.into(),
                    gateway: "g".into(),
                    duration_s: None,
                },
            );
        }
        /// (seconds after T0, status, repeat, rule) of the notifications so far.
        fn timeline(&self) -> Vec<(i64, Status, bool, String)> {
            self.out
                .iter()
                .map(|n| ((n.at - T0) / 1000, n.status, n.repeat, n.alert.rule.clone()))
                .collect()
        }
    }

    fn only(rule: &str) -> Alerts {
        let mut a = Alerts::default();
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
        let tl = s.timeline();
        assert_eq!(tl.len(), 2, "{tl:?}");
        // Evaluated every 30 s between events: fires at the first evaluation 600 s after t=2.
        assert!(
            (602..632).contains(&tl[0].0) && tl[0].1 == Status::Firing,
            "{tl:?}"
        );
        assert_eq!((tl[1].0, tl[1].1), (800, Status::Resolved));
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
}
