//! Replay of the simulator's logs through the alert rules: the incidents the simulator knows
//! (refused requests, orphaned allocations) give exactly the alert timeline it predicts, in the
//! report and in `gwmon alerts`.

use std::process::Command;

use serde_json::Value;

use crate::common::*;

fn simulate(dir: &std::path::Path, seed: u64, format: &str) -> (std::path::PathBuf, Value) {
    let log = dir.join(format!("s{seed}.{format}.log"));
    let truth = dir.join(format!("s{seed}.{format}.json"));
    let st = Command::new(env!("CARGO_BIN_EXE_gwmon"))
        .args([
            "simulate",
            "--seed",
            &seed.to_string(),
            "--hours",
            "72",
            "--pool-size",
            "6",
        ])
        .args(["--format", format, "--out"])
        .arg(&log)
        .arg("--truth")
        .arg(&truth)
        .status()
        .unwrap();
    assert!(st.success());
    let t: Value = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    (log, t)
}

fn timeline(alerts: &[Value], rules: &[&str]) -> Vec<(String, String, Value)> {
    let mut v: Vec<(String, String, Value)> = alerts
        .iter()
        .filter(|a| rules.contains(&a["rule"].as_str().unwrap_or("")))
        .map(|a| {
            (
                a["rule"].as_str().unwrap().to_owned(),
                a["fired_at"].as_str().unwrap().to_owned(),
                a["resolved_at"].clone(),
            )
        })
        .collect();
    v.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    v
}

#[test]
fn incident_alerts_equal_the_simulators_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let rules = ["pool_exhausted", "orphaned_allocation"];
    let mut total = 0;
    for (seed, format) in [
        (11, "console"),
        (12, "docker"),
        (13, "otlp"),
        (14, "logcli"),
    ] {
        let (log, truth) = simulate(dir.path(), seed, format);
        let expected = timeline(truth["expected_alerts"].as_array().unwrap(), &rules);
        assert!(
            expected.iter().any(|e| e.0 == "pool_exhausted"),
            "seed {seed}: no exhaustion"
        );
        let report = report_json(&log, &["--pool-size", "6"]);
        let got = timeline(report["alerts"].as_array().unwrap(), &rules);
        assert_eq!(got, expected, "seed {seed} {format}");
        total += expected.len();
        // gwmon alerts prints the same transitions.
        let out = run(
            &[
                "alerts",
                "--json",
                "--pool-size",
                "6",
                log.to_str().unwrap(),
            ],
            None,
        );
        assert!(out.status.success());
        let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let fired = lines
            .iter()
            .filter(|n| n["status"] == "firing" && rules.contains(&n["rule"].as_str().unwrap()))
            .count();
        let resolved = lines
            .iter()
            .filter(|n| n["status"] == "resolved" && rules.contains(&n["rule"].as_str().unwrap()))
            .count();
        assert_eq!(fired, expected.len());
        assert_eq!(resolved, expected.iter().filter(|e| !e.2.is_null()).count());
    }
    assert!(
        total > 10,
        "the simulations hold enough incidents to mean something"
    );
}
