//! Entry points for the fuzz targets under `fuzz/` (built with `--features fuzzing`, and in unit
//! tests, which replay the seed corpus and every kept regression through them; see fuzz/README.md). Each takes arbitrary bytes and runs the real code path over them, the way
//! gwmon meets them: lines split on `\n`, bytes that are no UTF-8 replaced as the scanner does.
//! A target must never panic, hang or allocate without bound; what a target checks beyond that
//! is said at the function.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::alert::Monitor;
use crate::alert::config::Alerts;
use crate::decode::{self, Format, console, docker, logcli, otlp, prefix};
use crate::export::serve::{self, Published, Shared};
use crate::pipeline::batch::ReadOptions;
use crate::pipeline::session::Session;
use crate::pool::PoolConfig;
use crate::recognize::input::{InputRecognizer, Output};
use crate::recognize::scan::{self, ScanConfig, Scanned, Scanner};
use crate::recognize::{ReadStats, Skipped};
use crate::source::Framer;
use crate::source::follow::FollowChunk;

/// The lines of `data`, as text.
fn lines(data: &[u8]) -> impl Iterator<Item = Cow<'_, str>> {
    data.split(|b| *b == b'\n').map(String::from_utf8_lossy)
}

/// `decode::console`, and the scanner's console path (bare or behind a prefix).
pub fn console(data: &[u8]) {
    for (n, line) in data.split(|b| *b == b'\n').enumerate() {
        let text = String::from_utf8_lossy(line);
        if let Ok(Some(r)) = console::decode(&text) {
            assert!(r.category.starts_with("GATEWAY_"));
        }
        let mut out = Scanned::default();
        scan::console(Some(line), &text, n as u64 + 1, true, &mut out);
    }
}

/// `decode::docker` and `decode_into` in the Docker shape.
pub fn docker(data: &[u8]) {
    for line in lines(data) {
        if let Ok(p) = docker::decode(&line) {
            let _ = p.is_last();
        }
        let mut out = Vec::new();
        let _ = decode::decode_into(&line, Format::Docker, &mut out);
    }
}

/// `decode::otlp` (its fast path, its structural scan and serde_json's full parse), and the
/// time of the line.
pub fn otlp(data: &[u8]) {
    for line in lines(data) {
        let mut out = Vec::new();
        let _ = otlp::decode(&line, &mut out);
        for r in &out {
            assert!(r.category.starts_with("GATEWAY_"));
        }
        let _ = decode::line_time(&line);
    }
}

/// `decode::logcli`.
pub fn logcli(data: &[u8]) {
    for line in lines(data) {
        if let Ok(Some(r)) = logcli::decode(&line) {
            assert!(r.category.starts_with("GATEWAY_"));
        }
        let _ = decode::line_time(&line);
        let _ = decode::detect(line.as_bytes());
    }
}

/// The prefix parser: where a record starts, the prefix before it, a continuation line's
/// prefix, CRI payloads and file names.
pub fn prefix(data: &[u8]) {
    for line in lines(data) {
        if let Some(i) = prefix::record_start(line.as_bytes()) {
            let _ = prefix::parse(&line[..i]);
        }
        let _ = prefix::parse(&line);
        let _ = prefix::strip_known(&line);
        let _ = prefix::cri_payload(&line);
        let _ = prefix::cri_file_stream(&line);
        let _ = decode::line_time(&line);
    }
}

/// The scan of a chunk of lines and the in-order recognition after it, as a batch read does:
/// the first byte picks the `--format` (`auto`, `console`, `docker`, `otlp`, `logcli`), the rest
/// is one chunk (also cut in two at the second byte's position, as chunks are).
pub fn recognize(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let format = match sel % 5 {
        0 => Format::Auto,
        1 => Format::Console,
        2 => Format::Docker,
        3 => Format::Otlp,
        _ => Format::Logcli,
    };
    let cfg = ScanConfig {
        format,
        max_line: 1 << 16,
        verbose: sel & 0x80 != 0,
    };
    // Chunks end on a newline: cut after the newline nearest the chosen place.
    let cut = rest.first().map_or(0, |&c| rest.len() * c as usize / 256);
    let cut = memchr::memrchr(b'\n', &rest[..cut]).map_or(0, |i| i + 1);
    let mut scanner = Scanner::new(cfg.clone());
    let mut state = InputRecognizer::for_path(None);
    let mut events = VecDeque::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut stats = ReadStats::default();
    let mut out = Output {
        input: 0,
        events: &mut events,
        skipped: &mut skipped,
        stats: &mut stats,
    };
    let mut first_line = 1;
    for chunk in [&rest[..cut], &rest[cut..]] {
        let mut scanned = scanner.scan(chunk, first_line);
        first_line += scanned.lines;
        out.chunk(&mut scanned, &[]);
        for hit in scanned.hits {
            state.push(0, hit, &cfg, &mut out);
        }
    }
    state.flush_piece(0, &cfg, &mut out);
    for e in &events {
        assert!(e.origin.line >= 1 && e.origin.line < first_line.max(2));
    }
}

/// Decompression: the magic-byte sniffing and the four decoders, read through the line framer
/// as every input is. The decoders' memory is bounded by their settings; the output of a
/// decompression bomb is not (gwmon streams it), so the target stops after 8 MiB of it.
pub fn decompress(data: &[u8]) {
    const MAX_OUT: u64 = 8 << 20;
    let cursor = Box::new(io::Cursor::new(data.to_vec()));
    let Ok(r) = crate::source::input::decompress(cursor) else {
        return;
    };
    let mut framer: Framer = Framer::new(Box::new(r.take(MAX_OUT)), 64 << 10, 1 << 16);
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = framer.next_chunk(std::mem::take(&mut buf)) {
        buf = chunk.buf;
    }
}

