//! The truth's `gateways` section: what the gateways' own logs let gwmon know.

use super::schema::{ByReason, GatewayRow, Gateways, Outcomes, Restarts, Startups};
use super::{Truth, mean, rank};

fn restarts(v: &[i64]) -> Restarts {
    let mut d = v.to_vec();
    d.sort_unstable();
    Restarts {
        count: d.len() as u64,
        mean: mean(&d) / 1000.0,
        p50: rank(&d, 0.5) as f64 / 1000.0,
        p90: rank(&d, 0.9) as f64 / 1000.0,
        max: d.last().map_or(0.0, |&x| x as f64 / 1000.0),
    }
}

impl Truth {
    pub(super) fn gateways_section(&self) -> Gateways {
        let side = self.side_logs;
        let all: Vec<i64> = self.gws.iter().flat_map(|g| g.restarts.clone()).collect();
        let by_gateway = self
            .gws
            .iter()
            .enumerate()
            .filter(|(_, g)| g.seen)
            .map(|(i, g)| {
                let mut st = g.startups.clone();
                st.sort_unstable();
                GatewayRow {
                    gateway: self.gw_names[i].clone(),
                    id: g.id_known.then(|| self.gw_ids[i].clone()),
                    allocations: g.allocations,
                    failures: ByReason {
                        no_gateway_available: 0,
                        health_check: g.failures[1],
                        init: g.failures[2],
                        other: g.failures[3],
                    },
                    recycling_handouts: side.then_some(g.handouts),
                    startup_ms: Startups {
                        count: st.len() as u64,
                        mean: mean(&st),
                        p90: rank(&st, 0.9) as f64,
                    },
                    held_s: g.held_ms as f64 / 1000.0,
                    restart_s: g.side.then(|| restarts(&g.restarts)),
                }
            })
            .collect();
        Gateways {
            side_logs: side,
            recycling_handouts: side.then_some(self.handouts),
            recycling_handout_outcomes: side.then(|| Outcomes {
                started: self.outcomes[0],
                health_check: self.outcomes[1],
                init: self.outcomes[2],
                other: self.outcomes[3],
                unfinished: self.orgs.iter().filter(|o| o.pending).count() as u64,
            }),
            restart_s: side.then(|| restarts(&all)),
            by_gateway,
        }
    }
}
