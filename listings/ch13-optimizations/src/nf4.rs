//! QLoRA's 4-bit NormalFloat (NF4): sixteen code points placed at quantiles of the
//! standard normal, block-wise absmax scaling, double quantization of the scales, and the
//! memory account of fine-tuning a frozen NF4 base with LoRA adapters.
//!
//! The layout follows bitsandbytes (the library QLoRA ships in): blocks of 64 weights
//! in row-major order, two 4-bit codes a byte with the first in the high nibble, one
//! absmax scale a block. Double quantization differs in one stated way: bitsandbytes
//! stores the mean-centred scales with its *dynamic* 8-bit map (a sign bit, a
//! leading-zero exponent and a linear fraction); this module stores them as *linear*
//! signed 8-bit absmax codes, the scheme of the integer-quantization section. Both cost
//! 8 bits a scale plus one f32 a block of 256 scales.

use std::sync::OnceLock;

use ch09_decoder_only::config::LlamaConfig;
use ndarray::{Array2, ArrayView2};

/// What can go wrong when quantizing: every variant names the offending value.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Nf4Error {
    #[error("cannot quantize an empty tensor")]
    Empty,
    #[error("block size {0} must be positive")]
    ZeroBlock(&'static str),
    #[error("weight {index} is {value}: only finite weights have a 4-bit code")]
    NonFinite { index: usize, value: f32 },
}

// ANCHOR: normal_quantile
/// Φ(x), the standard normal CDF, as the area under the bell from 0 to x (Simpson's
/// rule, 2,000 panels: error far below f32's resolution for |x| < 6).
fn normal_cdf(x: f64) -> f64 {
    let phi = |t: f64| (-0.5 * t * t).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let n = 2_000;
    let h = x / n as f64;
    let inner: f64 = (1..n)
        .map(|i| if i % 2 == 1 { 4.0 } else { 2.0 } * phi(i as f64 * h))
        .sum();
    0.5 + h / 3.0 * (phi(0.0) + inner + phi(x))
}

/// Φ⁻¹(p), the quantile: the x whose CDF is p, by bisection (Φ is increasing).
pub fn normal_quantile(p: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0, "quantile of p = {p} outside (0, 1)");
    let (mut lo, mut hi) = (-8.0, 8.0);
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(mid) < p {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}
// ANCHOR_END: normal_quantile

// ANCHOR: code_points
/// The outermost probability: halfway between the ends 1 − 1/(2·15) and 1 − 1/(2·16) of
/// a 15- and a 16-point grid, so the largest code is a finite quantile (Φ⁻¹(1) = ∞).
pub const NF4_OFFSET: f64 = 0.5 * ((1.0 - 1.0 / 30.0) + (1.0 - 1.0 / 32.0));

/// The sixteen NF4 code points, ascending, in [-1, 1], with an exact zero: 8 positive
/// quantiles of N(0, 1) at probabilities evenly spaced from 1/2 (excluded) to the
/// offset, 7 negative ones the same way, and 0; divided by the largest.
pub fn nf4_code_points() -> [f32; 16] {
    // Evenly spaced probabilities from `NF4_OFFSET` down to 1/2, the 1/2 dropped.
    let half = |n: usize| -> Vec<f64> {
        (0..n - 1)
            .map(|i| NF4_OFFSET + (0.5 - NF4_OFFSET) * i as f64 / (n - 1) as f64)
            .map(normal_quantile)
            .collect()
    };
    let positive = half(9); // 8 values: the asymmetric extra one is positive
    let negative = half(8); // 7 values, negated below
    let mut v: Vec<f64> = negative.iter().map(|x| -x).collect();
    v.push(0.0);
    v.extend(positive);
    v.sort_by(f64::total_cmp);
    let max = v[15];
    std::array::from_fn(|i| (v[i] / max) as f32)
}

/// The code points, computed once.
pub fn nf4() -> &'static [f32; 16] {
    static TABLE: OnceLock<[f32; 16]> = OnceLock::new();
    TABLE.get_or_init(nf4_code_points)
}
// ANCHOR_END: code_points

// ANCHOR: nearest_code
/// The index of the code point nearest to x (x already divided by its block's absmax),
/// by comparing with the midpoints between neighbours; a tie goes to the lower code,
/// as in bitsandbytes' `bucketize`.
pub fn nearest_code(x: f32, codes: &[f32; 16]) -> u8 {
    let mut i = 0;
    while i < 15 && x > 0.5 * (codes[i] + codes[i + 1]) {
        i += 1;
    }
    i as u8
}
// ANCHOR_END: nearest_code

