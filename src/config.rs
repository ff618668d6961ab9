//! The configuration file (TOML): pool settings and the alert rules' settings.
//!
//! Looked up in `--config FILE`, then `$GWMON_CONFIG`, then `$XDG_CONFIG_HOME/gwmon/config.toml`
//! (`~/.config/gwmon/config.toml`). Every key can be overridden on the command line with
//! `--set KEY=VALUE` (e.g. `--set alerts.failure_rate.threshold=0.3`). An unknown key or a bad
//! value is an error naming the file, the line and the key.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::alert::config::Alerts;
use crate::units::Dur;

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
    /// A silence this long without any lifecycle line is a gap (marked in the HTML report).
    pub gap_after: Dur,
}

impl Default for PoolSection {
    fn default() -> Self {
        PoolSection {
            size: None,
            max_orgs: 10_000,
            gap_after: Dur::secs(2 * 3600),
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
# A silence this long without any gateway lifecycle line is a gap: marked on the HTML report's
# time axis (gwmon cannot tell a quiet pool from a log that stopped being written).
gap_after = "2h"

[alerts]
# How often lasting conditions are evaluated between events (event time).
eval_interval = "30s"
# A firing alert is notified again after this long.
repeat_interval = "4h"
# Labels added to every alert, e.g. { cluster = "prod" }.
labels = {}

# Every rule takes keep_firing_for: once firing, it stays firing until its condition has been
# clear that long, so an incident that comes and goes is one notification (as Prometheus'
# keep_firing_for).

# A request refused with no_gateway_available is an incident: fires at the first refusal,
# resolves two hours after allocations succeed again (a pool running dry again and again during
# one busy afternoon is one incident, its summary counting the refusals and episodes; a new one
# after a calm spell pages again).
[alerts.pool_exhausted]
enabled = true
severity = "critical"
for = "0s"
keep_firing_for = "2h"
labels = {}

# Few gateways left for a while (needs the pool size: --pool-size, [pool] size or a snapshot).
# Amounts are a number of gateways or a share of the pool ("10%": at least 1).
[alerts.pool_low]
enabled = true
severity = "warning"
available_at_most = "10%"
clear_at_least = "20%"
for = "10m"
keep_firing_for = "2h"
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
keep_firing_for = "15m"
labels = {}

# An allocation open longer than max_age (one alert per organization).
[alerts.long_allocation]
enabled = true
severity = "warning"
max_age = "24h"
keep_firing_for = "0s"
labels = {}

# An orphaned allocation (cleanup failed: manual intervention required), until deallocated.
[alerts.orphaned_allocation]
enabled = true
severity = "critical"
keep_firing_for = "0s"
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
keep_firing_for = "0s"
labels = {}

# The dead-man's switch: no line read from an input for this long (the service writes HTTP lines
# all the time). watch judges it on the wall clock; check against the time on the log's last
# line (and then judges no other rule against a clock the log never reached). /healthz answers
# 503 while an input is silent.
[alerts.log_silent]
enabled = true
severity = "critical"
for = "15m"
keep_firing_for = "0s"
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
    let text = match &path {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read config file {}", p.display()))?,
        ),
        None => None,
    };
    let name = path.as_ref().map(|p| p.display().to_string());
    parse(text.as_deref().zip(name.as_deref()), sets)
}

/// The configuration from the text of a file named `NAME` (if any), then the `--set`
/// overrides, then checks: [`load`] without the file system.
pub fn parse(file: Option<(&str, &str)>, sets: &[String]) -> anyhow::Result<Config> {
    let mut table = match file {
        Some((text, name)) => text
            .parse::<toml::Table>()
            .map_err(|e| anyhow::anyhow!("config file {name}: {e}"))?,
        None => toml::Table::new(),
    };
    for s in sets {
        apply_set(&mut table, s)?;
    }
    let cfg: Config = Config::deserialize(toml::Value::Table(table)).map_err(|e| match file {
        // Re-parse the file alone to point at the line when the file is at fault.
        Some((text, name)) => match toml::from_str::<Config>(text) {
            Err(fe) => anyhow::anyhow!("config file {name}: {fe}"),
            Ok(_) => anyhow::anyhow!("--set: {e}"),
        },
        None => anyhow::anyhow!("--set: {e}"),
    })?;
    check(&cfg).with_context(|| match file {
        Some((_, name)) => format!("config file {name}"),
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
    c.alerts.validate()?;
    if c.pool.size == Some(0) {
        bail!("pool.size must be at least 1");
    }
    if c.pool.max_orgs == 0 {
        bail!("pool.max_orgs must be at least 1");
    }
    if c.pool.gap_after.ms() <= 0 {
        bail!("pool.gap_after must be longer than 0s");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::config::Amount;
    use crate::units::Dur;

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
}
