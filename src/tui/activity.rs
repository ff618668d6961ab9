//! What the dashboard keeps besides the pool: allocations and failures per minute, the pool in
//! use per minute, the latest alert transitions and the follower's notes. Bounded.

use std::collections::VecDeque;

use crate::alert::Notification;
use crate::event::{Event, Kind, Millis};

pub const MINUTE: Millis = 60_000;
/// Minutes of the allocation sparkline.
pub const MINUTES: usize = 120;
/// Minutes of the pool chart.
pub const POOL_MINUTES: usize = 6 * 60;

/// Kept in `top --state` (serde), so the charts go on across a restart.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Activity {
    /// (minute, allocations, failures), the last [`MINUTES`] minutes with events.
    per_minute: VecDeque<(Millis, u64, u64)>,
    /// (minute, most gateways in use in it, in use at its end), the last [`POOL_MINUTES`]
    /// minutes with a change.
    in_use: VecDeque<(Millis, u64, u64)>,
    /// The latest alert transitions, newest last.
    pub transitions: VecDeque<Notification>,
    /// The latest things the follower told (a file missing, rotated, unreadable): (error,
    /// text), newest last.
    pub notes: VecDeque<(bool, String)>,
}

impl Activity {
    /// An event, derived `pool_status` events included (they give the pool in use).
    pub fn event(&mut self, ev: &Event) {
        let m = ev.time.div_euclid(MINUTE);
        let (a, f) = match &ev.kind {
            Kind::Allocated { .. } => (1, 0),
            Kind::AllocFailed { .. } => (0, 1),
            Kind::PoolStatus {
                allocated,
                orphaned,
                ..
            } => {
                self.in_use_at(m, allocated + orphaned);
                return;
            }
            _ => return,
        };
        match self.per_minute.back_mut() {
            Some(last) if last.0 == m => {
                last.1 += a;
                last.2 += f;
            }
            Some(last) if last.0 > m => {} // time going backwards: not drawn
            _ => {
                self.per_minute.push_back((m, a, f));
                while self.per_minute.len() > MINUTES {
                    self.per_minute.pop_front();
                }
            }
        }
    }

    fn in_use_at(&mut self, m: Millis, n: u64) {
        match self.in_use.back_mut() {
            Some(last) if last.0 == m => {
                last.1 = last.1.max(n);
                last.2 = n;
            }
            Some(last) if last.0 > m => {}
            _ => {
                self.in_use.push_back((m, n, n));
                while self.in_use.len() > POOL_MINUTES + 1 {
                    self.in_use.pop_front();
                }
            }
        }
    }

    /// Something the follower told; errors are shown in red.
    pub fn note(&mut self, error: bool, text: String) {
        self.notes.push_back((error, text));
        while self.notes.len() > 50 {
            self.notes.pop_front();
        }
    }

    pub fn notification(&mut self, n: &Notification) {
        self.transitions.push_back(n.clone());
        while self.transitions.len() > 50 {
            self.transitions.pop_front();
        }
    }

    /// Allocations per minute over the last [`MINUTES`] minutes up to `now`, zeros included.
    pub fn series(&self, now: Millis) -> Vec<u64> {
        let end = now.div_euclid(MINUTE);
        let start = end - MINUTES as i64 + 1;
        let mut v = vec![0; MINUTES];
        for (m, a, _) in &self.per_minute {
            if (start..=end).contains(m) {
                v[(m - start) as usize] = *a;
            }
        }
        v
    }

    /// Gateways in use (allocated + orphaned) over the last [`POOL_MINUTES`] minutes up to
    /// `now`, in `cells` cells: the most in use in each, a cell without a change holding the
    /// value before it. `None` before anything is known.
    pub fn in_use_series(&self, now: Millis, cells: usize) -> Vec<Option<u64>> {
        let n = cells.clamp(1, POOL_MINUTES);
        let end = now.div_euclid(MINUTE) + 1;
        let start = end - POOL_MINUTES as i64;
        let bound = |i: usize| start + (i * POOL_MINUTES / n) as i64;
        let mut out = vec![None; n];
        let mut held: Option<u64> = None;
        let mut it = self.in_use.iter().peekable();
        for (i, cell) in out.iter_mut().enumerate() {
            let (a, b) = (bound(i), bound(i + 1));
            let mut most = held;
            while let Some(&&(m, max, last)) = it.peek() {
                if m >= b {
                    break;
                }
                if m >= a {
                    most = Some(most.map_or(max, |x: u64| x.max(max)));
                }
                held = Some(last);
                it.next();
            }
            *cell = most.or(held);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Origin;

    fn status(minute: i64, allocated: u64) -> Event {
        Event {
            time: minute * MINUTE,
            kind: Kind::PoolStatus {
                allocated,
                orphaned: 0,
                recycling: None,
                available: None,
                total: None,
            },
            origin: Origin { input: 0, line: 1 },
            stream: None,
            raw: String::new(),
        }
    }

    #[test]
    fn what_top_state_keeps_comes_back_the_same() {
        use crate::alert::{Alert, Notification, Rule, Status};
        let mut a = Activity::default();
        a.event(&status(29_000_000, 3));
        for ends_at in [None, Some(-62_000_000_000_000_000)] {
            a.notification(&Notification {
                status: Status::Firing,
                repeat: false,
                at: 1_772_615_702_118,
                alert: Alert {
                    rule: Rule::PoolLow,
                    severity: crate::alert::config::Severity::Warning,
                    labels: [("pool".to_owned(), "gw-pool".to_owned())].into(),
                    summary: "only 1 of 16 available".into(),
                    value: 1.0,
                    fingerprint: "abc".into(),
                    starts_at: 1_772_615_702_118,
                    // (out of RFC 3339's range: written `@…ms`)
                    ends_at,
                },
            });
        }
        a.note(true, "gone".into());
        let back: Activity = serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
        assert_eq!(format!("{back:?}"), format!("{a:?}"));
    }

    #[test]
    fn the_pool_in_use_holds_between_changes() {
        let mut a = Activity::default();
        let t0 = 29_000_000; // minutes
        a.event(&status(t0, 3));
        a.event(&status(t0, 5));
        a.event(&status(t0, 4));
        a.event(&status(t0 + 100, 1));
        let now = (t0 + 200) * MINUTE;
        let s = a.in_use_series(now, POOL_MINUTES);
        let start = t0 + 201 - POOL_MINUTES as i64;
        let at = |m: i64| s[(m - start) as usize];
        assert_eq!(at(t0 - 1), None, "nothing known yet");
        assert_eq!(at(t0), Some(5), "the most in the minute");
        assert_eq!(at(t0 + 50), Some(4), "held from the minute's end");
        assert_eq!(
            at(t0 + 100),
            Some(4),
            "the most in the minute, the earlier value included"
        );
        assert_eq!(at(t0 + 150), Some(1));
        assert_eq!(a.in_use_series(now, 60).len(), 60);
        // A few minutes after the last change, the last cells hold its value.
        let s = a.in_use_series((t0 + 107) * MINUTE, 62);
        assert_eq!(s.last().copied().flatten(), Some(1), "{s:?}");
    }
}
