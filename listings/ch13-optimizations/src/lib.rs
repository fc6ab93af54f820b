//! Chapter 13 of *Transformers Deep Dive*: modern optimizations. Low-rank adapters,
//! number formats and quantization down to 4 bits with integer SIMD kernels,
//! quantization-aware training, QLoRA, and Flash Attention forward and backward.
//!
//! - [`formats`]: fp32, fp16 and bf16 bit by bit: fields, rounding to nearest even,
//!   range and precision, and the error each makes on SmolLM2's weights.
//! - [`schemes`]: integer quantization: absmax and zero-point, per-tensor, per-channel
//!   and per-group scales, `fake_quantize`, and the error on weights and activations.
//! - [`exercises`]: solutions to the chapter's exercises.

pub mod exercises;
pub mod formats;
pub mod schemes;
