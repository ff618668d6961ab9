//! The simulator checked against itself and against gwmon's own line shapes: every written line
//! decodes and classifies as intended (the decoder and recognizer are used here only to check
//! shapes; the truth never comes from them), each format carries the same events, and the truth
//! is internally consistent.

use super::truth::Report;
use super::*;
use crate::decode::{self, Record};
use crate::recognize::{Classified, Recognized, Recognizer, classify};

fn cfg(seed: u64, hours: f64, format: Format) -> Config {
    Config {
        seed,
        hours,
        pool_size: 8,
        format,
        start_ms: 1_772_409_600_000, // 2026-03-02T00:00:00Z
        orgs: 60,
        noise: 0.95,
        malformed: 0,
        target_bytes: None,
        gateway_logs: None,
    }
}

fn gen_bytes(c: &Config) -> (Vec<u8>, Outcome) {
    let mut buf = Vec::new();
    let out = generate(c, &mut buf).expect("in-memory writes do not fail");
    (buf, out)
}

/// One recognized event, as far as the report cares.
#[derive(Debug, Clone, PartialEq)]
struct Ev {
    name: &'static str,
    time: i64,
    org: Option<String>,
    reason: Option<&'static str>,
}

#[derive(Debug, Default)]
struct Decoded {
    events: Vec<Ev>,
    /// Lines or records that gwmon must count in lines.skipped.
    skipped: u64,
    lines: u64,
    /// Categories of gateway records that classified as Unknown.
    unknown: Vec<String>,
}

fn feed(rec: &Record<'_>, r: &mut Recognizer, d: &mut Decoded) {
    let line = classify(rec);
    if line == Classified::Unknown {
        d.unknown.push(rec.category.to_string());
    }
    match r.recognize(line, None) {
        Recognized::Event(k) => d.events.push(Ev {
            name: k.name(),
            time: rec.time,
            org: k.org().map(str::to_owned),
            reason: match &k {
                crate::event::Kind::AllocFailed { reason, .. } => Some(reason.as_str()),
                _ => None,
            },
        }),
        Recognized::Nothing => {}
        Recognized::Malformed(_) => d.skipped += 1,
    }
}

/// Decode a whole simulated log with gwmon's decoders and recognizer.
fn decode_all(bytes: &[u8], format: Format) -> Decoded {
    let text = std::str::from_utf8(bytes).expect("the simulator writes UTF-8");
    assert!(text.is_empty() || text.ends_with('\n'));
    let mut d = Decoded::default();
    let mut r = Recognizer::default();
    let mut pending = String::new();
    for line in text.lines() {
        d.lines += 1;
        if !line.contains("GATEWAY_") && format != Format::Docker {
            continue;
        }
        match format {
            Format::Console | Format::Auto => match decode::console::decode(line) {
                Ok(Some(rec)) => feed(&rec, &mut r, &mut d),
                Ok(None) => {}
                Err(_) => d.skipped += 1,
            },
            Format::Docker => match decode::docker::decode(line) {
                Ok(piece) => {
                    pending.push_str(&piece.log);
                    if piece.is_last() {
                        let joined = std::mem::take(&mut pending);
                        let text = joined.strip_suffix('\n').unwrap_or(&joined);
                        match decode::console::decode(text) {
                            Ok(Some(rec)) => feed(&rec, &mut r, &mut d),
                            Ok(None) => {}
                            Err(_) => d.skipped += 1,
                        }
                    }
                }
                Err(_) => d.skipped += 1,
            },
            Format::Logcli => match decode::logcli::decode(line) {
                Ok(Some(rec)) => feed(&rec, &mut r, &mut d),
                Ok(None) => {}
                Err(_) => d.skipped += 1,
            },
            Format::Otlp => {
                let mut out = Vec::new();
                match decode::otlp::decode(line, &mut out) {
                    Ok(()) => {
                        for rec in &out {
                            feed(rec, &mut r, &mut d);
                        }
                    }
                    Err(_) => d.skipped += 1,
                }
            }
        }
    }
    assert!(pending.is_empty(), "a Docker piece sequence was left open");
    d
}

fn count(d: &Decoded, name: &str) -> u64 {
    d.events.iter().filter(|e| e.name == name).count() as u64
}

