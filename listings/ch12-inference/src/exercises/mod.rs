//! Solutions to the chapter's exercises.

pub mod typical;
