//! The pool's history for charts: per hour, the time-weighted composition of the pool
//! (allocated, orphaned, recycling, available, total) and the reuses and failures by reason; the
//! exhaustion periods, the gaps without any lifecycle event, and the latest distinct error
//! messages. Bounded whatever the input: hours are filled at most a month past the last event,
//! periods, gaps and messages are kept up to a fixed number (the newest).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::event::Reason;
use crate::units::Millis;

use super::HOUR;

/// Hours filled in one step of the clock: a longer silence leaves the hours after a month out.
const MAX_FILL_HOURS: i64 = 31 * 24;
/// Exhaustion periods and gaps kept (the newest).
pub const MAX_PERIODS: usize = 1000;
/// Distinct error messages kept (the most recent).
pub const MAX_ERRORS: usize = 20;
/// Characters of an error message kept.
const MAX_MESSAGE: usize = 500;

/// The state being integrated: what holds from the last event to the next.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Composition {
    pub allocated: u64,
    pub orphaned: u64,
    pub recycling: Option<u64>,
    pub available: Option<i64>,
    pub total: Option<u64>,
}

/// One hour: areas (gateways × ms) over the time covered, and counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hour {
    /// Milliseconds of the hour inside the window.
    pub covered_ms: i64,
    pub allocated: f64,
    pub orphaned: f64,
    /// Areas over the milliseconds where the figure was known.
    pub recycling: f64,
    pub recycling_ms: i64,
    pub available: f64,
    pub total: f64,
    pub total_ms: i64,
    pub reused: u64,
    pub failed_by_reason: [u64; 4],
}

/// A time span: an exhaustion period (first refusal to the next allocation; `end` is `None`
/// while it lasts) or a gap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub start: Millis,
    pub end: Option<Millis>,
    /// Refusals in the period (0 for a gap).
    pub count: u64,
}

/// One distinct error message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorSeen {
    /// `health_check`, `init`, `other` (start-up failures) or `dealloc_failed`.
    pub kind: String,
    pub message: String,
    pub count: u64,
    pub first: Millis,
    pub last: Millis,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct History {
    pub hours: BTreeMap<i64, Hour>,
    pub exhaustion: VecDeque<Span>,
    pub exhaustion_dropped: u64,
    pub gaps: VecDeque<Span>,
    pub gaps_dropped: u64,
    pub errors: Vec<ErrorSeen>,
    /// Time of the last counted event (for gaps).
    last_event: Option<Millis>,
}

impl History {
    /// The state `c` held from `from` to `to`: add it to the hours it spans.
    pub fn integrate(&mut self, from: Millis, to: Millis, c: Composition) {
        if to <= from {
            return;
        }
        let (h0, h1) = (from.div_euclid(HOUR), (to - 1).div_euclid(HOUR));
        let last = h1.min(h0 + MAX_FILL_HOURS);
        for h in h0..=last {
            let a = from.max(h * HOUR);
            let b = to.min((h + 1) * HOUR);
            if b <= a {
                continue;
            }
            let dt = (b - a) as f64;
            let e = self.hours.entry(h).or_default();
            e.covered_ms += b - a;
            e.allocated += c.allocated as f64 * dt;
            e.orphaned += c.orphaned as f64 * dt;
            if let Some(r) = c.recycling {
                e.recycling += r as f64 * dt;
                e.recycling_ms += b - a;
            }
            if let (Some(t), Some(av)) = (c.total, c.available) {
                e.total += t as f64 * dt;
                e.available += av.max(0) as f64 * dt;
                e.total_ms += b - a;
            }
        }
    }

    fn hour(&mut self, t: Millis) -> &mut Hour {
        self.hours.entry(t.div_euclid(HOUR)).or_default()
    }

    /// A counted event at `t`: a silence longer than `gap_ms` since the previous one is a gap.
    pub fn event(&mut self, t: Millis, gap_ms: Millis) {
        if let Some(last) = self.last_event
            && gap_ms > 0
            && t - last > gap_ms
        {
            push(
                &mut self.gaps,
                &mut self.gaps_dropped,
                Span {
                    start: last,
                    end: Some(t),
                    count: 0,
                },
            );
        }
        self.last_event = Some(self.last_event.map_or(t, |l| l.max(t)));
    }

    pub fn reused(&mut self, t: Millis) {
        self.hour(t).reused += 1;
    }

    pub fn failed(&mut self, t: Millis, reason: Reason) {
        self.hour(t).failed_by_reason[reason as usize] += 1;
    }

