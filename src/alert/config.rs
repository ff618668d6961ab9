//! The alert rules' settings (the `[alerts]` section of the configuration file): thresholds,
//! durations, severities and labels, with the defaults DESIGN.md §6 asks for.

use std::collections::BTreeMap;

use anyhow::bail;
use serde::{Deserialize, Serialize};

use crate::event::Reason;
use crate::units::Dur;

/// A count of gateways, or a share of the pool: `2` or `"10%"`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Amount {
    Count(u64),
    Percent(f64),
}

impl Amount {
    /// Resolve against the pool total; a share is rounded down but is at least 1.
    pub fn resolve(self, total: u64) -> u64 {
        match self {
            Amount::Count(n) => n,
            Amount::Percent(p) => ((total as f64 * p / 100.0).floor() as u64).max(1),
        }
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Amount::Count(n) => s.serialize_u64(*n),
            Amount::Percent(p) => s.serialize_str(&format!("{p}%")),
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Amount::Count(n)),
            Raw::S(s) => s
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p))
                .map(Amount::Percent)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "`{s}` is not a number of gateways or a percentage like \"10%\""
                    ))
                }),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alerts {
    /// How often lasting conditions are evaluated between events.
    pub eval_interval: Dur,
    /// A firing alert is notified again after this long.
    pub repeat_interval: Dur,
    /// Labels added to every alert.
    pub labels: BTreeMap<String, String>,
    pub pool_exhausted: PoolExhausted,
    pub pool_low: PoolLow,
    pub failure_rate: FailureRate,
    pub long_allocation: LongAllocation,
    pub orphaned_allocation: OrphanedAllocation,
    pub pool_imbalance: PoolImbalance,
    pub log_silent: LogSilent,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            eval_interval: Dur::secs(30),
            repeat_interval: Dur::secs(4 * 3600),
            labels: BTreeMap::new(),
            pool_exhausted: PoolExhausted::default(),
            pool_low: PoolLow::default(),
            failure_rate: FailureRate::default(),
            long_allocation: LongAllocation::default(),
            orphaned_allocation: OrphanedAllocation::default(),
            pool_imbalance: PoolImbalance::default(),
            log_silent: LogSilent::default(),
        }
    }
}

/// A rule with no threshold of its own (it fires on a line: `orphaned_allocation`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrphanedAllocation {
    pub enabled: bool,
    pub severity: Severity,
    /// Once firing, stay firing until the condition has been clear this long (one
    /// notification per incident, as Prometheus' `keep_firing_for`).
    pub keep_firing_for: Dur,
    pub labels: BTreeMap<String, String>,
}

