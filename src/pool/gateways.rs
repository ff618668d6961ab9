//! The gateways themselves (DESIGN.md §3, holistix-log-lines.md §4): who they are (container
//! name and UUID, learnt from the joins and from their own lines), when they restart (recycling
//! from a DOWN mark to the next UP mark), the allocations handed out while they restart, and the
//! figures per gateway. Only the gateways' own logs show a restart; without them `side_logs` is
//! false and the figures that need them are unknown.

use foldhash::HashMap;
use serde::{Deserialize, Serialize};

use super::Dist;
use crate::event::{DownCause, Reason};
use crate::units::Millis;

/// Gateways tracked one by one (a pool is a few dozen; hostile input cannot grow this).
pub const MAX_GATEWAYS: usize = 4096;

/// Where a gateway is in its restart cycle, as its marks say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// No mark seen yet: not recycling.
    #[default]
    Unknown,
    Up,
    /// Between a DOWN mark and the next UP mark. `whole`: the DOWN came after an UP inside the
    /// input, so the phase's length is known once it ends.
    Recycling {
        since: Millis,
        whole: bool,
    },
}

/// One gateway.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Gateway {
    pub id: Option<String>,
    /// One of its own lines was read.
    pub side_logs: bool,
    pub phase: Phase,
    pub allocations: u64,
    /// Failures after an allocation of it, by reason.
    pub failures: [u64; 4],
    /// Allocations of it while it was restarting.
    pub recycling_handouts: u64,
    /// From allocation to `✅ Gateway started successfully`.
    pub startup: Dist,
    /// Seconds held by completed allocations of it (ms).
    pub held_ms: i64,
    /// Completed restart phases.
    pub restarts: Dist,
}

impl Gateway {
    pub fn recycling(&self) -> bool {
        matches!(self.phase, Phase::Recycling { .. })
    }
}

/// What a mark changed (for the derived `gateway_down`/`gateway_up` events).
#[derive(Clone, Debug, PartialEq)]
pub enum Transition {
    Down {
        gateway: String,
        cause: DownCause,
    },
    Up {
        gateway: String,
        restart_ms: Option<i64>,
    },
}

/// Outcomes of handouts to restarting gateways: started, then the failure reasons.
pub const OUTCOMES: [&str; 4] = ["started", "health_check", "init", "other"];

/// Upper bounds (seconds) of the exported restart-duration histogram.
pub const RESTART_BUCKETS_S: [f64; 11] = [
    5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
];

/// Every gateway, and the handouts to restarting ones.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Gateways {
    /// By container name (or, for a gateway whose lines name none, `input#N`).
    pub by_name: HashMap<String, Gateway>,
    /// UUID → container name.
    pub names: HashMap<String, String>,
    /// Handouts to restarting gateways whose outcome is still to come: org → gateway.
    pub pending: HashMap<String, String>,
    pub handouts: u64,
    /// Outcomes by [`OUTCOMES`] (a failure of reason `no_gateway_available` cannot follow an
    /// allocation).
    pub outcomes: [u64; 4],
    /// Every completed restart phase.
    pub restarts: Dist,
    /// Completed restart phases per [`RESTART_BUCKETS_S`] bucket, then +Inf.
    pub restart_buckets: Vec<u64>,
}

impl Gateways {
    /// Whether a gateway's own line was read.
    pub fn side_logs(&self) -> bool {
        self.by_name.values().any(|g| g.side_logs)
    }

    /// The gateway of this name, created on first sight (unless too many are tracked).
    pub fn get(&mut self, name: &str) -> Option<&mut Gateway> {
        if !self.by_name.contains_key(name) {
            if self.by_name.len() >= MAX_GATEWAYS {
                return None;
            }
            self.by_name.insert(name.to_owned(), Gateway::default());
        }
        self.by_name.get_mut(name)
    }

