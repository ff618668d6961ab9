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

const EXHAUSTED: u8 = 0;
const LOW: u8 = 1;
const RATE: u8 = 2;
const LONG: u8 = 3;
const ORPHAN: u8 = 4;
const ALL_RULES: u8 = 0b11_1111;

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
    labels: BTreeMap<String, String>,
    fingerprint: String,
    state: State,
    /// What the rule said at the last evaluation (rendered to text only when needed).
    last: Summary,
    value: f64,
    /// Index of this firing in the history.
    history: Option<usize>,
}

/// The figures behind an alert's summary, kept as numbers: the text is only built for a
/// notification, so evaluating the rules after every event stays cheap.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum Summary {
    Exhausted {
        refusals: u64,
        since: Option<Millis>,
        available: Option<i64>,
        total: Option<u64>,
        allocated: u64,
    },
    Low {
        available: i64,
        total: u64,
        at_most: i64,
    },
    Rate {
        rate: f64,
        failed: u64,
        attempts: u64,
    },
    Long {
        gateway: String,
        age_s: f64,
    },
    Orphan {
        since: Millis,
    },
    Imbalance {
        mean: f64,
    },
    /// The allocation behind a per-organization alert ended.
    Ended,
}

/// What a rule says about one alert instance at an evaluation.
struct Verdict {
    /// The instance within the rule: "" for rules with one instance, else the organization or
    /// the direction.
    key: String,
    /// The trigger condition holds.
    trigger: bool,
    /// The clear condition holds (hysteresis: a firing alert stays until then).
    clear: bool,
    summary: Summary,
    value: f64,
}

