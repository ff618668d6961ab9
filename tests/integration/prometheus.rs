//! gwmon with the Prometheus ecosystem, against the real programs (Debian packages `prometheus`,
//! `prometheus-node-exporter`; each test skips when its program is missing):
//! the exposition passes `promtool check metrics` (also with hostile organization ids) and parses
//! as OpenMetrics; a real Prometheus scrapes `gwmon watch --listen` and sees the simulator's truth;
//! the rules of `contrib/prometheus` pass `promtool check rules` and their unit tests; a real
//! node_exporter exposes the `--textfile`; the Grafana dashboard only uses metrics that exist;
//! the systemd unit's and the crontab's command lines are accepted by gwmon.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn contrib(rel: &str) -> PathBuf {
    repo().join("contrib").join(rel)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[track_caller]
fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

/// `gwmon simulate` into `dir`: the log and its truth (`gwmon report --json --pool-size 8`).
fn simulate(dir: &Path, hours: &str) -> (PathBuf, Value) {
    let log = dir.join("sim.log");
    let truth = dir.join("sim.truth.json");
    let out = run(
        &[
            "simulate",
            "--seed",
            "1",
            "--hours",
            hours,
            "--pool-size",
            "8",
            "--out",
            s(&log),
            "--truth",
            s(&truth),
        ],
        None,
    );
    ok(&out, "gwmon simulate");
    let t = serde_json::from_slice(&std::fs::read(&truth).unwrap()).expect("truth JSON");
    (log, t)
}

fn line_count(p: &Path) -> u64 {
    std::fs::read(p)
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// Send SIGTERM (gwmon ends cleanly on it).
fn sigterm(child: &std::process::Child) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// Wait for a child to exit, at most `secs`.
#[track_caller]
fn wait_exit(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    wait_for(secs, "the process to exit", || child.try_wait().unwrap())
}

/// `gwmon watch ARGS --listen=127.0.0.1:0`: the process and the address it serves on.
fn start_watch(args: &[&str]) -> (Proc, String) {
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
fn get_with_accept(addr: &str, path: &str, accept: &str) -> Option<(u16, String, String)> {
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
fn sample_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Wait until `gwmon watch` at `addr` has read `lines` lines; returns that text exposition.
fn caught_up(addr: &str, lines: u64) -> String {
    wait_for(30, "gwmon watch to read the whole log", || {
        let (code, body) = http_get(addr, "/metrics")?;
        (code == 200 && sample_value(&body, "gwmon_lines_read_total")? == lines as f64)
            .then_some(body)
    })
}

/// `promtool check metrics` over `text`: must pass without a lint problem.
#[track_caller]
fn promtool_check_metrics(promtool: &Path, text: &str, what: &str) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = text.as_bytes().to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "promtool check metrics on {what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- A strict exposition parser (text format 0.0.4 and OpenMetrics 1.0) -----------------------

type Labels = Vec<(String, String)>;

#[derive(Debug)]
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
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
fn parse_exposition(text: &str, om: bool) -> Vec<Sample> {
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
        v.iter()
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

fn urlencode(q: &str) -> String {
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
fn prom_query(addr: &str, q: &str) -> Result<Vec<Value>, String> {
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
fn prom_values(addr: &str, q: &str, by: Option<&str>) -> BTreeMap<String, f64> {
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
fn dashboard_exprs(dash: &Value) -> Vec<String> {
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

fn grafana_to_promql(e: &str) -> String {
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

fn load_dashboard() -> Value {
    let text = std::fs::read_to_string(contrib("grafana/gwmon-dashboard.json")).unwrap();
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

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
    let exported: BTreeSet<String> = parse_exposition(&text, false)
        .into_iter()
        .map(|x| x.name)
        .collect();
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
    for want in ["--from-start", "/var/log/ganymede.log"] {
        assert!(args.iter().any(|a| a == want), "ExecStart lacks {want}");
    }
    for key in [
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
    // The log was read (only the log: no other argument taken for a file).
    assert!(err.contains("1 allocated"), "{err}");

    // systemd itself accepts the unit (every key known, every value valid), when it is here.
    let Some(analyze) = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
    else {
        eprintln!("skipped systemd-analyze verify: not installed");
        return;
    };
    let copy = dir.path().join("gwmon-watch.service");
    std::fs::write(&copy, unit.replace(&words[0], env!("CARGO_BIN_EXE_gwmon"))).unwrap();
    let out = Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("gwmon-watch.service"))
        .collect();
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
        .find(|(c, _, cmd)| !c && cmd.contains("gwmon check"))
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
    std::fs::write(&log, "").unwrap();
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

    // The textfile variant's gwmon command.
    let words: Vec<String> = textfile.2.split_whitespace().map(str::to_owned).collect();
    let args = gwmon_args(&words);
    assert_eq!(args[0], "watch");
    assert!(args.iter().any(|a| a == "--textfile"));
    let out = run_like(&args, dir.path(), &log);
    assert!(out.status.success(), "{out:?}");
    assert!(
        dir.path().join("gwmon.prom").is_file(),
        "the textfile is written"
    );
}
