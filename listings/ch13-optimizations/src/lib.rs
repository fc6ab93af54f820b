//! Chapter 13 of *Transformers Deep Dive*: modern optimizations. Low-rank adapters,
//! number formats and quantization down to 4 bits with integer SIMD kernels,
//! quantization-aware training, QLoRA, and Flash Attention forward and backward.
//!
//! - [`perplexity`]: the mean next-token log-likelihood of a text and its perplexity,
//!   for a model in any weight format.
pub mod perplexity;
