//! The allocation steps of one request (holistix-log-lines.md §2–§3): `POST /gateway/start`
//! (allocate, health check, initialization, the failures and their cleanup) and
//! `POST /gateway/stop`, each writing its lines as it goes.

use std::io::{self, Write};

use super::*;

impl<W: Write> Sim<W> {
    /// `POST /gateway/start` of `org` at `t`.
    pub(super) fn request(&mut self, t: i64, org: usize) -> io::Result<()> {
        if self.orgs[org].inflight.is_some() {
            // The same organization's earlier request is still running: the UI waits for it.
            return Ok(());
        }
        let id = self.orgs[org].id.clone();
        let t = self.emit(
            t,
            Prio::Info,
            ALLOC,
            &format!("Starting gateway for org {id}"),
        )?;
        self.truth.attempt(org, t);
        match self.orgs[org].hold {
            Hold::Allocated { .. } | Hold::Orphaned { .. } => {
                let dt = self.rng.range(2, 25);
                let t2 = self.emit(
                    t + dt,
                    Prio::Info,
                    ALLOC,
                    &format!("Gateway already allocated: org-{id}.example.com"),
                )?;
                self.truth.reuse(org, t2);
                self.http(t2 + 1, "POST /gateway/start 200", t2 - t + 1)?;
                self.orgs[org].retries = 0;
                let o = &self.orgs[org];
                if matches!(o.hold, Hold::Allocated { .. }) && o.idle_based {
                    // Activity postpones the idle shutdown.
                    let active = self.rng.lognormal(20.0 * 60.0, 0.8, 60.0, 4.0 * 3600.0);
                    let at =
                        t2 + (active * 1000.0) as i64 + 30 * MINUTE + self.rng.range(0, 60_000);
                    if at > self.orgs[org].release_at {
                        let o = &mut self.orgs[org];
                        o.epoch += 1;
                        o.release_at = at;
                        let epoch = o.epoch;
                        self.schedule(at, Act::Release(org, epoch));
                    }
                }
            }
            Hold::None => {
                self.orgs[org].inflight = Some(Inflight {
                    started: t,
                    gw: 0,
                    fate: Fate::Ok,
                    health_ms: 0,
                    page: 0,
                });
                let dt = self.rng.range(5, 40);
                self.schedule(t + dt, Act::Allocate(org));
            }
        }
        Ok(())
    }

    fn http(&mut self, t: i64, what: &str, ms: i64) -> io::Result<i64> {
        self.emit(t, Prio::Info, HTTP, &format!("{what} {ms}ms"))
    }

