//! The two GGUF block formats as one matrix type: a matrix is its rows of blocks, and
//! only the block (its bytes, its quantizer, its dot product) differs between Q8_0 and
//! Q4_1.

use ch09_decoder_only::gguf::{GgmlType, Gguf};
use ndarray::{Array2, ArrayView2};

use super::{
    ActivationsQ8, Isa, QuantError, QuantizedMatrix, gguf_tensor, par_rows, whole_blocks,
};
use crate::blocks::{QK, quantize_row};

/// What a GGUF block format tells [`BlockMatrix`]: its name and file type, its bytes,
/// how to quantize, read and expand one block, and its kernel over rows of blocks.
pub trait GgufBlock: Clone + std::fmt::Debug + Send + Sync + Sized {
    const FORMAT: &'static str;
    const TYPE: GgmlType;
    const BYTES: usize;
    fn quantize(x: &[f32; QK]) -> Self;
    /// One block from its `BYTES` bytes as the file stores them.
    fn parse(bytes: &[u8]) -> Self;
    fn dequantize(&self) -> [f32; QK];
    /// y[o·T + t] = w_o · x_t for each row w_o of `w` ([rows · nb] blocks), with `isa`.
    fn rows(isa: Isa, w: &[Self], nb: usize, x: &ActivationsQ8, y: &mut [f32]);
}

/// A [out, in] matrix of GGUF blocks `B`, one row after the other, `in / 32` blocks a
/// row: [`Q8_0Matrix`](super::Q8_0Matrix) and [`Q4_1Matrix`](super::Q4_1Matrix).
#[derive(Clone, Debug)]
pub struct BlockMatrix<B> {
    rows: usize,
    cols: usize,
    blocks: Vec<B>,
}

impl<B: GgufBlock> BlockMatrix<B> {
    /// Quantizes each row block by block, as llama.cpp's reference does.
    // w: [out, in] -> [out, in/32 blocks]
    pub fn quantize(w: ArrayView2<f32>) -> Result<Self, QuantError> {
        let (rows, cols) = w.dim();
        whole_blocks(B::FORMAT, cols)?;
        let w = w.as_standard_layout();
        let values = w.as_slice().expect("standard layout");
        let blocks = quantize_row(values, B::quantize);
        Ok(BlockMatrix { rows, cols, blocks })
    }

    /// The blocks as GGUF stores them, `B::BYTES` each, row after row.
    pub fn from_bytes(
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<Self, QuantError> {
        let nb = whole_blocks(B::FORMAT, cols)?;
        let expected = rows * nb * B::BYTES;
        if bytes.len() != expected {
            let found = bytes.len();
            return Err(QuantError::ByteLength {
                format: B::FORMAT,
                rows,
                cols,
                expected,
                found,
            });
        }
        let blocks = bytes.chunks_exact(B::BYTES).map(B::parse).collect();
        Ok(BlockMatrix { rows, cols, blocks })
    }

    /// A tensor of `B`'s type in a GGUF file, its blocks taken as they are.
    pub fn from_gguf(
        g: &Gguf,
        name: &str,
        shape: [usize; 2],
    ) -> Result<Self, QuantError> {
        let bytes = gguf_tensor(g, name, B::TYPE, shape)?;
        Self::from_bytes(shape[0], shape[1], bytes)
    }

    /// [out · in/32].
    pub fn blocks(&self) -> &[B] {
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
            B::rows(isa, w, nb, x, y)
        })
    }
}

impl<B: GgufBlock> QuantizedMatrix for BlockMatrix<B> {
    fn shape(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }

    fn bytes(&self) -> usize {
        self.blocks.len() * B::BYTES
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
