//! Number formats (section "Number formats"): fp32, fp16 and bf16 read field by field
//! from their bits, the value rebuilt from the fields, round-to-nearest-even written out
//! for bf16 (and checked against the `half` crate that Chapter 11's casts use), each
//! format's range and precision computed from its layout, and the error each makes on
//! SmolLM2's weights.
//!
//! The casts themselves are Chapter 11's (`ch11_training::precision::Precision`, checked
//! bit-exactly against PyTorch there); this module explains and measures them.
//!
//! SmolLM2's only checkpoint here is the GGUF file: its linear weights are stored in
//! Q4_1 and its token embedding in Q8_0, dequantized by Chapter 9's reader. "f32
//! weights" below means those dequantized values; the norms are stored in f32.

use std::fmt::Write;

use ch09_decoder_only::gguf::{Gguf, GgufError};
pub use ch11_training::precision::Precision;
use ndarray::{Array2, ArrayView2, Ix2};

use crate::schemes::QuantError;

// ANCHOR: fields
/// The three fields of a floating-point number's bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields {
    pub sign: u32,
    pub exponent: u32,
    pub mantissa: u32,
}

/// `bits` (the low 16 for the half formats) cut into sign, exponent and mantissa.
pub fn fields(p: Precision, bits: u32) -> Fields {
    let (e, m) = p.layout();
    Fields {
        sign: (bits >> (e + m)) & 1,
        exponent: (bits >> m) & ((1 << e) - 1),
        mantissa: bits & ((1 << m) - 1),
    }
}

/// The number the fields stand for: (−1)^s · 2^(e − bias) · (1 + m / 2^M) for a normal
/// number, (−1)^s · 2^(1 − bias) · (m / 2^M) when e = 0 (subnormal), ±∞ or NaN when e
/// is all ones.
pub fn value(p: Precision, f: Fields) -> f64 {
    let (e_bits, m_bits) = p.layout();
    let bias = (1i32 << (e_bits - 1)) - 1;
    let sign = if f.sign == 1 { -1.0 } else { 1.0 };
    let fraction = f64::from(f.mantissa) / 2f64.powi(m_bits as i32);
    if f.exponent == (1 << e_bits) - 1 {
        return if f.mantissa == 0 {
            sign * f64::INFINITY
        } else {
            f64::NAN
        };
    }
    if f.exponent == 0 {
        return sign * 2f64.powi(1 - bias) * fraction;
    }
    sign * 2f64.powi(f.exponent as i32 - bias) * (1.0 + fraction)
}
// ANCHOR_END: fields

// ANCHOR: limits
/// What a format's layout allows, computed from its exponent and mantissa widths.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// The gap from 1 to the next number: 2^−M.
    pub ulp_at_one: f64,
    /// The largest relative error of rounding to nearest (normal range): 2^−(M+1).
    pub unit_roundoff: f64,
    /// (2 − 2^−M) · 2^bias.
    pub max: f64,
    /// 2^(1 − bias): below it, precision thins out.
    pub min_normal: f64,
    /// 2^(1 − bias − M): below half of it, everything rounds to 0.
    pub min_subnormal: f64,
}

pub fn limits(p: Precision) -> Limits {
    let (e, m) = p.layout();
    let (e, m) = (e as i32, m as i32);
    let bias = (1 << (e - 1)) - 1;
    Limits {
        ulp_at_one: 2f64.powi(-m),
        unit_roundoff: 2f64.powi(-m - 1),
        max: (2.0 - 2f64.powi(-m)) * 2f64.powi(bias),
        min_normal: 2f64.powi(1 - bias),
        min_subnormal: 2f64.powi(1 - bias - m),
    }
}
// ANCHOR_END: limits

// ANCHOR: bf16
/// f32 → bf16 bits, rounding to nearest with ties to even: bf16 is the top half of an
/// f32, so add just under half of the dropped part's range (0x7FFF), plus one more when
/// the kept part is odd, and cut. A carry out of the mantissa bumps the exponent, which
/// is the correct rounding up to the next binade (or to infinity past bf16's max).
pub fn bf16_bits_rne(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        return ((b >> 16) | 0x0040) as u16; // keep it a (quiet) NaN
    }
    let odd = (b >> 16) & 1;
    ((b + 0x7FFF + odd) >> 16) as u16
}

/// f32 → bf16 bits by dropping the low 16 bits: rounding toward zero.
pub fn bf16_bits_truncate(x: f32) -> u16 {
    (x.to_bits() >> 16) as u16
}

/// bf16 bits back to f32: append 16 zero bits.
pub fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}
// ANCHOR_END: bf16

/// How storing a weight in a 16-bit format changes it: bf16 and f16 rounded to nearest
/// even, and bf16 truncated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    F16,
    Bf16,
    Bf16Truncated,
}

