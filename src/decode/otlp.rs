//! OpenTelemetry OTLP/JSON, as the collector's `file` exporter writes it: one export request per
//! line, `resourceLogs[].scopeLogs[].logRecords[]`. The message is `body.stringValue`; category,
//! priority and data are attributes (`log.category`, `log.priority`, `log.data.<key>`). A bare
//! string data argument is flattened one character per attribute (`log.data.0`, `log.data.1`, …)
//! and joined back here in index order.
//!
//! Records are kept as raw JSON until a byte search shows they can be gateway records, so the
//! attributes of the many unrelated records in a batch are never built.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Data, Malformed, Record};
use crate::units::time;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(rename = "resourceLogs", default, borrow)]
    resource_logs: Vec<ResourceLogs<'a>>,
}

#[derive(Deserialize)]
struct ResourceLogs<'a> {
    #[serde(default, borrow)]
    resource: Option<Resource<'a>>,
    #[serde(rename = "scopeLogs", default, borrow)]
    scope_logs: Vec<ScopeLogs<'a>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(default, borrow)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct ScopeLogs<'a> {
    #[serde(rename = "logRecords", default, borrow)]
    log_records: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct LogRecord<'a> {
    #[serde(rename = "timeUnixNano", default)]
    time_unix_nano: Option<U64>,
    #[serde(rename = "observedTimeUnixNano", default)]
    observed_time_unix_nano: Option<U64>,
    #[serde(rename = "severityText", default, borrow)]
    severity_text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    body: Option<AnyValue<'a>>,
    #[serde(default, borrow)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(default, borrow)]
    value: Option<AnyValue<'a>>,
}

/// An OTLP `AnyValue`; only scalar kinds matter here.
#[derive(Deserialize)]
struct AnyValue<'a> {
    #[serde(rename = "stringValue", default, borrow)]
    string_value: Option<Cow<'a, str>>,
    #[serde(rename = "intValue", default)]
    int_value: Option<I64>,
    #[serde(rename = "doubleValue", default)]
    double_value: Option<f64>,
    #[serde(rename = "boolValue", default)]
    bool_value: Option<bool>,
}

impl<'a> AnyValue<'a> {
    fn into_text(self) -> Option<Cow<'a, str>> {
        if let Some(s) = self.string_value {
            Some(s)
        } else if let Some(I64(i)) = self.int_value {
            Some(Cow::Owned(i.to_string()))
        } else if let Some(d) = self.double_value {
            Some(Cow::Owned(d.to_string()))
        } else {
            self.bool_value.map(|b| Cow::Owned(b.to_string()))
        }
    }
}

/// A 64-bit integer written as a decimal string (the OTLP/JSON rule) or as a bare number.
struct U64(u64);
struct I64(i64);

macro_rules! int_or_string {
    ($t:ident, $inner:ty, $visit:ident) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("an integer or a decimal string")
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$t, E> {
                        <$inner>::try_from(v).map($t).map_err(E::custom)
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$t, E> {
                        <$inner>::try_from(v).map($t).map_err(E::custom)
                    }
                    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<$t, E> {
                        Ok($t(v as $inner))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$t, E> {
                        v.trim().parse().map($t).map_err(E::custom)
                    }
                }
                d.$visit(V)
            }
        }
    };
}
int_or_string!(U64, u64, deserialize_any);
int_or_string!(I64, i64, deserialize_any);

/// Decode one export request; push its gateway records.
///
/// Only the records holding the category bytes are parsed. Each is found from its `GATEWAY_`
/// hit: a record object starts with `{"` and one of a log record's keys, a two-byte sequence
/// that cannot occur inside a JSON string (a quote there is escaped), so the nearest such start
/// before the hit is tried and the parse must span the hit. When that does not work out, a
/// structural scan of the whole request finds the records; a request whose structure does not
/// add up is parsed whole by serde_json, which says what is wrong.
pub fn decode<'a>(line: &'a str, out: &mut Vec<Record<'a>>) -> Result<(), Malformed> {
    let mark = out.len();
    match decode_hits(line, out) {
        Some(r) => r,
        None => {
            out.truncate(mark);
            decode_spans(line, out)
        }
    }
}

/// Finds the category bytes (built once).
fn category(hay: &str) -> Option<usize> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(super::CATEGORY_PREFIX));
    FINDER.find(hay.as_bytes())
}

