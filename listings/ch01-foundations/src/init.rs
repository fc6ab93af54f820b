//! Seeded randomness and parameter initialisation (section "Initialisation").

use ndarray::{Array, Array2, Dimension, ShapeBuilder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

// ANCHOR: seeded_rng
/// The only source of randomness in the book: a ChaCha8 generator from a `u64` seed.
/// ChaCha's output is specified bit for bit, so the same seed gives the same numbers on
/// every machine, unlike `thread_rng` or a platform-dependent generator.
pub fn seeded_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}
// ANCHOR_END: seeded_rng

// ANCHOR: samplers
/// Every element from N(0, std²), filled in row-major order (so the result depends only
/// on the seed, never on the memory layout or thread count).
// shape: any -> Array of that shape
pub fn normal<Sh, D>(shape: Sh, std: f32, rng: &mut impl Rng) -> Array<f32, D>
where
    Sh: ShapeBuilder<Dim = D>,
    D: Dimension,
{
    let dist = Normal::new(0.0, std).expect("std must be finite and non-negative");
    Array::from_shape_simple_fn(shape, || dist.sample(rng))
}

/// Every element from U(-bound, bound).
pub fn uniform<Sh, D>(shape: Sh, bound: f32, rng: &mut impl Rng) -> Array<f32, D>
where
    Sh: ShapeBuilder<Dim = D>,
    D: Dimension,
{
    let dist = Uniform::new_inclusive(-bound, bound).expect("bound must be finite");
    Array::from_shape_simple_fn(shape, || dist.sample(rng))
}
// ANCHOR_END: samplers

// ANCHOR: init

/// Xavier/Glorot uniform: Var(w) = 2 / (d_in + d_out), which keeps the variance of both
/// activations (forward) and gradients (backward) roughly constant through a linear
/// layer.
// -> w: [d_in, d_out]
pub fn xavier_uniform(d_in: usize, d_out: usize, rng: &mut impl Rng) -> Array2<f32> {
    let bound = (6.0 / (d_in + d_out) as f32).sqrt(); // U(-a, a) has variance a²/3
    uniform((d_in, d_out), bound, rng)
}

/// Xavier/Glorot normal: std = sqrt(2 / (d_in + d_out)).
// -> w: [d_in, d_out]
pub fn xavier_normal(d_in: usize, d_out: usize, rng: &mut impl Rng) -> Array2<f32> {
    normal((d_in, d_out), (2.0 / (d_in + d_out) as f32).sqrt(), rng)
}

/// Kaiming/He normal for ReLU layers: std = sqrt(2 / d_in). ReLU zeroes half its inputs,
/// halving the variance; the factor 2 puts it back.
// -> w: [d_in, d_out]
pub fn kaiming_normal(d_in: usize, d_out: usize, rng: &mut impl Rng) -> Array2<f32> {
    normal((d_in, d_out), (2.0 / d_in as f32).sqrt(), rng)
}
// ANCHOR_END: init
