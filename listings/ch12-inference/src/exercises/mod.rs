//! Solutions to the chapter's exercises, tested in `tests/exercises.rs`.

pub mod speculative_length;
