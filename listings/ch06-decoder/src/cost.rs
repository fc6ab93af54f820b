//! The arithmetic of one generation step (section "Where generation spends its time").

use crate::lm::LmConfig;

// ANCHOR: step_flops
/// FLOPs (a multiply-add counts 2) of producing one new token after `t` tokens. Without a
/// cache every step pushes all t rows through every layer; with one (Chapter 12) only the
/// newest row, attending to t cached keys. Norms, softmax and GELU are O(t·C) and left out.
pub fn step_flops(cfg: &LmConfig, t: usize, cached: bool) -> f64 {
    let (c, d_ff) = (cfg.d_model as f64, cfg.d_ff as f64);
    let (t, rows) = (t as f64, if cached { 1.0 } else { t as f64 });
    // QKV (C → 3C), output projection (C → C), FFN (C → d_ff → C): per row.
    let projections = 2.0 * rows * c * (3.0 * c + c + 2.0 * d_ff);
    // Scores Q Kᵀ and the weighted sum P V: rows × t × C each (our kernel computes the
    // full rows × t block and masks it, so no halving for causality).
    let attention = 2.0 * 2.0 * rows * t * c;
    let head = 2.0 * c * cfg.vocab as f64; // only the last row is unembedded
    cfg.n_layers as f64 * (projections + attention) + head
}
// ANCHOR_END: step_flops
