//! Chapter 13 of *Transformers Deep Dive*: modern optimizations. Low-rank adapters,
//! number formats and quantization down to 4 bits with integer SIMD kernels,
//! quantization-aware training, QLoRA, and Flash Attention forward and backward.
//!
//! - [`nf4`]: QLoRA's 4-bit NormalFloat (quantile code points, block-wise absmax, double
//!   quantization of the scales) and the memory account of fine-tuning on an NF4 base.

pub mod exercises;
pub mod nf4;
