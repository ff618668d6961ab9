//! Source stage: where the bytes come from, and how they become chunks of whole lines.
//!
//! [`input`] names and opens the inputs (files, stdin; gzip recognized by its magic bytes);
//! [`framer`] is the one line framer (bounded line length, a partial last line delivered, held
//! or waited for); [`follow`] follows files across rotation and stdin as they grow; [`identity`]
//! and [`resume`] recognize a file again (device, inode, a fingerprint of its head) to go on
//! where an earlier run stopped. Passes on [`framer::Chunk`]s and [`follow::FollowChunk`]s of
//! whole lines, numbered; nothing here knows what a line means.

pub mod follow;
pub mod framer;
pub mod identity;
pub mod input;
pub mod resume;

pub use framer::{Chunk, Framer};
pub use input::{Input, open};
