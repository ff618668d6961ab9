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

/// node_exporter on loopback serving the textfile directory `dir`: (process, address).
fn node_exporter(bin: &std::path::Path, dir: &std::path::Path) -> (Proc, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let p = Proc(
        std::process::Command::new(bin)
            .args(["--collector.disable-defaults", "--collector.textfile"])
            .arg(format!("--collector.textfile.directory={}", s(dir)))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    (p, addr)
}

#[test]
fn check_textfile_is_read_by_node_exporter_across_runs() {
    let Some(ne) = tool(&["prometheus-node-exporter", "node_exporter"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (sim, truth) = simulate(dir.path(), "24");
    let text = std::fs::read_to_string(&sim).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let half = lines.len() / 2;
    let first = dir.path().join("first.log");
    std::fs::write(&first, lines[..half].concat()).unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, lines[..half].concat()).unwrap();
    let textdir = dir.path().join("textfile");
    std::fs::create_dir(&textdir).unwrap();
    let prom = textdir.join("gwmon.prom");
    let state = dir.path().join("check.json");
    let check = || {
        let out = run(
            &[
                "check",
                "--pool-size",
                "8",
                "--state",
                s(&state),
                "--textfile",
                s(&prom),
                s(&log),
            ],
            None,
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(stdout.starts_with("GWMON "), "{out:?}");
        assert_ne!(out.status.code(), Some(3), "UNKNOWN: {out:?}");
    };
    check();
    let (_ne, addr) = node_exporter(&ne, &textdir);
    let scrape = || {
        wait_for(20, "node_exporter /metrics", || {
            http_get(&addr, "/metrics")
                .filter(|(c, _)| *c == 200)
                .map(|x| x.1)
        })
    };
    let body = scrape();
    assert_eq!(
        sample_value(&body, "node_textfile_scrape_error"),
        Some(0.0),
        "node_exporter could not read check's textfile:\n{body}"
    );
    let want = report_json(&first, &["--pool-size", "8"]);
    let allocs = |body: &str| sample_value(body, "gwmon_gateway_allocations_total");
    assert_eq!(allocs(&body), want["allocations"]["allocated"].as_f64());
    // The second run reads only what was appended; its counters carry on from the first's.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, lines[half..].concat().as_bytes()))
        .unwrap();
    check();
    let body = scrape();
    assert_eq!(sample_value(&body, "node_textfile_scrape_error"), Some(0.0));
    let a = &truth["allocations"];
    assert_eq!(allocs(&body), a["allocated"].as_f64());
    assert_eq!(
        sample_value(&body, "gwmon_gateway_deallocations_total"),
        a["deallocated"].as_f64()
    );
    for (reason, n) in a["failures_by_reason"].as_object().unwrap() {
        let series = format!("gwmon_gateway_allocation_failures_total{{reason=\"{reason}\"}}");
        assert_eq!(labelled(&body, &series), n.as_f64(), "{reason}");
    }
    let size = std::fs::metadata(&log).unwrap().len() as f64;
    let name = s(&log);
    assert_eq!(
        labelled(
            &body,
            &format!("gwmon_input_offset_bytes{{file=\"{name}\",input=\"{name}\"}}")
        ),
        Some(size)
    );
    // Written atomically: only the .prom file is in the directory.
    let names: Vec<String> = std::fs::read_dir(&textdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["gwmon.prom"]);

    // The same families as `watch --textfile` over the same log.
    let families = |t: &str| -> std::collections::BTreeSet<String> {
        t.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(str::to_owned)
            .collect()
    };
    let watched = dir.path().join("watch.prom");
    let (mut watch, addr) = start_watch(&[
        "--from-start",
        "--pool-size",
        "8",
        "--textfile",
        s(&watched),
        s(&log),
    ]);
    caught_up(&addr, line_count(&log));
    sigterm(&watch.0);
    assert!(wait_exit(&mut watch.0, 10).success());
    let from_check = std::fs::read_to_string(&prom).unwrap();
    let from_watch = std::fs::read_to_string(&watched).unwrap();
    assert_eq!(families(&from_check), families(&from_watch));
    assert!(families(&from_check).len() > 30);

    // A textfile in a directory that does not exist: UNKNOWN before anything is read.
    let missing = dir.path().join("nowhere/gwmon.prom");
    let out = run(
        &[
            "check",
            "--state",
            s(&state),
            "--textfile",
            s(&missing),
            s(&log),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(3));
    // (The plugin convention: the error is the status line.)
    let err = String::from_utf8_lossy(&out.stdout);
    assert!(
        err.contains("--textfile") && err.contains("no such directory"),
        "{err}"
    );
}
