//! Flash Attention against Chapter 3's naive attention (forward, weights and every
//! gradient), at odd sizes and block sizes, with every kind of mask; gradient checks;
//! determinism across thread counts; the errors.
//!
//! Tolerance 1e-5, absolute, on inputs drawn from N(0, 1): flash and naive multiply the
//! same f32 numbers but add them in a different order (a row in tiles, the unnormalised
//! sum divided at the end instead of normalised weights), and each output is an
//! average of O(1) values, so the two differ by a few f32 rounding errors (≈ 1e-7 each)
//! over at most a few hundred terms: ≈ 1e-6, with room to spare.

use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::in_pool;
use ch03_attention::mask::{Mask, causal_mask_top_left, padding_from_len};
use ch03_attention::sdpa::{sdpa, sdpa_backward};
use ch13_optimizations::flash::{
    Blocks, FlashError, flash_backward, flash_forward, weights_from_lse,
};
use ch13_optimizations::flash_decoding::flash_decode;
use ndarray::{Array2, ArrayView2, Axis, Zip};

const TOL: f32 = 1e-5;

fn max_abs_diff(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    Zip::from(a)
        .and(b)
        .fold(0.0f32, |m, &x, &y| m.max((x - y).abs()))
}

struct Case {
    q: Array2<f32>,
    k: Array2<f32>,
    v: Array2<f32>,
    d_o: Array2<f32>,
}

fn case(t_q: usize, t_k: usize, d_k: usize, d_v: usize, seed: u64) -> Case {
    let mut rng = seeded_rng(seed);
    Case {
        q: normal((t_q, d_k), 1.0, &mut rng),
        k: normal((t_k, d_k), 1.0, &mut rng),
        v: normal((t_k, d_v), 1.0, &mut rng),
        d_o: normal((t_q, d_v), 1.0, &mut rng),
    }
}

/// Flash against naive for one case, mask and block size: O, the weights that lse
/// implies, dQ, dK and dV all within TOL.
fn compare(c: &Case, mask: &Mask<'_>, blocks: Blocks, what: &str) {
    let (q, k, v) = (c.q.view(), c.k.view(), c.v.view());
    let naive = sdpa(q, k, v, mask);
    let fwd = flash_forward(q, k, v, mask, blocks).unwrap();
    let err = |a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>, name: &str| {
        let e = max_abs_diff(a, b);
        assert!(e <= TOL, "{what}, {blocks:?}: {name} differs by {e:.2e}");
    };
    err(fwd.o.view(), naive.out.view(), "O");
    err(
        weights_from_lse(q, k, mask, fwd.lse.view()).view(),
        naive.p.view(),
        "P",
    );
    let (dq, dk, dv) = flash_backward(q, k, v, mask, &fwd, c.d_o.view(), blocks).unwrap();
    let (n_dq, n_dk, n_dv) = sdpa_backward(q, k, v, naive.p.view(), c.d_o.view());
    err(dq.view(), n_dq.view(), "dQ");
    err(dk.view(), n_dk.view(), "dK");
    err(dv.view(), n_dv.view(), "dV");
}

const BLOCKS: [Blocks; 5] = [
    Blocks { b_r: 1, b_c: 1 },
    Blocks { b_r: 5, b_c: 7 },
    Blocks { b_r: 8, b_c: 16 },
    Blocks { b_r: 16, b_c: 3 },
    Blocks { b_r: 64, b_c: 64 },
];

#[test]
fn equals_naive_attention_at_odd_sizes_without_a_mask() {
    for (t_q, t_k, d_k, d_v) in [
        (37, 53, 13, 7),
        (1, 1, 1, 1),
        (64, 64, 64, 64),
        (100, 9, 5, 11),
    ] {
        let c = case(t_q, t_k, d_k, d_v, 1);
        for blocks in BLOCKS {
            compare(
                &c,
                &Mask::default(),
                blocks,
                &format!("{t_q}x{t_k}, no mask"),
            );
        }
    }
}

#[test]
fn equals_naive_attention_with_causal_and_padding_masks() {
    // T_q = T_k, fewer queries than keys (a KV cache), more queries than keys (the first
    // rows then see nothing, bottom-right alignment).
    for (t_q, t_k) in [(41, 41), (13, 50), (50, 13)] {
        let c = case(t_q, t_k, 9, 6, 2);
        let pad = padding_from_len(t_k - 4, t_k);
        let masks = [
            (
                "causal",
                Mask {
                    causal: true,
                    ..Mask::default()
                },
            ),
            (
                "padding",
                Mask {
                    key_padding: Some(&pad),
                    ..Mask::default()
                },
            ),
            (
                "causal + padding",
                Mask {
                    causal: true,
                    key_padding: Some(&pad),
                    ..Mask::default()
                },
            ),
        ];
        for (name, mask) in &masks {
            for blocks in BLOCKS {
                compare(&c, mask, blocks, &format!("{t_q}x{t_k}, {name}"));
            }
        }
    }
}