fn check_counts(d: &Decoded, t: &Report, what: &str) {
    let a = &t.allocations;
    assert_eq!(d.lines, t.lines.read, "{what}: lines.read");
    assert_eq!(
        d.events.len() as u64,
        t.lines.matched,
        "{what}: lines.matched"
    );
    assert_eq!(d.skipped, t.lines.skipped, "{what}: lines.skipped");
    assert_eq!(count(d, "alloc_attempt"), a.attempts, "{what}: attempts");
    assert_eq!(count(d, "allocated"), a.allocated, "{what}: allocated");
    assert_eq!(count(d, "reused"), a.reused, "{what}: reused");
    assert_eq!(count(d, "alloc_failed"), a.failed, "{what}: failed");
    assert_eq!(count(d, "rollback"), a.rollbacks, "{what}: rollbacks");
    assert_eq!(count(d, "orphaned"), a.orphaned, "{what}: orphaned");
    assert_eq!(
        count(d, "deallocated"),
        a.deallocated,
        "{what}: deallocated"
    );
    let reason = |r: &str| d.events.iter().filter(|e| e.reason == Some(r)).count() as u64;
    let by = &a.failures_by_reason;
    assert_eq!(
        reason("no_gateway_available"),
        by.no_gateway_available,
        "{what}"
    );
    assert_eq!(reason("health_check"), by.health_check, "{what}");
    assert_eq!(reason("init"), by.init, "{what}");
    assert_eq!(reason("other"), by.other, "{what}");
    assert_eq!(
        d.events.first().map(|e| super::truth::fmt_ms(e.time)),
        Some(t.window.start.clone()),
        "{what}: window.start"
    );
    assert_eq!(
        d.events.last().map(|e| super::truth::fmt_ms(e.time)),
        Some(t.window.end.clone()),
        "{what}: window.end"
    );
    assert_eq!(d.events[0].name, "pool_snapshot", "{what}: first event");
    assert!(
        d.events.windows(2).all(|w| w[0].time <= w[1].time),
        "{what}: events in time order"
    );
    assert!(
        d.unknown.iter().all(|c| c == "GATEWAY_PROXY"),
        "{what}: unknown gateway lines {:?}",
        d.unknown
    );
}

#[test]
fn same_seed_same_bytes() {
    let c = cfg(1, 6.0, Format::Console);
    let (a, ta) = gen_bytes(&c);
    let (b, tb) = gen_bytes(&c);
    assert!(a == b, "same seed, different logs");
    assert_eq!(
        serde_json::to_string(&ta.truth).unwrap(),
        serde_json::to_string(&tb.truth).unwrap()
    );
    let (other, _) = gen_bytes(&cfg(2, 6.0, Format::Console));
    assert!(a != other);
}

#[test]
fn first_line_is_a_snapshot_at_the_start() {
    let (bytes, out) = gen_bytes(&cfg(5, 2.0, Format::Console));
    let first = std::str::from_utf8(&bytes).unwrap().lines().next().unwrap();
    assert_eq!(
        first,
        r#"2026-03-02T00:00:00.004Z [INFO     ] [GATEWAY_STATS       ] stats:  {"total_gateways":"8","used_gateways":"0","ready_gateways":"8","unused_not_ready_gateways":"0"}"#
    );
    assert_eq!(out.truth.window.start, "2026-03-02T00:00:00.004Z");
}

#[test]
fn every_format_decodes_to_the_truth_counts() {
    for seed in 1..=3 {
        let mut reference: Option<Vec<Ev>> = None;
        for format in [
            Format::Console,
            Format::Docker,
            Format::Otlp,
            Format::Logcli,
        ] {
            let mut c = cfg(seed, 48.0, format);
            c.malformed = 2 + seed as u32;
            let (bytes, out) = gen_bytes(&c);
            let what = format!("seed {seed} {format:?}");
            let d = decode_all(&bytes, format);
            check_counts(&d, &out.truth, &what);
            assert_eq!(out.malformed, u64::from(c.malformed));
            // The model does not depend on the format: the same events, at the same times.
            match &reference {
                None => reference = Some(d.events),
                Some(r) => assert!(*r == d.events, "{what}: events differ from the console's"),
            }
        }
    }
}

