//! GGUF's block formats Q8_0 and Q4_1, as Chapter 9's reader finds them in the file:
//! parsed from the file's bytes, and quantized from f32 the way llama.cpp's reference
//! quantizers (`quantize_row_q8_0_ref`, `quantize_row_q4_1_ref`) do it, byte for byte.
//! Dequantization is Chapter 9's (`dequantize_q8_0`, `dequantize_q4_1`).

use ch09_decoder_only::gguf::{dequantize_q4_1, dequantize_q8_0};
use ch11_training::precision::Precision;

/// Elements in one block of either format.
pub const QK: usize = 32;

/// f32 to the nearest f16 (ties to even), as bits: Chapter 11's cast.
pub fn f32_to_f16(x: f32) -> u16 {
    Precision::F16.bits(x) as u16
}

// ANCHOR: blocks
/// 32 weights as x_j = d · q_j: an f16 scale and 32 signed bytes, 34 bytes in the file
/// (8.5 bits a weight).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct BlockQ8_0 {
    /// The scale d, as f16 bits.
    pub d: u16,
    pub qs: [i8; QK],
}

/// 32 weights as x_j = d · q_j + m: an f16 scale, an f16 minimum and 32 four-bit codes,
/// 20 bytes in the file (5 bits a weight). Byte j holds element j in its low nibble and
/// element j + 16 in its high nibble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct BlockQ4_1 {
    pub d: u16,
    pub m: u16,
    pub qs: [u8; QK / 2],
}
// ANCHOR_END: blocks

impl BlockQ8_0 {
    /// Bytes a block takes in a GGUF file.
    pub const BYTES: usize = 34;

    /// A block from its 34 bytes: d little-endian, then the codes.
    pub fn from_bytes(b: &[u8; Self::BYTES]) -> Self {
        BlockQ8_0 {
            d: u16::from_le_bytes([b[0], b[1]]),
            qs: std::array::from_fn(|j| b[2 + j] as i8),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        let mut b = [0; Self::BYTES];
        b[..2].copy_from_slice(&self.d.to_le_bytes());
        for (o, &q) in b[2..].iter_mut().zip(&self.qs) {
            *o = q as u8;
        }
        b
    }

    // ANCHOR: quantize_q8_0
    /// llama.cpp's reference: d = max|x| / 127, q = round(x / d), half away from zero.
    /// The codes use the f32 d; the file keeps d rounded to f16.
    // x: [32] -> block
    pub fn quantize(x: &[f32; QK]) -> Self {
        let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        BlockQ8_0 {
            d: f32_to_f16(d),
            qs: std::array::from_fn(|j| (x[j] * id).round() as i8),
        }
    }
    // ANCHOR_END: quantize_q8_0

    /// The 32 values the block stands for (Chapter 9's dequantization).
    pub fn dequantize(&self) -> [f32; QK] {
        dequantize_q8_0(&self.to_bytes())
            .try_into()
            .expect("one block")
    }
}

impl BlockQ4_1 {
    pub const BYTES: usize = 20;

    /// A block from its 20 bytes: d and m little-endian, then the packed codes.
    pub fn from_bytes(b: &[u8; Self::BYTES]) -> Self {
        BlockQ4_1 {
            d: u16::from_le_bytes([b[0], b[1]]),
            m: u16::from_le_bytes([b[2], b[3]]),
            qs: std::array::from_fn(|j| b[4 + j]),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        let mut b = [0; Self::BYTES];
        b[..2].copy_from_slice(&self.d.to_le_bytes());
        b[2..4].copy_from_slice(&self.m.to_le_bytes());
        b[4..].copy_from_slice(&self.qs);
        b
    }

    // ANCHOR: quantize_q4_1
    /// llama.cpp's reference: m = min x, d = (max x − m) / 15, q = ⌊(x − m)/d + ½⌋
    /// clamped to 15, element j in the low nibble of byte j and j + 16 in the high one.
    // x: [32] -> block
    pub fn quantize(x: &[f32; QK]) -> Self {
        let min = x.iter().fold(f32::MAX, |a, &v| if v < a { v } else { a });
        let max = x.iter().fold(-f32::MAX, |a, &v| if v > a { v } else { a });
        let d = (max - min) / 15.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        // `as u8` truncates toward zero, like C's (int8_t) cast; x − min is never negative.
        let code = |v: f32| (((v - min) * id + 0.5) as u8).min(15);
        BlockQ4_1 {
            d: f32_to_f16(d),
            m: f32_to_f16(min),
            qs: std::array::from_fn(|j| code(x[j]) | (code(x[j + QK / 2]) << 4)),
        }
    }
    // ANCHOR_END: quantize_q4_1

    /// The 32 values the block stands for (Chapter 9's dequantization).
    pub fn dequantize(&self) -> [f32; QK] {
        dequantize_q4_1(&self.to_bytes())
            .try_into()
            .expect("one block")
    }
}

/// Quantizes a row whose length is a multiple of 32 (the caller checks) block by block.
// x: [n] -> [n/32 blocks]
pub fn quantize_row<B>(x: &[f32], quantize: impl Fn(&[f32; QK]) -> B) -> Vec<B> {
    let (chunks, rest) = x.as_chunks::<QK>();
    assert!(
        rest.is_empty(),
        "quantize_row: {} values is not whole blocks",
        x.len()
    );
    chunks.iter().map(quantize).collect()
}