#[test]
fn equals_naive_attention_with_a_boolean_mask_and_a_bias() {
    let (t_q, t_k) = (23, 31);
    let c = case(t_q, t_k, 8, 8, 3);
    let allowed = causal_mask_top_left(t_q, t_k);
    let bias =
        Array2::from_shape_fn((t_q, t_k), |(i, j)| -0.1 * (i as f32 - j as f32).abs());
    let masks = [
        (
            "top-left causal as a boolean mask",
            Mask {
                allowed: Some(allowed.view()),
                ..Mask::default()
            },
        ),
        (
            "ALiBi-like bias",
            Mask {
                bias: Some(bias.view()),
                ..Mask::default()
            },
        ),
    ];
    for (name, mask) in &masks {
        for blocks in BLOCKS {
            compare(&c, mask, blocks, name);
        }
    }
}

#[test]
fn a_query_that_sees_no_key_gets_zeros_as_in_chapter_3() {
    // 6 queries, 3 keys, causal bottom-right: queries 0..3 see nothing.
    let c = case(6, 3, 4, 4, 4);
    let mask = Mask {
        causal: true,
        ..Mask::default()
    };
    let fwd = flash_forward(
        c.q.view(),
        c.k.view(),
        c.v.view(),
        &mask,
        Blocks { b_r: 2, b_c: 2 },
    )
    .unwrap();
    for i in 0..3 {
        assert_eq!(fwd.lse[i], f32::NEG_INFINITY);
        assert!(fwd.o.row(i).iter().all(|&x| x == 0.0));
    }
    assert!(fwd.lse.iter().skip(3).all(|x| x.is_finite()));
    compare(
        &c,
        &mask,
        Blocks { b_r: 2, b_c: 2 },
        "rows that see nothing",
    );
}

fn loss(o: &Array2<f32>, r: &Array2<f32>) -> f32 {
    (o * r).sum()
}

#[test]
fn gradients_pass_the_finite_difference_check() {
    // L = Σ O ∘ R, so ∂L/∂O = R. Tolerance 1e-2 relative, h = 1e-2: Chapter 3's checker
    // settings for attention (f32 rounding ≈ 1e-7·|L| / h, truncation ≈ h²).
    let check = GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    };
    let (t_q, t_k) = (11, 14);
    let c = case(t_q, t_k, 5, 3, 5);
    let pad = padding_from_len(12, t_k);
    let blocks = Blocks { b_r: 4, b_c: 3 };
    for (name, mask) in [
        ("no mask", Mask::default()),
        (
            "causal + padding",
            Mask {
                causal: true,
                key_padding: Some(&pad),
                ..Mask::default()
            },
        ),
    ] {
        let fwd =
            flash_forward(c.q.view(), c.k.view(), c.v.view(), &mask, blocks).unwrap();
        let (dq, dk, dv) = flash_backward(
            c.q.view(),
            c.k.view(),
            c.v.view(),
            &mask,
            &fwd,
            c.d_o.view(),
            blocks,
        )
        .unwrap();
        let run = |q: &Array2<f32>, k: &Array2<f32>, v: &Array2<f32>| {
            let o = flash_forward(q.view(), k.view(), v.view(), &mask, blocks)
                .unwrap()
                .o;
            loss(&o, &c.d_o)
        };
        check
            .check(&c.q, &dq, |q| run(q, &c.k, &c.v))
            .assert_within(1e-2, &format!("dQ, {name}"));
        check
            .check(&c.k, &dk, |k| run(&c.q, k, &c.v))
            .assert_within(1e-2, &format!("dK, {name}"));
        check
            .check(&c.v, &dv, |v| run(&c.q, &c.k, v))
            .assert_within(1e-2, &format!("dV, {name}"));
    }
}

#[test]
fn the_same_bits_at_any_thread_count() {
    let c = case(150, 170, 16, 16, 6);
    let mask = Mask {
        causal: true,
        ..Mask::default()
    };
    let blocks = Blocks { b_r: 16, b_c: 32 };
    let run = || {
        let fwd =
            flash_forward(c.q.view(), c.k.view(), c.v.view(), &mask, blocks).unwrap();
        let grads = flash_backward(
            c.q.view(),
            c.k.view(),
            c.v.view(),
            &mask,
            &fwd,
            c.d_o.view(),
            blocks,
        )
        .unwrap();
        (fwd.o, fwd.lse, grads)
    };
    let one = in_pool(1, run);
    let three = in_pool(3, run);
    assert_eq!(one.0, three.0);
    assert_eq!(one.1, three.1);
    assert_eq!(one.2, three.2);
}

