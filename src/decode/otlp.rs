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

use super::{Data, Malformed, Record, time};

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
pub fn decode<'a>(line: &'a str, out: &mut Vec<Record<'a>>) -> Result<(), Malformed> {
    let req: Request<'a> =
        serde_json::from_str(line).map_err(|_| Malformed("invalid OTLP/JSON export request"))?;
    let mut bad = false;
    for rl in req.resource_logs {
        let emitter = rl.resource.and_then(|r| {
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
        });
        for sl in rl.scope_logs {
            for raw in sl.log_records {
                if memchr::memmem::find(raw.get().as_bytes(), super::CATEGORY_PREFIX).is_none() {
                    continue;
                }
                match decode_record(raw, emitter.clone()) {
                    Ok(Some(r)) => out.push(r),
                    Ok(None) => {}
                    Err(_) => bad = true,
                }
            }
        }
    }
    if bad {
        Err(Malformed("invalid OTLP log record"))
    } else {
        Ok(())
    }
}

fn decode_record<'a>(
    raw: &'a RawValue,
    emitter: Option<Cow<'a, str>>,
) -> Result<Option<Record<'a>>, Malformed> {
    let rec: LogRecord<'a> =
        serde_json::from_str(raw.get()).map_err(|_| Malformed("invalid OTLP log record"))?;
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
