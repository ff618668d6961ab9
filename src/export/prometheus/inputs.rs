//! What was read, per input: lines and bytes, where reading goes on, how far it lags, when each
//! input gave its last line — the families of a process reading logs (not of a history).

use super::out::{Kind, Sink};
use crate::alert::Engine;
use crate::recognize::ReadStats;
use crate::units::Millis;

/// The reading families: totals, then per input (bounded by the command line).
pub fn read_families(
    o: &mut dyn Sink,
    read: &ReadStats,
    engine: Option<&Engine>,
    wall: Option<Millis>,
) {
    o.counter("gwmon_lines_read_total", "Log lines read.", read.lines);
    o.counter(
        "gwmon_follow_lost_total",
        "Followed files rotated or truncated whose rest was found nowhere beside them (lines lost).",
        read.lost,
    );
    o.counter(
        "gwmon_lines_skipped_total",
        "Lines that could hold a lifecycle record but could not be used.",
        read.skipped,
    );

    // Per input (bounded by the command line): what was read, and when its last line was.
    let named: Vec<(&str, u64)> = read
        .inputs
        .values()
        .filter(|c| !c.name.is_empty())
        .map(|c| (c.name.as_str(), c.lines))
        .collect();
    if !named.is_empty() {
        o.family(
            "gwmon_input_lines_read_total",
            Kind::Counter,
            "Log lines read, per input (as named on the command line).",
            None,
        );
        for (name, lines) in &named {
            o.sample(
                "gwmon_input_lines_read_total",
                &[("input", name)],
                *lines as f64,
            );
        }
    }
    input_read_families(o, read, wall);
    // When each input gave its last line: as read live (the engine's clock of reads), else the
    // time on its latest record (a replay of history).
    let mut seen: Vec<(&str, f64)> = read
        .inputs
        .values()
        .filter(|c| !c.name.is_empty())
        .filter_map(|c| {
            let live = engine
                .and_then(|e| e.inputs().get(&c.name))
                .filter(|s| s.line)
                .map(|s| s.at);
            live.or(c.last_time)
                .map(|t| (c.name.as_str(), t as f64 / 1000.0))
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(b.0));
    seen.dedup_by(|a, b| a.0 == b.0);
    if !seen.is_empty() {
        o.family(
            "gwmon_input_last_line_timestamp_seconds",
            Kind::Gauge,
            "When the last line was read from each input (time() minus it: how long the log has been silent).",
            Some("seconds"),
        );
        for (name, t) in seen {
            o.sample(
                "gwmon_input_last_line_timestamp_seconds",
                &[("input", name)],
                t,
            );
        }
    }
}

/// Per named input: the bytes read, where reading goes on in each file followed, and (live)
/// how far the last record read lags behind the wall clock.
fn input_read_families(o: &mut dyn Sink, read: &ReadStats, wall: Option<Millis>) {
    let named: Vec<&crate::recognize::InputCounts> = read
        .inputs
        .values()
        .filter(|c| !c.name.is_empty())
        .collect();
    if named.is_empty() {
        return;
    }
    let name = "gwmon_input_read_bytes_total";
    o.family(
        name,
        Kind::Counter,
        "Bytes of the lines read, per input (as named on the command line).",
        Some("bytes"),
    );
    let mut bytes: std::collections::BTreeMap<&str, u64> = Default::default();
    for c in &named {
        *bytes.entry(c.name.as_str()).or_default() += c.bytes;
    }
    for (input, b) in bytes {
        o.sample(name, &[("input", input)], b as f64);
    }
    let mut offsets: Vec<(&str, &str, u64)> = named
        .iter()
        .flat_map(|c| {
            c.offsets
                .iter()
                .map(|(f, v)| (c.name.as_str(), f.as_str(), *v))
        })
        .collect();
    offsets.sort();
    offsets.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
    if !offsets.is_empty() {
        let name = "gwmon_input_offset_bytes";
        o.family(
            name,
            Kind::Gauge,
            "Where reading goes on in each file followed for an input (the end of its last complete line read).",
            Some("bytes"),
        );
        for (input, file, v) in offsets {
            o.sample(name, &[("input", input), ("file", file)], v as f64);
        }
    }
    let Some(wall) = wall else {
        return;
    };
    let mut lags: Vec<(&str, f64)> = named
        .iter()
        .filter_map(|c| {
            let t = c.last_time?;
            Some((c.name.as_str(), (wall - t).max(0) as f64 / 1000.0))
        })
        .collect();
    lags.sort_by(|a, b| a.0.cmp(b.0));
    lags.dedup_by(|a, b| a.0 == b.0);
    if !lags.is_empty() {
        let name = "gwmon_input_read_lag_seconds";
        o.family(
            name,
            Kind::Gauge,
            "Wall clock minus the time on the last record read from each input (0 when the log's clock is ahead): how far gwmon is behind.",
            Some("seconds"),
        );
        for (input, v) in lags {
            o.sample(name, &[("input", input)], v);
        }
    }
}
