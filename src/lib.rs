//! gwmon watches a gateway pool through the logs its service already writes.
//!
//! The pipeline (DESIGN.md §1), one module per stage:
//! [`source`] (files, gzip, stdin; framing into bounded lines) → [`scan`] + [`decode`] (console,
//! Docker, OTLP/JSON, logcli; only lines holding the category bytes are decoded) → [`recognize`]
//! (typed [`event::Event`]s) → [`pool`] (state over event time and every metric) → sinks in
//! [`export`] (text and JSON reports, events). [`pipeline`] wires the stages for one-off reads
//! and runs the scan on every core; [`app`] maps the command line onto them.

pub mod alert;
pub mod app;
pub mod check;
pub mod cli;
pub mod config;
pub mod decode;
pub mod event;
pub mod export;
pub mod pipeline;
pub mod pool;
pub mod recognize;
pub mod report;
pub mod scan;
pub mod serve;
pub mod simulate;
pub mod source;
pub mod term;
pub mod tui;
pub mod watch;
