//! The in-order part of recognition, one per input: Docker piece joining, the stateful
//! [`Recognizer`], and the time-order check. Scan results of one input arrive here in order,
//! whichever core scanned them.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::scan::{Hit, HitKind, PIECE_GAP, ScanConfig, Scanned, console};
use super::{InputCounts, ReadStats, Recognized, Recognizer, Skipped};
use crate::event::{Event, Origin};
use crate::units::Millis;

/// Recognition state of one input (carried across `gwmon check` runs in its state file).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct InputRecognizer {
    pub recognizer: Recognizer,
    pub last_time: Option<Millis>,
    /// The source this input is, when its file name says (a CRI file names its pod and
    /// container): the `stream` of its events whose lines name none.
    #[serde(default)]
    pub stream: Option<String>,
    /// The container a file's name says it is the log of (`gw-pool-3.log`): the gateway its
    /// gateway-side lines are about when nothing else names one.
    #[serde(default)]
    pub file_gateway: Option<String>,
    /// A Docker line being joined from its 16 KiB pieces.
    piece: Option<Joining>,
}

/// A Docker line being joined.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Joining {
    /// Line number of the first piece, and of the latest.
    first: u64,
    latest: u64,
    text: String,
    /// Longer than the limit: counted once, its remaining pieces dropped.
    overlong: bool,
}

/// Where recognition of input `input` puts what it finds: events in order, skipped lines,
/// counts.
pub struct Output<'a> {
    pub input: u32,
    pub events: &'a mut VecDeque<Event>,
    pub skipped: &'a mut Vec<Skipped>,
    pub stats: &'a mut ReadStats,
}

impl Output<'_> {
    fn counts(&mut self) -> &mut InputCounts {
        self.stats.inputs.entry(self.input).or_default()
    }

    fn skip(&mut self, s: Skipped) {
        self.stats.skipped += 1;
        self.counts().skipped += 1;
        self.skipped.push(s);
    }

    /// Count a scanned chunk's lines and take its skipped lines (those skipped for length by
    /// the framer too).
    pub fn chunk(&mut self, scanned: &mut Scanned, overlong: &[u64]) {
        let lines = scanned.lines + overlong.len() as u64;
        self.stats.lines += lines;
        let bytes = scanned.bytes;
        let c = self.counts();
        c.lines += lines;
        c.bytes += bytes;
        if c.sample.is_none() {
            c.sample = scanned.sample.take();
        }
        for line in overlong {
            self.skip(Skipped::overlong(*line));
        }
        for s in scanned.skipped.drain(..) {
            self.skip(s);
        }
    }
}

impl InputRecognizer {
    /// The state of a new input read from `path` (`None`: stdin).
    pub fn for_path(path: Option<&std::path::Path>) -> InputRecognizer {
        InputRecognizer {
            stream: stream_of_file(path),
            file_gateway: gateway_of_file(path),
            ..InputRecognizer::default()
        }
    }

    /// Turn one scanned hit of input `input` into events. `cfg.max_line` bounds a joined Docker
    /// line; with `cfg.verbose`, events keep their message.
    pub fn push(&mut self, input: u32, hit: Hit, cfg: &ScanConfig, out: &mut Output<'_>) {
        match hit.kind {
            HitKind::Piece { text, last } => {
                // The next piece of the line being joined: the lines in between, if any, hold
                // nothing of the service's (the other stream's lines, a blank or foreign line).
                let continues = self
                    .piece
                    .as_ref()
                    .is_some_and(|j| hit.line > j.latest && hit.line - j.latest <= PIECE_GAP);
                if !continues {
                    self.flush_piece(input, cfg, out);
                }
                let mut j = self.piece.take().unwrap_or(Joining {
                    first: hit.line,
                    latest: hit.line,
                    text: String::new(),
                    overlong: false,
                });
                j.latest = hit.line;
                if !j.overlong && j.text.len() + text.len() > cfg.max_line {
                    out.skip(Skipped {
                        line: j.first,
                        reason: "joined Docker line longer than --max-line-length",
                        excerpt: j.text.chars().take(300).collect(),
                    });
                    j.overlong = true;
                    j.text = String::new();
                }
                if !j.overlong {
                    j.text.push_str(&text);
                }
                self.piece = Some(j);
                if last {
                    self.flush_piece(input, cfg, out);
                }
            }
            HitKind::Record { .. } => {
                self.flush_piece(input, cfg, out);
                self.recognize(input, hit, out);
            }
        }
    }

