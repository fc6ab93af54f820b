//! Tier 1: every new part of T5 against central finite differences: the position bias
//! table, attention without the scale (self-attention with the bias and the causal
//! mask; cross-attention), both FFNs, an encoder and a decoder block, a stack (whose
//! bias table every layer shares), and the whole model, tied and untied. RMSNorm is
//! Chapter 4's, checked there.

use ch01_foundations::gradcheck::{GradCheck, GradCheckReport, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch10_encoder_decoder::t5::attention::T5Attention;
use ch10_encoder_decoder::t5::ffn::{FeedForward, T5Ffn};
use ch10_encoder_decoder::t5::model::{T5, T5Block, T5Config, T5Stack};
use ch10_encoder_decoder::t5::position_bias::RelativePositionBias;
use ndarray::{Array, Array2, Array3, Dimension, Ix2, Ix3};

/// The step and floor: in f32, T5's unscaled scores make the softmax's curvature
/// (truncation error ∝ eps²) and rounding (∝ 1/eps) meet near eps = 5e-3; gradients
/// under 0.05 are compared absolutely, since their relative error is rounding noise.
const TOL: f32 = 1e-2;
const EPS: f32 = 5e-3;
const FLOOR: f32 = 5e-2;

fn checker() -> GradCheck {
    GradCheck {
        eps: EPS,
        floor: FLOOR,
        ..GradCheck::default()
    }
}

/// Σ y ⊙ r in f64.
fn dot<D: Dimension>(y: &Array<f32, D>, r: &Array<f32, D>) -> f64 {
    y.iter()
        .zip(r)
        .map(|(&y, &r)| f64::from(y) * f64::from(r))
        .sum()
}

fn upstream<D: Dimension>(shape: &[usize], seed: u64) -> Array<f32, D> {
    random_upstream(shape, seed)
        .into_dimensionality::<D>()
        .unwrap()
}

fn assert_all(what: &str, reports: Vec<(String, GradCheckReport)>, tol: f32) {
    for (name, report) in reports {
        eprintln!("{what} d{name}: {report}");
        report.assert_within(tol, &format!("{what}: dL/d{name}"));
    }
}

fn cfg(feed_forward: FeedForward) -> T5Config {
    T5Config {
        vocab_size: 11,
        d_model: 8,
        d_kv: 3, // H·d_kv = 12 ≠ d_model
        n_heads: 4,
        d_ff: 12,
        n_layers: 2,
        n_decoder_layers: 2,
        num_buckets: 6,
        max_distance: 5,
        ..T5Config::tiny(feed_forward)
    }
}

#[test]
fn position_bias_table() {
    for bidirectional in [true, false] {
        let mut bias =
            RelativePositionBias::new((6, 3), bidirectional, 5, 8, &mut seeded_rng(1));
        let r: Array3<f32> = upstream(&[3, 9, 9], 2);
        bias.zero_grad();
        let base = dot(&bias.forward(9, 9), &r);
        bias.backward(&r);
        let reports = checker()
            .check_module(&mut bias, |b| (dot(&b.forward(9, 9), &r) - base) as f32);
        assert_eq!(reports[0].1.checked, 18, "every entry of the [6, 3] table");
        assert_all(
            &format!("bias (bidirectional {bidirectional})"),
            reports,
            TOL,
        );
    }
}

#[test]
fn self_attention_with_bias_and_causal_mask() {
    for causal in [false, true] {
        let mut attn = T5Attention::new(8, (4, 3), causal, &mut seeded_rng(3));
        let x: Array2<f32> = normal((6, 8), 1.0, &mut seeded_rng(4));
        let bias: Array3<f32> = normal((4, 6, 6), 1.0, &mut seeded_rng(5));
        let reports = checker().check_layer(
            &mut attn,
            &x,
            6,
            |m, x| m.forward(x, x, Some(&bias)),
            |m, dy| {
                let (dq, dkv, _) = m.backward(dy);
                dq + dkv
            },
        );
        assert_eq!(reports.len(), 5, "x, wq, wk, wv, wo");
        assert_all(&format!("self-attention (causal {causal})"), reports, TOL);
        // The bias: dS, which is zero where the mask hides a key.
        let r: Array2<f32> = upstream(&[6, 8], 6);
        attn.forward(&x, &x, Some(&bias));
        let (_, _, d_bias) = attn.backward(&r);
        let report = checker().check(&bias, &d_bias, |b| {
            dot(&attn.forward(&x, &x, Some(b)), &r) as f32
        });
        eprintln!("self-attention (causal {causal}) d_bias: {report}");
        report.assert_within(TOL, "dL/d_bias");
        if causal {
            assert_eq!(d_bias[[0, 1, 4]], 0.0, "a hidden key gets no bias gradient");
        }
    }
}

#[test]
fn cross_attention_both_inputs() {
    let mut attn = T5Attention::new(8, (4, 3), false, &mut seeded_rng(7));
    let x: Array2<f32> = normal((5, 8), 1.0, &mut seeded_rng(8));
    let enc: Array2<f32> = normal((7, 8), 1.0, &mut seeded_rng(9));
    let reports = checker().check_layer(
        &mut attn,
        &x,
        10,
        |m, x| m.forward(x, &enc, None),
        |m, dy| m.backward(dy).0,
    );
    assert_all("cross-attention", reports, TOL);
    let r: Array2<f32> = upstream(&[5, 8], 11);
    attn.forward(&x, &enc, None);
    let (_, d_enc, _) = attn.backward(&r);
    let report =
        checker().check(&enc, &d_enc, |e| dot(&attn.forward(&x, e, None), &r) as f32);
    eprintln!("cross-attention d_enc: {report}");
    report.assert_within(TOL, "cross-attention: dL/d_enc");
}

#[test]
fn relu_and_gated_gelu_ffn() {
    for kind in [FeedForward::Relu, FeedForward::GatedGelu] {
        let mut ffn = T5Ffn::new(kind, 8, 12, &mut seeded_rng(12));
        let x: Array2<f32> = normal((5, 8), 1.0, &mut seeded_rng(13));
        let reports = checker().check_layer(
            &mut ffn,
            &x,
            14,
            |m, x| m.forward(x),
            |m, dy| m.backward(dy),
        );
        let n = if kind == FeedForward::Relu { 3 } else { 4 };
        assert_eq!(reports.len(), n, "x and the weights");
        assert_all(&format!("{kind:?} FFN"), reports, TOL);
    }
}

#[test]
fn encoder_and_decoder_blocks() {
    for decoder in [false, true] {
        let c = cfg(FeedForward::GatedGelu);
        let mut block = T5Block::new(&c, decoder, &mut seeded_rng(15));
        // Norm weights away from 1, so a wrong use of them shows.
        block.attn_norm.weight.value = normal(8, 0.3, &mut seeded_rng(16)) + 1.0;
        block.ffn_norm.weight.value = normal(8, 0.3, &mut seeded_rng(17)) + 1.0;
        let x: Array2<f32> = normal((5, 8), 1.0, &mut seeded_rng(18));
        let enc: Array2<f32> = normal((7, 8), 1.0, &mut seeded_rng(19));
        let bias: Array3<f32> = normal((4, 5, 5), 1.0, &mut seeded_rng(20));
        let enc_in = decoder.then_some(&enc);
        let reports = checker().check_layer(
            &mut block,
            &x,
            21,
            |m, x| m.forward(x, enc_in, &bias),
            |m, dy| m.backward(dy).0,
        );
        assert_eq!(
            reports.len(),
            if decoder { 15 } else { 10 },
            "x and the parameters"
        );
        assert_all(&format!("block (decoder {decoder})"), reports, TOL);
        let r: Array2<f32> = upstream(&[5, 8], 22);
        block.forward(&x, enc_in, &bias);
        let (_, d_enc, d_bias) = block.backward(&r);
        let report = checker().check(&bias, &d_bias, |b| {
            dot(&block.forward(&x, enc_in, b), &r) as f32
        });
        report.assert_within(TOL, "block: dL/d_bias");
        if decoder {
            let d_enc = d_enc.expect("a decoder block returns d_enc");
            let report = checker().check(&enc, &d_enc, |e| {
                dot(&block.forward(&x, Some(e), &bias), &r) as f32
            });
            eprintln!("decoder block d_enc: {report}");
            report.assert_within(TOL, "decoder block: dL/d_enc");
        }
    }
}

#[test]
fn decoder_stack_shares_one_bias_table() {
    let c = cfg(FeedForward::GatedGelu); // smooth: see the whole model's test
    let mut stack = T5Stack::new(&c, true, &mut seeded_rng(23));
    let x: Array2<f32> = normal((6, 8), 1.0, &mut seeded_rng(24));
    let enc: Array2<f32> = normal((4, 8), 1.0, &mut seeded_rng(25));
    let reports = checker().check_layer(
        &mut stack,
        &x,
        26,
        |m, x| m.forward(x, Some(&enc)),
        |m, dy| m.backward(dy).0,
    );
    assert_eq!(
        reports[1].0, "position_bias.table",
        "one table, the stack's"
    );
    assert_all("decoder stack", reports, TOL);
    let r: Array2<f32> = upstream(&[6, 8], 27);
    stack.forward(&x, Some(&enc));
    let d_enc = stack.backward(&r).1.expect("a decoder stack returns d_enc");
    let report = checker().check(&enc, &d_enc, |e| {
        dot(&stack.forward(&x, Some(e)), &r) as f32
    });
    eprintln!("decoder stack d_enc (summed over its layers): {report}");
    report.assert_within(TOL, "decoder stack: dL/d_enc");
}

#[test]
fn whole_t5_tied_and_untied() {
    // The smooth FFN: a probe of ±eps that crosses one of ReLU's kinks measures a
    // slope that is neither side's (one did here, 8 % off). The ReLU FFN is checked
    // alone above, and the whole ReLU model against Hugging Face in t5_golden.rs.
    let kind = FeedForward::GatedGelu;
    for tied in [true, false] {
        let c = T5Config {
            tie_word_embeddings: tied,
            ..cfg(kind)
        };
        let mut model = T5::new(c, &mut seeded_rng(28)).unwrap();
        let (src, tgt) = ([3, 7, 1, 10, 7, 0, 9], [0, 4, 4, 8, 2]);
        let r: Array2<f32> = upstream(&[5, 11], 29);
        model.zero_grad();
        let base = dot(&model.forward(&src, &tgt).unwrap(), &r);
        model.backward(&r);
        // The untied head's N(0, 1) weights make larger logits, so a probe's rounding
        // is ≈ 5e-4 absolute: gradients under 0.1 are compared against that floor.
        let whole = GradCheck {
            floor: 1e-1,
            ..checker()
        };
        let reports = whole.check_module(&mut model, |m| {
            (dot(&m.forward(&src, &tgt).unwrap(), &r) - base) as f32
        });
        // shared, then per stack its bias table, final norm and blocks (an encoder
        // block holds 2 norms + 4 attention + 3 gated-FFN weights; a decoder block 5
        // more for cross-attention), then an untied head: 51 and 52 tensors, as
        // Hugging Face's named_parameters count them.
        let n = 1 + (2 + 2 * (6 + 3)) + (2 + 2 * (11 + 3)) + usize::from(!tied);
        assert_eq!(reports.len(), n, "every parameter (tied {tied})");
        assert_all(&format!("t5 ({kind:?}, tied {tied})"), reports, TOL);
    }
}

#[test]
fn shapes_of_the_whole_model() {
    let mut model = T5::new(cfg(FeedForward::Relu), &mut seeded_rng(30)).unwrap();
    let logits = model.forward(&[1, 2, 3], &[0, 5, 6, 7]).unwrap();
    assert_eq!(logits.dim(), (4, 11));
    let _: Array2<f32> = logits.into_dimensionality::<Ix2>().unwrap();
    let bias = model.encoder.position_bias.forward(3, 3);
    let _: Array3<f32> = bias.into_dimensionality::<Ix3>().unwrap();
}