/// How a tensor is quantized: `block` weights share one absmax scale; with
/// `scale_block: Some(b)` the scales are themselves quantized to 8 bits in blocks of b.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Nf4Config {
    pub block: usize,
    pub scale_block: Option<usize>,
}

impl Nf4Config {
    /// QLoRA's defaults: blocks of 64 weights, scales double-quantized in blocks of 256.
    pub const QLORA: Nf4Config = Nf4Config {
        block: 64,
        scale_block: Some(256),
    };
    /// The same blocks with f32 scales (bitsandbytes' `compress_statistics=False`).
    pub const F32_SCALES: Nf4Config = Nf4Config {
        block: 64,
        scale_block: None,
    };
}

/// The first-level scales, as stored.
#[derive(Clone, Debug, PartialEq)]
pub enum Scales {
    /// One f32 absmax a block.
    F32(Vec<f32>),
    /// Double quantization: `codes[j] ≈ 127 (s_j − mean) / absmax2[j / block]`.
    Double(DoubleQuant),
}

/// The scales after double quantization (see the module comment for how this differs
/// from bitsandbytes).
#[derive(Clone, Debug, PartialEq)]
pub struct DoubleQuant {
    pub mean: f32,
    pub block: usize,
    pub codes: Vec<i8>,
    pub absmax2: Vec<f32>,
}

// ANCHOR: double_quant
impl DoubleQuant {
    /// Centres the scales (all positive, so without centring half the 8-bit range
    /// would go unused) and stores them as linear int8 with one f32 absmax a block.
    // s: [n_blocks] -> codes [n_blocks] + absmax2 [ceil(n_blocks / block)]
    pub fn quantize(s: &[f32], block: usize) -> DoubleQuant {
        let mean = (s.iter().map(|&x| x as f64).sum::<f64>() / s.len() as f64) as f32;
        let mut codes = Vec::with_capacity(s.len());
        let mut absmax2 = Vec::with_capacity(s.len().div_ceil(block));
        for chunk in s.chunks(block) {
            let a = chunk.iter().fold(0.0f32, |m, &x| m.max((x - mean).abs()));
            let inv = if a > 0.0 { 127.0 / a } else { 0.0 };
            codes.extend(chunk.iter().map(|&x| ((x - mean) * inv).round() as i8));
            absmax2.push(a);
        }
        DoubleQuant {
            mean,
            block,
            codes,
            absmax2,
        }
    }

    /// The reconstructed first-level scales.
    // -> [n_blocks]
    pub fn dequantize(&self) -> Vec<f32> {
        let block = self.block;
        (self.codes.iter().enumerate())
            .map(|(j, &c)| c as f32 * (self.absmax2[j / block] / 127.0) + self.mean)
            .collect()
    }
}
// ANCHOR_END: double_quant

/// A tensor stored in NF4: packed 4-bit codes and the block scales.
#[derive(Clone, Debug, PartialEq)]
pub struct Nf4Tensor {
    pub len: usize,
    pub config: Nf4Config,
    /// Two codes a byte, the earlier weight in the high nibble (bitsandbytes' order).
    pub packed: Vec<u8>,
    pub scales: Scales,
}

impl Nf4Tensor {
    // ANCHOR: quantize
    /// Quantizes `w` (any length: a last, shorter block gets its own scale).
    // w: [n] -> packed [ceil(n / 2)] bytes + scales [ceil(n / block)]
    pub fn quantize(w: &[f32], config: Nf4Config) -> Result<Nf4Tensor, Nf4Error> {
        check_config(w, config)?;
        let codes_table = nf4();
        let mut codes = Vec::with_capacity(w.len() + 1);
        let mut absmax = Vec::with_capacity(w.len().div_ceil(config.block));
        for block in w.chunks(config.block) {
            let a = block.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
            // An all-zero block stores scale 0 and the zero code: exact.
            let inv = if a > 0.0 { 1.0 / a } else { 0.0 };
            codes.extend(block.iter().map(|&x| nearest_code(x * inv, codes_table)));
            absmax.push(a);
        }
        if codes.len() % 2 == 1 {
            codes.push(7); // pad with the code of 0.0; `len` says where the data ends
        }
        let packed = codes.chunks(2).map(|p| (p[0] << 4) | p[1]).collect();
        let scales = match config.scale_block {
            None => Scales::F32(absmax),
            Some(b) => Scales::Double(DoubleQuant::quantize(&absmax, b)),
        };
        Ok(Nf4Tensor {
            len: w.len(),
            config,
            packed,
            scales,
        })
    }
    // ANCHOR_END: quantize

