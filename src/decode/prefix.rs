//! Console records behind the prefixes of the tools that collect them.
//!
//! The service's lines rarely travel bare: syslog (`Mar  2 10:00:00 gwhost ganymede[1234]: `,
//! as rsyslog writes /var/log/syslog and `journalctl` prints by default; RFC 5424
//! `<165>1 2026-03-02T10:00:00.123Z gwhost ganymede 1234 - - `; journalctl `short-iso` and
//! `short-precise`), `docker logs -t` / `kubectl logs --timestamps`
//! (`2026-03-02T10:00:00.123456789Z `), `docker compose logs` (`ganymede-1  | `),
//! `kubectl logs --prefix` (`[pod/ganymede-7d9f/ganymede] `) and the CRI format of Kubernetes
//! nodes' `/var/log/containers/*.log` (`2026-03-02T10:00:00.123456789Z stdout F `, lines over
//! 16 KiB split into `P` pieces).
//!
//! The record is found by its own fixed shape, `<ISO ms Z> [<PRIORITY 9>] [<CATEGORY`, near the
//! start of the line; the prefix before it is then classified. The record keeps its own time;
//! the prefix gives the source's name (`stream`): the compose service, the pod and container,
//! the syslog host and program. A prefix of no known shape is not guessed at.

/// How far into a line a record may start (the longest prefix looked behind).
const MAX_PREFIX: usize = 256;

/// What a recognized prefix says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefix {
    /// The source's name, when the prefix has one: `ganymede-1`, `pod/NAME/CONTAINER`,
    /// `HOST/PROGRAM`.
    pub stream: Option<String>,
    /// A CRI line: `Some(true)` for a full line or the last piece (`F`), `Some(false)` for a
    /// piece to be continued (`P`).
    pub cri: Option<bool>,
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` at the start of `b` (the service's `toISOString()`).
fn is_iso_ms(b: &[u8]) -> bool {
    b.len() >= 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
}

/// The start of the console record's columns at `i`: a timestamp, then `[` + 9 bytes + `] [`.
fn record_at(line: &[u8], i: usize) -> bool {
    let b = &line[i..];
    is_iso_ms(b) && b.len() > 38 && b[24] == b' ' && b[25] == b'[' && &b[35..38] == b"] ["
}

/// Where the console record starts in `line`: 0 for a bare record, the length of the prefix
/// for a prefixed one, `None` when the line holds no record near its start.
pub fn record_start(line: &[u8]) -> Option<usize> {
    if record_at(line, 0) {
        return Some(0);
    }
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"Z ["));
    let window = &line[..line.len().min(MAX_PREFIX + 24)];
    let mut from = 0;
    while let Some(k) = FINDER.find(&window[from..]) {
        let z = from + k;
        if z >= 23 && record_at(line, z - 23) {
            return Some(z - 23);
        }
        from = z + 1;
    }
    None
}

/// An RFC 3339 timestamp (`docker logs -t`, CRI): digits, `-`, `:`, `T`, `.`, `Z`, `+`.
fn is_rfc3339(s: &str) -> bool {
    s.len() >= 20
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[10] == b'T'
        && s.bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b':' | b'T' | b'.' | b'Z' | b'+'))
}

/// A name of a service, container, pod, host or program.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/' | b'@'))
}

/// `PROG[PID]:` or `PROG:` → PROG.
fn syslog_tag(s: &str) -> Option<&str> {
    let s = s.strip_suffix(':')?;
    let prog = match s.find('[') {
        Some(i)
            if s.ends_with(']') && s[i + 1..s.len() - 1].bytes().all(|c| c.is_ascii_digit()) =>
        {
            &s[..i]
        }
        Some(_) => return None,
        None => s,
    };
    is_name(prog).then_some(prog)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Mar  2 10:00:00` or `Mar 02 10:00:00.123456` (syslog, journalctl short and short-precise).
fn syslog_time<'a>(words: &mut impl Iterator<Item = &'a str>) -> Option<()> {
    let month = words.next()?;
    let day = words.next()?;
    let time = words.next()?;
    (MONTHS.contains(&month)
        && day.len() <= 2
        && day.bytes().all(|c| c.is_ascii_digit())
        && time.len() >= 8
        && time.as_bytes()[2] == b':'
        && time.as_bytes()[5] == b':')
        .then_some(())
}

/// `a/b`, built without the formatting machinery (this runs for every prefixed line).
fn joined(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + 1 + b.len());
    s.push_str(a);
    s.push('/');
    s.push_str(b);
    s
}

