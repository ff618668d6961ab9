//! gwmon with the Prometheus ecosystem, against the real programs (Debian packages `prometheus`,
//! `prometheus-node-exporter`; each test skips when its program is missing):
//! the exposition passes `promtool check metrics` (also with hostile organization ids) and parses
//! as OpenMetrics; a real Prometheus scrapes `gwmon watch --listen` and sees the simulator's truth
//! (through the queries of the contrib dashboard); a real node_exporter exposes the `--textfile`.
//! The `contrib/` files themselves are tested in `contrib.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;
use crate::contrib::{dashboard_exprs, grafana_to_promql, load_dashboard};

/// `gwmon watch ARGS --listen=127.0.0.1:0`: the process and the address it serves on.
pub fn start_watch(args: &[&str]) -> (Proc, String) {
    let mut child = Proc(
        gwmon()
            .arg("watch")
            .args(args)
            .args(["--listen=127.0.0.1:0", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gwmon watch"),
    );
    let mut err = BufReader::new(child.0.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("gwmon: serving http://")
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first stderr line of gwmon watch: {first:?}"))
        .to_owned();
    // Keep draining stderr so gwmon never blocks on it.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut err, &mut std::io::sink());
    });
    (child, addr)
}

/// GET with an Accept header: (status, content type, body).
pub fn get_with_accept(addr: &str, path: &str, accept: &str) -> Option<(u16, String, String)> {
    let mut st = std::net::TcpStream::connect(addr).ok()?;
    st.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        st,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    st.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8(buf).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    let ctype = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    Some((code, ctype, body.to_owned()))
}

/// The value of an unlabelled sample in a text exposition.
pub fn sample_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Wait until `gwmon watch` at `addr` has read `lines` lines; returns that text exposition.
pub fn caught_up(addr: &str, lines: u64) -> String {
    wait_for(30, "gwmon watch to read the whole log", || {
        let (code, body) = http_get(addr, "/metrics")?;
        (code == 200 && sample_value(&body, "gwmon_lines_read_total")? == lines as f64)
            .then_some(body)
    })
}

/// `promtool check metrics` over `text`: must pass without a lint problem.
#[track_caller]
pub fn promtool_check_metrics(promtool: &Path, text: &str, what: &str) {
    let out = run_fed(
        Command::new(promtool).args(["check", "metrics"]),
        Some(text.as_bytes()),
    );
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "promtool check metrics on {what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- A strict exposition parser (text format 0.0.4 and OpenMetrics 1.0) -----------------------

pub type Labels = Vec<(String, String)>;

#[derive(Debug)]
pub struct Sample {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
}

fn valid_name(n: &str, colon: bool) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
}

fn parse_value(v: &str) -> Option<f64> {
    match v {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ if v.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) => v.parse().ok(),
        _ => None,
    }
}