/// The configuration: the text before the first NUL byte is the file, each line after it is a
/// `--set KEY=VALUE`. A configuration that loads is valid, and prints back as one that loads the
/// same.
pub fn config(data: &[u8]) {
    let (file, sets) = match memchr::memchr(0, data) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(file) else {
        return;
    };
    let sets: Vec<String> = lines(sets)
        .filter(|l| !l.is_empty())
        .map(Cow::into_owned)
        .collect();
    if let Ok(cfg) = crate::config::parse(Some((text, "fuzz.toml")), &sets) {
        let printed = toml::to_string(&cfg).expect("a configuration prints");
        match crate::config::parse(Some((&printed, "printed.toml")), &[]) {
            Ok(again) => assert_eq!(again, cfg, "printed:\n{printed}"),
            Err(e) => panic!("a printed configuration does not load: {e:#}\n{printed}"),
        }
    }
    let _ = crate::config::parse(None, &sets);
}

/// The `gwmon check` state file: see [`crate::cmd::fuzz_state`].
pub fn check_state(data: &[u8]) {
    crate::cmd::fuzz_state(data);
}

/// A connection that reads `data` in pieces and keeps what is written.
struct Conn<'a> {
    data: &'a [u8],
    piece: usize,
    written: Vec<u8>,
}

impl Read for Conn<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.data.len().min(buf.len()).min(self.piece);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl Write for Conn<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The metrics endpoint's request handling: the first byte says how many bytes each read
/// returns, the rest is what the client sends. Whatever it sends, the answer is one HTTP/1.1
/// response with a status line and a header, or nothing when the client sent no whole head.
pub fn http_request(data: &[u8]) {
    let Some((&piece, request)) = data.split_first() else {
        return;
    };
    let shared: Shared = Arc::new(RwLock::new(Arc::new(Published {
        text: "gwmon_up 1\n".into(),
        openmetrics: "gwmon_up 1\n# EOF\n".into(),
        silent: if piece & 1 == 1 {
            vec!["a.log".into()]
        } else {
            Vec::new()
        },
    })));
    let mut conn = Conn {
        data: request,
        piece: piece as usize + 1,
        written: Vec::new(),
    };
    let _ = serve::handle(&mut conn, &shared);
    if !conn.written.is_empty() {
        assert!(conn.written.starts_with(b"HTTP/1.1 "));
        assert!(memchr::memmem::find(&conn.written, b"\r\n\r\n").is_some());
    }
}

/// The whole pipeline after the source: the input as one chunk of a file, through the scan,
/// the recognizer, the pool model and the alert engine, then the report and the plugin output.
pub fn pool(data: &[u8]) {
    let read = ReadOptions {
        max_line: 1 << 16,
        ..ReadOptions::default()
    };
    let mut session = Session::new(
        &read,
        Monitor::new(PoolConfig::default(), Alerts::default()),
    );
    session.watch(vec!["fuzz.log".into()]);
    let chunk = FollowChunk {
        input: 0,
        path: PathBuf::from("fuzz.log"),
        first_line: 1,
        data: data.to_vec(),
        overlong: Vec::new(),
    };
    let mut notes = Vec::new();
    let _ = session.ingest(vec![chunk], &mut notes, &mut |_, _| Ok(()));
    let now = session.monitor.pool.now.unwrap_or(0);
    session.monitor.engine.evaluate(now, &session.monitor.pool);
    let report = crate::report::build(&session.monitor.pool, &session.stats);
    serde_json::to_string(&report).expect("a report serializes");
    let _ = crate::export::plugin::render(&session.monitor.pool, &session.monitor.engine, &[], &[]);
    let _ = crate::export::prometheus::render(
        &session.monitor.pool,
        Some(&session.monitor.engine),
        &session.stats,
        now,
        crate::export::prometheus::Format::OpenMetrics,
        &crate::export::prometheus::Options {
            per_org: true,
            ..Default::default()
        },
    );
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    type Target = (&'static str, fn(&[u8]));

    /// Every target, by the name of its folder under fuzz/corpus.
    const TARGETS: [Target; 11] = [
        ("console", super::console),
        ("docker", super::docker),
        ("otlp", super::otlp),
        ("logcli", super::logcli),
        ("prefix", super::prefix),
        ("recognize", super::recognize),
        ("decompress", super::decompress),
        ("config", super::config),
        ("check_state", super::check_state),
        ("http_request", super::http_request),
        ("pool", super::pool),
    ];

    fn files(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        out.sort();
        out
    }

    /// What fuzzing found stays found: every input kept in fuzz/regressions goes through every
    /// target (a regression found by one target is often reachable from another).
    #[test]
    fn kept_regressions_pass_every_target() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
        let kept = files(&dir);
        assert!(
            !kept.is_empty(),
            "no regression inputs in {}",
            dir.display()
        );
        for file in kept {
            let data = std::fs::read(&file).unwrap();
            for (name, target) in TARGETS {
                let r = std::panic::catch_unwind(|| target(&data));
                assert!(r.is_ok(), "target {name} panics on {}", file.display());
            }
        }
    }

    /// The committed seed corpus is valid input for its own target (a seed that panics would
    /// stop every fuzz run at its first step).
    #[test]
    fn seed_corpus_passes_its_target() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        for (name, target) in TARGETS {
            let seeds = files(&root.join(name));
            assert!(!seeds.is_empty(), "no seeds for target {name}");
            for file in seeds {
                target(&std::fs::read(&file).unwrap());
            }
        }
    }
}
