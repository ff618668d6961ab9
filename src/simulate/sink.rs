//! Writes simulated log records in one of the four transport shapes of holistix-log-lines.md §6:
//! console lines, Docker json-file objects (split at 16 KiB like Docker does), OTLP/JSON export
//! requests (collector file exporter, batched) and Loki `logcli --output=jsonl` lines.
//!
//! Formatting is by hand into reused buffers: this runs for every line of multi-GB benchmark logs.

use std::io::{self, Write};

use super::rng::Rng;
use crate::decode::Format;

/// The service's log priorities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prio {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
}

impl Prio {
    /// Upper case, padded to 9 columns, as the console writes it.
    fn console(self) -> &'static str {
        match self {
            Prio::Debug => "DEBUG    ",
            Prio::Info => "INFO     ",
            Prio::Notice => "NOTICE   ",
            Prio::Warning => "WARNING  ",
            Prio::Error => "ERROR    ",
            Prio::Critical => "CRITICAL ",
        }
    }

    fn upper(self) -> &'static str {
        self.console().trim_end()
    }

    fn lower(self) -> &'static str {
        match self {
            Prio::Debug => "debug",
            Prio::Info => "info",
            Prio::Notice => "notice",
            Prio::Warning => "warning",
            Prio::Error => "error",
            Prio::Critical => "critical",
        }
    }

    /// OTLP severity number.
    fn number(self) -> u32 {
        match self {
            Prio::Debug => 5,
            Prio::Info => 9,
            Prio::Notice => 10,
            Prio::Warning => 13,
            Prio::Error => 17,
            Prio::Critical => 21,
        }
    }

    fn stream(self) -> &'static str {
        match self {
            Prio::Error | Prio::Critical => "stderr",
            _ => "stdout",
        }
    }
}

/// A value of an object data argument.
#[derive(Clone, Copy, Debug)]
pub enum Val<'a> {
    S(&'a str),
    N(u64),
}

/// The data argument of a log call.
#[derive(Clone, Copy, Debug)]
pub enum Data<'a> {
    None,
    /// A bare string: `JSON.stringify`'d on the console, one attribute per character in OTLP.
    Str(&'a str),
    Obj(&'a [(&'a str, Val<'a>)]),
}

/// One log call of the service.
#[derive(Clone, Copy, Debug)]
pub struct Rec<'a> {
    /// Milliseconds since the epoch.
    pub t: i64,
    pub prio: Prio,
    pub cat: &'a str,
    /// May contain newlines: the console then writes several physical lines.
    pub msg: &'a str,
    pub data: Data<'a>,
}

/// Largest Docker json-file `log` piece.
pub const DOCKER_PIECE: usize = 16 * 1024;
/// Keep OTLP export requests well below gwmon's default 1 MiB line limit.
const OTLP_MAX_BATCH_BYTES: usize = 960 * 1024;

/// A writer of records in one transport shape, counting bytes and physical lines.
pub struct Sink<W: Write> {
    w: W,
    format: Format,
    rng: Rng,
    pub bytes: u64,
    pub lines: u64,
    /// The console text of the current record.
    text: Vec<u8>,
    /// The current output line (JSON formats).
    out: Vec<u8>,
    times: TimeFmt,
    docker_us: i64,
    logcli_ns: i64,
    /// OTLP: records of the export request being built.
    batch: Vec<u8>,
    batch_len: usize,
    batch_target: usize,
    batch_first: i64,
    /// Who writes: the OTLP resource of each export request, logcli's labels by stream.
    otlp_head: String,
    labels: [String; 2],
}

impl<W: Write> Sink<W> {
    /// The service's log (app-ganymede).
    pub fn new(w: W, format: Format, rng: Rng) -> Sink<W> {
        Sink::of(w, format, rng, None)
    }

    /// A gateway container's own log (app-gateway, container `name`).
    pub fn for_gateway(w: W, format: Format, rng: Rng, name: &str) -> Sink<W> {
        Sink::of(w, format, rng, Some(name))
    }

