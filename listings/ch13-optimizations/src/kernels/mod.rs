//! Quantized matrix products that never dequantize the matrix: the activations are
//! quantized to 8 bits per block of 32, each block's dot product is an integer sum
//! accumulated in i32, and only then scaled in f32. Three weight formats share one API
//! ([`QuantizedMatrix`]): GGUF's Q8_0 and Q4_1 blocks, and int8 with one f32 scale per
//! output row. Each kernel has a portable version and x86-64 SIMD versions (AVX-512
//! VNNI, AVX2) chosen at run time; all give the same bits, on any thread count.

mod block_matrix;
mod int8;
mod q4_1;
mod q8_0;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::ops::Range;
use std::sync::OnceLock;

use ch09_decoder_only::gguf::{GgmlType, Gguf, GgufError};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use crate::blocks::QK;

pub use block_matrix::{BlockMatrix, GgufBlock};
pub use int8::Int8Matrix;
pub use q4_1::Q4_1Matrix;
pub use q8_0::Q8_0Matrix;

/// What can be wrong with a matrix to quantize or a tensor to load; each message names
/// the tensor or the shape.
#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    #[error("{format}: rows of {cols} values are not whole blocks of 32")]
    NotWholeBlocks { format: &'static str, cols: usize },
    #[error("{format}: a [{rows}, {cols}] matrix takes {expected} bytes, got {found}")]
    ByteLength {
        format: &'static str,
        rows: usize,
        cols: usize,
        expected: usize,
        found: usize,
    },
    #[error("tensor {tensor}: type {found} in the file, expected {expected}")]
    WrongType {
        tensor: String,
        expected: GgmlType,
        found: GgmlType,
    },
    #[error("tensor {tensor}: shape {file:?} in the file, expected {expected:?}")]
    WrongShape {
        tensor: String,
        file: Vec<usize>,
        expected: [usize; 2],
    },
    #[error("{0}")]
    Gguf(#[from] GgufError),
}

/// The API the three weight formats share. `matmul` is Chapter 9's `linear`: x Wᵀ for
/// a weight stored [out, in].
pub trait QuantizedMatrix: Send + Sync {
    /// [out, in].
    fn shape(&self) -> [usize; 2];
    /// Bytes the weights take in memory (codes and scales).
    fn bytes(&self) -> usize;
    /// Every weight, back in f32.
    // -> [out, in]
    fn dequantize(&self) -> Array2<f32>;
    /// One row dequantized: an embedding lookup.
    // -> [in]
    fn row(&self, i: usize) -> Vec<f32>;
    /// x Wᵀ from activations already quantized (so several matrices can share them).
    // x: [T, in] quantized -> [T, out]
    fn matmul_q8(&self, x: &ActivationsQ8) -> Array2<f32>;

    /// x Wᵀ: the activations are quantized to 8 bits per block, then [`Self::matmul_q8`].
    // x: [T, in] -> [T, out]
    fn matmul(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let [out, n] = self.shape();
        assert_eq!(
            x.ncols(),
            n,
            "matmul: W is [{out}, {n}], x is {:?}",
            x.dim()
        );
        self.matmul_q8(&ActivationsQ8::quantize(x))
    }
}

/// The instruction sets a kernel can use, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512 VNNI's `vpdpbusd` on 256-bit registers (AVX-512 VL), with AVX2 and F16C.
    Avx512Vnni,
    /// AVX2's `vpmaddubsw` + `vpmaddwd`, with F16C.
    Avx2,
    /// Plain Rust, for any CPU.
    Portable,
}

// ANCHOR: isa
impl Isa {
    /// The best the CPU running us has, detected once.
    pub fn detect() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::is_x86_feature_detected as has;
                if has!("avx2") && has!("f16c") {
                    if has!("avx512vnni") && has!("avx512vl") {
                        return Isa::Avx512Vnni;
                    }
                    return Isa::Avx2;
                }
            }
            Isa::Portable
        })
    }

    /// Every set this CPU can run, for the tests that compare them.
    pub fn available() -> Vec<Isa> {
        let best = Isa::detect();
        [Isa::Avx512Vnni, Isa::Avx2, Isa::Portable]
            .into_iter()
            .skip_while(|&i| i != best)
            .collect()
    }
}
// ANCHOR_END: isa

// ANCHOR: activations
/// Rows of activations quantized as llama.cpp does for its integer dot products: per
/// block of 32, d = max|x| / 127 and q = round(x / d). `s` = d · Σq is what the Q4_1
/// kernel needs for its minimum term. Unlike llama.cpp, d and s stay f32 (it rounds
/// them to f16). Rows are padded with zeros to whole blocks.
#[derive(Clone, Debug)]
pub struct ActivationsQ8 {
    /// Rows T, and values in a row before padding.
    pub rows: usize,
    pub cols: usize,
    /// [T, blocks · 32] codes, in [−127, 127].
    pub qs: Vec<i8>,
    /// [T, blocks] scales d and d · Σq.
    pub d: Vec<f32>,
    pub s: Vec<f32>,
}

// ANCHOR_END: activations

