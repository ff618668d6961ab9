//! Timestamped OpenMetrics over a whole history (`gwmon backfill`): the families are rendered
//! into a [`Timeline`] once per step; each sample is kept with its step's timestamp and the
//! whole is written at the end as OpenMetrics wants it — each family once, each series (a
//! histogram: each set of buckets, sum and count) as one group of points in time order, `# EOF`
//! last. Points are buffered up to a bound and spilled to an unlinked temporary file, so memory
//! stays bounded whatever the length of the history.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use foldhash::HashMap;

use super::Format;
use super::out::{Kind, Sink, fmt_f64, write_header, write_series};
use crate::units::Millis;

/// A value slot with no sample at that step (a NaN payload gwmon never writes).
const ABSENT: u64 = 0x7ff8_0000_dead_beef;

struct Family {
    name: String,
    kind: Kind,
    help: String,
    unit: Option<String>,
    metrics: Vec<usize>,
}

/// One series, or one histogram's buckets, sum and count (its labels without `le`).
struct Metric {
    labels: Vec<(String, String)>,
    /// The samples of a point: (sample name, `le`).
    slots: Vec<(String, Option<String>)>,
    /// Buffered points: their times, and `slots.len()` values each.
    times: Vec<Millis>,
    values: Vec<f64>,
    /// Spilled points: (file offset, points, slots per point).
    segments: Vec<(u64, u32, u32)>,
}

/// The history of every series, step by step. Feed it with [`Timeline::step`], the families
/// rendered through it as a [`Sink`], then [`Timeline::finish`].
pub struct Timeline {
    families: Vec<Family>,
    family_idx: HashMap<String, usize>,
    metrics: Vec<Metric>,
    metric_idx: HashMap<String, usize>,
    family: usize,
    at: Millis,
    buffered: usize,
    limit: usize,
    spill: File,
    spill_len: u64,
    key: String,
    error: Option<io::Error>,
    /// Labels written first on every series.
    extra: Vec<(String, String)>,
}

/// An unlinked temporary file (in `$TMPDIR`), gone when closed.
fn scratch_file() -> io::Result<File> {
    let dir = std::env::temp_dir();
    for n in 0..100u32 {
        let path = dir.join(format!(".gwmon-backfill.{}.{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                std::fs::remove_file(&path)?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot create a scratch file in {}: {e}", dir.display()),
                ));
            }
        }
    }
    Err(io::Error::other("cannot create a scratch file"))
}

/// `secs.mmm`, as OpenMetrics timestamps are written.
fn timestamp(ms: Millis) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

impl Timeline {
    /// `limit`: words (times and values, 8 bytes each) buffered in memory before they are
    /// spilled; `extra`: labels added to
    /// every series.
    pub fn new(limit: usize, extra: Vec<(String, String)>) -> io::Result<Timeline> {
        Ok(Timeline {
            families: Vec::new(),
            family_idx: HashMap::default(),
            metrics: Vec::new(),
            metric_idx: HashMap::default(),
            family: 0,
            at: 0,
            buffered: 0,
            limit: limit.max(1),
            spill: scratch_file()?,
            spill_len: 0,
            key: String::new(),
            error: None,
            extra,
        })
    }

    /// The samples rendered next are at `at` (later than the previous step's).
    pub fn step(&mut self, at: Millis) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.buffered >= self.limit {
            self.spill_all()?;
        }
        self.at = at;
        Ok(())
    }

    fn spill_metric(&mut self, i: usize) -> io::Result<()> {
        let m = &mut self.metrics[i];
        if m.times.is_empty() {
            return Ok(());
        }
        let n = m.slots.len();
        let mut buf = Vec::with_capacity(m.times.len() * (n + 1) * 8);
        for (p, t) in m.times.iter().enumerate() {
            buf.extend_from_slice(&t.to_le_bytes());
            for v in &m.values[p * n..(p + 1) * n] {
                buf.extend_from_slice(&v.to_bits().to_le_bytes());
            }
        }
        self.spill.write_all_at(&buf, self.spill_len)?;
        m.segments
            .push((self.spill_len, m.times.len() as u32, n as u32));
        self.spill_len += buf.len() as u64;
        self.buffered -= m.values.len() + m.times.len();
        m.times.clear();
        m.values.clear();
        Ok(())
    }

    fn spill_all(&mut self) -> io::Result<()> {
        for i in 0..self.metrics.len() {
            self.spill_metric(i)?;
        }
        Ok(())
    }

    /// Write everything as OpenMetrics (without the final `# EOF`).
    pub fn finish(mut self, out: &mut dyn Write) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.spill_all()?;
        let mut buf = Vec::new();
        let mut text = String::with_capacity(1 << 16);
        for f in &self.families {
            write_header(
                &mut text,
                Format::OpenMetrics,
                &f.name,
                f.kind,
                &f.help,
                f.unit.as_deref(),
            );
            for &mi in &f.metrics {
                let m = &self.metrics[mi];
                for &(off, points, n) in &m.segments {
                    let n = n as usize;
                    buf.resize(points as usize * (n + 1) * 8, 0);
                    self.spill.read_exact_at(&mut buf, off)?;
                    for point in buf.chunks_exact((n + 1) * 8) {
                        let word = |k: usize| {
                            let mut b = [0u8; 8];
                            b.copy_from_slice(&point[k * 8..k * 8 + 8]);
                            u64::from_le_bytes(b)
                        };
                        let ts = timestamp(word(0) as i64);
                        for (j, (name, le)) in m.slots.iter().enumerate().take(n) {
                            let bits = word(j + 1);
                            if bits == ABSENT {
                                continue;
                            }
                            let mut labels: Vec<(&str, &str)> = self
                                .extra
                                .iter()
                                .chain(&m.labels)
                                .map(|(k, v)| (k.as_str(), v.as_str()))
                                .collect();
                            if let Some(le) = le {
                                labels.push(("le", le));
                            }
                            write_series(&mut text, name, &labels);
                            text.push(' ');
                            text.push_str(&fmt_f64(f64::from_bits(bits)));
                            text.push(' ');
                            text.push_str(&ts);
                            text.push('\n');
                        }
                        if text.len() >= 1 << 16 {
                            out.write_all(text.as_bytes())?;
                            text.clear();
                        }
                    }
                }
            }
        }
        out.write_all(text.as_bytes())
    }
}