/// The alert engine.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Engine {
    cfg: Alerts,
    /// Alert instances by (rule index in [`RULES`], key).
    #[serde(with = "entries")]
    instances: BTreeMap<(u8, String), Instance>,
    /// Refusals since the last successful allocation (the exhaustion incident), and the first.
    refusals: u64,
    first_refusal: Option<Millis>,
    /// Attempts and failures in the failure-rate window: (time, org, failed reason).
    window: VecDeque<(Millis, String, Option<Reason>)>,
    /// Failures in the window that count (their reason is not excluded).
    window_failed: u64,
    /// Open allocations by start time, for the long-allocation rule.
    open: BTreeSet<(Millis, String)>,
    open_start: foldhash::HashMap<String, Millis>,
    orphans: BTreeMap<String, Millis>,
    /// (time, utilization area, time with known total) samples for the imbalance window.
    util: VecDeque<(Millis, f64, i64)>,
    last_eval: Option<Millis>,
    /// Open allocations that started before this were already judged by long_allocation…
    long_limit: Option<Millis>,
    /// …except these, which arrived after their start had been passed (a clock ahead of the
    /// log: the wall clock in `watch` and `check`).
    long_late: Vec<String>,
    /// Per-organization instances whose allocation ended or was cleaned up since the last
    /// evaluation.
    to_clear: Vec<(u8, String)>,
    /// The earliest time a firing alert is due for a repeat notification.
    next_repeat: Option<Millis>,
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
            window_failed: 0,
            open: BTreeSet::new(),
            open_start: Default::default(),
            orphans: BTreeMap::new(),
            util: VecDeque::new(),
            last_eval: None,
            long_limit: None,
            long_late: Vec::new(),
            to_clear: Vec::new(),
            next_repeat: None,
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

    /// Update the engine's windows with an event (already applied to the pool). Returns the
    /// rules (bit `i` for `RULES[i]`) the event can change, to be evaluated at its own time.
    pub fn observe(&mut self, ev: &Event) -> u8 {
        let t = ev.time;
        let rate_active = self.instances.keys().any(|(i, _)| *i == RATE);
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
                if self.counts(Some(*reason)) {
                    self.window_failed += 1;
                }
            }
            Kind::Allocated { org, .. } => {
                self.refusals = 0;
                self.first_refusal = None;
                self.close(org);
                self.open.insert((t, org.clone()));
                self.open_start.insert(org.clone(), t);
                if self.long_limit.is_some_and(|l| t < l) {
                    self.long_late.push(org.clone());
                }
            }
            Kind::Deallocated { org, .. } | Kind::Rollback { org, .. } => {
                self.close(org);
            }
            Kind::Orphaned { org, .. } => {
                self.orphans.entry(org.clone()).or_insert(t);
            }
            _ => {}
        }
        // Every event is evaluated, at its own time, for the rules it can change, so conditions
        // start (and incidents fire and resolve) at the right moment; the periodic evaluations
        // only cover what time alone changes.
        let clears = self.to_clear.iter().fold(0u8, |m, (i, _)| m | (1 << i));
        let bit = |i: u8| 1u8 << i;
        match &ev.kind {
            // One more attempt lowers the failure rate, or brings it to the minimum of attempts.
            Kind::AllocAttempt { .. } if rate_active || self.window_failed > 0 => bit(RATE),
            Kind::AllocFailed { reason, .. } => {
                bit(RATE)
                    | if *reason == Reason::NoGatewayAvailable {
                        bit(EXHAUSTED)
                    } else {
                        0
                    }
            }
            Kind::Allocated { .. } => bit(EXHAUSTED) | bit(LOW) | clears,
            Kind::Deallocated { .. } | Kind::Rollback { .. } => bit(LOW) | clears,
            Kind::Orphaned { .. } => bit(ORPHAN) | bit(LOW),
            Kind::PoolSnapshot { .. } => bit(LOW),
            _ => 0,
        }
    }

    /// The organization's allocation ended (or was replaced): its per-organization alerts clear.
    fn close(&mut self, org: &str) {
        if let Some(s) = self.open_start.remove(org) {
            self.open.remove(&(s, org.to_owned()));
        }
        self.orphans.remove(org);
        for idx in [LONG, ORPHAN] {
            let id = (idx, org.to_owned());
            if self.instances.contains_key(&id) {
                self.to_clear.push(id);
            }
        }
    }

    /// Whether `now` is due for a periodic evaluation.
    pub fn due(&self, now: Millis) -> bool {
        self.last_eval
            .is_none_or(|l| now - l >= self.cfg.eval_interval.ms())
    }

    /// The next time an evaluation between events can change anything: a pending alert's `for`
    /// running out, a repeat, an allocation reaching the long-allocation limit, an attempt
    /// leaving the failure-rate window, or the imbalance window moving on (a 96th of it). Never
    /// sooner than `eval_interval` after the last evaluation. Replays of quiet stretches thus
    /// cost nothing, while every alert still fires within `eval_interval` of its moment.
    pub fn next_due(&self) -> Option<Millis> {
        let last = self.last_eval?;
        let a = &self.cfg;
        let mut t = last + (a.pool_imbalance.window.ms() / 96).max(a.eval_interval.ms());
        for ((idx, _), inst) in &self.instances {
            if let State::Pending { since } = inst.state {
                let for_ = match *idx {
                    0 => a.pool_exhausted.for_.ms(),
                    1 => a.pool_low.for_.ms(),
                    2 => a.failure_rate.for_.ms(),
                    _ => 0,
                };
                t = t.min(since + for_);
            }
        }
        if let Some(r) = self.next_repeat {
            t = t.min(r);
        }
        let from = self.long_limit.unwrap_or(Millis::MIN);
        if let Some((start, _)) = self.open.range((from, String::new())..).next() {
            t = t.min(start.saturating_add(a.long_allocation.max_age.ms()));
        }
        if let Some((front, _, _)) = self.window.front() {
            t = t.min(front + a.failure_rate.window.ms());
        }
        Some(t.max(last + a.eval_interval.ms()))
    }

    /// Evaluate every rule at `now` and return the notifications of the transitions.
    pub fn evaluate(&mut self, now: Millis, pool: &Pool) -> Vec<Notification> {
        self.last_eval = Some(now);
        self.evaluate_rules(now, pool, ALL_RULES)
    }

    /// Evaluate the rules in `mask` (bit `i` for `RULES[i]`) at `now`.
    fn evaluate_rules(&mut self, now: Millis, pool: &Pool, mask: u8) -> Vec<Notification> {
        let horizon = now - self.cfg.failure_rate.window.ms();
        while self.window.front().is_some_and(|(t, _, _)| *t <= horizon) {
            if let Some((_, _, r)) = self.window.pop_front()
                && self.counts(r)
            {
                self.window_failed -= 1;
            }
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
        for (idx, rule) in RULES.iter().enumerate() {
            if mask & (1 << idx) == 0 {
                continue;
            }
            let (enabled, for_, verdicts) = self.verdicts(rule, now, pool, area, known);
            if !enabled {
                continue;
            }
            self.step(idx as u8, now, for_, verdicts, &mut out);
        }
        if mask & (1 << LONG) != 0 {
            self.long_limit = Some(now - self.cfg.long_allocation.max_age.ms());
            self.long_late.clear();
        }
        self.to_clear.retain(|(i, _)| mask & (1 << i) == 0);
        self.repeats(now, &mut out);
        out
    }

    /// Evaluate what an event (already observed) can have changed, at its time.
    pub fn evaluate_event(&mut self, now: Millis, pool: &Pool, mask: u8) -> Vec<Notification> {
        if mask == 0 {
            return Vec::new();
        }
        self.evaluate_rules(now, pool, mask)
    }

    /// Notify firing alerts again every `repeat_interval`.
    fn repeats(&mut self, now: Millis, out: &mut Vec<Notification>) {
        let repeat = self.cfg.repeat_interval.ms();
        if repeat <= 0 || self.next_repeat.is_some_and(|t| now < t) {
            return;
        }
        let mut next: Option<Millis> = None;
        let mut due = Vec::new();
        for (id, inst) in &self.instances {
            if let State::Firing { notified, .. } = inst.state {
                if now - notified >= repeat {
                    due.push(id.clone());
                } else {
                    let t = notified + repeat;
                    next = Some(next.map_or(t, |n| n.min(t)));
                }
            }
        }
        for id in due {
            // Long allocations: the age grows while they fire.
            if id.0 == LONG
                && let Some(start) = self.open_start.get(&id.1)
            {
                let age_s = (now - start) as f64 / 1000.0;
                if let Some(inst) = self.instances.get_mut(&id) {
                    inst.value = age_s;
                    if let Summary::Long { age_s: a, .. } = &mut inst.last {
                        *a = age_s;
                    }
                }
            }
            let Some(inst) = self.instances.get_mut(&id) else {
                continue;
            };
            let State::Firing { since, .. } = inst.state else {
                continue;
            };
            inst.state = State::Firing {
                since,
                notified: now,
            };
            next = Some(next.map_or(now + repeat, |n| n.min(now + repeat)));
            if self.notify {
                let inst = &self.instances[&id];
                out.push(Notification {
                    status: Status::Firing,
                    repeat: true,
                    at: now,
                    alert: self.alert(id.0, &id.1, inst, since, None),
                });
            }
        }
        self.next_repeat = next;
    }

    /// Whether a window entry is a failure the failure-rate rule counts.
    fn counts(&self, reason: Option<Reason>) -> bool {
        reason.is_some_and(|x| {
            !self
                .cfg
                .failure_rate
                .exclude_reasons
                .iter()
                .any(|e| e == x.as_str())
        })
    }

    /// The text of an alert's summary.
    fn render(&self, rule: &str, key: &str, s: &Summary) -> String {
        match s {
            Summary::Exhausted {
                refusals,
                since,
                available,
                total,
                allocated,
            } => {
                let avail = match (available, total) {
                    (Some(a), Some(t)) => format!("{a}/{t} available"),
                    _ => format!("{allocated} allocated, pool size unknown"),
                };
                if *refusals == 0 {
                    format!("allocations succeed again, {avail}")
                } else {
                    let since = since.map_or(String::new(), |t| format!(" since {}", fmt_time(t)));
                    format!(
                        "pool exhausted: {refusals} request{} refused{since} (no_gateway_available), {avail}",
                        if *refusals == 1 { "" } else { "s" }
                    )
                }
            }
            Summary::Low {
                available,
                total,
                at_most,
            } => format!("pool running low: {available}/{total} available (threshold {at_most})"),
            Summary::Rate {
                rate,
                failed,
                attempts,
            } => {
                let r = &self.cfg.failure_rate;
                let who = if key.is_empty() {
                    String::new()
                } else {
                    format!("org {key}: ")
                };
                format!(
                    "{who}failure rate {:.1}% ({failed} of {attempts} attempts in {}; threshold {:.0}%)",
                    rate * 100.0,
                    r.window,
                    r.threshold * 100.0
                )
            }
            Summary::Long { gateway, age_s } => format!(
                "allocation of {gateway} to org {key} open for {} (limit {})",
                human_secs(*age_s),
                self.cfg.long_allocation.max_age
            ),
            Summary::Orphan { since } => format!(
                "orphaned allocation of org {key} since {} (cleanup failed: manual intervention required)",
                fmt_time(*since)
            ),
            Summary::Imbalance { mean } => {
                let r = &self.cfg.pool_imbalance;
                let (word, mark) = if key == "low" {
                    ("empty", r.low)
                } else {
                    ("full", r.high)
                };
                format!(
                    "pool consistently too {word}: utilization {:.1}% over {} (mark {:.0}%)",
                    mean * 100.0,
                    r.window,
                    mark * 100.0
                )
            }
            Summary::Ended => match rule {
                "orphaned_allocation" => format!("orphaned allocation of org {key} cleaned up"),
                _ => format!("allocation of org {key} ended"),
            },
        }
    }

    /// The labels of an instance: global, rule, and the key's own.
    fn labels(&self, rule: &str, key: &str) -> BTreeMap<String, String> {
        let a = &self.cfg;
        let rule_labels = match rule {
            "pool_exhausted" => &a.pool_exhausted.labels,
            "pool_low" => &a.pool_low.labels,
            "failure_rate" => &a.failure_rate.labels,
            "long_allocation" => &a.long_allocation.labels,
            "orphaned_allocation" => &a.orphaned_allocation.labels,
            _ => &a.pool_imbalance.labels,
        };
        let mut l = a.labels.clone();
        l.extend(rule_labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        if !key.is_empty() {
            let name = if rule == "pool_imbalance" {
                "direction"
            } else {
                "org"
            };
            l.insert(name.into(), key.to_owned());
        }
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
        let idx = RULES.iter().position(|r| *r == rule).unwrap_or(0) as u8;
        // Nothing to say about a quiet single-instance rule without an alert in progress: skip
        // building its verdict (this runs at every event).
        let idle = |trigger: bool| !trigger && !self.instances.contains_key(&(idx, String::new()));
        match rule {
            "pool_exhausted" => {
                let r = &a.pool_exhausted;
                let trigger = self.refusals > 0;
                if idle(trigger) {
                    return (r.enabled, r.for_.ms(), Vec::new());
                }
                let v = Verdict {
                    key: String::new(),
                    trigger,
                    clear: !trigger,
                    summary: Summary::Exhausted {
                        refusals: self.refusals,
                        since: self.first_refusal,
                        available: avail,
                        total,
                        allocated: pool.allocated(),
                    },
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
                if idle(av <= at_most) {
                    return (r.enabled, r.for_.ms(), Vec::new());
                }
                let clear_at = (r.clear_at_least.resolve(t) as i64).max(at_most + 1);
                let v = Verdict {
                    key: String::new(),
                    trigger: av <= at_most,
                    clear: av >= clear_at,
                    summary: Summary::Low {
                        available: av,
                        total: t,
                        at_most,
                    },
                    value: av as f64,
                };
                (r.enabled, r.for_.ms(), vec![v])
            }
            "failure_rate" => {
                let r = &a.failure_rate;
                let counted = |reason: &Option<Reason>| {
                    reason.is_some_and(|x| !r.exclude_reasons.iter().any(|e| e == x.as_str()))
                };
                let verdict = |key: String, attempts: u64, failed: u64, min: u64| {
                    let rate = if attempts > 0 {
                        failed as f64 / attempts as f64
                    } else {
                        0.0
                    };
                    Verdict {
                        key,
                        trigger: attempts >= min && rate > r.threshold,
                        clear: attempts == 0 || rate <= r.clear,
                        summary: Summary::Rate {
                            rate,
                            failed,
                            attempts,
                        },
                        value: rate,
                    }
                };
                let attempts = self.window.len() as u64;
                let failed = self.window_failed;
                let mut v = vec![verdict(String::new(), attempts, failed, r.min_attempts)];
                if r.per_org {
                    let mut per: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
                    for (_, org, x) in &self.window {
                        let e = per.entry(org).or_default();
                        e.0 += 1;
                        e.1 += u64::from(counted(x));
                    }
                    // Organizations with an alert in progress are evaluated even when quiet.
                    for (_, k) in self
                        .instances
                        .keys()
                        .filter(|(i, k)| *i == idx && !k.is_empty())
                    {
                        per.entry(k.as_str()).or_default();
                    }
                    for (org, (n, f)) in per {
                        v.push(verdict(org.to_owned(), n, f, r.org_min_attempts));
                    }
                }
                (r.enabled, r.for_.ms(), v)
            }
            "long_allocation" => {
                let r = &a.long_allocation;
                let limit = now - r.max_age.ms();
                // Only allocations that crossed the limit since the last evaluation are new;
                // firing ones are revisited by the repeat pass, ended ones come from `to_clear`.
                let from = self.long_limit.unwrap_or(Millis::MIN).min(limit);
                let late = self.long_late.iter().filter_map(|org| {
                    let start = *self.open_start.get(org)?;
                    (start < from).then_some((start, org))
                });
                let mut v: Vec<Verdict> = self
                    .open
                    .range((from, String::new())..(limit, String::new()))
                    .map(|(start, org)| (*start, org))
                    .chain(late)
                    .map(|(start, org)| {
                        let age_s = (now - start) as f64 / 1000.0;
                        let gateway = pool.open.get(org).map_or("?", |o| o.gateway.as_str());
                        Verdict {
                            key: org.clone(),
                            trigger: true,
                            clear: false,
                            summary: Summary::Long {
                                gateway: gateway.to_owned(),
                                age_s,
                            },
                            value: age_s,
                        }
                    })
                    .collect();
                self.cleared(idx, &mut v);
                (r.enabled, 0, v)
            }
            "orphaned_allocation" => {
                let r = &a.orphaned_allocation;
                let mut v: Vec<Verdict> = self
                    .orphans
                    .iter()
                    .filter(|(org, _)| !self.instances.contains_key(&(idx, (*org).clone())))
                    .map(|(org, since)| Verdict {
                        key: org.clone(),
                        trigger: true,
                        clear: false,
                        summary: Summary::Orphan { since: *since },
                        value: (now - since) as f64 / 1000.0,
                    })
                    .collect();
                self.cleared(idx, &mut v);
                (r.enabled, 0, v)
            }
            _ => {
                let r = &a.pool_imbalance;
                let from = now - r.window.ms();
                // The latest sample at or before the start of the window (samples are in order).
                let i = self.util.partition_point(|(t, _, _)| *t <= from);
                let base = i.checked_sub(1).and_then(|i| self.util.get(i));
                let mut v = Vec::new();
                if let Some((_, a0, k0)) = base {
                    let dk = known - k0;
                    // Judge only a window where the pool size was known most of the time.
                    if dk as f64 >= 0.9 * r.window.ms() as f64 && dk > 0 {
                        let mean = (area - a0) / dk as f64;
                        for (dir, trigger, clear) in [
                            ("high", mean > r.high, mean <= r.high_clear),
                            ("low", mean < r.low, mean >= r.low_clear),
                        ] {
                            v.push(Verdict {
                                key: dir.into(),
                                trigger,
                                clear,
                                summary: Summary::Imbalance { mean },
                                value: mean,
                            });
                        }
                    }
                }
                (r.enabled, 0, v)
            }
        }
    }

    /// Per-organization instances of rule `idx` whose allocation ended clear now.
    fn cleared(&self, idx: u8, v: &mut Vec<Verdict>) {
        for (i, key) in &self.to_clear {
            if *i == idx {
                // An allocation that ended and started again in between is judged afresh.
                v.retain(|x| &x.key != key);
                v.push(Verdict {
                    key: key.clone(),
                    trigger: false,
                    clear: true,
                    summary: Summary::Ended,
                    value: 0.0,
                });
            }
        }
    }

    fn alert(
        &self,
        idx: u8,
        key: &str,
        inst: &Instance,
        starts_at: Millis,
        ends_at: Option<Millis>,
    ) -> Alert {
        let rule = RULES[idx as usize];
        Alert {
            rule: rule.to_owned(),
            severity: self.severity(rule).as_str().to_owned(),
            labels: inst.labels.clone(),
            summary: self.render(rule, key, &inst.last),
            value: inst.value,
            fingerprint: inst.fingerprint.clone(),
            starts_at,
            ends_at,
        }
    }

    fn step(
        &mut self,
        idx: u8,
        now: Millis,
        for_: i64,
        verdicts: Vec<Verdict>,
        out: &mut Vec<Notification>,
    ) {
        let rule = RULES[idx as usize];
        for v in verdicts {
            let id = (idx, v.key);
            let Some(inst) = self.instances.get_mut(&id) else {
                if !v.trigger {
                    continue;
                }
                let labels = self.labels(rule, &id.1);
                let inst = Instance {
                    fingerprint: fingerprint(rule, &labels),
                    labels,
                    state: State::Pending { since: now },
                    last: v.summary,
                    value: v.value,
                    history: None,
                };
                self.instances.insert(id.clone(), inst);
                if for_ <= 0 {
                    self.fire(&id, now, out);
                }
                continue;
            };
            inst.last = v.summary;
            inst.value = v.value;
            match inst.state {
                State::Pending { since } => {
                    if !v.trigger {
                        self.instances.remove(&id);
                    } else if now - since >= for_ {
                        self.fire(&id, now, out);
                    }
                }
                State::Firing { since, .. } => {
                    if v.clear {
                        let inst = self.instances.remove(&id).expect("present");
                        let alert = self.alert(idx, &id.1, &inst, since, Some(now));
                        if let Some(h) = inst.history.and_then(|i| self.history.get_mut(i)) {
                            h.resolved_at = Some(fmt_time(now));
                        }
                        if self.notify {
                            out.push(Notification {
                                status: Status::Resolved,
                                repeat: false,
                                at: now,
                                alert,
                            });
                        }
                    }
                }
            }
        }
    }

    fn fire(&mut self, id: &(u8, String), now: Millis, out: &mut Vec<Notification>) {
        let Some(inst) = self.instances.get(id) else {
            return;
        };
        let alert = self.alert(id.0, &id.1, inst, now, None);
        self.history.push(AlertRecord {
            rule: alert.rule.clone(),
            severity: alert.severity.clone(),
            fired_at: fmt_time(now),
            resolved_at: None,
            summary: alert.summary.clone(),
        });
        let h = self.history.len() - 1;
        if let Some(inst) = self.instances.get_mut(id) {
            inst.state = State::Firing {
                since: now,
                notified: now,
            };
            inst.history = Some(h);
        }
        let repeat = self.cfg.repeat_interval.ms();
        if repeat > 0 {
            self.next_repeat = Some(
                self.next_repeat
                    .map_or(now + repeat, |t| t.min(now + repeat)),
            );
        }
        if self.notify {
            out.push(Notification {
                status: Status::Firing,
                repeat: false,
                at: now,
                alert,
            });
        }
    }

    /// The alerts firing now, with their current summaries.
    pub fn firing(&self) -> Vec<Alert> {
        self.instances
            .iter()
            .filter_map(|((idx, key), i)| match i.state {
                State::Firing { since, .. } => Some(self.alert(*idx, key, i, since, None)),
                State::Pending { .. } => None,
            })
            .collect()
    }

    /// 0 inactive, 1 pending, 2 firing: the most advanced instance of the rule (for the
    /// exported alert-state gauges).
    pub fn rule_state(&self, rule: &str) -> u8 {
        let Some(idx) = RULES.iter().position(|r| *r == rule) else {
            return 0;
        };
        let mut s = 0;
        for ((i, _), inst) in &self.instances {
            if *i as usize == idx {
                s = s.max(match inst.state {
                    State::Pending { .. } => 1,
                    State::Firing { .. } => 2,
                });
            }
        }
        s
    }
}

/// A map with tuple keys, stored as a list of entries (JSON keys must be strings).
mod entries {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        m: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
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
        let mask = self.engine.observe(ev);
        let now = ev.time.max(self.pool.now.unwrap_or(ev.time));
        if self.engine.due(now) {
            out.extend(self.engine.evaluate(now, self.pool));
        } else {
            out.extend(self.engine.evaluate_event(now, self.pool, mask));
        }
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
}
