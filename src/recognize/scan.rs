//! The parallel part of decode + recognize: scan one chunk of whole lines.
//!
//! The chunk is searched for the category bytes `GATEWAY_` with memchr's memmem (as grep does);
//! only the lines around a hit are decoded and classified. Everything else is only counted.
//! A scan keeps no state between chunks, so chunks of one input are scanned on all cores and the
//! results are put back in order (by the batch pipeline) before the in-order part,
//! [`super::InputRecognizer`], sees them.

use std::borrow::Cow;

use memchr::memmem;

use super::{Classified, Skipped, classify};
use crate::decode::{self, Format, Malformed, Record, console, docker, prefix};
use crate::units::Millis;

/// What a scan needs to know.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    pub format: Format,
    pub max_line: usize,
    /// Keep the text of skipped lines and the messages of records, for `-v`.
    pub verbose: bool,
}

/// What a scan found on a line around a `GATEWAY_` hit: a classified gateway record, or a piece
/// of a console line split by its transport (Docker's json-file and CRI split lines at 16 KiB),
/// joined in order later.
#[derive(Clone, Debug, PartialEq)]
pub enum HitKind {
    Record {
        time: Millis,
        classified: Classified,
        /// The gateway container that wrote it, when the transport says so.
        emitter: Option<String>,
        /// The source named by the line's prefix (compose service, pod/container, syslog
        /// host/program).
        stream: Option<String>,
        /// The message, when verbose.
        message: String,
    },
    Piece {
        text: String,
        /// This piece ends the console line.
        last: bool,
    },
}

/// Which transport split a line whose next piece is expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceKind {
    Docker,
    Cri,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Physical line number (1-based) in the input.
    pub line: u64,
    pub kind: HitKind,
}

/// The result of scanning one chunk.
#[derive(Debug, Default)]
pub struct Scanned {
    /// Physical lines in the chunk.
    pub lines: u64,
    /// Bytes in the chunk.
    pub bytes: u64,
    /// The start of the chunk's first non-empty line, to tell what kind of log it is.
    pub sample: Option<String>,
    pub hits: Vec<Hit>,
    pub skipped: Vec<Skipped>,
}

/// Scans chunks; holds the compiled searcher.
/// How many lines may lie between two pieces of one Docker line and still be joined: stdout
/// and stderr share the file, and what comes between holds no lifecycle record (that would end
/// the join).
pub const PIECE_GAP: u64 = 64;

pub struct Scanner {
    cfg: ScanConfig,
    finder: memmem::Finder<'static>,
}

const EXCERPT: usize = 300;

fn excerpt(line: &[u8]) -> String {
    let end = line.len().min(EXCERPT);
    String::from_utf8_lossy(&line[..end]).into_owned()
}

impl Scanner {
    pub fn new(cfg: ScanConfig) -> Scanner {
        Scanner {
            cfg,
            finder: memmem::Finder::new(decode::CATEGORY_PREFIX).into_owned(),
        }
    }

    /// Scan `data` (whole lines; the last may lack its newline) whose first line is `first_line`.
    pub fn scan(&mut self, data: &[u8], first_line: u64) -> Scanned {
        let mut out = Scanned {
            sample: sample(data),
            bytes: data.len() as u64,
            ..Scanned::default()
        };
        let mut pos = 0; // always at a line start
        let mut counted = 0; // newlines in data[..counted] are already counted into line_no
        let mut line_no = first_line;
        // The first line may continue a line split in the previous chunk.
        let mut piece = self.piece_at_start(data);
        // Lines passed over between two pieces of a Docker line (not after the guess at the
        // chunk's start: only after a piece seen here).
        let mut gap = 0;
        let mut guessed = piece.is_some();
        while pos < data.len() {
            let start = if piece.is_some() {
                pos
            } else {
                let Some(hit) = self.finder.find(&data[pos..]) else {
                    break;
                };
                memchr::memrchr(b'\n', &data[pos..pos + hit]).map_or(pos, |i| pos + i + 1)
            };
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            line_no += bytecount::count(&data[counted..start], b'\n') as u64;
            counted = start;
            let raw = &data[start..end];
            if piece == Some(PieceKind::Docker)
                && !guessed
                && gap < PIECE_GAP
                && (raw.first() != Some(&b'{')
                    || docker::decode(&String::from_utf8_lossy(raw)).is_err())
            {
                // Not a Docker object (a blank or foreign line): the next piece may follow.
                if memmem::find(raw, decode::CATEGORY_PREFIX).is_some() {
                    out.skipped.push(Skipped {
                        line: line_no,
                        reason: "invalid Docker json-file line",
                        excerpt: if self.cfg.verbose {
                            excerpt(raw)
                        } else {
                            String::new()
                        },
                    });
                }
                gap += 1;
                pos = end + 1;
                continue;
            }
            gap = 0;
            guessed = false;
            piece = self.line(raw, line_no, piece, &mut out);
            pos = end + 1;
        }
        line_no += bytecount::count(&data[counted..], b'\n') as u64;
        if data.last().is_some_and(|b| *b != b'\n') {
            line_no += 1;
        }
        out.lines = line_no - first_line;
        out
    }

