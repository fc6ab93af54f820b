//! Properties: thread-count determinism, mask semantics, fully masked rows, and the
//! messages that mismatched shapes produce.

use ch01_foundations::gradcheck::random_upstream;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::in_pool;
use ch03_attention::cross::CrossAttention;
use ch03_attention::mask::{Mask, causal_mask};
use ch03_attention::mha::MultiHeadAttention;
use ch03_attention::sdpa::{sdpa, sdpa_backward};
use ndarray::{Array2, Array3, ArrayD, Ix3};
use proptest::prelude::*;

/// Forward + backward of an MHA layer; returns the output, dx and every parameter grad.
fn mha_run(causal: bool) -> Vec<ArrayD<f32>> {
    let (b, t, c) = (4, 33, 32);
    let mut layer = MultiHeadAttention::new(c, 4, causal, &mut seeded_rng(9));
    let x: Array3<f32> = normal((b, t, c), 1.0, &mut seeded_rng(10));
    let pad = Array2::from_shape_fn((b, t), |(bi, j)| j >= t - 3 * bi);
    let r = random_upstream(&[b, t, c], 11)
        .into_dimensionality::<Ix3>()
        .unwrap();
    let y = layer.forward(&x, Some(&pad));
    let dx = layer.backward(&r);
    let mut all = vec![y.into_dyn(), dx.into_dyn()];
    use ch01_foundations::module::Module;
    layer.visit_params(&mut |_, p| all.push(p.grad.to_owned()));
    all
}

// ANCHOR: determinism_test
#[test]
fn mha_is_bit_identical_on_one_and_two_threads() {
    for causal in [false, true] {
        let one = in_pool(1, || mha_run(causal));
        let two = in_pool(2, || mha_run(causal));
        assert_eq!(one.len(), 6);
        for (i, (a, b)) in one.iter().zip(&two).enumerate() {
            assert!(
                a == b,
                "tensor {i} (causal {causal}) changed with the thread count"
            );
        }
    }
}
// ANCHOR_END: determinism_test

#[test]
fn cross_attention_is_bit_identical_on_one_and_two_threads() {
    let run = || {
        let mut layer = CrossAttention::new(16, 2, &mut seeded_rng(1));
        let x: Array3<f32> = normal((3, 7, 16), 1.0, &mut seeded_rng(2));
        let m: Array3<f32> = normal((3, 11, 16), 1.0, &mut seeded_rng(3));
        let y = layer.forward(&x, &m, None);
        let (dx, dm) = layer.backward(&(&y * 0.5));
        (y, dx, dm, layer.w_kv.grad.clone(), layer.w_q.grad.clone())
    };
    let (one, two) = (in_pool(1, run), in_pool(2, run));
    assert!(one == two, "cross-attention changed with the thread count");
}

#[test]
fn same_seed_same_layer() {
    let a = MultiHeadAttention::new(16, 4, true, &mut seeded_rng(5));
    let b = MultiHeadAttention::new(16, 4, true, &mut seeded_rng(5));
    assert_eq!(a.w_qkv.value, b.w_qkv.value);
    assert_eq!(a.w_o.value, b.w_o.value);
}

#[test]
fn fully_masked_rows_give_zeros_forward_and_backward() {
    let mut rng = seeded_rng(4);
    let (q, k, v): (Array2<f32>, Array2<f32>, Array2<f32>) = (
        normal((6, 4), 1.0, &mut rng),
        normal((4, 4), 1.0, &mut rng),
        normal((4, 3), 1.0, &mut rng),
    );
    // Tq = 6 > Tk = 4, bottom-right: queries 0 and 1 see no key.
    let a = sdpa(
        q.view(),
        k.view(),
        v.view(),
        &Mask {
            causal: true,
            ..Mask::default()
        },
    );
    let d_out = Array2::ones((6, 3));
    let (dq, dk, dv) =
        sdpa_backward(q.view(), k.view(), v.view(), a.p.view(), d_out.view());
    for i in 0..2 {
        assert!(
            a.p.row(i)
                .iter()
                .chain(a.out.row(i))
                .chain(dq.row(i))
                .all(|&x| x == 0.0)
        );
    }
    assert!(
        a.out
            .iter()
            .chain(&dq)
            .chain(&dk)
            .chain(&dv)
            .all(|x| x.is_finite())
    );
    // An all-padding item in a batch: defined (zero attention output), no NaN.
    let mut layer = MultiHeadAttention::new(8, 2, false, &mut seeded_rng(1));
    let x: Array3<f32> = normal((2, 3, 8), 1.0, &mut seeded_rng(2));
    let pad = Array2::from_shape_fn((2, 3), |(b, _)| b == 1);
    let y = layer.forward(&x, Some(&pad));
    let dx = layer.backward(&Array3::ones((2, 3, 8)));
    assert!(y.iter().chain(&dx).all(|v| v.is_finite()));
    assert!(
        layer
            .weights()
            .unwrap()
            .slice(ndarray::s![1, .., .., ..])
            .iter()
            .all(|&w| w == 0.0)
    );
}

#[test]
fn padding_keys_get_no_weight_and_do_not_change_real_outputs() {
    let mut layer = MultiHeadAttention::new(8, 2, false, &mut seeded_rng(1));
    let x: Array3<f32> = normal((1, 5, 8), 1.0, &mut seeded_rng(2));
    let pad = Array2::from_shape_fn((1, 5), |(_, j)| j >= 3);
    let y_padded = layer.forward(&x, Some(&pad));
    assert!(
        layer
            .weights()
            .unwrap()
            .slice(ndarray::s![.., .., .., 3..])
            .iter()
            .all(|&w| w == 0.0)
    );
    // The first 3 tokens alone give the same outputs for those tokens.
    let y_short = layer.forward(&x.slice(ndarray::s![.., ..3, ..]).to_owned(), None);
    let diff = (&y_padded.slice(ndarray::s![.., ..3, ..]) - &y_short).mapv(f32::abs);
    assert!(
        diff.iter().all(|&d| d < 1e-6),
        "padding leaked into real tokens"
    );
}

