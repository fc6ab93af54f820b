//! Exercise "Clip before you round" (section "PTQ against QAT"): post-training
//! quantization that searches, per weight matrix, the clip range that minimises the
//! squared error, instead of taking the absmax.

use ndarray::ArrayView2;

use crate::qat::{QatError, QuantSpec, absmax_fake_quantize};

// ANCHOR: clip_search
/// The clip ratio among `candidates` (fractions of each channel's absmax) whose
/// quantization of `w` at `bits` per channel has the least Σ (w_q - w)², and that sum.
/// A smaller range rounds the many small weights more finely and clamps the few large
/// ones: at low bits the trade often pays.
// w: [d_in, d_out] -> (clip, squared error)
pub fn best_clip(
    w: ArrayView2<f32>,
    bits: u32,
    candidates: &[f32],
) -> Result<(f32, f64), QatError> {
    let mut best: Option<(f32, f64)> = None;
    for &clip in candidates {
        let fq = absmax_fake_quantize(w, &QuantSpec::new(bits, None, clip)?);
        let err: f64 = (fq.w_q.iter().zip(w.iter()))
            .map(|(&q, &x)| f64::from(q - x).powi(2))
            .sum();
        if best.is_none_or(|(_, e)| err < e) {
            best = Some((clip, err));
        }
    }
    best.ok_or(QatError::NoCandidates)
}
// ANCHOR_END: clip_search