/// One sample line: `name{k="v",…} value`.
fn parse_sample(line: &str, om: bool) -> Result<Sample, String> {
    let end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..end];
    if !valid_name(name, true) {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut rest = &line[end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let eq = rest.find('=').ok_or("label without =")?;
            let key = &rest[..eq];
            if !valid_name(key, false) {
                return Err(format!("bad label name {key:?}"));
            }
            rest = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or("label value not quoted")?;
            let mut val = String::new();
            let mut chars = rest.char_indices();
            let close = loop {
                match chars.next().ok_or("unterminated label value")? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().ok_or("dangling backslash")?.1 {
                        '\\' => val.push('\\'),
                        '"' => val.push('"'),
                        'n' => val.push('\n'),
                        c => return Err(format!("bad escape \\{c}")),
                    },
                    (_, '\n') => return Err("newline in label value".into()),
                    (_, c) => val.push(c),
                }
            };
            labels.push((key.to_owned(), val));
            rest = &rest[close + 1..];
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
                if om && rest.starts_with('}') {
                    return Err("trailing comma in OpenMetrics labels".into());
                }
            } else if !rest.starts_with('}') {
                return Err("expected , or } after a label".into());
            }
        }
    }
    let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let mut parts = rest.split(' ');
    let v = parts.next().ok_or("no value")?;
    let value = parse_value(v).ok_or_else(|| format!("bad value {v:?}"))?;
    if parts.next().is_some() {
        return Err("timestamps or exemplars are not expected from gwmon".into());
    }
    let mut keys: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err("repeated label name".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Parse and check an exposition line by line: families declared before their samples, not
/// interleaved, sample names that fit their family's type, no series twice, counters not
/// negative, histogram buckets cumulative and ending with `+Inf` = `_count`. OpenMetrics: `#
/// UNIT` a suffix of the family name, `# EOF` last, no blank line.
pub fn parse_exposition(text: &str, om: bool) -> Vec<Sample> {
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    let mut lines: Vec<&str> = text.lines().collect();
    if om {
        assert_eq!(lines.pop(), Some("# EOF"), "OpenMetrics ends with # EOF");
        assert!(!lines.contains(&"# EOF"), "# EOF only once, at the end");
    }
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps: BTreeSet<String> = BTreeSet::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut samples = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let at = || format!("line {}: {line:?}", n + 1);
        assert!(!line.is_empty() || !om, "{}: blank line", at());
        if line.is_empty() {
            continue;
        }
        if let Some(meta) = line.strip_prefix("# ") {
            let mut it = meta.splitn(3, ' ');
            let (kw, fam, arg) = (
                it.next().unwrap(),
                it.next().unwrap_or(""),
                it.next().unwrap_or(""),
            );
            assert!(valid_name(fam, true), "{}: bad family name", at());
            if current.as_deref() != Some(fam) {
                if let Some(c) = current.take() {
                    done.insert(c);
                }
                assert!(!done.contains(fam), "{}: family {fam} interleaved", at());
                current = Some(fam.to_owned());
            }
            match kw {
                "HELP" => assert!(helps.insert(fam.to_owned()), "{}: second HELP", at()),
                "TYPE" => {
                    let known = [
                        "counter",
                        "gauge",
                        "histogram",
                        "summary",
                        "untyped",
                        "unknown",
                    ];
                    assert!(known.contains(&arg), "{}: unknown type", at());
                    assert!(
                        types.insert(fam.to_owned(), arg.to_owned()).is_none(),
                        "{}: second TYPE",
                        at()
                    );
                    if om {
                        assert!(
                            !(arg == "counter" && fam.ends_with("_total")),
                            "{}: an OpenMetrics counter family is named without _total",
                            at()
                        );
                    }
                }
                "UNIT" => {
                    assert!(om, "{}: UNIT in the text format", at());
                    assert!(
                        fam.ends_with(&format!("_{arg}")),
                        "{}: the unit must be a suffix of the family name",
                        at()
                    );
                }
                _ => panic!("{}: unknown comment", at()),
            }
            continue;
        }
        assert!(!line.starts_with('#'), "{}: stray comment", at());
        let smp = parse_sample(line, om).unwrap_or_else(|e| panic!("{}: {e}", at()));
        let fam = current
            .clone()
            .unwrap_or_else(|| panic!("{}: sample before any # TYPE", at()));
        let ty = types
            .get(&fam)
            .unwrap_or_else(|| panic!("{}: no # TYPE for {fam}", at()));
        let fits = match ty.as_str() {
            "counter" if om => smp.name == format!("{fam}_total"),
            "histogram" => ["_bucket", "_sum", "_count"]
                .iter()
                .any(|x| smp.name == format!("{fam}{x}")),
            _ => smp.name == fam,
        };
        assert!(
            fits,
            "{}: sample does not belong to {ty} family {fam}",
            at()
        );
        if ty == "counter" || smp.name.ends_with("_bucket") || smp.name.ends_with("_count") {
            assert!(smp.value >= 0.0, "{}: negative count", at());
        }
        if ty == "counter" && !om {
            assert!(
                smp.name.ends_with("_total"),
                "{}: counter without _total",
                at()
            );
        }
        let mut key_labels = smp.labels.clone();
        key_labels.sort();
        assert!(
            seen.insert(format!("{}{key_labels:?}", smp.name)),
            "{}: the same series twice",
            at()
        );
        samples.push(smp);
    }
    // Histograms: cumulative buckets, +Inf last and equal to _count.
    for (fam, ty) in &types {
        if ty != "histogram" {
            continue;
        }
        let buckets: Vec<&Sample> = samples
            .iter()
            .filter(|x| x.name == format!("{fam}_bucket"))
            .collect();
        assert!(!buckets.is_empty(), "{fam}: no bucket");
        let le = |x: &Sample| {
            let v = x.labels.iter().find(|(k, _)| k == "le").expect("le label");
            parse_value(&v.1).unwrap_or_else(|| panic!("{fam}: bad le {:?}", v.1))
        };
        for w in buckets.windows(2) {
            assert!(le(w[0]) < le(w[1]), "{fam}: buckets not in le order");
            assert!(w[0].value <= w[1].value, "{fam}: buckets not cumulative");
        }
        let last = buckets.last().unwrap();
        assert!(le(last).is_infinite(), "{fam}: the last bucket is +Inf");
        let count = samples
            .iter()
            .find(|x| x.name == format!("{fam}_count"))
            .unwrap_or_else(|| panic!("{fam}: no _count"));
        assert_eq!(last.value, count.value, "{fam}: +Inf bucket = _count");
    }
    samples
}