    /// The container name a UUID is known by.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.names.get(id).map(String::as_str)
    }

    /// Learn that container `name` is the gateway with UUID `id`.
    pub fn learn(&mut self, name: &str, id: &str) {
        if self.names.get(id).is_some_and(|n| n == name) {
            return;
        }
        if self.names.len() < MAX_GATEWAYS || self.names.contains_key(id) {
            self.names.insert(id.to_owned(), name.to_owned());
        }
        if let Some(g) = self.get(name) {
            g.id = Some(id.to_owned());
        }
    }

    /// The UUID of a container.
    pub fn id_of(&self, name: &str) -> Option<&str> {
        self.by_name.get(name).and_then(|g| g.id.as_deref())
    }

    /// A line of the gateway's own log was read.
    pub fn own_line(&mut self, name: &str) {
        if let Some(g) = self.get(name) {
            g.side_logs = true;
        }
    }

    /// A DOWN mark: the gateway starts recycling (a second mark while recycling changes
    /// nothing).
    pub fn down(&mut self, name: &str, t: Millis, cause: DownCause) -> Option<Transition> {
        let g = self.get(name)?;
        let whole = match g.phase {
            Phase::Recycling { .. } => return None,
            Phase::Up => true,
            Phase::Unknown => false,
        };
        g.phase = Phase::Recycling { since: t, whole };
        Some(Transition::Down {
            gateway: name.to_owned(),
            cause,
        })
    }

    /// An UP mark: the restart is over; a whole phase is a restart time (recorded when
    /// `counting`).
    pub fn up(&mut self, name: &str, t: Millis, counting: bool) -> Option<Transition> {
        let g = self.get(name)?;
        let prev = std::mem::replace(&mut g.phase, Phase::Up);
        match prev {
            Phase::Recycling { since, whole } => {
                let ms = whole.then(|| (t - since).max(0));
                if let Some(ms) = ms.filter(|_| counting) {
                    g.restarts.record(ms);
                    self.restarts.record(ms);
                    let b = RESTART_BUCKETS_S.partition_point(|le| (*le * 1000.0) < ms as f64);
                    self.restart_buckets.resize(RESTART_BUCKETS_S.len() + 1, 0);
                    self.restart_buckets[b] += 1;
                }
                Some(Transition::Up {
                    gateway: name.to_owned(),
                    restart_ms: ms,
                })
            }
            Phase::Up | Phase::Unknown => None,
        }
    }

    /// An allocation of container `name` to `org`: a handout while it restarts is one whose
    /// outcome is awaited. Returns whether it was such a handout.
    pub fn allocated(&mut self, name: &str, org: &str, counting: bool) -> bool {
        let Some(g) = self.get(name) else {
            return false;
        };
        let recycling = g.side_logs && g.recycling();
        if counting {
            g.allocations += 1;
            if recycling {
                g.recycling_handouts += 1;
            }
        }
        // A new allocation of the org replaces an awaited outcome of an earlier one.
        self.pending.remove(org);
        if recycling {
            if counting {
                self.handouts += 1;
            }
            if self.pending.len() < MAX_GATEWAYS {
                self.pending.insert(org.to_owned(), name.to_owned());
            }
        }
        recycling
    }

    /// The organization's start-up ended: `None` started, else failed for that reason.
    pub fn outcome(&mut self, org: &str, failed: Option<Reason>, counting: bool) {
        if self.pending.remove(org).is_some() && counting {
            let i = match failed {
                None => 0,
                Some(Reason::HealthCheck) => 1,
                Some(Reason::Init) => 2,
                Some(_) => 3,
            };
            self.outcomes[i] += 1;
        }
    }

    /// The gateways recycling now (among those whose own logs are read) and since when, in
    /// name order.
    pub fn restarting(&self) -> Vec<(&str, Millis)> {
        let mut v: Vec<(&str, Millis)> = self
            .by_name
            .iter()
            .filter(|(_, g)| g.side_logs)
            .filter_map(|(n, g)| match g.phase {
                Phase::Recycling { since, .. } => Some((n.as_str(), since)),
                _ => None,
            })
            .collect();
        v.sort_by(|a, b| crate::units::natural_cmp(a.0, b.0));
        v
    }

    /// Gateways recycling now (among those whose own logs are read).
    pub fn recycling_now(&self) -> u64 {
        self.by_name
            .values()
            .filter(|g| g.side_logs && g.recycling())
            .count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_is_timed_from_a_down_after_an_up_to_the_next_up() {
        let mut g = Gateways::default();
        g.own_line("gw-pool-1");
        // A down before any up is not a whole phase.
        assert!(g.down("gw-pool-1", 0, DownCause::Shutdown).is_some());
        assert_eq!(
            g.up("gw-pool-1", 50_000, true),
            Some(Transition::Up {
                gateway: "gw-pool-1".into(),
                restart_ms: None
            })
        );
        assert!(g.down("gw-pool-1", 100_000, DownCause::Stop).is_some());
        // A second mark while down changes nothing.
        assert!(g.down("gw-pool-1", 100_500, DownCause::Shutdown).is_none());
        assert!(g.allocated("gw-pool-1", "o", true));
        assert_eq!(g.recycling_now(), 1);
        assert_eq!(g.restarting(), vec![("gw-pool-1", 100_000)]);
        g.up("gw-pool-1", 148_000, true);
        assert_eq!(g.restarts.count(), 1);
        assert_eq!(g.restarts.max_ms, 48_000);
        assert_eq!(g.restart_buckets[5], 1, "48 s is in the le=60 bucket");
        g.outcome("o", Some(Reason::HealthCheck), true);
        assert_eq!(g.outcomes, [0, 1, 0, 0]);
        assert_eq!(g.handouts, 1);
    }
}
