//! Integer quantization schemes (section "Integer quantization"): a weight matrix stored
//! as b-bit integer codes and a few floating-point scales, either symmetric (absmax,
//! zero maps to the code 0) or asymmetric (a zero-point shifts the codes so that the
//! range [min, max] uses all 2^b of them), with one scale for the whole tensor, one per
//! row (an output channel of a weight, a token of an activation), or one per group of
//! g consecutive entries of a row (along the input dimension).
//!
//! Rounding is to nearest with ties to even, as in PyTorch's `quantize_per_tensor` and
//! `quantize_per_channel`, against which the golden tests check the codes bit for bit.
//! Codes are kept one per `i32` so that the arithmetic is visible; packing them into
//! b bits is a storage matter (the GGUF block formats of this chapter do it).

use ch09_decoder_only::gguf::Gguf;
use ndarray::{Array2, ArrayView2, Axis, s};
use thiserror::Error;

use crate::formats::{CLASSES, class_tensors, weight};

/// What can be wrong with a scheme or the matrix it is asked to quantize.
#[derive(Debug, Error, PartialEq)]
pub enum SchemeError {
    #[error("quantization to {0} bits: only 2 to 8 bits are supported")]
    BadBits(u32),
    #[error("groups of {group} do not divide a row of {cols} entries")]
    GroupDoesNotDivide { group: usize, cols: usize },
    #[error("a group of 0 entries")]
    EmptyGroup,
    #[error("cannot quantize an empty matrix of shape [{rows}, {cols}]")]
    Empty { rows: usize, cols: usize },
    #[error("entry [{row}, {col}] is {value}: only finite values can be quantized")]
    NonFinite { row: usize, col: usize, value: f32 },
    #[error("{what}: expected shape [{want_rows}, {want_cols}], got [{rows}, {cols}]")]
    Shape {
        what: &'static str,
        want_rows: usize,
        want_cols: usize,
        rows: usize,
        cols: usize,
    },
}

// ANCHOR: scheme
/// How the real line is mapped onto the integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    /// Symmetric: Δ = max|x| / (2^(b-1) − 1), codes in ±(2^(b-1) − 1), zero is code 0.
    Absmax,
    /// Asymmetric: Δ = (max − min) / (2^b − 1) over [min(x, 0), max(x, 0)], codes in
    /// 0..2^b − 1, and the code z = round(−min / Δ) stands for 0.
    ZeroPoint,
}

/// Which entries share one scale (and zero-point).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// One scale for the whole matrix.
    PerTensor,
    /// One scale per row: an output channel of a weight [out, in], a token of [T, C].
    PerChannel,
    /// One scale per run of `g` consecutive entries of a row (along the input dimension).
    PerGroup(usize),
}

/// A quantization scheme: bits, mapping and granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scheme {
    pub bits: u32,
    pub mapping: Mapping,
    pub granularity: Granularity,
}
// ANCHOR_END: scheme

impl Scheme {
    pub const fn new(bits: u32, mapping: Mapping, granularity: Granularity) -> Self {
        Scheme {
            bits,
            mapping,
            granularity,
        }
    }

    /// The chapter's int8 weight scheme: 8 bits, absmax, one scale per output channel.
    pub const INT8_CHANNEL: Scheme =
        Scheme::new(8, Mapping::Absmax, Granularity::PerChannel);
    /// The chapter's int4 weight scheme: 4 bits, absmax, one scale per 32 inputs.
    pub const INT4_GROUP32: Scheme =
        Scheme::new(4, Mapping::Absmax, Granularity::PerGroup(32));

    /// The smallest and largest code.
    pub fn code_range(&self) -> (i32, i32) {
        match self.mapping {
            Mapping::Absmax => {
                let m = (1 << (self.bits - 1)) - 1;
                (-m, m)
            }
            Mapping::ZeroPoint => (0, (1 << self.bits) - 1),
        }
    }

    /// (rows, cols) of the block of a [rows, cols] matrix that shares one scale, after
    /// checking the bits, the group and the matrix.
    fn block(&self, rows: usize, cols: usize) -> Result<(usize, usize), SchemeError> {
        if !(2..=8).contains(&self.bits) {
            return Err(SchemeError::BadBits(self.bits));
        }
        if rows == 0 || cols == 0 {
            return Err(SchemeError::Empty { rows, cols });
        }
        match self.granularity {
            Granularity::PerTensor => Ok((rows, cols)),
            Granularity::PerChannel => Ok((1, cols)),
            Granularity::PerGroup(0) => Err(SchemeError::EmptyGroup),
            Granularity::PerGroup(g) if !cols.is_multiple_of(g) => {
                Err(SchemeError::GroupDoesNotDivide { group: g, cols })
            }
            Granularity::PerGroup(g) => Ok((1, g)),
        }
    }

