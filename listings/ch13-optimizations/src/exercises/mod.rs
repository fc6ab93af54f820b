//! Solutions to the chapter's exercises.

pub mod clip_search;
