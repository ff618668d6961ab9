//! The HTML report (`gwmon report --html FILE`): one self-contained page — inline CSS, inline
//! SVG charts, no script, no font, image or style fetched — rendered from the JSON report
//! ([`Report`]) alone, so the numbers in the page are the JSON report's numbers.
//!
//! Charts are hand-written SVG, not a plotting crate. plotters (default features off, only its
//! SVG backend and the area, line and histogram series) was tried on a simulated week: it adds
//! three crates and about 4 s to a clean debug build, lean enough, but its SVG of three stacked
//! pool areas came to 27 KB and of two hourly bar series to 44 KB (integer coordinates, a style
//! attribute on every element), where the charts here draw more (five pool series with the
//! exhaustion and gap lanes; three bar series) in 12 KB and 15 KB. And it cannot write what this
//! page needs: a `<title>` on each mark for hover without a script, CSS classes (the print
//! stylesheet, the narrow-screen labels), the `data-figure` attributes tying each mark to its
//! key in the JSON report, and text escaped by the one helper of this page ([`esc`]) rather
//! than by a second one of its own.
//!
//! Every number taken from the report carries `data-figure="PATH"` (the key in the JSON report,
//! `rate.per_hour.12.allocated`) and `data-value` (the value as in the JSON report), so a test
//! can check the page against the JSON. A mark standing for several figures lists them
//! space-separated, a path under the same parent as the one before it shortened to `.leaf`
//! (`pool.history.3.allocated .orphaned .total`). [`page`] writes the page and its sections, [`charts`] the time charts, [`bars`] the
//! histograms and per-gateway charts, [`svg`] the SVG primitives and scales.

use std::borrow::Cow;
use std::fmt::{Display, Write as _};
use std::io::{self, Write};

use crate::report::Report;

mod bars;
mod charts;
mod page;
mod rates;
mod svg;
mod tables;
mod timeline;

/// Escape text for HTML and SVG, in element content and in quoted attribute values alike: the
/// one helper every text taken from the report goes through (organization ids, gateway names,
/// error messages, alert summaries, times). Markup characters become entities; control
/// characters other than newline and tab, and the bidirectional overrides that could reorder
/// what a reader sees, are shown as `\u{…}`.
pub(crate) fn esc(s: &str) -> Cow<'_, str> {
    let special = |c: char| {
        matches!(c, '&' | '<' | '>' | '"' | '\'')
            || (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
    };
    if !s.chars().any(special) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if special(c) => {
                let _ = write!(out, "{}", c.escape_unicode());
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The report figures a number or a chart mark stands for: their keys in the JSON report and
/// their values, written as the `data-figure` and `data-value` attributes.
#[derive(Default)]
pub(crate) struct Figs {
    paths: String,
    values: String,
    /// The parent of the last full path written: a path under the same parent is written as
    /// `.leaf`.
    parent: String,
}

impl Figs {
    pub(crate) fn of(path: impl Display, value: impl Display) -> Figs {
        Figs::default().and(path, value)
    }

    /// One more figure (paths are built by the renderer, never from log text).
    pub(crate) fn and(mut self, path: impl Display, value: impl Display) -> Figs {
        if !self.paths.is_empty() {
            self.paths.push(' ');
            self.values.push(' ');
        }
        let path = path.to_string();
        match path.rsplit_once('.') {
            Some((parent, leaf)) if !self.parent.is_empty() && parent == self.parent => {
                let _ = write!(self.paths, ".{leaf}");
            }
            split => {
                self.paths.push_str(&path);
                self.parent = split.map_or(String::new(), |(p, _)| p.to_owned());
            }
        }
        let _ = write!(self.values, "{value}");
        self
    }

    /// One more figure when its value is known (`null` in the report otherwise).
    pub(crate) fn and_opt(self, path: impl Display, value: Option<impl Display>) -> Figs {
        match value {
            Some(v) => self.and(path, v),
            None => self,
        }
    }

    /// ` data-figure="…" data-value="…"`, or nothing.
    pub(crate) fn attrs(&self) -> String {
        if self.paths.is_empty() {
            String::new()
        } else {
            format!(
                " data-figure=\"{}\" data-value=\"{}\"",
                esc(&self.paths),
                esc(&self.values)
            )
        }
    }
}

/// A number of the report shown in the page: `text` in a span carrying its key and value.
pub(crate) fn num(path: impl Display, value: impl Display, text: &str) -> String {
    format!(
        "<span class=\"n\"{}>{}</span>",
        Figs::of(path, value).attrs(),
        esc(text)
    )
}

/// The page of a report.
pub fn render(r: &Report) -> String {
    page::page(r)
}

/// Write the page of a report.
pub fn write_report(out: &mut impl Write, r: &Report) -> io::Result<()> {
    out.write_all(render(r).as_bytes())
}

#[cfg(test)]
mod tests;
