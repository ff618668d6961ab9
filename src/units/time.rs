//! Times: the log timestamps (the service's `toISOString()` form on a fast path, any RFC 3339
//! time otherwise), `--since`/`--until` arguments, and RFC 3339 output.

/// Milliseconds since the Unix epoch, UTC. The service writes millisecond timestamps.
pub type Millis = i64;

/// The wall clock.
pub fn wall_now() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// Format a time as RFC 3339 with milliseconds, `2026-03-04T09:15:02.118Z`.
pub fn fmt_time(t: Millis) -> String {
    match chrono::DateTime::from_timestamp_millis(t) {
        Some(d) => d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => format!("@{t}ms"),
    }
}

/// Serialize a time as RFC 3339 (serde `serialize_with`).
pub fn ser_time<S: serde::Serializer>(t: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fmt_time(*t))
}

/// Serialize `Option<Millis>` as RFC 3339 or null.
pub fn ser_opt_time<S: serde::Serializer>(t: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&fmt_time(*t)),
        None => s.serialize_none(),
    }
}

/// Deserialize what [`ser_time`] wrote (serde `deserialize_with`).
pub fn de_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
    let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    parse_written(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a time")))
}

/// Deserialize what [`ser_opt_time`] wrote.
pub fn de_opt_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
    let s = <Option<std::borrow::Cow<'de, str>> as serde::Deserialize>::deserialize(d)?;
    s.map(|s| {
        parse_written(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a time")))
    })
    .transpose()
}

/// A time as [`fmt_time`] writes it (RFC 3339, or `@…ms` out of its range).
fn parse_written(s: &str) -> Option<Millis> {
    match s.strip_prefix('@').and_then(|r| r.strip_suffix("ms")) {
        Some(ms) => ms.parse().ok(),
        None => parse_rfc3339(s),
    }
}

/// A time given on the command line: RFC 3339, `YYYY-MM-DD` (UTC midnight) or a duration back
/// from `now` (`6h`, `7d`).
pub fn parse_time_arg(s: &str, now: Millis) -> Result<Millis, String> {
    let s = s.trim();
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp_millis()));
    }
    if let Some(ms) = super::duration::parse_ms(s) {
        return Ok(now - ms);
    }
    Err(format!(
        "`{s}` is not a time (examples: 2026-03-04T09:00:00Z, 2026-03-04, 6h, 7d)"
    ))
}

/// clap value parser of `--since`/`--until`: relative times are taken back from the moment the
/// command line is parsed.
pub fn parse_time_flag(s: &str) -> Result<Millis, String> {
    parse_time_arg(s, wall_now())
}

/// Parse `2026-03-04T09:15:02.118Z` (fast path) or any RFC 3339 time, to milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    if b.len() == 24
        && b[23] == b'Z'
        && b[19] == b'.'
        && let Some(t) = parse_iso_ms(b)
    {
        return Some(t);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, checked column by column.
fn parse_iso_ms(b: &[u8]) -> Option<Millis> {
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let y = digits(&b[0..4])?;
    let mo = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    let h = digits(&b[11..13])?;
    let mi = digits(&b[14..16])?;
    let sec = digits(&b[17..19])?;
    let ms = digits(&b[20..23])?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + ms)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Nanoseconds since the epoch as a decimal string or number, to milliseconds.
pub fn nanos_to_millis(n: u64) -> Millis {
    (n / 1_000_000) as Millis
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_equals_chrono() {
        for s in [
            "2026-03-04T09:15:02.118Z",
            "1999-12-31T23:59:59.999Z",
            "2024-02-29T00:00:00.000Z",
            "2100-03-01T12:34:56.789Z",
        ] {
            let c = chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_millis();
            assert_eq!(parse_iso_ms(s.as_bytes()), Some(c), "{s}");
        }
    }

    #[test]
    fn time_arguments() {
        let now = 1_772_615_702_118;
        assert_eq!(parse_time_arg("2026-03-04T09:15:02.118Z", 0), Ok(now));
        assert_eq!(parse_time_arg("2026-03-04", 0), Ok(1_772_582_400_000));
        assert_eq!(parse_time_arg("1h", now), Ok(now - 3_600_000));
        assert!(
            parse_time_arg("soon", now)
                .unwrap_err()
                .contains("is not a time")
        );
        assert_eq!(fmt_time(now), "2026-03-04T09:15:02.118Z");
    }

    #[test]
    fn other_forms() {
        assert_eq!(
            parse_rfc3339("2026-03-04T09:15:02.118734Z"),
            parse_rfc3339("2026-03-04T09:15:02.118Z")
        );
        assert_eq!(
            parse_rfc3339("2026-03-04T10:15:02.118+01:00"),
            parse_rfc3339("2026-03-04T09:15:02.118Z")
        );
        assert_eq!(parse_rfc3339("2026-13-04T09:15:02.118Z"), None);
        assert_eq!(parse_rfc3339("garbage"), None);
        assert_eq!(parse_rfc3339(""), None);
    }
}
