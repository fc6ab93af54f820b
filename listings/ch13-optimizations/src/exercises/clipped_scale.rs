//! Exercise "A clipped scale": absmax spends the whole grid on the largest |x|; clipping
//! the range at a fraction of it trades a large error on the few clipped values for a
//! finer step, and so a smaller rounding error, on all the others.

use ndarray::Array2;

use crate::schemes::{QuantError, SchemeError};

// ANCHOR: clipped
/// Symmetric b-bit quantization with Δ = clip · max|x| / (2^(b−1) − 1): values beyond
/// the clipped range saturate at the largest code. `clip` = 1 is plain absmax.
// w: [rows, cols] -> [rows, cols]
pub fn clipped_fake_quantize(
    w: &Array2<f32>,
    bits: u32,
    clip: f32,
) -> Result<Array2<f32>, SchemeError> {
    if !(2..=8).contains(&bits) {
        return Err(SchemeError::BadBits(bits));
    }
    if let Some(((row, col), &value)) = w.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(SchemeError::NonFinite { row, col, value });
    }
    let q_max = ((1 << (bits - 1)) - 1) as f32;
    let absmax = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let delta = clip * absmax / q_max;
    if delta <= 0.0 {
        return Ok(w.clone()); // all zeros (or clip 0): nothing to round
    }
    Ok(w.mapv(|x| delta * (x / delta).round_ties_even().clamp(-q_max, q_max)))
}

/// The clip fraction among `clips` with the smallest relative error, and that error.
// w: [rows, cols]
pub fn best_clip(
    w: &Array2<f32>,
    bits: u32,
    clips: &[f32],
) -> Result<(f32, f64), SchemeError> {
    let mut best = (1.0, f64::INFINITY);
    for &c in clips {
        let e = QuantError::between(w.view(), clipped_fake_quantize(w, bits, c)?.view())?;
        if e.relative() < best.1 {
            best = (c, e.relative());
        }
    }
    Ok(best)
}
// ANCHOR_END: clipped
