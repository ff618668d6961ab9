//! `gwmon backfill` with the real programs: promtool turns a simulated week's OpenMetrics into
//! blocks, and a real Prometheus over them answers what the simulator's truth and `gwmon report
//! --json` say — allocations and refusals per hour, the available gateways, the alert state, and
//! the per-day utilization from the integral counter. The README's "Adopting gwmon on a running
//! system" recipe is run end to end.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::*;
use crate::prometheus::urlencode;

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

fn secs(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
        .expect("RFC 3339")
        .timestamp()
}

/// `gwmon backfill ARGS > path`.
fn backfill<S: AsRef<std::ffi::OsStr>>(args: &[S], path: &Path) {
    let out = std::fs::File::create(path).unwrap();
    let st = gwmon()
        .arg("backfill")
        .args(args)
        .stdout(out)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(st.status.success(), "gwmon backfill: {st:?}");
}

/// `promtool tsdb create-blocks-from openmetrics` into `data`; its output.
fn create_blocks(promtool: &Path, om: &Path, data: &Path) -> String {
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg("--max-block-duration=168h")
        .arg(om)
        .arg(data)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool create-blocks: {text}");
    let low = text.to_lowercase();
    for bad in ["out of order", "duplicate", "error"] {
        assert!(!low.contains(bad), "promtool says {bad}: {text}");
    }
    text
}

/// A Prometheus on loopback over `data` (scraping `targets`, if any).
fn start_prometheus(bin: &Path, dir: &Path, data: &Path, targets: &[&str]) -> (Proc, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let cfg = dir.join("prometheus.yml");
    let mut yml = "global:\n  scrape_interval: 1s\n".to_owned();
    if !targets.is_empty() {
        yml += &format!(
            "scrape_configs:\n  - job_name: gwmon\n    static_configs:\n      - targets: [{}]\n",
            targets
                .iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    std::fs::write(&cfg, yml).unwrap();
    let log = std::fs::File::create(dir.join("prometheus.out")).unwrap();
    let p = Proc(
        Command::new(bin)
            .arg(format!("--config.file={}", s(&cfg)))
            .arg(format!("--storage.tsdb.path={}", s(data)))
            // The simulated history may be older than the default 15 days.
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    wait_for(30, "Prometheus ready", || {
        http_get(&addr, "/-/ready").filter(|(c, _)| *c == 200)
    });
    (p, addr)
}

/// A range query: labels of `by` → [(time, value)].
fn query_range(
    addr: &str,
    q: &str,
    start: i64,
    end: i64,
    step: i64,
    by: &str,
) -> BTreeMap<String, Vec<(i64, f64)>> {
    let path = format!(
        "/api/v1/query_range?query={}&start={start}&end={end}&step={step}",
        urlencode(q)
    );
    let (_, body) = http_get(addr, &path).expect("an answer from Prometheus");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["status"], "success", "{q}: {body}");
    let series: Vec<(String, Vec<(i64, f64)>)> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = r["metric"][by].as_str().unwrap_or("").to_owned();
            let pts = r["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let t = p[0].as_f64().unwrap() as i64;
                    (t, p[1].as_str().unwrap().parse::<f64>().unwrap())
                })
                .collect();
            (key, pts)
        })
        .collect();
    let n = series.len();
    let map: BTreeMap<String, Vec<(i64, f64)>> = series.into_iter().collect();
    assert_eq!(
        map.len(),
        n,
        "{q}: several series with the same {by:?}: {body}"
    );
    map
}

/// An instant query at `t` (seconds): its single value.
fn query_at(addr: &str, q: &str, t: i64) -> f64 {
    let path = format!("/api/v1/query?query={}&time={t}", urlencode(q));
    let (_, body) = http_get(addr, &path).expect("an answer from Prometheus");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let r = &v["data"]["result"];
    assert!(
        v["status"] == "success" && r.as_array().is_some_and(|a| a.len() == 1),
        "{q} at {t}: {body}"
    );
    r[0]["value"][1].as_str().unwrap().parse().unwrap()
}

