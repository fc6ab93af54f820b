//! Tier 2: numerics against PyTorch 2 (`tools/golden/ch03_attention.py`):
//! `F.scaled_dot_product_attention` and `nn.MultiheadAttention` in float32 on CPU.
//! Tolerance: max |ours - PyTorch| ≤ 1e-5 for outputs, weights and gradients (float32
//! rounding in a different summation order; the observed errors are ~1e-6).

use ch01_foundations::init::seeded_rng;
use ch03_attention::cross::CrossAttention;
use ch03_attention::mask::{Mask, causal_mask, causal_mask_top_left};
use ch03_attention::mha::MultiHeadAttention;
use ch03_attention::sdpa::{sdpa, sdpa_backward};
use golden::{Fixture, assert_close};
use ndarray::{Array2, ArrayD, Ix1, Ix2, Ix3};

const TOL: f32 = 1e-5;

fn fixture() -> Fixture {
    Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/ch03.json"
    ))
    .expect("fixture")
}

fn t2(f: &Fixture, case: &str, field: &str) -> Array2<f32> {
    f.array::<Ix2>(case, field).unwrap()
}

fn close(case: &str, what: &str, ours: &ArrayD<f32>, want: &ArrayD<f32>) -> f32 {
    assert_close(&format!("{case}: {what}"), ours, want, TOL)
}

/// Runs SDPA with `mask` on a fixture case and compares out, dq, dk, dv.
fn sdpa_case(case: &str, mask: &Mask<'_>) {
    let f = fixture();
    let (q, k, v, g) = (
        t2(&f, case, "q"),
        t2(&f, case, "k"),
        t2(&f, case, "v"),
        t2(&f, case, "upstream"),
    );
    let a = sdpa(q.view(), k.view(), v.view(), mask);
    let (dq, dk, dv) = sdpa_backward(q.view(), k.view(), v.view(), a.p.view(), g.view());
    for (what, ours) in [("out", a.out), ("dq", dq), ("dk", dk), ("dv", dv)] {
        close(case, what, &ours.into_dyn(), &f.tensor(case, what).unwrap());
    }
}

#[test]
fn sdpa_plain_and_causal() {
    sdpa_case("sdpa_plain", &Mask::default());
    sdpa_case(
        "sdpa_causal",
        &Mask {
            causal: true,
            ..Mask::default()
        },
    );
}

#[test]
fn sdpa_boolean_mask_with_a_fully_masked_row() {
    let f = fixture();
    let allowed = t2(&f, "sdpa_bool_mask", "mask").mapv(|m| m != 0.0);
    assert!(
        allowed.row(2).iter().all(|&a| !a),
        "row 2 is fully masked in the fixture"
    );
    sdpa_case(
        "sdpa_bool_mask",
        &Mask {
            allowed: Some(allowed.view()),
            ..Mask::default()
        },
    );
}

#[test]
fn sdpa_additive_mask() {
    let bias = t2(&fixture(), "sdpa_additive_mask", "mask");
    sdpa_case(
        "sdpa_additive_mask",
        &Mask {
            bias: Some(bias.view()),
            ..Mask::default()
        },
    );
}

// ANCHOR: alignment_matches
/// PyTorch's `is_causal=True` aligns the mask top-left; ours aligns it bottom-right.
/// With Tq = 3, Tk = 5 our top-left mask reproduces PyTorch's is_causal, and our causal
/// flag reproduces PyTorch's `causal_lower_right`.
#[test]
fn causal_alignment_with_tq_ne_tk_matches_pytorch() {
    let top_left = causal_mask_top_left(3, 5);
    sdpa_case(
        "sdpa_causal_rect",
        &Mask {
            allowed: Some(top_left.view()),
            ..Mask::default()
        },
    );
    sdpa_case(
        "sdpa_causal_lower_right",
        &Mask {
            causal: true,
            ..Mask::default()
        },
    );
}
// ANCHOR_END: alignment_matches

// ANCHOR: alignment_differs
/// With Tq = 3, Tk = 5 the two alignments give different outputs; with Tq = Tk they
/// are the same mask.
#[test]
fn causal_alignments_differ_when_tq_ne_tk() {
    let f = fixture();
    let (q, k, v) = (
        t2(&f, "sdpa_causal_rect", "q"),
        t2(&f, "sdpa_causal_rect", "k"),
        t2(&f, "sdpa_causal_rect", "v"),
    );
    let ours = sdpa(
        q.view(),
        k.view(),
        v.view(),
        &Mask {
            causal: true,
            ..Mask::default()
        },
    );
    let torch = t2(&f, "sdpa_causal_rect", "out");
    // Query i sees Tk - Tq = 2 more keys under bottom-right alignment: every row differs.
    for i in 0..3 {
        let diff = (&ours.out.row(i) - &torch.row(i)).mapv(f32::abs).sum();
        assert!(
            diff > 1e-3,
            "row {i} should differ between alignments, diff {diff}"
        );
    }
    // The masks differ by exactly the Tk - Tq = 2 extra diagonals; equal when Tq = Tk.
    let extra = (&causal_mask(3, 5) ^ &causal_mask_top_left(3, 5))
        .mapv(u8::from)
        .sum();
    assert_eq!(extra, 2 * 3);
    assert_eq!(causal_mask(5, 5), causal_mask_top_left(5, 5));
}
// ANCHOR_END: alignment_differs

#[test]
fn sdpa_causal_square_agrees_with_both_alignments() {
    let top_left = causal_mask_top_left(5, 5);
    sdpa_case(
        "sdpa_causal",
        &Mask {
            allowed: Some(top_left.view()),
            ..Mask::default()
        },
    );
}