impl Sink for Timeline {
    fn family(&mut self, name: &str, kind: Kind, help: &str, unit: Option<&str>) {
        self.family = match self.family_idx.get(name) {
            Some(&i) => i,
            None => {
                self.families.push(Family {
                    name: name.to_owned(),
                    kind,
                    help: help.to_owned(),
                    unit: unit.map(str::to_owned),
                    metrics: Vec::new(),
                });
                let i = self.families.len() - 1;
                self.family_idx.insert(name.to_owned(), i);
                i
            }
        };
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        // The metric: the family and the labels but `le`.
        self.key.clear();
        self.key.push_str(&self.families[self.family].name);
        let mut le = None;
        for (k, val) in labels {
            if *k == "le" {
                le = Some(*val);
                continue;
            }
            self.key.push('\0');
            self.key.push_str(k);
            self.key.push('\0');
            self.key.push_str(val);
        }
        let mi = match self.metric_idx.get(self.key.as_str()) {
            Some(&i) => i,
            None => {
                self.metrics.push(Metric {
                    labels: labels
                        .iter()
                        .filter(|(k, _)| *k != "le")
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    slots: Vec::new(),
                    times: Vec::new(),
                    values: Vec::new(),
                    segments: Vec::new(),
                });
                let i = self.metrics.len() - 1;
                self.metric_idx.insert(self.key.clone(), i);
                self.families[self.family].metrics.push(i);
                i
            }
        };
        let slot = self.metrics[mi]
            .slots
            .iter()
            .position(|(n, l)| n == name && l.as_deref() == le);
        let slot = match slot {
            Some(s) => s,
            None => {
                // A new slot changes the points' width: what is buffered goes first.
                if let Err(e) = self.spill_metric(mi) {
                    self.error.get_or_insert(e);
                }
                let m = &mut self.metrics[mi];
                m.slots.push((name.to_owned(), le.map(str::to_owned)));
                m.slots.len() - 1
            }
        };
        let at = self.at;
        let m = &mut self.metrics[mi];
        let n = m.slots.len();
        if m.times.last() != Some(&at) {
            m.times.push(at);
            m.values.resize(m.values.len() + n, f64::from_bits(ABSENT));
            self.buffered += n + 1;
        }
        let base = m.values.len() - n;
        m.values[base + slot] = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(tl: &mut Timeline, at: Millis, v: f64, with_gauge: bool) {
        tl.step(at).unwrap();
        tl.counter("a_total", "A.", v as u64);
        tl.histogram("h_seconds", "H.", &[1.0], &[v as u64], 0);
        if with_gauge {
            tl.gauge("g", "G.", None, Some(v));
        }
        tl.family("l_total", Kind::Counter, "L.", None);
        tl.sample("l_total", &[("r", "x")], v);
        tl.sample("l_total", &[("r", "y")], 2.0 * v);
    }

    #[test]
    fn series_are_grouped_in_time_order_across_spills() {
        // A tiny buffer: every step spills.
        let mut tl = Timeline::new(3, Vec::new()).unwrap();
        step(&mut tl, 60_000, 1.0, false);
        step(&mut tl, 120_000, 2.0, true);
        step(&mut tl, 180_500, 3.0, true);
        let mut out = Vec::new();
        tl.finish(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let want = "\
# HELP a A.
# TYPE a counter
a_total 1 60.000
a_total 2 120.000
a_total 3 180.500
# HELP h_seconds H.
# TYPE h_seconds histogram
# UNIT h_seconds seconds
h_seconds_bucket{le=\"1\"} 1 60.000
h_seconds_bucket{le=\"+Inf\"} 1 60.000
h_seconds_sum 0 60.000
h_seconds_count 1 60.000
h_seconds_bucket{le=\"1\"} 2 120.000
h_seconds_bucket{le=\"+Inf\"} 2 120.000
h_seconds_sum 0 120.000
h_seconds_count 2 120.000
h_seconds_bucket{le=\"1\"} 3 180.500
h_seconds_bucket{le=\"+Inf\"} 3 180.500
h_seconds_sum 0 180.500
h_seconds_count 3 180.500
# HELP l L.
# TYPE l counter
l_total{r=\"x\"} 1 60.000
l_total{r=\"x\"} 2 120.000
l_total{r=\"x\"} 3 180.500
l_total{r=\"y\"} 2 60.000
l_total{r=\"y\"} 4 120.000
l_total{r=\"y\"} 6 180.500
# HELP g G.
# TYPE g gauge
g 2 120.000
g 3 180.500
";
        assert_eq!(text, want);
        assert_eq!(timestamp(-1), "-1.999");
        let mut tl = Timeline::new(100, vec![("job".into(), "gwmon".into())]).unwrap();
        step(&mut tl, 0, 1.0, false);
        let mut out = Vec::new();
        tl.finish(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\na_total{job=\"gwmon\"} 1 0.000\n"),
            "{text}"
        );
        assert!(
            text.contains("\nl_total{job=\"gwmon\",r=\"y\"} 2 0.000\n"),
            "{text}"
        );
        assert!(text.contains("\nh_seconds_bucket{job=\"gwmon\",le=\"+Inf\"} 1 0.000\n"));
    }
}
