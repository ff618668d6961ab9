//! Writing an exposition: the [`Sink`] the families are rendered into, the text writer (text
//! format 0.0.4 or OpenMetrics 1.0), label escaping and number formatting.

use std::fmt::Write as _;

use super::Format;

/// Escape a label value: backslash, double quote and newline — after control and bidi
/// characters from the logs are written as visible `\u{…}` text (an exposition is read on
/// terminals too; the format itself has no escape for them).
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            // `\u{1b}`, its backslash escaped for the format.
            c if crate::term::needs_escape(c) => {
                out.push('\\');
                out.push_str(&c.escape_unicode().to_string());
            }
            c => out.push(c),
        }
    }
    out
}

/// A sample value (or an `le` bound) as the formats write it.
pub fn fmt_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The metric kinds gwmon exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Where the families are rendered: a family header, then its samples.
pub trait Sink {
    /// A metric family header. Counters are named `…_total`.
    fn family(&mut self, name: &str, kind: Kind, help: &str, unit: Option<&str>);
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64);

    fn counter(&mut self, name: &str, help: &str, v: u64) {
        self.family(name, Kind::Counter, help, None);
        self.sample(name, &[], v as f64);
    }

    /// A counter in a unit (seconds), not an integer.
    fn counter_f(&mut self, name: &str, help: &str, unit: &str, v: f64) {
        self.family(name, Kind::Counter, help, Some(unit));
        self.sample(name, &[], v);
    }

    /// A histogram in seconds: `buckets` counts per bound, then +Inf (an empty slice when none
    /// was recorded), and the sum in milliseconds.
    fn histogram(&mut self, name: &str, help: &str, bounds: &[f64], buckets: &[u64], sum_ms: i128) {
        self.family(name, Kind::Histogram, help, Some("seconds"));
        let bucket = format!("{name}_bucket");
        let mut cum = 0;
        for (i, le) in bounds.iter().enumerate() {
            cum += buckets.get(i).copied().unwrap_or(0);
            self.sample(&bucket, &[("le", &fmt_f64(*le))], cum as f64);
        }
        let count: u64 = buckets.iter().sum();
        self.sample(&bucket, &[("le", "+Inf")], count as f64);
        self.sample(&format!("{name}_sum"), &[], sum_ms as f64 / 1000.0);
        self.sample(&format!("{name}_count"), &[], count as f64);
    }

    /// A gauge, absent when its value is unknown.
    fn gauge(&mut self, name: &str, help: &str, unit: Option<&str>, v: Option<f64>) {
        if let Some(v) = v {
            self.family(name, Kind::Gauge, help, unit);
            self.sample(name, &[], v);
        }
    }
}

/// The text of one exposition.
pub struct Text {
    pub s: String,
    pub fmt: Format,
}

/// `name{k="v",…}` (no braces without labels), label values escaped.
pub fn write_series(s: &mut String, name: &str, labels: &[(&str, &str)]) {
    s.push_str(name);
    if !labels.is_empty() {
        s.push('{');
        for (i, (k, val)) in labels.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{k}=\"{}\"", escape_label(val));
        }
        s.push('}');
    }
}

/// The `# HELP`/`# TYPE`/`# UNIT` lines of a family. OpenMetrics names a counter family
/// without its `_total`.
pub fn write_header(
    s: &mut String,
    fmt: Format,
    name: &str,
    kind: Kind,
    help: &str,
    unit: Option<&str>,
) {
    let fam = if fmt == Format::OpenMetrics && kind == Kind::Counter {
        name.strip_suffix("_total").unwrap_or(name)
    } else {
        name
    };
    // HELP text: backslash and newline escaped (and, in OpenMetrics, double quotes).
    let mut h = help.replace('\\', "\\\\").replace('\n', "\\n");
    if fmt == Format::OpenMetrics {
        h = h.replace('"', "\\\"");
    }
    let _ = writeln!(s, "# HELP {fam} {h}");
    let _ = writeln!(s, "# TYPE {fam} {}", kind.as_str());
    if let (Format::OpenMetrics, Some(u)) = (fmt, unit) {
        let _ = writeln!(s, "# UNIT {fam} {u}");
    }
}

impl Sink for Text {
    fn family(&mut self, name: &str, kind: Kind, help: &str, unit: Option<&str>) {
        write_header(&mut self.s, self.fmt, name, kind, help, unit);
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        write_series(&mut self.s, name, labels);
        let _ = writeln!(self.s, " {}", fmt_f64(v));
    }
}
