//! One integration binary: runs the real `gwmon` binary over files in temp dirs.

mod bad_input;
mod check;
mod common;
mod prometheus;
mod replay;
mod simulated;
mod watch;
