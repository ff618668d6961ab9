//! Every shell block of README.md and contrib/README.md is run, or listed here with the reason it
//! cannot be. The blocks run in a sandbox: a temporary directory holding simulated logs where the
//! recipes expect them (`/var/log/ganymede.log` and its rotated, gzipped siblings, the gateways'
//! logs, a Docker json-file log, an OTel file exporter's file), with `/var`, `/etc`,
//! `/usr/local` and `~` moved into it, the fixed ports made free ones, and `gwmon` the binary
//! under test. Programs that cannot run here (`docker`, `journalctl`, `logcli`) are replaced by
//! stand-ins that print what those programs print, from the same simulated logs, so the gwmon
//! side of each pipe runs for real; each is listed in [`STAND_INS`] with the reason.
//!
//! A command that follows forever (`gwmon watch`, `tail -f`, `--follow`, a job put in the
//! background) runs until it has shown it works — `/metrics` answering with events when it
//! listens, its textfile written, or simply still running after a second — and is then
//! ended; `gwmon top` runs in tmux and must draw the pool. The recipes that need more (the real
//! logrotate, rsyslog, Prometheus, Alertmanager) are checked in `readme/recipes.rs`.

use crate::common::*;

mod alertmanager;
mod configs;
mod recipes;
mod sandbox;

pub use sandbox::{STAND_INS, Sandbox, planned, run_in, sandbox};

/// A fenced block of a markdown file.
#[derive(Clone, Debug)]
pub struct Block {
    pub file: &'static str,
    pub line: usize,
    pub lang: String,
    pub text: String,
}

