//! One matcher per message shape of holistix-log-lines.md §2–§5. Stateless, so it runs in the
//! parallel scan; [`super::Recognizer`] does the joining.

use serde_json::Value;

use crate::decode::{Data, Record};

/// A classified lifecycle line, with the fields it carries.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Classified {
    Starting {
        org: String,
    },
    Allocated {
        gateway: String,
        port: Option<u32>,
        org: String,
    },
    AlreadyAllocated {
        org: Option<String>,
    },
    StartedOk {
        org: String,
    },
    FailedStart {
        org: String,
        message: String,
    },
    CleanupStart {
        org: String,
    },
    CleanupDeallocating {
        gateway: String,
    },
    CleanupReturned,
    /// `No allocation found …` or `✅ Cleanup complete …`: the cleanup sequence is over.
    CleanupEnd,
    CleanupFailed,
    Orphaned {
        org: Option<String>,
        error: String,
    },
    Stopping {
        gateway: String,
        org: String,
    },
    StopFailed {
        message: String,
    },
    IdleShutdown {
        idle_ms: u64,
    },
    /// The gateway's own `Initiating graceful shutdown...`: it goes down.
    ShutdownStarted,
    /// The gateway's own `✅ Gateway <UUID> deallocated, returned to pool`.
    ShutdownReleased {
        gateway_id: String,
    },
    /// The gateway's own `Initialized for org: ORG, gateway: <UUID>`.
    Initialized {
        org: String,
        gateway_id: String,
    },
    ReadySignaled,
    Stats {
        total: u64,
        used: u64,
        ready: u64,
        unused_not_ready: u64,
    },
    /// A lifecycle line that carries nothing the model needs (`Checking gateway health...`).
    Known,
    /// A gateway-category line of a shape this version does not know.
    Unknown,
    /// A known shape with a missing or malformed field.
    Malformed(&'static str),
}

/// Strip leading emoji, variation selectors and spaces: `✅ Gateway …` → `Gateway …`.
fn strip_marks(s: &str) -> &str {
    s.trim_start_matches(|c: char| c.is_whitespace() || !c.is_ascii())
}

/// The first whitespace-separated word.
fn word(s: &str) -> Option<&str> {
    let s = s.trim_start_matches([' ', '\t']);
    let end = s.find([' ', '\t', '\r', '\n']).unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// ` (` before the port, searched with a finder built once (building one per line showed in
/// profiles).
fn find_paren(hay: &str) -> Option<usize> {
    static F: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b" ("));
    F.find(hay.as_bytes())
}

/// ` for org ` of the deallocation line.
fn find_for_org(hay: &str) -> Option<usize> {
    static F: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b" for org "));
    F.find(hay.as_bytes())
}

/// ` to org ` searched from the end (the gateway name comes first and could hold anything).
fn rfind_to_org(hay: &str) -> Option<usize> {
    static F: std::sync::LazyLock<memchr::memmem::FinderRev<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::FinderRev::new(b" to org "));
    F.rfind(hay.as_bytes())
}

/// Decode a console data argument written as `JSON.stringify(string)`; fall back to the text.
fn json_string(s: &str) -> String {
    let s = s.trim();
    if s.starts_with('"') {
        if let Ok(v) = serde_json::from_str::<String>(s) {
            return v;
        }
        return s.trim_matches('"').to_owned();
    }
    s.to_owned()
}

/// The string data argument of a record: OTLP's joined characters, or the console text `rest`.
fn string_data(rec: &Record<'_>, rest: &str) -> String {
    match &rec.data {
        Data::Str(s) => s.clone(),
        _ if !rest.trim().is_empty() => json_string(rest),
        _ => String::new(),
    }
}

/// A field of the object data argument: OTLP attributes, or the JSON object ending a console line.
fn object_field(
    rec: &Record<'_>,
    obj: Option<&serde_json::Map<String, Value>>,
    key: &str,
) -> Option<String> {
    if let Some(v) = rec.field(key) {
        return Some(v.to_owned());
    }
    match obj?.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn trailing_object(text: &str) -> Option<serde_json::Map<String, Value>> {
    let start = text.find('{')?;
    serde_json::from_str(&text[start..]).ok()
}

fn count(v: Option<String>) -> Option<u64> {
    let v = v?;
    let t = v.trim();
    t.parse::<u64>().ok().or_else(|| {
        t.parse::<f64>()
            .ok()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0)
            .map(|f| f as u64)
    })
}

