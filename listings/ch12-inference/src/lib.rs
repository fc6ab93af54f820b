//! Chapter 12 of *Transformers Deep Dive*: inference. Where generation spends its time,
//! the KV cache, sampling, stopping and streaming, batched and speculative decoding, and
//! a streaming chat on the real SmolLM2-135M-Instruct.
//!
//! - [`sampling`]: temperature, top-k, top-p, min-p, repetition and frequency penalties
//!   in Hugging Face's order, drawn with a seeded generator.
//! - [`stopping`]: UTF-8-safe streaming, stop strings, end of sequence and a token
//!   limit, and the sampling loop on any model with a cache.
//! - [`beam`]: Chapter 7's beam search on a decoder-only model, with stop strings and
//!   a token limit.
//! - [`exercises`]: solutions to the chapter's exercises.
//! - [`chat`]: a multi-turn chat with SmolLM2-Instruct's template, one KV cache across
//!   turns, and the oldest turns dropped when the context is full.

pub mod beam;
pub mod chat;
pub mod exercises;
pub mod sampling;
pub mod stopping;
