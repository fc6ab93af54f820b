//! Q8_0 weights: blocks of 32 signed bytes with an f16 scale.

use ch09_decoder_only::gguf::{GgmlType, f16_to_f32};

use super::{
    ActivationsQ8, BlockMatrix, GgufBlock, Isa, LANES, XRow, accumulate, finish,
    lanes_plain,
};
use crate::blocks::{BlockQ8_0, QK};

/// A [out, in] matrix in Q8_0.
pub type Q8_0Matrix = BlockMatrix<BlockQ8_0>;

impl GgufBlock for BlockQ8_0 {
    const FORMAT: &'static str = "Q8_0";
    const TYPE: GgmlType = GgmlType::Q8_0;
    const BYTES: usize = BlockQ8_0::BYTES;

    fn quantize(x: &[f32; QK]) -> Self {
        BlockQ8_0::quantize(x)
    }

    fn parse(bytes: &[u8]) -> Self {
        BlockQ8_0::from_bytes(bytes.try_into().expect("BYTES bytes"))
    }

    fn dequantize(&self) -> [f32; QK] {
        BlockQ8_0::dequantize(self)
    }

    fn rows(isa: Isa, w: &[Self], nb: usize, x: &ActivationsQ8, y: &mut [f32]) {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni | Isa::Avx2 => super::x86::rows_q8_0(isa, w, nb, x, y),
            _ => rows_plain(w, nb, x, y),
        }
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