    /// The 4-bit code of weight i.
    pub fn code(&self, i: usize) -> u8 {
        let byte = self.packed[i / 2];
        if i.is_multiple_of(2) {
            byte >> 4
        } else {
            byte & 0x0f
        }
    }

    /// The first-level scales as the dequantizer sees them (after double quantization).
    // -> [ceil(len / block)]
    pub fn absmax(&self) -> Vec<f32> {
        match &self.scales {
            Scales::F32(s) => s.clone(),
            Scales::Double(dq) => dq.dequantize(),
        }
    }

    // ANCHOR: dequantize
    /// w_i ≈ code[q_i] · absmax[i / block].
    // -> [len]
    pub fn dequantize(&self) -> Vec<f32> {
        let (table, absmax) = (nf4(), self.absmax());
        (0..self.len)
            .map(|i| table[self.code(i) as usize] * absmax[i / self.config.block])
            .collect()
    }
    // ANCHOR_END: dequantize

    // ANCHOR: bytes
    /// The bytes stored: codes, then the scales (f32, or int8 codes + one f32 absmax a
    /// scale block + the f32 mean).
    pub fn bytes(&self) -> usize {
        self.packed.len()
            + match &self.scales {
                Scales::F32(s) => 4 * s.len(),
                Scales::Double(dq) => dq.codes.len() + 4 * dq.absmax2.len() + 4,
            }
    }

    /// Storage bits a weight: 4 for the code plus the scales' share.
    pub fn bits_per_param(&self) -> f64 {
        8.0 * self.bytes() as f64 / self.len as f64
    }
    // ANCHOR_END: bytes
}

fn check_config(w: &[f32], config: Nf4Config) -> Result<(), Nf4Error> {
    if w.is_empty() {
        return Err(Nf4Error::Empty);
    }
    if config.block == 0 {
        return Err(Nf4Error::ZeroBlock("block"));
    }
    if config.scale_block == Some(0) {
        return Err(Nf4Error::ZeroBlock("scale_block"));
    }
    match w.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(Nf4Error::NonFinite {
            index,
            value: w[index],
        }),
        None => Ok(()),
    }
}

// ANCHOR: nf4_roundtrip
/// What a frozen NF4 base looks like to the forward pass: the weight quantized with
/// QLoRA's defaults (blocks of 64 in row-major order, scales double-quantized in blocks
/// of 256) and dequantized. The transform LoRA's experiment applies to the base.
///
/// # Panics
/// On a non-finite weight (a model's weights are finite; `Nf4Tensor::quantize` returns
/// the error instead).
// w: [out, in] -> [out, in]
pub fn nf4_roundtrip(w: ArrayView2<f32>) -> Array2<f32> {
    let flat: Vec<f32> = w.iter().copied().collect(); // logical row-major order
    let q = Nf4Tensor::quantize(&flat, Nf4Config::QLORA)
        .unwrap_or_else(|e| panic!("nf4_roundtrip of a {:?} weight: {e}", w.dim()));
    Array2::from_shape_vec(w.dim(), q.dequantize()).expect("same length as w")
}
// ANCHOR_END: nf4_roundtrip

// ANCHOR: int4_absmax
/// The baseline NF4 is compared with: uniform symmetric int4 with the same blocks,
/// q = round(7 x / absmax) ∈ [-7, 7] (15 evenly spaced levels), f32 scales.
// w: [n] -> [n]
pub fn int4_absmax_roundtrip(w: &[f32], block: usize) -> Result<Vec<f32>, Nf4Error> {
    check_config(
        w,
        Nf4Config {
            block,
            scale_block: None,
        },
    )?;
    let mut out = Vec::with_capacity(w.len());
    for chunk in w.chunks(block) {
        let a = chunk.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        let inv = if a > 0.0 { 7.0 / a } else { 0.0 };
        out.extend(chunk.iter().map(|&x| (x * inv).round() * (a / 7.0)));
    }
    Ok(out)
}
// ANCHOR_END: int4_absmax

/// How well a roundtrip kept `w`: relative RMS error and the code usage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantError {
    /// ‖w − ŵ‖ / ‖w‖.
    pub rel_rms: f64,
    /// Empirical entropy of the codes in bits (4 when every code is used equally).
    pub code_entropy: f64,
}

