//! Solutions to the chapter's exercises.

pub mod cache_budget;
pub mod typical;
