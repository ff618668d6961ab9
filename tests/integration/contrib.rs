//! The `contrib/` files against the real programs: the Prometheus rules pass `promtool check
//! rules` and their unit tests; the Grafana dashboard only uses metrics gwmon exports and the
//! recording rules define; the systemd unit's and the crontab's command lines are accepted by
//! gwmon and run.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;
use crate::prometheus::parse_exposition;

pub fn dashboard_exprs(dash: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("expr" | "query" | "definition", Value::String(e)) if !e.is_empty() => {
                            out.push(e.clone())
                        }
                        _ => walk(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(dash, &mut out);
    out.sort();
    out.dedup();
    out
}

pub fn grafana_to_promql(e: &str) -> String {
    let e = e
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
        .replace("$job", ".*")
        .replace("$instance", ".*");
    // label_values(SELECTOR, LABEL) is Grafana's: run its selector.
    match e.strip_prefix("label_values(") {
        Some(r) => r
            .rsplit_once(',')
            .map(|(sel, _)| sel)
            .unwrap_or(r)
            .to_owned(),
        None => e,
    }
}

pub fn load_dashboard() -> Value {
    let text = std::fs::read_to_string(contrib("grafana/gwmon-dashboard.json")).unwrap();
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

// ---- c. The rules pass promtool ----------------------------------------------------------------

#[test]
fn rules_pass_promtool_check_and_unit_tests() {
    let Some(promtool) = tool(&["promtool"]) else {
        return;
    };
    let dir = contrib("prometheus");
    let check = Command::new(&promtool)
        .args(["check", "rules", "gwmon.rules.yml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let out = ok(&check, "promtool check rules");
    assert!(out.contains("SUCCESS"), "{out}");
    let config = Command::new(&promtool)
        .args(["check", "config", "prometheus.yml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    ok(
        &config,
        "promtool check config contrib/prometheus/prometheus.yml",
    );
    let test = Command::new(&promtool)
        .args(["test", "rules", "gwmon.rules.test.yml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let out = ok(&test, "promtool test rules");
    assert!(out.contains("SUCCESS"), "{out}");
    // The alerting rules are gwmon's, with gwmon's severities.
    let rules = std::fs::read_to_string(dir.join("gwmon.rules.yml")).unwrap();
    for (rule, severity) in [
        ("pool_exhausted", "critical"),
        ("pool_low", "warning"),
        ("failure_rate", "warning"),
        ("long_allocation", "warning"),
        ("orphaned_allocation", "critical"),
        ("pool_imbalance", "warning"),
    ] {
        let at = rules
            .find(&format!("- alert: {rule}\n"))
            .unwrap_or_else(|| panic!("no alerting rule {rule}"));
        let body = &rules[at..];
        let body = &body[..body[1..].find("- alert:").map_or(body.len(), |i| i + 1)];
        assert!(
            body.contains(&format!("severity: {severity}")),
            "{rule}: severity {severity}"
        );
        assert!(body.contains("summary:"), "{rule}: a summary");
    }
    // Each alert has a unit test that fires it.
    let tests = std::fs::read_to_string(dir.join("gwmon.rules.test.yml")).unwrap();
    for rule in [
        "pool_exhausted",
        "pool_low",
        "failure_rate",
        "long_allocation",
        "orphaned_allocation",
        "pool_imbalance",
    ] {
        assert!(
            tests.contains(&format!(
                "alertname: {rule}\n        exp_alerts:\n          - "
            )),
            "no test where {rule} fires"
        );
        assert!(
            tests.contains(&format!("alertname: {rule}\n        exp_alerts: []")),
            "no test where {rule} stays quiet"
        );
    }
}

// ---- e. The dashboard only uses metrics that exist ---------------------------------------------

/// Metric names in a PromQL expression: tokens that start with `gwmon_` or hold a `:` (recording
/// rules), outside string literals.
fn metric_tokens(expr: &str) -> Vec<String> {
    let mut bare = String::new();
    let mut in_str: Option<char> = None;
    let mut esc = false;
    for c in expr.chars() {
        match in_str {
            Some(q) => {
                if esc {
                    esc = false;
                } else if c == '\\' {
                    esc = true;
                } else if c == q {
                    in_str = None;
                }
                if in_str.is_none() {
                    bare.push(' ');
                }
            }
            None if c == '"' || c == '\'' || c == '`' => in_str = Some(c),
            None => bare.push(c),
        }
    }
    bare.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| {
            t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && (t.starts_with("gwmon_") || t.contains(':'))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn dashboard_uses_only_exported_metrics_and_recording_rules() {
    let dash = load_dashboard();
    assert!(dash["schemaVersion"].as_u64().unwrap() >= 36);
    assert!(
        dash["__inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus"),
        "the data source is the DS_PROMETHEUS input"
    );
    let panels = dash["panels"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for p in panels {
        let title = p["title"].as_str().unwrap();
        assert!(ids.insert(p["id"].as_u64().unwrap()), "{title}: id twice");
        kinds.insert(p["type"].as_str().unwrap().to_owned());
        let g = &p["gridPos"];
        assert!(
            g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24,
            "{title}: wider than the grid"
        );
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        let targets = p["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("{title}: no targets"));
        assert!(!targets.is_empty(), "{title}: no target");
        for t in targets {
            assert!(
                t["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
                "{title}: a target without expression"
            );
            assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        }
    }
    for k in ["stat", "gauge", "timeseries", "heatmap", "state-timeline"] {
        assert!(kinds.contains(k), "no {k} panel");
    }

    // The names gwmon exports (every family, with the histogram's series) …
    let dir = tempfile::tempdir().unwrap();
    let (sim, _) = simulate(dir.path(), "2");
    let text = ok(
        &run(
            &[
                "report",
                "--prometheus",
                "--org-metrics",
                "--pool-size",
                "8",
                s(&sim),
            ],
            None,
        ),
        "gwmon report --prometheus",
    );
    let mut exported: BTreeSet<String> = parse_exposition(&text, false)
        .into_iter()
        .map(|x| x.name)
        .collect();
    // … what only a live run exports (the read lag, the process metrics) …
    let (mut watch, addr) = crate::prometheus::start_watch(&["--from-start", s(&sim)]);
    let live = crate::prometheus::caught_up(&addr, line_count(&sim));
    sigterm(&watch.0);
    assert!(wait_exit(&mut watch.0, 10).success());
    exported.extend(parse_exposition(&live, false).into_iter().map(|x| x.name));
    // … and the recording rules.
    let rules_text = std::fs::read_to_string(contrib("prometheus/gwmon.rules.yml")).unwrap();
    let recorded: BTreeSet<String> = rules_text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
        .map(|x| x.trim().to_owned())
        .collect();
    assert!(recorded.len() >= 5, "{recorded:?}");
    let known = |t: &str| exported.contains(t) || recorded.contains(t);

    let exprs = dashboard_exprs(&dash);
    let mut used = BTreeSet::new();
    for e in &exprs {
        for t in metric_tokens(e) {
            assert!(
                known(&t),
                "dashboard expression {e:?} uses {t}, which nothing exports"
            );
            used.insert(t);
        }
    }
    for m in [
        "gwmon_pool_available_gateways",
        "gwmon_pool_gateways",
        "gwmon_pool_allocated_gateways",
        "gwmon_pool_orphaned_gateways",
        "gwmon_gateway_allocation_duration_seconds_bucket",
        "gwmon_gateway_allocation_failures_total",
        "gwmon_alert_state",
        "gwmon_gateway_open_allocations",
        "gwmon_gateway_oldest_open_allocation_age_seconds",
        "instance:gwmon_gateway_allocations:increase1h",
        "instance:gwmon_pool_utilization:avg24h",
        "gwmon_pool_allocated_gateway_seconds_total",
        "gwmon_pool_exhausted_seconds_total",
        "gwmon_input_read_lag_seconds",
        "gwmon_input_read_bytes_total",
    ] {
        assert!(used.contains(m), "no panel shows {m}");
    }
    // The rules themselves use only exported metrics and their own recording rules.
    for l in rules_text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
    {
        for t in metric_tokens(l) {
            if t.starts_with("gwmon_") || t.starts_with("instance:") {
                assert!(
                    known(&t),
                    "gwmon.rules.yml uses {t}, which nothing exports: {l}"
                );
            }
        }
    }
}

#[test]
fn metric_tokens_skip_strings_and_durations() {
    assert_eq!(
        metric_tokens(
            r#"sum by (le) (increase(gwmon_x_bucket{reason="gwmon_not:this"}[$__rate_interval])) / a:b:c offset 1h30m"#
        ),
        ["gwmon_x_bucket", "a:b:c"]
    );
    assert!(metric_tokens("max_over_time(x[1h:15s])").is_empty());
}

// ---- f. The unit's and the crontab's command lines are gwmon's ----------------------------------

/// The `ExecStart=` command of a unit file (continuation lines joined).
fn exec_start(unit: &str) -> Vec<String> {
    let mut joined = String::new();
    for l in unit.lines() {
        if let Some(x) = l.strip_suffix('\\') {
            joined.push_str(x);
            joined.push(' ');
        } else {
            joined.push_str(l);
            joined.push('\n');
        }
    }
    let cmd = joined
        .lines()
        .find_map(|l| l.trim().strip_prefix("ExecStart="))
        .expect("an ExecStart= line");
    // Prefixes such as `-` or `!` are systemd's, not the program's.
    let cmd = cmd.trim_start_matches(['-', '@', ':', '+', '!']);
    assert!(
        !cmd.contains(['"', '\'', '%', '$']),
        "keep ExecStart free of quoting, specifiers and variables: {cmd}"
    );
    cmd.split_whitespace().map(str::to_owned).collect()
}

/// The gwmon arguments in a command line (after the program path, until a shell operator).
fn gwmon_args(words: &[String]) -> Vec<String> {
    let at = words
        .iter()
        .position(|w| w.ends_with("/gwmon"))
        .expect("an absolute path to gwmon");
    words[at + 1..]
        .iter()
        .take_while(|w| !w.contains(['>', '<', '|', ')', ';', '&']))
        .cloned()
        .collect()
}

/// Run gwmon with `args`, log paths and state paths replaced by temp files; `watch` gets SIGTERM
/// after 1 s. Asserts the arguments were accepted.
fn run_like(args: &[String], dir: &Path, log: &Path) -> Output {
    let mut args: Vec<String> = args.to_vec();
    for a in args.iter_mut() {
        if a.starts_with("/var/log/") {
            *a = s(log).to_owned();
        } else if a.ends_with(".json") || a.ends_with(".prom") {
            *a = s(&dir.join(Path::new(a.as_str()).file_name().unwrap())).to_owned();
        }
    }
    // Another port than the unit's: the test proves gwmon serves the address it is given.
    if let Some(i) = args.iter().position(|a| a == "--listen") {
        args[i + 1] = "127.0.0.1:0".into();
    }
    if let Some(a) = args.iter_mut().find(|a| a.starts_with("--listen=")) {
        *a = "--listen=127.0.0.1:0".into();
    }
    let mut child = gwmon()
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if args.first().map(String::as_str) == Some("watch") {
        std::thread::sleep(Duration::from_secs(1));
        sigterm(&child);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "gwmon {args:?} did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !(out.status.code() == Some(2) && (err.contains("error:") || err.contains("Usage:"))),
        "gwmon rejected {args:?}: {err}"
    );
    out
}

#[test]
fn systemd_unit_runs_a_valid_gwmon_command() {
    let unit = std::fs::read_to_string(contrib("systemd/gwmon-watch.service")).unwrap();
    let words = exec_start(&unit);
    assert!(words[0].starts_with('/'), "an absolute program path");
    let args = gwmon_args(&words);
    assert_eq!(args[0], "watch");
    let listen = args
        .iter()
        .position(|a| a == "--listen")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--listen=").map(str::to_owned))
        });
    assert_eq!(listen.as_deref(), Some("127.0.0.1:9464"), "{args:?}");
    for want in ["--from-start", "/var/log/ganymede.log", "--state"] {
        assert!(args.iter().any(|a| a == want), "ExecStart lacks {want}");
    }
    // The state lives in the unit's StateDirectory (writable under ProtectSystem=strict).
    let state = args
        .iter()
        .position(|a| a == "--state")
        .and_then(|i| args.get(i + 1))
        .unwrap();
    assert!(state.starts_with("/var/lib/gwmon/"), "{state}");
    for key in [
        "StateDirectory=gwmon",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ReadOnlyPaths=",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(key)), "no {key}");
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, alloc_cycle(ORG_A, 1, 0, 5)).unwrap();
    let out = run_like(&args, dir.path(), &log);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let served = err
        .lines()
        .find_map(|l| l.strip_prefix("gwmon: serving http://"))
        .unwrap_or_else(|| panic!("no serving line: {err}"));
    assert!(
        served.starts_with("127.0.0.1:") && !served.starts_with("127.0.0.1:9464/"),
        "gwmon serves {served}, not the address given with --listen"
    );
    // The log was read (only the log: no other argument taken for a file), the state saved.
    assert!(err.contains("1 allocated"), "{err}");
    assert!(dir.path().join("watch.json").is_file(), "the state file");

    // systemd itself accepts the unit (every key known, every value valid), when it is here.
    let copy = dir.path().join("gwmon-watch.service");
    std::fs::write(&copy, unit.replace(&words[0], env!("CARGO_BIN_EXE_gwmon"))).unwrap();
    systemd_verify(&copy);
}

/// `systemd-analyze verify` accepts the unit file `unit` (skipped when systemd-analyze is not
/// installed): every key known, every value valid, nothing said about the unit.
pub fn systemd_verify(unit: &Path) {
    let Some(analyze) = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
    else {
        skipped_optional("systemd-analyze verify: systemd-analyze not installed");
        return;
    };
    let name = unit.file_name().unwrap().to_string_lossy().into_owned();
    let out = Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(unit)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = err.lines().filter(|l| l.contains(&name)).collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "systemd-analyze verify: {err}"
    );
}

/// Cron entries of a system crontab (`m h dom mon dow user command`), commented-out ones too:
/// (commented, user, command).
fn cron_entries(tab: &str) -> Vec<(bool, String, String)> {
    tab.lines()
        .filter_map(|l| {
            let (commented, l) = match l.strip_prefix('#') {
                Some(r) => (true, r.trim_start()),
                None => (false, l.trim()),
            };
            let first = l.split_whitespace().next()?;
            let n = if first.starts_with('@') { 1 } else { 5 };
            let schedule = |f: &str| f.chars().all(|c| c.is_ascii_digit() || "*/,-".contains(c));
            if n == 5 && !l.split_whitespace().take(5).all(schedule) {
                return None;
            }
            let mut rest = l;
            for _ in 0..n {
                rest = rest.trim_start();
                rest = &rest[rest.find(char::is_whitespace)?..];
            }
            let rest = rest.trim_start();
            let (user, cmd) = rest.split_once(char::is_whitespace)?;
            Some((commented, user.to_owned(), cmd.trim().to_owned()))
        })
        .collect()
}

#[test]
fn crontab_runs_valid_gwmon_commands() {
    let tab = std::fs::read_to_string(contrib("cron/gwmon-check.crontab")).unwrap();
    let entries = cron_entries(&tab);
    let check = entries
        .iter()
        .find(|(c, _, cmd)| !c && cmd.contains("gwmon check") && !cmd.contains("--textfile"))
        .expect("an active `gwmon check` entry");
    assert!(
        tab.lines()
            .any(|l| l.starts_with("*/5 ") && l.contains("gwmon check")),
        "every 5 minutes"
    );
    let textfile = entries
        .iter()
        .find(|(_, _, cmd)| cmd.contains("--textfile"))
        .expect("a textfile variant");
    for (_, user, cmd) in &entries {
        assert_eq!(user, "gwmon", "{cmd}");
        assert!(!cmd.contains('%'), "cron turns % into a newline: {cmd}");
    }

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    // A log written just now (an empty or months-old one is UNKNOWN or silent, not OK).
    let now = now_iso();
    let fresh = line(
        &now,
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {ORG_A}"),
    ) + &line(
        &now,
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Allocated gw-pool-1 (port 7101, upstream 172.17.0.1:7101) to org {ORG_A}"),
    );
    std::fs::write(&log, fresh).unwrap();
    let words: Vec<String> = check.2.split_whitespace().map(str::to_owned).collect();
    let args = gwmon_args(&words);
    assert_eq!(
        args,
        [
            "check",
            "--state",
            "/var/lib/gwmon/check.json",
            "/var/log/ganymede.log"
        ]
    );
    let out = run_like(&args, dir.path(), &log);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("GWMON OK - "),
        "{out:?}"
    );

    // The whole cron command through sh: quiet when OK, the plugin output when not.
    let bin = env!("CARGO_BIN_EXE_gwmon");
    let gw_path = words
        .iter()
        .find(|w| w.ends_with("/gwmon"))
        .unwrap()
        .trim_start_matches("out=$(");
    let shell_cmd = |log: &Path| {
        check
            .2
            .replace(gw_path, bin)
            .replace("/var/lib/gwmon/check.json", s(&dir.path().join("sh.json")))
            .replace("/var/log/ganymede.log", s(log))
    };
    let sh = |cmd: String| Command::new("/bin/sh").arg("-c").arg(cmd).output().unwrap();
    let out = sh(shell_cmd(&log));
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    let refused = dir.path().join("refused.log");
    let mut text = line(
        "2026-03-04T08:00:00.000Z",
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {ORG_A}"),
    );
    text += &line(
        "2026-03-04T08:00:01.000Z",
        "ERROR",
        "GATEWAY_ALLOC",
        &format!("Failed to start gateway for org {ORG_A}: \"no_gateway_available\""),
    );
    std::fs::write(&refused, text).unwrap();
    std::fs::remove_file(dir.path().join("sh.json")).unwrap();
    let out = sh(shell_cmd(&refused));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.starts_with("GWMON CRITICAL - ") && printed.contains("pool_exhausted"),
        "{out:?}"
    );

    // The textfile variant's gwmon command: the same check, writing the textfile too.
    let words: Vec<String> = textfile.2.split_whitespace().map(str::to_owned).collect();
    let args = gwmon_args(&words);
    assert_eq!(args[0], "check");
    assert!(args.iter().any(|a| a == "--textfile"));
    let out = run_like(&args, dir.path(), &log);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("GWMON OK - "),
        "{out:?}"
    );
    let prom = std::fs::read_to_string(dir.path().join("gwmon.prom")).expect("the textfile");
    assert!(
        prom.contains("gwmon_gateway_allocations_total 1\n"),
        "{prom}"
    );
}
