//! The chapter's exercises: each solution's claims, as exercises.md states them. (The
//! Q4_0 and LoRA-unmerge solutions test themselves, in their modules.)

use ch01_foundations::softmax::softmax;
use ch13_optimizations::exercises::clipped_scale::{best_clip, clipped_fake_quantize};
use ch13_optimizations::exercises::nf4_block_size::block_size_sweep;
use ch13_optimizations::exercises::online_softmax::online_softmax;
use ch13_optimizations::schemes::{
    Granularity, Mapping, Scheme, SchemeError, fake_quantize,
};
use ndarray::{Array1, Array2, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CLIPS: [f32; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// A Laplace-distributed matrix (inverse CDF of a seeded uniform): heavy tails, a few
/// values far out, like weights.
fn laplace(seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((64, 64), |_| {
        let u: f32 = rng.random_range(-0.499..0.499);
        -u.signum() * (1.0 - 2.0 * u.abs()).ln()
    })
}

#[test]
fn clip_one_is_absmax() {
    let w = laplace(1);
    let absmax = Scheme::new(4, Mapping::Absmax, Granularity::PerTensor);
    assert_eq!(
        clipped_fake_quantize(&w, 4, 1.0).unwrap(),
        fake_quantize(&w, &absmax).unwrap()
    );
}

#[test]
fn heavy_tails_want_a_clipped_range() {
    let w = laplace(2);
    let (clip, err) = best_clip(&w, 4, &CLIPS).unwrap();
    let (_, absmax) = best_clip(&w, 4, &[1.0]).unwrap();
    assert!(clip <= 0.7, "int4 on Laplace values: best clip {clip}");
    assert!(err < 0.9 * absmax, "clipped {err} against absmax {absmax}");
    // More bits make rounding cheaper, so the best range widens.
    let (clip8, _) = best_clip(&w, 8, &CLIPS).unwrap();
    assert!(clip8 > clip, "int8 clips less ({clip8}) than int4 ({clip})");
}

#[test]
fn uniform_values_want_the_whole_range() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let w = Array2::from_shape_fn((64, 64), |_| rng.random_range(-1.0f32..1.0));
    let (clip, _) = best_clip(&w, 4, &CLIPS).unwrap();
    // Nearly the whole range: the best uniform grid puts the largest value at the edge
    // of the top code's cell, q_max + 1/2 steps out, so clip ≈ 7 / 7.5 at 4 bits.
    assert!(clip >= 0.9, "uniform values: best clip {clip}");
}

#[test]
fn bad_input_is_an_error() {
    let w = Array2::<f32>::zeros((2, 2));
    assert_eq!(
        clipped_fake_quantize(&w, 9, 1.0).unwrap_err(),
        SchemeError::BadBits(9)
    );
    let mut bad = w.clone();
    bad[[0, 1]] = f32::INFINITY;
    assert!(matches!(
        clipped_fake_quantize(&bad, 4, 1.0).unwrap_err(),
        SchemeError::NonFinite { row: 0, col: 1, .. }
    ));
}

#[test]
fn exercise_online_softmax_equals_chapter_1s_softmax() {
    let rows: [Vec<f32>; 4] = [
        vec![1.0, -2.0, 3.5, 0.25, 3.5],
        vec![1000.0, 999.0, -1000.0], // no overflow: every exponent is ≤ 0
        vec![f32::NEG_INFINITY, 2.0, f32::NEG_INFINITY, -1.0],
        (0..97)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.7)
            .collect(),
    ];
    for x in &rows {
        let want = softmax(&Array1::from(x.clone()), Axis(0));
        let got = online_softmax(x);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-6, "{x:?}: {got:?} vs {want}");
        }
    }
    assert_eq!(online_softmax(&[f32::NEG_INFINITY; 3]), vec![0.0; 3]);
    assert!(online_softmax(&[]).is_empty());
}

#[test]
fn block_size_exercise_trades_bits_for_error() {
    let w =
        ch01_foundations::init::normal(1 << 15, 1.0, &mut ChaCha8Rng::seed_from_u64(6))
            .to_vec();
    let rows = block_size_sweep(&w, &[32, 64, 128, 256]).unwrap();
    for p in rows.windows(2) {
        assert!(p[1].1 < p[0].1, "bits fall as blocks grow: {rows:?}");
        assert!(p[1].2 > p[0].2, "error grows as blocks grow: {rows:?}");
    }
    assert!(block_size_sweep(&w, &[0]).is_err());
}
