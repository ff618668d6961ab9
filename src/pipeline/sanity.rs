//! Saying when the input is wrong: after a read, an input that yielded no gateway lifecycle
//! line, or whose candidate lines were mostly skipped, is told with what was read and the
//! likely cause and fix — gwmon never reports an empty log as a healthy pool.

use super::replay::Batch;
use crate::decode::{Format, detect, prefix};
use crate::recognize::{InputCounts, ReadStats};
use crate::term::escape;
use crate::units::thousands;

/// An input with fewer lines than this that gives nothing is not worth a word when others do
/// (a freshly rotated file, a quiet hour).
const QUIET_LINES: u64 = 1000;
/// Skipped candidate lines below this are ordinary (a few broken lines).
const FEW_SKIPPED: u64 = 10;

/// What a line looks like, in words, with the `--format` that reads it (if any).
pub fn shape_of(line: &str) -> (String, Option<Format>) {
    match detect(line.as_bytes()) {
        Format::Docker => return ("Docker json-file".into(), Some(Format::Docker)),
        Format::Otlp => return ("OpenTelemetry OTLP/JSON".into(), Some(Format::Otlp)),
        Format::Logcli if line.trim_start().starts_with('{') => {
            return ("JSON lines (Loki logcli?)".into(), Some(Format::Logcli));
        }
        _ => {}
    }
    match prefix::record_start(line.as_bytes()) {
        Some(0) => (
            "the gateway service's console lines".into(),
            Some(Format::Console),
        ),
        Some(i) => match prefix::parse(&line[..i]) {
            Some(_) => (
                format!(
                    "console lines behind a collector's prefix (`{}`)",
                    escape(line[..i].trim_end())
                ),
                Some(Format::Console),
            ),
            None => (
                format!(
                    "console lines behind a prefix gwmon does not know (`{}`)",
                    escape(line[..i].trim_end())
                ),
                None,
            ),
        },
        None => {
            let head: String = line.chars().take(80).collect();
            (format!("another program's (`{}`)", escape(&head)), None)
        }
    }
}

/// The warnings about a batch read (see [`warnings`]).
pub fn batch_warnings(batch: &Batch, stats: &ReadStats) -> Vec<String> {
    warnings(&batch.names(), stats, batch.read.format)
}

/// The warnings about a read: one per input that yielded nothing or mostly skipped lines.
/// `names` are the inputs' names by index; `format` is the `--format` given.
pub fn warnings(names: &[String], stats: &ReadStats, format: Format) -> Vec<String> {
    let total_events: u64 = stats.inputs.values().map(|c| c.events).sum();
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let c = stats.inputs.get(&(i as u32)).cloned().unwrap_or_default();
        if let Some(w) = warning(name, &c, format, total_events > 0) {
            out.push(w);
        }
    }
    out
}

fn fix(c: &InputCounts, format: Format) -> String {
    let Some(sample) = &c.sample else {
        return String::new();
    };
    let (shape, reads) = shape_of(sample);
    let hint = match (format, reads) {
        (Format::Auto, Some(_)) => String::new(),
        (Format::Auto, None) => "; is this the ganymede log?".to_owned(),
        (given, Some(f)) if given != f => "; try --format auto".to_owned(),
        (_, Some(_)) => String::new(),
        (_, None) => "; is this the ganymede log? (try --format auto)".to_owned(),
    };
    format!(": its lines look like {shape}{hint}")
}

fn warning(name: &str, c: &InputCounts, format: Format, others_ok: bool) -> Option<String> {
    let name = escape(name);
    if c.lines == 0 {
        return (!others_ok).then(|| format!("{name} is empty: nothing was read from it"));
    }
    if c.events == 0 && c.skipped < FEW_SKIPPED.max(1) {
        if others_ok && c.lines < QUIET_LINES {
            return None;
        }
        let what = if c.skipped > 0 {
            format!(" ({} skipped, -v shows them)", thousands(c.skipped))
        } else {
            String::new()
        };
        return Some(format!(
            "no gateway lifecycle line in {} lines of {name}{what}{}",
            thousands(c.lines),
            fix(c, format)
        ));
    }
    if c.skipped >= FEW_SKIPPED && c.skipped > c.events {
        return Some(format!(
            "{} of the lines of {name} that could hold a lifecycle record were skipped, {} were read (-v shows why){}",
            thousands(c.skipped),
            thousands(c.events),
            fix(c, format)
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(lines: u64, events: u64, skipped: u64, sample: &str) -> ReadStats {
        let mut s = ReadStats::default();
        s.inputs.insert(
            0,
            InputCounts {
                name: "x.log".into(),
                lines,
                events,
                skipped,
                sample: Some(sample.into()),
                ..Default::default()
            },
        );
        s
    }

    #[test]
    fn tells_the_wrong_log_and_the_wrong_format() {
        let names = ["x.log".to_owned()];
        let dpkg = counts(
            5647,
            0,
            0,
            "2026-11-01 07:44:12 status installed hostname:amd64 3.23",
        );
        let w = warnings(&names, &dpkg, Format::Auto);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].starts_with("no gateway lifecycle line in 5,647 lines of x.log"),
            "{w:?}"
        );
        assert!(w[0].contains("is this the ganymede log?"), "{w:?}");
        let console = "2026-03-04T09:15:02.118Z [INFO     ] [GATEWAY_ALLOC       ] Starting";
        let wrong = counts(10015, 0, 1503, console);
        let w = warnings(&names, &wrong, Format::Docker);
        assert!(w[0].contains("1,503 of the lines"), "{w:?}");
        assert!(w[0].ends_with("try --format auto"), "{w:?}");
        let docker = r#"{"log":"2026-03-04T09:15:02.118Z [INFO","stream":"stdout"}"#;
        let w = warnings(&names, &counts(3000, 0, 0, docker), Format::Console);
        assert!(
            w[0].contains("Docker json-file; try --format auto"),
            "{w:?}"
        );
        let empty = ReadStats::default();
        assert_eq!(
            warnings(&names, &empty, Format::Auto),
            ["x.log is empty: nothing was read from it"]
        );
        assert!(warnings(&names, &counts(100, 12, 0, console), Format::Auto).is_empty());
    }
}