impl Block {
    /// The first line, its runs of blanks made one space (the plans name blocks by it).
    fn first(&self) -> String {
        let l = self.text.lines().next().unwrap_or("");
        l.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// The fenced blocks of `file` (relative to the repository).
pub fn blocks(file: &'static str) -> Vec<Block> {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    let mut out = Vec::new();
    let mut open: Option<(usize, String, String)> = None;
    for (i, l) in text.lines().enumerate() {
        match (&mut open, l.strip_prefix("```")) {
            (None, Some(lang)) => open = Some((i + 1, lang.trim().to_owned(), String::new())),
            (Some(_), Some("")) => {
                let (line, lang, text) = open.take().unwrap();
                out.push(Block {
                    file,
                    line,
                    lang,
                    text,
                });
            }
            (Some((_, _, t)), _) => {
                t.push_str(l);
                t.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "{file}: a fence is not closed");
    out
}

/// The block of `file` whose first line starts with `first` (the recipes' configuration
/// files are taken from the README this way, so the test runs what the README shows).
pub fn block(file: &'static str, first: &str) -> Block {
    let found: Vec<Block> = blocks(file)
        .into_iter()
        .filter(|b| b.first().starts_with(first))
        .collect();
    assert_eq!(found.len(), 1, "{file}: blocks starting with {first:?}");
    found.into_iter().next().unwrap()
}

/// What the test does with a shell block, keyed by its file and the start of its first line.
enum Plan {
    /// Run every command; the commands starting with one of these are not run, for the reason.
    Run(&'static [(&'static str, &'static str)]),
    /// Run by a test of `readme/recipes.rs` with more checks (named here).
    Recipe(&'static str),
    /// Not run at all, for this reason.
    NotRun(&'static str),
}

const NEEDS_ROOT_USER: &str = "creates a system user and chowns to it: needs root and changes \
                               the machine; contrib::crontab_runs_valid_gwmon_commands checks the crontab's commands";
const SYSTEMD: &str = "systemctl and journalctl -u need systemd as PID 1, which a test has not; \
                       contrib::systemd_unit_runs_a_valid_gwmon_command runs the unit's ExecStart and \
                       systemd-analyze verify checks the unit";

/// `promtool test rules` takes seconds and is run by the contrib test already.
pub const PROMTOOL_TEST: (&str, &str) = (
    "promtool test rules contrib/prometheus/gwmon.rules.test.yml",
    "the same command is run by contrib::rules_pass_promtool_check_and_unit_tests",
);

const PLANS: &[(&str, &str, Plan)] = &[
    (
        "README.md",
        "cargo install --locked --path .",
        Plan::Run(&[(
            "cargo install",
            "builds the release binary (minutes): the tests run the debug build of the same source",
        )]),
    ),
    ("README.md", "gwmon man | man -l -", Plan::Run(&[])),
    (
        "README.md",
        "cargo run --release",
        Plan::NotRun(
            "cargo test is the suite running this test, and cargo run --release builds the \
             release binary (minutes); the report of the fixture is checked by simulated::*",
        ),
    ),
    (
        "README.md",
        "gwmon report /var/log/ganymede.log* # one-off",
        Plan::Run(&[]),
    ),
    (
        "README.md",
        "gwmon report ganymede.log gateways/",
        Plan::Run(&[]),
    ),
    ("README.md", "docker logs -f ganymede", Plan::Run(&[])),
    ("README.md", "ID=$(docker inspect", Plan::Run(&[])),
    ("README.md", "journalctl -f -o cat", Plan::Run(&[])),
    (
        "README.md",
        "install -D -m 644 ganymede.logrotate",
        Plan::Recipe("recipes::logrotate_recipe_follows_rotations"),
    ),
    ("README.md", "mkdir -p gateways", Plan::Run(&[])),
    (
        "README.md",
        "gwmon report /var/log/ganymede.log* # text",
        Plan::Run(&[]),
    ),
    ("README.md", "logcli query", Plan::Run(&[])),
    (
        "README.md",
        "gwmon watch --from-start --listen 127.0.0.1:9464 /var/log/otel",
        Plan::Run(&[]),
    ),
    (
        "README.md",
        "mkdir -p /var/log/gwmon",
        Plan::Recipe("recipes::rsyslog_forwards_every_event_to_a_central_rsyslog"),
    ),
    (
        "README.md",
        "useradd --system",
        Plan::NotRun(NEEDS_ROOT_USER),
    ),
    ("README.md", "mkdir -p /var/lib/gwmon", Plan::Run(&[])),
    (
        "README.md",
        "START=$(date -u +%Y-%m-%dT%H:%M:%SZ)",
        Plan::NotRun(
            "run by backfill::adopting_gwmon_on_a_running_system: the same watch, backfill and \
             promtool command lines with the test's paths, and a fresh Prometheus started on the \
             blocks in place of systemctl",
        ),
    ),
    (
        "README.md",
        "flock -n /var/lib/gwmon/watch.lock",
        Plan::Recipe("recipes::textfile_recipe_feeds_node_exporter"),
    ),
    (
        "README.md",
        "install -D -m 644 contrib/prometheus/gwmon.rules.yml",
        Plan::Recipe("recipes::prometheus_recipes_scrape_one_and_several_sites"),
    ),
    (
        "README.md",
        "jq '{dashboard: .",
        Plan::Run(&[(
            "curl -sf -u admin:admin",
            "Grafana is not packaged in Debian: no server to import into here; \
             contrib::dashboard_uses_only_exported_metrics_and_recording_rules checks the dashboard",
        )]),
    ),
    (
        "README.md",
        "install -m 644 contrib/systemd/gwmon-watch.service",
        Plan::NotRun(SYSTEMD),
    ),
    (
        "README.md",
        "gwmon alerts /var/log/ganymede.log*",
        Plan::Run(&[]),
    ),
    (
        "contrib/README.md",
        "install -m 644 contrib/systemd",
        Plan::NotRun(SYSTEMD),
    ),
    (
        "contrib/README.md",
        "useradd --system",
        Plan::NotRun(NEEDS_ROOT_USER),
    ),
    (
        "contrib/README.md",
        "promtool check config",
        Plan::Run(&[
            PROMTOOL_TEST,
            (
                "systemctl reload prometheus",
                "needs systemd and an installed Prometheus service; \
             recipes::prometheus_recipes_scrape_one_and_several_sites runs Prometheus itself",
            ),
        ]),
    ),
];

fn plan_of(b: &Block) -> Option<&'static Plan> {
    let found: Vec<&Plan> = PLANS
        .iter()
        .filter(|(f, first, _)| *f == b.file && b.first().starts_with(first))
        .map(|(_, _, p)| p)
        .collect();
    assert!(
        found.len() <= 1,
        "{}:{}: several plans match",
        b.file,
        b.line
    );
    found.first().copied()
}

fn shell_blocks() -> Vec<Block> {
    ["README.md", "contrib/README.md"]
        .into_iter()
        .flat_map(blocks)
        .filter(|b| b.lang == "sh")
        .collect()
}

/// Every shell block has a plan, and every plan a block: a new command in a README is either
/// run here or listed with the reason it cannot be.
#[test]
fn every_shell_block_is_planned() {
    let shell = shell_blocks();
    let missing: Vec<String> = shell
        .iter()
        .filter(|b| plan_of(b).is_none())
        .map(|b| format!("{}:{}: {}", b.file, b.line, b.first()))
        .collect();
    assert!(
        missing.is_empty(),
        "shell blocks with no plan in tests/integration/readme.rs:\n{}",
        missing.join("\n")
    );
    for (file, first, _) in PLANS {
        assert!(
            shell
                .iter()
                .any(|b| b.file == *file && b.first().starts_with(first)),
            "the plan for {file}: {first:?} has no block any more"
        );
    }
    for (name, why) in STAND_INS {
        eprintln!("stand-in for {name}: {why}");
    }
    let recipes =
        std::fs::read_to_string(repo().join("tests/integration/readme/recipes.rs")).unwrap();
    // The tests a reason names exist.
    let contrib = std::fs::read_to_string(repo().join("tests/integration/contrib.rs")).unwrap();
    for (file, first, plan) in PLANS {
        let reasons: Vec<&str> = match plan {
            Plan::NotRun(why) => vec![why],
            Plan::Run(skips) => skips.iter().map(|(_, w)| *w).collect(),
            Plan::Recipe(_) => vec![],
        };
        for why in reasons {
            for (module, source) in [("contrib::", &contrib), ("recipes::", &recipes)] {
                for (i, _) in why.match_indices(module) {
                    let name: String = why[i + module.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    assert!(
                        source.contains(&format!("fn {name}()")),
                        "{file}: {first}: the reason names {module}{name}, which does not exist"
                    );
                }
            }
        }
    }
    for (file, first, plan) in PLANS {
        match plan {
            Plan::NotRun(why) => eprintln!("not run: {file}: {first}: {why}"),
            Plan::Recipe(test) => {
                let name = test.strip_prefix("recipes::").unwrap();
                assert!(
                    recipes.contains(&format!("#[test]\nfn {name}()")),
                    "{file}: {first}: no test {test}"
                );
            }
            Plan::Run(_) => {}
        }
    }
}

/// The blocks planned to run, run in one sandbox, one after the other (as a reader would).
#[test]
fn every_shell_block_runs() {
    if tool(&["curl"]).is_none() || tool(&["jq"]).is_none() || tool(&["man"]).is_none() {
        return;
    }
    let sb = sandbox();
    let has_tmux = tool(&["tmux"]).is_some();
    let mut ran = 0;
    for b in shell_blocks() {
        let Some(Plan::Run(skips)) = plan_of(&b) else {
            continue;
        };
        let mut cmds = planned(&sb, &b, skips);
        if !has_tmux {
            for (c, why) in &mut cmds {
                if c.trim_start().starts_with("gwmon top") {
                    *why = Some("tmux is not installed");
                }
            }
        }
        run_in(&sb, &cmds);
        ran += cmds.iter().filter(|(_, why)| why.is_none()).count();
    }
    assert!(ran > 40, "commands run: {ran}");
    // What some of them left behind.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.path("report.json")).unwrap()).unwrap();
    assert_eq!(report["schema"], "gwmon.report/v1");
    assert!(report["allocations"]["allocated"].as_u64().unwrap() > 100);
    let html = std::fs::read_to_string(sb.path("report.html")).unwrap();
    assert!(html.contains("WHY ALLOCATIONS FAILED") || html.contains("Why allocations failed"));
    for f in [
        "home/.config/gwmon/config.toml",
        "home/.local/share/man/man1/gwmon.1",
        "home/.local/share/bash-completion/completions/gwmon",
        "home/.zfunc/_gwmon",
        "home/.config/fish/completions/gwmon.fish",
        "var/lib/gwmon/check.json",
        "import.json",
        "week.json",
        "gateways/gw-pool-8.log",
    ] {
        let len = std::fs::metadata(sb.path(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{f} was not written by the README's commands");
    }
}