/// Classify the text before a record. `None`: no known shape.
pub fn parse(prefix: &str) -> Option<Prefix> {
    let p = prefix.strip_suffix(' ')?;
    let plain = |stream: Option<String>| Some(Prefix { stream, cri: None });
    // kubectl logs --prefix: `[pod/NAME/CONTAINER]`.
    if let Some(inner) = p.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return if is_name(inner) {
            plain(Some(inner.to_owned()))
        } else {
            None
        };
    }
    // docker compose logs: `NAME  |` (padded).
    if let Some(name) = p.strip_suffix('|') {
        let name = name.trim_end();
        return if is_name(name) {
            plain(Some(name.to_owned()))
        } else {
            None
        };
    }
    // The words, without allocating: no known shape has more than seven.
    let mut words = [""; 8];
    let mut n = 0;
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        if n == words.len() {
            return None;
        }
        let end = memchr::memchr(b' ', &b[i..]).map_or(b.len(), |k| i + k);
        words[n] = &p[i..end];
        n += 1;
        i = end;
    }
    match &words[..n] {
        // docker logs -t, kubectl logs --timestamps.
        [ts] if is_rfc3339(ts) => plain(None),
        // CRI: `TIME STREAM P|F`.
        [ts, stream, tag] if is_rfc3339(ts) && matches!(*stream, "stdout" | "stderr") => match *tag
        {
            "F" => Some(Prefix {
                stream: None,
                cri: Some(true),
            }),
            "P" => Some(Prefix {
                stream: None,
                cri: Some(false),
            }),
            _ => None,
        },
        // journalctl -o short-iso: `2026-03-02T10:00:00+0000 HOST PROG[PID]:`.
        [ts, host, tag] if is_rfc3339(ts) && is_name(host) => {
            let prog = syslog_tag(tag)?;
            plain(Some(joined(host, prog)))
        }
        // RFC 5424: `<PRI>1 TIME HOST APP PROCID MSGID SD` (SD `-` or `[…]`, no spaces inside
        // here).
        [pri, ts, host, app, _procid, _msgid, sd]
            if pri.starts_with('<') && pri.contains(">1") && is_rfc3339(ts) =>
        {
            if is_name(host) && is_name(app) && (*sd == "-" || sd.starts_with('[')) {
                plain(Some(joined(host, app)))
            } else {
                None
            }
        }
        // syslog (RFC 3164, journalctl short, short-precise): `Mon dd HH:MM:SS HOST PROG[PID]:`.
        [_, _, _, host, tag] => {
            let mut it = words[..3].iter().copied();
            syslog_time(&mut it)?;
            let prog = syslog_tag(tag)?;
            if is_name(host) {
                plain(Some(joined(host, prog)))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The text after a prefix of known shape, on a line that holds no record: a continuation line
/// of a multi-line message, as its collector wrote it. `None`: no known prefix.
pub fn strip_known(line: &str) -> Option<&str> {
    // The window ends at a character boundary: byte MAX_PREFIX may fall inside a multi-byte
    // character (found by fuzzing: slicing there panicked).
    let mut end = line.len().min(MAX_PREFIX);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let window = &line[..end];
    window
        .char_indices()
        .filter(|(_, c)| *c == ' ')
        .map(|(i, _)| i + 1)
        .find(|&end| parse(&line[..end]).is_some())
        .map(|end| &line[end..])
}

/// The payload of a CRI line (`TIME STREAM P|F payload`) and whether it ends its line (`F`).
pub fn cri_payload(line: &str) -> Option<(&str, bool)> {
    let mut parts = line.splitn(4, ' ');
    let (ts, stream, tag) = (parts.next()?, parts.next()?, parts.next()?);
    let payload = parts.next().unwrap_or("");
    if !is_rfc3339(ts) || !matches!(stream, "stdout" | "stderr") {
        return None;
    }
    match tag {
        "F" => Some((payload, true)),
        "P" => Some((payload, false)),
        _ => None,
    }
}

/// The pod and container of a CRI log file named `POD_NAMESPACE_CONTAINER-ID.log`
/// (`/var/log/containers/`): `POD/CONTAINER`.
pub fn cri_file_stream(file_name: &str) -> Option<String> {
    let base = file_name.strip_suffix(".log")?;
    let (rest, id) = base.rsplit_once('-')?;
    if id.len() != 64 || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut parts = rest.splitn(3, '_');
    let (pod, _namespace, container) = (parts.next()?, parts.next()?, parts.next()?);
    (is_name(pod) && is_name(container)).then(|| format!("{pod}/{container}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REC: &str =
        "2026-03-02T10:00:00.123Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org o";

    fn split(line: &str) -> Option<(Option<String>, Option<bool>, &str)> {
        let i = record_start(line.as_bytes())?;
        if i == 0 {
            return Some((None, None, line));
        }
        let p = parse(&line[..i])?;
        Some((p.stream, p.cri, &line[i..]))
    }

    #[test]
    fn finds_the_record_behind_each_prefix() {
        let cases = [
            ("", None, None),
            (
                "Mar  2 10:00:00 gwhost ganymede[1234]: ",
                Some("gwhost/ganymede"),
                None,
            ),
            (
                "Mar 02 10:00:00.123456 gwhost ganymede[1234]: ",
                Some("gwhost/ganymede"),
                None,
            ),
            (
                "Mar  2 10:00:00 gwhost ganymede: ",
                Some("gwhost/ganymede"),
                None,
            ),
            (
                "2026-03-02T10:00:00+0000 gwhost ganymede[1234]: ",
                Some("gwhost/ganymede"),
                None,
            ),
            (
                "<165>1 2026-03-02T10:00:00.123Z gwhost ganymede 1234 - - ",
                Some("gwhost/ganymede"),
                None,
            ),
            ("2026-03-02T10:00:00.123456789Z ", None, None),
            ("2026-03-02T10:00:00.123456789Z stdout F ", None, Some(true)),
            (
                "2026-03-02T10:00:00.123456789Z stderr P ",
                None,
                Some(false),
            ),
            ("ganymede-1  | ", Some("ganymede-1"), None),
            ("gw-pool-3  | ", Some("gw-pool-3"), None),
            (
                "[pod/ganymede-7d9f/ganymede] ",
                Some("pod/ganymede-7d9f/ganymede"),
                None,
            ),
        ];
        for (prefix, stream, cri) in cases {
            let line = format!("{prefix}{REC}");
            let (s, c, rec) = split(&line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(s.as_deref(), stream, "{line}");
            assert_eq!(c, cri, "{line}");
            assert_eq!(rec, REC);
        }
    }

    #[test]
    fn unknown_prefixes_and_quoted_records_are_not_guessed() {
        // A record of another category quoting a gateway record is that other record.
        let quoting =
            format!("2026-03-02T10:00:00.123Z [INFO     ] [HTTP                ] POST {REC}");
        assert_eq!(record_start(quoting.as_bytes()), Some(0));
        for line in [format!("some text {REC}"), format!("<pre>{REC}")] {
            let i = record_start(line.as_bytes()).unwrap();
            assert!(i > 0);
            assert_eq!(parse(&line[..i]), None, "{line}");
        }
        assert_eq!(record_start(b"no record here GATEWAY_ALLOC"), None);
        assert_eq!(
            record_start(b"2026-03-02T10:00:00.123Z GATEWAY_ALLOC broken"),
            None
        );
    }

    #[test]
    fn continuation_lines_lose_their_prefix() {
        assert_eq!(
            strip_known("ganymede-1  |     at handler (x.js:1)"),
            Some("    at handler (x.js:1)")
        );
        assert_eq!(
            strip_known("Mar  2 10:00:00 gwhost ganymede[1234]: </html>"),
            Some("</html>")
        );
        assert_eq!(strip_known("    at handler (x.js:1)"), None);
    }

    /// Fuzzing regression: a continuation line whose byte 256 (the end of the window looked
    /// into for a prefix) falls inside a multi-byte character panicked on slicing.
    #[test]
    fn a_character_across_the_prefix_window_end() {
        let line = include_str!("../../fuzz/regressions/prefix-window-char-boundary.log");
        let line = line.strip_suffix('\n').unwrap();
        assert!(!line.is_char_boundary(MAX_PREFIX));
        assert_eq!(
            strip_known(line),
            line.strip_prefix("ganymede-1  | "),
            "the prefix is still found"
        );
        assert_eq!(strip_known(&format!("<{line}")), None);
    }

    #[test]
    fn cri_pieces_and_file_names() {
        assert_eq!(
            cri_payload("2026-03-02T10:00:00.1Z stdout P abc def"),
            Some(("abc def", false))
        );
        assert_eq!(
            cri_payload("2026-03-02T10:00:00.1Z stdout F "),
            Some(("", true))
        );
        assert_eq!(cri_payload("ganymede-1 | x"), None);
        let id = "a".repeat(64);
        assert_eq!(
            cri_file_stream(&format!("ganymede-7d9f_prod_ganymede-{id}.log")).as_deref(),
            Some("ganymede-7d9f/ganymede")
        );
        assert_eq!(cri_file_stream("ganymede.log"), None);
    }
}