    fn of(w: W, format: Format, rng: Rng, gateway: Option<&str>) -> Sink<W> {
        let (otlp_head, labels) = match gateway {
            None => (
                OTLP_HEAD.to_owned(),
                [logcli_labels("stdout").to_owned(), logcli_labels("stderr").to_owned()],
            ),
            Some(name) => (
                format!(
                    concat!(
                        r#"{{"resourceLogs":[{{"resource":{{"attributes":["#,
                        r#"{{"key":"service.name","value":{{"stringValue":"app-gateway"}}}},"#,
                        r#"{{"key":"service.namespace","value":{{"stringValue":"holistix-forge"}}}},"#,
                        r#"{{"key":"container.name","value":{{"stringValue":"{}"}}}}]}},"#,
                        r#""scopeLogs":[{{"scope":{{"name":"gateway-logger","version":"1.0.0"}},"logRecords":["#
                    ),
                    name
                ),
                ["stdout", "stderr"].map(|st| {
                    format!(
                        r#"{{"labels":{{"app":"gateway","container":"{name}","host":"forge-prod-1","job":"docker","stream":"{st}"}},"line":""#
                    )
                }),
            ),
        };
        let mut s = Sink {
            otlp_head,
            labels,
            w,
            format,
            rng,
            bytes: 0,
            lines: 0,
            text: Vec::with_capacity(1024),
            out: Vec::with_capacity(1024),
            times: TimeFmt::default(),
            docker_us: 0,
            logcli_ns: 0,
            batch: Vec::with_capacity(256 * 1024),
            batch_len: 0,
            batch_target: 0,
            batch_first: 0,
        };
        s.batch_target = s.draw_batch_target();
        s
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.bytes += b.len() as u64;
        self.w.write_all(b)
    }

