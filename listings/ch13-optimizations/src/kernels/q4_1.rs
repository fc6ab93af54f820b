//! Q4_1 weights: blocks of 32 four-bit codes with an f16 scale and minimum.

use ch09_decoder_only::gguf::{GgmlType, f16_to_f32};

use super::{
    ActivationsQ8, BlockMatrix, GgufBlock, Isa, LANES, XRow, accumulate, finish,
    lanes_plain,
};
use crate::blocks::{BlockQ4_1, QK};

/// A [out, in] matrix in Q4_1.
pub type Q4_1Matrix = BlockMatrix<BlockQ4_1>;

impl GgufBlock for BlockQ4_1 {
    const FORMAT: &'static str = "Q4_1";
    const TYPE: GgmlType = GgmlType::Q4_1;
    const BYTES: usize = BlockQ4_1::BYTES;

    fn quantize(x: &[f32; QK]) -> Self {
        BlockQ4_1::quantize(x)
    }

    fn parse(bytes: &[u8]) -> Self {
        BlockQ4_1::from_bytes(bytes.try_into().expect("BYTES bytes"))
    }

    fn dequantize(&self) -> [f32; QK] {
        BlockQ4_1::dequantize(self)
    }

    fn rows(isa: Isa, w: &[Self], nb: usize, x: &ActivationsQ8, y: &mut [f32]) {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni | Isa::Avx2 => super::x86::rows_q4_1(isa, w, nb, x, y),
            _ => rows_plain(w, nb, x, y),
        }
    }
}

// ANCHOR: dot_q4_1
/// w · x for one row of Q4_1 blocks and one quantized activation row. With
/// w_j = d·q_j + m and x_j = d_x·p_j a block gives d·d_x·Σ q_j p_j + m·(d_x Σ p_j):
/// an integer sum, and the activation block's sum times the minimum.
// w: [in/32 blocks], x: [in] -> scalar
pub(super) fn dot_plain(w: &[BlockQ4_1], x: XRow) -> f32 {
    let (mut acc, mut mins) = ([0.0f32; LANES], 0.0f32);
    for (b, blk) in w.iter().enumerate() {
        let q: [u8; QK] = std::array::from_fn(|j| match j {
            0..16 => blk.qs[j] & 0x0f,
            _ => blk.qs[j - 16] >> 4,
        });
        let lanes = lanes_plain(&q, &x.qs[b * QK..(b + 1) * QK]);
        accumulate(&mut acc, lanes, f16_to_f32(blk.d) * x.d[b]);
        mins += f16_to_f32(blk.m) * x.s[b];
    }
    finish(acc) + mins
}
// ANCHOR_END: dot_q4_1

/// y[o][t] = w_o · x_t for a block of rows of W.
// w: [rows · nb blocks], x: [T, in], y: [rows, T]
fn rows_plain(w: &[BlockQ4_1], nb: usize, x: &ActivationsQ8, y: &mut [f32]) {
    for (w_o, y_o) in w.chunks_exact(nb).zip(y.chunks_exact_mut(x.rows)) {
        for (t, y) in y_o.iter_mut().enumerate() {
            *y = dot_plain(w_o, x.row(t));
        }
    }
}
