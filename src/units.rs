//! Leaf helper: the units gwmon reads and writes — times, durations, sizes — and their human
//! forms. Imports nothing of the crate, so every stage and command may use it.
//!
//! [`time`]: the log timestamps (the service's `toISOString()` form on a fast path, any RFC 3339
//! time otherwise), `--since`/`--until` arguments, RFC 3339 output. [`duration`]: `30s`, `5m`,
//! `24h` in flags and in the configuration file. [`size`]: `1M`, `512K`. [`human`]: `1,234`,
//! `2d 4h`, `12.5%`.
//!
//! Flags are parsed by clap through the value parsers here, so every bad value gets the same
//! message shape: ``invalid value 'x' for '--flag <UNIT>': `x` is not a duration (examples: …)``.

pub mod duration;
pub mod human;
pub mod size;
pub mod time;

pub use duration::Dur;
pub use human::{human_secs, natural_cmp, pct, thousands};
pub use size::base64;
pub use time::{Millis, fmt_time};
