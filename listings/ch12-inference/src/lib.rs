//! Chapter 12 of *Transformers Deep Dive*: inference. Where generation spends its time,
//! the KV cache, sampling, stopping and streaming, batched and speculative decoding, and
//! a streaming chat on the real SmolLM2-135M-Instruct.
//!
//! - [`speculative`]: speculative decoding: the exact acceptance rule, prompt-lookup and
//!   truncated-model drafts, one target pass for k draft tokens, cache roll-back.
//! - [`batched`]: batched greedy generation with left padding, a padding mask and
//!   per-row positions, equal to each prompt alone.
//! - [`exercises`]: the chapter's exercise solutions.

pub mod batched;
pub mod exercises;
pub mod speculative;
