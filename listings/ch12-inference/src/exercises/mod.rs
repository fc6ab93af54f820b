//! Solutions to the chapter's exercises, tested in `tests/exercises.rs`.

pub mod cache_budget;
pub mod speculative_length;
pub mod turn_rate;
pub mod typical;