impl Default for OrphanedAllocation {
    fn default() -> Self {
        OrphanedAllocation {
            enabled: true,
            severity: Severity::Critical,
            keep_firing_for: Dur(0),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolExhausted {
    pub enabled: bool,
    pub severity: Severity,
    /// How long refusals must go on before the alert fires (0: at the first refusal).
    #[serde(rename = "for")]
    pub for_: Dur,
    /// Once firing, stay firing until the condition has been clear this long (one
    /// notification per incident, as Prometheus' `keep_firing_for`).
    pub keep_firing_for: Dur,
    pub labels: BTreeMap<String, String>,
}

impl Default for PoolExhausted {
    fn default() -> Self {
        PoolExhausted {
            enabled: true,
            severity: Severity::Critical,
            for_: Dur(0),
            keep_firing_for: Dur::secs(2 * 3600),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolLow {
    pub enabled: bool,
    pub severity: Severity,
    /// Fires when at most this many gateways are available (a count or a share of the pool).
    pub available_at_most: Amount,
    /// Resolves when at least this many are available again.
    pub clear_at_least: Amount,
    #[serde(rename = "for")]
    pub for_: Dur,
    /// Once firing, stay firing until the condition has been clear this long (one
    /// notification per incident, as Prometheus' `keep_firing_for`).
    pub keep_firing_for: Dur,
    pub labels: BTreeMap<String, String>,
}

impl Default for PoolLow {
    fn default() -> Self {
        PoolLow {
            enabled: true,
            severity: Severity::Warning,
            available_at_most: Amount::Percent(10.0),
            clear_at_least: Amount::Percent(20.0),
            for_: Dur::secs(600),
            keep_firing_for: Dur::secs(2 * 3600),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailureRate {
    pub enabled: bool,
    pub severity: Severity,
    /// Fires above this share of failed attempts over `window`…
    pub threshold: f64,
    /// …and resolves below this one.
    pub clear: f64,
    pub window: Dur,
    /// Fewer attempts in the window never fire.
    pub min_attempts: u64,
    #[serde(rename = "for")]
    pub for_: Dur,
    /// Failure reasons not counted (refusals are `pool_exhausted`'s business).
    pub exclude_reasons: Vec<String>,
    /// Also one alert per organization.
    pub per_org: bool,
    pub org_min_attempts: u64,
    /// Once firing, stay firing until the condition has been clear this long (one
    /// notification per incident, as Prometheus' `keep_firing_for`).
    pub keep_firing_for: Dur,
    pub labels: BTreeMap<String, String>,
}

impl Default for FailureRate {
    fn default() -> Self {
        FailureRate {
            enabled: true,
            severity: Severity::Warning,
            threshold: 0.2,
            clear: 0.1,
            window: Dur::secs(15 * 60),
            min_attempts: 10,
            for_: Dur::secs(300),
            exclude_reasons: vec!["no_gateway_available".into()],
            per_org: false,
            org_min_attempts: 5,
            keep_firing_for: Dur::secs(900),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LongAllocation {
    pub enabled: bool,
    pub severity: Severity,
    /// An allocation open longer than this fires (one alert per organization).
    pub max_age: Dur,
    /// Once firing, stay firing until the condition has been clear this long (one
    /// notification per incident, as Prometheus' `keep_firing_for`).
    pub keep_firing_for: Dur,
    pub labels: BTreeMap<String, String>,
}

impl Default for LongAllocation {
    fn default() -> Self {
        LongAllocation {
            enabled: true,
            severity: Severity::Warning,
            max_age: Dur::secs(24 * 3600),
            keep_firing_for: Dur(0),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolImbalance {
    pub enabled: bool,
    pub severity: Severity,
    /// Time-weighted utilization over `window` above `high` (until below `high_clear`)…
    pub high: f64,
    pub high_clear: f64,
    /// …or below `low` (until above `low_clear`).
    pub low: f64,
    pub low_clear: f64,
    pub window: Dur,
    /// Once firing, stay firing until the condition has been clear this long (one
    /// notification per incident, as Prometheus' `keep_firing_for`).
    pub keep_firing_for: Dur,
    pub labels: BTreeMap<String, String>,
}

impl Default for PoolImbalance {
    fn default() -> Self {
        PoolImbalance {
            enabled: true,
            severity: Severity::Warning,
            high: 0.9,
            high_clear: 0.8,
            low: 0.1,
            low_clear: 0.2,
            window: Dur::secs(24 * 3600),
            keep_firing_for: Dur(0),
            labels: BTreeMap::new(),
        }
    }
}

/// The dead-man's switch: no line read from an input for `for` (the service writes HTTP lines
/// all the time, so a silent log is a dead logger, a rotated file nobody writes, a wrong path).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSilent {
    pub enabled: bool,
    pub severity: Severity,
    /// How long an input may stay silent.
    #[serde(rename = "for")]
    pub for_: Dur,
    pub keep_firing_for: Dur,
    pub labels: BTreeMap<String, String>,
}

impl Default for LogSilent {
    fn default() -> Self {
        LogSilent {
            enabled: true,
            severity: Severity::Critical,
            for_: Dur::secs(15 * 60),
            keep_firing_for: Dur(0),
            labels: BTreeMap::new(),
        }
    }
}

impl Alerts {
    /// Check values the types cannot: ratios, marks in order, windows longer than zero.
    pub fn validate(&self) -> anyhow::Result<()> {
        let a = self;
        let ratio = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(anyhow::anyhow!("{name} = {v}: must be between 0 and 1"))
            }
        };
        ratio("alerts.failure_rate.threshold", a.failure_rate.threshold)?;
        ratio("alerts.failure_rate.clear", a.failure_rate.clear)?;
        if a.failure_rate.clear > a.failure_rate.threshold {
            bail!("alerts.failure_rate.clear must not be above alerts.failure_rate.threshold");
        }
        for r in &a.failure_rate.exclude_reasons {
            if !Reason::ALL.iter().any(|x| x.as_str() == r) {
                bail!(
                    "alerts.failure_rate.exclude_reasons: unknown reason `{r}` (known: no_gateway_available, health_check, init, other)"
                );
            }
        }
        let im = &a.pool_imbalance;
        for (n, v) in [
            ("high", im.high),
            ("high_clear", im.high_clear),
            ("low", im.low),
            ("low_clear", im.low_clear),
        ] {
            ratio(&format!("alerts.pool_imbalance.{n}"), v)?;
        }
        if im.high_clear > im.high || im.low_clear < im.low {
            bail!("alerts.pool_imbalance: the clear marks must lie between low and high");
        }
        if a.log_silent.for_.ms() <= 0 {
            bail!("alerts.log_silent.for must be longer than 0s");
        }
        if a.failure_rate.window.ms() <= 0 || im.window.ms() <= 0 || a.eval_interval.ms() <= 0 {
            bail!("alerts: windows and eval_interval must be longer than 0s");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(Amount::Percent(10.0).resolve(8), 1);
        assert_eq!(Amount::Percent(10.0).resolve(100), 10);
        assert_eq!(Amount::Count(2).resolve(100), 2);
    }
}