fn label<'a>(smp: &'a Sample, key: &str) -> Option<&'a str> {
    smp.labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Organization ids no console line should break: quotes, backslashes, braces, `=`, commas,
/// unicode; then `n` more, each hostile too.
fn hostile_orgs(n: usize) -> Vec<String> {
    let mut ids: Vec<String> = [
        "a\"b",
        "c\\d",
        "e{f",
        "g}h",
        "i=j",
        "ünïcødé-€-😀",
        "{\"org\":1}",
        "k\\\"l",
        "m,n",
        "z\\n",
        "\"\"",
        "trailing\\",
        "}{=\",\\",
    ]
    .iter()
    .map(|x| (*x).to_owned())
    .collect();
    ids.extend((0..n).map(|i| format!("org-{i}\"\\{{}}=ß")));
    ids
}

fn hostile_log(ids: &[String]) -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2026-03-04T08:00:00Z").unwrap();
    let mut out = String::with_capacity(ids.len() * 120);
    for (i, id) in ids.iter().enumerate() {
        let t = (base + chrono::Duration::milliseconds(i as i64 * 100))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        out += &line(
            &t,
            "INFO",
            "GATEWAY_ALLOC",
            &format!("Allocated gw-pool-1 (port 7101, upstream x:1) to org {id}"),
        );
    }
    out
}

/// What the gateways' own logs add to the exposition equals the simulator's truth, and nothing
/// of it is exported as 0 when those logs are not read.
#[test]
fn gateway_side_figures_are_exported_only_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let (log, gw) = (dir.path().join("svc.log"), dir.path().join("gw"));
    let truth_path = dir.path().join("truth.json");
    ok(
        &run(
            &[
                "simulate",
                "--seed",
                "3",
                "--hours",
                "48",
                "--pool-size",
                "8",
                "--out",
                s(&log),
                "--truth",
                s(&truth_path),
                "--gateway-logs",
                s(&gw),
            ],
            None,
        ),
        "gwmon simulate",
    );
    let truth: Value = serde_json::from_slice(&std::fs::read(&truth_path).unwrap()).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&gw)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    let mut args = vec!["report", "--prometheus", "--pool-size", "8", s(&log)];
    args.extend(files.iter().map(String::as_str));
    let text = ok(&run(&args, None), "gwmon report --prometheus");
    if let Some(promtool) = tool(&["promtool"]) {
        promtool_check_metrics(&promtool, &text, "the report with gateway logs");
    }
    let samples = parse_exposition(&text, false);
    let get = |name: &str, key: &str, val: &str| {
        samples
            .iter()
            .find(|x| x.name == name && label(x, key) == Some(val))
            .map(|x| x.value)
    };
    let g = &truth["gateways"];
    for outcome in ["started", "health_check", "init", "other"] {
        assert_eq!(
            get("gwmon_gateway_recycling_handouts_total", "outcome", outcome),
            g["recycling_handout_outcomes"][outcome].as_f64(),
            "{outcome}"
        );
    }
    let count = sample_value(&text, "gwmon_gateway_restart_duration_seconds_count");
    assert_eq!(count, g["restart_s"]["count"].as_f64());
    let inf = get(
        "gwmon_gateway_restart_duration_seconds_bucket",
        "le",
        "+Inf",
    );
    assert_eq!(inf, count);
    let sum = sample_value(&text, "gwmon_gateway_restart_duration_seconds_sum").unwrap();
    let mean = g["restart_s"]["mean"].as_f64().unwrap();
    assert!(
        (sum - mean * count.unwrap()).abs() < 1e-6 * sum,
        "{sum} vs {mean}"
    );
    for row in g["by_gateway"].as_array().unwrap() {
        let name = row["gateway"].as_str().unwrap();
        assert_eq!(
            get("gwmon_pool_member_allocations_total", "gateway", name),
            row["allocations"].as_f64(),
            "{name}"
        );
        let hc = samples
            .iter()
            .find(|x| {
                x.name == "gwmon_pool_member_allocation_failures_total"
                    && label(x, "gateway") == Some(name)
                    && label(x, "reason") == Some("health_check")
            })
            .map(|x| x.value);
        assert_eq!(hc, row["failures"]["health_check"].as_f64(), "{name}");
    }
    assert_eq!(
        sample_value(&text, "gwmon_pool_recycling_gateways"),
        truth["pool"]["recycling"].as_f64()
    );

    let text = ok(
        &run(
            &["report", "--prometheus", "--pool-size", "8", s(&log)],
            None,
        ),
        "gwmon report --prometheus without gateway logs",
    );
    for absent in [
        "gwmon_pool_recycling_gateways",
        "gwmon_gateway_recycling_handouts_total",
        "gwmon_gateway_restart_duration_seconds",
    ] {
        assert!(!text.contains(absent), "{absent} without gateway logs");
    }
    assert!(text.contains("gwmon_pool_member_allocations_total{gateway=\"gw-pool-1\"}"));
}