    /// Recognize a classified record (pieces are joined before they get here).
    fn recognize(&mut self, input: u32, hit: Hit, out: &mut Output<'_>) {
        let HitKind::Record {
            time,
            classified,
            emitter,
            stream,
            message,
        } = hit.kind
        else {
            return;
        };
        let stream = stream.or_else(|| self.stream.clone());
        // A gateway-side line names its gateway by the transport's emitter, else by its stream,
        // else by its file's name.
        let emitter = emitter
            .as_deref()
            .or(stream.as_deref().map(|s| pool_container(s).unwrap_or(s)))
            .or(self.file_gateway.as_deref());
        match self.recognizer.recognize(classified, emitter) {
            Recognized::Event(kind) => {
                if self.last_time.is_some_and(|t| time < t) {
                    out.stats.time_backwards += 1;
                }
                self.last_time = Some(self.last_time.map_or(time, |t| t.max(time)));
                let c = out.counts();
                c.events += 1;
                c.last_time = Some(c.last_time.map_or(time, |t| t.max(time)));
                out.events.push_back(Event {
                    time,
                    kind,
                    origin: Origin {
                        input,
                        line: hit.line,
                    },
                    stream,
                    raw: message,
                });
            }
            Recognized::Nothing => {}
            Recognized::Malformed(reason) => out.skip(Skipped {
                line: hit.line,
                reason,
                excerpt: message,
            }),
        }
    }

    /// Decode a joined Docker line (also at the end of an input: a line cut short).
    pub fn flush_piece(&mut self, input: u32, cfg: &ScanConfig, out: &mut Output<'_>) {
        let Some(Joining {
            first,
            text,
            overlong: false,
            ..
        }) = self.piece.take()
        else {
            return;
        };
        let line = text.strip_suffix('\n').unwrap_or(&text);
        let mut scanned = Scanned::default();
        console(None, line, first, cfg.verbose, &mut scanned);
        if !line.contains("GATEWAY_") {
            // Only a line that could hold a lifecycle record is counted as skipped.
            scanned.skipped.clear();
        }
        for s in scanned.skipped {
            out.skip(s);
        }
        for hit in scanned.hits {
            self.recognize(input, hit, out);
        }
    }
}

/// The source a file's name says it is: a CRI file under `/var/log/containers/` names its pod
/// and container.
pub fn stream_of_file(path: Option<&std::path::Path>) -> Option<String> {
    let name = path?.file_name()?.to_str()?;
    crate::decode::prefix::cri_file_stream(name)
}

/// The container a log file's name holds: a pool container's name in it (`gw-pool-N`, as the
/// service names them: `docker-gw-pool-3-json.log` → `gw-pool-3`), else its name up to the
/// first `.` (`gw-pool-3.log`, `gw-pool-3.log.1.gz` → `gw-pool-3`).
pub fn gateway_of_file(path: Option<&std::path::Path>) -> Option<String> {
    let name = path?.file_name()?.to_str()?;
    if let Some(c) = pool_container(name) {
        return Some(c.to_owned());
    }
    let stem = name.split('.').next()?;
    (!stem.is_empty()).then(|| stem.to_owned())
}

