//! The pipelines: the stages wired together for the commands, so that what two commands share
//! is written once.
//!
//! - [`batch`]: one-off reads — a reader thread per input frames it, scan workers (one per core)
//!   decode and classify chunks, the calling thread puts each input's results back in order,
//!   recognizes them and merges the inputs by event time;
//! - [`replay`]: a batch read through the pool (and the alert engine) within a `--since`/`--until`
//!   window (`report`, `events`, `alerts`), or sampled step by step in event time (`backfill`);
//! - [`live`]: following files or stdin into the pool and the alert engine, with the clock
//!   ticking between lines (`watch`, `events --follow`, `top`; `check` reads through the same
//!   [`session::Session`]);
//! - [`publish`]: the metrics a live run exports (`/metrics`, the node_exporter textfile);
//! - [`state`]: a live run's state kept in a file and resumed (`watch --state`, `events --follow
//!   --state`).
//!
//! Stages report what went wrong as values ([`Diagnostic`], the follower's notes); the commands
//! decide what to print.

pub mod batch;
pub mod catchup;
pub mod live;
pub mod publish;
pub mod replay;
pub mod sanity;
pub mod session;
pub mod state;

use std::fmt;

pub use batch::{ReadOptions, read_merged};

use crate::recognize::Skipped;
use crate::term::escape;

/// Something a read wants told: a skipped line (shown with `-v`), an input that failed.
#[derive(Clone, Debug, PartialEq)]
pub enum Diagnostic {
    Skipped {
        input: String,
        skipped: Skipped,
    },
    ReadError {
        input: String,
        error: String,
    },
    /// An input named twice (the same device and inode): read once.
    Duplicate {
        input: String,
        same_as: String,
    },
    /// What the pool model noticed about a line (an allocation ended unseen), shown with `-v`.
    Anomaly {
        input: String,
        text: String,
    },
}

impl Diagnostic {
    /// An error: the run ends 2.
    pub fn is_error(&self) -> bool {
        matches!(self, Diagnostic::ReadError { .. })
    }

    /// Told without `-v` too.
    pub fn always_told(&self) -> bool {
        !matches!(
            self,
            Diagnostic::Skipped { .. } | Diagnostic::Anomaly { .. }
        )
    }
}

/// The message, log text escaped (without the `gwmon: ` prefix).
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnostic::Skipped { input, skipped } => write!(
                f,
                "{}:{}: skipped: {}: {}",
                escape(input),
                skipped.line,
                skipped.reason,
                escape(&skipped.excerpt)
            ),
            Diagnostic::ReadError { input, error } => {
                write!(f, "error reading {}: {error}", escape(input))
            }
            Diagnostic::Anomaly { input, text } => {
                write!(f, "{}: {}", escape(input), escape(text))
            }
            Diagnostic::Duplicate { input, same_as } => write!(
                f,
                "{} is the same file as {}: read once",
                escape(input),
                escape(same_as)
            ),
        }
    }
}

/// Tell diagnostics on stderr, as the batch commands do: read errors always, skipped lines with
/// `-v`.
pub fn diagnostics_to_stderr(verbose: bool) -> impl FnMut(Diagnostic) {
    move |d| {
        if verbose || d.always_told() {
            eprintln!("gwmon: {d}");
        }
    }
}