// ---- a. The exposition passes promtool check metrics and parses as OpenMetrics ----------------

#[test]
fn exposition_passes_promtool_and_openmetrics_with_hostile_org_ids() {
    let Some(promtool) = tool(&["promtool"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (sim, truth) = simulate(dir.path(), "24");
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
    promtool_check_metrics(&promtool, &text, "the simulated log's report");
    let samples = parse_exposition(&text, false);
    let orgs = samples
        .iter()
        .filter(|x| x.name == "gwmon_org_allocations_total")
        .count();
    assert_eq!(orgs as u64, truth["orgs"]["distinct"].as_u64().unwrap());

    // 10 000 hostile organization ids, and a few more folded into the gwmon_orgs_folded_*
    // families (--max-orgs).
    let ids = hostile_orgs(10_000);
    let hostile = dir.path().join("hostile.log");
    std::fs::write(&hostile, hostile_log(&ids)).unwrap();
    let text = ok(
        &run(
            &["report", "--prometheus", "--org-metrics", s(&hostile)],
            None,
        ),
        "gwmon report --prometheus (hostile orgs)",
    );
    promtool_check_metrics(&promtool, &text, "the hostile log's report");
    let samples = parse_exposition(&text, false);
    let exported: Vec<&str> = samples
        .iter()
        .filter(|x| x.name == "gwmon_org_allocations_total")
        .map(|x| label(x, "org").unwrap())
        .collect();
    // The first 10 000 organizations one by one, their ids unchanged after escaping and parsing.
    let tracked: BTreeSet<&str> = ids[..10_000].iter().map(String::as_str).collect();
    let got: BTreeSet<&str> = exported.iter().copied().collect();
    assert_eq!(got.len(), 10_000);
    assert!(got == tracked, "org label values do not round-trip");
    let other = samples
        .iter()
        .find(|x| x.name == "gwmon_orgs_folded_allocations_total")
        .expect("gwmon_orgs_folded_allocations_total for the organizations beyond --max-orgs");
    assert_eq!(other.value, (ids.len() - 10_000) as f64);

    // OpenMetrics from the endpoint, the same figures as its text format.
    let (mut watch, addr) = start_watch(&["--from-start", "--org-metrics", s(&hostile)]);
    let text = caught_up(&addr, ids.len() as u64);
    promtool_check_metrics(&promtool, &text, "the /metrics text format");
    let (code, ctype, om) = get_with_accept(
        &addr,
        "/metrics",
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    )
    .expect("GET /metrics (OpenMetrics)");
    assert_eq!(code, 200);
    assert!(
        ctype.starts_with("application/openmetrics-text; version=1.0.0"),
        "{ctype}"
    );
    let om_samples = parse_exposition(&om, true);
    let counters = |v: &[Sample]| -> BTreeMap<String, f64> {
        // (process_* measure the process at each rendering.)
        v.iter()
            .filter(|x| !x.name.starts_with("process_"))
            .filter(|x| {
                ["_total", "_bucket", "_count", "_sum"]
                    .iter()
                    .any(|sfx| x.name.ends_with(sfx))
            })
            .map(|x| (format!("{}{:?}", x.name, x.labels), x.value))
            .collect()
    };
    let text_counters = counters(&parse_exposition(&text, false));
    assert!(text_counters.len() > 30_000);
    assert!(
        counters(&om_samples) == text_counters,
        "OpenMetrics and text format disagree"
    );
    sigterm(&watch.0);
    assert!(wait_exit(&mut watch.0, 10).success());
}

/// OpenMetrics `# HELP` text is an escaped-string (its ABNF): a double quote, a backslash or a
/// newline only as `\"`, `\\`, `\n`. The text format 0.0.4 only escapes backslash and newline.
fn help_problems(text: &str, om: bool) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let help = l
                .strip_prefix("# HELP ")?
                .split_once(' ')
                .map_or("", |x| x.1);
            let mut chars = help.chars();
            while let Some(c) = chars.next() {
                let bad = match c {
                    '\\' => match chars.next() {
                        Some('\\' | 'n') => false,
                        Some('"') => !om,
                        _ => true,
                    },
                    '"' => om,
                    _ => false,
                };
                if bad {
                    return Some(l.to_owned());
                }
            }
            None
        })
        .collect()
}