    /// A refusal (`no_gateway_available`); `new_episode`: the first of an episode.
    pub fn refused(&mut self, t: Millis, new_episode: bool) {
        if new_episode || self.exhaustion.back().is_none_or(|p| p.end.is_some()) {
            push(
                &mut self.exhaustion,
                &mut self.exhaustion_dropped,
                Span {
                    start: t,
                    end: None,
                    count: 0,
                },
            );
        }
        if let Some(p) = self.exhaustion.back_mut() {
            p.count += 1;
        }
    }

    /// An allocation succeeded at `t`: the exhaustion period, if any, ends.
    pub fn allocated(&mut self, t: Millis) {
        if let Some(p) = self.exhaustion.back_mut()
            && p.end.is_none()
        {
            p.end = Some(t);
        }
    }

    /// An error message (a failed start-up, a failed stop): counted with the same ones.
    pub fn error(&mut self, t: Millis, kind: &str, message: &str) {
        let message: String = message.chars().take(MAX_MESSAGE).collect();
        if let Some(e) = self
            .errors
            .iter_mut()
            .find(|e| e.kind == kind && e.message == message)
        {
            e.count += 1;
            e.last = e.last.max(t);
            return;
        }
        if self.errors.len() >= MAX_ERRORS
            && let Some(i) = (0..self.errors.len()).min_by_key(|&i| self.errors[i].last)
        {
            self.errors.swap_remove(i);
        }
        self.errors.push(ErrorSeen {
            kind: kind.to_owned(),
            message,
            count: 1,
            first: t,
            last: t,
        });
    }
}

fn push(list: &mut VecDeque<Span>, dropped: &mut u64, s: Span) {
    if list.len() >= MAX_PERIODS {
        list.pop_front();
        *dropped += 1;
    }
    list.push_back(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = 1_772_409_600_000; // an hour boundary

    #[test]
    fn composition_is_time_weighted_per_hour() {
        let mut h = History::default();
        let c = |allocated| Composition {
            allocated,
            orphaned: 1,
            recycling: None,
            available: Some(8 - allocated as i64 - 1),
            total: Some(8),
        };
        // 2 allocated for 30 minutes, then 4 for 60 minutes (over the hour boundary).
        h.integrate(T0, T0 + HOUR / 2, c(2));
        h.integrate(T0 + HOUR / 2, T0 + 3 * HOUR / 2, c(4));
        let first = &h.hours[&T0.div_euclid(HOUR)];
        assert_eq!(first.covered_ms, HOUR);
        assert_eq!(first.allocated / first.covered_ms as f64, 3.0);
        assert_eq!(first.available / first.total_ms as f64, 4.0);
        assert_eq!(first.recycling_ms, 0, "recycling unknown");
        let second = &h.hours[&(T0.div_euclid(HOUR) + 1)];
        assert_eq!(second.covered_ms, HOUR / 2);
        assert_eq!(second.allocated / second.covered_ms as f64, 4.0);
    }

    #[test]
    fn a_long_silence_fills_at_most_a_month_of_hours() {
        let mut h = History::default();
        h.integrate(T0, T0 + 100 * 366 * 24 * HOUR, Composition::default());
        assert_eq!(h.hours.len() as i64, MAX_FILL_HOURS + 1);
    }

    #[test]
    fn exhaustion_periods_gaps_and_errors_are_bounded() {
        let mut h = History::default();
        h.refused(T0, true);
        h.refused(T0 + 1, false);
        h.allocated(T0 + 10);
        h.allocated(T0 + 20);
        assert_eq!(
            h.exhaustion.back(),
            Some(&Span {
                start: T0,
                end: Some(T0 + 10),
                count: 2
            })
        );
        for i in 0..(MAX_PERIODS as i64 + 5) {
            h.event(T0 + i * 2 * HOUR, HOUR);
        }
        assert_eq!(h.gaps.len(), MAX_PERIODS);
        assert_eq!(h.gaps_dropped, 4);
        for i in 0..100 {
            h.error(T0 + i, "init", &format!("message {}", i % 30));
        }
        assert_eq!(h.errors.len(), MAX_ERRORS);
        assert!(h.errors.iter().any(|e| e.message == "message 29"));
        h.error(T0 + 200, "init", &"x".repeat(10_000));
        assert!(
            h.errors
                .iter()
                .all(|e| e.message.chars().count() <= MAX_MESSAGE)
        );
    }
}
