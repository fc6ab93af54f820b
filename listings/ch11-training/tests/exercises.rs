//! The chapter's exercises (section "Exercises"): each solution checked, one module per
//! exercise.

#[path = "exercises/focal_loss.rs"]
mod focal_loss;
#[path = "exercises/nesterov.rs"]
mod nesterov;
#[path = "exercises/save_every.rs"]
mod save_every;
#[path = "exercises/stochastic_rounding.rs"]
mod stochastic_rounding;