    pub(super) fn allocate(&mut self, t: i64, org: usize) -> io::Result<()> {
        if self.rng.chance(0.005) {
            return self.fail_before_commit(
                t,
                org,
                "Failed to allocate gateway from pool",
                Reason::Other,
            );
        }
        let free: Vec<usize> = (0..self.gateways.len())
            .filter(|&g| self.gateways[g].holder.is_none())
            .collect();
        if free.is_empty() {
            return self.fail_before_commit(
                t,
                org,
                "no_gateway_available",
                Reason::NoGatewayAvailable,
            );
        }
        let gw = free[self.rng.below(free.len() as u64) as usize];
        let id = self.orgs[org].id.clone();
        let name = if self.rng.chance(0.003) {
            "null".to_owned()
        } else {
            self.gateways[gw].name.clone()
        };
        let port = self.gateways[gw].port;
        let t = self.emit(
            t,
            Prio::Info,
            ALLOC,
            &format!("Allocated {name} (port {port}, upstream 172.17.0.1:{port}) to org {id}"),
        )?;
        let named = (name != "null").then_some(gw);
        self.truth.allocated_gw(org, t, named);
        self.gateways[gw].holder = Some(org);
        self.orgs[org].hold = Hold::Allocated { gw };
        let dt = self.rng.range(5, 40);
        let t = self.emit(
            t + dt,
            Prio::Info,
            ALLOC,
            &format!("Gateway accessible at: https://org-{id}.example.com"),
        )?;
        let dt = self.rng.range(0, 1);
        let t = self.emit(t + dt, Prio::Info, ALLOC, "Checking gateway health...")?;
        // A gateway handed out while its container is still restarting fails its health check
        // unless the container comes up within the check's 5 seconds.
        let up_at = self.gateways[gw].up_at;
        let restarting = up_at > t;
        let glitch = std::mem::take(&mut self.glitch);
        let fate = if glitch {
            Fate::Init
        } else if (restarting && up_at >= t + 5000) || self.rng.chance(0.01) {
            Fate::Health
        } else if self.rng.chance(0.01) {
            Fate::Init
        } else if self.rng.chance(0.003) {
            Fate::Other
        } else {
            Fate::Ok
        };
        let health_ms = match fate {
            Fate::Health => 5000 + self.rng.range(0, 40),
            // Healthy once the container is up.
            _ if restarting => {
                (up_at - t + self.rng.lognormal(300.0, 0.5, 50.0, 2000.0) as i64).min(4990)
            }
            _ => self.rng.lognormal(700.0, 0.6, 120.0, 4800.0) as i64,
        };
        // Big pages now and then, so some lines exceed Docker's 16 KiB piece.
        let big = self.init_pages.len() - 1;
        let page = if glitch || self.rng.chance(0.35) {
            big
        } else {
            self.rng.below(big as u64) as usize
        };
        if let Some(f) = &mut self.orgs[org].inflight {
            f.gw = gw;
            f.fate = fate;
            f.health_ms = health_ms;
            f.page = page;
        }
        self.schedule(t + health_ms, Act::Health(org));
        Ok(())
    }

    pub(super) fn health(&mut self, t: i64, org: usize) -> io::Result<()> {
        let Some(f) = self.orgs[org].inflight else {
            return Ok(());
        };
        if let Fate::Health = f.fate {
            return self.fail_after_alloc(t, org, HEALTH_MSG, Reason::HealthCheck);
        }
        let id = self.orgs[org].id.clone();
        let t = self.emit(
            t,
            Prio::Info,
            ALLOC,
            &format!("✅ Gateway healthy after {}ms", f.health_ms),
        )?;
        let dt = self.rng.range(0, 2);
        let t = self.emit(
            t + dt,
            Prio::Info,
            ALLOC,
            &format!(
                "Triggering gateway initialization: https://org-{id}.example.com/collab/start"
            ),
        )?;
        let init_ms = self.rng.lognormal(450.0, 0.7, 60.0, 9000.0) as i64;
        self.schedule(t + init_ms, Act::Init(org));
        Ok(())
    }

    pub(super) fn init(&mut self, t: i64, org: usize) -> io::Result<()> {
        let Some(f) = self.orgs[org].inflight else {
            return Ok(());
        };
        match f.fate {
            Fate::Init => {
                let msg = format!("Gateway initialization failed: {}", self.init_pages[f.page]);
                return self.fail_after_alloc(t, org, &msg, Reason::Init);
            }
            Fate::Other => {
                let id = self.orgs[org].id.clone();
                let msg = format!(
                    "Failed to write nginx config: EACCES: permission denied, open '/etc/nginx/conf.d/org-{id}.conf'"
                );
                return self.fail_after_alloc(t, org, &msg, Reason::Other);
            }
            Fate::Ok | Fate::Health => {}
        }
        let id = self.orgs[org].id.clone();
        // The gateway takes its organization (its own log names both).
        let uuid = self.gateways[f.gw].uuid.clone();
        self.gw_line(
            f.gw,
            t,
            Prio::Info,
            STATE,
            &format!("Initialized for org: {id}, gateway: {uuid}"),
        )?;
        if self.side_logs() {
            self.truth.gw_id(f.gw);
        }
        let t = self.emit(
            t,
            Prio::Info,
            ALLOC,
            &format!("✅ Gateway started successfully for org {id}"),
        )?;
        self.truth.ready(org, t);
        self.http(t + 1, "POST /gateway/start 200", t - f.started + 1)?;
        // Held for a working session; most end by the gateway's idle shutdown (30 min without
        // activity), the others by an explicit stop.
        let active = self.rng.lognormal(35.0 * 60.0, 1.0, 120.0, 12.0 * 3600.0);
        let idle_based = self.rng.chance(0.7);
        let mut at = t + (active * 1000.0) as i64;
        if idle_based {
            at += 30 * MINUTE + self.rng.range(0, 60_000);
        }
        let o = &mut self.orgs[org];
        o.inflight = None;
        o.retries = 0;
        o.idle_based = idle_based;
        o.release_at = at;
        o.epoch += 1;
        let epoch = o.epoch;
        self.schedule(at, Act::Release(org, epoch));
        Ok(())
    }

