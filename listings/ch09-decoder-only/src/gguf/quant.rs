//! ggml's tensor types, their block sizes, and dequantization of F32, F16, Q8_0 and
//! Q4_1 to f32. Chapter 13 explains the block formats in depth; here they are read.

use std::fmt;

/// A ggml tensor type: how many elements one block holds and how many bytes it takes.
/// The reader knows the sizes of the common types llama.cpp writes, so it can lay out
/// most files' tensor tables; [`dequantize`] converts four of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Q8K,
    I8,
    I16,
    I32,
    I64,
    F64,
    BF16,
}

/// (type, code in the file, elements per block, bytes per block), as in ggml.
// ANCHOR: ggml_types
const TYPES: [(GgmlType, u32, u64, u64); 20] = {
    use GgmlType::*;
    [
        (F32, 0, 1, 4),
        (F16, 1, 1, 2),
        (Q4_0, 2, 32, 18),
        (Q4_1, 3, 32, 20),
        (Q5_0, 6, 32, 22),
        (Q5_1, 7, 32, 24),
        (Q8_0, 8, 32, 34),
        (Q8_1, 9, 32, 40),
        (Q2K, 10, 256, 84),
        (Q3K, 11, 256, 110),
        (Q4K, 12, 256, 144),
        (Q5K, 13, 256, 176),
        (Q6K, 14, 256, 210),
        (Q8K, 15, 256, 292),
        (I8, 24, 1, 1),
        (I16, 25, 1, 2),
        (I32, 26, 1, 4),
        (I64, 27, 1, 8),
        (F64, 28, 1, 8),
        (BF16, 30, 1, 2),
    ]
};
// ANCHOR_END: ggml_types

impl GgmlType {
    fn row(self) -> (GgmlType, u32, u64, u64) {
        // Every variant has a row in TYPES (a unit test checks it).
        TYPES
            .into_iter()
            .find(|r| r.0 == self)
            .unwrap_or((self, u32::MAX, 1, 1))
    }

    /// The type with this code in the file, if the reader knows it.
    pub fn from_code(code: u32) -> Option<Self> {
        TYPES.into_iter().find(|r| r.1 == code).map(|r| r.0)
    }

    pub fn code(self) -> u32 {
        self.row().1
    }

    /// Elements in one block (1 for the plain types).
    pub fn block_size(self) -> u64 {
        self.row().2
    }

    /// Bytes one block takes.
    pub fn type_size(self) -> u64 {
        self.row().3
    }

    /// Every type the reader knows, in code order.
    pub fn all() -> impl Iterator<Item = Self> {
        TYPES.into_iter().map(|r| r.0)
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Q2K => "Q2_K",
            Self::Q3K => "Q3_K",
            Self::Q4K => "Q4_K",
            Self::Q5K => "Q5_K",
            Self::Q6K => "Q6_K",
            Self::Q8K => "Q8_K",
            other => return write!(f, "{other:?}"),
        };
        f.write_str(name)
    }
}

/// IEEE half precision to f32, exactly (every f16 is an f32).
// ANCHOR: f16
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x03ff);
    match exp {
        // Zero and subnormals: man · 2⁻²⁴, exact in f32.
        0 => {
            let v = man as f32 / 16_777_216.0;
            if sign != 0 { -v } else { v }
        }
        // Infinities and NaNs keep their payload.
        31 => f32::from_bits(sign | 0x7f80_0000 | (man << 13)),
        // Normal numbers: rebias the exponent from 15 to 127.
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
    }
}
// ANCHOR_END: f16

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[i], b[i + 1]]))
}

/// F32: little-endian floats.
// bytes: [4n] -> [n]
pub fn dequantize_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// F16: little-endian halves.
// bytes: [2n] -> [n]
pub fn dequantize_f16(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(2).map(|c| f16_at(c, 0)).collect()
}

/// Q8_0: blocks of 32 weights, each an i8 times the block's f16 scale d.
// ANCHOR: q8_0
// bytes: [n/32 blocks × 34 B] -> [n]
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / 34 * 32);
    for block in bytes.chunks_exact(34) {
        let d = f16_at(block, 0);
        out.extend(block[2..].iter().map(|&q| f32::from(q as i8) * d));
    }
    out
}
// ANCHOR_END: q8_0

/// Q4_1: blocks of 32 weights, x = d·q + m with a 4-bit q, an f16 scale d and an f16
/// minimum m. Byte j holds element j in its low nibble and element j + 16 in its high one.
// ANCHOR: q4_1
// bytes: [n/32 blocks × 20 B] -> [n]
pub fn dequantize_q4_1(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / 20 * 32);
    for block in bytes.chunks_exact(20) {
        let (d, m) = (f16_at(block, 0), f16_at(block, 2));
        let qs = &block[4..20];
        out.extend(qs.iter().map(|&q| d * f32::from(q & 0x0f) + m));
        out.extend(qs.iter().map(|&q| d * f32::from(q >> 4) + m));
    }
    out
}
// ANCHOR_END: q4_1

/// The bytes `n` elements of `ty` take, or `None` if `n` is not a whole number of
/// blocks or the size overflows.
pub fn byte_size(ty: GgmlType, n: u64) -> Option<u64> {
    if !n.is_multiple_of(ty.block_size()) {
        return None;
    }
    (n / ty.block_size()).checked_mul(ty.type_size())
}

/// Dequantizes `bytes` of type `ty` into f32, or `None` for a type the book does not
/// convert. The caller has checked that `bytes` is a whole number of blocks.
// bytes: [n/block × type_size B] -> [n]
pub fn dequantize(ty: GgmlType, bytes: &[u8]) -> Option<Vec<f32>> {
    Some(match ty {
        GgmlType::F32 => dequantize_f32(bytes),
        GgmlType::F16 => dequantize_f16(bytes),
        GgmlType::Q8_0 => dequantize_q8_0(bytes),
        GgmlType::Q4_1 => dequantize_q4_1(bytes),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_row_and_codes_round_trip() {
        for ty in GgmlType::all() {
            assert_eq!(GgmlType::from_code(ty.code()), Some(ty));
        }
        assert_eq!(GgmlType::from_code(4), None);
        assert_eq!(GgmlType::Q4K.to_string(), "Q4_K");
        assert_eq!(GgmlType::Q8_0.to_string(), "Q8_0");
    }

    #[test]
    fn f16_special_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14));
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
    }

    #[test]
    fn q4_1_nibble_order() {
        // d = 1, m = -8: x = q - 8. Byte j = (15 - j) << 4 | j.
        let mut block = vec![0x00, 0x3c, 0x00, 0xc8];
        block.extend((0..16u8).map(|j| ((15 - j) << 4) | j));
        let x = dequantize_q4_1(&block);
        let want: Vec<f32> = (0..16)
            .map(|j| j as f32 - 8.0)
            .chain((0..16).map(|j| (15 - j) as f32 - 8.0))
            .collect();
        assert_eq!(x, want);
    }

    #[test]
    fn q8_0_scales_signed_bytes() {
        let mut block = vec![0x00, 0x38]; // d = 0.5
        block.extend((0..32).map(|j| (j as i8 - 16) as u8));
        let x = dequantize_q8_0(&block);
        assert_eq!(x[0], -8.0);
        assert_eq!(x[31], 7.5);
    }

    #[test]
    fn sizes() {
        assert_eq!(byte_size(GgmlType::Q4_1, 64), Some(40));
        assert_eq!(byte_size(GgmlType::Q8_0, 33), None);
        assert_eq!(byte_size(GgmlType::F32, u64::MAX), None);
    }
}
