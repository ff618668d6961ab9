//! Loki `logcli query --output=jsonl`: `{"labels":{…},"line":"…","timestamp":"…"}`.
//! `line` is a console line, or only the message when the records reached Loki over OTLP; then
//! category, priority and data come from the labels/structured metadata, whose names Loki writes
//! with `_` for `.` (`log_category`, `log_data_0`, …).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Data, Malformed, Record, console};
use crate::units::time;

#[derive(Deserialize)]
struct LogcliLine<'a> {
    #[serde(default, borrow)]
    labels: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(borrow)]
    line: Cow<'a, str>,
    #[serde(default, borrow)]
    timestamp: Option<Cow<'a, str>>,
}

fn label<'m, 'a>(
    labels: &'m BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    keys: &[&str],
) -> Option<&'m Cow<'a, str>> {
    keys.iter().find_map(|k| labels.get(*k))
}

pub fn decode(text: &str) -> Result<Option<Record<'static>>, Malformed> {
    let l: LogcliLine<'_> =
        serde_json::from_str(text).map_err(|_| Malformed("invalid logcli JSON line"))?;
    let emitter = label(
        &l.labels,
        &[
            "container",
            "container_name",
            "service_instance_id",
            "instance",
        ],
    )
    .map(|c| Cow::Owned(c.to_string()));
    let body = l.line.strip_suffix('\n').unwrap_or(&l.line);
    if body.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        if let Some(r) = console::decode(body)? {
            let mut r = r.into_owned();
            r.emitter = emitter;
            return Ok(Some(r));
        }
        if label(&l.labels, &["log_category", "log.category"]).is_none() {
            return Ok(None);
        }
    }
    let Some(category) = label(&l.labels, &["log_category", "log.category", "category"]) else {
        return Ok(None);
    };
    if !category.starts_with("GATEWAY_") {
        return Ok(None);
    }
    let time = l
        .timestamp
        .as_deref()
        .and_then(time::parse_rfc3339)
        .ok_or(Malformed("logcli line without a valid timestamp"))?;
    let priority = label(
        &l.labels,
        &[
            "log_priority",
            "log.priority",
            "severity_text",
            "level",
            "detected_level",
        ],
    )
    .map(|p| p.to_ascii_uppercase())
    .unwrap_or_default();
    let mut chars: Vec<(usize, &str)> = Vec::new();
    let mut fields = Vec::new();
    for (k, v) in &l.labels {
        let Some(sub) = k
            .strip_prefix("log_data_")
            .or_else(|| k.strip_prefix("log.data."))
        else {
            continue;
        };
        match sub.parse::<usize>() {
            Ok(i) => chars.push((i, v)),
            Err(_) => fields.push((Cow::Owned(sub.to_owned()), Cow::Owned(v.to_string()))),
        }
    }
    let data = if !chars.is_empty() {
        chars.sort_by_key(|(i, _)| *i);
        Data::Str(chars.iter().map(|(_, c)| *c).collect())
    } else if !fields.is_empty() {
        Data::Fields(fields)
    } else {
        Data::None
    };
    Ok(Some(Record {
        time,
        priority: Cow::Owned(priority),
        category: Cow::Owned(category.to_string()),
        message: Cow::Owned(body.to_owned()),
        data,
        emitter,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_line_inside() {
        let r = decode(r#"{"labels":{"container":"ganymede","job":"x"},"line":"2026-03-04T09:15:02.118Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org a","timestamp":"2026-03-04T09:15:02.118734512Z"}"#).unwrap().unwrap();
        assert_eq!(r.message, "Starting gateway for org a");
        assert_eq!(r.time, 1_772_615_702_118);
        assert_eq!(r.emitter.as_deref(), Some("ganymede"));
        assert!(decode(r#"{"line":"2026-03-04T09:15:02.118Z [INFO     ] [HTTP    ] GET /gateway","timestamp":"2026-03-04T09:15:02.118734512Z"}"#).unwrap().is_none());
    }

    #[test]
    fn otlp_body_with_metadata() {
        let r = decode(r#"{"labels":{"log_category":"GATEWAY_ALLOC","log_data_0":"n","log_data_1":"o","log_priority":"ERROR"},"line":"Failed to start gateway for org a:","timestamp":"2026-03-04T09:15:02.118734512Z"}"#).unwrap().unwrap();
        assert_eq!(r.category, "GATEWAY_ALLOC");
        assert_eq!(r.priority, "ERROR");
        assert_eq!(r.data, Data::Str("no".into()));
        assert_eq!(r.time, 1_772_615_702_118);
    }

    #[test]
    fn malformed() {
        assert!(decode(r#"{"labels":{},"line":"x""#).is_err());
        assert!(decode(r#"{"labels":{"log_category":"GATEWAY_ALLOC"},"line":"x"}"#).is_err());
    }
}
