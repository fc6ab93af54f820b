//! Solutions to the chapter's exercises.

pub mod online_softmax;
