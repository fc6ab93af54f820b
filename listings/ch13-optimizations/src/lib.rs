//! Chapter 13 of *Transformers Deep Dive*: modern optimizations. Low-rank adapters,
//! number formats and quantization down to 4 bits with integer SIMD kernels,
//! quantization-aware training, QLoRA, and Flash Attention forward and backward.
//!
//! - [`blocks`]: GGUF's Q8_0 and Q4_1 blocks, parsed and quantized as llama.cpp does.
//! - [`exercises`]: solutions to the chapter's exercises.
//! - [`flash`]: Flash Attention for one head, forward (tiles, online softmax, only O and
//!   the log-sum-exp saved) and backward (tiles recomputed from the log-sum-exp).
//! - [`flash_decoding`]: flash decoding, one query over a long KV cache split into
//!   chunks whose partial softmaxes merge by the log-sum-exp rule.
//! - [`flash_measure`]: a counting global allocator, and the peak memory and time of
//!   naive against flash attention that the `flash_measure` example writes.
//! - [`formats`]: fp32, fp16 and bf16 bit by bit: fields, rounding to nearest even,
//!   range and precision, and the error each makes on SmolLM2's weights.
//! - [`kernels`]: matrix products on Q8_0, Q4_1 and int8 weights with integer dot
//!   products, SIMD chosen at run time.
//! - [`lora`]: low-rank adapters beside Chapter 9's attention projections, the frozen
//!   base, the merge, and the count of trainable parameters and optimizer memory.
//! - [`lora_run`]: the LoRA experiment: a copying Llama fine-tuned to encipher, by full
//!   fine-tuning and by LoRA at several ranks, with an optional transform of the base.
//! - [`nf4`]: QLoRA's 4-bit NormalFloat (quantile code points, block-wise absmax, double
//!   quantization of the scales) and the memory account of fine-tuning on an NF4 base.
//! - [`perplexity`]: the mean next-token log-likelihood of a text and its perplexity,
//!   for a model in any weight format.
//! - [`qat`]: fake quantization (symmetric absmax per output channel or group, b bits)
//!   with the straight-through estimator; post-training quantization and
//!   quantization-aware training of Chapter 9's Llama.
//! - [`qat_run`]: the `qat_vs_ptq` example's run: PTQ against QAT at 8, 4, 3 and 2 bits.
//! - [`schemes`]: integer quantization: absmax and zero-point, per-tensor, per-channel
//!   and per-group scales, `fake_quantize`, and the error on weights and activations.
//! - [`smollm2_formats`]: SmolLM2 with its matrices in f32, Q8_0, Q4_1 or int8, or
//!   rounded by one of the chapter's schemes.

pub mod blocks;
pub mod exercises;
pub mod flash;
pub mod flash_decoding;
pub mod flash_measure;
pub mod formats;
pub mod kernels;
pub mod lora;
pub mod lora_run;
pub mod nf4;
pub mod perplexity;
pub mod qat;
pub mod qat_run;
pub mod schemes;
pub mod smollm2_formats;
