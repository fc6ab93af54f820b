//! The chapter's exercises (section "Exercises"): each solution checked, one module per
//! exercise.

#[path = "exercises/cache_budget.rs"]
mod cache_budget;
#[path = "exercises/speculative_length.rs"]
mod speculative_length;
#[path = "exercises/typical.rs"]
mod typical;