/// Collects decoded records; a record that does not decode makes the line malformed, after
/// the others were kept.
#[derive(Default)]
struct Collect {
    bad: bool,
}

impl Collect {
    fn push<'a>(&mut self, r: Result<Option<Record<'a>>, Malformed>, out: &mut Vec<Record<'a>>) {
        match r {
            Ok(Some(r)) => out.push(r),
            Ok(None) => {}
            Err(_) => self.bad = true,
        }
    }

    fn result(self) -> Result<(), Malformed> {
        if self.bad {
            Err(Malformed("invalid OTLP log record"))
        } else {
            Ok(())
        }
    }
}

const RECORD_KEYS: [&[u8]; 6] = [
    b"timeUnixNano\"",
    b"observedTimeUnixNano\"",
    b"severityNumber\"",
    b"severityText\"",
    b"body\"",
    b"attributes\"",
];

/// The start of the record object holding byte `hit`, searching back from it.
fn record_start(b: &[u8], hit: usize) -> Option<usize> {
    static OPEN: std::sync::LazyLock<memchr::memmem::FinderRev<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::FinderRev::new(b"{\""));
    let mut end = hit;
    loop {
        let s = OPEN.rfind(&b[..end])?;
        let key = &b[s + 2..];
        if RECORD_KEYS.iter().any(|k| key.starts_with(k)) {
            // `{"attributes"` also opens a resource: that is the record's parent, not it.
            let resource = key.starts_with(b"attributes\"") && b[..s].ends_with(b"\"resource\":");
            if !resource {
                return Some(s);
            }
        }
        end = s;
    }
}

/// The fast path; `None` when a hit cannot be tied to a record this way.
fn decode_hits<'a>(line: &'a str, out: &mut Vec<Record<'a>>) -> Option<Result<(), Malformed>> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(super::CATEGORY_PREFIX));
    let b = line.as_bytes();
    let mut collect = Collect::default();
    // The whole request must at least be one complete object.
    if !b.starts_with(b"{") || !line.trim_end().ends_with('}') {
        return None;
    }
    let mut done = 0; // records before this offset are handled
    let mut emitter: Option<(usize, Option<Cow<'a, str>>)> = None;
    // Where resources start (found once per line, only if a record needs one).
    let mut resources: Option<Vec<usize>> = None;
    for hit in FINDER.find_iter(b) {
        if hit < done {
            continue;
        }
        let start = record_start(b, hit)?;
        if start < done {
            return None;
        }
        // One parse gives the record and where it ends.
        let mut de =
            serde_json::Deserializer::from_str(&line[start..]).into_iter::<LogRecord<'a>>();
        let rec = match de.next() {
            Some(Ok(rec)) => rec,
            _ => return None,
        };
        let end = start + de.byte_offset();
        if end <= hit {
            return None;
        }
        done = end;
        // The resource of this record's resourceLogs element: the nearest one before it.
        let res = resources
            .get_or_insert_with(|| memchr::memmem::find_iter(b, b"\"resource\":").collect());
        let res_at = res[..res.partition_point(|r| *r < start)].last().copied();
        let em = match (&emitter, res_at) {
            (Some((at, e)), Some(r)) if *at == r => e.clone(),
            (_, Some(r)) => {
                let e = serde_json::Deserializer::from_str(&line[r + 11..])
                    .into_iter::<Resource<'a>>()
                    .next()
                    .and_then(Result::ok)
                    .and_then(emitter_of);
                emitter = Some((r, e.clone()));
                e
            }
            (_, None) => None,
        };
        collect.push(convert(rec, em), out);
    }
    Some(collect.result())
}