#[test]
fn openmetrics_help_text_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, alloc_cycle(ORG_A, 1, 0, 5)).unwrap();
    let (mut watch, addr) = start_watch(&["--from-start", "--org-metrics", s(&log)]);
    let text = caught_up(&addr, line_count(&log));
    let (_, _, om) = get_with_accept(&addr, "/metrics", "application/openmetrics-text").unwrap();
    sigterm(&watch.0);
    assert!(wait_exit(&mut watch.0, 10).success());
    assert!(
        help_problems(&text, false).is_empty(),
        "{:?}",
        help_problems(&text, false)
    );
    let bad = help_problems(&om, true);
    assert!(
        bad.is_empty(),
        "OpenMetrics HELP lines with an unescaped \" or \\ (escape them as \\\" and \\\\):\n{}",
        bad.join("\n")
    );
}

// ---- b. A real Prometheus scrapes gwmon watch ---------------------------------------------------

pub fn urlencode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An instant query: `Err` with Prometheus' error, else the result vector.
pub fn prom_query(addr: &str, q: &str) -> Result<Vec<Value>, String> {
    let (_, body) = http_get(addr, &format!("/api/v1/query?query={}", urlencode(q)))
        .ok_or("no answer from Prometheus")?;
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    if v["status"] != "success" {
        return Err(format!("{q}: {}", v["error"]));
    }
    match &v["data"]["result"] {
        Value::Array(a) => Ok(a.clone()),
        other => Ok(vec![other.clone()]),
    }
}

/// `metric label → value` of a query's result (label "" when `by` is None).
pub fn prom_values(addr: &str, q: &str, by: Option<&str>) -> BTreeMap<String, f64> {
    prom_query(addr, q)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            let key = by.map_or(String::new(), |b| {
                r["metric"][b].as_str().unwrap_or("").to_owned()
            });
            let v = r["value"][1].as_str()?.parse().ok()?;
            Some((key, v))
        })
        .collect()
}

