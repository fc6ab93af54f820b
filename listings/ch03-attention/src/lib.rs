//! Chapter 3 of *Transformers Deep Dive*: attention. Scaled dot-product attention
//! forward and backward, padding and causal masks, multi-head self-attention with a
//! fused QKV projection, and cross-attention. One module a section.

pub mod cross;
pub mod exercises;
pub mod figures;
pub mod heads;
pub mod mask;
pub mod mha;
pub mod report;
pub mod sdpa;