    /// The console rendering of `r` into `self.text` (no final newline).
    fn render_console(&mut self, r: &Rec<'_>) {
        let text = &mut self.text;
        text.clear();
        text.extend_from_slice(self.times.ms(r.t));
        text.extend_from_slice(b" [");
        text.extend_from_slice(r.prio.console().as_bytes());
        text.extend_from_slice(b"] [");
        text.extend_from_slice(r.cat.as_bytes());
        for _ in r.cat.len()..20 {
            text.push(b' ');
        }
        text.extend_from_slice(b"] ");
        text.extend_from_slice(r.msg.as_bytes());
        match r.data {
            Data::None => {}
            Data::Str(s) => {
                text.extend_from_slice(b" \"");
                json_escape(text, s.as_bytes(), false);
                text.push(b'"');
            }
            Data::Obj(fields) => {
                text.extend_from_slice(b" {");
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        text.push(b',');
                    }
                    text.push(b'"');
                    json_escape(text, k.as_bytes(), false);
                    text.extend_from_slice(b"\":");
                    match v {
                        Val::S(s) => {
                            text.push(b'"');
                            json_escape(text, s.as_bytes(), false);
                            text.push(b'"');
                        }
                        Val::N(n) => push_u64(text, *n),
                    }
                }
                text.push(b'}');
            }
        }
    }

    /// Write one record.
    pub fn record(&mut self, r: &Rec<'_>) -> io::Result<()> {
        match self.format {
            Format::Console | Format::Auto => {
                self.render_console(r);
                self.text.push(b'\n');
                self.lines += bytecount::count(&self.text, b'\n') as u64;
                let text = std::mem::take(&mut self.text);
                let res = self.put(&text);
                self.text = text;
                res
            }
            Format::Docker => self.docker(r),
            Format::Logcli => self.logcli(r),
            Format::Otlp => self.otlp(r),
        }
    }

    fn docker(&mut self, r: &Rec<'_>) -> io::Result<()> {
        self.render_console(r);
        let text = std::mem::take(&mut self.text);
        let mut res = Ok(());
        for line in text.split(|&b| b == b'\n') {
            // Docker stamps each piece when it reads it: a few µs to a ms after the service.
            let us = (r.t * 1000 + self.rng.range(20, 900)).max(self.docker_us);
            self.docker_us = us;
            // Pieces of at most 16 KiB of the line plus its newline; only the last has the
            // newline. Cut at character boundaries (the long lines here are ASCII anyway).
            let mut rest = line;
            loop {
                let (piece, last) = if rest.len() < DOCKER_PIECE {
                    (rest, true)
                } else {
                    let mut cut = DOCKER_PIECE;
                    while cut > 0 && (rest[cut] & 0xC0) == 0x80 {
                        cut -= 1;
                    }
                    (&rest[..cut], false)
                };
                self.docker_line(piece, last, r.prio.stream(), us);
                self.lines += 1;
                let out = std::mem::take(&mut self.out);
                res = res.and(self.put(&out));
                self.out = out;
                if last {
                    break;
                }
                rest = &rest[piece.len()..];
            }
        }
        self.text = text;
        res
    }

    /// One json-file object into `self.out`.
    fn docker_line(&mut self, piece: &[u8], last: bool, stream: &str, us: i64) {
        self.out.clear();
        self.out.extend_from_slice(b"{\"log\":\"");
        json_escape(&mut self.out, piece, true);
        if last {
            self.out.extend_from_slice(b"\\n");
        }
        self.out.extend_from_slice(b"\",\"stream\":\"");
        self.out.extend_from_slice(stream.as_bytes());
        self.out.extend_from_slice(b"\",\"time\":\"");
        self.out.extend_from_slice(self.times.us(us));
        self.out.extend_from_slice(b"\"}\n");
    }

    fn logcli(&mut self, r: &Rec<'_>) -> io::Result<()> {
        self.logcli_line(r);
        self.lines += 1;
        let out = std::mem::take(&mut self.out);
        let res = self.put(&out);
        self.out = out;
        res
    }

    /// One logcli line into `self.out`: the whole record, newlines included, in `line`.
    fn logcli_line(&mut self, r: &Rec<'_>) {
        self.render_console(r);
        // Loki keeps the entries of a stream in time order.
        let ns = (r.t * 1_000_000 + self.rng.range(20_000, 900_000)).max(self.logcli_ns);
        self.logcli_ns = ns;
        self.out.clear();
        self.out
            .extend_from_slice(self.labels[usize::from(r.prio.stream() == "stderr")].as_bytes());
        json_escape(&mut self.out, &self.text, false);
        self.out.extend_from_slice(b"\",\"timestamp\":\"");
        self.out.extend_from_slice(self.times.ns(ns));
        self.out.extend_from_slice(b"\"}\n");
    }

    fn draw_batch_target(&mut self) -> usize {
        if self.rng.chance(0.3) {
            self.rng.range(1, 20) as usize
        } else {
            self.rng.range(1, 200) as usize
        }
    }

    fn otlp(&mut self, r: &Rec<'_>) -> io::Result<()> {
        // The collector's batch processor: a batch leaves when it is full or 2 s old.
        if self.batch_len > 0 && r.t - self.batch_first > 2_000 {
            self.flush_batch()?;
        }
        let mut rec = std::mem::take(&mut self.out);
        rec.clear();
        self.otlp_record(&mut rec, r);
        if self.batch_len > 0 && self.batch.len() + rec.len() > OTLP_MAX_BATCH_BYTES {
            self.flush_batch()?;
        }
        if self.batch_len == 0 {
            self.batch_first = r.t;
        } else {
            self.batch.push(b',');
        }
        self.batch.extend_from_slice(&rec);
        self.out = rec;
        self.batch_len += 1;
        if self.batch_len >= self.batch_target {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn otlp_record(&mut self, o: &mut Vec<u8>, r: &Rec<'_>) {
        let nanos = r.t as u64 * 1_000_000;
        // 64-bit integers are decimal strings in OTLP/JSON; some encoders write numbers.
        if self.rng.chance(0.05) {
            o.extend_from_slice(b"{\"timeUnixNano\":");
            push_u64(o, nanos);
        } else {
            o.extend_from_slice(b"{\"timeUnixNano\":\"");
            push_u64(o, nanos);
            o.push(b'"');
        }
        o.extend_from_slice(b",\"observedTimeUnixNano\":\"");
        push_u64(o, nanos + self.rng.range(100_000, 3_000_000) as u64);
        o.extend_from_slice(b"\",\"severityNumber\":");
        push_u64(o, u64::from(r.prio.number()));
        o.extend_from_slice(b",\"severityText\":\"");
        o.extend_from_slice(r.prio.lower().as_bytes());
        o.extend_from_slice(b"\",\"body\":{\"stringValue\":\"");
        json_escape(o, r.msg.as_bytes(), false);
        o.extend_from_slice(b"\"},\"attributes\":[");
        attr_str(o, "log.category", r.cat.as_bytes());
        o.push(b',');
        attr_str(o, "log.priority", r.prio.upper().as_bytes());
        match r.data {
            Data::None => {}
            Data::Str(s) => {
                let mut key = String::with_capacity(16);
                for (i, c) in s.chars().enumerate() {
                    key.clear();
                    key.push_str("log.data.");
                    key.push_str(itoa(i as u64).as_str());
                    o.push(b',');
                    let mut b = [0u8; 4];
                    attr_str(o, &key, c.encode_utf8(&mut b).as_bytes());
                }
            }
            Data::Obj(fields) => {
                for (k, v) in fields {
                    o.extend_from_slice(b",{\"key\":\"log.data.");
                    json_escape(o, k.as_bytes(), false);
                    match v {
                        Val::S(s) => {
                            o.extend_from_slice(b"\",\"value\":{\"stringValue\":\"");
                            json_escape(o, s.as_bytes(), false);
                            o.extend_from_slice(b"\"}}");
                        }
                        Val::N(n) => {
                            o.extend_from_slice(b"\",\"value\":{\"intValue\":\"");
                            push_u64(o, *n);
                            o.extend_from_slice(b"\"}}");
                        }
                    }
                }
            }
        }
        o.extend_from_slice(b"],\"traceId\":\"\",\"spanId\":\"\"}");
    }

    fn flush_batch(&mut self) -> io::Result<()> {
        if self.batch_len == 0 {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let res = self
            .put(self.otlp_head.clone().as_bytes())
            .and_then(|()| self.put(&batch))
            .and_then(|()| self.put(OTLP_TAIL.as_bytes()));
        self.batch = batch;
        self.batch.clear();
        self.batch_len = 0;
        self.batch_target = self.draw_batch_target();
        self.lines += 1;
        res
    }

    /// Write one malformed gateway line: for the console a known shape with a field missing,
    /// for the JSON shapes the line of `r` cut short after the bytes `GATEWAY_` (invalid JSON).
    pub fn malformed(&mut self, r: &Rec<'_>) -> io::Result<()> {
        let mut full = match self.format {
            Format::Console | Format::Auto => return self.record(r),
            Format::Docker => {
                self.render_console(r);
                let text = std::mem::take(&mut self.text);
                self.docker_line(&text, true, r.prio.stream(), r.t * 1000 + 100);
                self.text = text;
                std::mem::take(&mut self.out)
            }
            Format::Logcli => {
                self.logcli_line(r);
                std::mem::take(&mut self.out)
            }
            Format::Otlp => {
                self.flush_batch()?;
                let mut rec = Vec::new();
                self.otlp_record(&mut rec, r);
                let mut full = self.otlp_head.as_bytes().to_vec();
                full.extend_from_slice(&rec);
                full.extend_from_slice(OTLP_TAIL.as_bytes());
                full
            }
        };
        let after = memchr::memmem::find(&full, b"GATEWAY_").map_or(0, |i| i + 8);
        let room = full.len().saturating_sub(after + 4).min(24) as i64;
        let mut cut = after + self.rng.range(0, room.max(0)) as usize;
        while cut < full.len() && (full[cut] & 0xC0) == 0x80 {
            cut += 1;
        }
        full.truncate(cut);
        full.push(b'\n');
        self.lines += 1;
        let res = self.put(&full);
        if self.out.capacity() == 0 {
            full.clear();
            self.out = full;
        }
        res
    }

    /// Flush everything (the last OTLP batch, the writer).
    pub fn finish(&mut self) -> io::Result<()> {
        self.flush_batch()?;
        self.w.flush()
    }
}

const OTLP_HEAD: &str = concat!(
    r#"{"resourceLogs":[{"resource":{"attributes":["#,
    r#"{"key":"service.name","value":{"stringValue":"app-ganymede"}},"#,
    r#"{"key":"service.namespace","value":{"stringValue":"holistix-forge"}},"#,
    r#"{"key":"deployment.environment","value":{"stringValue":"production"}}]},"#,
    r#""scopeLogs":[{"scope":{"name":"ganymede-logger","version":"1.0.0"},"logRecords":["#
);
const OTLP_TAIL: &str = "]}],\"schemaUrl\":\"https://opentelemetry.io/schemas/1.26.0\"}]}\n";

/// `{"labels":{…},"line":"` with labels sorted by key, as logcli writes them.
fn logcli_labels(stream: &str) -> &'static str {
    if stream == "stderr" {
        r#"{"labels":{"app":"ganymede","container":"app-ganymede","host":"forge-prod-1","job":"docker","stream":"stderr"},"line":""#
    } else {
        r#"{"labels":{"app":"ganymede","container":"app-ganymede","host":"forge-prod-1","job":"docker","stream":"stdout"},"line":""#
    }
}

fn attr_str(o: &mut Vec<u8>, key: &str, value: &[u8]) {
    o.extend_from_slice(b"{\"key\":\"");
    json_escape(o, key.as_bytes(), false);
    o.extend_from_slice(b"\",\"value\":{\"stringValue\":\"");
    json_escape(o, value, false);
    o.extend_from_slice(b"\"}}");
}

/// Append `s` escaped for the inside of a JSON string. `html`: also escape `<`, `>` and `&` as
/// Go's encoder (and so Docker) does.
pub fn json_escape(out: &mut Vec<u8>, s: &[u8], html: bool) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&s[start..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
                start = i + 1;
                continue;
            }
            b'<' if html => b"\\u003c",
            b'>' if html => b"\\u003e",
            b'&' if html => b"\\u0026",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

pub fn push_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa(n).as_bytes());
}