/// Every PromQL expression of the dashboard (panels, variables, annotations), with Grafana's
/// variables replaced by something Prometheus can run.
#[test]
fn real_prometheus_scrapes_watch_and_sees_the_truth() {
    let Some(prometheus) = tool(&["prometheus"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (sim, truth) = simulate(dir.path(), "24");
    let (mut watch, target) =
        start_watch(&["--from-start", "--pool-size", "8", "--org-metrics", s(&sim)]);
    // A second gwmon with hostile organization ids: Prometheus' own parser must get them back.
    let ids = hostile_orgs(200);
    let hostile = dir.path().join("hostile.log");
    std::fs::write(&hostile, hostile_log(&ids)).unwrap();
    let (mut watch2, target2) = start_watch(&["--from-start", "--org-metrics", s(&hostile)]);
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: gwmon\n    static_configs:\n      - targets: ['{target}']\n\
             \x20 - job_name: hostile\n    static_configs:\n      - targets: ['{target2}']\n",
            s(&contrib("prometheus/gwmon.rules.yml"))
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("prometheus.out")).unwrap();
    let _prom = Proc(
        Command::new(prometheus)
            .arg(format!("--config.file={}", s(&cfg)))
            .arg(format!(
                "--storage.tsdb.path={}",
                s(&dir.path().join("data"))
            ))
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

    let a = &truth["allocations"];
    let n = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("truth: {v}")) as f64;
    let durations = n(&truth["durations_s"]["count"]);
    let want: Vec<(&str, f64)> = vec![
        (
            "gwmon_gateway_allocations_total{job='gwmon'}",
            n(&a["allocated"]),
        ),
        (
            "gwmon_gateway_allocation_attempts_total{job='gwmon'}",
            n(&a["attempts"]),
        ),
        (
            "gwmon_gateway_deallocations_total{job='gwmon'}",
            n(&a["deallocated"]),
        ),
        (
            "gwmon_gateway_rollbacks_total{job='gwmon'}",
            n(&a["rollbacks"]),
        ),
        (
            "gwmon_gateway_allocation_duration_seconds_count{job='gwmon'}",
            durations,
        ),
        (
            "gwmon_gateway_allocation_duration_seconds_bucket{job='gwmon',le='+Inf'}",
            durations,
        ),
        ("gwmon_pool_gateways{job='gwmon'}", 8.0),
        (
            "gwmon_pool_allocated_gateways{job='gwmon'}",
            n(&truth["pool"]["allocated"]),
        ),
        (
            "count(gwmon_org_allocations_total{job='gwmon'})",
            n(&truth["orgs"]["distinct"]),
        ),
        ("up{job='gwmon'}", 1.0),
        ("up{job='hostile'}", 1.0),
        (
            "count(gwmon_org_allocations_total{job='hostile'})",
            ids.len() as f64,
        ),
    ];
    let reasons: BTreeMap<String, f64> = a["failures_by_reason"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), n(v)))
        .collect();
    assert_eq!(reasons.len(), 4);

    let all_equal = || {
        let mut diff = Vec::new();
        for (q, w) in &want {
            let got: Vec<f64> = prom_values(&addr, q, Some("instance"))
                .into_values()
                .collect();
            if got != [*w] {
                diff.push(format!("{q}: got {got:?}, want {w}"));
            }
        }
        let got = prom_values(
            &addr,
            "gwmon_gateway_allocation_failures_total{job='gwmon'}",
            Some("reason"),
        );
        if got != reasons {
            diff.push(format!("failures by reason: got {got:?}, want {reasons:?}"));
        }
        diff
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let diff = all_equal();
        if diff.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            let targets = http_get(&addr, "/api/v1/targets").map(|x| x.1);
            let plog = std::fs::read_to_string(dir.path().join("prometheus.out")).unwrap();
            panic!(
                "Prometheus never saw the truth:\n{}\ntargets: {targets:?}\nprometheus log:\n{plog}",
                diff.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // The scrapes (OpenMetrics: Prometheus asks for it first) had no error.
    let (_, targets) = http_get(&addr, "/api/v1/targets").unwrap();
    let targets: Value = serde_json::from_str(&targets).unwrap();
    for t in targets["data"]["activeTargets"].as_array().unwrap() {
        assert_eq!(t["health"], "up", "{t}");
        assert_eq!(t["lastError"], "", "{t}");
    }
    // The hostile organization ids, as Prometheus parsed them: exactly the ids in the log.
    let got: BTreeSet<String> = prom_values(
        &addr,
        "gwmon_org_allocations_total{job=\"hostile\"}",
        Some("org"),
    )
    .into_keys()
    .collect();
    let want_ids: BTreeSet<String> = ids.iter().cloned().collect();
    assert!(
        got == want_ids,
        "org ids changed through Prometheus: {:?}",
        got.symmetric_difference(&want_ids).collect::<Vec<_>>()
    );
    // The histogram is usable for quantiles.
    let q = prom_values(
        &addr,
        "histogram_quantile(0.5, gwmon_gateway_allocation_duration_seconds_bucket{job='gwmon'})",
        None,
    );
    let p50 = q[""];
    assert!(p50 > 0.0 && p50.is_finite(), "p50 {p50}");

    // The rules file loads, and every dashboard expression is valid PromQL.
    let (_, rules) = http_get(&addr, "/api/v1/rules").unwrap();
    let rules: Value = serde_json::from_str(&rules).unwrap();
    let group = &rules["data"]["groups"][0];
    assert_eq!(group["name"], "gwmon", "{rules}");
    for r in group["rules"].as_array().unwrap() {
        assert_ne!(r["health"], "err", "{r}");
    }
    for e in dashboard_exprs(&load_dashboard()) {
        let q = grafana_to_promql(&e);
        if let Err(err) = prom_query(&addr, &q) {
            panic!("dashboard expression {e:?} does not run: {err}");
        }
    }
    // Panels that must show data at once over the simulated day.
    for q in [
        "sum(gwmon_pool_available_gateways) / sum(gwmon_pool_gateways)",
        "max by (rule) (gwmon_alert_state)",
        "sum by (le) (gwmon_gateway_allocation_duration_seconds_bucket)",
    ] {
        assert!(
            !prom_query(&addr, q).unwrap().is_empty(),
            "{q}: no data from Prometheus"
        );
    }
    sigterm(&watch.0);
    sigterm(&watch2.0);
    assert!(wait_exit(&mut watch.0, 10).success());
    assert!(wait_exit(&mut watch2.0, 10).success());
}

// ---- d. node_exporter exposes the textfile ---------------------------------------------------------

#[test]
fn node_exporter_exposes_the_textfile() {
    let Some(node_exporter) = tool(&["prometheus-node-exporter", "node_exporter"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (sim, truth) = simulate(dir.path(), "24");
    let textdir = dir.path().join("textfile");
    std::fs::create_dir(&textdir).unwrap();
    let prom = textdir.join("gwmon.prom");
    let mut watch = Proc(
        gwmon()
            .args(["watch", "--quiet", "--from-start", "--pool-size", "8"])
            .args(["--textfile", s(&prom)])
            .arg(&sim)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(20, "the textfile", || prom.exists().then_some(()));
    sigterm(&watch.0);
    assert!(wait_exit(&mut watch.0, 10).success());
    // Written atomically: only the .prom file is left.
    let names: Vec<String> = std::fs::read_dir(&textdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["gwmon.prom"]);
    let text = std::fs::read_to_string(&prom).unwrap();
    parse_exposition(&text, false);
    assert_eq!(
        sample_value(&text, "gwmon_lines_read_total"),
        Some(line_count(&sim) as f64),
        "the final textfile holds the whole log"
    );

    let addr = format!("127.0.0.1:{}", free_port());
    let _ne = Proc(
        Command::new(node_exporter)
            .args(["--collector.disable-defaults", "--collector.textfile"])
            .arg(format!("--collector.textfile.directory={}", s(&textdir)))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let body = wait_for(20, "node_exporter /metrics", || {
        http_get(&addr, "/metrics")
            .filter(|(c, _)| *c == 200)
            .map(|x| x.1)
    });
    assert_eq!(
        sample_value(&body, "node_textfile_scrape_error"),
        Some(0.0),
        "node_exporter could not read gwmon's textfile:\n{body}"
    );
    let a = &truth["allocations"];
    for (name, want) in [
        ("gwmon_gateway_allocations_total", &a["allocated"]),
        ("gwmon_gateway_deallocations_total", &a["deallocated"]),
        (
            "gwmon_gateway_allocation_duration_seconds_count",
            &truth["durations_s"]["count"],
        ),
        ("gwmon_pool_allocated_gateways", &truth["pool"]["allocated"]),
    ] {
        assert_eq!(
            sample_value(&body, name),
            want.as_u64().map(|v| v as f64),
            "{name} through node_exporter"
        );
    }
    let by_reason = a["failures_by_reason"].as_object().unwrap();
    for (reason, want) in by_reason {
        let l = format!("gwmon_gateway_allocation_failures_total{{reason=\"{reason}\"}} ");
        let got = body
            .lines()
            .find_map(|x| x.strip_prefix(&l))
            .and_then(|v| v.parse::<f64>().ok());
        assert_eq!(got, want.as_u64().map(|v| v as f64), "{reason}");
    }
}
