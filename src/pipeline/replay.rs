//! Replays of history: a batch read of the inputs through the pool (and the alert engine),
//! within the `--since`/`--until` window (`report`, `events`, `alerts`).

use super::{Diagnostic, ReadOptions, read_merged};
use crate::alert::{Monitor, Notification};
use crate::event::Event;
use crate::pool::Pool;
use crate::recognize::ReadStats;
use crate::source::{self, Input};
use crate::units::Millis;

/// The time window asked for with `--since`/`--until`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub since: Option<Millis>,
    pub until: Option<Millis>,
}

/// What a replay reads: the inputs, in the order named, the window and how to read.
#[derive(Clone, Debug)]
pub struct Batch {
    pub inputs: Vec<Input>,
    pub window: Window,
    pub read: ReadOptions,
    /// Names left out because they are the same file as an input kept: (left out, kept).
    pub duplicates: Vec<(String, String)>,
}

impl Batch {
    /// The inputs' names, by index (for `source` fields and messages).
    pub fn names(&self) -> Vec<String> {
        self.inputs.iter().map(Input::name).collect()
    }

    /// Whether the batch reads stdin from a terminal (someone typing, or a forgotten file
    /// name): worth a word before waiting for Ctrl-D.
    pub fn reads_terminal(&self) -> bool {
        use std::io::IsTerminal;
        self.inputs.contains(&Input::Stdin) && std::io::stdin().is_terminal()
    }
}

/// What a batch command says before it reads stdin from a terminal.
pub const STDIN_TERMINAL: &str =
    "gwmon: reading the log from stdin until Ctrl-D (name a file to read it instead)";

/// Read the inputs and apply every event of the window to `pool`, calling `each` with each
/// counted event after the pool has annotated it. Events before `--since` rebuild the state
/// without being counted; events at or after `--until` are not read.
pub fn replay(
    batch: &Batch,
    pool: &mut Pool,
    on_diag: impl FnMut(Diagnostic),
    mut each: impl FnMut(&mut Event, &mut Pool) -> anyhow::Result<()>,
) -> anyhow::Result<ReadStats> {
    let window = batch.window;
    // Both the read and the pool have things to tell.
    let on_diag = std::cell::RefCell::new(on_diag);
    let tell = |d: Diagnostic| (on_diag.borrow_mut())(d);
    for (input, same_as) in &batch.duplicates {
        tell(Diagnostic::Duplicate {
            input: input.clone(),
            same_as: same_as.clone(),
        });
    }
    pool.keep_notes = batch.read.verbose;
    let names = batch.names();
    // Open every input first, so a missing file is reported before any output.
    let readers = batch
        .inputs
        .iter()
        .map(source::open)
        .collect::<anyhow::Result<Vec<_>>>()?;
    if window.since.is_some() {
        pool.counting = false;
    }
    read_merged(
        &batch.inputs,
        readers,
        &batch.read,
        |mut ev| {
            if window.until.is_some_and(|u| ev.time >= u) {
                return Ok(());
            }
            if let Some(s) = window.since
                && ev.time >= s
            {
                pool.start_counting(s);
            }
            let input = ev.origin.input as usize;
            let r = each(&mut ev, pool);
            for text in pool.notes.drain(..) {
                tell(Diagnostic::Anomaly {
                    input: names.get(input).cloned().unwrap_or_default(),
                    text,
                });
            }
            r
        },
        tell,
    )
}

/// Replay the inputs through the pool and the alert engine; `each` sees every notification.
/// Before `--since` the engine only observes (its windows fill), nothing is evaluated.
pub fn replay_alerts(
    batch: &Batch,
    m: &mut Monitor,
    on_diag: impl FnMut(Diagnostic),
    mut each: impl FnMut(&Notification) -> anyhow::Result<()>,
) -> anyhow::Result<ReadStats> {
    let mut notes = Vec::new();
    let Monitor { pool, engine } = m;
    replay(batch, pool, on_diag, |ev, pool| {
        if pool.counting {
            crate::alert::Replay {
                pool,
                engine: &mut *engine,
            }
            .event(ev, &mut notes);
        } else {
            pool.apply(ev);
            engine.observe(ev);
        }
        for n in notes.drain(..) {
            each(&n)?;
        }
        Ok(())
    })
}

/// The most samples [`replay_sampled`] takes (3.8 years at 1m, 347 days at 15s).
pub const MAX_STEPS: u64 = 2_000_000;

/// Replay the inputs through the pool and the alert engine like [`replay_alerts`], and call
/// `sample(t, pool, engine)` at every multiple `t` of `step` from the first counted event's
/// (rounded down) to just past the last one's — with `--until`, to the last before it (or now). A sample at `t` sees every event
/// before `t` and the evaluations due before it: what a live run would have exposed at `t`.
pub fn replay_sampled(
    batch: &Batch,
    m: &mut Monitor,
    step: Millis,
    on_diag: impl FnMut(Diagnostic),
    mut sample: impl FnMut(Millis, &Pool, &crate::alert::Engine) -> anyhow::Result<()>,
) -> anyhow::Result<ReadStats> {
    let step = step.max(1);
    let until = batch.window.until.unwrap_or(Millis::MAX);
    let mut next: Option<Millis> = None;
    // A history longer than this many steps is a wrong time (a line from 1970 or 2100), not
    // something to write out: said as soon as an event (or the end) lies that far.
    let mut first: Option<Millis> = None;
    let mut sample = |t: Millis, to: Millis, pool: &Pool, engine: &crate::alert::Engine| {
        let from = *first.get_or_insert(t);
        if (to - from) / step >= MAX_STEPS as i64 {
            anyhow::bail!(
                "the history spans more than {MAX_STEPS} steps of {}s (up to {}): a line with a \
                 wrong time? Narrow it with --since/--until, or use a larger --step",
                step / 1000,
                crate::units::time::fmt_time(to)
            );
        }
        sample(t, pool, engine)
    };
    let mut notes = Vec::new();
    let Monitor { pool, engine } = m;
    let stats = replay(batch, pool, on_diag, |ev, pool| {
        if !pool.counting {
            pool.apply(ev);
            engine.observe(ev);
            return Ok(());
        }
        let t = next.get_or_insert(ev.time.div_euclid(step) * step);
        let mut r = crate::alert::Replay {
            pool,
            engine: &mut *engine,
        };
        while *t <= ev.time && *t < until {
            r.ticks_until(*t, &mut notes);
            sample(*t, ev.time.min(until), r.pool, r.engine)?;
            *t += step;
        }
        r.event(ev, &mut notes);
        notes.clear();
        Ok(())
    })?;
    if let (Some(mut t), Some(last)) = (next, pool.now) {
        // Just past the last event; with --until, up to it (the state holds until then), but
        // not beyond now.
        let end = match batch.window.until {
            Some(u) => u.min(crate::units::time::wall_now()).max(last),
            None => (last.div_euclid(step) + 1) * step,
        };
        let mut r = crate::alert::Replay {
            pool,
            engine: &mut *engine,
        };
        while t <= end && t < until {
            r.ticks_until(t, &mut notes);
            notes.clear();
            sample(t, end.min(until), r.pool, r.engine)?;
            t += step;
        }
    }
    Ok(stats)
}