impl ActivationsQ8 {
    // ANCHOR: quantize_activations
    // x: [T, n] -> T × ⌈n/32⌉ blocks
    pub fn quantize(x: ArrayView2<f32>) -> Self {
        let (rows, cols) = x.dim();
        let nb = cols.div_ceil(QK);
        let mut a = ActivationsQ8 {
            rows,
            cols,
            qs: vec![0; rows * nb * QK],
            d: vec![0.0; rows * nb],
            s: vec![0.0; rows * nb],
        };
        let mut block = [0.0f32; QK];
        for (t, x_t) in x.outer_iter().enumerate() {
            for b in 0..nb {
                block.fill(0.0);
                for (v, &x) in block.iter_mut().zip(x_t.iter().skip(b * QK)) {
                    *v = x;
                }
                let amax = block.iter().fold(0.0f32, |a, v| a.max(v.abs()));
                let d = amax / 127.0;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                let qs = &mut a.qs[(t * nb + b) * QK..][..QK];
                let mut sum = 0i32;
                for (q, v) in qs.iter_mut().zip(&block) {
                    *q = (v * id).round() as i8;
                    sum += i32::from(*q);
                }
                a.d[t * nb + b] = d;
                a.s[t * nb + b] = d * sum as f32;
            }
        }
        a
    }
    // ANCHOR_END: quantize_activations

    /// Blocks in a row.
    pub fn blocks(&self) -> usize {
        self.cols.div_ceil(QK)
    }

    /// The values the codes stand for.
    // -> [T, n]
    pub fn dequantize(&self) -> Array2<f32> {
        let nb = self.blocks();
        Array2::from_shape_fn((self.rows, self.cols), |(t, j)| {
            self.d[t * nb + j / QK] * f32::from(self.qs[t * nb * QK + j])
        })
    }

    /// Row t's codes, scales and sums.
    fn row(&self, t: usize) -> XRow<'_> {
        let nb = self.blocks();
        XRow {
            qs: &self.qs[t * nb * QK..][..nb * QK],
            d: &self.d[t * nb..][..nb],
            s: &self.s[t * nb..][..nb],
        }
    }
}

/// One quantized activation row, as the kernels read it.
#[derive(Clone, Copy)]
struct XRow<'a> {
    qs: &'a [i8],
    d: &'a [f32],
    s: &'a [f32],
}

/// Partial sums a dot product keeps: the eight i32 lanes of one 256-bit register.
const LANES: usize = 8;

// ANCHOR: accumulate
/// acc_l += f32(lanes_l) · scale, then nothing else: multiply and add, not fused,
/// so the portable and the SIMD kernels do the very same float operations.
#[inline(always)]
fn accumulate(acc: &mut [f32; LANES], lanes: [i32; LANES], scale: f32) {
    for (a, &l) in acc.iter_mut().zip(&lanes) {
        *a += l as f32 * scale;
    }
}

/// The eight partial sums added pairwise (lane i to i + 4, then i + 2, i + 1).
#[inline(always)]
fn finish(mut acc: [f32; LANES]) -> f32 {
    for half in [4, 2, 1] {
        for i in 0..half {
            acc[i] += acc[i + half];
        }
    }
    acc[0]
}
// ANCHOR_END: accumulate

// ANCHOR: lanes
/// Lane l of a block's integer dot product: the products of elements 4l to 4l + 3,
/// which is what one `vpdpbusd` lane holds. `u` is the weight code, `s` the activation.
#[inline(always)]
fn lanes_plain<W: Copy + Into<i32>>(u: &[W; QK], s: &[i8]) -> [i32; LANES] {
    std::array::from_fn(|l| {
        (0..4)
            .map(|k| u[4 * l + k].into() * i32::from(s[4 * l + k]))
            .sum()
    })
}
// ANCHOR_END: lanes

// ANCHOR: par_rows
/// Rows of W one rayon task computes, whole: no sum is split across threads, so the
/// bits do not depend on their number.
const TASK_ROWS: usize = 64;

/// y = x Wᵀ with `rows(range, y)` filling y[o − start][t] for the rows `range` of W.
/// Each task reads its rows of W once, for every row of x.
// -> [T, out]
fn par_rows(
    out: usize,
    t: usize,
    rows: impl Fn(Range<usize>, &mut [f32]) + Sync,
) -> Array2<f32> {
    let mut y_t = Array2::<f32>::zeros((out, t)); // [out, T]: a task owns whole rows
    if t > 0 {
        let y = y_t.as_slice_mut().expect("fresh");
        y.par_chunks_mut(TASK_ROWS * t)
            .enumerate()
            .for_each(|(i, y)| {
                let start = i * TASK_ROWS;
                rows(start..start + y.len() / t, y)
            });
    }
    y_t.reversed_axes().as_standard_layout().into_owned()
}
// ANCHOR_END: par_rows

/// The info of a tensor of type `ty` and row-major shape `shape`, or an error naming it.
fn gguf_tensor<'g>(
    g: &'g Gguf,
    name: &str,
    ty: GgmlType,
    shape: [usize; 2],
) -> Result<&'g [u8], QuantError> {
    let info = g.tensor(name)?;
    if info.ty != ty {
        return Err(QuantError::WrongType {
            tensor: name.to_owned(),
            expected: ty,
            found: info.ty,
        });
    }
    if info.shape() != shape {
        return Err(QuantError::WrongShape {
            tensor: name.to_owned(),
            file: info.shape(),
            expected: shape,
        });
    }
    Ok(g.tensor_data(info))
}

/// Checks `cols` is whole blocks.
fn whole_blocks(format: &'static str, cols: usize) -> Result<usize, QuantError> {
    if !cols.is_multiple_of(QK) {
        return Err(QuantError::NotWholeBlocks { format, cols });
    }
    Ok(cols / QK)
}
