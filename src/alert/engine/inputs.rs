//! What the engine knows of the inputs for `log_silent`: when each was last heard of, and the
//! clock it is judged at.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{Engine, State};
use crate::alert::rule::Rule;
use crate::units::Millis;

/// When an input was last heard of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub at: Millis,
    /// A line was read then (else: the input has been watched since `at`, without a line).
    pub line: bool,
}

impl Engine {
    /// Judge `log_silent` at this clock (the wall clock of a live run); `None` in a replay.
    pub fn set_read_clock(&mut self, clock: Option<Millis>) {
        self.read_clock = clock;
    }

    /// The input `name` is watched from `at` on (a live run's start): a path that never gets a
    /// line goes silent too.
    pub fn input_watched(&mut self, name: &str, at: Millis) {
        self.inputs
            .entry(name.to_owned())
            .or_insert(Seen { at, line: false });
    }

    /// A line was read from the input `name` at `at`. Returns whether it was silent until now
    /// (then `log_silent` should be evaluated at once, to resolve).
    pub fn input_seen(&mut self, name: &str, at: Millis) -> bool {
        let seen = self
            .inputs
            .entry(name.to_owned())
            .or_insert(Seen { at, line: true });
        seen.at = seen.at.max(at);
        seen.line = true;
        self.instances
            .contains_key(&(Rule::LogSilent, name.to_owned()))
    }

    /// When each input was last read from.
    pub fn inputs(&self) -> &BTreeMap<String, Seen> {
        &self.inputs
    }

    /// Whether an input is silent now (`log_silent` firing).
    pub fn silent_inputs(&self) -> Vec<String> {
        self.instances
            .iter()
            .filter(|((r, _), i)| *r == Rule::LogSilent && matches!(i.state, State::Firing { .. }))
            .map(|((_, k), _)| k.clone())
            .collect()
    }
}