/// The structural path: find every record's span, parse those holding the category bytes.
fn decode_spans<'a>(line: &'a str, out: &mut Vec<Record<'a>>) -> Result<(), Malformed> {
    let Some(spans) = structure(line.as_bytes()) else {
        return decode_whole(line, out);
    };
    let mut collect = Collect::default();
    let mut emitters: Vec<(usize, Option<Cow<'a, str>>)> = Vec::new();
    for &(rl, start, end) in &spans.records {
        let raw = &line[start..end];
        if category(raw).is_none() {
            continue;
        }
        let emitter = match emitters.iter().find(|(i, _)| *i == rl) {
            Some((_, e)) => e.clone(),
            None => {
                let e = spans
                    .resources
                    .iter()
                    .find(|(i, _, _)| *i == rl)
                    .and_then(|&(_, s, e)| serde_json::from_str::<Resource<'a>>(&line[s..e]).ok())
                    .and_then(emitter_of);
                emitters.push((rl, e.clone()));
                e
            }
        };
        collect.push(decode_record(raw, emitter), out);
    }
    collect.result()
}

/// The container (or instance, or host) named by a resource's attributes.
fn emitter_of<'a>(r: Resource<'a>) -> Option<Cow<'a, str>> {
    let mut found = None;
    for kv in r.attributes {
        let rank = match kv.key.as_ref() {
            "container.name" => 0,
            "service.instance.id" => 1,
            "host.name" => 2,
            _ => continue,
        };
        if let Some(v) = kv.value.and_then(AnyValue::into_text)
            && found.as_ref().is_none_or(|(r, _)| rank < *r)
        {
            found = Some((rank, v));
        }
    }
    found.map(|(_, v)| v)
}

/// The full parse: the fallback for requests the structural scan cannot follow.
fn decode_whole<'a>(line: &'a str, out: &mut Vec<Record<'a>>) -> Result<(), Malformed> {
    let req: Request<'a> =
        serde_json::from_str(line).map_err(|_| Malformed("invalid OTLP/JSON export request"))?;
    let mut collect = Collect::default();
    for rl in req.resource_logs {
        let emitter = rl.resource.and_then(emitter_of);
        for sl in rl.scope_logs {
            for raw in sl.log_records {
                if category(raw.get()).is_some() {
                    collect.push(decode_record(raw.get(), emitter.clone()), out);
                }
            }
        }
    }
    collect.result()
}

/// Byte spans of an export request: `(resourceLogs index, start, end)` of each log record and
/// of each resource object.
#[derive(Debug, Default, PartialEq)]
struct Spans {
    records: Vec<(usize, usize, usize)>,
    resources: Vec<(usize, usize, usize)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Tag {
    Other,
    ResourceLogs,
    ResourceLogsItem,
    LogRecords,
    Record,
    Resource,
}

/// The closing quote of the string whose content starts at `start`. OTLP's strings are mostly
/// short keys: a plain loop finds their end faster than a vectorized search would start; long
/// ones go to memchr.
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut j = start;
    let short = (start + 32).min(b.len());
    while j < short {
        match b[j] {
            b'"' => return Some(j),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    loop {
        let k = memchr::memchr2(b'"', b'\\', b.get(j..)?)? + j;
        if b[k] == b'"' {
            return Some(k);
        }
        j = k + 2;
    }
}

/// Follow the JSON structure of a request without building anything. `None` when it does not
/// add up (unbalanced, unterminated): the caller then lets serde_json judge.
fn structure(b: &[u8]) -> Option<Spans> {
    let mut spans = Spans::default();
    // (opening byte, tag, start offset)
    let mut stack: Vec<(u8, Tag, usize)> = Vec::with_capacity(16);
    let mut last_string: Option<(usize, usize)> = None;
    let mut key: Option<(usize, usize)> = None;
    let mut rl_index = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i + 1;
                let end = string_end(b, start)?;
                last_string = Some((start, end));
                i = end + 1;
                continue;
            }
            b':' => key = last_string.take(),
            b'{' | b'[' => {
                let is = |name: &[u8]| key.is_some_and(|(s, e)| &b[s..e] == name);
                let parent = stack.last().map(|(_, t, _)| *t);
                let tag = match (b[i], parent) {
                    (b'[', Some(_)) if stack.len() == 1 && is(b"resourceLogs") => Tag::ResourceLogs,
                    (b'[', _) if is(b"logRecords") => Tag::LogRecords,
                    (b'{', Some(Tag::ResourceLogs)) => {
                        rl_index += 1;
                        Tag::ResourceLogsItem
                    }
                    (b'{', Some(Tag::LogRecords)) => Tag::Record,
                    (b'{', Some(Tag::ResourceLogsItem)) if is(b"resource") => Tag::Resource,
                    _ => Tag::Other,
                };
                stack.push((b[i], tag, i));
                key = None;
                last_string = None;
            }
            b'}' | b']' => {
                let (open, tag, start) = stack.pop()?;
                if (open == b'{') != (b[i] == b'}') {
                    return None;
                }
                match tag {
                    Tag::Record => spans.records.push((rl_index, start, i + 1)),
                    Tag::Resource => spans.resources.push((rl_index, start, i + 1)),
                    _ => {}
                }
                key = None;
                last_string = None;
            }
            b',' => {
                key = None;
                last_string = None;
            }
            _ => {}
        }
        i += 1;
    }
    stack.is_empty().then_some(spans)
}

