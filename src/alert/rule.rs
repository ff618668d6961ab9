//! The alert rules as a type: each rule's name, settings (enabled, severity, `for`, labels),
//! the label that tells its instances apart, the figures behind its summary and the summary's
//! text. The conditions themselves are in the `verdict` module.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::{Alerts, Severity};
use crate::units::{Millis, fmt_time, human_secs};

/// The alert rules, in the order they are evaluated and listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    PoolExhausted,
    PoolLow,
    FailureRate,
    LongAllocation,
    OrphanedAllocation,
    PoolImbalance,
    LogSilent,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::PoolExhausted,
        Rule::PoolLow,
        Rule::FailureRate,
        Rule::LongAllocation,
        Rule::OrphanedAllocation,
        Rule::PoolImbalance,
        Rule::LogSilent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::PoolExhausted => "pool_exhausted",
            Rule::PoolLow => "pool_low",
            Rule::FailureRate => "failure_rate",
            Rule::LongAllocation => "long_allocation",
            Rule::OrphanedAllocation => "orphaned_allocation",
            Rule::PoolImbalance => "pool_imbalance",
            Rule::LogSilent => "log_silent",
        }
    }

    /// Its position in [`Rule::ALL`] (also its number in `gwmon check` state files).
    pub fn index(self) -> u8 {
        self as u8
    }

    pub fn from_index(i: u8) -> Option<Rule> {
        Rule::ALL.get(usize::from(i)).copied()
    }

    /// Its bit in a set of rules.
    pub fn bit(self) -> RuleSet {
        RuleSet(1 << self.index())
    }

    pub fn enabled(self, a: &Alerts) -> bool {
        match self {
            Rule::PoolExhausted => a.pool_exhausted.enabled,
            Rule::PoolLow => a.pool_low.enabled,
            Rule::FailureRate => a.failure_rate.enabled,
            Rule::LongAllocation => a.long_allocation.enabled,
            Rule::OrphanedAllocation => a.orphaned_allocation.enabled,
            Rule::PoolImbalance => a.pool_imbalance.enabled,
            Rule::LogSilent => a.log_silent.enabled,
        }
    }

    pub fn severity(self, a: &Alerts) -> Severity {
        match self {
            Rule::PoolExhausted => a.pool_exhausted.severity,
            Rule::PoolLow => a.pool_low.severity,
            Rule::FailureRate => a.failure_rate.severity,
            Rule::LongAllocation => a.long_allocation.severity,
            Rule::OrphanedAllocation => a.orphaned_allocation.severity,
            Rule::PoolImbalance => a.pool_imbalance.severity,
            Rule::LogSilent => a.log_silent.severity,
        }
    }

    /// How long the condition must hold before the alert fires (0: at once; `log_silent`'s
    /// `for` is part of its condition).
    pub fn for_ms(self, a: &Alerts) -> Millis {
        match self {
            Rule::PoolExhausted => a.pool_exhausted.for_.ms(),
            Rule::PoolLow => a.pool_low.for_.ms(),
            Rule::FailureRate => a.failure_rate.for_.ms(),
            Rule::LongAllocation
            | Rule::OrphanedAllocation
            | Rule::PoolImbalance
            | Rule::LogSilent => 0,
        }
    }

    /// How long a firing alert stays firing once its condition is clear.
    pub fn keep_firing_ms(self, a: &Alerts) -> Millis {
        match self {
            Rule::PoolExhausted => a.pool_exhausted.keep_firing_for.ms(),
            Rule::PoolLow => a.pool_low.keep_firing_for.ms(),
            Rule::FailureRate => a.failure_rate.keep_firing_for.ms(),
            Rule::LongAllocation => a.long_allocation.keep_firing_for.ms(),
            Rule::OrphanedAllocation => a.orphaned_allocation.keep_firing_for.ms(),
            Rule::PoolImbalance => a.pool_imbalance.keep_firing_for.ms(),
            Rule::LogSilent => a.log_silent.keep_firing_for.ms(),
        }
    }

    fn own_labels(self, a: &Alerts) -> &BTreeMap<String, String> {
        match self {
            Rule::PoolExhausted => &a.pool_exhausted.labels,
            Rule::PoolLow => &a.pool_low.labels,
            Rule::FailureRate => &a.failure_rate.labels,
            Rule::LongAllocation => &a.long_allocation.labels,
            Rule::OrphanedAllocation => &a.orphaned_allocation.labels,
            Rule::PoolImbalance => &a.pool_imbalance.labels,
            Rule::LogSilent => &a.log_silent.labels,
        }
    }

    /// The label that tells a rule's instances apart (the key of a per-instance alert).
    fn key_label(self) -> &'static str {
        match self {
            Rule::PoolImbalance => "direction",
            Rule::LogSilent => "input",
            _ => "org",
        }
    }

    /// The labels of an instance: global, the rule's own, and the key's.
    pub fn labels(self, a: &Alerts, key: &str) -> BTreeMap<String, String> {
        let mut l = a.labels.clone();
        l.extend(
            self.own_labels(a)
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        if !key.is_empty() {
            l.insert(self.key_label().into(), key.to_owned());
        }
        l
    }

    /// The text of an alert's summary.
    pub fn summary(self, a: &Alerts, key: &str, s: &Summary) -> String {
        match s {
            Summary::Exhausted {
                refusals,
                since,
                available,
                total,
                allocated,
                incident_refusals,
                episodes,
            } => {
                let avail = match (available, total) {
                    (Some(a), Some(t)) => format!("{a}/{t} available"),
                    _ => format!("{allocated} allocated, pool size unknown"),
                };
                let s = |n: u64| if n == 1 { "" } else { "s" };
                let since = since.map_or(String::new(), |t| format!(" since {}", fmt_time(t)));
                // Within one incident (keep_firing_for), the refusals of all its episodes.
                let (n, eps) = if *episodes > 1 {
                    (*incident_refusals, format!(" in {episodes} episodes"))
                } else {
                    (*incident_refusals.max(refusals), String::new())
                };
                if *refusals == 0 {
                    if n == 0 {
                        format!("allocations succeed again, {avail}")
                    } else {
                        format!(
                            "allocations succeed again, {avail} ({n} request{} refused{eps}{since})",
                            s(n)
                        )
                    }
                } else {
                    format!(
                        "pool exhausted: {n} request{} refused{eps}{since} (no_gateway_available), {avail}",
                        s(n)
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
                let r = &a.failure_rate;
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
                a.long_allocation.max_age
            ),
            Summary::Orphan { since } => format!(
                "orphaned allocation of org {key} since {} (cleanup failed: manual intervention required)",
                fmt_time(*since)
            ),
            Summary::Imbalance { mean } => {
                let r = &a.pool_imbalance;
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
            Summary::Silent { last, silent_s } => match last {
                Some(t) => format!(
                    "no line read from {key} for {} (last line at {})",
                    human_secs(*silent_s),
                    fmt_time(*t)
                ),
                None => format!(
                    "no line read from {key} for {} (none since gwmon started watching it)",
                    human_secs(*silent_s)
                ),
            },
            Summary::Ended => match self {
                Rule::OrphanedAllocation => format!("orphaned allocation of org {key} cleaned up"),
                _ => format!("allocation of org {key} ended"),
            },
        }
    }

    /// The head of a monitoring-plugin status line when this rule is the worst firing one:
    /// `same` alerts of the rule are firing, `value` is the worst one's figure.
    pub fn headline(self, a: &Alerts, same: usize, value: f64, key: Option<&str>) -> String {
        let plural = if same == 1 { "" } else { "s" };
        match self {
            Rule::PoolExhausted => "pool exhausted".to_owned(),
            Rule::PoolLow => "pool running low".to_owned(),
            Rule::FailureRate => format!("failure rate {:.0}%", value * 100.0),
            Rule::LongAllocation => format!(
                "{same} allocation{plural} open longer than {}",
                a.long_allocation.max_age
            ),
            Rule::OrphanedAllocation => format!("{same} orphaned allocation{plural}"),
            Rule::PoolImbalance => format!(
                "pool consistently too {}",
                if key == Some("low") { "empty" } else { "full" }
            ),
            Rule::LogSilent => format!(
                "{same} log{plural} silent for more than {}: the figures are stale",
                a.log_silent.for_
            ),
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// A set of rules (the rules an event can change).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleSet(u8);

impl RuleSet {
    pub const NONE: RuleSet = RuleSet(0);
    pub const ALL: RuleSet = RuleSet((1 << Rule::ALL.len()) - 1);

    pub fn contains(self, r: Rule) -> bool {
        self.0 & r.bit().0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for RuleSet {
    type Output = RuleSet;

    fn bitor(self, o: RuleSet) -> RuleSet {
        RuleSet(self.0 | o.0)
    }
}

impl std::ops::BitOrAssign for RuleSet {
    fn bitor_assign(&mut self, o: RuleSet) {
        self.0 |= o.0;
    }
}

/// The figures behind an alert's summary, kept as numbers: the text is only built for a
/// notification, so evaluating the rules after every event stays cheap.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Summary {
    Exhausted {
        /// Refusals of the current episode (0: allocations succeed again).
        refusals: u64,
        /// The incident's first refusal.
        since: Option<Millis>,
        available: Option<i64>,
        total: Option<u64>,
        allocated: u64,
        /// Refusals and episodes of the whole incident.
        #[serde(default)]
        incident_refusals: u64,
        #[serde(default)]
        episodes: u64,
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
    /// No line read from the input since `last` (`None`: since the start).
    Silent {
        last: Option<Millis>,
        silent_s: f64,
    },
    /// The allocation behind a per-organization alert ended.
    Ended,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_indices_round_trip() {
        for (i, r) in Rule::ALL.iter().enumerate() {
            assert_eq!(r.index() as usize, i);
            assert_eq!(Rule::from_index(i as u8), Some(*r));
            assert_eq!(
                serde_json::to_string(r).unwrap(),
                format!("\"{}\"", r.name())
            );
        }
        assert!(RuleSet::ALL.contains(Rule::PoolImbalance));
        assert!(!(Rule::PoolLow.bit() | Rule::FailureRate.bit()).contains(Rule::PoolExhausted));
    }
}