    /// Whether the chunk's first line may continue a line split at the end of the previous
    /// chunk (a Docker object, a CRI line): then it is passed on as a piece, and the in-order
    /// joining decides.
    fn piece_at_start(&self, data: &[u8]) -> Option<PieceKind> {
        let docker_possible = matches!(self.cfg.format, Format::Docker | Format::Auto);
        if docker_possible && data.first() == Some(&b'{') {
            return Some(PieceKind::Docker);
        }
        let console_possible = matches!(self.cfg.format, Format::Console | Format::Auto);
        if console_possible && data.first().is_some_and(u8::is_ascii_digit) {
            let end = memchr::memchr(b'\n', data).unwrap_or(data.len());
            let first = String::from_utf8_lossy(&data[..end.min(256)]);
            if prefix::cri_payload(&first).is_some() {
                return Some(PieceKind::Cri);
            }
        }
        None
    }

    /// Decode and classify one line. Returns which piece the next line continues, if any.
    fn line(
        &mut self,
        raw: &[u8],
        line: u64,
        piece: Option<PieceKind>,
        out: &mut Scanned,
    ) -> Option<PieceKind> {
        let piece_expected = piece == Some(PieceKind::Docker);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let skip = |out: &mut Scanned, reason: &'static str, verbose: bool| {
            out.skipped.push(Skipped {
                line,
                reason,
                excerpt: if verbose { excerpt(raw) } else { String::new() },
            })
        };
        if raw.len() > self.cfg.max_line {
            skip(out, "line longer than --max-line-length", self.cfg.verbose);
            return None;
        }
        let text: Cow<'_, str> = match std::str::from_utf8(raw) {
            Ok(t) => Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(raw),
        };
        let format = match self.cfg.format {
            Format::Auto => decode::detect(raw),
            f => f,
        };
        if format == Format::Docker {
            return match docker::decode(&text) {
                Ok(p) if piece_expected || !p.is_last() => {
                    let last = p.is_last();
                    out.hits.push(Hit {
                        line,
                        kind: HitKind::Piece {
                            text: p.log.into_owned(),
                            last,
                        },
                    });
                    (!last).then_some(PieceKind::Docker)
                }
                Ok(p) => {
                    let log = p.log.strip_suffix('\n').unwrap_or(&p.log);
                    console(None, log, line, self.cfg.verbose, out);
                    None
                }
                Err(Malformed(why)) => {
                    if !piece_expected || memmem::find(raw, decode::CATEGORY_PREFIX).is_some() {
                        skip(out, why, self.cfg.verbose);
                    }
                    None
                }
            };
        }
        if piece == Some(PieceKind::Cri)
            && let Some((payload, last)) = prefix::cri_payload(&text)
        {
            out.hits.push(Hit {
                line,
                kind: HitKind::Piece {
                    text: payload.to_owned(),
                    last,
                },
            });
            return (!last).then_some(PieceKind::Cri);
        }
        if piece.is_some() && self.cfg.format == Format::Auto {
            // Auto mode guessed a piece at a chunk start; this is not one, so decode normally
            // only if it holds the category bytes.
            memmem::find(raw, decode::CATEGORY_PREFIX)?;
        }
        if format == Format::Console {
            return console(Some(raw), &text, line, self.cfg.verbose, out);
        }
        // The records borrow `text`; they are classified before it goes.
        let mut recs: Vec<Record<'_>> = Vec::new();
        match decode::decode_into(&text, format, &mut recs) {
            Ok(()) => {}
            Err(Malformed(why)) => skip(out, why, self.cfg.verbose),
        }
        for r in recs.drain(..) {
            push_record(r, line, self.cfg.verbose, out);
        }
        None
    }
}

