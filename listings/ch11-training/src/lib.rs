//! Chapter 11 of *Transformers Deep Dive*: training dynamics. The loss, the optimizer,
//! the schedule, clipping, accumulation, mixed precision and checkpoints, each taken
//! apart, checked against PyTorch, and put back together on Chapter 9's Llama.
//!
//! - [`coupling`]: coupled L2 against decoupled weight decay under Adam, in numbers.
//! - [`checkpoint`]: the trainer's whole state in two safetensors files, resumed
//!   bit for bit.
//! - [`accumulate`]: gradient accumulation over padded micro-batches, normalised by the
//!   real tokens of all of them, beside the mean of means that is not.
//! - [`clipping`]: a loss spike from one corrupted batch, with and without clipping.
//! - [`exercises`]: solutions to the chapter's exercises.
//! - [`loss`]: cross-entropy fused with its gradient: ignore index, label smoothing,
//!   z-loss, mean and sum reductions.
//! - [`optim`]: the `Optimizer` interface, parameter groups by dotted name, Adam with
//!   coupled L2 or decoupled (AdamW) weight decay, SGD with momentum.
//! - [`precision`]: f16 and bf16 storage and rounding, their bit layouts, dynamic loss
//!   scaling, and a mixed-precision training step with f32 master weights.
//! - [`precision_run`]: the mixed-precision experiment: one Llama in four precisions.
//! - [`recipe`]: putting it together: Chapter 9's Llama retrained with the chapter's recipe.
//! - [`schedule`]: warm-up with cosine, linear, inverse-square-root and
//!   warmup–stable–decay learning rates.
//! - [`stability`]: the initial-loss check, a learning-rate sweep, and warm-up on
//!   Chapter 5's Post-LN stack.
//! - [`trainer`]: the chapter's training loop: batches in a reproducible order with a
//!   data position, and a step that composes optimizer, schedule and clipping.

pub mod accumulate;
pub mod checkpoint;
pub mod clipping;
pub mod coupling;
pub mod exercises;
pub mod loss;
pub mod optim;
pub mod precision;
pub mod precision_run;
pub mod recipe;
pub mod schedule;
pub mod stability;
pub mod trainer;