/// The single series of a range query.
fn one_series(addr: &str, q: &str, start: i64, end: i64, step: i64) -> Vec<(i64, f64)> {
    let mut r = query_range(addr, q, start, end, step, "");
    assert_eq!(r.len(), 1, "{q}: {r:?}");
    r.remove("").unwrap()
}

/// `per_hour`/`per_day` entries by start (seconds): the column `col`.
fn by_start(v: &Value, col: &str) -> BTreeMap<i64, f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| (secs(&e["start"]), e[col].as_f64().unwrap()))
        .collect()
}

#[test]
fn a_backfilled_week_in_a_real_prometheus_says_what_the_truth_says() {
    let (Some(promtool), Some(prometheus)) = (tool(&["promtool"]), tool(&["prometheus"])) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (sim, truth) = simulate(dir.path(), "168");
    let om = dir.path().join("gwmon.om");
    backfill(&["--pool-size", "8", "--step", "1m", s(&sim)], &om);
    let text = std::fs::read_to_string(&om).unwrap();
    assert!(text.ends_with("\n# EOF\n"));
    let data = dir.path().join("data");
    create_blocks(&promtool, &om, &data);
    let (_prom, addr) = start_prometheus(&prometheus, dir.path(), &data, &[]);
    let report = report_json(&sim, &["--pool-size", "8"]);

    let first = secs(&truth["window"]["start"]).div_euclid(HOUR) * HOUR;
    let last_event = secs(&truth["window"]["end"]);
    // Hours wholly inside the samples (the last sample is the minute after the last event).
    let end = last_event.div_euclid(HOUR) * HOUR;
    let hours = |q: &str| one_series(&addr, q, first + HOUR, end, HOUR);

    // Allocations and failures per hour: what each hour added to the counters.
    let allocated =
        hours("gwmon_gateway_allocations_total - gwmon_gateway_allocations_total offset 1h");
    let failed = hours(
        "sum(gwmon_gateway_allocation_failures_total) - sum(gwmon_gateway_allocation_failures_total offset 1h)",
    );
    let want_alloc = by_start(&truth["rate"]["per_hour"], "allocated");
    let want_failed = by_start(&truth["rate"]["per_hour"], "failed");
    assert_eq!(allocated.len() as i64, (end - first) / HOUR);
    for (series, want, what) in [
        (&allocated, &want_alloc, "allocations"),
        (&failed, &want_failed, "failures"),
    ] {
        for (t, v) in series {
            let w = want.get(&(t - HOUR)).copied().unwrap_or(0.0);
            assert_eq!(*v, w, "{what} in the hour before {t}");
        }
    }
    assert!(allocated.iter().map(|x| x.1).sum::<f64>() > 100.0);
    // The refusals at the end, by reason.
    let at_end = |q: &str| query_at(&addr, q, last_event + 60);
    let a = &truth["allocations"];
    assert_eq!(
        at_end("gwmon_gateway_allocation_failures_total{reason='no_gateway_available'}"),
        a["failures_by_reason"]["no_gateway_available"]
            .as_f64()
            .unwrap()
    );
    assert_eq!(
        at_end("gwmon_gateway_allocations_total"),
        a["allocated"].as_f64().unwrap()
    );
    assert_eq!(
        at_end("gwmon_pool_available_gateways"),
        truth["pool"]["available"].as_f64().unwrap()
    );

    // The available gateways at every hour: as the pool_status events of `gwmon events` say
    // (the last one before that time).
    let events = ok(
        &run(&["events", "--pool-size", "8", s(&sim)], None),
        "gwmon events",
    );
    let status: Vec<(i64, f64)> = events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "pool_status")
        .map(|e| {
            let ms = chrono::DateTime::parse_from_rfc3339(e["time"].as_str().unwrap())
                .unwrap()
                .timestamp_millis();
            (ms, e["available"].as_f64().unwrap())
        })
        .collect();
    let available = hours("gwmon_pool_available_gateways");
    let mut zero = 0;
    for (t, v) in &available {
        let want = status
            .iter()
            .take_while(|(ms, _)| *ms < t * 1000)
            .last()
            .map_or(8.0, |x| x.1);
        assert_eq!(*v, want, "available gateways at {t}");
        zero += usize::from(*v == 0.0);
    }
    assert!(
        zero > 0,
        "the simulated week runs the pool dry at some hour"
    );

    // The alert state: firing (2) exactly while the report's pool_exhausted alert fired.
    let alerts: Vec<(i64, Option<i64>)> = report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["rule"] == "pool_exhausted")
        .map(|x| {
            let ms = |v: &Value| {
                chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
                    .unwrap()
                    .timestamp_millis()
            };
            (
                ms(&x["fired_at"]),
                x["resolved_at"].as_str().map(|_| ms(&x["resolved_at"])),
            )
        })
        .collect();
    assert!(alerts.len() > 3, "{alerts:?}");
    let state = hours("gwmon_alert_state{rule='pool_exhausted'}");
    let mut firing = 0;
    for (t, v) in &state {
        let ms = t * 1000;
        let want = alerts
            .iter()
            .any(|(f, r)| *f < ms && r.is_none_or(|r| r >= ms));
        assert_eq!(*v == 2.0, want, "pool_exhausted firing at {t}: state {v}");
        firing += usize::from(want);
    }
    assert!(firing > 0 && firing < state.len());

    // Per-day utilization from the integral counter: each whole day's Σ allocated × seconds of
    // the truth, over the day and the pool.
    let day0 = first.div_euclid(DAY) * DAY;
    let want: BTreeMap<i64, f64> = by_start(&truth["per_day_utilization"], "allocated_gateway_s");
    let mut days = 0;
    for d in (day0..).step_by(DAY as usize) {
        if d + DAY > last_event {
            break;
        }
        let w = want.get(&d).copied().unwrap_or(0.0) / DAY as f64 / 8.0;
        let q = |e: &str| query_at(&addr, e, d + DAY);
        let exact = q(
            "(gwmon_pool_allocated_gateway_seconds_total - gwmon_pool_allocated_gateway_seconds_total offset 1d) / 86400 / gwmon_pool_gateways",
        );
        assert!(
            (exact - w).abs() <= 1e-9 * w.max(1e-9),
            "day {d}: {exact} vs truth {w}"
        );
        // rate() over the day: the same figure, but Prometheus extrapolates to the range's
        // start when its first sample lies inside it (Prometheus 3's left-open ranges): within
        // a step (1m) of the day.
        let rated = q("rate(gwmon_pool_allocated_gateway_seconds_total[1d]) / gwmon_pool_gateways");
        assert!(
            (rated - w).abs() <= w / 1440.0 + 1e-12,
            "day {d}: rate {rated} vs {w}"
        );
        days += 1;
    }
    assert!(days >= 6, "{days} whole days");
}

