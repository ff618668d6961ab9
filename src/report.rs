//! Report stage: the pool's state as the JSON report of DESIGN.md §4 (`gwmon.report/v1`), the
//! data every renderer in `export` (text, JSON, HTML) reads. [`schema`] is the stable shape;
//! [`build()`] fills it from the pool model, the read counts and the alert history.

mod build;
pub mod schema;

pub use build::build;
pub use schema::*;
