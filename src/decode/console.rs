//! Console lines: `<ISO time> [<PRIORITY:9>] [<CATEGORY:20>] <message>[ <JSON data>]`.
//! The columns are checked by hand (no regex): this runs for every candidate line.

use std::borrow::Cow;

use super::{Data, Malformed, Record};
use crate::units::time;

/// Decode a console line (without its newline). `Ok(None)`: not a gateway record (another
/// category, or a continuation line of a multi-line message, which has no timestamp).
pub fn decode(line: &str) -> Result<Option<Record<'_>>, Malformed> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    // A record starts with its timestamp; anything else is a continuation line.
    if !line.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return Ok(None);
    }
    let Some(sp) = memchr::memchr(b' ', line.as_bytes()) else {
        return Err(Malformed("console line without priority"));
    };
    let Some(time) = time::parse_rfc3339(&line[..sp]) else {
        return Err(Malformed("console line with a bad timestamp"));
    };
    let rest = &line[sp + 1..];
    let (priority, rest) = bracketed(rest).ok_or(Malformed("console line without [PRIORITY]"))?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let (category, rest) = bracketed(rest).ok_or(Malformed("console line without [CATEGORY]"))?;
    if !category.starts_with("GATEWAY_") {
        return Ok(None);
    }
    let message = rest.strip_prefix(' ').unwrap_or(rest);
    Ok(Some(Record {
        time,
        priority: Cow::Borrowed(priority),
        category: Cow::Borrowed(category),
        message: Cow::Borrowed(message),
        data: Data::None,
        emitter: None,
    }))
}

/// `[TEXT   ]rest` → (`TEXT`, `rest`).
fn bracketed(s: &str) -> Option<(&str, &str)> {
    let s = s.strip_prefix('[')?;
    let end = memchr::memchr(b']', s.as_bytes())?;
    Some((s[..end].trim_end_matches(' '), &s[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_service_shape() {
        let l = "2026-03-04T09:15:02.140Z [INFO     ] [GATEWAY_ALLOC       ] Allocated gw-pool-3 (port 7103, upstream 172.17.0.1:7103) to org 3f1c";
        let r = decode(l).unwrap().unwrap();
        assert_eq!(r.time, 1_772_615_702_140);
        assert_eq!(r.priority, "INFO");
        assert_eq!(r.category, "GATEWAY_ALLOC");
        assert_eq!(
            r.message,
            "Allocated gw-pool-3 (port 7103, upstream 172.17.0.1:7103) to org 3f1c"
        );
    }

    #[test]
    fn long_category_and_crlf() {
        let l = "2026-03-04T09:15:02.140Z [EMERGENCY] [GATEWAY_SOMETHING_VERY_LONG] x y\r";
        let r = decode(l).unwrap().unwrap();
        assert_eq!(r.priority, "EMERGENCY");
        assert_eq!(r.category, "GATEWAY_SOMETHING_VERY_LONG");
        assert_eq!(r.message, "x y");
    }

    #[test]
    fn other_categories_and_continuations_are_not_records() {
        assert_eq!(
            decode(
                "2026-03-04T09:15:02.140Z [INFO     ] [HTTP                ] GET /gateway/start"
            )
            .unwrap(),
            None
        );
        assert_eq!(decode("<html><body>GATEWAY_ALLOC</body>").unwrap(), None);
        assert_eq!(decode("").unwrap(), None);
    }

    #[test]
    fn broken_columns_are_malformed() {
        assert!(decode("2026-03-04T09:15:02.140Z GATEWAY_ALLOC x").is_err());
        assert!(decode("2026-99-04T09:15:02.140Z [INFO     ] [GATEWAY_ALLOC ] x").is_err());
        assert!(decode("2026-03-04T09:15:02.140Z [INFO     ] [GATEWAY_ALLOC x").is_err());
        assert!(decode("2026").is_err());
    }
}