/// The shell lines of the README's "Adopting gwmon on a running system" recipe.
fn recipe() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let at = readme
        .find("### Adopting gwmon on a running system")
        .expect("the recipe in the README");
    let block = &readme[at..];
    let start = block.find("```sh\n").expect("its shell block") + 6;
    let end = start + block[start..].find("```").unwrap();
    block[start..end].lines().map(str::to_owned).collect()
}

/// One recipe line as words, the comment and a trailing `&` dropped, `> FILE` split off, the
/// recipe's paths replaced by the test's.
fn words(line: &str, subst: &[(&str, String)]) -> (Vec<String>, Option<PathBuf>) {
    let line = line
        .split(" # ")
        .next()
        .unwrap()
        .trim()
        .trim_end_matches('&');
    let (cmd, out) = match line.split_once(" > ") {
        Some((c, o)) => (c, Some(o.trim())),
        None => (line, None),
    };
    let map = |w: &str| {
        subst
            .iter()
            .find(|(k, _)| *k == w)
            .map_or(w.to_owned(), |(_, v)| v.clone())
    };
    let words = cmd.split_whitespace().map(map).collect();
    (words, out.map(|o| PathBuf::from(map(o))))
}

#[test]
fn adopting_gwmon_on_a_running_system() {
    let (Some(promtool), Some(prometheus)) = (tool(&["promtool"]), tool(&["prometheus"])) else {
        return;
    };
    let lines = recipe();
    let find = |prefix: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in the recipe: {lines:?}"))
            .clone()
    };
    let dir = tempfile::tempdir().unwrap();
    // Two days of history ending within the last two hours (never in the future: the
    // simulator may write events up to the end of its span).
    let now = chrono::Utc::now().timestamp();
    let begin = chrono::DateTime::from_timestamp((now - 49 * HOUR).div_euclid(HOUR) * HOUR, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let log = dir.path().join("ganymede.log");
    let truth_path = dir.path().join("truth.json");
    ok(
        &run(
            &[
                "simulate",
                "--seed",
                "2",
                "--hours",
                "48",
                "--pool-size",
                "8",
                "--start",
                &begin,
                "--out",
                s(&log),
                "--truth",
                s(&truth_path),
            ],
            None,
        ),
        "gwmon simulate",
    );
    let truth: Value = serde_json::from_slice(&std::fs::read(&truth_path).unwrap()).unwrap();
    let allocated = truth["allocations"]["allocated"].as_f64().unwrap();

    // A Prometheus scraping the address of the recipe's watch (another port).
    let watch_addr = format!("127.0.0.1:{}", free_port());
    let data = dir.path().join("data");
    let (prom, addr) = start_prometheus(&prometheus, dir.path(), &data, &[&watch_addr]);
    let mut prom = Some(prom);

    // 1. START, then the live service.
    let start = chrono::Utc::now();
    let start_s = start.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let subst = [
        ("/var/log/ganymede.log", s(&log).to_owned()),
        ("127.0.0.1:9464", watch_addr.clone()),
        ("instance=127.0.0.1:9464", format!("instance={watch_addr}")),
        ("\"$START\"", start_s.clone()),
        ("gwmon.om", s(&dir.path().join("gwmon.om")).to_owned()),
        ("blocks", s(&dir.path().join("blocks")).to_owned()),
    ];
    assert!(find("START=").contains("date -u +%Y-%m-%dT%H:%M:%SZ"));
    let (w, _) = words(&find("gwmon watch"), &subst);
    let mut watch = Proc(
        gwmon()
            .args(&w[1..])
            .arg("--quiet")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let value = |q: &str| {
        crate::prometheus::prom_values(&addr, q, None)
            .get("")
            .copied()
    };
    wait_for(60, "Prometheus scraping the caught-up watch", || {
        (value("gwmon_gateway_allocations_total") == Some(allocated)).then_some(())
    });
    // The service goes on: an allocation now.
    let more = line(
        &now_iso(),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Starting gateway for org {ORG_A}"),
    ) + &line(
        &now_iso(),
        "INFO",
        "GATEWAY_ALLOC",
        &format!("Allocated gw-pool-9 (port 7109, upstream 172.17.0.1:7109) to org {ORG_A}"),
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, more.as_bytes()))
        .unwrap();
    wait_for(30, "the live allocation in Prometheus", || {
        (value("gwmon_gateway_allocations_total") == Some(allocated + 1.0)).then_some(())
    });

    // 2. The history up to START, 3. into blocks, 4. into Prometheus' data directory.
    let (w, out) = words(&find("gwmon backfill"), &subst);
    assert!(w.iter().any(|x| x == "--until"));
    assert!(
        w.iter().any(|x| x == "job=gwmon"),
        "the live series' job label: {w:?}"
    );
    backfill(&w[2..], &out.expect("backfill writes to a file"));
    let (w, _) = words(&find("promtool tsdb"), &subst);
    assert_eq!(&w[1..4], ["tsdb", "create-blocks-from", "openmetrics"]);
    let out = Command::new(&promtool).args(&w[1..]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(out.status.success() && !said.contains("error"), "{out:?}");
    assert!(find("systemctl stop prometheus").contains("mv blocks/*"));
    let mut p = prom.take().unwrap();
    sigterm(&p.0);
    wait_exit(&mut p.0, 30);
    drop(p);
    for b in std::fs::read_dir(dir.path().join("blocks")).unwrap() {
        let b = b.unwrap();
        std::fs::rename(b.path(), data.join(b.file_name())).unwrap();
    }
    let (_prom, addr) = start_prometheus(&prometheus, dir.path(), &data, &[&watch_addr]);
    let value_at = |q: &str, t: i64| query_at(&addr, q, t);

    // One continuous graph: a point at every minute from the first backfilled sample to now,
    // no counter reset, the history and the live allocation both counted.
    let first = secs(&truth["window"]["start"]).div_euclid(60) * 60;
    let end = wait_for(30, "live scrapes after the restart", || {
        let t = chrono::Utc::now().timestamp();
        (value_at("count_over_time(up[5s])", t) > 0.0).then_some(t)
    });
    // (The pool size, hence the available gateways, is known from the first pool snapshot,
    // just after the first sample.)
    for (q, from) in [
        ("gwmon_gateway_allocations_total", first),
        ("gwmon_pool_allocated_gateway_seconds_total", first),
        ("gwmon_pool_available_gateways", first + 60),
    ] {
        let pts = one_series(&addr, q, from, end, 60);
        assert_eq!(
            pts.len() as i64,
            (end - from) / 60 + 1,
            "{q}: a gap in the graph"
        );
    }
    for q in [
        "gwmon_gateway_allocations_total",
        "gwmon_pool_allocated_gateway_seconds_total",
        "gwmon_gateway_allocation_failures_total{reason='no_gateway_available'}",
    ] {
        let resets = value_at(&format!("resets({q}[3d])"), end);
        assert_eq!(
            resets, 0.0,
            "{q} was reset where the history meets the live service"
        );
    }
    let before = start.timestamp() - 60;
    assert_eq!(
        value_at("gwmon_gateway_allocations_total", before),
        allocated
    );
    assert_eq!(
        value_at("gwmon_gateway_allocations_total", end),
        allocated + 1.0
    );
    sigterm(&watch.0);
    assert!(wait_exit(&mut watch.0, 10).success());
}

#[test]
fn backfill_refuses_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    // One line from 2099: a wrong clock, not 73 years of samples.
    let text = alloc_cycle(ORG_A, 1, 0, 5)
        + &line(
            "2099-03-04T08:00:00.000Z",
            "INFO",
            "GATEWAY_ALLOC",
            &format!("Starting gateway for org {ORG_B}"),
        );
    std::fs::write(&log, text).unwrap();
    let out = run(&["backfill", s(&log)], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("more than") && err.contains("--step"), "{err}");
    // The same log up to 2098 is fine.
    let out = run(
        &["backfill", "--until", "2098-01-01", "--step", "1h", s(&log)],
        None,
    );
    let om = ok(&out, "gwmon backfill --until");
    assert!(om.ends_with("# EOF\n") && om.contains("gwmon_gateway_allocations_total 1 "));
    for (args, want) in [
        (&["--step", "500ms"][..], "whole number of seconds"),
        (&["--label", "job"][..], "NAME=VALUE"),
        (&["--label", "reason=x"][..], "gwmon's own series"),
        (&["--label", "a-b=x"][..], "not a label name"),
    ] {
        let out = run(&[&["backfill"][..], args, &[s(&log)]].concat(), None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
