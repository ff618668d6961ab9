//! The shared vocabulary of every stage after recognition: one typed [`Event`] per gateway
//! lifecycle line (DESIGN.md §2). `gwmon events` prints them as JSON lines; the pool model
//! consumes them; the alert engine and the exporters read the state they build.

use serde::{Deserialize, Serialize};

pub use crate::units::Millis;

/// Why an allocation failed (DESIGN.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    NoGatewayAvailable,
    HealthCheck,
    Init,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 4] = [
        Reason::NoGatewayAvailable,
        Reason::HealthCheck,
        Reason::Init,
        Reason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoGatewayAvailable => "no_gateway_available",
            Reason::HealthCheck => "health_check",
            Reason::Init => "init",
            Reason::Other => "other",
        }
    }

    /// Classify the error message of `Failed to start gateway for org ORG: "MSG"`.
    pub fn classify(message: &str) -> Reason {
        let m = message.trim_start();
        if m.starts_with("no_gateway_available") {
            Reason::NoGatewayAvailable
        } else if m.starts_with("Gateway health check failed") {
            Reason::HealthCheck
        } else if m.starts_with("Gateway initialization failed") {
            Reason::Init
        } else {
            Reason::Other
        }
    }
}

/// A pool snapshot as counted by the database (`gateway-stats`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub total: u64,
    pub used: u64,
    pub ready: u64,
    pub unused_not_ready: u64,
}

/// What happened. Field names are the JSON keys of `gwmon events`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Kind {
    AllocAttempt {
        org: String,
    },
    Allocated {
        org: String,
        gateway: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        port: Option<u32>,
    },
    Reused {
        org: String,
    },
    AllocReady {
        org: String,
        /// Milliseconds from `allocated` to this line, filled in by the pool model.
        #[serde(skip_serializing_if = "Option::is_none")]
        startup_ms: Option<i64>,
    },
    AllocFailed {
        org: String,
        reason: Reason,
        message: String,
    },
    Rollback {
        org: String,
        gateway: String,
        /// Seconds the rolled-back allocation was held, filled in by the pool model.
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_s: Option<f64>,
    },
    Orphaned {
        org: String,
        error: String,
    },
    Deallocated {
        org: String,
        gateway: String,
        /// Seconds the allocation was held, filled in by the pool model.
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_s: Option<f64>,
    },
    DeallocFailed {
        #[serde(skip_serializing_if = "Option::is_none")]
        org: Option<String>,
        message: String,
    },
    GatewayReady {
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
    },
    IdleShutdown {
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        idle_ms: u64,
    },
    PoolSnapshot {
        total: u64,
        used: u64,
        ready: u64,
        unused_not_ready: u64,
    },
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::AllocAttempt { .. } => "alloc_attempt",
            Kind::Allocated { .. } => "allocated",
            Kind::Reused { .. } => "reused",
            Kind::AllocReady { .. } => "alloc_ready",
            Kind::AllocFailed { .. } => "alloc_failed",
            Kind::Rollback { .. } => "rollback",
            Kind::Orphaned { .. } => "orphaned",
            Kind::Deallocated { .. } => "deallocated",
            Kind::DeallocFailed { .. } => "dealloc_failed",
            Kind::GatewayReady { .. } => "gateway_ready",
            Kind::IdleShutdown { .. } => "idle_shutdown",
            Kind::PoolSnapshot { .. } => "pool_snapshot",
        }
    }

    /// The organization the event is about, if any.
    pub fn org(&self) -> Option<&str> {
        match self {
            Kind::AllocAttempt { org }
            | Kind::Allocated { org, .. }
            | Kind::Reused { org }
            | Kind::AllocReady { org, .. }
            | Kind::AllocFailed { org, .. }
            | Kind::Rollback { org, .. }
            | Kind::Orphaned { org, .. }
            | Kind::Deallocated { org, .. } => Some(org),
            Kind::DeallocFailed { org, .. } => org.as_deref(),
            _ => None,
        }
    }
}

/// Where an event came from: an input and a physical line number (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Index of the input in the run's input list.
    pub input: u32,
    pub line: u64,
}

/// One recognized lifecycle event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub time: Millis,
    pub kind: Kind,
    pub origin: Origin,
    /// The source that wrote the line, when its prefix or its file name says (a compose
    /// service, a pod and container, a syslog host and program).
    pub stream: Option<String>,
    /// The record's message, for `-v` output.
    pub raw: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_classes() {
        assert_eq!(
            Reason::classify("no_gateway_available"),
            Reason::NoGatewayAvailable
        );
        assert_eq!(
            Reason::classify("Gateway health check failed after 5000ms. Gateway may not be ready."),
            Reason::HealthCheck
        );
        assert_eq!(
            Reason::classify("Gateway initialization failed: 502 <html>"),
            Reason::Init
        );
        assert_eq!(
            Reason::classify("Failed to allocate gateway from pool"),
            Reason::Other
        );
    }

    #[test]
    fn event_json_shape() {
        let k = Kind::Allocated {
            org: "o".into(),
            gateway: "gw-pool-3".into(),
            port: Some(7103),
        };
        assert_eq!(
            serde_json::to_string(&k).unwrap(),
            r#"{"event":"allocated","org":"o","gateway":"gw-pool-3","port":7103}"#
        );
    }
}
