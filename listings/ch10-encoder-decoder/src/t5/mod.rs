//! T5 from scratch (section "T5"): Chapter 7's encoder-decoder with the changes of
//! Raffel et al. (2020), forward and backward, parameter for parameter Hugging Face's
//! `T5ForConditionalGeneration`.
//!
//! - [`position_bias`]: relative position buckets and the learned bias table.
//! - [`attention`]: attention without the 1/√d_k scale, plus the bias.
//! - [`ffn`]: the ReLU FFN of T5 1.0 and the gated-GELU FFN of T5 v1.1, no biases.
//! - [`model`]: the config, the blocks, the two stacks and the tied, scaled head.
//! - [`span_corruption`]: the pretraining objective: noise spans, sentinels, targets.

pub mod attention;
pub mod ffn;
pub mod model;
pub mod position_bias;
pub mod span_corruption;