/// Classify one gateway record.
pub fn classify(rec: &Record<'_>) -> Classified {
    let msg = strip_marks(&rec.message);
    match rec.category.as_ref() {
        "GATEWAY_ALLOC" => alloc(rec, msg),
        "GATEWAY_CLEANUP" => cleanup(msg),
        "GATEWAY_DEALLOC" => dealloc(rec, msg),
        "GATEWAY_SHUTDOWN" => shutdown(msg),
        "GATEWAY_READY" => {
            if msg.starts_with("Successfully signaled ready") {
                Classified::ReadySignaled
            } else if msg.starts_with("Failed to signal ready") {
                Classified::Known
            } else {
                Classified::Unknown
            }
        }
        "GATEWAY_STATE" => state(msg),
        "GATEWAY_STATS" => stats(rec, msg),
        _ => Classified::Unknown,
    }
}

fn alloc(rec: &Record<'_>, msg: &str) -> Classified {
    if let Some(rest) = msg.strip_prefix("Starting gateway for org ") {
        return match word(rest) {
            Some(org) => Classified::Starting {
                org: org.to_owned(),
            },
            None => Classified::Malformed("`Starting gateway` without an organization"),
        };
    }
    if let Some(rest) = msg.strip_prefix("Allocated ") {
        return allocated(rest);
    }
    if let Some(rest) = msg.strip_prefix("Gateway started successfully for org ") {
        return match word(rest) {
            Some(org) => Classified::StartedOk {
                org: org.to_owned(),
            },
            None => Classified::Malformed("`Gateway started successfully` without an organization"),
        };
    }
    if let Some(rest) = msg.strip_prefix("Failed to start gateway for org ") {
        let (org, tail) = match rest.find(':') {
            Some(i) => (rest[..i].trim(), &rest[i + 1..]),
            None => (rest.trim(), ""),
        };
        if org.is_empty() || org.contains(char::is_whitespace) {
            return Classified::Malformed("`Failed to start gateway` without an organization");
        }
        return Classified::FailedStart {
            org: org.to_owned(),
            message: string_data(rec, tail),
        };
    }
    if let Some(rest) = msg.strip_prefix("Gateway already allocated:") {
        return Classified::AlreadyAllocated {
            org: org_from_host(rest.trim()),
        };
    }
    if msg.starts_with("ORPHANED ALLOCATION") {
        let obj = trailing_object(msg);
        return Classified::Orphaned {
            org: object_field(rec, obj.as_ref(), "organization_id").filter(|o| !o.is_empty()),
            error: object_field(rec, obj.as_ref(), "error").unwrap_or_default(),
        };
    }
    if msg.starts_with("Gateway accessible at")
        || msg.starts_with("Checking gateway health")
        || msg.starts_with("Gateway healthy after")
        || msg.starts_with("Triggering gateway initialization")
    {
        return Classified::Known;
    }
    Classified::Unknown
}

/// `gw-pool-3 (port 7103, upstream 172.17.0.1:7103) to org ORG`
fn allocated(rest: &str) -> Classified {
    let Some(to) = rfind_to_org(rest) else {
        return Classified::Malformed("`Allocated` without `to org`");
    };
    let Some(org) = word(&rest[to + 8..]) else {
        return Classified::Malformed("`Allocated` without an organization");
    };
    let head = &rest[..to];
    let (gateway, port) = match find_paren(head) {
        Some(i) => {
            let inner = &head[i + 2..];
            let port = match inner.strip_prefix("port ") {
                Some(p) => {
                    let digits: &str = p.split([',', ')']).next().unwrap_or("").trim();
                    match digits.parse::<u32>() {
                        Ok(p) => Some(p),
                        Err(_) => return Classified::Malformed("`Allocated` with a bad port"),
                    }
                }
                None => None,
            };
            (head[..i].trim(), port)
        }
        None => (head.trim(), None),
    };
    if gateway.is_empty() || gateway.contains(char::is_whitespace) {
        return Classified::Malformed("`Allocated` without a gateway");
    }
    Classified::Allocated {
        gateway: gateway.to_owned(),
        port,
        org: org.to_owned(),
    }
}

