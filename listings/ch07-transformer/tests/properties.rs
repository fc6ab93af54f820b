//! Properties of the full model: padding never changes a real output, teacher forcing's
//! shift, thread-count determinism, and the parameter-count arithmetic of the text.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::linalg::in_pool;
use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::Module;
use ch05_encoder::block::Wiring;
use ch07_transformer::count::param_count;
use ch07_transformer::decode::greedy;
use ch07_transformer::demo::{demo_batch, demo_config, visit_count};
use ch07_transformer::loss::label_smoothed_cross_entropy;
use ch07_transformer::{Config, Transformer, shift_right};
use ndarray::{Array2, Array3, Axis, concatenate, s};

const PAD: usize = 0;
const BOS: usize = 1;
const EOS: usize = 2;

/// Padding changes which numbers are summed (more zeros in softmax rows, other matrix
/// shapes), not what they are: real outputs agree to float32 rounding.
const TOL: f32 = 1e-5;

fn model(wiring: Wiring, tie: bool) -> Transformer {
    Transformer::new(demo_config(wiring, tie), &mut seeded_rng(3))
}

fn max_diff(a: &Array3<f32>, b: &Array3<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn pad_cols(ids: &Array2<usize>, extra: usize) -> Array2<usize> {
    concatenate![
        Axis(1),
        ids.clone(),
        Array2::from_elem((ids.nrows(), extra), PAD)
    ]
}

#[test]
fn appending_source_padding_changes_no_logit() {
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut m = model(wiring, true);
        let (src, tgt) = demo_batch();
        let tgt_in = shift_right(&tgt, BOS);
        let base = m.forward(&src, &tgt_in);
        let padded = m.forward(&pad_cols(&src, 4), &tgt_in);
        let err = max_diff(&base, &padded);
        eprintln!("{wiring:?}: source padding max diff {err:.2e}");
        assert!(
            err <= TOL,
            "{wiring:?}: source padding changed a logit by {err:.2e}"
        );
    }
}

#[test]
fn appending_target_padding_changes_no_real_logit() {
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut m = model(wiring, false);
        let (src, tgt) = demo_batch();
        let tgt_in = shift_right(&tgt, BOS);
        let t = tgt_in.ncols();
        let base = m.forward(&src, &tgt_in);
        let padded = m.forward(&src, &pad_cols(&tgt_in, 3));
        let err = max_diff(&base, &padded.slice(s![.., ..t, ..]).to_owned());
        assert!(
            err <= TOL,
            "{wiring:?}: target padding changed a logit by {err:.2e}"
        );
    }
}

/// A pair alone and the same pair in a batch beside a longer one (so padded on both
/// sides) give the same logits at its real positions.
#[test]
fn batching_changes_no_real_logit() {
    let mut m = model(Wiring::PostLn, true);
    let (src, tgt) = demo_batch();
    let tgt_in = shift_right(&tgt, BOS);
    let batch = m.forward(&src, &tgt_in);
    // Row 1 has 4 real source tokens and 3 real target tokens.
    let src1 = src.slice(s![1..2, ..4]).to_owned();
    let tgt1 = tgt_in.slice(s![1..2, ..3]).to_owned();
    let alone = m.forward(&src1, &tgt1);
    let err = max_diff(&alone, &batch.slice(s![1..2, ..3, ..]).to_owned());
    eprintln!("batched vs alone max diff {err:.2e}");
    assert!(err <= TOL, "batching changed a logit by {err:.2e}");
}

