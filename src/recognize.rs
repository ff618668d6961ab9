//! Recognize stage: a gateway [`Record`](crate::decode::Record) becomes zero or one typed
//! [`Event`](crate::event::Event) (DESIGN.md §2).
//!
//! It runs in three parts. [`scan`] runs in parallel on chunks of lines: it finds the lines
//! around a `GATEWAY_` hit, decodes them and [`classify()`]s each record against the message
//! shapes of holistix-log-lines.md (stateless). [`input::InputRecognizer`] runs in order, one per
//! input: it joins Docker's 16 KiB pieces and feeds a [`Recognizer`], which joins lines that only
//! make sense together — a rollback is `Cleaning up failed allocation for org ORG`,
//! `Deallocating gateway ID` and `✅ Gateway returned to pool`; a reuse names its org in a host
//! name or in the preceding `Starting gateway for org ORG`. Lines that could hold a lifecycle
//! record but cannot be used are counted in [`ReadStats`] and returned as [`Skipped`] values.

mod classify;
pub mod input;
pub mod scan;

pub use classify::{Classified, classify};
pub use input::InputRecognizer;

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

/// The result of recognizing one line.
#[derive(Debug, PartialEq)]
pub enum Recognized {
    Event(Kind),
    /// A lifecycle line that produces no event by itself.
    Nothing,
    /// A line whose fields are missing or malformed; counted in `lines.skipped`.
    Malformed(&'static str),
}

impl Recognizer {
    /// Recognize one classified line. `emitter` names the gateway that wrote it, when known.
    pub fn recognize(&mut self, line: Classified, emitter: Option<&str>) -> Recognized {
        use Recognized::{Event, Nothing};
        match line {
            Classified::Starting { org } => {
                self.last_attempt = Some(org.clone());
                Event(Kind::AllocAttempt { org })
            }
            Classified::Allocated { gateway, port, org } => Event(Kind::Allocated {
                org,
                gateway,
                gateway_id: None,
                port,
                recycling: false,
            }),
            Classified::AlreadyAllocated { org } => match org.or_else(|| self.last_attempt.clone())
            {
                Some(org) => Event(Kind::Reused { org }),
                None => Recognized::Malformed("reuse without an organization"),
            },
            Classified::StartedOk { org } => Event(Kind::AllocReady {
                org,
                gateway: None,
                gateway_id: None,
                startup_ms: None,
            }),
            Classified::FailedStart { org, message } => Event(Kind::AllocFailed {
                org,
                reason: Reason::classify(&message),
                message,
                gateway: None,
                gateway_id: None,
            }),
            Classified::CleanupStart { org } => {
                self.cleanup_org = Some(org);
                self.cleanup_gateway = None;
                Nothing
            }
            Classified::CleanupDeallocating { gateway } => {
                self.cleanup_gateway = Some(gateway);
                Nothing
            }
            Classified::CleanupReturned => {
                match (self.cleanup_org.clone(), self.cleanup_gateway.take()) {
                    (Some(org), Some(gateway_id)) => Event(Kind::Rollback {
                        org,
                        gateway: None,
                        gateway_id,
                        duration_s: None,
                    }),
                    _ => {
                        Recognized::Malformed("gateway returned to pool outside a cleanup sequence")
                    }
                }
            }
            Classified::CleanupEnd => {
                self.cleanup_org = None;
                self.cleanup_gateway = None;
                Nothing
            }
            Classified::CleanupFailed => {
                // The allocation stays open; the ORPHANED ALLOCATION line that follows says so.
                self.cleanup_gateway = None;
                Nothing
            }
            Classified::Orphaned { org, error } => {
                let org = org.or_else(|| self.cleanup_org.take());
                self.cleanup_gateway = None;
                match org {
                    Some(org) => Event(Kind::Orphaned { org, error }),
                    None => Recognized::Malformed("orphaned allocation without an organization"),
                }
            }
            Classified::Stopping { gateway, org } => {
                self.last_stop = Some(org.clone());
                Event(Kind::Deallocated {
                    org,
                    gateway: None,
                    gateway_id: gateway,
                    duration_s: None,
                })
            }
            Classified::StopFailed { message } => Event(Kind::DeallocFailed {
                org: self.last_stop.take(),
                message,
            }),
            Classified::IdleShutdown { idle_ms } => Event(Kind::IdleShutdown {
                gateway: emitter.map(str::to_owned),
                gateway_id: None,
                idle_ms,
            }),
            Classified::ReadySignaled => Event(Kind::GatewayReady {
                gateway: emitter.map(str::to_owned),
                gateway_id: None,
            }),
            Classified::ShutdownStarted => Event(Kind::GatewayShutdown {
                gateway: emitter.map(str::to_owned),
                gateway_id: None,
            }),
            Classified::ShutdownReleased { gateway_id } => Event(Kind::GatewayReleased {
                gateway: emitter.map(str::to_owned),
                gateway_id,
            }),
            Classified::Initialized { org, gateway_id } => Event(Kind::GatewayInitialized {
                org,
                gateway: emitter.map(str::to_owned),
                gateway_id,
            }),
            Classified::Stats {
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
            Classified::Known | Classified::Unknown => Nothing,
            Classified::Malformed(why) => Recognized::Malformed(why),
        }
    }
}

/// Counts of a read (DESIGN.md §4 `lines`, plus read-side anomalies).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadStats {
    pub lines: u64,
    pub skipped: u64,
    pub time_backwards: u64,
    /// Inputs that failed while being read (a diagnostic said why).
    pub errors: u64,
    /// Followed files whose rest could not be found after a rotation or truncation (lines
    /// lost, told as they happened).
    #[serde(default)]
    pub lost: u64,
    /// The same counts per input (by index), to tell which input yields nothing.
    #[serde(default)]
    pub inputs: std::collections::BTreeMap<u32, InputCounts>,
}

/// What one input gave.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InputCounts {
    /// Its name as given (a path, a glob, `<stdin>`), when the reader set it.
    #[serde(default)]
    pub name: String,
    pub lines: u64,
    pub events: u64,
    pub skipped: u64,
    /// The first line read from it (its start), to tell what kind of log it is.
    pub sample: Option<String>,
    /// The time on the latest record read from it.
    #[serde(default)]
    pub last_time: Option<crate::units::Millis>,
    /// Bytes of the lines read from it (lines skipped for length as they streamed past are
    /// not counted).
    #[serde(default)]
    pub bytes: u64,
    /// Where reading goes on in each file followed for it (the end of its last complete line),
    /// by path: set by the commands that follow files or resume at offsets.
    #[serde(default)]
    pub offsets: std::collections::BTreeMap<String, u64>,
}