#[test]
fn causal_output_ignores_the_future() {
    let mut layer = MultiHeadAttention::new(8, 2, true, &mut seeded_rng(1));
    let mut x: Array3<f32> = normal((1, 6, 8), 1.0, &mut seeded_rng(2));
    let before = layer.forward(&x, None);
    x.slice_mut(ndarray::s![0, 4.., ..]).fill(7.0); // change tokens 4 and 5
    let after = layer.forward(&x, None);
    assert_eq!(
        before.slice(ndarray::s![.., ..4, ..]),
        after.slice(ndarray::s![.., ..4, ..])
    );
    assert_ne!(
        before.slice(ndarray::s![.., 4.., ..]),
        after.slice(ndarray::s![.., 4.., ..])
    );
}

#[test]
#[should_panic(
    expected = "MultiHeadAttention: x is [2, 5, 12] but the layer expects [B, T, 16]"
)]
fn mha_names_both_shapes() {
    let mut layer = MultiHeadAttention::new(16, 4, false, &mut seeded_rng(1));
    layer.forward(&Array3::zeros((2, 5, 12)), None);
}

#[test]
#[should_panic(
    expected = "MultiHeadAttention: key_padding is [2, 4] but the keys are [B, T] = [2, 5]"
)]
fn mha_padding_shape() {
    let mut layer = MultiHeadAttention::new(16, 4, false, &mut seeded_rng(1));
    layer.forward(
        &Array3::zeros((2, 5, 16)),
        Some(&Array2::from_elem((2, 4), false)),
    );
}

#[test]
#[should_panic(
    expected = "CrossAttention: x is [2, 3, 8] but memory is [3, 6, 8]: batch sizes differ"
)]
fn cross_names_both_shapes() {
    let mut layer = CrossAttention::new(8, 2, &mut seeded_rng(1));
    layer.forward(&Array3::zeros((2, 3, 8)), &Array3::zeros((3, 6, 8)), None);
}

#[test]
#[should_panic(expected = "sdpa: q is [3, 4] and k is [5, 6]")]
fn sdpa_names_both_shapes() {
    sdpa(
        Array2::zeros((3, 4)).view(),
        Array2::zeros((5, 6)).view(),
        Array2::zeros((5, 2)).view(),
        &Mask::default(),
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn weights_are_distributions_over_visible_keys(
        tq in 1usize..7,
        tk in 1usize..7,
        seed in 0u64..1000,
    ) {
        let mut rng = seeded_rng(seed);
        let q: Array2<f32> = normal((tq, 3), 2.0, &mut rng);
        let k: Array2<f32> = normal((tk, 3), 2.0, &mut rng);
        let v: Array2<f32> = normal((tk, 2), 1.0, &mut rng);
        let causal = Mask { causal: true, ..Mask::default() };
        let a = sdpa(q.view(), k.view(), v.view(), &causal);
        let visible = causal_mask(tq, tk);
        for i in 0..tq {
            let sum: f32 = a.p.row(i).sum();
            let any = visible.row(i).iter().any(|&b| b);
            let want = if any { 1.0 } else { 0.0 };
            prop_assert!((sum - want).abs() < 1e-5, "row {} sums to {}", i, sum);
            for j in 0..tk {
                if !visible[[i, j]] { prop_assert_eq!(a.p[[i, j]], 0.0); }
            }
        }
    }
}

#[test]
fn a_nan_score_makes_its_row_nan_and_leaves_other_rows_alone() {
    // A diverged run must show up as NaN in the output, never as a weight of 0.
    let q = Array2::from_shape_fn((3, 4), |(i, j)| 0.1 * (i + j) as f32);
    let k = Array2::from_shape_fn((5, 4), |(i, j)| 0.2 * i as f32 - 0.1 * j as f32);
    let v = Array2::from_shape_fn((5, 2), |(i, j)| (i * 2 + j) as f32);
    let mut k_nan = k.clone();
    k_nan[[2, 1]] = f32::NAN; // poisons the score of key 2 for every query
    let a = sdpa(q.view(), k_nan.view(), v.view(), &Mask::default());
    assert!(
        a.p.iter().all(|w| w.is_nan()),
        "every weight is NaN: {:?}",
        a.p
    );
    assert!(a.out.iter().all(|o| o.is_nan()), "every output is NaN");
    // One NaN query poisons only its own row.
    let mut q_nan = q.clone();
    q_nan[[1, 0]] = f32::NAN;
    let a = sdpa(q_nan.view(), k.view(), v.view(), &Mask::default());
    assert!(a.p.row(1).iter().all(|w| w.is_nan()));
    for i in [0, 2] {
        let sum: f32 = a.p.row(i).sum();
        assert!(
            (sum - 1.0).abs() < 1e-6,
            "row {i} still sums to 1, got {sum}"
        );
    }
    // A NaN in a masked-out (causal) position is never read.
    let mut k_late = k.clone();
    k_late[[4, 0]] = f32::NAN;
    let a = sdpa(
        q.view(),
        k_late.view(),
        v.view(),
        &Mask {
            causal: true,
            ..Mask::default()
        },
    );
    assert!(
        a.p.row(0).iter().all(|w| !w.is_nan()),
        "row 0 sees only keys 0..=2"
    );
}
