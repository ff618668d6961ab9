//! Terminal concerns: escaping untrusted log text, colour choice.

use std::borrow::Cow;

/// Escape control and bidirectional-override characters in text taken from logs, so a log line
/// cannot move the cursor, change colours or reorder what an operator reads.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// JSON text made safe to print: the bidirectional controls (which JSON allows raw) written as
/// `\uXXXX` escapes, so `gwmon events` on a terminal cannot reorder what is read. Control
/// characters are escaped by the serializer already.
pub fn json_safe(json: String) -> String {
    if !json.chars().any(is_bidi) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_bidi(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// A character that must not reach a terminal raw: a control or a bidirectional override.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi(c)
}

/// Whether to colour output: only on a terminal, never with `NO_COLOR` or `TERM=dumb`.
pub fn use_color(choice: ColorChoice, is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_tty
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(escape("plain ✅ text"), "plain ✅ text");
        assert_eq!(escape("a\x1b[31mred\nb"), "a\\u{1b}[31mred\\nb");
        assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
    }

    #[test]
    fn json_keeps_its_meaning_without_raw_bidi_controls() {
        let j = serde_json::to_string("a\u{202e}b\u{1b}").unwrap();
        let safe = json_safe(j);
        assert_eq!(safe, r#""a\u202eb\u001b""#);
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "a\u{202e}b\u{1b}");
    }
}
