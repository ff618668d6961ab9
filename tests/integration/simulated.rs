//! `gwmon report --json` over simulated logs equals the simulator's truth, field by field, for
//! every transport shape, several seeds, gzip, rotated siblings in any order and a pool size
//! taken from the snapshots. The truth comes from the simulator's own decisions (`gwmon
//! simulate`), never from gwmon's decoders, so a disagreement is a bug on one side or the other.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const FORMATS: [&str; 4] = ["console", "docker", "otlp", "logcli"];

fn gwmon(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_gwmon"))
        .args(args)
        .output()
        .expect("run gwmon");
    assert!(
        out.status.success(),
        "gwmon {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Simulate into `dir`: returns the log's path and the truth.
fn simulate(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, Value) {
    let log = dir.join(name);
    let truth = dir.join(format!("{name}.truth.json"));
    let mut all = vec![
        "simulate",
        "--out",
        path_str(&log),
        "--truth",
        path_str(&truth),
    ];
    all.extend_from_slice(args);
    gwmon(&all);
    let t =
        serde_json::from_slice(&std::fs::read(&truth).expect("truth file")).expect("truth JSON");
    (log, t)
}

fn report(files: &[&Path], extra: &[&str]) -> Value {
    let mut args = vec!["report", "--json"];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(|p| path_str(p)));
    let out = gwmon(&args);
    serde_json::from_slice(&out.stdout).expect("report JSON")
}

/// Differences between the expected and the actual report, one per line. Keys that only the
/// actual report has (new keys, `alerts`) are fine. Counts must be equal; floats agree to 1e-6
/// relative; duration percentiles and maximum come from an HDR histogram (3 significant
/// digits), so they agree within 0.1 % + 2 ms.
fn diff(expected: &Value, actual: &Value) -> Vec<String> {
    fn walk(path: &str, e: &Value, a: &Value, out: &mut Vec<String>) {
        match (e, a) {
            (Value::Object(eo), Value::Object(ao)) => {
                for (k, ev) in eo {
                    if path.is_empty() && k == "expected_alerts" {
                        continue; // compared by tests/integration/replay.rs
                    }
                    if path.is_empty() && k == "per_day_utilization" {
                        continue; // compared by tests/integration/backfill.rs
                    }
                    let p = format!("{path}.{k}");
                    match ao.get(k) {
                        Some(av) => walk(&p, ev, av, out),
                        None => out.push(format!("{p}: expected {ev}, missing")),
                    }
                }
            }
            (Value::Array(ea), Value::Array(aa)) => {
                if ea.len() != aa.len() {
                    out.push(format!(
                        "{path}: expected {} entries, got {}",
                        ea.len(),
                        aa.len()
                    ));
                }
                for (i, (ev, av)) in ea.iter().zip(aa).enumerate() {
                    walk(&format!("{path}[{i}]"), ev, av, out);
                }
            }
            (Value::Number(en), Value::Number(an)) => {
                // Quantiles come from HDR histograms (3 significant digits).
                let hdr = ["durations_s.", "restart_s.", "startup_ms."]
                    .iter()
                    .any(|d| path.contains(d))
                    && [".p50", ".p90", ".p99", ".max"]
                        .iter()
                        .any(|s| path.ends_with(s));
                let exact = en.is_u64() || en.is_i64();
                if !hdr && exact && (an.is_u64() || an.is_i64()) {
                    if en != an {
                        out.push(format!("{path}: expected {en}, got {an}"));
                    }
                    return;
                }
                let (x, y) = (
                    en.as_f64().unwrap_or(f64::NAN),
                    an.as_f64().unwrap_or(f64::NAN),
                );
                let tol = if hdr {
                    let unit = if path.contains("_ms.") { 1.0 } else { 1e-3 };
                    1e-3 * x.abs() + 2.0 * unit
                } else {
                    1e-6 * x.abs().max(y.abs()) + 1e-9
                };
                // NaN on either side is a difference too.
                let close = (x - y).abs() <= tol;
                if !close {
                    out.push(format!("{path}: expected {x}, got {y}"));
                }
            }
            _ => {
                if e != a {
                    out.push(format!("{path}: expected {e}, got {a}"));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", expected, actual, &mut out);
    out
}

#[track_caller]
fn assert_matches(expected: &Value, actual: &Value, what: &str) {
    let d = diff(expected, actual);
    assert!(
        d.is_empty(),
        "{what}: the report disagrees with the simulator's truth in {} place(s):\n  {}",
        d.len(),
        d.join("\n  ")
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("gzip in memory");
    enc.finish().expect("gzip in memory")
}

/// What a rotation split needs to know of one physical line.
#[derive(Default)]
struct LineInfo {
    /// Times (ms) of the records that start on this line.
    times: Vec<i64>,
    /// Messages of the lifecycle records on this line (the categories gwmon turns into events).
    lifecycle: Vec<String>,
    /// The line starts a record (console: it has a timestamp; Docker: not the tail of a piece).
    starts_record: bool,
    /// Docker: the piece ends its console line.
    complete: bool,
}

/// `TIME [PRIO] [CATEGORY] message` → (time, category, message).
fn console_parts(text: &str) -> Option<(i64, &str, &str)> {
    let first = text.lines().next()?;
    let (time, rest) = first.split_once(' ')?;
    let t = chrono::DateTime::parse_from_rfc3339(time)
        .ok()?
        .timestamp_millis();
    let rest = rest.strip_prefix('[')?;
    let (_, rest) = rest.split_once("] [")?;
    let (cat, msg) = rest.split_once(']')?;
    Some((t, cat.trim(), msg.trim_start()))
}

fn is_lifecycle(cat: &str) -> bool {
    matches!(
        cat,
        "GATEWAY_ALLOC" | "GATEWAY_CLEANUP" | "GATEWAY_DEALLOC" | "GATEWAY_STATS"
    )
}

fn add_record(info: &mut LineInfo, t: i64, cat: &str, msg: &str) {
    info.times.push(t);
    if is_lifecycle(cat) {
        info.lifecycle.push(msg.to_owned());
    }
}

fn add_console(info: &mut LineInfo, text: &str) {
    if let Some((t, cat, msg)) = console_parts(text) {
        info.starts_record = true;
        add_record(info, t, cat, msg);
    }
}

fn line_info(format: &str, line: &str) -> LineInfo {
    let mut info = LineInfo {
        complete: true,
        ..LineInfo::default()
    };
    if format == "console" {
        add_console(&mut info, line);
        return info;
    }
    let Ok(v) = serde_json::from_str::<Value>(line) else {
        // A malformed (cut) line: standalone.
        info.starts_record = true;
        return info;
    };
    match format {
        "docker" => {
            let log = v["log"].as_str().unwrap_or("");
            info.complete = log.ends_with('\n');
            add_console(&mut info, log);
        }
        "logcli" => add_console(&mut info, v["line"].as_str().unwrap_or("")),
        _ => {
            info.starts_record = true;
            for rl in v["resourceLogs"].as_array().into_iter().flatten() {
                for sl in rl["scopeLogs"].as_array().into_iter().flatten() {
                    for r in sl["logRecords"].as_array().into_iter().flatten() {
                        let ns = match &r["timeUnixNano"] {
                            Value::String(s) => s.parse::<i64>().unwrap_or(0),
                            n => n.as_i64().unwrap_or(0),
                        };
                        let cat = r["attributes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|a| a["key"] == "log.category")
                            .and_then(|a| a["value"]["stringValue"].as_str())
                            .unwrap_or("");
                        let body = r["body"]["stringValue"].as_str().unwrap_or("");
                        add_record(&mut info, ns / 1_000_000, cat, body);
                    }
                }
            }
        }
    }
    info
}

/// Split `text` into three parts at safe line boundaries near 1/3 and 2/3: between two
/// complete records, strictly later times after the cut, and the next lifecycle line a new
/// request or a snapshot (so no rollback, stop or reuse sequence is cut in two).
fn split3<'a>(format: &str, text: &'a str) -> [&'a str; 3] {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let info = |i: usize| line_info(format, lines[i]);
    let safe = |i: usize| -> bool {
        let here = info(i);
        if !here.starts_record || !info(i - 1).complete {
            return false;
        }
        let prev_t = (0..i).rev().find_map(|j| info(j).times.last().copied());
        let next_t = (i..lines.len()).find_map(|j| info(j).times.first().copied());
        let (Some(p), Some(n)) = (prev_t, next_t) else {
            return false;
        };
        if p >= n {
            return false;
        }
        let next_lifecycle = (i..lines.len()).find_map(|j| info(j).lifecycle.first().cloned());
        next_lifecycle.is_some_and(|m| m.starts_with("Starting gateway") || m.starts_with("stats:"))
    };
    let cut = |from: usize| {
        (from.max(1)..lines.len())
            .find(|&i| safe(i))
            .expect("a safe place to rotate")
    };
    let a = cut(lines.len() / 3);
    let b = cut((2 * lines.len() / 3).max(a + 1));
    let offset = |i: usize| lines[..i].iter().map(|l| l.len()).sum::<usize>();
    let (oa, ob) = (offset(a), offset(b));
    [&text[..oa], &text[oa..ob], &text[ob..]]
}

/// The report's series (for charts) add up to its totals: failures by reason per hour, one
/// exhaustion period per episode holding its refusals, the histograms' counts, one pool hour
/// per hour of the window with the allocated mean within the pool.
fn series_agree(r: &Value, what: &str) {
    let u = |v: &Value| v.as_u64().unwrap_or(u64::MAX);
    let hours = r["rate"]["per_hour"].as_array().expect("per_hour");
    for reason in ["no_gateway_available", "health_check", "init", "other"] {
        let sum: u64 = hours
            .iter()
            .map(|h| u(&h["failures_by_reason"][reason]))
            .sum();
        assert_eq!(
            sum,
            u(&r["allocations"]["failures_by_reason"][reason]),
            "{what}: {reason} per hour"
        );
    }
    let reused: u64 = hours.iter().map(|h| u(&h["reused"])).sum();
    assert_eq!(
        reused,
        u(&r["allocations"]["reused"]),
        "{what}: reuses per hour"
    );
    let ex = &r["exhaustion"];
    let periods = ex["periods"].as_array().expect("periods");
    assert_eq!(periods.len() as u64, u(&ex["episodes"]), "{what}: periods");
    let refused: u64 = periods.iter().map(|p| u(&p["count"])).sum();
    assert_eq!(refused, u(&ex["failures"]), "{what}: refusals in periods");
    for key in ["durations_s", "startup_ms"] {
        let h = r[key]["histogram"].as_array().expect("histogram");
        let n: u64 = h.iter().map(|b| u(&b["count"])).sum();
        assert_eq!(n, u(&r[key]["count"]), "{what}: {key} histogram");
    }
    let pool = r["pool"]["history"].as_array().expect("pool history");
    assert_eq!(pool.len(), hours.len(), "{what}: one pool hour per hour");
    let total = r["pool"]["total"].as_f64().expect("total");
    for h in pool {
        let a = h["allocated"].as_f64().expect("allocated");
        let o = h["orphaned"].as_f64().expect("orphaned");
        let av = h["available"].as_f64().expect("available");
        assert!(
            (0.0..=total).contains(&a) && (a + o + av - total).abs() < 1e-6,
            "{what}: {h}"
        );
    }
}

/// Every check of one simulated log: plain, gzip, rotated siblings in shuffled order, and the
/// pool total taken from the snapshots instead of --pool-size.
fn check_log(format: &str, seed: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let seed_s = seed.to_string();
    let malformed = (seed + 2).to_string();
    let (log, truth) = simulate(
        dir.path(),
        "x.log",
        &[
            "--seed",
            &seed_s,
            "--hours",
            "48",
            "--pool-size",
            "8",
            "--format",
            format,
            "--malformed",
            &malformed,
        ],
    );
    let what = format!("{format}, seed {seed}");
    assert_eq!(
        truth["lines"]["skipped"],
        seed + 2,
        "{what}: truth counts the malformed lines"
    );
    let plain = report(&[&log], &["--pool-size", "8"]);
    assert_matches(&truth, &plain, &what);
    series_agree(&plain, &what);

    let data = std::fs::read(&log).expect("read log");
    let gz = dir.path().join("gz.log.gz");
    std::fs::write(&gz, gzip(&data)).expect("write gz");
    assert_matches(
        &truth,
        &report(&[&gz], &["--pool-size", "8"]),
        &format!("{what}, gzip"),
    );

    let text = std::str::from_utf8(&data).expect("UTF-8 log");
    let [p1, p2, p3] = split3(format, text);
    assert!(
        !p1.is_empty() && !p2.is_empty() && !p3.is_empty(),
        "{what}: three rotated parts"
    );
    let rot = dir.path().join("rot");
    std::fs::create_dir(&rot).expect("mkdir");
    let (f2, f1, f0) = (
        rot.join("x.log.2.gz"),
        rot.join("x.log.1"),
        rot.join("x.log"),
    );
    std::fs::write(&f2, gzip(p1.as_bytes())).expect("write");
    std::fs::write(&f1, p2).expect("write");
    std::fs::write(&f0, p3).expect("write");
    assert_matches(
        &truth,
        &report(&[&f1, &f0, &f2], &["--pool-size", "8"]),
        &format!("{what}, rotated x.log.1 x.log x.log.2.gz"),
    );

    // The first line is a snapshot, so without --pool-size every figure is the same.
    let mut from_snapshot = truth.clone();
    from_snapshot["pool"]["total_source"] = Value::from("snapshot");
    assert_matches(
        &from_snapshot,
        &report(&[&log], &[]),
        &format!("{what}, total from snapshots"),
    );
}

#[test]
fn simulated_console_logs_report_their_truth() {
    for seed in 1..=3 {
        check_log("console", seed);
    }
}

#[test]
fn simulated_docker_logs_report_their_truth() {
    for seed in 1..=3 {
        check_log("docker", seed);
    }
}

#[test]
fn simulated_otlp_logs_report_their_truth() {
    for seed in 1..=3 {
        check_log("otlp", seed);
    }
}

#[test]
fn simulated_logcli_logs_report_their_truth() {
    for seed in 1..=3 {
        check_log("logcli", seed);
    }
}

/// The service log plus every gateway's own log (one file per container, as `docker logs` or a
/// file per container writes them), then, where the shape names the container in each record
/// (OTLP resource, Loki labels), the gateways' logs merged into one stream in time order.
fn check_gateway_logs(format: &str, seed: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let gw = dir.path().join("gw");
    let seed_s = seed.to_string();
    let (log, truth) = simulate(
        dir.path(),
        "svc.log",
        &[
            "--seed",
            &seed_s,
            "--hours",
            "48",
            "--pool-size",
            "8",
            "--format",
            format,
            "--gateway-logs",
            path_str(&gw),
        ],
    );
    let what = format!("{format}, seed {seed}, gateway logs");
    let g = &truth["gateways"];
    assert_eq!(g["side_logs"], true, "{what}: truth has side logs");
    assert!(
        g["recycling_handouts"].as_u64().unwrap_or(0) > 0
            && g["restart_s"]["count"].as_u64().unwrap_or(0) > 0,
        "{what}: the simulation hands out restarting gateways: {g}"
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&gw)
        .expect("gateway log dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 8, "{what}: one log per gateway");
    let mut all: Vec<&Path> = vec![&log];
    all.extend(files.iter().map(PathBuf::as_path));
    assert_matches(&truth, &report(&all, &["--pool-size", "8"]), &what);

    if matches!(format, "otlp" | "logcli") {
        let merged = dir.path().join("gateways.jsonl");
        // As a collector forwards them: every gateway's records in one stream, in time order.
        let texts: Vec<String> = files
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("read gateway log"))
            .collect();
        let mut lines: Vec<&str> = texts.iter().flat_map(|t| t.split_inclusive('\n')).collect();
        lines.sort_by_key(|l| line_info(format, l).times.first().copied());
        std::fs::write(&merged, lines.concat()).expect("write merged");
        assert_matches(
            &truth,
            &report(&[&log, &merged], &["--pool-size", "8"]),
            &format!("{what}, merged into one stream"),
        );
    }
}

/// `gwmon events` over the same logs: the derived events agree with the truth (one
/// `gateway_up` with a restart time per completed restart, `"recycling": true` on every
/// handout), the last `pool_status` is the pool at the end, and `--no-pool-status` leaves only
/// the `pool_status` events out.
#[test]
fn events_carry_gateway_marks_and_the_pool_status() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gw = dir.path().join("gw");
    let (log, truth) = simulate(
        dir.path(),
        "svc.log",
        &[
            "--seed",
            "9",
            "--hours",
            "48",
            "--pool-size",
            "8",
            "--format",
            "docker",
            "--gateway-logs",
            path_str(&gw),
        ],
    );
    let mut args = vec!["events", "--pool-size", "8", path_str(&log)];
    let files: Vec<PathBuf> = std::fs::read_dir(&gw)
        .expect("gateway log dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    args.extend(files.iter().map(|p| path_str(p)));
    let parse = |out: &Output| -> Vec<Value> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    };
    let all = parse(&gwmon(&args));
    let count = |name: &str| all.iter().filter(|e| e["event"] == name).count() as u64;
    let restarts = all
        .iter()
        .filter(|e| e["event"] == "gateway_up" && e["restart_s"].is_number())
        .count() as u64;
    assert_eq!(
        restarts, truth["gateways"]["restart_s"]["count"],
        "restarts"
    );
    let handouts = all
        .iter()
        .filter(|e| e["event"] == "allocated" && e["recycling"] == true)
        .count() as u64;
    assert_eq!(
        handouts, truth["gateways"]["recycling_handouts"],
        "handouts"
    );
    assert!(count("gateway_down") >= restarts, "a down before every up");
    let last = all
        .iter()
        .rev()
        .find(|e| e["event"] == "pool_status")
        .expect("a pool_status");
    for k in ["allocated", "orphaned", "recycling", "available", "total"] {
        assert_eq!(last[k], truth["pool"][k], "last pool_status {k}");
    }
    // Every pool_status follows the event that changed the figures, from the same line.
    for w in all.windows(2) {
        if w[1]["event"] == "pool_status" {
            assert_eq!(w[0]["source"], w[1]["source"], "{w:?}");
        }
    }
    args.push("--no-pool-status");
    let quiet = parse(&gwmon(&args));
    assert_eq!(quiet.len() as u64, all.len() as u64 - count("pool_status"));
    assert!(quiet.iter().all(|e| e["event"] != "pool_status"));
}

/// The text report explains the failures with the truth's figures: with the gateways' logs,
/// how many health-check failures hit restarting gateways; without them, that it cannot tell.
#[test]
fn why_allocations_failed_in_plain_words() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gw = dir.path().join("gw");
    let (log, truth) = simulate(
        dir.path(),
        "svc.log",
        &[
            "--seed",
            "1",
            "--hours",
            "168",
            "--pool-size",
            "8",
            "--gateway-logs",
            path_str(&gw),
        ],
    );
    let text = |files: &[&Path]| {
        let mut args = vec!["report", "--pool-size", "8", "--color", "never"];
        args.extend(files.iter().map(|p| path_str(p)));
        String::from_utf8(gwmon(&args).stdout).expect("UTF-8 report")
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&gw)
        .expect("gateway log dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    let mut all: Vec<&Path> = vec![&log];
    all.extend(files.iter().map(PathBuf::as_path));
    let with = text(&all);
    // From the heading to the next one (headings are the lines that start in column 0).
    let section: String = with
        .split("WHY ALLOCATIONS FAILED\n")
        .nth(1)
        .expect("a WHY ALLOCATIONS FAILED section")
        .split_inclusive('\n')
        .take_while(|l| l.trim().is_empty() || l.starts_with(' '))
        .collect::<String>()
        // Sentences are wrapped: continuation lines are indented by four.
        .replace("\n    ", " ");
    let f = &truth["allocations"]["failures_by_reason"];
    let o = &truth["gateways"]["recycling_handout_outcomes"];
    let hc = f["health_check"].as_u64().expect("count");
    assert!(hc > 0, "the week has health-check failures");
    let expected = format!(
        "{} of {hc} health-check failures",
        o["health_check"].as_u64().expect("count")
    );
    assert!(section.contains(&expected), "{expected:?} in\n{section}");
    assert!(section.contains("hit gateways handed out while still restarting"));
    assert!(section.contains("restarts take"), "{section}");
    let refused = format!(
        "{} of {} failures were refused",
        f["no_gateway_available"], truth["allocations"]["failed"]
    );
    assert!(section.contains(&refused), "{refused:?} in\n{section}");
    // One row per gateway.
    for g in 1..=8 {
        assert!(section.contains(&format!("\n  gw-pool-{g} ")), "{section}");
    }

    let without = text(&[&log]).replace("\n    ", " ");
    assert!(
        without.contains("without the gateways' own logs gwmon cannot tell"),
        "{without}"
    );
}

#[test]
fn gateway_logs_report_their_truth_in_every_shape() {
    for (i, format) in FORMATS.iter().enumerate() {
        check_gateway_logs(format, 4 + i as u64);
    }
}

#[test]
fn other_pool_shapes_report_their_truth() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, args) in [
        &[
            "--pool-size",
            "2",
            "--orgs",
            "5",
            "--noise",
            "0",
            "--hours",
            "30",
        ][..],
        &[
            "--pool-size",
            "40",
            "--orgs",
            "400",
            "--hours",
            "30",
            "--noise",
            "0.5",
        ],
        &["--start", "2026-07-15T13:37:12.345Z", "--hours", "20"],
    ]
    .into_iter()
    .enumerate()
    {
        let format = FORMATS[i % FORMATS.len()];
        let mut all = vec!["--seed", "11", "--format", format, "--malformed", "2"];
        all.extend_from_slice(args);
        let (log, truth) = simulate(dir.path(), &format!("o{i}.log"), &all);
        let total = truth["pool"]["total"].to_string();
        assert_matches(
            &truth,
            &report(&[&log], &["--pool-size", &total]),
            &format!("{args:?} {format}"),
        );
    }
}

#[test]
fn simulate_is_deterministic_and_writes_stdout() {
    let args = [
        "simulate", "--seed", "5", "--hours", "6", "--format", "docker",
    ];
    let a = gwmon(&args).stdout;
    let b = gwmon(&args).stdout;
    assert!(!a.is_empty() && a == b, "same seed, different logs");
    let c = gwmon(&[
        "simulate", "--seed", "6", "--hours", "6", "--format", "docker",
    ])
    .stdout;
    assert!(a != c, "different seeds, same log");
}

#[test]
fn simulate_refuses_auto() {
    let out = Command::new(env!("CARGO_BIN_EXE_gwmon"))
        .args(["simulate", "--format", "auto", "--hours", "1"])
        .output()
        .expect("run gwmon");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}

/// The committed sample and its truth are exactly what `gwmon simulate` makes of these
/// arguments, so they cannot drift from the simulator.
const SAMPLE_ARGS: [&str; 10] = [
    "--seed",
    "7",
    "--hours",
    "24",
    "--pool-size",
    "8",
    "--format",
    "console",
    "--noise",
    "0.9",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

#[test]
fn committed_sample_is_regenerated_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (log, _) = simulate(dir.path(), "sample.log", &SAMPLE_ARGS);
    let regenerated = std::fs::read(&log).expect("read");
    let committed =
        std::fs::read(fixture("ganymede-sample.log")).expect("fixtures/ganymede-sample.log");
    if regenerated != committed {
        let r = String::from_utf8_lossy(&regenerated);
        let c = String::from_utf8_lossy(&committed);
        let (n, (rl, cl)) = r
            .lines()
            .zip(c.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .unwrap_or((r.lines().count().min(c.lines().count()), ("<end>", "<end>")));
        panic!(
            "fixtures/ganymede-sample.log differs from `gwmon simulate {}` at line {}:\n  committed:   {cl}\n  regenerated: {rl}\nregenerate it with that command (--out/--truth)",
            SAMPLE_ARGS.join(" "),
            n + 1
        );
    }
    let truth = std::fs::read(dir.path().join("sample.log.truth.json")).expect("read");
    let committed = std::fs::read(fixture("ganymede-sample.truth.json"))
        .expect("fixtures/ganymede-sample.truth.json");
    assert!(
        truth == committed,
        "fixtures/ganymede-sample.truth.json differs from the regenerated truth"
    );
}

#[test]
fn committed_sample_reports_its_truth() {
    let truth: Value = serde_json::from_slice(
        &std::fs::read(fixture("ganymede-sample.truth.json")).expect("truth fixture"),
    )
    .expect("truth JSON");
    let log = fixture("ganymede-sample.log");
    assert_matches(&truth, &report(&[&log], &["--pool-size", "8"]), "fixture");
}

#[test]
fn truth_comparison_reports_each_difference() {
    let expected = serde_json::json!({
        "lines": {"read": 10, "matched": 3},
        "pool": {"utilization_mean": 0.5, "last_snapshot": null},
        "durations_s": {"p50": 100.0, "mean": 100.0},
        "rate": {"per_hour": [{"allocated": 1}, {"allocated": 2}]}
    });
    let same = serde_json::json!({
        "lines": {"read": 10, "matched": 3, "skipped": 0},
        "pool": {"utilization_mean": 0.5000000001, "last_snapshot": null},
        "durations_s": {"p50": 100.05, "mean": 100.0},
        "rate": {"per_hour": [{"allocated": 1}, {"allocated": 2}]},
        "alerts": []
    });
    assert_eq!(diff(&expected, &same), Vec::<String>::new());
    let other = serde_json::json!({
        "lines": {"read": 11},
        "pool": {"utilization_mean": 0.51, "last_snapshot": {"total": 8}},
        "durations_s": {"p50": 100.5, "mean": 100.05},
        "rate": {"per_hour": [{"allocated": 1}]}
    });
    let d = diff(&expected, &other);
    for want in [
        ".lines.read: expected 10, got 11",
        ".lines.matched: expected 3, missing",
        ".pool.utilization_mean: expected 0.5, got 0.51",
        ".pool.last_snapshot: expected null",
        ".durations_s.p50: expected 100, got 100.5",
        ".durations_s.mean: expected 100, got 100.05",
        ".rate.per_hour: expected 2 entries, got 1",
    ] {
        assert!(
            d.iter().any(|l| l.starts_with(want)),
            "{want:?} not in {d:#?}"
        );
    }
}