/// The first `gw-pool-N` in `s` (a compose service `gw-pool-3-1`, a file name), the name the
/// service's `Allocated gw-pool-N …` lines use.
pub fn pool_container(s: &str) -> Option<&str> {
    const P: &str = "gw-pool-";
    let mut from = 0;
    while let Some(i) = s[from..].find(P) {
        let start = from + i;
        let digits = s[start + P.len()..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if digits > 0 {
            return Some(&s[start..start + P.len() + digits]);
        }
        from = start + P.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Kind;

    #[test]
    fn a_file_or_stream_name_holds_its_container() {
        let of = |n: &str| gateway_of_file(Some(std::path::Path::new(n)));
        assert_eq!(of("/logs/gw-pool-3.log.1.gz").as_deref(), Some("gw-pool-3"));
        assert_eq!(
            of("docker-gw-pool-12-json.log").as_deref(),
            Some("gw-pool-12")
        );
        assert_eq!(of("gateway-a.log").as_deref(), Some("gateway-a"));
        assert_eq!(of(".hidden"), None);
        assert_eq!(pool_container("gw-pool-3-1"), Some("gw-pool-3"));
        assert_eq!(pool_container("gw-pool-x gw-pool-7"), Some("gw-pool-7"));
        assert_eq!(pool_container("gw-pool-"), None);
        assert_eq!(pool_container("ganymede-1"), None);
    }

    fn piece(line: u64, text: &str, last: bool) -> Hit {
        Hit {
            line,
            kind: HitKind::Piece {
                text: text.into(),
                last,
            },
        }
    }

    fn feed(hits: Vec<Hit>, max_line: usize) -> (Vec<Event>, ReadStats) {
        let mut st = InputRecognizer::default();
        let mut stats = ReadStats::default();
        let mut events = VecDeque::new();
        let mut skipped = Vec::new();
        let mut out = Output {
            input: 0,
            events: &mut events,
            skipped: &mut skipped,
            stats: &mut stats,
        };
        let cfg = ScanConfig {
            format: crate::decode::Format::Auto,
            max_line,
            verbose: false,
        };
        for h in hits {
            st.push(0, h, &cfg, &mut out);
        }
        st.flush_piece(0, &cfg, &mut out);
        (events.into(), stats)
    }

    #[test]
    fn docker_pieces_are_joined_into_one_line() {
        let line = "2026-03-04T09:15:02.119Z [ERROR    ] [GATEWAY_ALLOC       ] Failed to start gateway for org o: \"Gateway initialization failed: 502 <html>";
        let (a, b) = line.split_at(40);
        let (b, c) = b.split_at(30);
        let (ev, stats) = feed(
            vec![
                piece(7, a, false),
                piece(8, b, false),
                piece(9, &format!("{c}...</html>\"\n"), true),
            ],
            1 << 20,
        );
        assert_eq!(stats.skipped, 0);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].origin.line, 7);
        match &ev[0].kind {
            Kind::AllocFailed {
                reason, message, ..
            } => {
                assert_eq!(*reason, crate::event::Reason::Init);
                assert!(message.ends_with("...</html>"), "{message}");
            }
            k => panic!("{k:?}"),
        }
    }

    /// stdout and stderr share a Docker log file: lines of the other stream (or a blank line)
    /// may lie between two pieces of one line; they are still joined. Far apart, they are not.
    #[test]
    fn docker_pieces_with_other_lines_between_are_joined() {
        let line = "2026-03-04T09:15:02.119Z [ERROR    ] [GATEWAY_ALLOC       ] Failed to start gateway for org o: \"Gateway initialization failed: 502 <html>";
        let (a, b) = line.split_at(50);
        let (ev, stats) = feed(
            vec![
                piece(7, a, false),
                piece(10, &format!("{b}</html>\"\n"), true),
            ],
            1 << 20,
        );
        assert_eq!((ev.len(), stats.skipped), (1, 0));
        assert!(
            matches!(&ev[0].kind, Kind::AllocFailed { message, .. } if message.ends_with("</html>"))
        );
        let (ev, _) = feed(
            vec![
                piece(7, a, false),
                piece(7 + PIECE_GAP + 1, &format!("{b}</html>\"\n"), true),
            ],
            1 << 20,
        );
        assert!(
            !matches!(ev.first().map(|e| &e.kind), Some(Kind::AllocFailed { message, .. }) if message.ends_with("</html>")),
            "{ev:?}"
        );
    }

    #[test]
    fn an_overlong_joined_line_is_counted_once_and_dropped() {
        let head = "2026-03-04T09:15:02.118Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org o ";
        let mut hits = vec![piece(1, head, false)];
        for i in 2..10 {
            hits.push(piece(i, &"x".repeat(100), false));
        }
        hits.push(piece(10, "end\n", true));
        // The next line, complete, is read normally.
        hits.push(piece(11, "2026-03-04T09:15:03.000Z [INFO     ] [GATEWAY_ALLOC       ] Starting gateway for org p\n", true));
        let (ev, stats) = feed(hits, 300);
        assert_eq!(stats.skipped, 1);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, Kind::AllocAttempt { org: "p".into() });
    }
}