/// A console line, bare or behind a collector's prefix (syslog, `docker logs -t`, compose,
/// kubectl, CRI). `raw` is the line as read when it travelled bare (not inside a JSON
/// envelope): only then can bytes that are no text mean a broken line. Returns `Some(Cri)`
/// when it is the first piece of a CRI line split at 16 KiB.
pub fn console(
    raw: Option<&[u8]>,
    text: &str,
    line: u64,
    verbose: bool,
    out: &mut Scanned,
) -> Option<PieceKind> {
    let skip = |out: &mut Scanned, reason: &'static str| {
        out.skipped.push(Skipped {
            line,
            reason,
            excerpt: if verbose {
                excerpt(text.as_bytes())
            } else {
                String::new()
            },
        })
    };
    let (record, stream) = match prefix::record_start(text.as_bytes()) {
        Some(0) => (text, None),
        Some(i) => match prefix::parse(&text[..i]) {
            Some(p) if p.cri == Some(false) => {
                // The first 16 KiB of a longer line: the rest follows in `P`/`F` pieces.
                out.hits.push(Hit {
                    line,
                    kind: HitKind::Piece {
                        text: text[i..].to_owned(),
                        last: false,
                    },
                });
                return Some(PieceKind::Cri);
            }
            Some(p) => (&text[i..], p.stream),
            None => {
                skip(out, "console record behind a prefix of no known shape");
                return None;
            }
        },
        None => {
            // No record on this line: a continuation line of a multi-line message is
            // normal text (even one that mentions `[GATEWAY_ALLOC]`), also behind its
            // collector's prefix; a broken record is skipped, and a line that is not a console
            // line at all is told why.
            let (text, raw) = match prefix::strip_known(text) {
                Some(rest) => (rest, raw.map(|r| &r[r.len().saturating_sub(rest.len())..])),
                None => (text, raw),
            };
            match console::decode(text) {
                Ok(Some(r)) => push_record(r, line, verbose, out),
                Ok(None) => {
                    if raw.is_some_and(looks_like_junk) {
                        skip(out, "not a log line (binary or broken record)");
                    }
                }
                Err(Malformed(why)) => skip(out, why),
            }
            return None;
        }
    };
    match console::decode(record) {
        Ok(Some(r)) => push_stream_record(r, stream, line, verbose, out),
        Ok(None) => {}
        Err(Malformed(why)) => skip(out, why),
    }
    None
}

/// The start of the first non-empty line of `data` (at most [`EXCERPT`] bytes).
fn sample(data: &[u8]) -> Option<String> {
    let head = &data[..data.len().min(64 * 1024)];
    head.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| !l.is_empty())
        .map(excerpt)
}

/// A line holding the category bytes that is not a record: a continuation line of a multi-line
/// message is normal text (even one that mentions `[GATEWAY_ALLOC]`); binary bytes, or the
/// `] [GATEWAY_` of the priority and category columns, mean a broken record.
fn looks_like_junk(raw: &[u8]) -> bool {
    memmem::find(raw, b"] [GATEWAY_").is_some()
        || std::str::from_utf8(raw).is_err()
        || raw.iter().any(|b| *b < 0x20 && *b != b'\t')
}

/// Classify a decoded record into `out`: a hit, a skip, or nothing.
pub fn push_record(r: Record<'_>, line: u64, verbose: bool, out: &mut Scanned) {
    push_stream_record(r, None, line, verbose, out);
}

