//! The shape of the truth's JSON: `gwmon report --json` (DESIGN.md §4) without `alerts`.

use serde::Serialize;

#[derive(Serialize, Debug, Clone)]
pub struct Report {
    pub schema: &'static str,
    pub window: Window,
    pub lines: Lines,
    pub pool: Pool,
    pub allocations: Allocations,
    pub durations_s: Durations,
    pub exhaustion: Exhaustion,
    pub rate: Rates,
    pub orgs: Orgs,
    pub anomalies: Anomalies,
    pub gateways: Gateways,
    /// Not a report key: the alerts gwmon's default rules must raise for the incidents
    /// (refusals, orphans), as the simulator knows them.
    pub expected_alerts: Vec<ExpectedAlert>,
    /// Not a report key: Σ allocated × seconds per UTC day (days with an allocation), for the
    /// exact per-day utilization (`gwmon backfill`'s integral counter is checked against it).
    pub per_day_utilization: Vec<DayUtilization>,
}

#[derive(Serialize, Debug, Clone)]
pub struct DayUtilization {
    pub start: String,
    pub allocated_gateway_s: f64,
}

#[derive(Serialize, Debug, Clone)]
pub struct ExpectedAlert {
    pub rule: &'static str,
    pub fired_at: String,
    pub resolved_at: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct Window {
    pub start: String,
    pub end: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct Lines {
    pub read: u64,
    pub matched: u64,
    pub skipped: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Pool {
    pub total: u64,
    pub total_source: &'static str,
    pub allocated: u64,
    pub available: i64,
    pub recycling: u64,
    pub orphaned: u64,
    pub peak_allocated: u64,
    pub utilization: f64,
    pub utilization_mean: Option<f64>,
    pub last_snapshot: Option<LastSnapshot>,
    pub consistent: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct LastSnapshot {
    pub time: String,
    pub total: u64,
    pub used: u64,
    pub ready: u64,
    pub unused_not_ready: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Allocations {
    pub attempts: u64,
    pub allocated: u64,
    pub reused: u64,
    pub failed: u64,
    pub failure_rate: f64,
    pub failures_by_reason: ByReason,
    pub rollbacks: u64,
    pub orphaned: u64,
    pub deallocated: u64,
    pub open: u64,
    pub dealloc_failed: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct ByReason {
    pub no_gateway_available: u64,
    pub health_check: u64,
    pub init: u64,
    pub other: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Durations {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Exhaustion {
    pub failures: u64,
    pub episodes: u64,
    pub exhausted_s: f64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Rates {
    pub per_hour: Vec<RatePoint>,
    pub per_day: Vec<RatePoint>,
}

#[derive(Serialize, Debug, Clone)]
pub struct RatePoint {
    pub start: String,
    pub allocated: u64,
    pub failed: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Orgs {
    pub distinct: u64,
    pub top: Vec<TopOrg>,
    pub top_refused: Vec<TopRefused>,
}

#[derive(Serialize, Debug, Clone)]
pub struct TopRefused {
    pub org: String,
    pub refused: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Gateways {
    pub side_logs: bool,
    pub recycling_handouts: Option<u64>,
    pub recycling_handout_outcomes: Option<Outcomes>,
    pub restart_s: Option<Restarts>,
    pub by_gateway: Vec<GatewayRow>,
}

#[derive(Serialize, Debug, Clone)]
pub struct Outcomes {
    pub started: u64,
    pub health_check: u64,
    pub init: u64,
    pub other: u64,
    pub unfinished: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Restarts {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub max: f64,
}

#[derive(Serialize, Debug, Clone)]
pub struct GatewayRow {
    pub gateway: String,
    pub id: Option<String>,
    pub allocations: u64,
    pub failures: ByReason,
    pub recycling_handouts: Option<u64>,
    pub startup_ms: Startups,
    pub held_s: f64,
    pub restart_s: Option<Restarts>,
}

#[derive(Serialize, Debug, Clone)]
pub struct Startups {
    pub count: u64,
    pub mean: f64,
    pub p90: f64,
}

#[derive(Serialize, Debug, Clone)]
pub struct TopOrg {
    pub org: String,
    pub allocated: u64,
    pub failed: u64,
    pub held_s: f64,
}

#[derive(Serialize, Debug, Clone, Default)]
pub struct Anomalies {
    pub dealloc_without_alloc: u64,
    pub double_alloc: u64,
    pub time_backwards: u64,
    pub gateway_reassigned: u64,
    pub overcommitted: u64,
    /// The simulator's snapshots are its own state: never a difference.
    pub snapshot_drift: Option<()>,
}
