//! Chapter 12 of *Transformers Deep Dive*: inference. Where generation spends its time,
//! the KV cache, sampling, stopping and streaming, batched and speculative decoding, and
//! a streaming chat on the real SmolLM2-135M-Instruct.
//!
//! - [`roofline`]: memory bandwidth (STREAM), arithmetic intensity, and the roofline
//!   that bounds decoding.
//! - [`kv_cache`]: a KV cache and a cached forward for Chapter 9's trainable Llama.
//! - [`sampling`]: temperature, top-k, top-p, min-p, repetition and frequency penalties
//!   in Hugging Face's order, drawn with a seeded generator.
//! - [`stopping`]: UTF-8-safe streaming, stop strings, end of sequence and a token
//!   limit, and the sampling loop on any model with a cache.
//! - [`beam`]: Chapter 7's beam search on a decoder-only model, with stop strings and
//!   a token limit.
//! - [`batched`]: batched greedy generation with left padding, a padding mask and
//!   per-row positions, equal to each prompt alone.
//! - [`speculative`]: speculative decoding: the exact acceptance rule, prompt-lookup and
//!   truncated-model drafts, one target pass for k draft tokens, cache roll-back.
//! - [`chat`]: a multi-turn chat with SmolLM2-Instruct's template, one KV cache across
//!   turns, and the oldest turns dropped when the context is full.
//! - [`speed`]: reading a speed table: where a faster decoder overtakes a faster prompt.
//! - [`exercises`]: solutions to the chapter's exercises.

pub mod batched;
pub mod beam;
pub mod chat;
pub mod exercises;
pub mod kv_cache;
pub mod roofline;
pub mod sampling;
pub mod speculative;
pub mod speed;
pub mod stopping;
