//! SVG primitives for the charts: a chart being written, linear and logarithmic scales, a UTC
//! time axis with its day ticks and weekend bands, and the numbers of coordinates. Text goes
//! through [`esc`] like everywhere else in the page.

use std::fmt::{self, Display, Write as _};

use super::{Figs, esc};
use crate::pool::{DAY, HOUR};
use crate::units::Millis;

/// The width of every chart in SVG units (it scales to the page's width).
pub(super) const W: f64 = 800.0;
/// Left and right margins of the plot area.
pub(super) const LEFT: f64 = 46.0;
pub(super) const RIGHT: f64 = 12.0;

/// A coordinate with at most one decimal (`12`, `12.5`).
pub(super) struct N(pub f64);

impl Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = (self.0 * 10.0).round() / 10.0;
        let v = if v == 0.0 { 0.0 } else { v };
        if v.fract() == 0.0 {
            write!(f, "{}", v as i64)
        } else {
            write!(f, "{v:.1}")
        }
    }
}

/// A chart being written: an `<svg>` with a viewBox, so it scales to the page's width.
pub(super) struct Chart {
    out: String,
    /// Marks drawn for the data (a chart without any is not shown).
    pub marks: usize,
}

impl Chart {
    /// `name` identifies the chart (`data-chart`), `label` is its accessible name.
    pub fn new(name: &str, h: f64, label: &str) -> Chart {
        let mut out = String::with_capacity(16 * 1024);
        let _ = write!(
            out,
            "<svg class=\"chart\" data-chart=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" \
             aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
            esc(name),
            N(W),
            N(h),
            esc(label)
        );
        Chart { out, marks: 0 }
    }

    /// A rectangle drawing figures of the report (class `m`, counted in [`Chart::marks`]).
    pub fn bar(&mut self, x: f64, y: f64, w: f64, h: f64, class: &str, figs: &Figs) {
        self.marks += 1;
        self.rect(x, y, w, h, &format!("m {class}"), figs);
    }

    /// A rectangle.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &str, figs: &Figs) {
        let _ = write!(
            self.out,
            "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"{}/>",
            esc(class),
            N(x),
            N(y),
            N(w.max(0.0)),
            N(h.max(0.0)),
            figs.attrs()
        );
    }

    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = write!(
            self.out,
            "<line class=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            esc(class),
            N(x1),
            N(y1),
            N(x2),
            N(y2)
        );
    }

    /// A path drawing figures of the report (`d` built from coordinates by the caller; class
    /// `m`, counted in [`Chart::marks`]).
    pub fn mark_path(&mut self, d: &str, class: &str, figs: &Figs) {
        self.marks += 1;
        let _ = write!(
            self.out,
            "<path class=\"m {}\" d=\"{}\"{}/>",
            esc(class),
            esc(d),
            figs.attrs()
        );
    }

    /// Text anchored `start`, `middle` or `end`.
    pub fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, s: &str) {
        let _ = write!(
            self.out,
            "<text class=\"{}\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">{}</text>",
            esc(class),
            N(x),
            N(y),
            esc(anchor),
            esc(s)
        );
    }

    /// Open a group whose `<title>` shows on hover over any of its marks.
    pub fn group(&mut self, title: &str) {
        let _ = write!(self.out, "<g><title>{}</title>", esc(title));
    }

    pub fn end_group(&mut self) {
        self.out.push_str("</g>");
    }

    /// A transparent band that shows `title` on hover (and darkens a little).
    pub fn hover(&mut self, x: f64, y: f64, w: f64, h: f64, title: &str, figs: &Figs) {
        self.group(title);
        let _ = write!(
            self.out,
            "<rect class=\"hv\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"{}/>",
            N(x),
            N(y),
            N(w.max(0.0)),
            N(h.max(0.0)),
            figs.attrs()
        );
        self.end_group();
    }

    /// Horizontal grid lines and their labels for a linear y scale.
    pub fn y_grid(&mut self, y: &Lin, ticks: &[f64], fmt: impl Fn(f64) -> String) {
        for &t in ticks {
            let py = y.at(t);
            self.line(LEFT, py, W - RIGHT, py, "grid");
            self.text(LEFT - 5.0, py + 4.0, "end", "tick", &fmt(t));
        }
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// A linear scale from a domain to a range of SVG units.
#[derive(Clone, Copy)]
pub(super) struct Lin {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl Lin {
    pub fn at(&self, v: f64) -> f64 {
        if self.d1 == self.d0 {
            return self.r0;
        }
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }

    /// Units of range per unit of domain (negative when the range runs upwards).
    pub fn per(&self) -> f64 {
        if self.d1 == self.d0 {
            0.0
        } else {
            (self.r1 - self.r0) / (self.d1 - self.d0)
        }
    }
}

/// A logarithmic scale (domain values above 0), clamped to its domain.
#[derive(Clone, Copy)]
pub(super) struct Log {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl Log {
    pub fn at(&self, v: f64) -> f64 {
        let v = v.clamp(self.d0, self.d1);
        self.r0 + (v / self.d0).ln() / (self.d1 / self.d0).ln() * (self.r1 - self.r0)
    }
}

/// Round `max` up to a tick step of 1, 2 or 5 × 10ⁿ giving at most `n` steps; the ticks from 0.
pub(super) fn nice_ticks(max: f64, n: usize) -> (f64, Vec<f64>) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, vec![0.0, 1.0]);
    }
    let raw = max / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    // Whole numbers of gateways and allocations: no step below 1.
    let step = step.max(1.0);
    let top = (max / step).ceil() * step;
    let ticks = (0..=((top / step).round() as usize))
        .map(|i| i as f64 * step)
        .collect();
    (top, ticks)
}