impl Storage {
    pub const ALL: [Storage; 3] = [Storage::F16, Storage::Bf16, Storage::Bf16Truncated];

    pub fn name(self) -> &'static str {
        match self {
            Storage::F16 => "fp16",
            Storage::Bf16 => "bf16",
            Storage::Bf16Truncated => "bf16 (truncated)",
        }
    }

    pub fn round(self, x: f32) -> f32 {
        match self {
            Storage::F16 => Precision::F16.round(x),
            Storage::Bf16 => Precision::Bf16.round(x),
            Storage::Bf16Truncated => bf16_to_f32(bf16_bits_truncate(x)),
        }
    }
}

// ANCHOR: format_error
/// The error of storing `w` in `s`: ‖w − ŵ‖, ‖w‖, max |w − ŵ|, and how many nonzero
/// entries fell below the format's smallest normal number (where the relative error is
/// no longer bounded by the unit roundoff).
// w: [rows, cols]
pub fn format_error(w: ArrayView2<f32>, s: Storage) -> (QuantError, usize) {
    let w_hat = w.mapv(|x| s.round(x));
    let precision = if s == Storage::F16 {
        Precision::F16
    } else {
        Precision::Bf16
    };
    let tiny = limits(precision).min_normal as f32;
    let subnormal = w.iter().filter(|x| **x != 0.0 && x.abs() < tiny).count();
    let e = QuantError::between(w, w_hat.view()).expect("ŵ has w's shape");
    (e, subnormal)
}
// ANCHOR_END: format_error

/// The weight classes of a Llama GGUF: the seven linear weights of a block, the norms,
/// and the token embedding.
pub const CLASSES: [&str; 10] = [
    "attn_q",
    "attn_k",
    "attn_v",
    "attn_output",
    "ffn_gate",
    "ffn_up",
    "ffn_down",
    "attn_norm",
    "ffn_norm",
    "token_embd",
];

/// The tensor names of `class` in the first `layers` blocks (or the one global tensor).
pub fn class_tensors(class: &str, layers: usize) -> Vec<String> {
    if class == "token_embd" {
        return vec!["token_embd.weight".into()];
    }
    (0..layers)
        .map(|i| format!("blk.{i}.{class}.weight"))
        .collect()
}

/// A tensor of the file dequantized to f32 as a matrix (a vector as one row), with its
/// storage type's name.
// -> [rows, cols]
pub fn weight(g: &Gguf, name: &str) -> Result<(Array2<f32>, String), GgufError> {
    let ty = format!("{:?}", g.tensor(name)?.ty);
    let w = g.dequantize(name)?;
    let cols = *w.shape().last().unwrap_or(&1);
    let rows = w.len() / cols.max(1);
    let w = w
        .into_shape_with_order((rows, cols))
        .map_err(|e| GgufError::BadTensor {
            tensor: name.into(),
            problem: e.to_string(),
        })?;
    Ok((w.into_dimensionality::<Ix2>().expect("two axes"), ty))
}

/// The table of the text: for each weight class of the first `layers` blocks, its
/// storage in the file, its largest |w|, and the relative error ‖w − ŵ‖/‖w‖ and max
/// |w − ŵ| of each 16-bit storage, pooled over the class.
pub fn format_table(g: &Gguf, layers: usize) -> Result<String, GgufError> {
    let mut t = format!(
        "{:<12} {:>5} {:>11} {:>8} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} | {:>9}\n",
        "class",
        "file",
        "entries",
        "max|w|",
        "fp16 rel",
        "fp16 max",
        "bf16 rel",
        "bf16 max",
        "trunc rel",
        "trunc max",
        "fp16 sub"
    );
    for class in CLASSES {
        let (mut parts, mut n, mut max, mut ty) =
            ([vec![], vec![], vec![]], 0, 0.0f32, String::new());
        let mut subnormal = 0;
        for name in class_tensors(class, layers) {
            let (w, stored) = weight(g, &name)?;
            ty = stored;
            n += w.len();
            max = w.iter().fold(max, |m, v| m.max(v.abs()));
            for (k, s) in Storage::ALL.into_iter().enumerate() {
                let (e, sub) = format_error(w.view(), s);
                parts[k].push(e);
                subnormal += if s == Storage::F16 { sub } else { 0 };
            }
        }
        let e: Vec<QuantError> = parts.iter().map(|p| QuantError::pooled(p)).collect();
        writeln!(
            t,
            "{class:<12} {ty:>5} {n:>11} {max:>8.4} | {:>9.3e} {:>9.3e} | {:>9.3e} {:>9.3e} | {:>9.3e} {:>9.3e} | {subnormal:>9}",
            e[0].relative(), e[0].max_abs, e[1].relative(), e[1].max_abs, e[2].relative(), e[2].max_abs
        )
        .expect("a String");
    }
    Ok(t)
}
