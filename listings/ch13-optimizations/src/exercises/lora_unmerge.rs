//! Exercise (LoRA): take an adapter back out of a merged projection, and measure how
//! far the round trip W → W + ΔW → (W + ΔW) − ΔW lands from W in f32.

use ndarray::{Array2, ArrayView2};

use crate::lora::Lora;

// ANCHOR: unmerge
/// W = W' − (α/r)·(B·A)ᵀ: the inverse of [`Lora::merge`] in exact arithmetic.
// merged: [d_in, d_out] -> [d_in, d_out]
pub fn unmerge(lora: &Lora, merged: ArrayView2<f32>) -> Array2<f32> {
    &merged - &lora.delta()
}

/// The round trip's largest error, and the bound rounding allows: each of the two
/// roundings errs by at most half a unit in the last place of its result, so the error
/// stays within one ulp of max |W'| (f32's ε times it).
// w: [d_in, d_out] -> (max |W − unmerge(merge(W))|, bound)
pub fn round_trip_error(lora: &Lora, w: ArrayView2<f32>) -> (f32, f32) {
    let merged = lora.merge(w);
    let back = unmerge(lora, merged.view());
    let err = (&back - &w).iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let top = merged.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    (err, f32::EPSILON * top)
}
// ANCHOR_END: unmerge

#[cfg(test)]
mod tests {
    use ch01_foundations::init::{normal, seeded_rng};

    use super::*;

    #[test]
    fn the_round_trip_is_not_exact_but_within_an_ulp() {
        let mut lora = Lora::new((32, 24), 4, 8.0, &mut seeded_rng(1)).unwrap();
        lora.b.value = normal((24, 4), 0.3, &mut seeded_rng(2));
        let w: Array2<f32> = normal((32, 24), 0.2, &mut seeded_rng(3));
        let (err, bound) = round_trip_error(&lora, w.view());
        assert!(err > 0.0, "some element does not come back bit for bit");
        assert!(err <= bound, "error {err} above the rounding bound {bound}");
    }
}