    /// Storage per weight in bits: the code, plus each block's f16 scale and (for a
    /// zero-point) its b-bit zero-point spread over the block's entries.
    pub fn bits_per_weight(&self, rows: usize, cols: usize) -> Result<f64, SchemeError> {
        let (br, bc) = self.block(rows, cols)?;
        let extra = 16
            + if self.mapping == Mapping::ZeroPoint {
                self.bits
            } else {
                0
            };
        Ok(f64::from(self.bits) + f64::from(extra) / (br * bc) as f64)
    }
}

/// A quantized matrix: codes, and a scale (and zero-point) per block.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    pub scheme: Scheme,
    /// [rows, cols]: one integer code per entry.
    pub codes: Array2<i32>,
    /// [rows / block rows, cols / block cols]: Δ of each block.
    pub scales: Array2<f32>,
    /// Same shape as `scales`: the code of 0 (all 0 for absmax).
    pub zero_points: Array2<i32>,
}

// ANCHOR: params
/// Δ and z for one block of values under `scheme`. A block of zeros gets Δ = 1 (any
/// scale represents it exactly) rather than a division by zero.
fn block_params(x: ArrayView2<f32>, scheme: &Scheme) -> (f32, i32) {
    let (_, q_max) = scheme.code_range();
    match scheme.mapping {
        Mapping::Absmax => {
            let absmax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let delta = absmax / q_max as f32;
            (if delta > 0.0 { delta } else { 1.0 }, 0)
        }
        Mapping::ZeroPoint => {
            // The range always holds 0, so that 0 (padding, ReLU's zeros) is exact.
            let lo = x.iter().fold(0.0f32, |m, &v| m.min(v));
            let hi = x.iter().fold(0.0f32, |m, &v| m.max(v));
            let delta = (hi - lo) / q_max as f32;
            let delta = if delta > 0.0 { delta } else { 1.0 };
            let z = (-lo / delta).round_ties_even() as i32;
            (delta, z.clamp(0, q_max))
        }
    }
}
// ANCHOR_END: params

// ANCHOR: quantize
/// Quantizes `w` under `scheme`: q = clamp(round(x / Δ) + z, q_min, q_max), rounding
/// half to even.
// w: [rows, cols] -> codes [rows, cols], scales and zero-points [rows/br, cols/bc]
pub fn quantize(w: &Array2<f32>, scheme: &Scheme) -> Result<Quantized, SchemeError> {
    let (rows, cols) = w.dim();
    let (br, bc) = scheme.block(rows, cols)?;
    if let Some(((row, col), &value)) = w.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(SchemeError::NonFinite { row, col, value });
    }
    let (q_min, q_max) = scheme.code_range();
    let mut codes = Array2::zeros((rows, cols));
    let mut scales = Array2::zeros((rows / br, cols / bc));
    let mut zero_points = Array2::zeros((rows / br, cols / bc));
    for ((i, j), delta) in scales.indexed_iter_mut() {
        let block = s![i * br..(i + 1) * br, j * bc..(j + 1) * bc];
        let (d, z) = block_params(w.slice(block), scheme);
        (*delta, zero_points[[i, j]]) = (d, z);
        let code = |x: &f32| ((x / d).round_ties_even() as i32 + z).clamp(q_min, q_max);
        codes.slice_mut(block).assign(&w.slice(block).map(code));
    }
    Ok(Quantized {
        scheme: *scheme,
        codes,
        scales,
        zero_points,
    })
}

// ANCHOR_END: quantize

// ANCHOR: dequantize
impl Quantized {
    /// x̂ = Δ (q − z) for every entry.
    // -> [rows, cols]
    pub fn dequantize(&self) -> Array2<f32> {
        let (rows, cols) = self.codes.dim();
        let (br, bc) = (rows / self.scales.nrows(), cols / self.scales.ncols());
        Array2::from_shape_fn((rows, cols), |(r, c)| {
            let (i, j) = (r / br, c / bc);
            self.scales[[i, j]] * (self.codes[[r, c]] - self.zero_points[[i, j]]) as f32
        })
    }
}