/// Relative RMS error of `w_hat` against `w` and the entropy of the code histogram
/// `counts`.
pub fn quant_error(w: &[f32], w_hat: &[f32], counts: &[u64]) -> QuantError {
    assert_eq!(
        w.len(),
        w_hat.len(),
        "w has {} values, w_hat {}",
        w.len(),
        w_hat.len()
    );
    let (mut err, mut norm) = (0.0f64, 0.0f64);
    for (&a, &b) in w.iter().zip(w_hat) {
        err += ((a - b) as f64).powi(2);
        norm += (a as f64).powi(2);
    }
    let total: u64 = counts.iter().sum();
    let code_entropy = (counts.iter().filter(|&&c| c > 0))
        .map(|&c| c as f64 / total as f64)
        .map(|p| -p * p.log2())
        .sum();
    QuantError {
        rel_rms: (err / norm.max(f64::MIN_POSITIVE)).sqrt(),
        code_entropy,
    }
}

/// The histogram of NF4 codes over a tensor.
pub fn nf4_code_counts(t: &Nf4Tensor) -> [u64; 16] {
    let mut counts = [0u64; 16];
    (0..t.len).for_each(|i| counts[t.code(i) as usize] += 1);
    counts
}

/// The histogram of int4 levels (-7..=7 stored at 0..=14) with the same blocks.
pub fn int4_code_counts(w: &[f32], block: usize) -> [u64; 16] {
    let mut counts = [0u64; 16];
    for chunk in w.chunks(block) {
        let a = chunk.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        let inv = if a > 0.0 { 7.0 / a } else { 0.0 };
        chunk
            .iter()
            .for_each(|&x| counts[((x * inv).round() + 7.0) as usize] += 1);
    }
    counts
}

// ANCHOR: memory_model
/// A Llama-architecture model's parameters split the way QLoRA treats them.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSplit {
    /// The linear projections of the blocks: what QLoRA stores in NF4.
    pub linear: usize,
    /// Token embedding, LM head (if not tied) and norm gains: kept in bf16.
    pub other: usize,
}

/// Which projections get a LoRA adapter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Targets {
    /// q and v, the LoRA paper's choice.
    QV,
    /// All seven: q, k, v, o, gate, up, down (QLoRA's choice).
    All,
}

/// The (d_out, d_in) of each projection of one block, named.
pub fn projections(cfg: &LlamaConfig) -> [(&'static str, usize, usize); 7] {
    let (c, f) = (cfg.d_model, cfg.d_ff);
    let (q, kv) = (cfg.n_heads * cfg.d_head(), cfg.n_kv_heads * cfg.d_head());
    [
        ("q", q, c),
        ("k", kv, c),
        ("v", kv, c),
        ("o", c, q),
        ("gate", f, c),
        ("up", f, c),
        ("down", c, f),
    ]
}

// ANCHOR_END: memory_model

// ANCHOR: param_counts
/// Counts the parameters; `tied` says whether the LM head is the token embedding.
pub fn param_split(cfg: &LlamaConfig, tied: bool) -> ParamSplit {
    let per_block: usize = projections(cfg).iter().map(|&(_, o, i)| o * i).sum();
    let embed = cfg.vocab * cfg.d_model * if tied { 1 } else { 2 };
    let norms = (2 * cfg.n_layers + 1) * cfg.d_model;
    ParamSplit {
        linear: cfg.n_layers * per_block,
        other: embed + norms,
    }
}

/// LoRA's trainable parameters: r (d_in + d_out) for each adapted projection.
pub fn lora_params(cfg: &LlamaConfig, r: usize, targets: Targets) -> usize {
    let adapted = |name: &str| targets == Targets::All || name == "q" || name == "v";
    let per_block: usize = (projections(cfg).iter())
        .filter(|(name, ..)| adapted(name))
        .map(|&(_, o, i)| r * (o + i))
        .sum();
    cfg.n_layers * per_block
}

/// The (codes, scales) bytes of one tensor of n weights in NF4 with QLoRA's blocks,
/// as [`Nf4Tensor::bytes`] counts them.
pub fn nf4_bytes(n: usize, double: bool) -> (usize, usize) {
    let blocks = n.div_ceil(64);
    let scales = match double {
        false => 4 * blocks,
        true => blocks + 4 * blocks.div_ceil(256) + 4,
    };
    (n.div_ceil(2), scales)
}
// ANCHOR_END: param_counts

/// One way of fine-tuning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Setup {
    /// Every weight trained in mixed precision.
    Full,
    /// LoRA adapters on a bf16 base.
    Lora(Targets),
    /// LoRA adapters on an NF4 base; `double` says whether the scales are
    /// double-quantized.
    QLora { targets: Targets, double: bool },
}