#[test]
fn truth_is_consistent() {
    let mut saw_orphan = false;
    let mut saw_exhaustion_episodes = 0;
    for seed in 1..=6 {
        let (bytes, out) = gen_bytes(&cfg(seed, 48.0, Format::Console));
        let t = &out.truth;
        let a = &t.allocations;
        let p = &t.pool;
        assert_eq!(
            a.allocated - a.deallocated - a.rollbacks,
            a.open,
            "seed {seed}: allocated − ended = open"
        );
        assert_eq!(a.open, p.allocated + p.orphaned);
        assert_eq!(
            p.available,
            p.total as i64 - p.allocated as i64 - p.orphaned as i64
        );
        assert!(p.peak_allocated <= p.total && p.peak_allocated >= a.open);
        assert!((0.0..=1.0).contains(&p.utilization_mean.unwrap()));
        assert_eq!(t.durations_s.count, a.deallocated + a.rollbacks);
        let by = &a.failures_by_reason;
        assert_eq!(
            by.no_gateway_available + by.health_check + by.init + by.other,
            a.failed
        );
        assert_eq!(t.exhaustion.failures, by.no_gateway_available);
        assert!(t.exhaustion.episodes <= t.exhaustion.failures);
        let sum = |v: &[super::truth::RatePoint]| {
            v.iter()
                .fold((0, 0), |(x, y), r| (x + r.allocated, y + r.failed))
        };
        assert_eq!(sum(&t.rate.per_hour), (a.allocated, a.failed));
        assert_eq!(sum(&t.rate.per_day), (a.allocated, a.failed));
        assert!(t.rate.per_hour.len() >= 48 && t.rate.per_hour.len() <= 50);
        assert!(
            (2..=3).contains(&t.rate.per_day.len()),
            "48 h from midnight"
        );
        assert!(t.orgs.top.len() == 10);
        assert!(
            t.orgs
                .top
                .windows(2)
                .all(|w| w[0].allocated > w[1].allocated
                    || (w[0].allocated == w[1].allocated && w[0].org < w[1].org))
        );
        assert!(t.orgs.distinct <= 60);
        let d = &t.durations_s;
        assert!(d.p50 <= d.p90 && d.p90 <= d.p99 && d.p99 <= d.max && d.mean <= d.max);
        let snap = p.last_snapshot.as_ref().unwrap();
        assert_eq!(snap.used + snap.ready, snap.total);
        assert_eq!(
            t.lines.read,
            bytes.iter().filter(|&&b| b == b'\n').count() as u64
        );
        assert!(a.failed > 0 && a.reused > 0 && a.rollbacks > 0);
        assert!(
            by.no_gateway_available > 0,
            "seed {seed}: business-hour peaks exhaust the pool"
        );
        assert!(t.exhaustion.exhausted_s > 0.0);
        saw_orphan |= a.orphaned > 0;
        saw_exhaustion_episodes += t.exhaustion.episodes;
    }
    assert!(saw_orphan, "some seeds produce failed cleanups");
    assert!(saw_exhaustion_episodes > 6);
}

#[test]
fn noise_fraction_is_about_right() {
    for noise in [0.0, 0.5, 0.95] {
        let mut c = cfg(4, 24.0, Format::Logcli);
        c.noise = noise;
        let (bytes, _) = gen_bytes(&c);
        let text = std::str::from_utf8(&bytes).unwrap();
        let total = text.lines().count() as f64;
        let gateway = text
            .lines()
            .filter(|l| {
                [
                    "[GATEWAY_ALLOC",
                    "[GATEWAY_CLEANUP",
                    "[GATEWAY_DEALLOC",
                    "[GATEWAY_STATS",
                ]
                .iter()
                .any(|c| l.contains(c))
            })
            .count() as f64;
        let unrelated = 1.0 - gateway / total;
        // The request-bound HTTP lines are unrelated too, hence a floor above 0.
        assert!(
            unrelated >= noise - 0.03 && unrelated <= noise + 0.2,
            "noise {noise}: {unrelated}"
        );
    }
}

