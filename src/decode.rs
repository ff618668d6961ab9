//! Decode stage: one physical line becomes zero or more [`Record`]s
//! `{ time, priority, category, message, data }` (DESIGN.md §1).
//!
//! Four shapes are understood (holistix-log-lines.md §1 and §6): console lines, Docker json-file
//! objects, OpenTelemetry OTLP/JSON export requests and Loki `logcli --output=jsonl` lines. Only
//! records whose category starts with `GATEWAY_` are produced: every other record is dropped as
//! early as the shape allows, and callers are expected to have rejected lines without the bytes
//! `GATEWAY_` before calling in here at all.

pub mod console;
pub mod docker;
pub mod logcli;
pub mod otlp;
pub mod prefix;

use std::borrow::Cow;

use crate::units::Millis;

/// The category prefix every gateway lifecycle line carries.
pub const CATEGORY_PREFIX: &[u8] = b"GATEWAY_";

/// The shape of the input lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Detect the shape of each line.
    Auto,
    /// `TIME [PRIORITY ] [CATEGORY            ] message[ data]`
    Console,
    /// Docker json-file: `{"log":"…\n","stream":"stdout","time":"…"}`
    Docker,
    /// OpenTelemetry collector file exporter, OTLP/JSON, one export request per line.
    Otlp,
    /// Loki `logcli query --output=jsonl`.
    Logcli,
}

/// The data argument of a log call.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Data<'a> {
    /// None given separately (console lines carry it at the end of the message text).
    #[default]
    None,
    /// A bare string (OTLP's `log.data.0…N` joined).
    Str(String),
    /// Object fields (OTLP's `log.data.<key>` attributes).
    Fields(Vec<(Cow<'a, str>, Cow<'a, str>)>),
}

/// One log record of the gateway service.
#[derive(Clone, Debug, PartialEq)]
pub struct Record<'a> {
    pub time: Millis,
    pub priority: Cow<'a, str>,
    pub category: Cow<'a, str>,
    /// The message text. For console lines it includes the trailing JSON data, if any.
    pub message: Cow<'a, str>,
    pub data: Data<'a>,
    /// Which gateway container wrote the record, when the transport says so
    /// (Loki labels, OTLP resource attributes).
    pub emitter: Option<Cow<'a, str>>,
}

/// Why a line that may hold a lifecycle record could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// A detected line shape (`auto`).
pub fn detect(line: &[u8]) -> Format {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let line = &line[start..];
    if line.first() != Some(&b'{') {
        return Format::Console;
    }
    let head = &line[..line.len().min(256)];
    if head.starts_with(b"{\"log\":") || memchr::memmem::find(head, b"\"log\":\"").is_some() {
        Format::Docker
    } else if memchr::memmem::find(head, b"\"resourceLogs\"").is_some() {
        Format::Otlp
    } else {
        Format::Logcli
    }
}

/// Decode one line in a JSON shape or console shape into `out`.
/// Docker lines are decoded by [`docker::decode`] by the caller, since their pieces may have to
/// be joined first.
pub fn decode_into<'a>(
    line: &'a str,
    format: Format,
    out: &mut Vec<Record<'a>>,
) -> Result<(), Malformed> {
    match format {
        Format::Console | Format::Auto => {
            if let Some(r) = console::decode(line)? {
                out.push(r);
            }
            Ok(())
        }
        Format::Otlp => otlp::decode(line, out),
        Format::Logcli => {
            if let Some(r) = logcli::decode(line)? {
                out.push(r);
            }
            Ok(())
        }
        Format::Docker => {
            let piece = docker::decode(line)?;
            let text = piece.log.strip_suffix('\n').unwrap_or(&piece.log);
            if let Some(r) = console::decode(text)? {
                out.push(r.into_owned());
            }
            Ok(())
        }
    }
}

impl Record<'_> {
    pub fn into_owned(self) -> Record<'static> {
        Record {
            time: self.time,
            priority: Cow::Owned(self.priority.into_owned()),
            category: Cow::Owned(self.category.into_owned()),
            message: Cow::Owned(self.message.into_owned()),
            data: match self.data {
                Data::None => Data::None,
                Data::Str(s) => Data::Str(s),
                Data::Fields(f) => Data::Fields(
                    f.into_iter()
                        .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                        .collect(),
                ),
            },
            emitter: self.emitter.map(|e| Cow::Owned(e.into_owned())),
        }
    }

    /// A field of the data object, for OTLP records.
    pub fn field(&self, key: &str) -> Option<&str> {
        match &self.data {
            Data::Fields(f) => f.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref()),
            _ => None,
        }
    }
}

/// The time a line was written, read off the line itself in any shape: a console record (bare or
/// behind a prefix), Docker's `time`, logcli's `timestamp`, OTLP's first `timeUnixNano`. `None`
/// for a line that carries none (a continuation line).
pub fn line_time(line: &str) -> Option<Millis> {
    let b = line.as_bytes();
    if b.first() != Some(&b'{') {
        let start = prefix::record_start(b)?;
        return crate::units::time::parse_rfc3339(line.get(start..start + 24)?);
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let text = |k: &str| v.get(k).and_then(|t| t.as_str()).map(str::to_owned);
    if let Some(t) = text("time").or_else(|| text("timestamp")) {
        return crate::units::time::parse_rfc3339(&t);
    }
    // OTLP: the first record's nanoseconds (a decimal string or a number).
    let rec = v
        .get("resourceLogs")?
        .get(0)?
        .get("scopeLogs")?
        .get(0)?
        .get("logRecords")?
        .get(0)?;
    let n = rec
        .get("timeUnixNano")
        .or_else(|| rec.get("observedTimeUnixNano"))?;
    let nanos = match n {
        serde_json::Value::String(s) => s.parse::<u64>().ok()?,
        other => other.as_u64()?,
    };
    Some((nanos / 1_000_000) as Millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_times_in_every_shape() {
        let t = Some(1_772_615_702_118);
        let rec = "2026-03-04T09:15:02.118Z [INFO     ] [HTTP                ] GET /";
        assert_eq!(line_time(rec), t);
        assert_eq!(line_time(&format!("ganymede-1  | {rec}")), t);
        assert_eq!(
            line_time(r#"{"log":"x\n","stream":"stdout","time":"2026-03-04T09:15:02.118734Z"}"#),
            t
        );
        assert_eq!(
            line_time(r#"{"labels":{},"line":"x","timestamp":"2026-03-04T09:15:02.118Z"}"#),
            t
        );
        assert_eq!(
            line_time(
                r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1772615702118000000"}]}]}]}"#
            ),
            t
        );
        assert_eq!(line_time("    at handler (x.js:1)"), None);
    }

    #[test]
    fn detects_shapes() {
        assert_eq!(
            detect(b"2026-03-04T09:15:02.118Z [INFO     ] [X] y"),
            Format::Console
        );
        assert_eq!(
            detect(br#"{"log":"x\n","stream":"stdout","time":"2026-03-04T09:15:02.118734Z"}"#),
            Format::Docker
        );
        assert_eq!(detect(br#"{"resourceLogs":[]}"#), Format::Otlp);
        assert_eq!(
            detect(br#"{"labels":{},"line":"x","timestamp":"t"}"#),
            Format::Logcli
        );
        assert_eq!(detect(br#"{"line":"x","timestamp":"t"}"#), Format::Logcli);
    }
}