/// Loads PyTorch's nn.MultiheadAttention parameters into ours: PyTorch computes x Wᵀ
/// with in_proj_weight [3C, C], so w_qkv = in_proj_weightᵀ, and likewise for out_proj.
fn load_mha(f: &Fixture, case: &str) -> MultiHeadAttention {
    let heads = f.scalar(case, "heads").unwrap() as usize;
    let causal = f.scalar(case, "causal").unwrap() != 0.0;
    let w_in = t2(f, case, "in_proj_weight");
    let mut layer =
        MultiHeadAttention::new(w_in.ncols(), heads, causal, &mut seeded_rng(0));
    layer.w_qkv.value = w_in.t().to_owned();
    layer.b_qkv.value = f.array::<Ix1>(case, "in_proj_bias").unwrap();
    layer.w_o.value = t2(f, case, "out_proj_weight").t().to_owned();
    layer.b_o.value = f.array::<Ix1>(case, "out_proj_bias").unwrap();
    layer
}

fn padding(f: &Fixture, case: &str, b: usize, t: usize) -> Array2<bool> {
    let lens = f.indices(case, "pad_lens").unwrap();
    Array2::from_shape_fn((b, t), |(bi, j)| j >= lens[bi])
}

fn mha_case(case: &str) {
    let f = fixture();
    let mut layer = load_mha(&f, case);
    let x = f.array::<Ix3>(case, "x").unwrap();
    let g = f.array::<Ix3>(case, "upstream").unwrap();
    let (b, t, _) = x.dim();
    let pad = padding(&f, case, b, t);
    let y = layer.forward(&x, Some(&pad));
    close(case, "out", &y.into_dyn(), &f.tensor(case, "out").unwrap());
    let w = layer.weights().unwrap().clone().into_dyn();
    close(
        case,
        "per-head weights",
        &w,
        &f.tensor(case, "weights").unwrap(),
    );
    let dx = layer.backward(&g);
    close(case, "dx", &dx.into_dyn(), &f.tensor(case, "dx").unwrap());
    let pairs = [
        (
            "w_qkv",
            layer.w_qkv.grad.t().to_owned().into_dyn(),
            "d_in_proj_weight",
        ),
        (
            "b_qkv",
            layer.b_qkv.grad.clone().into_dyn(),
            "d_in_proj_bias",
        ),
        (
            "w_o",
            layer.w_o.grad.t().to_owned().into_dyn(),
            "d_out_proj_weight",
        ),
        ("b_o", layer.b_o.grad.clone().into_dyn(), "d_out_proj_bias"),
    ];
    for (ours, grad, theirs) in pairs {
        close(case, ours, &grad, &f.tensor(case, theirs).unwrap());
    }
}

#[test]
fn mha_causal_with_key_padding() {
    mha_case("mha_causal_padding");
}

#[test]
fn mha_key_padding_three_heads() {
    mha_case("mha_padding");
}

#[test]
fn cross_attention_matches_pytorch_with_separate_memory() {
    let (f, case) = (fixture(), "cross");
    let w_in = t2(&f, case, "in_proj_weight");
    let b_in = f.array::<Ix1>(case, "in_proj_bias").unwrap();
    let c = w_in.ncols();
    let mut layer = CrossAttention::new(
        c,
        f.scalar(case, "heads").unwrap() as usize,
        &mut seeded_rng(0),
    );
    // PyTorch's packed rows [0, C) project the query, [C, 3C) the key and the value.
    layer.w_q.value = w_in.slice(ndarray::s![..c, ..]).t().to_owned();
    layer.w_kv.value = w_in.slice(ndarray::s![c.., ..]).t().to_owned();
    layer.b_q.value = b_in.slice(ndarray::s![..c]).to_owned();
    layer.b_kv.value = b_in.slice(ndarray::s![c..]).to_owned();
    layer.w_o.value = t2(&f, case, "out_proj_weight").t().to_owned();
    layer.b_o.value = f.array::<Ix1>(case, "out_proj_bias").unwrap();
    let x = f.array::<Ix3>(case, "x").unwrap();
    let m = f.array::<Ix3>(case, "memory").unwrap();
    let g = f.array::<Ix3>(case, "upstream").unwrap();
    let pad = padding(&f, case, m.dim().0, m.dim().1);
    let y = layer.forward(&x, &m, Some(&pad));
    close(case, "out", &y.into_dyn(), &f.tensor(case, "out").unwrap());
    close(
        case,
        "weights",
        &layer.weights().unwrap().clone().into_dyn(),
        &f.tensor(case, "weights").unwrap(),
    );
    let (dx, dm) = layer.backward(&g);
    close(case, "dx", &dx.into_dyn(), &f.tensor(case, "dx").unwrap());
    close(
        case,
        "dmemory",
        &dm.into_dyn(),
        &f.tensor(case, "dmemory").unwrap(),
    );
    let dw_in = f.array::<Ix2>(case, "d_in_proj_weight").unwrap();
    let db_in = f.tensor(case, "d_in_proj_bias").unwrap();
    let want_w = ndarray::concatenate![ndarray::Axis(1), layer.w_q.grad, layer.w_kv.grad];
    close(
        case,
        "w_q | w_kv grads",
        &want_w.t().to_owned().into_dyn(),
        &dw_in.into_dyn(),
    );
    let want_b = ndarray::concatenate![ndarray::Axis(0), layer.b_q.grad, layer.b_kv.grad];
    close(case, "b_q | b_kv grads", &want_b.into_dyn(), &db_in);
    close(
        case,
        "w_o grad",
        &layer.w_o.grad.t().to_owned().into_dyn(),
        &f.tensor(case, "d_out_proj_weight").unwrap(),
    );
    close(
        case,
        "b_o grad",
        &layer.b_o.grad.clone().into_dyn(),
        &f.tensor(case, "d_out_proj_bias").unwrap(),
    );
}