/// `org-<ORG>.<domain>` (possibly with a scheme) → `ORG`.
fn org_from_host(host: &str) -> Option<String> {
    let h = host
        .strip_prefix("https://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(host);
    let label = h.split(['.', '/', ':']).next()?;
    let org = label.strip_prefix("org-")?;
    (!org.is_empty()).then(|| org.to_owned())
}

fn cleanup(msg: &str) -> Classified {
    if let Some(rest) = msg.strip_prefix("Cleaning up failed allocation for org ") {
        let org = rest.split(':').next().unwrap_or("").trim();
        return if org.is_empty() || org.contains(char::is_whitespace) {
            Classified::Malformed("`Cleaning up failed allocation` without an organization")
        } else {
            Classified::CleanupStart {
                org: org.to_owned(),
            }
        };
    }
    if let Some(rest) = msg.strip_prefix("Deallocating gateway") {
        return match word(rest) {
            Some(g) => Classified::CleanupDeallocating {
                gateway: g.to_owned(),
            },
            None => Classified::Malformed("`Deallocating gateway` without a gateway"),
        };
    }
    if msg.starts_with("Gateway returned to pool") {
        return Classified::CleanupReturned;
    }
    if msg.starts_with("No allocation found") || msg.starts_with("Cleanup complete") {
        return Classified::CleanupEnd;
    }
    if msg.starts_with("CLEANUP FAILED") {
        return Classified::CleanupFailed;
    }
    if msg.starts_with("Nginx config removed")
        || msg.starts_with("Nginx cleanup warning")
        || msg.starts_with("Org ")
    {
        return Classified::Known;
    }
    Classified::Unknown
}

fn dealloc(rec: &Record<'_>, msg: &str) -> Classified {
    if let Some(rest) = msg.strip_prefix("Stopping gateway ") {
        let Some(i) = find_for_org(rest) else {
            return Classified::Malformed("`Stopping gateway` without `for org`");
        };
        let gateway = rest[..i].trim();
        return match word(&rest[i + 9..]) {
            Some(org) if !gateway.is_empty() => Classified::Stopping {
                gateway: gateway.to_owned(),
                org: org.to_owned(),
            },
            _ => Classified::Malformed("`Stopping gateway` without a gateway or an organization"),
        };
    }
    if let Some(rest) = msg.strip_prefix("Failed to stop gateway:") {
        return Classified::StopFailed {
            message: string_data(rec, rest),
        };
    }
    if msg.starts_with("Gateway deallocated") {
        return Classified::Known;
    }
    Classified::Unknown
}

fn shutdown(msg: &str) -> Classified {
    if let Some(rest) = msg.strip_prefix("No active projects for ") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return match digits.parse() {
            Ok(idle_ms) => Classified::IdleShutdown { idle_ms },
            Err(_) => Classified::Malformed("idle shutdown without a duration"),
        };
    }
    if msg.starts_with("Initiating graceful shutdown") {
        return Classified::ShutdownStarted;
    }
    // `word` skips the blanks before the id: what follows the id starts after them too (slicing
    // `rest` at the id's length was off by those blanks, and panicked inside a multi-byte
    // character; found by fuzzing).
    if let Some(rest) = msg.strip_prefix("Gateway ")
        && let Some(id) = word(rest)
        && rest.trim_start_matches([' ', '\t'])[id.len()..]
            .trim_start()
            .starts_with("deallocated")
    {
        return Classified::ShutdownReleased {
            gateway_id: id.to_owned(),
        };
    }
    if msg.starts_with("Notifying Ganymede")
        || msg.starts_with("Gateway shutdown complete")
        || msg.starts_with("Failed to notify Ganymede")
    {
        return Classified::Known;
    }
    Classified::Unknown
}

/// `Initialized for org: ORG, gateway: <UUID>`.
fn state(msg: &str) -> Classified {
    let Some(rest) = msg.strip_prefix("Initialized for org:") else {
        return Classified::Known;
    };
    let (org, gw) = match rest.split_once(", gateway:") {
        Some((o, g)) => (o.trim(), g.trim()),
        None => return Classified::Malformed("`Initialized for org` without a gateway"),
    };
    match word(gw) {
        Some(id) if !org.is_empty() && !org.contains(char::is_whitespace) => {
            Classified::Initialized {
                org: org.to_owned(),
                gateway_id: id.to_owned(),
            }
        }
        _ => Classified::Malformed("`Initialized for org` without an organization or a gateway"),
    }
}

