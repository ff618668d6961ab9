//! The README recipes that need more than running their commands: each takes its commands and
//! configuration files from README.md and runs them with the real programs on loopback —
//! logrotate rotating a file gwmon follows, rsyslog forwarding gwmon's events to a second
//! rsyslog, Prometheus scraping one and several gwmon instances.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{Sandbox, block, blocks, planned, run_in, sandbox};
use crate::common::*;
use crate::prometheus::{prom_query, prom_values, sample_value};

/// Start a README command (rewritten) in the sandbox, killed when dropped.
pub fn spawn_cmd(sb: &Sandbox, c: &str) -> Proc {
    let c = c.trim().trim_end_matches('&').trim();
    let c = c.strip_prefix("nohup ").unwrap_or(c);
    let out = std::fs::File::create(sb.path("spawned.err")).unwrap();
    Proc(
        Command::new("bash")
            .arg("-c")
            .arg(format!("exec {c}"))
            .current_dir(sb.root())
            .env(
                "PATH",
                format!("{}:{}", s(&sb.path("bin")), std::env::var("PATH").unwrap()),
            )
            .env("HOME", sb.path("home"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(out)
            // (Its own group, killed whole when dropped: `flock … gwmon` runs gwmon as a child.)
            .process_group(0)
            .spawn()
            .unwrap(),
    )
}

/// A sample of gwmon's /metrics at `port` (None while it does not answer).
fn metric(port: u16, name: &str) -> Option<f64> {
    let (code, body) = http_get(&format!("127.0.0.1:{port}"), "/metrics")?;
    (code == 200).then(|| sample_value(&body, name)).flatten()
}

/// `gwmon report --prometheus` over `files`: the value of `name`.
fn report_metric(files: &[&Path], name: &str) -> f64 {
    let mut args = vec!["report", "--prometheus"];
    args.extend(files.iter().map(|p| s(p)));
    let text = ok(&run(&args, None), "gwmon report --prometheus");
    sample_value(&text, name).unwrap()
}

fn append(p: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The README's logrotate configuration, installed by its commands, run by the real logrotate
/// while the README's `gwmon watch` follows the file: every line before, during and after the
/// rotation is read once, none lost.
#[test]
fn logrotate_recipe_follows_rotations() {
    let Some(logrotate) = tool(&["logrotate"]) else {
        return;
    };
    let sb = sandbox();
    let conf = block("README.md", "/var/log/ganymede.log {");
    assert_eq!(conf.lang, "conf");
    std::fs::write(sb.path("ganymede.logrotate"), sb.rewrite(&conf.text)).unwrap();
    let b = block("README.md", "install -D -m 644 ganymede.logrotate");
    let cmds = planned(&sb, &b, &[]);
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    run_in(&sb, &cmds[..1]);
    let log = sb.path("var/log/ganymede.log");
    let before = report_metric(&[&log], "gwmon_events_total");
    let port = sb.port(9464);
    let _watch = spawn_cmd(&sb, &cmds[1].0);
    wait_for(30, "watch read the file", || {
        metric(port, "gwmon_events_total").filter(|v| *v == before)
    });
    let cycle = |m| alloc_cycle(ORG_A, 3, m, 1);
    let one = sb.path("one-cycle.log");
    std::fs::write(&one, cycle(960)).unwrap();
    let per_cycle = report_metric(&[&one], "gwmon_events_total");
    assert!(per_cycle >= 4.0);

    append(&log, &cycle(960));
    let state = sb.path("logrotate.state");
    let out = Command::new(logrotate)
        .arg("-f")
        .arg("-s")
        .arg(&state)
        .arg(sb.path("etc/logrotate.d/ganymede"))
        .output()
        .unwrap();
    ok(&out, "logrotate -f");
    assert_eq!(
        std::fs::metadata(&log).unwrap().len(),
        0,
        "copytruncate empties the file"
    );
    assert!(sb.path("var/log/ganymede.log.1").is_file());
    assert!(sb.path("var/log/ganymede.log.2.gz").is_file());
    append(&log, &cycle(970));
    let want = before + 2.0 * per_cycle;
    wait_for(30, "watch read across the rotation", || {
        metric(port, "gwmon_events_total").filter(|v| *v == want)
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(metric(port, "gwmon_events_total"), Some(want), "read twice");
    assert_eq!(metric(port, "gwmon_follow_lost_total"), Some(0.0));
}

/// The README's rsyslog file, in a real rsyslogd, forwards what the README's `gwmon events
/// --follow` writes to a second rsyslogd on loopback TCP (the central collector): every event
/// arrives, in order, the history and the new ones.
#[test]
fn rsyslog_forwards_every_event_to_a_central_rsyslog() {
    let Some(rsyslogd) = tool(&["rsyslogd"]) else {
        return;
    };
    let sb = sandbox();
    let b = block("README.md", "mkdir -p /var/log/gwmon");
    let cmds = planned(&sb, &b, &[]);
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    run_in(&sb, &cmds[..1]);
    let log = sb.path("var/log/ganymede.log");
    let history = ok(&run(&["events", s(&log)], None), "gwmon events")
        .lines()
        .count();
    let events = sb.path("var/log/gwmon/events.jsonl");
    let _events = spawn_cmd(&sb, &cmds[1].0);
    let count = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    wait_for(30, "gwmon events wrote the history", || {
        (count(&events) == history).then_some(())
    });

    // The central collector: imtcp on a free loopback port, each message on a line.
    let port = free_port();
    let central = sb.path("central");
    std::fs::create_dir_all(central.join("work")).unwrap();
    let received = central.join("received.log");
    let central_conf = central.join("rsyslog.conf");
    std::fs::write(
        &central_conf,
        format!(
            "global(workDirectory=\"{w}\" maxMessageSize=\"64k\")\n\
             module(load=\"imtcp\")\n\
             input(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\")\n\
             template(name=\"msg\" type=\"string\" string=\"%msg%\\n\")\n\
             action(type=\"omfile\" file=\"{r}\" template=\"msg\")\n",
            w = s(&central.join("work")),
            r = s(&received),
        ),
    )
    .unwrap();
    let rsyslog = |conf: &Path, name: &str| {
        let err = std::fs::File::create(sb.path(&format!("{name}.err"))).unwrap();
        Proc(
            Command::new(&rsyslogd)
                .arg("-n")
                .arg("-f")
                .arg(conf)
                .arg("-i")
                .arg(sb.path(&format!("{name}.pid")))
                .stdin(Stdio::null())
                .stdout(err.try_clone().unwrap())
                .stderr(err)
                .spawn()
                .unwrap(),
        )
    };
    let _central = rsyslog(&central_conf, "central");
    wait_for(20, "the central rsyslogd listening", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });

    // The README's file, forwarding to it (Debian's rsyslog.conf sets the work directory the
    // disk-assisted queue needs, and the message size the README tells to raise).
    let readme_conf = block("README.md", "module(load=\"imfile\")");
    let conf_text = sb
        .rewrite(&readme_conf.text)
        .replace("Target=\"logs.example.com\"", "Target=\"127.0.0.1\"")
        .replace("Port=\"514\"", &format!("Port=\"{port}\""));
    assert!(
        conf_text.contains(&format!("Port=\"{port}\"")),
        "{conf_text}"
    );
    let local = sb.path("local");
    std::fs::create_dir_all(local.join("work")).unwrap();
    let local_conf = local.join("rsyslog.conf");
    std::fs::write(
        &local_conf,
        format!(
            "global(workDirectory=\"{}\" maxMessageSize=\"64k\")\n{conf_text}",
            s(&local.join("work"))
        ),
    )
    .unwrap();
    let _local = rsyslog(&local_conf, "local");

    // New events while everything runs.
    append(&log, &alloc_cycle(ORG_B, 5, 24 * 60 + 10, 2));
    let lines = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().to_owned())
            .collect()
    };
    wait_for(60, "every event at the central rsyslog", || {
        let sent = lines(&events);
        (sent.len() > history && lines(&received) == sent).then_some(())
    });
    let got = lines(&received);
    assert!(
        got.iter().all(|l| l.starts_with("{\"event\":")),
        "{:?}",
        &got[..3]
    );
    assert!(got.iter().any(|l| l.contains("\"event\":\"pool_status\"")));
    assert!(
        got.iter().any(|l| l.contains(ORG_B)),
        "the new events arrived"
    );
}

/// Start Prometheus on `config`, with the scrape and evaluation intervals made 1 s; its
/// address.
fn start_prometheus(sb: &Sandbox, name: &str, config: &str) -> (Proc, String) {
    let prometheus = tool(&["prometheus"]).unwrap();
    let dir = sb.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = sb.path(&format!("etc/prometheus/{name}.yml"));
    let fast = config.replace("scrape_interval: 15s", "scrape_interval: 1s");
    std::fs::write(
        &cfg,
        format!("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{fast}"),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.join("out")).unwrap();
    let p = Proc(
        Command::new(prometheus)
            .arg(format!("--config.file={}", s(&cfg)))
            .arg(format!("--storage.tsdb.path={}", s(&dir.join("data"))))
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

fn watch_on(sb: &Sandbox, port: u16, extra: &str) -> Proc {
    spawn_cmd(
        sb,
        &format!("gwmon watch --from-start --quiet --listen 127.0.0.1:{port} {extra}"),
    )
}

/// The README's Prometheus recipe: its commands (rules installed, `promtool check config` of its
/// scrape configuration, `promtool test rules`) and the real Prometheus scraping a real gwmon
/// with it; then the several-sites configuration scraping two gwmon instances, and its PromQL.
#[test]
fn prometheus_recipes_scrape_one_and_several_sites() {
    if tool(&["prometheus"]).is_none() || tool(&["promtool"]).is_none() {
        return;
    }
    let sb = sandbox();
    let single = block("README.md", "rule_files:");
    std::fs::write(
        sb.path("etc/prometheus/prometheus.yml"),
        sb.rewrite(&single.text),
    )
    .unwrap();
    let b = block(
        "README.md",
        "install -D -m 644 contrib/prometheus/gwmon.rules.yml",
    );
    run_in(&sb, &planned(&sb, &b, &[super::PROMTOOL_TEST]));

    let paris = sb.port(9464);
    let _w1 = watch_on(&sb, paris, "--pool-size 8 /var/log/ganymede.log");
    let lyon_log = sb.path("lyon.log");
    ok(
        &run(
            &[
                "simulate",
                "--seed",
                "2",
                "--hours",
                "12",
                "--pool-size",
                "4",
                "--out",
                s(&lyon_log),
            ],
            None,
        ),
        "gwmon simulate",
    );
    let lyon = free_port();
    let _w2 = watch_on(&sb, lyon, &format!("--pool-size 4 {}", s(&lyon_log)));
    for p in [paris, lyon] {
        wait_for(30, "gwmon watch serving", || {
            metric(p, "gwmon_pool_gateways")
        });
    }
    let (_p1, one) = start_prometheus(&sb, "single", &sb.rewrite(&single.text));
    wait_for(40, "Prometheus scraped gwmon with the site label", || {
        prom_values(&one, "gwmon_pool_gateways{site=\"paris\"}", None)
            .get("")
            .filter(|v| **v == 8.0)
            .copied()
    });
    // The recording rules of the rules file the recipe installed are loaded.
    let (_, rules) = http_get(&one, "/api/v1/rules").unwrap();
    assert!(
        rules.contains("instance:gwmon_gateway_allocations:increase1h"),
        "{rules}"
    );

    let several = block("README.md", "scrape_configs:");
    let cfg = several
        .text
        .replace("gw-paris.example.com:9464", &format!("127.0.0.1:{paris}"))
        .replace("gw-lyon.example.com:9464", &format!("127.0.0.1:{lyon}"));
    let (_p2, all) = start_prometheus(&sb, "several", &cfg);
    let per_site = wait_for(40, "both sites scraped", || {
        let v = prom_values(&all, "gwmon_pool_gateways", Some("site"));
        (v.len() == 2).then_some(v)
    });
    assert_eq!(per_site["paris"], 8.0);
    assert_eq!(per_site["lyon"], 4.0);
    // The recipe's PromQL: each runs; the per-site and all-sites figures are gwmon's.
    let promql: Vec<String> = blocks("README.md")
        .into_iter()
        .filter(|b| b.lang == "promql")
        .flat_map(|b| {
            b.text
                .lines()
                .map(|l| l.split('#').next().unwrap().trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(promql.len(), 3, "{promql:?}");
    for q in &promql {
        prom_query(&all, q).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    let available = prom_values(&all, &promql[0], Some("site"));
    assert_eq!(
        available.get("paris").copied(),
        metric(paris, "gwmon_pool_available_gateways")
    );
    assert_eq!(
        available.get("lyon").copied(),
        metric(lyon, "gwmon_pool_available_gateways")
    );
    let ratio = prom_values(&all, &promql[1], None)[""];
    let allocated = metric(paris, "gwmon_pool_allocated_gateways").unwrap()
        + metric(lyon, "gwmon_pool_allocated_gateways").unwrap();
    assert!(
        (ratio - allocated / 12.0).abs() < 1e-9,
        "{ratio} vs {allocated}/12"
    );
}

/// The README's textfile variant of the cron recipe: `flock` keeps one `gwmon watch --textfile`
/// running (a second start gives up at once), and the real node_exporter's textfile collector
/// serves its metrics.
#[test]
fn textfile_recipe_feeds_node_exporter() {
    let (Some(node_exporter), Some(_)) = (
        tool(&["prometheus-node-exporter", "node_exporter"]),
        tool(&["flock"]),
    ) else {
        return;
    };
    let sb = sandbox();
    std::fs::create_dir_all(sb.path("var/lib/gwmon")).unwrap();
    let b = block("README.md", "flock -n /var/lib/gwmon/watch.lock");
    let cmds = planned(&sb, &b, &[]);
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    let log = sb.path("var/log/ganymede.log");
    let want = report_metric(&[&log], "gwmon_events_total");
    let textfile = sb.path("var/lib/prometheus/node-exporter/gwmon.prom");
    let _watch = spawn_cmd(&sb, &cmds[0].0);
    wait_for(30, "the textfile written", || {
        let t = std::fs::read_to_string(&textfile).ok()?;
        (sample_value(&t, "gwmon_events_total") == Some(want)).then_some(())
    });
    // cron starting it again while it runs: flock -n gives up, the first one goes on.
    let again = Command::new("bash")
        .arg("-c")
        .arg(cmds[0].0.trim().trim_end_matches('&'))
        .env(
            "PATH",
            format!("{}:{}", s(&sb.path("bin")), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(1),
        "a second instance must not start"
    );

    let addr = format!("127.0.0.1:{}", free_port());
    let err = std::fs::File::create(sb.path("node_exporter.err")).unwrap();
    let _ne = Proc(
        Command::new(node_exporter)
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!(
                "--collector.textfile.directory={}",
                s(textfile.parent().unwrap())
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(err.try_clone().unwrap())
            .stderr(err)
            .spawn()
            .unwrap(),
    );
    let body = wait_for(30, "node_exporter serving gwmon's metrics", || {
        let (code, body) = http_get(&addr, "/metrics")?;
        (code == 200 && body.contains("gwmon_events_total")).then_some(body)
    });
    assert_eq!(sample_value(&body, "gwmon_events_total"), Some(want));
    assert_eq!(
        sample_value(&body, "node_textfile_scrape_error"),
        Some(0.0),
        "node_exporter could not read the textfile:\n{body}"
    );
}