/// A line that could hold a lifecycle record but was not usable (counted in `lines.skipped`,
/// shown with `-v`).
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// Physical line number (1-based) in its input.
    pub line: u64,
    pub reason: &'static str,
    /// The start of the line, when verbose.
    pub excerpt: String,
}

impl Skipped {
    /// A line skipped for its length (never held, so no excerpt).
    pub fn overlong(line: u64) -> Skipped {
        Skipped {
            line,
            reason: "line longer than --max-line-length",
            excerpt: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::console;

    fn feed_all(r: &mut Recognizer, lines: &str) -> Vec<Recognized> {
        lines
            .lines()
            .map(|l| {
                let rec = console::decode(l).unwrap().unwrap();
                r.recognize(classify(&rec), None)
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
                Recognized::Nothing,
                Recognized::Nothing,
                Recognized::Event(Kind::Rollback {
                    org: "o1".into(),
                    gateway: None,
                    gateway_id: "7d1e0c6a-1111-4222-8333-944455556666".into(),
                    duration_s: None
                }),
                Recognized::Nothing,
                Recognized::Nothing
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
            Recognized::Event(Kind::Orphaned {
                org: "o2".into(),
                error: "Cleanup failed: connection refused".into()
            })
        );
        assert!(out[..4].iter().all(|f| *f == Recognized::Nothing));
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
        assert_eq!(out[1], Recognized::Event(Kind::Reused { org: "o3".into() }));
        assert_eq!(out[2], Recognized::Event(Kind::Reused { org: "o3".into() }));
        let mut fresh = Recognizer::default();
        let out = feed_all(
            &mut fresh,
            "2026-03-04T09:15:08.002Z [INFO     ] [GATEWAY_ALLOC       ] Gateway already allocated: somewhere",
        );
        assert!(matches!(out[0], Recognized::Malformed(_)));
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
            Recognized::Event(Kind::DeallocFailed {
                org: Some("o4".into()),
                message: "db down".into()
            })
        );
    }
}
