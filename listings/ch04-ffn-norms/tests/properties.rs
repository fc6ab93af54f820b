//! Properties: thread-count determinism, shape errors, dropout's contract, what the norms
//! guarantee, and the parameter-count arithmetic of the text.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::in_pool;
use ch01_foundations::module::Module;
use ch04_ffn_norms::activations::{Activation, erf};
use ch04_ffn_norms::dropout::Dropout;
use ch04_ffn_norms::ffn::Ffn;
use ch04_ffn_norms::linear::Linear;
use ch04_ffn_norms::norms::{LayerNorm, RmsNorm};
use ch04_ffn_norms::residual::{Wiring, grad_norms};
use ch04_ffn_norms::swiglu::{SwiGlu, swiglu_hidden};
use ndarray::{Array2, Axis, Ix2};
use proptest::prelude::*;

/// Output, input gradient and every parameter gradient, as raw bits.
fn run_ffn(threads: usize) -> Vec<Vec<u32>> {
    in_pool(threads, || {
        let mut rng = seeded_rng(1);
        // 300 rows: row blocks of uneven size; d_ff 512 > 300 splits by columns too.
        let mut ffn = Ffn::new(64, 512, Activation::Gelu, &mut rng);
        let x: Array2<f32> = normal((300, 64), 1.0, &mut rng);
        let dy: Array2<f32> = normal((300, 64), 1.0, &mut rng);
        let y = ffn.forward(&x);
        let dx = ffn.backward(&dy);
        let mut out = vec![bits(y.iter()), bits(dx.iter())];
        ffn.visit_params(&mut |_, p| out.push(bits(p.grad.iter())));
        out
    })
}

fn bits<'a>(xs: impl Iterator<Item = &'a f32>) -> Vec<u32> {
    xs.map(|x| x.to_bits()).collect()
}

#[test]
fn ffn_is_bit_identical_on_1_2_and_3_threads() {
    let one = run_ffn(1);
    assert_eq!(one, run_ffn(2), "1 vs 2 threads");
    assert_eq!(one, run_ffn(3), "1 vs 3 threads");
}

#[test]
fn swiglu_and_residual_stacks_are_thread_count_independent() {
    let swiglu = |threads| {
        in_pool(threads, || {
            let mut rng = seeded_rng(2);
            let mut m = SwiGlu::new(32, swiglu_hidden(32, 16), &mut rng);
            let x: Array2<f32> = normal((200, 32), 1.0, &mut rng);
            let y = m.forward(&x);
            let dx = m.backward(&y);
            let mut out = vec![bits(y.iter()), bits(dx.iter())];
            m.visit_params(&mut |_, p| out.push(bits(p.grad.iter())));
            out
        })
    };
    assert_eq!(swiglu(1), swiglu(2));
    let norms = |threads| in_pool(threads, || grad_norms(6, 32, 40, Wiring::PostLn, 3));
    assert_eq!(norms(1), norms(2));
}

#[test]
#[should_panic(expected = "Linear: x is [3, 5] but w is [4, 2]")]
fn linear_names_both_shapes() {
    Linear::new(4, 2, &mut seeded_rng(0)).forward(&Array2::zeros((3, 5)));
}

#[test]
#[should_panic(expected = "Ffn: x is [3, 5] but fc1.w is [8, 32]")]
fn ffn_names_both_shapes() {
    Ffn::new(8, 32, Activation::Gelu, &mut seeded_rng(0)).forward(&Array2::zeros((3, 5)));
}

#[test]
#[should_panic(expected = "LayerNorm: x is [2, 3] but gamma is [4]")]
fn layernorm_names_both_shapes() {
    LayerNorm::new(4, 1e-5).forward(&Array2::zeros((2, 3)));
}

#[test]
#[should_panic(expected = "RmsNorm: dy is [2, 5] but the forward input was [2, 4]")]
fn rmsnorm_backward_names_both_shapes() {
    let mut rms = RmsNorm::new(4, 1e-6);
    rms.forward(&Array2::ones((2, 4)));
    rms.backward(&Array2::ones((2, 5)));
}

#[test]
#[should_panic(expected = "SwiGlu: x is [2, 3] but w1 is [4, 8]")]
fn swiglu_names_both_shapes() {
    SwiGlu::new(4, 8, &mut seeded_rng(0)).forward(&Array2::zeros((2, 3)));
}

#[test]
fn dropout_is_identity_at_eval() {
    let x: Array2<f32> = normal((8, 16), 1.0, &mut seeded_rng(4));
    let mut d = Dropout::new(0.5);
    d.training = false;
    assert_eq!(d.forward(&x, &mut seeded_rng(5)), x);
    assert_eq!(d.backward(&x), x);
}