#[test]
fn bad_inputs_are_errors_that_name_the_problem() {
    let c = case(4, 5, 3, 2, 7);
    let (q, k, v) = (c.q.view(), c.k.view(), c.v.view());
    let none = Mask::default();
    let b = Blocks::default();
    let other: Array2<f32> = Array2::zeros((5, 4));
    assert_eq!(
        flash_forward(q, other.view(), v, &none, b).unwrap_err(),
        FlashError::KeyWidth {
            q: [4, 3],
            k: [5, 4]
        }
    );
    let v6: Array2<f32> = Array2::zeros((6, 2));
    assert_eq!(
        flash_forward(q, k, v6.view(), &none, b).unwrap_err(),
        FlashError::ValueCount {
            k: [5, 3],
            v: [6, 2]
        }
    );
    let pad = [false; 3];
    let mask = Mask {
        key_padding: Some(&pad),
        ..Mask::default()
    };
    let e = flash_forward(q, k, v, &mask, b).unwrap_err();
    assert_eq!(e, FlashError::Padding { len: 3, t_k: 5 });
    assert!(
        e.to_string()
            .contains("key_padding has 3 entries but there are 5 keys")
    );
    let bias: Array2<f32> = Array2::zeros((4, 4));
    let mask = Mask {
        bias: Some(bias.view()),
        ..Mask::default()
    };
    assert_eq!(
        flash_forward(q, k, v, &mask, b).unwrap_err(),
        FlashError::MaskShape {
            what: "bias",
            got: [4, 4],
            want: [4, 5]
        }
    );
    assert_eq!(
        flash_forward(q, k, v, &none, Blocks { b_r: 0, b_c: 8 }).unwrap_err(),
        FlashError::Blocks { b_r: 0, b_c: 8 }
    );
    let fwd = flash_forward(q, k, v, &none, b).unwrap();
    let d_o: Array2<f32> = Array2::zeros((4, 3));
    let e = flash_backward(q, k, v, &none, &fwd, d_o.view(), b).unwrap_err();
    assert_eq!(
        e,
        FlashError::Shape {
            what: "d_o",
            got: vec![4, 3],
            want: vec![4, 2]
        }
    );
    let mut short = fwd.clone();
    short.lse = short.lse.slice(ndarray::s![..3]).to_owned();
    let e = flash_backward(q, k, v, &none, &short, c.d_o.view(), b).unwrap_err();
    assert_eq!(
        e,
        FlashError::Shape {
            what: "lse",
            got: vec![3],
            want: vec![4]
        }
    );
}

#[test]
fn flash_decoding_equals_naive_attention_for_one_query() {
    // 1e-5 as above: the same products, summed per chunk and merged.
    for (t_k, splits) in [(1000, 1), (1000, 7), (333, 16), (5, 5), (5, 9)] {
        let c = case(1, t_k, 64, 32, 8);
        let naive = sdpa(c.q.view(), c.k.view(), c.v.view(), &Mask::default());
        let (o, lse) = flash_decode(c.q.row(0), c.k.view(), c.v.view(), splits).unwrap();
        let e = max_abs_diff(o.view().insert_axis(Axis(0)), naive.out.view());
        assert!(
            e <= TOL,
            "T_k = {t_k}, {splits} splits: o differs by {e:.2e}"
        );
        // lse against the forward's, which the tests above tie to naive.
        let fwd = flash_forward(
            c.q.view(),
            c.k.view(),
            c.v.view(),
            &Mask::default(),
            Blocks::default(),
        )
        .unwrap();
        assert!(
            (lse - fwd.lse[0]).abs() <= TOL,
            "T_k = {t_k}: lse {lse} vs {}",
            fwd.lse[0]
        );
    }
    let c = case(1, 500, 16, 16, 9);
    let run = || flash_decode(c.q.row(0), c.k.view(), c.v.view(), 12).unwrap();
    assert_eq!(
        in_pool(1, run),
        in_pool(3, run),
        "same bits at 1 and 3 threads"
    );
    assert_eq!(
        flash_decode(c.q.row(0), c.k.view(), c.v.view(), 0).unwrap_err(),
        FlashError::Splits { splits: 0 }
    );
}