/// `w` quantized under `scheme` and read back as f32: the values a model with
/// quantized weights computes with, in a format any f32 code can run. This is how the
/// chapter measures the perplexity of SmolLM2 under its own int8 and int4 schemes
/// (e.g. [`Scheme::INT8_CHANNEL`], [`Scheme::INT4_GROUP32`]).
// w: [rows, cols] -> [rows, cols]
pub fn fake_quantize(
    w: &Array2<f32>,
    scheme: &Scheme,
) -> Result<Array2<f32>, SchemeError> {
    Ok(quantize(w, scheme)?.dequantize())
}
// ANCHOR_END: dequantize

/// How far a quantized matrix is from the original.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantError {
    /// ‖w − ŵ‖₂ (over all entries, f64 sums).
    pub l2: f64,
    /// ‖w‖₂.
    pub norm: f64,
    /// max |w − ŵ|.
    pub max_abs: f64,
}

// ANCHOR: error
impl QuantError {
    // w, w_hat: [rows, cols]
    pub fn between(
        w: ArrayView2<f32>,
        w_hat: ArrayView2<f32>,
    ) -> Result<Self, SchemeError> {
        if w.dim() != w_hat.dim() {
            return Err(SchemeError::Shape {
                what: "quantization error",
                want_rows: w.nrows(),
                want_cols: w.ncols(),
                rows: w_hat.nrows(),
                cols: w_hat.ncols(),
            });
        }
        let mut e = QuantError {
            l2: 0.0,
            norm: 0.0,
            max_abs: 0.0,
        };
        for (&a, &b) in w.iter().zip(w_hat) {
            let d = f64::from(a) - f64::from(b);
            e.l2 += d * d;
            e.norm += f64::from(a) * f64::from(a);
            e.max_abs = e.max_abs.max(d.abs());
        }
        (e.l2, e.norm) = (e.l2.sqrt(), e.norm.sqrt());
        Ok(e)
    }

    /// ‖w − ŵ‖ / ‖w‖.
    pub fn relative(&self) -> f64 {
        if self.norm > 0.0 {
            self.l2 / self.norm
        } else {
            0.0
        }
    }
}
// ANCHOR_END: error

impl QuantError {
    /// Several tensors pooled into one error: their squared norms add.
    pub fn pooled(parts: &[QuantError]) -> QuantError {
        let sq =
            |f: fn(&QuantError) -> f64| parts.iter().map(|p| f(p).powi(2)).sum::<f64>();
        QuantError {
            l2: sq(|p| p.l2).sqrt(),
            norm: sq(|p| p.norm).sqrt(),
            max_abs: parts.iter().fold(0.0, |m, p| m.max(p.max_abs)),
        }
    }
}

/// The columns of `x` as rows: per-column quantization of an activation [T, C] (one
/// scale per channel, shared by all tokens) is per-row quantization of its transpose.
// x: [T, C] -> [T, C]
pub fn fake_quantize_columns(
    x: &Array2<f32>,
    scheme: &Scheme,
) -> Result<Array2<f32>, SchemeError> {
    let t = x.t().as_standard_layout().into_owned();
    Ok(fake_quantize(&t, scheme)?
        .reversed_axes()
        .as_standard_layout()
        .into_owned())
}

/// The largest |x| of every column.
// x: [T, C] -> [C]
pub fn column_absmax(x: ArrayView2<f32>) -> Vec<f32> {
    x.axis_iter(Axis(1))
        .map(|c| c.iter().fold(0.0f32, |m, v| m.max(v.abs())))
        .collect()
}

/// The schemes of the text's weight table: int8 and int4, per tensor, per channel and
/// per group of 64 and 32 (576 = 9 · 64), absmax and zero-point.
pub fn table_schemes() -> Vec<Scheme> {
    let mut v = Vec::new();
    for bits in [8, 4] {
        for g in [
            Granularity::PerTensor,
            Granularity::PerChannel,
            Granularity::PerGroup(64),
            Granularity::PerGroup(32),
        ] {
            for m in [Mapping::Absmax, Mapping::ZeroPoint] {
                v.push(Scheme::new(bits, m, g));
            }
        }
    }
    v
}