fn stats(rec: &Record<'_>, msg: &str) -> Classified {
    if !msg.starts_with("stats:") {
        return Classified::Unknown;
    }
    let obj = trailing_object(msg);
    let get = |k: &str| count(object_field(rec, obj.as_ref(), k));
    match (
        get("total_gateways"),
        get("used_gateways"),
        get("ready_gateways"),
    ) {
        (Some(total), Some(used), Some(ready)) => Classified::Stats {
            total,
            used,
            ready,
            unused_not_ready: get("unused_not_ready_gateways").unwrap_or(0),
        },
        _ => Classified::Malformed("pool stats without numeric total/used/ready counts"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::console;

    const ORG: &str = "3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b";

    fn line(cat: &str, prio: &str, msg: &str) -> Classified {
        let l = format!("2026-03-04T09:15:02.118Z [{prio:<9}] [{cat:<20}] {msg}");
        classify(&console::decode(&l).unwrap().unwrap())
    }

    fn alloc(msg: &str) -> Classified {
        line("GATEWAY_ALLOC", "INFO", msg)
    }

    #[test]
    fn allocation_lines() {
        assert_eq!(
            alloc(&format!("Starting gateway for org {ORG}")),
            Classified::Starting { org: ORG.into() }
        );
        assert_eq!(
            alloc(&format!(
                "Allocated gw-pool-3 (port 7103, upstream 172.17.0.1:7103) to org {ORG}"
            )),
            Classified::Allocated {
                gateway: "gw-pool-3".into(),
                port: Some(7103),
                org: ORG.into()
            }
        );
        assert_eq!(
            alloc(&format!(
                "Allocated null (port 7100, upstream 172.17.0.1:7100) to org {ORG}"
            )),
            Classified::Allocated {
                gateway: "null".into(),
                port: Some(7100),
                org: ORG.into()
            }
        );
        assert_eq!(
            alloc(&format!(
                "Gateway accessible at: https://org-{ORG}.example.com"
            )),
            Classified::Known
        );
        assert_eq!(alloc("Checking gateway health..."), Classified::Known);
        assert_eq!(alloc("✅ Gateway healthy after 619ms"), Classified::Known);
        assert_eq!(
            alloc(&format!(
                "Triggering gateway initialization: https://org-{ORG}.example.com/collab/start"
            )),
            Classified::Known
        );
        assert_eq!(
            alloc(&format!("✅ Gateway started successfully for org {ORG}")),
            Classified::StartedOk { org: ORG.into() }
        );
        assert_eq!(
            alloc(&format!("Gateway already allocated: org-{ORG}.example.com")),
            Classified::AlreadyAllocated {
                org: Some(ORG.into())
            }
        );
    }

    #[test]
    fn failure_lines() {
        for (msg, want) in [
            (r#""no_gateway_available""#, "no_gateway_available"),
            (
                r#""Gateway health check failed after 5000ms. Gateway may not be ready.""#,
                "Gateway health check failed after 5000ms. Gateway may not be ready.",
            ),
            (
                r#""Gateway initialization failed: 502 <html>\n<body>Bad Gateway</body>\n</html>""#,
                "Gateway initialization failed: 502 <html>\n<body>Bad Gateway</body>\n</html>",
            ),
            (
                r#""Failed to allocate gateway from pool""#,
                "Failed to allocate gateway from pool",
            ),
        ] {
            assert_eq!(
                line(
                    "GATEWAY_ALLOC",
                    "ERROR",
                    &format!("Failed to start gateway for org {ORG}: {msg}")
                ),
                Classified::FailedStart {
                    org: ORG.into(),
                    message: want.into()
                }
            );
        }
    }

    #[test]
    fn cleanup_lines() {
        let c = |m: &str| line("GATEWAY_CLEANUP", "WARNING", m);
        assert_eq!(
            c(&format!(
                "Cleaning up failed allocation for org {ORG}: no_gateway_available"
            )),
            Classified::CleanupStart { org: ORG.into() }
        );
        assert_eq!(
            c("No allocation found - failure before DB commit"),
            Classified::CleanupEnd
        );
        assert_eq!(
            c("Deallocating gateway 9b2f6a1e-0000-4000-8000-000000000001"),
            Classified::CleanupDeallocating {
                gateway: "9b2f6a1e-0000-4000-8000-000000000001".into()
            }
        );
        assert_eq!(
            c("✅ Gateway returned to pool"),
            Classified::CleanupReturned
        );
        assert_eq!(c("✅ Nginx config removed"), Classified::Known);
        assert_eq!(c("Nginx cleanup warning: ENOENT"), Classified::Known);
        assert_eq!(
            c(&format!("✅ Cleanup complete for org {ORG}")),
            Classified::CleanupEnd
        );
        assert_eq!(
            c("❌ CLEANUP FAILED - Manual intervention required!"),
            Classified::CleanupFailed
        );
        assert_eq!(c(&format!("Org {ORG}: db down")), Classified::Known);
        assert_eq!(
            line(
                "GATEWAY_ALLOC",
                "CRITICAL",
                &format!(
                    r#"⚠️ ORPHANED ALLOCATION - Manual cleanup required! {{"organization_id":"{ORG}","error":"Cleanup failed: db down"}}"#
                )
            ),
            Classified::Orphaned {
                org: Some(ORG.into()),
                error: "Cleanup failed: db down".into()
            }
        );
    }

    #[test]
    fn deallocation_and_gateway_lines() {
        let d = |m: &str| line("GATEWAY_DEALLOC", "INFO", m);
        assert_eq!(
            d(&format!(
                "Stopping gateway 9b2f6a1e-0000-4000-8000-000000000001 for org {ORG}"
            )),
            Classified::Stopping {
                gateway: "9b2f6a1e-0000-4000-8000-000000000001".into(),
                org: ORG.into()
            }
        );
        assert_eq!(
            d("✅ Gateway deallocated, returned to pool (ready for next org)"),
            Classified::Known
        );
        assert_eq!(
            line(
                "GATEWAY_DEALLOC",
                "ERROR",
                r#"Failed to stop gateway: "Gateway not found""#
            ),
            Classified::StopFailed {
                message: "Gateway not found".into()
            }
        );
        let s = |m: &str| line("GATEWAY_SHUTDOWN", "INFO", m);
        assert_eq!(
            s("No active projects for 1800412ms - initiating shutdown"),
            Classified::IdleShutdown { idle_ms: 1_800_412 }
        );
        assert_eq!(
            s("Initiating graceful shutdown..."),
            Classified::ShutdownStarted
        );
        assert_eq!(
            s(&format!("Notifying Ganymede of deallocation for org {ORG}")),
            Classified::Known
        );
        assert_eq!(
            s("✅ Gateway 9b2f deallocated, returned to pool"),
            Classified::ShutdownReleased {
                gateway_id: "9b2f".into()
            }
        );
        // Fuzzing regression: blanks before the id, and a multi-byte id.
        assert_eq!(
            s("✅ Gateway  9b2f deallocated, returned to pool"),
            Classified::ShutdownReleased {
                gateway_id: "9b2f".into()
            }
        );
        let l = include_str!("../../fuzz/regressions/classify-word-after-blanks.log");
        assert_eq!(
            classify(&console::decode(l.trim_end()).unwrap().unwrap()),
            Classified::ShutdownReleased {
                gateway_id: "é".into()
            }
        );
        assert_eq!(
            s("Failed to notify Ganymede of deallocation: timeout (gateway will still shutdown)"),
            Classified::Known
        );
        assert_eq!(s("Gateway shutdown complete"), Classified::Known);
        assert_eq!(
            line(
                "GATEWAY_READY",
                "INFO",
                "Successfully signaled ready to Ganymede"
            ),
            Classified::ReadySignaled
        );
        assert_eq!(
            line(
                "GATEWAY_READY",
                "ERROR",
                "Failed to signal ready after 12 attempts: ECONNREFUSED. Giving up."
            ),
            Classified::Known
        );
        assert_eq!(
            line(
                "GATEWAY_STATE",
                "INFO",
                &format!("Initialized for org: {ORG}, gateway: 9b2f")
            ),
            Classified::Initialized {
                org: ORG.into(),
                gateway_id: "9b2f".into()
            }
        );
    }

    #[test]
    fn stats_numbers_or_strings() {
        let want = Classified::Stats {
            total: 8,
            used: 3,
            ready: 5,
            unused_not_ready: 0,
        };
        assert_eq!(
            line(
                "GATEWAY_STATS",
                "INFO",
                r#"stats:  {"total_gateways":"8","used_gateways":"3","ready_gateways":"5","unused_not_ready_gateways":"0"}"#
            ),
            want
        );
        assert_eq!(
            line(
                "GATEWAY_STATS",
                "INFO",
                r#"stats:  {"total_gateways":8,"used_gateways":3,"ready_gateways":5,"unused_not_ready_gateways":0}"#
            ),
            want
        );
        assert!(matches!(
            line(
                "GATEWAY_STATS",
                "INFO",
                r#"stats:  {"total_gateways":"x","used_gateways":"3"}"#
            ),
            Classified::Malformed(_)
        ));
    }

    #[test]
    fn malformed_fields() {
        assert!(matches!(
            alloc("Starting gateway for org "),
            Classified::Malformed(_)
        ));
        assert!(matches!(
            alloc("Allocated gw-pool-3 (port 7103, upstream x)"),
            Classified::Malformed(_)
        ));
        assert!(matches!(
            alloc("Allocated gw-pool-3 (port abc, upstream x) to org o"),
            Classified::Malformed(_)
        ));
        assert!(matches!(
            alloc("Failed to start gateway for org : \"x\""),
            Classified::Malformed(_)
        ));
        assert!(matches!(
            line("GATEWAY_DEALLOC", "INFO", "Stopping gateway g1"),
            Classified::Malformed(_)
        ));
        assert_eq!(alloc("Something new about gateways"), Classified::Unknown);
    }
}
