//! What the README shows besides shell blocks: the man page's EXAMPLES run in the sandbox like
//! the README's commands, the TOML blocks parse, and the `gwmon events` systemd unit is one
//! systemd accepts, whose command runs.

use super::{Block, blocks, planned, run_in, sandbox};
use crate::common::*;

/// The commands of the man page's EXAMPLES section, as a shell block.
fn man_examples() -> String {
    let roff = std::fs::read_to_string(repo().join("src/cmd/man/tail.roff")).unwrap();
    let section = roff
        .split(".SH EXAMPLES\n")
        .nth(1)
        .and_then(|s| s.split(".SH ").next())
        .unwrap();
    let body = section
        .split(".nf\n")
        .nth(1)
        .and_then(|s| s.split(".fi\n").next())
        .unwrap();
    body.replace("\\-", "-")
        .lines()
        // A crontab line: its command.
        .map(|l| match l.strip_prefix("*/5 * * * * ") {
            Some(c) => c.to_owned(),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Every command of the man page's EXAMPLES runs (after the directories the installation steps
/// create: the check's state directory and the events' log directory).
#[test]
fn man_page_examples_run() {
    if tool(&["curl"]).is_none() || tool(&["jq"]).is_none() {
        return;
    }
    let sb = sandbox();
    for d in ["var/lib/gwmon", "var/log/gwmon"] {
        std::fs::create_dir_all(sb.path(d)).unwrap();
    }
    let b = Block {
        file: "src/cmd/man/tail.roff",
        line: 0,
        lang: "sh".into(),
        text: man_examples(),
    };
    let cmds = planned(&sb, &b, &[]);
    assert!(cmds.len() >= 8, "{cmds:?}");
    run_in(&sb, &cmds);
    assert!(sb.path("report.html").is_file());
}

/// The README's TOML (Vector's configuration) parses.
#[test]
fn toml_blocks_parse() {
    let tomls: Vec<Block> = blocks("README.md")
        .into_iter()
        .filter(|b| b.lang == "toml")
        .collect();
    assert!(!tomls.is_empty());
    for b in tomls {
        let v: toml::Table =
            toml::from_str(&b.text).unwrap_or_else(|e| panic!("README.md:{}: {e}", b.line));
        assert!(
            v.contains_key("sources") && v.contains_key("sinks"),
            "{v:?}"
        );
    }
}

/// The README's unit for `gwmon events --follow`: systemd-analyze accepts it (when installed),
/// and its ExecStart runs.
#[test]
fn events_unit_is_valid_and_its_command_runs() {
    let unit = blocks("README.md")
        .into_iter()
        .find(|b| b.lang == "ini" && b.text.contains("gwmon events --follow"))
        .expect("the gwmon-events unit");
    let exec = unit
        .text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap()
        .to_owned();
    let sb = sandbox();
    let cmd = exec.replace("/usr/local/bin/gwmon", "gwmon");
    let b = Block {
        file: "README.md",
        line: unit.line,
        lang: "sh".into(),
        text: format!("{cmd}\n"),
    };
    run_in(&sb, &planned(&sb, &b, &[]));

    let copy = sb.path("gwmon-events.service");
    std::fs::write(
        &copy,
        unit.text
            .replace("/usr/local/bin/gwmon", env!("CARGO_BIN_EXE_gwmon")),
    )
    .unwrap();
    crate::contrib::systemd_verify(&copy);
}
