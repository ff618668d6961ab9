//! `gwmon events`: one JSON object per event,
//! `{"event":"allocated","time":"…","org":"…","gateway":"gw-pool-3","port":7103,"source":"file:line"}`
//! (with `"stream":"…"` before `source` when the line's prefix or file named its source).

use std::io::{self, Write};

use crate::event::Event;
use crate::units::fmt_time;

/// Write one event as a JSON line. `names` are the inputs' names, by index.
pub fn write_event(
    out: &mut impl Write,
    ev: &Event,
    names: &[String],
    raw: bool,
) -> io::Result<()> {
    let kind = serde_json::to_string(&ev.kind).map_err(io::Error::other)?;
    // `kind` is `{"event":"NAME",…}`: put the time right after the name and the source last.
    let head = format!("{{\"event\":\"{}\"", ev.kind.name());
    let rest = kind
        .strip_prefix(&head)
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or("");
    let name = names
        .get(ev.origin.input as usize)
        .map_or("?", String::as_str);
    let source =
        serde_json::to_string(&format!("{name}:{}", ev.origin.line)).map_err(io::Error::other)?;
    let mut line = format!("{head},\"time\":\"{}\"{rest}", fmt_time(ev.time));
    if let Some(stream) = &ev.stream {
        let stream = serde_json::to_string(stream).map_err(io::Error::other)?;
        line.push_str(&format!(",\"stream\":{stream}"));
    }
    line.push_str(&format!(",\"source\":{source}"));
    if raw {
        let raw = serde_json::to_string(&ev.raw).map_err(io::Error::other)?;
        line.push_str(&format!(",\"raw\":{raw}"));
    }
    line.push('}');
    // No raw bidirectional control reaches a terminal (`gwmon events` is often read there).
    writeln!(out, "{}", crate::term::json_safe(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Kind, Origin};

    #[test]
    fn event_line_shape() {
        let ev = Event {
            time: 1_772_615_702_140,
            kind: Kind::Allocated {
                org: "o".into(),
                gateway: "gw-pool-3".into(),
                port: Some(7103),
                gateway_id: None,
                recycling: false,
            },
            origin: Origin { input: 0, line: 12 },
            stream: None,
            raw: String::new(),
        };
        let mut out = Vec::new();
        write_event(&mut out, &ev, &["g.log".into()], false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"event\":\"allocated\",\"time\":\"2026-03-04T09:15:02.140Z\",\"org\":\"o\",\"gateway\":\"gw-pool-3\",\"port\":7103,\"source\":\"g.log:12\"}\n"
        );
    }
}
