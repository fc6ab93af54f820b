//! Solutions to the chapter's exercises (section "Exercises"), one module per exercise.
pub mod nesterov;
pub mod save_every;

pub mod focal_loss;
pub mod stochastic_rounding;
