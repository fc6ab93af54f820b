//! Solutions to the chapter's exercises (section "Exercises"), one module per exercise.
pub mod turn_rate;
