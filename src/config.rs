//! The configuration file (TOML): pool settings and the alert rules' thresholds.
//!
//! Looked up in `--config FILE`, then `$GWMON_CONFIG`, then `$XDG_CONFIG_HOME/gwmon/config.toml`
//! (`~/.config/gwmon/config.toml`). Every key can be overridden on the command line with
//! `--set KEY=VALUE` (e.g. `--set alerts.failure_rate.threshold=0.3`). An unknown key or a bad
//! value is an error naming the file, the line and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::app::parse_duration_ms;

/// A duration, written `"30s"`, `"5m"`, `"24h"`, `"7d"` (or a number of seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub i64);

impl Dur {
    pub const fn secs(s: i64) -> Dur {
        Dur(s * 1000)
    }
    pub fn ms(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for Dur {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0;
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
        ] {
            if ms >= size && ms % size == 0 {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(f64),
        }
        match Raw::deserialize(d)? {
            Raw::S(s) => parse_duration_ms(&s).map(Dur).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{s}` is not a duration (examples: \"30s\", \"5m\", \"24h\", \"7d\")"
                ))
            }),
            Raw::N(n) if n >= 0.0 && n.is_finite() => Ok(Dur((n * 1000.0) as i64)),
            Raw::N(n) => Err(serde::de::Error::custom(format!("{n} is not a duration"))),
        }
    }
}

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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[derive(Default)]
pub struct Config {
    pub pool: PoolSection,
    pub alerts: Alerts,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSection {
    /// Gateways in the pool; unset: the latest pool snapshot in the logs.
    pub size: Option<u64>,
    pub max_orgs: usize,
}

impl Default for PoolSection {
    fn default() -> Self {
        PoolSection {
            size: None,
            max_orgs: 10_000,
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
    pub orphaned_allocation: Simple,
    pub pool_imbalance: PoolImbalance,
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
            orphaned_allocation: Simple::default(),
            pool_imbalance: PoolImbalance::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Simple {
    pub enabled: bool,
    pub severity: Severity,
    pub labels: BTreeMap<String, String>,
}

impl Default for Simple {
    fn default() -> Self {
        Simple {
            enabled: true,
            severity: Severity::Critical,
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
    pub labels: BTreeMap<String, String>,
}

impl Default for PoolExhausted {
    fn default() -> Self {
        PoolExhausted {
            enabled: true,
            severity: Severity::Critical,
            for_: Dur(0),
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
    pub labels: BTreeMap<String, String>,
}

impl Default for LongAllocation {
    fn default() -> Self {
        LongAllocation {
            enabled: true,
            severity: Severity::Warning,
            max_age: Dur::secs(24 * 3600),
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
            labels: BTreeMap::new(),
        }
    }
}

/// The commented default configuration (`gwmon config --print-default`).
pub const DEFAULT_TOML: &str = r#"# gwmon configuration. Every key can also be set with --set KEY=VALUE,
# e.g. --set alerts.failure_rate.threshold=0.3. Durations: "30s", "5m", "24h", "7d".

[pool]
# Gateways in the pool. Unset: the latest pool snapshot (gateway-stats) in the logs.
# size = 8
# Organizations tracked one by one; the rest are folded into "other".
max_orgs = 10000

[alerts]
# How often lasting conditions are evaluated between events (event time).
eval_interval = "30s"
# A firing alert is notified again after this long.
repeat_interval = "4h"
# Labels added to every alert, e.g. { cluster = "prod" }.
labels = {}

# A request refused with no_gateway_available is an incident: fires at the first refusal,
# resolves when an allocation succeeds again.
[alerts.pool_exhausted]
enabled = true
severity = "critical"
for = "0s"
labels = {}

# Few gateways left for a while (needs the pool size: --pool-size, [pool] size or a snapshot).
# Amounts are a number of gateways or a share of the pool ("10%": at least 1).
[alerts.pool_low]
enabled = true
severity = "warning"
available_at_most = "10%"
clear_at_least = "20%"
for = "10m"
labels = {}

# Share of failed allocation attempts over a sliding window.
[alerts.failure_rate]
enabled = true
severity = "warning"
threshold = 0.2
clear = 0.1
window = "15m"
min_attempts = 10
for = "5m"
# Refusals are pool_exhausted's business.
exclude_reasons = ["no_gateway_available"]
# Also one alert per organization (label org), with its own minimum of attempts.
per_org = false
org_min_attempts = 5
labels = {}

# An allocation open longer than max_age (one alert per organization).
[alerts.long_allocation]
enabled = true
severity = "warning"
max_age = "24h"
labels = {}

# An orphaned allocation (cleanup failed: manual intervention required), until deallocated.
[alerts.orphaned_allocation]
enabled = true
severity = "critical"
labels = {}

# Pool consistently too full or too empty: time-weighted utilization over a whole day (a quiet
# night alone does not make a pool too big).
[alerts.pool_imbalance]
enabled = true
severity = "warning"
high = 0.9
high_clear = 0.8
low = 0.1
low_clear = 0.2
window = "24h"
labels = {}
"#;

/// Where the configuration comes from.
pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_owned());
    }
    if let Some(p) = std::env::var_os("GWMON_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let p = base.join("gwmon").join("config.toml");
    p.exists().then_some(p)
}

/// Load the configuration: the file (if any), then the `--set` overrides, then checks.
pub fn load(explicit: Option<&Path>, sets: &[String]) -> anyhow::Result<Config> {
    let path = config_path(explicit);
    let mut table = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read config file {}", p.display()))?;
            text.parse::<toml::Table>()
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", p.display()))?
        }
        None => toml::Table::new(),
    };
    for s in sets {
        apply_set(&mut table, s)?;
    }
    let cfg: Config = Config::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        match &path {
            // Re-parse the file alone to point at the line when the file is at fault.
            Some(p) => match std::fs::read_to_string(p)
                .ok()
                .map(|t| toml::from_str::<Config>(&t))
            {
                Some(Err(fe)) => anyhow::anyhow!("config file {}: {fe}", p.display()),
                _ => anyhow::anyhow!("--set: {e}"),
            },
            None => anyhow::anyhow!("--set: {e}"),
        }
    })?;
    check(&cfg).with_context(|| match &path {
        Some(p) => format!("config file {}", p.display()),
        None => "configuration".into(),
    })?;
    Ok(cfg)
}

/// `alerts.failure_rate.threshold=0.3` → set that key (the value is TOML; a bare word is a string).
fn apply_set(table: &mut toml::Table, s: &str) -> anyhow::Result<()> {
    let Some((key, value)) = s.split_once('=') else {
        bail!("--set {s}: expected KEY=VALUE, e.g. alerts.failure_rate.threshold=0.3");
    };
    let value: toml::Value = format!("v = {}", value.trim())
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.trim().to_owned()));
    let parts: Vec<&str> = key.trim().split('.').collect();
    let mut cur = table;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            bail!("--set {s}: empty key part");
        }
        if i == parts.len() - 1 {
            cur.insert((*part).to_owned(), value);
            return Ok(());
        }
        let entry = cur
            .entry((*part).to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = match entry {
            toml::Value::Table(t) => t,
            _ => bail!("--set {s}: `{part}` is not a table"),
        };
    }
    Ok(())
}

fn check(c: &Config) -> anyhow::Result<()> {
    let a = &c.alerts;
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
        if !crate::event::Reason::ALL.iter().any(|x| x.as_str() == r) {
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
    if a.failure_rate.window.ms() <= 0 || im.window.ms() <= 0 || a.eval_interval.ms() <= 0 {
        bail!("alerts: windows and eval_interval must be longer than 0s");
    }
    if c.pool.size == Some(0) {
        bail!("pool.size must be at least 1");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_default_is_the_default() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).unwrap();
        assert_eq!(parsed, Config::default());
        check(&parsed).unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[alerts]\n\n[alerts.failure_rate]\nthreshhold = 0.3\n").unwrap();
        let e = format!("{:#}", load(Some(&p), &[]).unwrap_err());
        assert!(e.contains("c.toml"), "{e}");
        assert!(e.contains("line 4"), "{e}");
        assert!(e.contains("threshhold"), "{e}");
        std::fs::write(&p, "[alerts.long_allocation]\nmax_age = \"forever\"\n").unwrap();
        let e = format!("{:#}", load(Some(&p), &[]).unwrap_err());
        assert!(e.contains("line 2") && e.contains("forever"), "{e}");
        std::fs::write(&p, "[alerts.failure_rate]\nthreshold = 3\n").unwrap();
        let e = format!("{:#}", load(Some(&p), &[]).unwrap_err());
        assert!(e.contains("c.toml") && e.contains("threshold"), "{e}");
    }

    #[test]
    fn set_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[alerts.failure_rate]\nthreshold = 0.5\n").unwrap();
        let c = load(
            Some(&p),
            &[
                "alerts.failure_rate.threshold=0.3".into(),
                "alerts.long_allocation.max_age=2h".into(),
                "pool.size=12".into(),
                "alerts.pool_low.available_at_most=\"25%\"".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.alerts.failure_rate.threshold, 0.3);
        assert_eq!(c.alerts.long_allocation.max_age, Dur::secs(7200));
        assert_eq!(c.pool.size, Some(12));
        assert_eq!(c.alerts.pool_low.available_at_most, Amount::Percent(25.0));
        assert!(load(None, &["alerts.nope=1".into()]).is_err());
    }

    #[test]
    fn amounts() {
        assert_eq!(Amount::Percent(10.0).resolve(8), 1);
        assert_eq!(Amount::Percent(10.0).resolve(100), 10);
        assert_eq!(Amount::Count(2).resolve(100), 2);
    }
}
