//! Driving a pool and an alert engine over events in event time, with the periodic evaluations
//! between events, so a replay of history (`report`, `alerts`, `check`) and a live run
//! (`watch`, `top`) give the same alerts.

use super::{Alerts, Engine, Notification};
use crate::event::Event;
use crate::pool::{Pool, PoolConfig};
use crate::units::Millis;

/// Evaluations between two events at most (see [`Replay::ticks_until`]).
pub const MAX_GAP_EVALUATIONS: usize = 10_000;

/// A pool and an engine, advanced together.
pub struct Replay<'a> {
    pub pool: &'a mut Pool,
    pub engine: &'a mut Engine,
}

impl Replay<'_> {
    /// Evaluate at every due tick strictly before `t`, then apply `ev` and evaluate at its time.
    pub fn event(&mut self, ev: &mut Event, out: &mut Vec<Notification>) {
        self.ticks_until(ev.time, out);
        self.pool.apply(ev);
        let rules = self.engine.observe(ev);
        let now = ev.time.max(self.pool.now.unwrap_or(ev.time));
        if self.engine.due(now) {
            out.extend(self.engine.evaluate(now, self.pool));
        } else {
            out.extend(self.engine.evaluate_event(now, self.pool, rules));
        }
    }

    /// Periodic evaluations up to (not including) `t`. Over a gap with more than
    /// [`MAX_GAP_EVALUATIONS`] of them (a log silent for months, or one line stamped in the
    /// year 8677: a repeat every 4 h of each firing alert), the rest are folded into one
    /// evaluation just before `t`, so no timestamp can make a replay run or grow without end.
    pub fn ticks_until(&mut self, t: Millis, out: &mut Vec<Notification>) {
        let mut n = 0;
        while let Some(due) = self.engine.next_due() {
            if due >= t {
                break;
            }
            n += 1;
            if n > MAX_GAP_EVALUATIONS {
                out.extend(self.engine.evaluate(t - 1, self.pool));
                break;
            }
            out.extend(self.engine.evaluate(due, self.pool));
        }
    }
}

/// A pool and the alert engine watching it: the state every command builds from events.
#[derive(Clone, Debug)]
pub struct Monitor {
    pub pool: Pool,
    pub engine: Engine,
}

impl Monitor {
    pub fn new(pool: PoolConfig, alerts: Alerts) -> Monitor {
        let mut engine = Engine::new(alerts);
        engine.max_tracked = pool.max_orgs;
        Monitor {
            pool: Pool::new(pool),
            engine,
        }
    }

    /// Drive both over events.
    pub fn replay(&mut self) -> Replay<'_> {
        Replay {
            pool: &mut self.pool,
            engine: &mut self.engine,
        }
    }

    /// Apply an event to both, with the evaluations due before and at its time.
    pub fn event(&mut self, ev: &mut Event, out: &mut Vec<Notification>) {
        self.replay().event(ev, out);
    }

    /// The clock of a live run: the later of the last event time and the wall clock `wall`
    /// (DESIGN.md §5), so a lasting condition fires even when no line arrives.
    pub fn clock(&self, wall: Millis) -> Millis {
        self.pool.now.unwrap_or(0).max(wall)
    }

    /// Evaluate at the live clock when an evaluation is due.
    pub fn tick(&mut self, wall: Millis, out: &mut Vec<Notification>) {
        let now = self.clock(wall);
        if self.engine.due(now) {
            out.extend(self.engine.evaluate(now, &self.pool));
        }
    }
}