#[test]
fn dropout_same_seed_same_mask_and_backward_reuses_it() {
    let x = Array2::<f32>::ones((16, 32));
    let (mut a, mut b) = (Dropout::new(0.3), Dropout::new(0.3));
    let ya = a.forward(&x, &mut seeded_rng(6));
    assert_eq!(ya, b.forward(&x, &mut seeded_rng(6)));
    assert_ne!(
        ya,
        b.forward(&x, &mut seeded_rng(7)),
        "another seed, another mask"
    );
    // With the mask fixed, dropout is linear: dx = dy ⊙ mask, checked numerically.
    let r = random_upstream(&[16, 32], 8)
        .into_dimensionality::<Ix2>()
        .unwrap();
    let dx = a.backward(&r);
    let report = GradCheck::default().check(&x, &dx, |x| {
        (Dropout::new(0.3).forward(x, &mut seeded_rng(6)) * &r).sum()
    });
    report.assert_within(1e-2, "Dropout");
    // Survivors are scaled by 1/(1 - p); the rest are exactly zero.
    assert!(ya.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
}

#[test]
fn dropout_preserves_the_mean() {
    // 10⁶ ones at p = 0.1: the mean of y is 1 with standard error
    // sqrt(p / (1 - p) / n) = 3.3e-4; 5e-3 is 15 standard errors.
    let x = Array2::<f32>::ones((1000, 1000));
    let y = Dropout::new(0.1).forward(&x, &mut seeded_rng(9));
    let mean = y.mean().unwrap();
    assert!((mean - 1.0).abs() < 5e-3, "mean {mean}");
    let kept = y.iter().filter(|&&v| v != 0.0).count() as f32 / 1e6;
    assert!((kept - 0.9).abs() < 5e-3, "kept fraction {kept}");
}

#[test]
fn erf_is_accurate_everywhere() {
    // Against f64 references: erf by its Taylor series (converges for |x| ≤ 3; beyond,
    // erf is within 2e-5 of ±1 and the f32 result must be ±1 to 2e-5).
    for i in -6000..=6000 {
        let x = i as f64 * 1e-3;
        let want = if x.abs() <= 3.0 {
            erf_taylor(x)
        } else {
            x.signum()
        };
        let tol = if x.abs() <= 3.0 { 1e-6 } else { 3e-5 };
        assert!((erf(x as f32) as f64 - want).abs() < tol, "erf({x})");
    }
}

fn erf_taylor(x: f64) -> f64 {
    // erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let (mut term, mut sum) = (x, 0.0);
    for n in 0..200 {
        sum += term / (2 * n + 1) as f64;
        term *= -x * x / (n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn parameter_counts() {
    // 8C² + 5C for the GELU FFN; SwiGLU at d_ff = 8C/3 (C divisible by 3) has 8C².
    let ffn = Ffn::new(48, 192, Activation::Gelu, &mut seeded_rng(0));
    assert_eq!(ffn.num_params(), 8 * 48 * 48 + 5 * 48);
    assert_eq!(ffn.num_params(), Ffn::param_count(48, 192));
    let swiglu = SwiGlu::new(48, 128, &mut seeded_rng(0));
    assert_eq!(swiglu.num_params(), 8 * 48 * 48);
    assert_eq!(swiglu_hidden(4096, 256), 11008); // Llama 7B
    assert_eq!(ffn.param_names(), ["fc1.w", "fc1.b", "fc2.w", "fc2.b"]);
    assert_eq!(swiglu.param_names(), ["w1", "w2", "w3"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// LayerNorm (γ = 1, β = 0): every row has mean 0 and (biased) variance ≈ 1, whatever
    /// its offset and scale.
    #[test]
    fn layernorm_rows_are_standardised(
        data in prop::collection::vec(-3.0f32..3.0, 16),
        offset in -50.0f32..50.0,
        scale in 0.5f32..20.0,
    ) {
        let x = Array2::from_shape_vec((2, 8), data).unwrap() * scale + offset;
        prop_assume!(x.var_axis(Axis(1), 0.0).iter().all(|&v| v > 1e-2 * scale * scale));
        let y = LayerNorm::new(8, 1e-5).forward(&x);
        for row in y.rows() {
            prop_assert!(row.mean().unwrap().abs() < 1e-4);
            prop_assert!((row.var(0.0) - 1.0).abs() < 1e-2);
        }
    }

    /// RMSNorm is invariant to a positive rescaling of its input (up to eps), but it
    /// keeps the mean: it does not recentre.
    #[test]
    fn rmsnorm_is_scale_invariant(
        data in prop::collection::vec(0.1f32..3.0, 8),
        scale in 0.5f32..50.0,
    ) {
        let x = Array2::from_shape_vec((1, 8), data).unwrap();
        let mut rms = RmsNorm::new(8, 1e-6);
        let (a, b) = (rms.forward(&x), rms.forward(&(&x * scale)));
        prop_assert!((&a - &b).iter().all(|d| d.abs() < 1e-4));
        prop_assert!(a.mean().unwrap() > 0.0);
    }

    /// The FFN works row by row: permuting the tokens permutes the outputs.
    #[test]
    fn ffn_is_position_wise(seed in 0u64..1000) {
        let mut ffn = Ffn::new(8, 32, Activation::Silu, &mut seeded_rng(seed));
        let x: Array2<f32> = normal((5, 8), 1.0, &mut seeded_rng(seed + 1));
        let y = ffn.forward(&x);
        let rev = x.slice(ndarray::s![..;-1, ..]).to_owned();
        let y_rev = ffn.forward(&rev);
        prop_assert_eq!(y.slice(ndarray::s![..;-1, ..]).to_owned(), y_rev);
    }
}
