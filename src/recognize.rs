//! Recognize stage: a gateway [`Record`](crate::decode::Record) becomes zero or one typed [`Event`](crate::event::Event) (DESIGN.md §2).
//!
//! It runs in two steps. [`classify`] is stateless and runs in the parallel scan: it matches the
//! record against each message shape of holistix-log-lines.md and extracts the fields into a
//! [`Line`]. [`Recognizer`] runs in order, one per input, and joins lines that only make sense
//! together: a rollback is `Cleaning up failed allocation for org ORG`, `Deallocating gateway ID`
//! and `✅ Gateway returned to pool`; a reuse names its org in a host name or in the preceding
//! `Starting gateway for org ORG`.

mod classify;

pub use classify::{Line, classify};

use crate::event::{Kind, Reason};

/// Joins classified lines of one input into events.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Recognizer {
    /// Org of the latest `Starting gateway for org ORG`.
    last_attempt: Option<String>,
    /// Org of the latest `Stopping gateway … for org ORG`.
    last_stop: Option<String>,
    /// The cleanup sequence in progress: its org, and the gateway it is returning.
    cleanup_org: Option<String>,
    cleanup_gateway: Option<String>,
}

/// The result of feeding one line.
#[derive(Debug, PartialEq)]
pub enum Fed {
    Event(Kind),
    /// A lifecycle line that produces no event by itself.
    Nothing,
    /// A line whose fields are missing or malformed; counted in `lines.skipped`.
    Malformed(&'static str),
}

impl Recognizer {
    /// Feed one classified line. `emitter` names the gateway that wrote it, when known.
    pub fn feed(&mut self, line: Line, emitter: Option<&str>) -> Fed {
        use Fed::{Event, Nothing};
        match line {
            Line::Starting { org } => {
                self.last_attempt = Some(org.clone());
                Event(Kind::AllocAttempt { org })
            }
            Line::Allocated { gateway, port, org } => Event(Kind::Allocated { org, gateway, port }),
            Line::AlreadyAllocated { org } => match org.or_else(|| self.last_attempt.clone()) {
                Some(org) => Event(Kind::Reused { org }),
                None => Fed::Malformed("reuse without an organization"),
            },
            Line::StartedOk { org } => Event(Kind::AllocReady {
                org,
                startup_ms: None,
            }),
            Line::FailedStart { org, message } => Event(Kind::AllocFailed {
                org,
                reason: Reason::classify(&message),
                message,
            }),
            Line::CleanupStart { org } => {
                self.cleanup_org = Some(org);
                self.cleanup_gateway = None;
                Nothing
            }
            Line::CleanupDeallocating { gateway } => {
                self.cleanup_gateway = Some(gateway);
                Nothing
            }
            Line::CleanupReturned => {
                match (self.cleanup_org.clone(), self.cleanup_gateway.take()) {
                    (Some(org), Some(gateway)) => Event(Kind::Rollback {
                        org,
                        gateway,
                        duration_s: None,
                    }),
                    _ => Fed::Malformed("gateway returned to pool outside a cleanup sequence"),
                }
            }
            Line::CleanupEnd => {
                self.cleanup_org = None;
                self.cleanup_gateway = None;
                Nothing
            }
            Line::CleanupFailed => {
                // The allocation stays open; the ORPHANED ALLOCATION line that follows says so.
                self.cleanup_gateway = None;
                Nothing
            }
            Line::Orphaned { org, error } => {
                let org = org.or_else(|| self.cleanup_org.take());
                self.cleanup_gateway = None;
                match org {
                    Some(org) => Event(Kind::Orphaned { org, error }),
                    None => Fed::Malformed("orphaned allocation without an organization"),
                }
            }
            Line::Stopping { gateway, org } => {
                self.last_stop = Some(org.clone());
                Event(Kind::Deallocated {
                    org,
                    gateway,
                    duration_s: None,
                })
            }
            Line::StopFailed { message } => Event(Kind::DeallocFailed {
                org: self.last_stop.take(),
                message,
            }),
            Line::IdleShutdown { idle_ms } => Event(Kind::IdleShutdown {
                gateway: emitter.map(str::to_owned),
                idle_ms,
            }),
            Line::ReadySignaled => Event(Kind::GatewayReady {
                gateway: emitter.map(str::to_owned),
            }),
            Line::Stats {
                total,
                used,
                ready,
                unused_not_ready,
            } => Event(Kind::PoolSnapshot {
                total,
                used,
                ready,
                unused_not_ready,
            }),
            Line::Known | Line::Unknown => Nothing,
            Line::Malformed(why) => Fed::Malformed(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::console;

    fn feed_all(r: &mut Recognizer, lines: &str) -> Vec<Fed> {
        lines
            .lines()
            .map(|l| {
                let rec = console::decode(l).unwrap().unwrap();
                r.feed(classify(&rec), None)
            })
            .collect()
    }

    #[test]
    fn rollback_sequence() {
        let mut r = Recognizer::default();
        let out = feed_all(
            &mut r,
            "2026-03-04T09:15:08.000Z [WARNING  ] [GATEWAY_CLEANUP     ] Cleaning up failed allocation for org o1: Gateway health check failed after 5000ms. Gateway may not be ready.
2026-03-04T09:15:08.001Z [WARNING  ] [GATEWAY_CLEANUP     ] Deallocating gateway 7d1e0c6a-1111-4222-8333-944455556666
2026-03-04T09:15:08.010Z [INFO     ] [GATEWAY_CLEANUP     ] ✅ Gateway returned to pool
2026-03-04T09:15:08.020Z [INFO     ] [GATEWAY_CLEANUP     ] ✅ Nginx config removed
2026-03-04T09:15:08.021Z [INFO     ] [GATEWAY_CLEANUP     ] ✅ Cleanup complete for org o1",
        );
        assert_eq!(
            out,
            vec![
                Fed::Nothing,
                Fed::Nothing,
                Fed::Event(Kind::Rollback {
                    org: "o1".into(),
                    gateway: "7d1e0c6a-1111-4222-8333-944455556666".into(),
                    duration_s: None
                }),
                Fed::Nothing,
                Fed::Nothing
            ]
        );
    }

    #[test]
    fn failed_cleanup_becomes_orphan() {
        let mut r = Recognizer::default();
        let out = feed_all(
            &mut r,
            r#"2026-03-04T09:15:08.000Z [WARNING  ] [GATEWAY_CLEANUP     ] Cleaning up failed allocation for org o2: Gateway initialization failed: 502 Bad Gateway
2026-03-04T09:15:08.001Z [WARNING  ] [GATEWAY_CLEANUP     ] Deallocating gateway g
2026-03-04T09:15:08.002Z [CRITICAL ] [GATEWAY_CLEANUP     ] ❌ CLEANUP FAILED - Manual intervention required!
2026-03-04T09:15:08.002Z [CRITICAL ] [GATEWAY_CLEANUP     ] Org o2: connection refused
2026-03-04T09:15:08.003Z [CRITICAL ] [GATEWAY_ALLOC       ] ⚠️ ORPHANED ALLOCATION - Manual cleanup required! {"organization_id":"o2","error":"Cleanup failed: connection refused"}"#,
        );
        assert_eq!(
            out[4],
            Fed::Event(Kind::Orphaned {
                org: "o2".into(),
                error: "Cleanup failed: connection refused".into()
            })
        );
        assert!(out[..4].iter().all(|f| *f == Fed::Nothing));
    }

    #[test]
    fn reuse_takes_org_from_host_or_attempt() {
        let mut r = Recognizer::default();
        let out = feed_all(
            &mut r,
            "2026-03-04T09:15:08.000Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org o3
2026-03-04T09:15:08.001Z [INFO     ] [GATEWAY_ALLOC       ] Gateway already allocated: org-o3.example.com
2026-03-04T09:15:08.002Z [INFO     ] [GATEWAY_ALLOC       ] Gateway already allocated: https://weird/",
        );
        assert_eq!(out[1], Fed::Event(Kind::Reused { org: "o3".into() }));
        assert_eq!(out[2], Fed::Event(Kind::Reused { org: "o3".into() }));
        let mut fresh = Recognizer::default();
        let out = feed_all(
            &mut fresh,
            "2026-03-04T09:15:08.002Z [INFO     ] [GATEWAY_ALLOC       ] Gateway already allocated: somewhere",
        );
        assert!(matches!(out[0], Fed::Malformed(_)));
    }

    #[test]
    fn stop_failure_names_the_stopping_org() {
        let mut r = Recognizer::default();
        let out = feed_all(
            &mut r,
            r#"2026-03-04T09:15:08.000Z [INFO     ] [GATEWAY_DEALLOC     ] Stopping gateway g1 for org o4
2026-03-04T09:15:08.001Z [ERROR    ] [GATEWAY_DEALLOC     ] Failed to stop gateway: "db down""#,
        );
        assert_eq!(
            out[1],
            Fed::Event(Kind::DeallocFailed {
                org: Some("o4".into()),
                message: "db down".into()
            })
        );
    }
}
