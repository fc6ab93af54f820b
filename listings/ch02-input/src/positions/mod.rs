//! Positional information (sections "Why positions" to "Comparing the four"). Attention
//! treats its input as a set; these modules tell it the order.
//!
//! - [`sinusoidal`]: the fixed sin/cos encoding of the 2017 Transformer, added to the
//!   embeddings.
//! - [`learned`]: a trained table of absolute positions (BERT, GPT-2).
//! - [`rope`]: rotary embeddings that rotate q and k (Llama, GPT-NeoX, GPT-J), both
//!   pairings of the coordinates.
//! - [`alibi`]: per-head linear distance penalties on the attention scores (BLOOM, MPT).
//! - [`figures`], [`report`]: what the sections draw and print; [`exercises`]: tested
//!   solutions.

pub mod alibi;
pub mod exercises;
pub mod figures;
pub mod learned;
pub mod report;
pub mod rope;
pub mod sinusoidal;
