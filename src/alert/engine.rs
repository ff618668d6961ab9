//! The alert engine: one state machine per alert instance (rule + key), fed the same events as
//! the pool ([`Engine::observe`]) and evaluated after each event and on clock ticks
//! ([`Engine::evaluate`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::config::Alerts;
use super::rule::{Rule, RuleSet, Summary};
use super::{Alert, AlertRecord, Notification, Status};
use crate::event::{Event, Kind, Reason};
use crate::pool::Pool;
use crate::units::{Millis, fmt_time};

/// Attempts kept in the failure-rate window: beyond, the oldest leave it early (a flood of
/// attempts at one moment cannot grow it without bound).
pub const MAX_WINDOW: usize = 100_000;
/// How far back a failure looks for its own attempt in the window (they are lines apart).
const FAILURE_SEARCH: usize = 1024;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) enum State {
    Pending {
        since: Millis,
    },
    Firing {
        since: Millis,
        notified: Millis,
        /// Since when the clear condition has held (`keep_firing_for` runs from there).
        #[serde(default)]
        clear_since: Option<Millis>,
    },
}

/// An exhaustion incident: the refusals and episodes since its first refusal, while its alert
/// is in progress (kept firing over calm moments by `keep_firing_for`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Incident {
    pub(super) first: Option<Millis>,
    pub(super) refusals: u64,
    pub(super) episodes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Instance {
    labels: BTreeMap<String, String>,
    fingerprint: String,
    pub(super) state: State,
    /// What the rule said at the last evaluation (rendered to text only when needed).
    last: Summary,
    value: f64,
    /// Index of this firing in the history.
    history: Option<usize>,
}

/// What a rule says about one alert instance at an evaluation.
pub(super) struct Verdict {
    /// The instance within the rule: "" for rules with one instance, else the organization or
    /// the direction.
    pub(super) key: String,
    /// The trigger condition holds.
    pub(super) trigger: bool,
    /// The clear condition holds (hysteresis: a firing alert stays until then).
    pub(super) clear: bool,
    pub(super) summary: Summary,
    pub(super) value: f64,
}

/// An alert instance: its rule and its key within the rule.
pub(super) type InstanceId = (Rule, String);

/// The alert engine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Engine {
    pub(super) cfg: Alerts,
    /// Alert instances by rule and key.
    #[serde(with = "entries")]
    pub(super) instances: BTreeMap<InstanceId, Instance>,
    /// Refusals since the last successful allocation (the exhaustion episode), and the first.
    pub(super) refusals: u64,
    pub(super) first_refusal: Option<Millis>,
    /// The exhaustion incident in progress.
    #[serde(default)]
    pub(super) incident: Incident,
    /// When each input (by name) was last read from, for `log_silent`…
    #[serde(default)]
    pub(super) inputs: BTreeMap<String, Seen>,
    /// …judged at this clock: the wall clock of a live run; `None` in a replay of history,
    /// where nothing was read live.
    #[serde(skip)]
    pub(super) read_clock: Option<Millis>,
    /// Attempts and failures in the failure-rate window: (time, org, failed reason).
    pub(super) window: VecDeque<(Millis, String, Option<Reason>)>,
    /// Failures in the window that count (their reason is not excluded).
    pub(super) window_failed: u64,
    /// Open allocations by start time, for the long-allocation rule.
    pub(super) open: BTreeSet<(Millis, String)>,
    pub(super) open_start: foldhash::HashMap<String, Millis>,
    pub(super) orphans: BTreeMap<String, Millis>,
    /// (time, utilization area, time with known total) samples for the imbalance window.
    pub(super) util: VecDeque<(Millis, f64, i64)>,
    last_eval: Option<Millis>,
    /// Open allocations that started before this were already judged by long_allocation…
    pub(super) long_limit: Option<Millis>,
    /// …except these, which arrived after their start had been passed (a clock ahead of the
    /// log: the wall clock in `watch` and `check`).
    pub(super) long_late: Vec<String>,
    /// Per-organization instances whose allocation ended or was cleaned up since the last
    /// evaluation.
    pub(super) to_clear: Vec<InstanceId>,
    /// The earliest time a firing alert is due for a repeat notification.
    next_repeat: Option<Millis>,
    /// Every firing, with its resolution: the report's `alerts`.
    pub history: Vec<AlertRecord>,
    /// When false, transitions are recorded but not notified (rebuilding state from history).
    pub notify: bool,
    /// Open allocations and orphans tracked one by one (`--max-orgs`); beyond, the oldest are
    /// forgotten (and their alerts cleared), as the pool model folds them.
    #[serde(default = "default_max_tracked")]
    pub max_tracked: usize,
}