/// The time axis of a chart: UTC times to x.
pub(super) struct TimeAxis {
    pub x: Lin,
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// `Mon 02` for the day starting at `t` (UTC).
pub(super) fn day_label(t: Millis) -> String {
    let day = t.div_euclid(DAY);
    let dow = WEEKDAYS[day.rem_euclid(7) as usize];
    let date = chrono::DateTime::from_timestamp_millis(t)
        .map_or(String::new(), |d| d.format("%d").to_string());
    format!("{dow} {date}")
}

/// `Mon 2026-03-02 09:00 UTC` for a bucket's hover text.
pub(super) fn hour_label(t: Millis) -> String {
    let hm = chrono::DateTime::from_timestamp_millis(t)
        .map_or(String::new(), |d| d.format("%Y-%m-%d %H:%M").to_string());
    let dow = WEEKDAYS[t.div_euclid(DAY).rem_euclid(7) as usize];
    format!("{dow} {hm} UTC")
}

/// Whether the day starting at `t` is a Saturday or a Sunday (UTC).
fn weekend(t: Millis) -> bool {
    matches!(t.div_euclid(DAY).rem_euclid(7), 2 | 3)
}

impl TimeAxis {
    /// `t0` to `t1` over the plot width from `left`.
    pub fn new(t0: Millis, t1: Millis, left: f64) -> TimeAxis {
        TimeAxis {
            x: Lin {
                d0: t0 as f64,
                d1: t1.max(t0 + 1) as f64,
                r0: left,
                r1: W - RIGHT,
            },
        }
    }

    pub fn at(&self, t: Millis) -> f64 {
        self.x.at(t as f64)
    }

    fn t0(&self) -> Millis {
        self.x.d0 as Millis
    }

    fn t1(&self) -> Millis {
        self.x.d1 as Millis
    }

