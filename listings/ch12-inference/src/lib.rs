//! Chapter 12 of *Transformers Deep Dive*: inference. Where generation spends its time,
//! the KV cache, sampling, stopping and streaming, batched and speculative decoding, and
//! a streaming chat on the real SmolLM2-135M-Instruct.
//!
//! - [`kv_cache`]: a KV cache and a cached forward for Chapter 9's trainable Llama.
//! - [`roofline`]: memory bandwidth (STREAM), arithmetic intensity, and the roofline
//!   that bounds decoding.
//! - [`exercises`]: solutions to the chapter's exercises.

pub mod exercises;
pub mod kv_cache;
pub mod roofline;
