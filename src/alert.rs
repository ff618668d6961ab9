//! Alert stage (DESIGN.md §6): rules evaluated over the pool model in event time, each alert a
//! state machine inactive → pending → firing → resolved with hysteresis, one notification per
//! transition, a repeat interval while firing and deduplication by fingerprint (rule + labels).
//!
//! [`rule`] names the rules and what each says; `verdict` holds their conditions;
//! [`engine`] the state machines; [`replay`] drives a pool and an engine over events with the
//! evaluations between them; [`sinks`] (human lines, JSON lines, [`exec`], [`alertmanager`])
//! take the notifications. The engine never reads the wall clock itself, so a replay of history
//! gives exactly the alerts a live run would have given. [`config`] is the rules' settings.

pub mod alertmanager;
pub mod config;
pub mod engine;
pub mod exec;
pub mod replay;
pub mod rule;
pub mod sinks;
mod verdict;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use config::{Alerts, Severity};
pub use engine::Engine;
pub use replay::{Monitor, Replay};
pub use rule::Rule;

use crate::units::Millis;
use crate::units::time::{de_opt_time, de_time, ser_opt_time, ser_time};

/// An alert as sinks see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub rule: Rule,
    pub severity: Severity,
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    /// The figure that triggered it (refusals, available gateways, failure rate, age in seconds…).
    pub value: f64,
    pub fingerprint: String,
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub starts_at: Millis,
    #[serde(serialize_with = "ser_opt_time", deserialize_with = "de_opt_time")]
    pub ends_at: Option<Millis>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Firing,
    Resolved,
}

/// One transition (or a repeat of a firing alert).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub status: Status,
    pub repeat: bool,
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub at: Millis,
    #[serde(flatten)]
    pub alert: Alert,
}

/// One firing in the alert history, with its resolution (the report's `alerts`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AlertRecord {
    pub rule: Rule,
    pub severity: Severity,
    pub fired_at: String,
    pub resolved_at: Option<String>,
    pub summary: String,
}
