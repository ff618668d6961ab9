//! Exporter conventions and exact time-weighted figures (issue 12, item 6): the event-time
//! integral counters equal the report's time-weighted figures over the whole log, and a
//! long-running gwmon exposes `gwmon_build_info` and the standard `process_*` metrics, all
//! passing `promtool check metrics`.

use crate::common::*;
use crate::prometheus::{
    caught_up, get_with_accept, parse_exposition, promtool_check_metrics, sample_value, start_watch,
};

fn seconds_between(start: &serde_json::Value, end: &serde_json::Value) -> f64 {
    let t = |v: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("RFC 3339")
    };
    (t(end) - t(start)).num_milliseconds() as f64 / 1000.0
}

#[test]
fn integrals_over_the_whole_log_equal_the_reports_time_weighted_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, truth) = simulate(dir.path(), "24");
    let args = ["--pool-size", "8", s(&sim)];
    let report = report_json(&sim, &args[..2]);
    let text = ok(
        &run(&[&["report", "--prometheus"][..], &args].concat(), None),
        "gwmon report --prometheus",
    );
    if let Some(promtool) = tool(&["promtool"]) {
        promtool_check_metrics(&promtool, &text, "the report's exposition");
    }
    let window = seconds_between(&report["window"]["start"], &report["window"]["end"]);
    assert!(window > 3600.0, "window {window}");
    let mean = report["pool"]["utilization_mean"].as_f64().unwrap();
    assert_eq!(
        report["pool"]["utilization_mean"],
        truth["pool"]["utilization_mean"]
    );
    let integral = sample_value(&text, "gwmon_pool_allocated_gateway_seconds_total").unwrap();
    let want = mean * 8.0 * window;
    assert!(
        (integral - want).abs() <= 1e-9 * want,
        "allocated gateway-seconds {integral}, report: {mean} × 8 × {window} s = {want}"
    );
    let exhausted = sample_value(&text, "gwmon_pool_exhausted_seconds_total").unwrap();
    let want = report["exhaustion"]["exhausted_s"].as_f64().unwrap();
    assert!(want > 0.0, "the simulated day runs the pool dry");
    assert!((exhausted - want).abs() < 1e-6, "{exhausted} vs {want}");
    let orphaned = sample_value(&text, "gwmon_pool_orphaned_gateway_seconds_total").unwrap();
    assert!(orphaned >= 0.0);
    // The one-off exposition is no process's: no process_* metrics.
    assert!(!text.contains("\nprocess_"), "{text}");
    assert!(text.contains(&format!(
        "gwmon_build_info{{version=\"{}\",",
        env!("CARGO_PKG_VERSION")
    )));
}

#[test]
fn a_running_gwmon_exposes_build_info_and_process_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, alloc_cycle(ORG_A, 1, 0, 5)).unwrap();
    let textfile = dir.path().join("gwmon.prom");
    let before = chrono::Utc::now().timestamp() as f64;
    let (mut watch, addr) = start_watch(&["--from-start", "--textfile", s(&textfile), s(&log)]);
    let text = caught_up(&addr, line_count(&log));
    let after = chrono::Utc::now().timestamp() as f64;
    if let Some(promtool) = tool(&["promtool"]) {
        promtool_check_metrics(&promtool, &text, "/metrics with process metrics");
    }
    let get = |n: &str| sample_value(&text, n).unwrap_or_else(|| panic!("no {n} in\n{text}"));
    assert!(get("process_resident_memory_bytes") > 1e6);
    assert!(get("process_virtual_memory_bytes") >= get("process_resident_memory_bytes"));
    assert!(get("process_open_fds") >= 3.0);
    assert!(get("process_max_fds") >= get("process_open_fds"));
    assert!(get("process_cpu_seconds_total") >= 0.0);
    // /proc's start time is in clock ticks since boot: within a second of the spawn.
    let start = get("process_start_time_seconds");
    assert!(
        start >= before - 1.0 && start <= after + 1.0,
        "start {start} not in [{before}, {after}]"
    );
    let (_, _, om) = get_with_accept(&addr, "/metrics", "application/openmetrics-text").unwrap();
    let samples = parse_exposition(&om, true);
    assert!(
        samples
            .iter()
            .any(|x| x.name == "process_cpu_seconds_total")
    );
    assert!(
        om.contains("# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds seconds\n")
    );
    let build = samples
        .iter()
        .find(|x| x.name == "gwmon_build_info")
        .expect("gwmon_build_info");
    assert_eq!(build.value, 1.0);
    assert!(
        build
            .labels
            .contains(&("version".into(), env!("CARGO_PKG_VERSION").into()))
    );
    sigterm(&watch.0);
    assert!(wait_exit(&mut watch.0, 10).success());
    // The textfile leaves the process metrics to node_exporter (its own would clash).
    let file = std::fs::read_to_string(&textfile).unwrap();
    assert!(file.contains("gwmon_build_info{"));
    assert!(!file.contains("process_"), "{file}");
}

/// The value of `name{labels}` in a text exposition.
fn labelled(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn read_lag_bytes_and_offsets_per_input() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    let first = alloc_cycle(ORG_A, 1, 0, 5);
    std::fs::write(&log, &first).unwrap();
    let name = s(&log);
    let (mut watch, addr) = start_watch(&["--from-start", name]);
    let before = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let text = caught_up(&addr, line_count(&log));
    let after = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let size = std::fs::metadata(&log).unwrap().len() as f64;
    let bytes = format!("gwmon_input_read_bytes_total{{input=\"{name}\"}}");
    let offset = format!("gwmon_input_offset_bytes{{input=\"{name}\",file=\"{name}\"}}");
    let lag = format!("gwmon_input_read_lag_seconds{{input=\"{name}\"}}");
    assert_eq!(labelled(&text, &bytes), Some(size), "{text}");
    assert_eq!(labelled(&text, &offset), Some(size), "{text}");
    // The last line is the deallocation at 08:05:00.020 on 2026-03-04: the lag is the wall
    // clock minus that time, at the moment of the rendering.
    let last = chrono::DateTime::parse_from_rfc3339("2026-03-04T08:05:00.020Z")
        .unwrap()
        .timestamp_millis() as f64
        / 1000.0;
    let got = labelled(&text, &lag).expect("the read lag");
    assert!(
        got >= before - last - 2.0 && got <= after - last,
        "lag {got} not within [{}, {}]",
        before - last - 2.0,
        after - last
    );
    // Lines appended now: bytes and offset follow the file, the lag drops to about nothing.
    let more = line(
        &now_iso(),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {ORG_B}"),
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, more.as_bytes()))
        .unwrap();
    let text = caught_up(&addr, line_count(&log));
    let size = std::fs::metadata(&log).unwrap().len() as f64;
    assert_eq!(labelled(&text, &bytes), Some(size));
    assert_eq!(labelled(&text, &offset), Some(size));
    let got = labelled(&text, &lag).unwrap();
    assert!(got < before - last, "lag {got} after a line written now");
    sigterm(&watch.0);
    assert!(wait_exit(&mut watch.0, 10).success());
    // A replay of history has no wall clock to lag behind.
    let out = ok(&run(&["report", "--prometheus", name], None), "report");
    assert_eq!(labelled(&out, &bytes), Some(size));
    assert!(!out.contains("gwmon_input_read_lag_seconds"));
}
