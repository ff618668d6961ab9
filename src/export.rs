//! Sinks: renderers of the report and the event stream. Each writes to an `impl Write`.

pub mod docs;
pub mod events;
pub mod prometheus;
pub mod text;
