//! `gwmon man` and `gwmon completions SHELL` (and the hidden `gwmon generate`): the man page and
//! the shell completions, from the clap model. The man page's hand-written sections (the
//! pipeline, log formats, metrics, alerts, files, environment, exit status, examples) are roff
//! files beside this one (`man/*.roff`); the integration tests check that every metric family
//! the exposition can emit is described in METRICS.

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::settings::{Artifact, Generated};

const DESCRIPTION: &str = include_str!("man/description.roff");
const FORMATS: &str = include_str!("man/formats.roff");
const METRICS: &str = include_str!("man/metrics.roff");
const ALERTS: &str = include_str!("man/alerts.roff");
const TAIL: &str = include_str!("man/tail.roff");

/// Render the man page of gwmon and its subcommands into one roff document.
pub fn man_page() -> anyhow::Result<Vec<u8>> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    out.extend_from_slice(DESCRIPTION.as_bytes());
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
    for section in [FORMATS, METRICS, ALERTS, TAIL] {
        out.extend_from_slice(section.as_bytes());
    }
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// The completion script of `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "gwmon", &mut out);
    out
}

pub fn run(a: &Generated) -> anyhow::Result<()> {
    let bytes = match a.what {
        Artifact::Man => man_page()?,
        Artifact::Completions(shell) => completions(shell),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written roff is well formed enough for man: no line a formatter would take for
    /// a request by accident, no bare hyphen of an option left unescaped.
    #[test]
    fn hand_written_sections_are_roff() {
        for (i, s) in [DESCRIPTION, FORMATS, METRICS, ALERTS, TAIL]
            .iter()
            .enumerate()
        {
            for line in s.lines() {
                assert!(!line.starts_with('\''), "section {i}: {line}");
                assert!(
                    !line.contains(" --"),
                    "section {i}: unescaped option: {line}"
                );
                assert!(
                    !line.contains("(--"),
                    "section {i}: unescaped option: {line}"
                );
                if let Some(req) = line.strip_prefix('.') {
                    let name = req.split_whitespace().next().unwrap_or("");
                    assert!(
                        ["SH", "SS", "TP", "PP", "RS", "RE", "nf", "fi"].contains(&name),
                        "section {i}: unexpected request .{name}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_visible_command_and_section_is_in_the_page() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        for s in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "\"LOG FORMATS\"",
            "METRICS",
            "ALERTS",
            "FILES",
            "ENVIRONMENT",
            "\"EXIT STATUS\"",
            "EXAMPLES",
            "\"SEE ALSO\"",
        ] {
            assert!(page.contains(&format!("\n.SH {s}\n")), "no section {s}");
        }
        for sub in Cli::command().get_subcommands() {
            let head = format!(".SH \"GWMON {}\"", sub.get_name().to_uppercase());
            assert_eq!(page.contains(&head), !sub.is_hide_set(), "{head}");
        }
    }
}
