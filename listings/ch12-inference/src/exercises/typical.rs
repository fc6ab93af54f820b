//! Exercise: locally typical sampling (Meister et al., 2022).

use ndarray::Array1;

use crate::sampling::probabilities;

// ANCHOR: typical
/// Typical sampling keeps the tokens whose surprise −ln p_i is closest to the
/// distribution's entropy H, the expected surprise, until their mass reaches `mass`:
/// rank by |−ln p_i − H|, keep the head of that ranking whose mass first exceeds
/// `mass` (Hugging Face's `TypicalLogitsWarper` rule), −∞ for the rest. `mass` ≥ 1
/// keeps everything.
// logits: [V] -> [V]
pub fn typical(logits: &mut Array1<f32>, mass: f32) {
    if mass >= 1.0 {
        return;
    }
    let p = probabilities(logits);
    let h: f64 = p.iter().filter(|&&q| q > 0.0).map(|&q| -q * q.ln()).sum();
    let score = |i: usize| (-p[i].ln() - h).abs();
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i] > 0.0).collect();
    order.sort_by(|&a, &b| score(a).total_cmp(&score(b)).then(a.cmp(&b)));
    let mut before = 0.0;
    let mut keep = vec![false; p.len()];
    for &i in &order {
        keep[i] = true;
        before += p[i];
        if before > mass as f64 {
            break;
        }
    }
    for (l, k) in logits.iter_mut().zip(keep) {
        if !k {
            *l = f32::NEG_INFINITY;
        }
    }
}
// ANCHOR_END: typical
