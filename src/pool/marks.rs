//! The gateway side of the model: the gateways' own lines (their restart marks and the UUIDs
//! they tell), the joins that name a gateway on its organization's events, and the events the
//! model derives (`gateway_down`, `gateway_up`, `pool_status`).

use super::{Pool, Transition};
use crate::event::{DownCause, Event, Kind, Millis};

impl Pool {
    /// A line of a gateway's own log (`input`: where it was read, naming the gateway when the
    /// line does not).
    pub(super) fn own_line(&mut self, kind: &mut Kind, input: u32, t: Millis) {
        let counting = self.counting;
        match kind {
            Kind::GatewayReady {
                gateway,
                gateway_id,
            } => {
                let key = gateway_key(gateway.as_deref(), input);
                self.gateways.own_line(&key);
                if let Some(tr) = self.gateways.up(&key, t, self.counting) {
                    self.derive(tr);
                }
                *gateway_id = self.gateways.id_of(&key).map(str::to_owned);
                if counting {
                    self.counters.gateway_ready += 1;
                }
            }
            Kind::IdleShutdown {
                gateway,
                gateway_id,
                ..
            } => {
                let key = gateway_key(gateway.as_deref(), input);
                self.gateways.own_line(&key);
                self.mark_down(&key, t, DownCause::Idle);
                *gateway_id = self.gateways.id_of(&key).map(str::to_owned);
                if counting {
                    self.counters.idle_shutdowns += 1;
                }
            }
            Kind::GatewayShutdown {
                gateway,
                gateway_id,
            } => {
                let key = gateway_key(gateway.as_deref(), input);
                self.gateways.own_line(&key);
                self.mark_down(&key, t, DownCause::Shutdown);
                *gateway_id = self.gateways.id_of(&key).map(str::to_owned);
            }
            Kind::GatewayInitialized {
                gateway,
                gateway_id,
                ..
            }
            | Kind::GatewayReleased {
                gateway,
                gateway_id,
            } => {
                let key = gateway_key(gateway.as_deref(), input);
                self.gateways.own_line(&key);
                self.gateways.learn(&key, gateway_id);
            }
            _ => {}
        }
    }

    /// The events the last applied event derived (`gateway_down`, `gateway_up`, `pool_status`;
    /// only with `keep_derived`), at its time and from its line.
    pub fn take_derived(&mut self, from: &Event) -> Vec<Event> {
        self.derived
            .drain(..)
            .map(|kind| Event {
                time: from.time,
                kind,
                origin: from.origin.clone(),
                stream: from.stream.clone(),
                raw: String::new(),
            })
            .collect()
    }

    /// Gateways restarting now; unknown (`None`) until a gateway's own line was read.
    pub fn recycling(&self) -> Option<u64> {
        self.gateways
            .side_logs()
            .then(|| self.gateways.recycling_now())
    }

    /// The container an organization's gateway is (its open allocation names it), learning its
    /// UUID on the way; else what the UUID is known by.
    pub(super) fn identify(&mut self, org: &str, id: &str) -> Option<String> {
        match self.open.get(org).map(|o| o.gateway.clone()) {
            Some(name) if Self::named(&name) => {
                self.gateways.learn(&name, id);
                Some(name)
            }
            _ => self.gateways.name_of(id).map(str::to_owned),
        }
    }

    /// Name the gateway on an event of its organization.
    pub(super) fn name_event(
        &self,
        name: &str,
        gateway: &mut Option<String>,
        id: &mut Option<String>,
    ) {
        if Self::named(name) {
            *gateway = Some(name.to_owned());
            *id = self.gateways.id_of(name).map(str::to_owned);
        }
    }

    pub(super) fn mark_down(&mut self, name: &str, t: Millis, cause: DownCause) {
        if let Some(tr) = self.gateways.down(name, t, cause) {
            self.derive(tr);
        }
    }

    fn derive(&mut self, tr: Transition) {
        if !self.keep_derived {
            return;
        }
        let kind = match tr {
            Transition::Down { gateway, cause } => Kind::GatewayDown {
                gateway_id: self.gateways.id_of(&gateway).map(str::to_owned),
                gateway,
                cause,
            },
            Transition::Up {
                gateway,
                restart_ms,
            } => Kind::GatewayUp {
                gateway_id: self.gateways.id_of(&gateway).map(str::to_owned),
                gateway,
                restart_s: restart_ms.map(|ms| ms as f64 / 1000.0),
            },
        };
        self.derived.push(kind);
    }

    /// A `pool_status` when the figures changed (allocated, orphaned, recycling, available,
    /// total).
    pub(super) fn status(&mut self) {
        if !self.keep_derived {
            return;
        }
        let now = (
            self.allocated(),
            self.orphaned_open,
            self.recycling(),
            self.available(),
            self.total(),
        );
        if self.last_status != Some(now) {
            self.last_status = Some(now);
            self.derived.push(Kind::PoolStatus {
                allocated: now.0,
                orphaned: now.1,
                recycling: now.2,
                available: now.3,
                total: now.4,
            });
        }
    }
}

/// Which gateway a gateway-side line is about: the emitter named by the transport, else the
/// input it was read from (one file per gateway container).
fn gateway_key(emitter: Option<&str>, input: u32) -> String {
    match emitter {
        Some(g) => g.to_owned(),
        None => format!("input#{input}"),
    }
}
