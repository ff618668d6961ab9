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

/// Why a gateway went down (the mark that started its restart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownCause {
    /// The gateway's own `No active projects for …ms - initiating shutdown`.
    Idle,
    /// The service's `Stopping gateway <UUID> for org …` (deallocation).
    Stop,
    /// The `✅ Gateway returned to pool` ending a rollback of the gateway.
    Rollback,
    /// The gateway's own `Initiating graceful shutdown...`.
    Shutdown,
}

/// What happened. Field names are the JSON keys of `gwmon events`. A gateway is named by its
/// container (`gateway`, when known) and its UUID (`gateway_id`, when known): the lines name one
/// or the other, the pool model fills in the other from what it has learnt.
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
        gateway_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        port: Option<u32>,
        /// Handed out while its container was still restarting (gateway-side logs tell).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        recycling: bool,
    },
    Reused {
        org: String,
    },
    AllocReady {
        org: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway_id: Option<String>,
        /// Milliseconds from `allocated` to this line, filled in by the pool model.
        #[serde(skip_serializing_if = "Option::is_none")]
        startup_ms: Option<i64>,
    },
    AllocFailed {
        org: String,
        reason: Reason,
        message: String,
        /// The gateway the organization held when it failed (charged to it).
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway_id: Option<String>,
    },
    Rollback {
        org: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        gateway_id: String,
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
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        gateway_id: String,
        /// Seconds the allocation was held, filled in by the pool model.
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_s: Option<f64>,
    },
    DeallocFailed {
        #[serde(skip_serializing_if = "Option::is_none")]
        org: Option<String>,
        message: String,
    },
    /// The gateway's own `Successfully signaled ready to Ganymede`: it is up.
    GatewayReady {
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway_id: Option<String>,
    },
    IdleShutdown {
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway_id: Option<String>,
        idle_ms: u64,
    },
    /// The gateway's own `Initiating graceful shutdown...`: it goes down.
    GatewayShutdown {
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway_id: Option<String>,
    },
    /// The gateway's own `Initialized for org: ORG, gateway: <UUID>`.
    GatewayInitialized {
        org: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        gateway_id: String,
    },
    /// The gateway's own `✅ Gateway <UUID> deallocated, returned to pool`.
    GatewayReleased {
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        gateway_id: String,
    },
    PoolSnapshot {
        total: u64,
        used: u64,
        ready: u64,
        unused_not_ready: u64,
    },
    /// Derived by the pool model: the gateway started restarting (its first DOWN mark).
    GatewayDown {
        gateway: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway_id: Option<String>,
        cause: DownCause,
    },
    /// Derived by the pool model: the gateway is up again; `restart_s` when the phase was seen
    /// whole (down from up, within the input).
    GatewayUp {
        gateway: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        gateway_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        restart_s: Option<f64>,
    },
    /// Derived by the pool model after an event that changed the pool's figures (`gwmon
    /// events`): unknown figures are `null`.
    PoolStatus {
        allocated: u64,
        orphaned: u64,
        /// Unknown (null) until a gateway's own line was read.
        recycling: Option<u64>,
        available: Option<i64>,
        total: Option<u64>,
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
            Kind::GatewayShutdown { .. } => "gateway_shutdown",
            Kind::GatewayInitialized { .. } => "gateway_initialized",
            Kind::GatewayReleased { .. } => "gateway_released",
            Kind::PoolSnapshot { .. } => "pool_snapshot",
            Kind::GatewayDown { .. } => "gateway_down",
            Kind::GatewayUp { .. } => "gateway_up",
            Kind::PoolStatus { .. } => "pool_status",
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
            | Kind::Deallocated { org, .. }
            | Kind::GatewayInitialized { org, .. } => Some(org),
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
            gateway_id: None,
            port: Some(7103),
            recycling: false,
        };
        assert_eq!(
            serde_json::to_string(&k).unwrap(),
            r#"{"event":"allocated","org":"o","gateway":"gw-pool-3","port":7103}"#
        );
    }
}
