//! Q8_0 weights: blocks of 32 signed bytes with an f16 scale.

use ch09_decoder_only::gguf::{GgmlType, Gguf, f16_to_f32};
use ndarray::{Array2, ArrayView2};

use super::{
    ActivationsQ8, Isa, LANES, QuantError, QuantizedMatrix, XRow, accumulate, finish,
    gguf_tensor, lanes_plain, par_rows, whole_blocks,
};
use crate::blocks::{BlockQ8_0, QK, quantize_row};

/// A [out, in] matrix in Q8_0, one row after the other, `in / 32` blocks a row.
#[derive(Clone, Debug)]
pub struct Q8_0Matrix {
    rows: usize,
    cols: usize,
    blocks: Vec<BlockQ8_0>,
}

impl Q8_0Matrix {
    /// Quantizes each row block by block, as llama.cpp's reference does.
    // w: [out, in] -> [out, in/32 blocks]
    pub fn quantize(w: ArrayView2<f32>) -> Result<Self, QuantError> {
        let (rows, cols) = w.dim();
        whole_blocks("Q8_0", cols)?;
        let w = w.as_standard_layout();
        let values = w.as_slice().expect("standard layout");
        let blocks = quantize_row(values, BlockQ8_0::quantize);
        Ok(Q8_0Matrix { rows, cols, blocks })
    }

    /// The blocks as GGUF stores them: 34 bytes each, row after row.
    pub fn from_bytes(
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<Self, QuantError> {
        let nb = whole_blocks("Q8_0", cols)?;
        let expected = rows * nb * BlockQ8_0::BYTES;
        if bytes.len() != expected {
            let found = bytes.len();
            return Err(QuantError::ByteLength {
                format: "Q8_0",
                rows,
                cols,
                expected,
                found,
            });
        }
        let (chunks, _) = bytes.as_chunks::<{ BlockQ8_0::BYTES }>();
        let blocks = chunks.iter().map(BlockQ8_0::from_bytes).collect();
        Ok(Q8_0Matrix { rows, cols, blocks })
    }

    /// A Q8_0 tensor of a GGUF file, its blocks taken as they are.
    pub fn from_gguf(
        g: &Gguf,
        name: &str,
        shape: [usize; 2],
    ) -> Result<Self, QuantError> {
        let bytes = gguf_tensor(g, name, GgmlType::Q8_0, shape)?;
        Self::from_bytes(shape[0], shape[1], bytes)
    }

    /// [out · in/32].
    pub fn blocks(&self) -> &[BlockQ8_0] {
        &self.blocks
    }

    /// [`QuantizedMatrix::matmul_q8`] with a chosen instruction set (one of
    /// [`Isa::available`]), for the tests that compare them.
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
        let nb = self.cols / QK;
        if nb == 0 {
            return Array2::zeros((x.rows, self.rows));
        }
        par_rows(self.rows, x.rows, |rows, y| {
            let w = &self.blocks[rows.start * nb..rows.end * nb];
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512Vnni | Isa::Avx2 => super::x86::rows_q8_0(isa, w, nb, x, y),
                _ => rows_plain(w, nb, x, y),
            }
        })
    }
}

impl QuantizedMatrix for Q8_0Matrix {
    fn shape(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }

    fn bytes(&self) -> usize {
        self.blocks.len() * BlockQ8_0::BYTES
    }

    fn dequantize(&self) -> Array2<f32> {
        let values = self.blocks.iter().flat_map(|b| b.dequantize()).collect();
        Array2::from_shape_vec((self.rows, self.cols), values).expect("whole blocks")
    }

    fn row(&self, i: usize) -> Vec<f32> {
        assert!(i < self.rows, "row {i} of a matrix with {} rows", self.rows);
        let nb = self.cols / QK;
        self.blocks[i * nb..(i + 1) * nb]
            .iter()
            .flat_map(|b| b.dequantize())
            .collect()
    }

    fn matmul_q8(&self, x: &ActivationsQ8) -> Array2<f32> {
        self.matmul_with(x, Isa::detect())
    }
}

// ANCHOR: dot_q8_0
/// w · x for one row of Q8_0 blocks and one quantized activation row: per block
/// d·d_x·Σ q_j p_j, the sum in i32 (32 products of at most 128 · 127 each).
// w: [in/32 blocks], x: [in] -> scalar
pub(super) fn dot_plain(w: &[BlockQ8_0], x: XRow) -> f32 {
    let mut acc = [0.0f32; LANES];
    for (b, blk) in w.iter().enumerate() {
        let lanes = lanes_plain(&blk.qs, &x.qs[b * QK..(b + 1) * QK]);
        accumulate(&mut acc, lanes, f16_to_f32(blk.d) * x.d[b]);
    }
    finish(acc)
}
// ANCHOR_END: dot_q8_0

/// y[o][t] = w_o · x_t for a block of rows of W.
// w: [rows · nb blocks], x: [T, in], y: [rows, T]
fn rows_plain(w: &[BlockQ8_0], nb: usize, x: &ActivationsQ8, y: &mut [f32]) {
    for (w_o, y_o) in w.chunks_exact(nb).zip(y.chunks_exact_mut(x.rows)) {
        for (t, y) in y_o.iter_mut().enumerate() {
            *y = dot_plain(w_o, x.row(t));
        }
    }
}