    /// A failure before anything was allocated.
    fn fail_before_commit(
        &mut self,
        t: i64,
        org: usize,
        msg: &str,
        reason: Reason,
    ) -> io::Result<()> {
        let started = self.orgs[org].inflight.map_or(t, |f| f.started);
        let t = self.failure_and_cleanup_start(t, org, msg, reason)?;
        let dt = self.rng.range(0, 3);
        let t = self.emit(
            t + dt,
            Prio::Info,
            CLEANUP,
            "No allocation found - failure before DB commit",
        )?;
        self.http(t + 1, "POST /gateway/start 503", t - started + 1)?;
        self.orgs[org].inflight = None;
        if reason == Reason::NoGatewayAvailable
            && self.orgs[org].retries < 3
            && self.rng.chance(0.6)
        {
            self.orgs[org].retries += 1;
            let dt = self.rng.range(MINUTE, 10 * MINUTE);
            self.schedule(t + dt, Act::Request(org));
        }
        Ok(())
    }

    /// `Failed to start gateway …` and the first line of its cleanup, which carries the raw
    /// message (an HTML page spans several physical lines there). Returns the cleanup line's time.
    fn failure_and_cleanup_start(
        &mut self,
        t: i64,
        org: usize,
        msg: &str,
        reason: Reason,
    ) -> io::Result<i64> {
        let id = self.orgs[org].id.clone();
        let t = self.em.emit(
            t,
            Prio::Error,
            ALLOC,
            &format!("Failed to start gateway for org {id}:"),
            Data::Str(msg),
        )?;
        self.truth.failed(org, t, reason);
        let dt = self.rng.range(0, 2);
        self.emit(
            t + dt,
            Prio::Warning,
            CLEANUP,
            &format!("Cleaning up failed allocation for org {id}: {msg}"),
        )
    }