    /// Weekend bands from `top` to `bottom` (drawn first, under the data), then the day lines
    /// and labels below `bottom`: every day for up to five weeks, every Monday beyond, the
    /// first of each month beyond half a year; every six hours within two days.
    pub fn draw(&self, c: &mut Chart, top: f64, bottom: f64) {
        let (t0, t1) = (self.t0(), self.t1());
        let span = t1 - t0;
        let first_day = t0.div_euclid(DAY) * DAY;
        if span <= 200 * DAY {
            let mut d = first_day;
            while d < t1 {
                if weekend(d) {
                    let (a, b) = (self.at(d.max(t0)), self.at((d + DAY).min(t1)));
                    c.rect(a, top, b - a, bottom - top, "we", &Figs::default());
                }
                d += DAY;
            }
        }
        let label_y = bottom + 15.0;
        if span <= 2 * DAY {
            let mut t = t0.div_euclid(6 * HOUR) * 6 * HOUR;
            while t <= t1 {
                if t >= t0 {
                    let x = self.at(t);
                    c.line(x, top, x, bottom, "grid");
                    let label = if t.rem_euclid(DAY) == 0 {
                        day_label(t)
                    } else {
                        chrono::DateTime::from_timestamp_millis(t)
                            .map_or(String::new(), |d| d.format("%H:%M").to_string())
                    };
                    c.text(x + 2.0, label_y, "start", "tick", &label);
                }
                t += 6 * HOUR;
            }
            return;
        }
        let mut d = first_day;
        let mut i = 0usize;
        while d <= t1 {
            if d >= t0 {
                let x = self.at(d);
                let dom = chrono::DateTime::from_timestamp_millis(d)
                    .map_or(1, |x| chrono::Datelike::day(&x));
                let monday = d.div_euclid(DAY).rem_euclid(7) == 4;
                let (line, label, minor) = if span <= 35 * DAY {
                    (true, Some(day_label(d)), !monday && span > 8 * DAY)
                } else if span <= 200 * DAY {
                    (monday, monday.then(|| day_label(d)), i % 2 == 1)
                } else {
                    let first = dom == 1;
                    let month = chrono::DateTime::from_timestamp_millis(d)
                        .map_or(String::new(), |x| x.format("%b %Y").to_string());
                    (first, first.then_some(month), false)
                };
                if line {
                    c.line(x, top, x, bottom, "grid");
                }
                // No label that would start at the right edge.
                if let Some(l) = label.filter(|_| x < W - RIGHT - 30.0) {
                    let class = if minor { "tick minor" } else { "tick" };
                    // A day's label sits in its middle when days are wide enough.
                    let mid = span <= 10 * DAY && d + DAY <= t1;
                    if mid {
                        c.text((x + self.at(d + DAY)) / 2.0, label_y, "middle", class, &l);
                    } else {
                        c.text(x + 2.0, label_y, "start", class, &l);
                    }
                    if monday {
                        i += 1;
                    }
                }
            }
            d += DAY;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_have_at_most_one_decimal() {
        assert_eq!(N(12.0).to_string(), "12");
        assert_eq!(N(12.34).to_string(), "12.3");
        assert_eq!(N(-0.01).to_string(), "0");
    }

    #[test]
    fn nice_ticks_cover_the_maximum() {
        assert_eq!(nice_ticks(8.0, 4), (8.0, vec![0.0, 2.0, 4.0, 6.0, 8.0]));
        let (top, ticks) = nice_ticks(37.0, 4);
        assert_eq!(top, 40.0);
        assert_eq!(ticks.len(), 5);
        assert_eq!(nice_ticks(0.4, 4).0, 1.0);
    }

    #[test]
    fn days_know_their_weekday() {
        // 2026-03-02 was a Monday, 2026-03-07 a Saturday.
        let monday = crate::units::time::parse_rfc3339("2026-03-02T00:00:00.000Z").unwrap();
        assert_eq!(day_label(monday), "Mon 02");
        assert!(!weekend(monday) && weekend(monday + 5 * DAY) && weekend(monday + 6 * DAY));
    }
}