#[test]
fn docker_splits_long_lines_like_docker() {
    let mut split = 0;
    for seed in 1..=3 {
        let (bytes, _) = gen_bytes(&cfg(seed, 48.0, Format::Docker));
        let text = std::str::from_utf8(&bytes).unwrap();
        let mut in_split = false;
        let mut gateway_split = false;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let log = v["log"].as_str().unwrap();
            assert!(log.len() <= sink::DOCKER_PIECE + 1);
            if !log.ends_with('\n') {
                assert_eq!(log.len(), sink::DOCKER_PIECE);
                if !in_split && log.contains("[GATEWAY_ALLOC") {
                    gateway_split = true;
                }
                in_split = true;
                split += 1;
            } else {
                in_split = false;
            }
            assert!(v["time"].as_str().unwrap().len() == 27);
        }
        assert!(gateway_split, "seed {seed}: a lifecycle line over 16 KiB");
    }
    assert!(split > 0);
}

#[test]
fn otlp_batches_and_line_sizes() {
    let (bytes, _) = gen_bytes(&cfg(1, 48.0, Format::Otlp));
    let text = std::str::from_utf8(&bytes).unwrap();
    let mut sizes = Vec::new();
    for line in text.lines() {
        assert!(line.len() < 1024 * 1024, "an export request over 1 MiB");
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let rl = &v["resourceLogs"][0];
        assert_eq!(rl["resource"]["attributes"][0]["key"], "service.name");
        assert_eq!(
            rl["resource"]["attributes"][0]["value"]["stringValue"],
            "app-ganymede"
        );
        let n = rl["scopeLogs"][0]["logRecords"].as_array().unwrap().len();
        assert!((1..=200).contains(&n));
        sizes.push(n);
    }
    assert!(sizes.iter().any(|&n| n > 100) && sizes.iter().any(|&n| n < 5));
}

#[test]
fn logcli_keys_sorted_and_forward() {
    let (bytes, _) = gen_bytes(&cfg(2, 6.0, Format::Logcli));
    let text = std::str::from_utf8(&bytes).unwrap();
    let mut last = String::new();
    for line in text.lines() {
        // serde_json's default map is a BTreeMap: re-serializing sorts the keys.
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), line);
        let ts = v["timestamp"].as_str().unwrap().to_owned();
        assert_eq!(ts.len(), 30);
        assert!(ts >= last);
        last = ts;
    }
}

#[test]
fn target_bytes_extends_the_run() {
    let mut c = cfg(3, 1.0, Format::Console);
    c.target_bytes = Some(6_000_000);
    c.malformed = 4;
    let (bytes, out) = gen_bytes(&c);
    assert!(
        bytes.len() >= 6_000_000 && bytes.len() < 6_100_000,
        "{}",
        bytes.len()
    );
    let d = decode_all(&bytes, Format::Console);
    check_counts(&d, &out.truth, "target");
}

#[test]
fn auto_format_and_bad_arguments_are_refused() {
    let args = SimulateArgs {
        seed: 1,
        hours: 1.0,
        pool_size: 8,
        format: Format::Auto,
        start: "2026-03-02T00:00:00Z".into(),
        orgs: 60,
        noise: 0.95,
        malformed: 0,
        target_bytes: None,
        gateway_logs: None,
        out: None,
        truth: None,
    };
    assert!(Config::from_args(&args).is_err());
    let ok = SimulateArgs {
        format: Format::Console,
        ..args.clone()
    };
    assert!(Config::from_args(&ok).is_ok());
    assert!(
        Config::from_args(&SimulateArgs {
            noise: 1.0,
            ..ok.clone()
        })
        .is_err()
    );
    assert!(
        Config::from_args(&SimulateArgs {
            pool_size: 0,
            ..ok.clone()
        })
        .is_err()
    );
    assert!(
        Config::from_args(&SimulateArgs {
            start: "yesterday".into(),
            ..ok
        })
        .is_err()
    );
}

#[test]
fn time_formats() {
    let mut f = sink::TimeFmt::default();
    assert_eq!(f.ms(1_772_615_702_118), b"2026-03-04T09:15:02.118Z");
    assert_eq!(f.us(1_772_615_702_118_734), b"2026-03-04T09:15:02.118734Z");
    assert_eq!(
        f.ns(1_772_615_702_118_734_512),
        b"2026-03-04T09:15:02.118734512Z"
    );
    assert_eq!(f.ms(951_782_400_000), b"2000-02-29T00:00:00.000Z");
}
