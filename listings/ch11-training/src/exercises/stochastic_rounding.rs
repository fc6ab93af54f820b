//! Exercise: stochastic rounding to bf16. Round-to-nearest loses every update smaller
//! than half a unit in the last place: a bf16 weight of 1.0 that receives a thousand
//! updates of 1e-4 stays 1.0. Rounding up with probability equal to the distance to the
//! lower neighbour makes the rounding unbiased, E[round(x)] = x, and the sum survives.

use rand::{Rng, RngExt};

// ANCHOR: stochastic_rounding
/// `x` rounded to bf16 at random: bf16 is float32's top 16 bits, so add a uniform
/// 16-bit number to the 16 bits that are dropped and truncate. The carry rounds up
/// exactly when the random number exceeds the distance to the upper neighbour.
pub fn bf16_stochastic(x: f32, rng: &mut impl Rng) -> f32 {
    if !x.is_finite() {
        return half::bf16::from_f32(x).to_f32(); // inf stays inf, NaN stays NaN
    }
    let noise: u32 = rng.random_range(0..1 << 16);
    let bits = x.to_bits().wrapping_add(noise) & 0xFFFF_0000;
    f32::from_bits(bits)
}

/// `steps` updates of `delta` added to a bf16 weight `w`, each sum stored back in bf16
/// by nearest rounding (`rng` = None) or stochastic rounding.
pub fn accumulate_bf16(
    w: f32,
    delta: f32,
    steps: usize,
    mut rng: Option<&mut dyn FnMut(f32) -> f32>,
) -> f32 {
    let mut w = half::bf16::from_f32(w).to_f32();
    for _ in 0..steps {
        w = match rng.as_mut() {
            Some(round) => round(w + delta),
            None => half::bf16::from_f32(w + delta).to_f32(),
        };
    }
    w
}
// ANCHOR_END: stochastic_rounding
