//! The README's Alertmanager routes: valid, routing each of gwmon's rules where the README
//! says, in the real Alertmanager fed by a real `gwmon watch`.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::recipes::spawn_cmd;
use super::{Block, blocks, sandbox};
use crate::common::*;

/// gwmon's rules with their default severities, from `gwmon config --print-default`.
fn rules_and_severities() -> Vec<(String, String)> {
    let text = ok(&run(&["config", "--print-default"], None), "gwmon config");
    let mut out = Vec::new();
    let mut rule = None;
    for l in text.lines() {
        if let Some(r) = l.strip_prefix("[alerts.").and_then(|r| r.strip_suffix(']')) {
            rule = Some(r.to_owned());
        }
        if let (Some(r), Some(sev)) = (&rule, l.strip_prefix("severity = ")) {
            out.push((r.clone(), sev.trim_matches('"').to_owned()));
            rule = None;
        }
    }
    assert!(out.len() >= 7, "{out:?}");
    out
}

/// The receiver the README's several-routes configuration names for a rule.
fn expected_receiver(rule: &str, severity: &str) -> &'static str {
    match (rule, severity) {
        (_, "critical") => "pager",
        ("long_allocation" | "pool_imbalance", _) => "capacity-mail",
        _ => "ops-mail",
    }
}

/// The README's Alertmanager configurations pass `amtool check-config`, route each gwmon rule
/// where the README says, and the real Alertmanager running the several-routes one routes the
/// alerts a real `gwmon watch --alertmanager` sends.
#[test]
fn alertmanager_routes_route_every_rule() {
    let (Some(am), Some(amtool)) = (
        tool(&["prometheus-alertmanager", "alertmanager"]),
        tool(&["amtool"]),
    ) else {
        return;
    };
    let sb = sandbox();
    let routes: Vec<Block> = blocks("README.md")
        .into_iter()
        .filter(|b| b.lang == "yaml" && b.text.starts_with("route:"))
        .collect();
    assert_eq!(routes.len(), 2, "one receiver and several");
    let files: Vec<_> = routes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let p = sb.path(&format!("alertmanager-{i}.yml"));
            std::fs::write(&p, sb.rewrite(&b.text)).unwrap();
            let out = Command::new(&amtool)
                .arg("check-config")
                .arg(&p)
                .output()
                .unwrap();
            ok(&out, "amtool check-config");
            p
        })
        .collect();
    let route = |file: &Path, rule: &str, sev: &str| {
        let out = Command::new(&amtool)
            .args(["config", "routes", "test"])
            .arg(format!("--config.file={}", s(file)))
            .args([
                format!("alertname={rule}"),
                format!("severity={sev}"),
                "site=paris".into(),
            ])
            .output()
            .unwrap();
        ok(&out, "amtool config routes test").trim().to_owned()
    };
    for (rule, sev) in rules_and_severities() {
        assert_eq!(route(&files[0], &rule, &sev), "ops-mail", "{rule}");
        assert_eq!(
            route(&files[1], &rule, &sev),
            expected_receiver(&rule, &sev),
            "{rule}"
        );
    }

    let addr = format!("127.0.0.1:{}", free_port());
    let err = std::fs::File::create(sb.path("alertmanager.err")).unwrap();
    let _am = Proc(
        Command::new(am)
            .arg(format!("--config.file={}", s(&files[1])))
            .arg(format!("--storage.path={}", s(&sb.path("am-data"))))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(err.try_clone().unwrap())
            .stderr(err)
            .spawn()
            .unwrap(),
    );
    wait_for(30, "Alertmanager ready", || {
        http_get(&addr, "/-/ready").filter(|(c, _)| *c == 200)
    });
    let _watch = spawn_cmd(
        &sb,
        &sb.rewrite(&format!(
            "gwmon watch --from-start --quiet --alertmanager http://{addr} --alertmanager-interval 1s /var/log/ganymede.log"
        )),
    );
    let alerts: Vec<Value> = wait_for(30, "gwmon's alerts in Alertmanager", || {
        let (_, body) = http_get(&addr, "/api/v2/alerts")?;
        let v: Vec<Value> = serde_json::from_str(&body).ok()?;
        (!v.is_empty()).then_some(v)
    });
    for a in &alerts {
        let rule = a["labels"]["alertname"].as_str().unwrap();
        let sev = a["labels"]["severity"].as_str().unwrap();
        let got: Vec<&str> = a["receivers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert_eq!(got, [expected_receiver(rule, sev)], "{a}");
    }
}
