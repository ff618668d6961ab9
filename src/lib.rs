//! gwmon watches a gateway pool through the logs its service already writes.
//!
//! The pipeline (DESIGN.md §1), one folder per stage, each importing only the stages before it
//! and the leaf helpers:
//!
//! ```text
//!  source ──► decode ──► recognize ──► pool ──► alert ──► report ──► export
//!  files,     console,   scan (GATEWAY_  state    rules,    the JSON   text, JSON, events,
//!  gzip,      docker,    hits, on every  over     engine,   report's   Prometheus + /metrics,
//!  stdin,     otlp,      core) → in-     event    replay,   schema     plugin status
//!  follow,    logcli     order events    time     sinks     + builder
//!  framing                                                             tui: the dashboard
//! ```
//!
//! - stages: [`source`] (inputs, the one line [`source::Framer`], following files across
//!   rotation, file identity), [`decode`] (a line becomes [`decode::Record`]s), [`recognize`]
//!   (records become typed [`event::Event`]s), [`pool`] (the pool over event time and every
//!   metric), [`alert`] (the rules, their state machines, the notification sinks), [`report`]
//!   (the JSON report), [`export`] (renderers), [`tui`] (the dashboard's screens);
//! - [`pipeline`]: the stages wired for the commands — batch reads on every core, replays within
//!   a window, the live loop of `watch`/`events --follow`/`top`, metric publishing;
//! - [`cli`] (what was typed) → [`settings`] (with [`config`], the file: the decisions) →
//!   [`cmd`] (one module per command; commands never import each other);
//! - leaf helpers: [`event`] (the vocabulary), [`units`] (times, durations, sizes, human forms),
//!   [`term`] (escaping log text, colour), [`exit`] (exit statuses), [`atomic`] (atomic file
//!   replacement); [`simulate`] writes simulated logs with their expected reports.
//!
//! Commands: `report`, `events`, `watch`, `alerts`, `check`, `backfill`, `top`, `config` (and the
//! hidden `simulate` and `generate`).
//!
//! gwmon is an application: its stages are `pub(crate)`, and these docs are built with
//! `cargo doc --document-private-items` (links to them are meant).
#![allow(rustdoc::private_intra_doc_links)]

pub(crate) mod alert;
pub(crate) mod atomic;
pub mod cli;
pub(crate) mod cmd;
pub(crate) mod config;
pub mod decode;
pub(crate) mod event;
pub mod exit;
pub(crate) mod export;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub(crate) mod pipeline;
pub(crate) mod pool;
pub mod recognize;
pub(crate) mod report;
pub(crate) mod settings;
pub mod simulate;
pub(crate) mod source;
pub(crate) mod term;
pub(crate) mod tui;
pub(crate) mod units;

pub use cmd::run;
