//! gwmon watches a gateway pool through the logs its service already writes.
//!
//! The pipeline (DESIGN.md §1), one module per stage:
//! [`source`] (files, gzip, stdin; framing into bounded lines) → [`decode`] (console, Docker,
//! OTLP/JSON, logcli) → [`recognize`] (typed [`event::Event`]s) → [`pool`] (state over event time
//! and every metric) → sinks in [`export`] (text and JSON reports, events).

pub mod decode;
pub mod event;
pub mod recognize;
pub mod simulate;
