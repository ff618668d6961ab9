//! The commands: each takes its resolved [`crate::settings`] and wires the stages it
//! needs. Commands never import each other; what two share is a stage (`pipeline`).

mod alerts;
mod backfill;
mod check;
mod config;
mod events;
mod generate;
mod report;
mod top;
mod watch;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use check::fuzz_state;

use crate::exit::{Exit, PluginState};
use crate::settings::{self, Mode};
use crate::term::escape;

/// Run a parsed command line to its end: resolve it, run the command, and tell an error the
/// way the command speaks (`gwmon: …` and 2, or `GWMON UNKNOWN - …` and 3 for `check`).
pub fn run(cli: crate::cli::Cli) -> Exit {
    let plugin = matches!(cli.command, crate::cli::Command::Check(_));
    let result = settings::resolve(cli.command).and_then(dispatch);
    match result {
        Ok(exit) => exit,
        Err(e) if is_broken_pipe(&e) => {
            if plugin {
                Exit::Plugin(PluginState::Ok)
            } else {
                Exit::Success
            }
        }
        Err(e) if plugin => {
            println!("GWMON UNKNOWN - {}", escape_lines(&format!("{e:#}")));
            Exit::Plugin(PluginState::Unknown)
        }
        Err(e) => {
            eprintln!("gwmon: {}", escape_lines(&format!("{e:#}")));
            Exit::Error
        }
    }
}

/// Escape each line of a message on its own: a multi-line diagnostic (TOML's, with its
/// caret under the column) stays lines, and nothing from a log reaches the terminal raw.
fn escape_lines(msg: &str) -> String {
    msg.lines()
        .map(|l| escape(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn dispatch(mode: Mode) -> anyhow::Result<Exit> {
    match mode {
        Mode::Report(s) => report::run(s),
        Mode::Events(s) => events::run(s),
        Mode::Watch(s) => watch::run(*s),
        Mode::Alerts(s) => alerts::run(s),
        Mode::Check(s) => check::run(s),
        Mode::Backfill(s) => backfill::run(s),
        Mode::Top(s) => top::run(s),
        Mode::Config(s) => config::run(s),
        Mode::Simulate(a) => crate::simulate::run(&a).map(|()| Exit::Success),
        Mode::Generate(a) => generate::run(&a).map(|()| Exit::Success),
    }
}

/// Whether an error is a closed stdout (`gwmon report | head -1`): then end quietly.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
    })
}