fn decode_record<'a>(
    raw: &'a str,
    emitter: Option<Cow<'a, str>>,
) -> Result<Option<Record<'a>>, Malformed> {
    let rec: LogRecord<'a> =
        serde_json::from_str(raw).map_err(|_| Malformed("invalid OTLP log record"))?;
    convert(rec, emitter)
}

/// A parsed log record → a gateway [`Record`] (`None` for other categories).
fn convert<'a>(
    rec: LogRecord<'a>,
    emitter: Option<Cow<'a, str>>,
) -> Result<Option<Record<'a>>, Malformed> {
    let mut category = None;
    let mut priority = None;
    let mut chars: Vec<(usize, Cow<'a, str>)> = Vec::new();
    let mut fields: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
    for kv in rec.attributes {
        let Some(value) = kv.value.and_then(AnyValue::into_text) else {
            continue;
        };
        match kv.key.as_ref() {
            "log.category" => category = Some(value),
            "log.priority" => priority = Some(value),
            k => {
                if let Some(sub) = k.strip_prefix("log.data.") {
                    match sub.parse::<usize>() {
                        Ok(i) => chars.push((i, value)),
                        Err(_) => fields.push((Cow::Owned(sub.to_owned()), value)),
                    }
                }
            }
        }
    }
    let Some(category) = category.filter(|c| c.starts_with("GATEWAY_")) else {
        return Ok(None);
    };
    let nanos = rec
        .time_unix_nano
        .filter(|t| t.0 != 0)
        .or(rec.observed_time_unix_nano.filter(|t| t.0 != 0))
        .ok_or(Malformed("OTLP log record without a time"))?;
    let message = rec
        .body
        .and_then(AnyValue::into_text)
        .unwrap_or(Cow::Borrowed(""));
    let data = if !chars.is_empty() {
        chars.sort_by_key(|(i, _)| *i);
        Data::Str(chars.iter().map(|(_, c)| c.as_ref()).collect())
    } else if !fields.is_empty() {
        Data::Fields(fields)
    } else {
        Data::None
    };
    let priority = priority.unwrap_or_else(|| {
        Cow::Owned(
            rec.severity_text
                .as_deref()
                .unwrap_or("")
                .to_ascii_uppercase(),
        )
    });
    Ok(Some(Record {
        time: time::nanos_to_millis(nanos.0),
        priority,
        category,
        message,
        data,
        emitter,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> String {
        format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#)
    }

    #[test]
    fn reassembles_flattened_string_data() {
        let msg = "no_gateway_available";
        let mut attrs = vec![
            kv("log.category", "GATEWAY_ALLOC"),
            kv("log.priority", "ERROR"),
        ];
        // Out of order on purpose: index order, not attribute order, rules.
        for (i, c) in msg
            .chars()
            .collect::<Vec<_>>()
            .into_iter()
            .enumerate()
            .rev()
        {
            attrs.push(kv(&format!("log.data.{i}"), &c.to_string()));
        }
        let line = format!(
            r#"{{"resourceLogs":[{{"resource":{{"attributes":[{}]}},"scopeLogs":[{{"scope":{{}},"logRecords":[{{"timeUnixNano":"1772615702118000000","severityText":"error","body":{{"stringValue":"Failed to start gateway for org a:"}},"attributes":[{}]}},{{"timeUnixNano":1772615702119000000,"body":{{"stringValue":"GET /x"}},"attributes":[{}]}}]}}]}}]}}"#,
            kv("service.name", "app-ganymede"),
            attrs.join(","),
            kv("log.category", "HTTP")
        );
        let mut out = Vec::new();
        decode(&line, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].time, 1_772_615_702_118);
        assert_eq!(out[0].priority, "ERROR");
        assert_eq!(out[0].message, "Failed to start gateway for org a:");
        assert_eq!(out[0].data, Data::Str(msg.into()));
    }

    #[test]
    fn object_data_and_emitter() {
        let line = format!(
            r#"{{"resourceLogs":[{{"resource":{{"attributes":[{}]}},"scopeLogs":[{{"logRecords":[{{"timeUnixNano":"1772615702118000000","severityText":"info","body":{{"stringValue":"stats: "}},"attributes":[{},{{"key":"log.data.total_gateways","value":{{"intValue":"8"}}}},{}]}}]}}]}}]}}"#,
            kv("container.name", "gw-pool-2"),
            kv("log.category", "GATEWAY_STATS"),
            kv("log.data.used_gateways", "3"),
        );
        let mut out = Vec::new();
        decode(&line, &mut out).unwrap();
        assert_eq!(out[0].priority, "INFO");
        assert_eq!(out[0].field("total_gateways"), Some("8"));
        assert_eq!(out[0].field("used_gateways"), Some("3"));
        assert_eq!(out[0].emitter.as_deref(), Some("gw-pool-2"));
    }

    #[test]
    fn the_three_paths_agree() {
        let kvs = |k: &str, v: &str| format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#);
        let rec = |t: u64, cat: &str, m: &str| {
            format!(
                r#"{{"timeUnixNano":"{t}","body":{{"stringValue":"{m}"}},"attributes":[{},{}]}}"#,
                kvs("log.category", cat),
                kvs("log.data.0", "x")
            )
        };
        let line = format!(
            r#"{{"resourceLogs":[{{"resource":{{"attributes":[{}]}},"scopeLogs":[{{"scope":{{}},"logRecords":[{},{},{}]}}]}},{{"resource":{{"attributes":[{}]}},"scopeLogs":[{{"logRecords":[{}]}}]}}]}}"#,
            kvs("container.name", "gw-a"),
            rec(
                1_000_000_000_000_000_000,
                "HTTP",
                "GATEWAY_ALLOC in a message"
            ),
            rec(
                1_000_000_000_001_000_000,
                "GATEWAY_ALLOC",
                "Starting gateway for org a"
            ),
            rec(
                1_000_000_000_002_000_000,
                "GATEWAY_ALLOC",
                "Starting gateway for org \\\"b{\\\""
            ),
            kvs("container.name", "gw-b"),
            rec(
                1_000_000_000_003_000_000,
                "GATEWAY_READY",
                "Successfully signaled ready to Ganymede"
            ),
        );
        let mut fast = Vec::new();
        decode_hits(&line, &mut fast).expect("fast path").unwrap();
        let mut spans = Vec::new();
        decode_spans(&line, &mut spans).unwrap();
        let mut whole = Vec::new();
        decode_whole(&line, &mut whole).unwrap();
        assert_eq!(fast.len(), 3);
        assert_eq!(fast, spans);
        assert_eq!(fast, whole);
        assert_eq!(fast[0].emitter.as_deref(), Some("gw-a"));
        assert_eq!(fast[2].emitter.as_deref(), Some("gw-b"));
        // `{"` inside a string is escaped in JSON (`{\"`): it cannot be taken for a record start.
        assert_eq!(fast[1].message, r#"Starting gateway for org "b{""#);
    }

    #[test]
    fn the_structural_scan_finds_records_and_resources() {
        let line = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"k","value":{"stringValue":"a \"}] {"}}]},"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"}},{"a":[1,{"b":"]"}]}]}]},{"scopeLogs":[{"logRecords":[{"z":1}]}]}]}"#;
        let s = structure(line.as_bytes()).unwrap();
        let recs: Vec<(usize, &str)> = s
            .records
            .iter()
            .map(|&(i, a, b)| (i, &line[a..b]))
            .collect();
        assert_eq!(
            recs,
            vec![
                (1, r#"{"body":{"stringValue":"x"}}"#),
                (1, r#"{"a":[1,{"b":"]"}]}"#),
                (2, r#"{"z":1}"#)
            ]
        );
        assert_eq!(s.resources.len(), 1);
        assert!(structure(br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"#).is_none());
        assert!(structure(br#"{"a":"unterminated}"#).is_none());
        assert!(structure(br#"{"a":[}"#).is_none());
    }

    #[test]
    fn malformed_requests() {
        let mut out = Vec::new();
        assert!(
            decode(
                r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"#,
                &mut out
            )
            .is_err()
        );
        assert!(
            decode(
                r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"},"attributes":[{"key":"log.category","value":{"stringValue":"GATEWAY_ALLOC"}}]}]}]}]}"#,
                &mut out
            )
            .is_err(),
            "a gateway record without a time is malformed"
        );
        assert!(out.is_empty());
    }
}
