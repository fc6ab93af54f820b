//! Int8 weights with one f32 scale per output row (per channel), the simplest integer
//! scheme: w_oj = s_o · q_oj with s_o = max_j |w_oj| / 127.

use ndarray::{Array2, ArrayView2};

use super::{
    ActivationsQ8, Isa, LANES, QuantError, QuantizedMatrix, XRow, accumulate, finish,
    lanes_plain, par_rows,
};
use crate::blocks::QK;

/// A [out, in] matrix of i8 codes and a scale per row. `in` can be any length: rows
/// are stored padded with zero codes to whole blocks of 32, like the activations.
#[derive(Clone, Debug)]
pub struct Int8Matrix {
    rows: usize,
    cols: usize,
    /// [out, ⌈in/32⌉ · 32].
    qs: Vec<i8>,
    /// [out].
    scale: Vec<f32>,
}

impl Int8Matrix {
    /// Absmax per row: codes in [−127, 127], round half away from zero.
    // w: [out, in] -> codes [out, in] and scales [out]
    pub fn quantize(w: ArrayView2<f32>) -> Result<Self, QuantError> {
        let (rows, cols) = w.dim();
        let padded = cols.div_ceil(QK) * QK;
        let mut qs = vec![0i8; rows * padded];
        let mut scale = vec![0.0f32; rows];
        for ((w_o, q_o), s) in w
            .outer_iter()
            .zip(qs.chunks_exact_mut(padded))
            .zip(&mut scale)
        {
            let amax = w_o.fold(0.0f32, |a, v| a.max(v.abs()));
            *s = amax / 127.0;
            let id = if *s != 0.0 { 1.0 / *s } else { 0.0 };
            for (q, v) in q_o.iter_mut().zip(w_o) {
                *q = (v * id).round() as i8;
            }
        }
        Ok(Int8Matrix {
            rows,
            cols,
            qs,
            scale,
        })
    }

    /// [`QuantizedMatrix::matmul_q8`] with a chosen instruction set.
    // x: [T, in] quantized -> [T, out]
    pub fn matmul_with(&self, x: &ActivationsQ8, isa: Isa) -> Array2<f32> {
        assert_eq!(
            x.cols, self.cols,
            "matmul: W is [{}, {}], x has {} columns",
            self.rows, self.cols, x.cols
        );
        assert!(
            Isa::available().contains(&isa),
            "{isa:?} is not available on this CPU"
        );
        let padded = x.blocks() * QK;
        if padded == 0 {
            return Array2::zeros((x.rows, self.rows));
        }
        par_rows(self.rows, x.rows, |rows, y| {
            let w = &self.qs[rows.start * padded..rows.end * padded];
            let s = &self.scale[rows];
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512Vnni | Isa::Avx2 => super::x86::rows_int8(isa, w, s, x, y),
                _ => rows_plain(w, s, x, y),
            }
        })
    }
}

impl QuantizedMatrix for Int8Matrix {
    fn shape(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }

    fn bytes(&self) -> usize {
        self.qs.len() + 4 * self.scale.len()
    }

    fn dequantize(&self) -> Array2<f32> {
        let padded = self.qs.len() / self.rows.max(1);
        Array2::from_shape_fn((self.rows, self.cols), |(o, j)| {
            self.scale[o] * f32::from(self.qs[o * padded + j])
        })
    }

    fn row(&self, i: usize) -> Vec<f32> {
        assert!(i < self.rows, "row {i} of a matrix with {} rows", self.rows);
        let padded = self.qs.len() / self.rows;
        let q = &self.qs[i * padded..i * padded + self.cols];
        q.iter().map(|&q| self.scale[i] * f32::from(q)).collect()
    }

    fn matmul_q8(&self, x: &ActivationsQ8) -> Array2<f32> {
        self.matmul_with(x, Isa::detect())
    }
}

/// w · x for one int8 row: the blocks' integer sums scaled by the activation's d, and
/// the row's scale applied once at the end.
// w: [padded in], x: [padded in] -> scalar
pub(super) fn dot_plain(w: &[i8], scale: f32, x: XRow) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (w_blocks, _) = w.as_chunks::<QK>();
    for (b, w_b) in w_blocks.iter().enumerate() {
        accumulate(
            &mut acc,
            lanes_plain(w_b, &x.qs[b * QK..(b + 1) * QK]),
            x.d[b],
        );
    }
    scale * finish(acc)
}

// w: [rows, padded in], s: [rows], x: [T, in], y: [rows, T]
fn rows_plain(w: &[i8], s: &[f32], x: &ActivationsQ8, y: &mut [f32]) {
    let padded = x.blocks() * QK;
    for ((w_o, &s_o), y_o) in w
        .chunks_exact(padded)
        .zip(s)
        .zip(y.chunks_exact_mut(x.rows))
    {
        for (t, y) in y_o.iter_mut().enumerate() {
            *y = dot_plain(w_o, s_o, x.row(t));
        }
    }
}
