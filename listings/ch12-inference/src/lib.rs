//! Chapter 12 of *Transformers Deep Dive*: inference. Where generation spends its time,
//! the KV cache, sampling, stopping and streaming, batched and speculative decoding, and
//! a streaming chat on the real SmolLM2-135M-Instruct.
//!
//! - [`speed`]: reading a speed table: where a faster decoder overtakes a faster prompt.
//! - [`exercises`]: solutions to the chapter's exercises.

pub mod speed;

pub mod exercises;