/// Loss and every gradient are unchanged by extra target padding: padding rows carry no
/// loss and no gradient.
#[test]
fn target_padding_changes_neither_loss_nor_gradients() {
    let run = |extra: usize| {
        let mut m = model(Wiring::PreLn, true);
        let (src, tgt) = demo_batch();
        let tgt = pad_cols(&tgt, extra);
        let tgt_in = shift_right(&tgt, BOS);
        let logits = m.forward(&src, &tgt_in);
        let (b, t, v) = logits.dim();
        let targets: Vec<usize> = tgt.iter().copied().collect();
        let (loss, dlogits) =
            label_smoothed_cross_entropy(&rows(&logits), &targets, PAD, 0.1);
        m.backward(&unrows(dlogits, b, t, v));
        let mut grads = Vec::new();
        m.visit_params(&mut |_, p| grads.extend(p.grad.iter().copied()));
        (loss, grads)
    };
    let (loss0, g0) = run(0);
    let (loss3, g3) = run(3);
    assert!((loss0 - loss3).abs() <= TOL, "loss {loss0} vs {loss3}");
    let err = g0
        .iter()
        .zip(&g3)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    eprintln!("gradients with and without target padding: max diff {err:.2e}");
    assert!(err <= TOL, "target padding changed a gradient by {err:.2e}");
}

#[test]
fn shift_right_feeds_the_previous_target() {
    let (_, tgt) = demo_batch();
    let tgt_in = shift_right(&tgt, BOS);
    assert_eq!(tgt_in.column(0).to_vec(), vec![BOS, BOS]);
    assert_eq!(
        tgt_in.slice(s![.., 1..]),
        tgt.slice(s![.., ..tgt.ncols() - 1])
    );
    // Where the target is real, the input is real too: bos or a real token.
    for ((i, j), &y) in tgt.indexed_iter() {
        if y != PAD {
            assert_ne!(
                tgt_in[[i, j]],
                PAD,
                "real target at ({i}, {j}) reads padding"
            );
        }
    }
}

/// Logits, every gradient and a greedy decode, as raw bits.
fn run(threads: usize) -> (Vec<u32>, Vec<u32>, Vec<Vec<usize>>) {
    in_pool(threads, || {
        // Wider than the demo so that matmuls split across threads.
        let cfg = Config {
            d_model: 64,
            d_ff: 256,
            ..demo_config(Wiring::PostLn, true)
        };
        let mut m = Transformer::new(cfg, &mut seeded_rng(5));
        let (src, tgt) = demo_batch();
        let src = concatenate![Axis(0), src, src, src];
        let tgt = concatenate![Axis(0), tgt, tgt, tgt];
        let logits = m.forward(&src, &shift_right(&tgt, BOS));
        let (b, t, v) = logits.dim();
        let targets: Vec<usize> = tgt.iter().copied().collect();
        let (_, d) = label_smoothed_cross_entropy(&rows(&logits), &targets, PAD, 0.1);
        m.backward(&unrows(d, b, t, v));
        let mut grads = Vec::new();
        m.visit_params(&mut |_, p| grads.extend(p.grad.iter().map(|g| g.to_bits())));
        let decoded = greedy(&mut m, &src, BOS, EOS, 10);
        (logits.iter().map(|x| x.to_bits()).collect(), grads, decoded)
    })
}

#[test]
fn bit_identical_on_1_and_2_threads() {
    let one = run(1);
    let two = run(2);
    assert!(one.0 == two.0, "logits differ between 1 and 2 threads");
    assert!(one.1 == two.1, "gradients differ between 1 and 2 threads");
    assert_eq!(one.2, two.2, "greedy decodes differ");
}

#[test]
fn param_count_formula_matches_the_model() {
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        for tie in [true, false] {
            for (n_enc, n_dec) in [(1, 1), (2, 3)] {
                let cfg = Config {
                    n_enc,
                    n_dec,
                    ..demo_config(wiring, tie)
                };
                let m = Transformer::new(cfg, &mut seeded_rng(0));
                assert_eq!(visit_count(&m), param_count(&cfg), "{cfg:?}");
                assert_eq!(m.num_params(), param_count(&cfg).total());
            }
        }
    }
}

#[test]
fn tying_saves_exactly_the_projection() {
    let (tied, untied) = (model(Wiring::PostLn, true), model(Wiring::PostLn, false));
    let cfg = tied.cfg;
    assert_eq!(
        untied.num_params() - tied.num_params(),
        cfg.d_model * cfg.tgt_vocab + cfg.tgt_vocab,
        "an untied model adds W [C, V] and b [V]"
    );
    assert!(tied.param_names().iter().all(|n| !n.starts_with("out.")));
    assert!(untied.param_names().contains(&"out.w".to_string()));
}