fn default_max_tracked() -> usize {
    10_000
}

impl Engine {
    pub fn new(cfg: Alerts) -> Engine {
        Engine {
            cfg,
            instances: BTreeMap::new(),
            refusals: 0,
            first_refusal: None,
            incident: Incident::default(),
            inputs: BTreeMap::new(),
            read_clock: None,
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
            max_tracked: default_max_tracked(),
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
    /// rules the event can change, to be evaluated at its own time.
    pub fn observe(&mut self, ev: &Event) -> RuleSet {
        let t = ev.time;
        let rate_active = self
            .instances
            .range((Rule::FailureRate, String::new())..)
            .next()
            .is_some_and(|((r, _), _)| *r == Rule::FailureRate);
        match &ev.kind {
            Kind::AllocAttempt { org } => {
                self.window.push_back((t, org.clone(), None));
                if self.window.len() > MAX_WINDOW
                    && let Some((_, _, r)) = self.window.pop_front()
                    && self.counts(r)
                {
                    self.window_failed -= 1;
                }
            }
            Kind::AllocFailed { org, reason, .. } => {
                if *reason == Reason::NoGatewayAvailable {
                    if self.refusals == 0 {
                        self.incident.episodes += 1;
                    }
                    self.refusals += 1;
                    self.first_refusal.get_or_insert(t);
                    self.incident.refusals += 1;
                    self.incident.first.get_or_insert(t);
                }
                // The failure replaces its attempt's entry when there is one in the window.
                if let Some(e) = self
                    .window
                    .iter_mut()
                    .rev()
                    .take(FAILURE_SEARCH)
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
                if !self
                    .instances
                    .contains_key(&(Rule::PoolExhausted, String::new()))
                {
                    // No alert in progress: the incident is over with its episode.
                    self.incident = Incident::default();
                }
                self.close(org);
                self.open.insert((t, org.clone()));
                self.open_start.insert(org.clone(), t);
                while self.open.len() > self.max_tracked.max(1) {
                    let Some((_, oldest)) = self.open.first().cloned() else {
                        break;
                    };
                    self.close(&oldest);
                }
                if self.long_limit.is_some_and(|l| t < l) {
                    self.long_late.push(org.clone());
                }
            }
            Kind::Deallocated { org, .. } | Kind::Rollback { org, .. } => {
                self.close(org);
            }
            Kind::Orphaned { org, .. } => {
                self.orphans.entry(org.clone()).or_insert(t);
                let cap = self.max_tracked.max(1);
                if self.orphans.len() > cap {
                    // The oldest tenth goes (amortized: one pass per tenth).
                    let mut since: Vec<Millis> = self.orphans.values().copied().collect();
                    let drop = (cap / 10).max(1);
                    let (_, cut, _) = since.select_nth_unstable(drop - 1);
                    let cut = *cut;
                    let old: Vec<String> = self
                        .orphans
                        .iter()
                        .filter(|(_, s)| **s <= cut)
                        .map(|(o, _)| o.clone())
                        .take(drop)
                        .collect();
                    for o in old {
                        self.close(&o);
                    }
                }
            }
            _ => {}
        }
        // Every event is evaluated, at its own time, for the rules it can change, so conditions
        // start (and incidents fire and resolve) at the right moment; the periodic evaluations
        // only cover what time alone changes.
        let clears = self
            .to_clear
            .iter()
            .fold(RuleSet::NONE, |m, (r, _)| m | r.bit());
        match &ev.kind {
            // One more attempt lowers the failure rate, or brings it to the minimum of attempts.
            Kind::AllocAttempt { .. } if rate_active || self.window_failed > 0 => {
                Rule::FailureRate.bit()
            }
            Kind::AllocFailed { reason, .. } => {
                if *reason == Reason::NoGatewayAvailable {
                    Rule::FailureRate.bit() | Rule::PoolExhausted.bit()
                } else {
                    Rule::FailureRate.bit()
                }
            }
            Kind::Allocated { .. } => Rule::PoolExhausted.bit() | Rule::PoolLow.bit() | clears,
            Kind::Deallocated { .. } | Kind::Rollback { .. } => Rule::PoolLow.bit() | clears,
            Kind::Orphaned { .. } => Rule::OrphanedAllocation.bit() | Rule::PoolLow.bit(),
            Kind::PoolSnapshot { .. } => Rule::PoolLow.bit(),
            _ => RuleSet::NONE,
        }
    }

    /// The organization's allocation ended (or was replaced): its per-organization alerts clear.
    fn close(&mut self, org: &str) {
        if let Some(s) = self.open_start.remove(org) {
            self.open.remove(&(s, org.to_owned()));
        }
        self.orphans.remove(org);
        for rule in [Rule::LongAllocation, Rule::OrphanedAllocation] {
            let id = (rule, org.to_owned());
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
        // An incident ends exactly keep_firing_for after it cleared (not at the next periodic
        // evaluation): these deadlines are not held to eval_interval.
        let mut exact: Option<Millis> = None;
        for ((rule, _), inst) in &self.instances {
            match inst.state {
                State::Pending { since } => t = t.min(since + rule.for_ms(a)),
                State::Firing {
                    clear_since: Some(c),
                    ..
                } if rule.enabled(a) => {
                    let e = c + rule.keep_firing_ms(a);
                    if e > last {
                        exact = Some(exact.map_or(e, |x| x.min(e)));
                    }
                }
                State::Firing { .. } => {}
            }
        }
        if let (Some(clock), true) = (self.read_clock, a.log_silent.enabled) {
            // The moment the next input goes silent.
            if let Some(last) = self.inputs.values().map(|s| s.at).min() {
                t = t.min((last + a.log_silent.for_.ms()).max(clock));
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
        let t = t.max(last + a.eval_interval.ms());
        Some(exact.map_or(t, |e| e.min(t)))
    }

    /// Evaluate every rule at `now` and return the notifications of the transitions.
    pub fn evaluate(&mut self, now: Millis, pool: &Pool) -> Vec<Notification> {
        self.last_eval = Some(now);
        self.evaluate_rules(now, pool, RuleSet::ALL)
    }

    /// Evaluate the rules in `rules` at `now`.
    fn evaluate_rules(&mut self, now: Millis, pool: &Pool, rules: RuleSet) -> Vec<Notification> {
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
        for rule in Rule::ALL {
            if !rules.contains(rule) || !rule.enabled(&self.cfg) {
                continue;
            }
            let verdicts = self.verdicts(rule, now, pool, area, known);
            self.step(rule, now, verdicts, &mut out);
        }
        if rules.contains(Rule::LongAllocation) {
            self.long_limit = Some(now - self.cfg.long_allocation.max_age.ms());
            self.long_late.clear();
        }
        self.to_clear.retain(|(r, _)| !rules.contains(*r));
        self.repeats(now, &mut out);
        out
    }

    /// Evaluate what an event (already observed) can have changed, at its time.
    pub fn evaluate_event(
        &mut self,
        now: Millis,
        pool: &Pool,
        rules: RuleSet,
    ) -> Vec<Notification> {
        if rules.is_empty() {
            return Vec::new();
        }
        self.evaluate_rules(now, pool, rules)
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
            if id.0 == Rule::LongAllocation {
                self.refresh_age(&id, now);
            }
            let Some(inst) = self.instances.get_mut(&id) else {
                continue;
            };
            let State::Firing {
                since, clear_since, ..
            } = inst.state
            else {
                continue;
            };
            inst.state = State::Firing {
                since,
                notified: now,
                clear_since,
            };
            next = Some(next.map_or(now + repeat, |n| n.min(now + repeat)));
            if self.notify
                && let Some(inst) = self.instances.get(&id)
            {
                out.push(Notification {
                    status: Status::Firing,
                    repeat: true,
                    at: now,
                    alert: self.alert(&id, inst, since, None),
                });
            }
        }
        self.next_repeat = next;
    }

    /// Whether a window entry is a failure the failure-rate rule counts.
    pub(super) fn counts(&self, reason: Option<Reason>) -> bool {
        reason.is_some_and(|x| {
            !self
                .cfg
                .failure_rate
                .exclude_reasons
                .iter()
                .any(|e| e == x.as_str())
        })
    }

    fn alert(
        &self,
        id: &InstanceId,
        inst: &Instance,
        starts_at: Millis,
        ends_at: Option<Millis>,
    ) -> Alert {
        let (rule, key) = (id.0, id.1.as_str());
        Alert {
            rule,
            severity: rule.severity(&self.cfg),
            labels: inst.labels.clone(),
            summary: rule.summary(&self.cfg, key, &inst.last),
            value: inst.value,
            fingerprint: inst.fingerprint.clone(),
            starts_at,
            ends_at,
        }
    }

    /// Move the rule's instances along their state machines by its verdicts at `now`.
    fn step(
        &mut self,
        rule: Rule,
        now: Millis,
        verdicts: Vec<Verdict>,
        out: &mut Vec<Notification>,
    ) {
        let for_ = rule.for_ms(&self.cfg);
        for v in verdicts {
            let id = (rule, v.key);
            let Some(inst) = self.instances.get_mut(&id) else {
                if !v.trigger {
                    continue;
                }
                let labels = rule.labels(&self.cfg, &id.1);
                let inst = Instance {
                    fingerprint: fingerprint(rule.name(), &labels),
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
                State::Firing {
                    since,
                    notified,
                    clear_since,
                } => {
                    let keep = rule.keep_firing_ms(&self.cfg);
                    // Clear for long enough (keep_firing_for): resolved. Not clear: the
                    // incident goes on.
                    let resolve =
                        v.clear && (keep <= 0 || clear_since.is_some_and(|c| now - c >= keep));
                    if !resolve {
                        inst.state = State::Firing {
                            since,
                            notified,
                            clear_since: if v.clear {
                                clear_since.or(Some(now))
                            } else {
                                None
                            },
                        };
                        continue;
                    }
                    if let Some(inst) = self.instances.remove(&id) {
                        let alert = self.alert(&id, &inst, since, Some(now));
                        if let Some(h) = inst.history.and_then(|i| self.history.get_mut(i)) {
                            h.resolved_at = Some(fmt_time(now));
                        }
                        if rule == Rule::PoolExhausted {
                            self.incident = Incident::default();
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

    fn fire(&mut self, id: &InstanceId, now: Millis, out: &mut Vec<Notification>) {
        let Some(inst) = self.instances.get(id) else {
            return;
        };
        let alert = self.alert(id, inst, now, None);
        self.history.push(AlertRecord {
            rule: alert.rule,
            severity: alert.severity,
            fired_at: fmt_time(now),
            resolved_at: None,
            summary: alert.summary.clone(),
        });
        let h = self.history.len() - 1;
        if let Some(inst) = self.instances.get_mut(id) {
            inst.state = State::Firing {
                since: now,
                notified: now,
                clear_since: None,
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

    /// The alerts still firing when a replay of history hands over to live following (`watch
    /// --from-start`, `top`): evaluated at `now`, each told once as it is now, with no repeat
    /// due at once.
    pub fn announce(&mut self, now: Millis, pool: &Pool) -> Vec<Notification> {
        let notify = std::mem::replace(&mut self.notify, false);
        self.evaluate(now, pool);
        self.notify = notify;
        let ids: Vec<InstanceId> = self
            .instances
            .iter()
            .filter(|(_, i)| matches!(i.state, State::Firing { .. }))
            .map(|(id, _)| id.clone())
            .collect();
        let mut out = Vec::new();
        for id in ids {
            if id.0 == Rule::LongAllocation {
                self.refresh_age(&id, now);
            }
            let Some(inst) = self.instances.get_mut(&id) else {
                continue;
            };
            let State::Firing {
                since, clear_since, ..
            } = inst.state
            else {
                continue;
            };
            inst.state = State::Firing {
                since,
                notified: now,
                clear_since,
            };
            if let Some(inst) = self.instances.get(&id) {
                out.push(Notification {
                    status: Status::Firing,
                    repeat: false,
                    at: now,
                    alert: self.alert(&id, inst, since, None),
                });
            }
        }
        let repeat = self.cfg.repeat_interval.ms();
        if repeat > 0 && !out.is_empty() {
            self.next_repeat = Some(now + repeat);
        }
        out
    }

    /// A long allocation's age as of `now` (it grows while the alert fires).
    fn refresh_age(&mut self, id: &InstanceId, now: Millis) {
        if let Some(start) = self.open_start.get(&id.1) {
            let age_s = (now - start) as f64 / 1000.0;
            if let Some(inst) = self.instances.get_mut(id) {
                inst.value = age_s;
                if let Summary::Long { age_s: a, .. } = &mut inst.last {
                    *a = age_s;
                }
            }
        }
    }

    /// The alerts firing now, with their current summaries.
    pub fn firing(&self) -> Vec<Alert> {
        self.instances
            .iter()
            .filter_map(|(id, i)| match i.state {
                State::Firing { since, .. } => Some(self.alert(id, i, since, None)),
                State::Pending { .. } => None,
            })
            .collect()
    }

    /// 0 inactive, 1 pending, 2 firing: the most advanced instance of the rule (for the
    /// exported alert-state gauges).
    pub fn rule_state(&self, rule: Rule) -> u8 {
        let mut s = 0;
        for ((r, _), inst) in &self.instances {
            if *r == rule {
                s = s.max(match inst.state {
                    State::Pending { .. } => 1,
                    State::Firing { .. } => 2,
                });
            }
        }
        s
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

mod entries;
mod inputs;

pub use inputs::Seen;

#[cfg(test)]
mod tests;
