//! One integration binary: runs the real `gwmon` binary over files in temp dirs.
// Tests may unwrap: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod alertmanager_ha;
mod alertmanager_tls;
mod backfill;
mod bad_input;
mod check;
mod common;
mod contrib;
mod docs;
mod endpoint;
mod exporter;
mod faults;
mod hostile;
mod html;
mod logrotate;
mod model;
mod prometheus;
mod readme;
mod replay;
mod restart;
mod simulated;
mod top;
mod trust;
mod watch;