impl Scheme {
    /// "int4 g32 zero-point" and the like.
    pub fn name(&self) -> String {
        let g = match self.granularity {
            Granularity::PerTensor => "tensor".to_string(),
            Granularity::PerChannel => "channel".to_string(),
            Granularity::PerGroup(g) => format!("g{g}"),
        };
        let m = match self.mapping {
            Mapping::Absmax => "absmax",
            Mapping::ZeroPoint => "zero-point",
        };
        format!("int{} {g} {m}", self.bits)
    }
}

// ANCHOR: weight_table
/// The relative error ‖W − Ŵ‖/‖W‖ of every scheme of [`table_schemes`], pooled over the
/// seven linear weights of SmolLM2's first `layers` blocks, and on the token embedding.
pub fn weight_table(
    g: &Gguf,
    layers: usize,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut linear = Vec::new();
    for class in &CLASSES[..7] {
        for name in class_tensors(class, layers) {
            linear.push(weight(g, &name)?.0);
        }
    }
    let embed = weight(g, "token_embd.weight")?.0;
    let mut t = format!(
        "{:<24} {:>7} | {:>13} {:>13} | {:>14}\n",
        "scheme", "bits/w", "linear rel", "linear max", "token_embd rel"
    );
    for s in table_schemes() {
        let mut parts = Vec::new();
        for w in &linear {
            parts.push(QuantError::between(w.view(), fake_quantize(w, &s)?.view())?);
        }
        let e = QuantError::pooled(&parts);
        let emb = QuantError::between(embed.view(), fake_quantize(&embed, &s)?.view())?;
        let bits = s.bits_per_weight(576, 576)?;
        t += &format!(
            "{:<24} {bits:>7.3} | {:>13.3e} {:>13.3e} | {:>14.3e}\n",
            s.name(),
            e.relative(),
            e.max_abs,
            emb.relative()
        );
    }
    Ok(t)
}
// ANCHOR_END: weight_table

/// The outlier problem on activations x [T, C]: the `k` channels with the largest |x|,
/// the median channel's largest |x|, and the relative error of int8 absmax per tensor,
/// per token (one scale a row), per channel (one a column), and per tensor with the `k`
/// outlier channels kept in f32 (LLM.int8()'s decomposition); the error is given over
/// all entries and over the ordinary channels only.
// x: [T, C]
pub fn activation_report(x: &Array2<f32>, k: usize) -> Result<String, SchemeError> {
    let peak = column_absmax(x.view());
    let mut order: Vec<usize> = (0..peak.len()).collect();
    order.sort_by(|&a, &b| peak[b].total_cmp(&peak[a]));
    let outliers = &order[..k.min(order.len())];
    let mut sorted = peak.clone();
    sorted.sort_by(f32::total_cmp);
    let mut t = format!("median channel max |x|: {:.3}\n", sorted[sorted.len() / 2]);
    for &c in outliers {
        t += &format!("outlier channel {c}: max |x| {:.3}\n", peak[c]);
    }
    // ANCHOR: outliers
    let int8 = |g| Scheme::new(8, Mapping::Absmax, g);
    let mut split = x.clone(); // the outlier columns zeroed: quantized without them
    for &c in outliers {
        split.column_mut(c).fill(0.0);
    }
    let mut kept = fake_quantize(&split, &int8(Granularity::PerTensor))?;
    for &c in outliers {
        kept.column_mut(c).assign(&x.column(c));
    }
    let rows = [
        (
            "int8 per tensor",
            fake_quantize(x, &int8(Granularity::PerTensor))?,
        ),
        (
            "int8 per token",
            fake_quantize(x, &int8(Granularity::PerChannel))?,
        ),
        (
            "int8 per channel",
            fake_quantize_columns(x, &int8(Granularity::PerChannel))?,
        ),
        ("int8 per tensor + f32 outliers", kept),
    ];
    // ANCHOR_END: outliers
    let ordinary: Vec<usize> = order[k.min(order.len())..].to_vec();
    for (name, x_hat) in rows {
        let all = QuantError::between(x.view(), x_hat.view())?;
        let rest = QuantError::between(
            x.select(Axis(1), &ordinary).view(),
            x_hat.select(Axis(1), &ordinary).view(),
        )?;
        t += &format!(
            "{name:<31} all {:.3e}  ordinary channels {:.3e}\n",
            all.relative(),
            rest.relative()
        );
    }
    Ok(t)
}
