//! What each rule says at an evaluation: its conditions, one arm per [`Rule`].

use std::collections::BTreeMap;

use super::engine::{Engine, Verdict};
use super::rule::{Rule, Summary};
use crate::pool::Pool;
use crate::units::Millis;

impl Engine {
    /// The rule's instances now. `area`/`known` are the pool's utilization integral and the
    /// time with a known total, up to `now`.
    pub(super) fn verdicts(
        &self,
        rule: Rule,
        now: Millis,
        pool: &Pool,
        area: f64,
        known: i64,
    ) -> Vec<Verdict> {
        let a = &self.cfg;
        let total = pool.total();
        let avail = pool.available();
        // Nothing to say about a quiet single-instance rule without an alert in progress: skip
        // building its verdict (this runs at every event).
        let idle = |trigger: bool| !trigger && !self.instances.contains_key(&(rule, String::new()));
        match rule {
            Rule::PoolExhausted => {
                let trigger = self.refusals > 0;
                if idle(trigger) {
                    return Vec::new();
                }
                vec![Verdict {
                    key: String::new(),
                    trigger,
                    clear: !trigger,
                    summary: Summary::Exhausted {
                        refusals: self.refusals,
                        since: self.incident.first.or(self.first_refusal),
                        available: avail,
                        total,
                        allocated: pool.allocated(),
                        incident_refusals: self.incident.refusals,
                        episodes: self.incident.episodes,
                    },
                    value: self.refusals as f64,
                }]
            }
            Rule::PoolLow => {
                let r = &a.pool_low;
                let (Some(t), Some(av)) = (total, avail) else {
                    return Vec::new();
                };
                let at_most = r.available_at_most.resolve(t) as i64;
                if idle(av <= at_most) {
                    return Vec::new();
                }
                let clear_at = (r.clear_at_least.resolve(t) as i64).max(at_most + 1);
                vec![Verdict {
                    key: String::new(),
                    trigger: av <= at_most,
                    clear: av >= clear_at,
                    summary: Summary::Low {
                        available: av,
                        total: t,
                        at_most,
                    },
                    value: av as f64,
                }]
            }
            Rule::FailureRate => {
                let r = &a.failure_rate;
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
                        e.1 += u64::from(self.counts(*x));
                    }
                    // Organizations with an alert in progress are evaluated even when quiet.
                    for (_, k) in self
                        .instances
                        .keys()
                        .filter(|(i, k)| *i == rule && !k.is_empty())
                    {
                        per.entry(k.as_str()).or_default();
                    }
                    for (org, (n, f)) in per {
                        v.push(verdict(org.to_owned(), n, f, r.org_min_attempts));
                    }
                }
                v
            }
            Rule::LongAllocation => {
                let limit = now - a.long_allocation.max_age.ms();
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
                self.cleared(rule, &mut v);
                v
            }
            Rule::OrphanedAllocation => {
                let mut v: Vec<Verdict> = self
                    .orphans
                    .iter()
                    .filter(|(org, _)| !self.instances.contains_key(&(rule, (*org).clone())))
                    .map(|(org, since)| Verdict {
                        key: org.clone(),
                        trigger: true,
                        clear: false,
                        summary: Summary::Orphan { since: *since },
                        value: (now - since) as f64 / 1000.0,
                    })
                    .collect();
                self.cleared(rule, &mut v);
                v
            }
            Rule::PoolImbalance => {
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
                v
            }
            Rule::LogSilent => self.silent(rule),
        }
    }

    /// `log_silent`: one instance per input, judged at the read clock (nothing in a replay).
    fn silent(&self, rule: Rule) -> Vec<Verdict> {
        let Some(clock) = self.read_clock else {
            return Vec::new();
        };
        let limit = self.cfg.log_silent.for_.ms();
        self.inputs
            .iter()
            .filter_map(|(name, seen)| {
                let silent = clock - seen.at;
                let trigger = silent >= limit;
                let known = self.instances.contains_key(&(rule, name.clone()));
                (trigger || known).then(|| Verdict {
                    key: name.clone(),
                    trigger,
                    clear: !trigger,
                    summary: Summary::Silent {
                        last: seen.line.then_some(seen.at),
                        silent_s: silent.max(0) as f64 / 1000.0,
                    },
                    value: silent.max(0) as f64 / 1000.0,
                })
            })
            .collect()
    }

    /// Per-organization instances of `rule` whose allocation ended clear now.
    fn cleared(&self, rule: Rule, v: &mut Vec<Verdict>) {
        for (r, key) in &self.to_clear {
            if *r == rule {
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
}
