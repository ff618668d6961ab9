//! `gwmon generate man|bash|zsh|fish`: the man page and shell completions, from the clap model.

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, Generate, GenerateArgs};

const EXIT_STATUS: &str = "\
0 success. 2 an error: a missing or unreadable file, a bad option or configuration; a read error \
in one of several inputs also gives 2 after the report. gwmon check uses the monitoring-plugin \
convention instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.";

/// Render the man page of gwmon and its subcommands into one roff document.
pub fn man_page() -> anyhow::Result<Vec<u8>> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        writeln!(out, ".SH \"GWMON {}\"", sub.get_name().to_uppercase())?;
        let sub_man = clap_mangen::Man::new(sub.clone().name(format!("gwmon {}", sub.get_name())));
        let mut body = Vec::new();
        sub_man.render_synopsis_section(&mut body)?;
        sub_man.render_description_section(&mut body)?;
        sub_man.render_options_section(&mut body)?;
        // Demote the sub-page's sections to subsections.
        let body = String::from_utf8_lossy(&body).replace(".SH ", ".SS ");
        out.extend_from_slice(body.as_bytes());
    }
    writeln!(out, ".SH \"EXIT STATUS\"\n{EXIT_STATUS}")?;
    writeln!(
        out,
        ".SH ENVIRONMENT\n.TP\nNO_COLOR\nWhen set and not empty, no colour is used."
    )?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

pub fn run(a: &GenerateArgs) -> anyhow::Result<()> {
    let bytes = match a.what {
        Generate::Man => man_page()?,
        shell => {
            let mut cmd = Cli::command();
            let mut out = Vec::new();
            let sh = match shell {
                Generate::Bash => clap_complete::Shell::Bash,
                Generate::Zsh => clap_complete::Shell::Zsh,
                _ => clap_complete::Shell::Fish,
            };
            clap_complete::generate(sh, &mut cmd, "gwmon", &mut out);
            out
        }
    };
    match &a.out {
        Some(p) => {
            std::fs::write(p, bytes).with_context(|| format!("cannot write {}", p.display()))
        }
        None => {
            std::io::stdout().write_all(&bytes)?;
            Ok(())
        }
    }
}