/// The setups the memory account compares, with the names its table gives them.
pub fn account_setups() -> [(&'static str, Setup); 5] {
    let qlora = |double| Setup::QLora {
        targets: Targets::All,
        double,
    };
    [
        ("full fine-tuning", Setup::Full),
        ("LoRA q,v (bf16 base)", Setup::Lora(Targets::QV)),
        ("LoRA all (bf16 base)", Setup::Lora(Targets::All)),
        ("QLoRA all, f32 scales", qlora(false)),
        ("QLoRA all, double quant", qlora(true)),
    ]
}

/// Where the bytes go, excluding activations (they depend on batch and sequence).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemoryAccount {
    /// The frozen (or, for full fine-tuning, trained) weights as stored.
    pub base: f64,
    /// The first-level NF4 scales (with double quantization: codes + second level).
    pub scales: f64,
    /// Trainable weights and their gradients.
    pub trainable: f64,
    /// AdamW's two moments (plus the f32 master copy for full fine-tuning).
    pub optimizer: f64,
}

impl MemoryAccount {
    pub fn new(base: f64, scales: f64, trainable: f64, optimizer: f64) -> Self {
        MemoryAccount {
            base,
            scales,
            trainable,
            optimizer,
        }
    }

    pub fn total(&self) -> f64 {
        self.base + self.scales + self.trainable + self.optimizer
    }
}

// ANCHOR: memory_account
/// Bytes of fine-tuning `cfg` with LoRA rank `r`. Conventions (the ZeRO paper's for
/// full fine-tuning): bf16 weights and gradients, an f32 master copy and AdamW's two
/// f32 moments, so 2 + 2 + 4 + 8 = 16 bytes a trained weight; adapters are held in f32
/// (4 + 4 gradient + 8 moments = 16 bytes a parameter); a frozen weight costs its
/// storage only: 2 bytes in bf16, or each projection as an `Nf4Tensor` of its own.
pub fn memory_account(
    cfg: &LlamaConfig,
    tied: bool,
    r: usize,
    setup: Setup,
) -> MemoryAccount {
    let p = param_split(cfg, tied);
    let n = (p.linear + p.other) as f64;
    let (targets, nf4) = match setup {
        Setup::Full => {
            let (base, trainable, optimizer) = (2.0 * n, 2.0 * n, 12.0 * n);
            return MemoryAccount::new(base, 0.0, trainable, optimizer);
        }
        Setup::Lora(targets) => (targets, None),
        Setup::QLora { targets, double } => (targets, Some(double)),
    };
    let (base, scales) = match nf4 {
        None => (2.0 * n, 0.0),
        Some(double) => {
            let (mut codes, mut scales) = (0, 0);
            for (_, d_out, d_in) in projections(cfg) {
                let (c, s) = nf4_bytes(d_out * d_in, double);
                (codes, scales) = (codes + cfg.n_layers * c, scales + cfg.n_layers * s);
            }
            (codes as f64 + 2.0 * p.other as f64, scales as f64)
        }
    };
    let a = lora_params(cfg, r, targets) as f64;
    MemoryAccount::new(base, scales, 8.0 * a, 8.0 * a)
}
// ANCHOR_END: memory_account

/// Llama 2 7B's shapes (its `config.json`: 32 layers, width 4096, 32 heads, no GQA,
/// FFN 11008, vocabulary 32000, LM head not tied).
pub fn llama2_7b() -> LlamaConfig {
    LlamaConfig {
        n_layers: 32,
        d_model: 4096,
        n_heads: 32,
        n_kv_heads: 32,
        d_ff: 11008,
        vocab: 32000,
        context: 4096,
        rope_base: 10_000.0,
        rms_eps: 1e-5,
    }
}

/// SmolLM2-135M's shapes (as its GGUF's metadata says; tied LM head).
pub fn smollm2_135m() -> LlamaConfig {
    LlamaConfig {
        n_layers: 30,
        d_model: 576,
        n_heads: 9,
        n_kv_heads: 3,
        d_ff: 1536,
        vocab: 49152,
        context: 8192,
        rope_base: 100_000.0,
        rms_eps: 1e-5,
    }
}