    /// A failure after the gateway was taken: the rollback, written as one sequence.
    fn fail_after_alloc(
        &mut self,
        t: i64,
        org: usize,
        msg: &str,
        reason: Reason,
    ) -> io::Result<()> {
        let Some(f) = self.orgs[org].inflight else {
            return Ok(());
        };
        let gw = f.gw;
        let id = self.orgs[org].id.clone();
        let uuid = self.gateways[gw].uuid.clone();
        let t = self.failure_and_cleanup_start(t, org, msg, reason)?;
        let dt = self.rng.range(1, 5);
        let t = self.emit(
            t + dt,
            Prio::Warning,
            CLEANUP,
            &format!("Deallocating gateway {uuid}"),
        )?;
        let dt = self.rng.range(2, 30);
        let t = if self.rng.chance(0.2) {
            let err = match self.rng.below(4) {
                0 => "Connection terminated unexpectedly".to_owned(),
                1 => "deadlock detected".to_owned(),
                2 => format!("Gateway {uuid} not found"),
                _ => "timeout exceeded when trying to connect".to_owned(),
            };
            let t = self.emit(
                t + dt,
                Prio::Critical,
                CLEANUP,
                "❌ CLEANUP FAILED - Manual intervention required!",
            )?;
            let t = self.emit(t, Prio::Critical, CLEANUP, &format!("Org {id}: {err}"))?;
            let error = format!("Cleanup failed: {err}");
            let fields = [("organization_id", Val::S(&id)), ("error", Val::S(&error))];
            let dt = self.rng.range(0, 2);
            let t = self.em.emit(
                t + dt,
                Prio::Critical,
                ALLOC,
                "⚠️ ORPHANED ALLOCATION - Manual cleanup required!",
                Data::Obj(&fields),
            )?;
            self.truth.orphaned(org, t);
            let o = &mut self.orgs[org];
            o.hold = Hold::Orphaned { gw };
            o.epoch += 1;
            let epoch = o.epoch;
            // An operator notices within hours, or days at worst (a long simulation must not
            // end up with every gateway orphaned); a short log may end first.
            let dt = if self.rng.chance(0.7) {
                self.rng.range(HOUR, 10 * HOUR)
            } else {
                self.rng.range(10 * HOUR, 72 * HOUR)
            };
            self.schedule(t + dt, Act::OperatorStop(org, epoch));
            t
        } else {
            let t = self.emit(t + dt, Prio::Info, CLEANUP, "✅ Gateway returned to pool")?;
            let seen = self.truth.identifiable(org, gw);
            self.truth.rollback(org, t);
            if seen {
                self.truth.gw_down(gw, t);
            }
            self.gateways[gw].holder = None;
            // Its container restarts, unless a restart is still going on.
            if self.gateways[gw].up_at <= t {
                self.restart(t, gw, true);
            }
            self.orgs[org].hold = Hold::None;
            let dt = self.rng.range(1, 20);
            let t = if self.rng.chance(0.1) {
                self.emit(
                    t + dt,
                    Prio::Warning,
                    CLEANUP,
                    &format!("Nginx cleanup warning: ENOENT: no such file or directory, unlink '/etc/nginx/conf.d/org-{id}.conf'"),
                )?
            } else {
                self.emit(t + dt, Prio::Info, CLEANUP, "✅ Nginx config removed")?
            };
            let dt = self.rng.range(0, 2);
            self.emit(
                t + dt,
                Prio::Info,
                CLEANUP,
                &format!("✅ Cleanup complete for org {id}"),
            )?
        };
        self.http(t + 1, "POST /gateway/start 500", t - f.started + 1)?;
        self.orgs[org].inflight = None;
        Ok(())
    }

    /// `POST /gateway/stop`: the allocation ends at the `Stopping` line (a DOWN mark). Returns
    /// its time.
    pub(super) fn stop(
        &mut self,
        t: i64,
        org: usize,
        gw: usize,
        orphaned: bool,
    ) -> io::Result<i64> {
        let id = self.orgs[org].id.clone();
        let uuid = self.gateways[gw].uuid.clone();
        let t = self.emit(
            t,
            Prio::Info,
            DEALLOC,
            &format!("Stopping gateway {uuid} for org {id}"),
        )?;
        let seen = self.truth.identifiable(org, gw);
        self.truth.deallocated(org, t, orphaned);
        if seen {
            self.truth.gw_down(gw, t);
        }
        let stopped = t;
        self.gateways[gw].holder = None;
        let o = &mut self.orgs[org];
        o.hold = Hold::None;
        o.epoch += 1;
        let dt = self.rng.range(3, 60);
        let t = if self.rng.chance(0.01) {
            let msg = match self.rng.below(3) {
                0 => "Gateway not found".to_owned(),
                1 => "Request failed with status code 500".to_owned(),
                _ => format!("connect ECONNREFUSED 172.17.0.1:{}", self.gateways[gw].port),
            };
            let t = self.em.emit(
                t + dt,
                Prio::Error,
                DEALLOC,
                "Failed to stop gateway:",
                Data::Str(&msg),
            )?;
            self.truth.dealloc_failed(org, t);
            t
        } else {
            self.emit(
                t + dt,
                Prio::Info,
                DEALLOC,
                "✅ Gateway deallocated, returned to pool (ready for next org)",
            )?
        };
        self.http(t + 1, "POST /gateway/stop 200", dt + 1)?;
        debug_assert_eq!(
            {
                let (a, o) = self.truth.open();
                (a + o) as usize
            },
            self.gateways.iter().filter(|g| g.holder.is_some()).count()
        );
        Ok(stopped)
    }
}
