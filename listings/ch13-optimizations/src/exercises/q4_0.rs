//! Exercise: GGUF's Q4_0, Q4_1 without the minimum: 32 four-bit codes and one f16
//! scale, 18 bytes, w_j = d · (q_j − 8). Quantize it as llama.cpp does, and write its
//! integer dot product with an 8-bit activation block.

use ch09_decoder_only::gguf::f16_to_f32;

use crate::blocks::{QK, f32_to_f16};

// ANCHOR: q4_0
/// 32 weights as d · (q_j − 8), the nibbles packed as in Q4_1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ4_0 {
    pub d: u16,
    pub qs: [u8; QK / 2],
}

impl BlockQ4_0 {
    /// llama.cpp's reference: the value of largest magnitude, max, maps to code 0
    /// (d = max / −8), so the grid reaches −8d on max's side and 7d on the other.
    // x: [32] -> block
    pub fn quantize(x: &[f32; QK]) -> Self {
        let max = x
            .iter()
            .fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let code = |v: f32| ((v * id + 8.5) as u8).min(15);
        BlockQ4_0 {
            d: f32_to_f16(d),
            qs: std::array::from_fn(|j| code(x[j]) | (code(x[j + QK / 2]) << 4)),
        }
    }

    /// Σ_j w_j · d_x p_j = d · d_x · Σ_j (q_j − 8) p_j: the sum exact in i32.
    // x: [32] codes and their scale -> scalar
    pub fn dot_q8(&self, p: &[i8; QK], d_x: f32) -> f32 {
        let q = |j: usize| match j {
            0..16 => i32::from(self.qs[j] & 0x0f) - 8,
            _ => i32::from(self.qs[j - 16] >> 4) - 8,
        };
        let sum: i32 = (0..QK).map(|j| q(j) * i32::from(p[j])).sum();
        f16_to_f32(self.d) * d_x * sum as f32
    }
}
// ANCHOR_END: q4_0

impl BlockQ4_0 {
    pub fn to_bytes(&self) -> [u8; 18] {
        let mut b = [0; 18];
        b[..2].copy_from_slice(&self.d.to_le_bytes());
        b[2..].copy_from_slice(&self.qs);
        b
    }

    /// The 32 values the block stands for.
    pub fn dequantize(&self) -> [f32; QK] {
        let d = f16_to_f32(self.d);
        std::array::from_fn(|j| {
            let q = if j < 16 {
                self.qs[j] & 0x0f
            } else {
                self.qs[j - 16] >> 4
            };
            d * (f32::from(q) - 8.0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> serde_json::Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/blocks.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// The bytes of llama.cpp's quantizer (through the `gguf` package), exactly.
    #[test]
    fn q4_0_matches_llama_cpp() {
        let doc = fixture();
        for (name, case) in doc["cases"].as_object().unwrap() {
            let x: Vec<f32> = case["x"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let ours: String = x
                .as_chunks::<QK>()
                .0
                .iter()
                .flat_map(|c| BlockQ4_0::quantize(c).to_bytes())
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(ours, case["Q4_0"]["bytes"].as_str().unwrap(), "{name}");
        }
    }

    /// The integer dot product against dequantize-then-f32: within 1e-6 · Σ|w||x|
    /// (exact integers, then two f32 roundings against a sum of 32 f64 products).
    #[test]
    fn dot_matches_dequantized() {
        let w = BlockQ4_0::quantize(&std::array::from_fn(|j| {
            ((j * 5 % 13) as f32 - 6.0) * 0.1
        }));
        let p: [i8; QK] = std::array::from_fn(|j| (j * 9 % 127) as i8 - 60);
        let d_x = 0.02;
        let wd = w.dequantize();
        let want: f64 = (0..QK)
            .map(|j| f64::from(wd[j]) * f64::from(p[j]) * f64::from(d_x))
            .sum();
        let scale: f64 = (0..QK)
            .map(|j| (f64::from(wd[j]) * f64::from(p[j]) * f64::from(d_x)).abs())
            .sum();
        let got = f64::from(w.dot_q8(&p, d_x));
        assert!((got - want).abs() <= 1e-6 * scale, "{got} vs {want}");
    }
}