/// Decimal digits of `n` without allocation.
pub struct Itoa {
    buf: [u8; 20],
    start: usize,
}

impl Itoa {
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever written.
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or("0")
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

pub fn itoa(mut n: u64) -> Itoa {
    let mut buf = [0u8; 20];
    let mut i = 20;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Itoa { buf, start: i }
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// RFC 3339 UTC time formatting with a per-second cache:
/// `2026-03-02T00:00:00.004Z` (ms), `…00.004123Z` (µs), `…00.004123456Z` (ns).
#[derive(Default)]
pub struct TimeFmt {
    sec: Option<i64>,
    /// `YYYY-MM-DDTHH:MM:SS.` + up to 9 fraction digits + `Z`.
    buf: [u8; 30],
}

impl TimeFmt {
    fn second(&mut self, sec: i64) {
        if self.sec == Some(sec) {
            return;
        }
        self.sec = Some(sec);
        let days = sec.div_euclid(86_400);
        let rem = sec.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let (h, mi, s) = (rem / 3600, rem / 60 % 60, rem % 60);
        let b = &mut self.buf;
        let y = y.clamp(0, 9999) as u32;
        b[0] = b'0' + (y / 1000) as u8;
        b[1] = b'0' + (y / 100 % 10) as u8;
        b[2] = b'0' + (y / 10 % 10) as u8;
        b[3] = b'0' + (y % 10) as u8;
        b[4] = b'-';
        two(&mut b[5..7], m);
        b[7] = b'-';
        two(&mut b[8..10], d);
        b[10] = b'T';
        two(&mut b[11..13], h as u32);
        b[13] = b':';
        two(&mut b[14..16], mi as u32);
        b[16] = b':';
        two(&mut b[17..19], s as u32);
        b[19] = b'.';
    }

    fn frac(&mut self, sec: i64, frac: u64, digits: usize) -> &[u8] {
        self.second(sec);
        let mut f = frac;
        for i in (0..digits).rev() {
            self.buf[20 + i] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        self.buf[20 + digits] = b'Z';
        &self.buf[..21 + digits]
    }

    pub fn ms(&mut self, t: i64) -> &[u8] {
        self.frac(t.div_euclid(1000), t.rem_euclid(1000) as u64, 3)
    }

    pub fn us(&mut self, t: i64) -> &[u8] {
        self.frac(t.div_euclid(1_000_000), t.rem_euclid(1_000_000) as u64, 6)
    }

    pub fn ns(&mut self, t: i64) -> &[u8] {
        self.frac(
            t.div_euclid(1_000_000_000),
            t.rem_euclid(1_000_000_000) as u64,
            9,
        )
    }
}

fn two(b: &mut [u8], v: u32) {
    b[0] = b'0' + (v / 10 % 10) as u8;
    b[1] = b'0' + (v % 10) as u8;
}
