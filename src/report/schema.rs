//! The report's data: `gwmon report --json` schema `gwmon.report/v1` (DESIGN.md §4), stable for
//! scripts. Values that cannot be known are `null`, never 0. New keys may be added; existing keys
//! keep their meaning.

use serde::{Deserialize, Serialize};

pub use crate::alert::AlertRecord;

pub const SCHEMA: &str = "gwmon.report/v1";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub schema: String,
    pub window: Window,
    pub lines: Lines,
    pub pool: PoolFigures,
    pub allocations: Allocations,
    pub durations_s: Durations,
    pub exhaustion: Exhaustion,
    pub rate: Rate,
    pub orgs: Orgs,
    pub anomalies: Anomalies,
    /// The gateways themselves, from the gateway containers' own logs beside the service's.
    pub gateways: GatewaysSection,
    pub alerts: Vec<AlertRecord>,
    /// Figures beyond schema v1's required keys (new keys may be added).
    pub startup_ms: Durations,
    /// The longest allocations still open at the end, oldest first.
    pub open_longest: Vec<OpenAllocation>,
    /// The longest completed allocations, longest first.
    pub longest: Vec<OpenAllocation>,
    /// Silences longer than `pool.gap_after` (2h) without any lifecycle event (the newest
    /// 1000; `gaps_dropped` older ones).
    #[serde(default)]
    pub gaps: Vec<Span>,
    #[serde(default)]
    pub gaps_dropped: u64,
    /// The latest distinct error messages (failed start-ups, failed stops, orphaning errors),
    /// the most recent first.
    #[serde(default)]
    pub errors: Vec<ErrorRecord>,
}

/// A time span of the window: an exhaustion period (`count` refusals) or a gap (`count` 0).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Span {
    pub start: String,
    /// `null` while it lasts at the end of the window.
    pub end: Option<String>,
    pub s: f64,
    pub count: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ErrorRecord {
    /// `health_check`, `init`, `other`, `dealloc_failed` or `orphaned`.
    pub kind: String,
    pub message: String,
    pub count: u64,
    pub first: String,
    pub last: String,
}

/// One hour of the pool: time-weighted means over the part of the hour inside the window
/// (`recycling` unknown without the gateways' own logs, `available` and `total` without a
/// known total).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PoolHour {
    pub start: String,
    pub allocated: f64,
    pub orphaned: f64,
    pub recycling: Option<f64>,
    pub available: Option<f64>,
    pub total: Option<f64>,
}

/// A histogram bucket: values at most `le` (`null`: the rest).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HistBucket {
    pub le: Option<f64>,
    pub count: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Window {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Lines {
    pub read: u64,
    pub matched: u64,
    pub skipped: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PoolFigures {
    pub total: Option<u64>,
    pub total_source: String,
    pub allocated: u64,
    pub available: Option<i64>,
    pub recycling: u64,
    pub orphaned: u64,
    pub peak_allocated: u64,
    pub utilization: Option<f64>,
    pub utilization_mean: Option<f64>,
    pub last_snapshot: Option<SnapshotRecord>,
    /// The model fits the pool (allocated + orphaned within the known total); when false,
    /// `available` is shown as 0 and `anomalies` says why.
    pub consistent: bool,
    /// The pool per hour of the window (contiguous up to a month past an event).
    #[serde(default)]
    pub history: Vec<PoolHour>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SnapshotRecord {
    pub time: String,
    pub total: u64,
    pub used: u64,
    pub ready: u64,
    pub unused_not_ready: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct FailuresByReason {
    pub no_gateway_available: u64,
    pub health_check: u64,
    pub init: u64,
    pub other: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Allocations {
    pub attempts: u64,
    pub allocated: u64,
    pub reused: u64,
    pub failed: u64,
    pub failure_rate: f64,
    pub failures_by_reason: FailuresByReason,
    pub rollbacks: u64,
    pub orphaned: u64,
    pub deallocated: u64,
    pub open: u64,
    /// `Failed to stop gateway` lines.
    pub dealloc_failed: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Durations {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    /// Counts on a log scale (in the figures' unit; from the HDR histogram).
    #[serde(default)]
    pub histogram: Vec<HistBucket>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Exhaustion {
    pub failures: u64,
    pub episodes: u64,
    pub exhausted_s: Option<f64>,
    /// Each episode: its first refusal to the next allocation (the newest 1000).
    #[serde(default)]
    pub periods: Vec<Span>,
    #[serde(default)]
    pub periods_dropped: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Rate {
    pub per_hour: Vec<Bucket>,
    pub per_day: Vec<Bucket>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Bucket {
    pub start: String,
    pub allocated: u64,
    pub failed: u64,
    #[serde(default)]
    pub reused: u64,
    #[serde(default)]
    pub failures_by_reason: FailuresByReason,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Orgs {
    pub distinct: u64,
    pub top: Vec<OrgFigures>,
    /// Events of organizations beyond `--max-orgs`, folded into one bucket.
    pub other: Option<OrgFigures>,
    /// The organizations refused most (`no_gateway_available`), most first, ties by id.
    pub top_refused: Vec<OrgRefused>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OrgRefused {
    pub org: String,
    pub refused: u64,
}

/// The gateways (DESIGN.md §3). Without gateway-side logs `side_logs` is false and the figures
/// that need them are null.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct GatewaysSection {
    pub side_logs: bool,
    /// Allocations of a gateway while its container was still restarting.
    pub recycling_handouts: Option<u64>,
    pub recycling_handout_outcomes: Option<HandoutOutcomes>,
    /// Completed restarts: from a DOWN mark after an UP to the next UP, both in the input.
    pub restart_s: Option<RestartFigures>,
    pub by_gateway: Vec<GatewayFigures>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct HandoutOutcomes {
    pub started: u64,
    pub health_check: u64,
    pub init: u64,
    pub other: u64,
    /// No outcome yet at the end of the input.
    pub unfinished: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RestartFigures {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub max: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GatewayFigures {
    pub gateway: String,
    pub id: Option<String>,
    pub allocations: u64,
    pub failures: FailuresByReason,
    pub recycling_handouts: Option<u64>,
    pub startup_ms: StartupFigures,
    pub held_s: f64,
    /// This gateway's completed restarts (null without its own logs).
    pub restart_s: Option<RestartFigures>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct StartupFigures {
    pub count: u64,
    pub mean: f64,
    pub p90: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OrgFigures {
    pub org: String,
    pub allocated: u64,
    pub failed: u64,
    pub held_s: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Anomalies {
    pub dealloc_without_alloc: u64,
    pub double_alloc: u64,
    pub time_backwards: u64,
    /// Allocations ended unseen: their container was allocated to another organization.
    pub gateway_reassigned: u64,
    /// Moments the model held more gateways than the pool has.
    pub overcommitted: u64,
    /// Open allocations dropped from the model to keep it bounded (the oldest, when more than
    /// `--max-orgs` were open at once: deallocation lines missing).
    #[serde(default)]
    pub open_folded: u64,
    /// A lasting difference between the model and the pool snapshots (null: none).
    pub snapshot_drift: Option<SnapshotDrift>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SnapshotDrift {
    /// Snapshots compared with the model, and those whose difference lasted from the one before.
    pub snapshots: u64,
    pub lasting: u64,
    /// The largest lasting difference (model − snapshot, gateways in use) and when.
    pub largest: i64,
    pub at: Option<String>,
    /// The difference at the latest snapshot.
    pub last: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OpenAllocation {
    pub org: String,
    pub gateway: String,
    pub since: String,
    pub held_s: f64,
    pub orphaned: bool,
}
