//! Docker json-file lines: `{"log":"<console line>\n","stream":"stdout","time":"…"}`.
//! A console line longer than 16 KiB arrives as several objects; only the last one's `log` ends
//! in `\n`. Joining the pieces is the caller's job (it needs the neighbouring lines).

use std::borrow::Cow;

use serde::Deserialize;

use super::Malformed;

#[derive(Deserialize)]
pub struct Piece<'a> {
    #[serde(borrow)]
    pub log: Cow<'a, str>,
    #[serde(default, borrow)]
    pub time: Option<Cow<'a, str>>,
}

impl Piece<'_> {
    /// Whether this piece ends a console line.
    pub fn is_last(&self) -> bool {
        self.log.ends_with('\n')
    }
}

pub fn decode(line: &str) -> Result<Piece<'_>, Malformed> {
    serde_json::from_str(line).map_err(|_| Malformed("invalid Docker json-file line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pieces() {
        let p = decode(r#"{"log":"2026-03-04T09:15:02.118Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org a\n","stream":"stdout","time":"2026-03-04T09:15:02.118734Z"}"#).unwrap();
        assert!(p.is_last());
        assert!(p.log.starts_with("2026-03-04T09:15:02.118Z [INFO"));
        let p = decode(
            r#"{"log":"part \"one\"","stream":"stdout","time":"2026-03-04T09:15:02.118734Z"}"#,
        )
        .unwrap();
        assert!(!p.is_last());
        assert_eq!(p.log, "part \"one\"");
        assert!(decode(r#"{"log":"trunc"#).is_err());
        assert!(decode(r#"{"stream":"stdout"}"#).is_err());
    }
}