/// [`push_record`] for a record whose line's prefix named its source.
pub fn push_stream_record(
    r: Record<'_>,
    stream: Option<String>,
    line: u64,
    verbose: bool,
    out: &mut Scanned,
) {
    match classify(&r) {
        Classified::Unknown | Classified::Known => {}
        Classified::Malformed(why) => out.skipped.push(Skipped {
            line,
            reason: why,
            excerpt: if verbose {
                r.message.chars().take(EXCERPT).collect()
            } else {
                String::new()
            },
        }),
        classified => out.hits.push(Hit {
            line,
            kind: HitKind::Record {
                time: r.time,
                classified,
                emitter: r.emitter.map(Cow::into_owned),
                stream,
                message: if verbose {
                    r.message.into_owned()
                } else {
                    String::new()
                },
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(format: Format) -> ScanConfig {
        ScanConfig {
            format,
            max_line: 1 << 20,
            verbose: true,
        }
    }

    const A: &str =
        "2026-03-04T09:15:02.118Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org o1";
    const H: &str =
        "2026-03-04T09:15:02.119Z [INFO     ] [HTTP                ] POST /gateway/start 200";

    #[test]
    fn finds_lines_and_numbers_them() {
        let data = format!("{H}\n{A}\n{H}\n\ncontinuation GATEWAY_ALLOC junk\n{A} again\n{H}");
        let s = Scanner::new(cfg(Format::Console)).scan(data.as_bytes(), 10);
        assert_eq!(s.lines, 7);
        let lines: Vec<u64> = s.hits.iter().map(|i| i.line).collect();
        assert_eq!(lines, vec![11, 15]);
        assert!(s.skipped.is_empty());
    }

    #[test]
    fn malformed_candidates_are_skipped() {
        let data = "2026-03-04T09:15:02.118Z [INFO     ] [GATEWAY_ALLOC       ] Allocated gw-pool-3 (port 71\n\
                    {\"log\":\"2026-03-04T09:15:02.118Z [INFO     ] [GATEWAY_ALLOC\n";
        let s = Scanner::new(cfg(Format::Auto)).scan(data.as_bytes(), 1);
        assert_eq!(s.lines, 2);
        assert_eq!(s.skipped.len(), 2);
        assert_eq!(s.skipped[1].line, 2);
    }

    #[test]
    fn docker_pieces_are_passed_on() {
        let first = serde_json::json!({"log": format!("{A} {}", "x".repeat(100)), "stream":"stdout","time":"t"}).to_string();
        let second = serde_json::json!({"log": "tail\n", "stream":"stdout","time":"t"}).to_string();
        let plain =
            serde_json::json!({"log": format!("{H}\n"), "stream":"stdout","time":"t"}).to_string();
        let data = format!("{plain}\n{first}\n{second}\n{plain}\n");
        let s = Scanner::new(cfg(Format::Docker)).scan(data.as_bytes(), 1);
        // The chunk's first line is always passed on as a possible continuation.
        assert_eq!(s.hits.len(), 3);
        assert!(matches!(&s.hits[0].kind, HitKind::Piece { last: true, .. }));
        assert!(matches!(
            &s.hits[1].kind,
            HitKind::Piece { last: false, .. }
        ));
        assert_eq!(
            s.hits[2].kind,
            HitKind::Piece {
                text: "tail\n".into(),
                last: true
            }
        );
        assert_eq!(s.hits[2].line, 3);
        // A blank or foreign line between the pieces is passed over.
        let data = format!("{plain}\n{first}\n\nnot json\n{second}\n{plain}\n");
        let s = Scanner::new(cfg(Format::Docker)).scan(data.as_bytes(), 1);
        assert_eq!(s.hits.len(), 3);
        assert_eq!(
            s.hits[2].kind,
            HitKind::Piece {
                text: "tail\n".into(),
                last: true
            }
        );
        assert_eq!(s.hits[2].line, 5);
        assert_eq!(s.lines, 6);
    }

    #[test]
    fn otlp_lines_give_several_records() {
        let rec = |m: &str| {
            format!(
                r#"{{"timeUnixNano":"1772615702118000000","body":{{"stringValue":"{m}"}},"attributes":[{{"key":"log.category","value":{{"stringValue":"GATEWAY_ALLOC"}}}}]}}"#
            )
        };
        let line = format!(
            r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{},{}]}}]}}]}}"#,
            rec("Starting gateway for org a"),
            rec("Starting gateway for org b")
        );
        let s = Scanner::new(cfg(Format::Auto)).scan(line.as_bytes(), 1);
        assert_eq!(s.hits.len(), 2);
        assert_eq!(s.lines, 1);
    }
}
