//! Tier 5: the chapter's exercise solutions (src/exercises.rs) do what the exercises ask.

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::softmax::log_softmax;
use ch05_encoder::block::Wiring;
use ch07_transformer::decode::greedy;
use ch07_transformer::demo::{demo_batch, demo_config};
use ch07_transformer::exercises::{
    cross_attention_map, sample, sequence_log_prob, smoothed_loss_floor,
};
use ch07_transformer::loss::label_smoothed_cross_entropy;
use ch07_transformer::{Transformer, shift_right};
use ndarray::{Array2, Axis, s};

const BOS: usize = 1;
const EOS: usize = 2;

fn model(seed: u64) -> Transformer {
    Transformer::new(demo_config(Wiring::PostLn, true), &mut seeded_rng(seed))
}

/// One teacher-forced pass gives the same log-probability as scoring the output one
/// growing prefix at a time, the way decoding produces it: the causal mask makes
/// position t's distribution independent of everything after t.
#[test]
fn one_pass_scores_like_step_by_step_decoding() {
    let mut m = model(1);
    let src = [5, 9, 13, 22, EOS];
    let y = [7, 3, 12, 9];
    let one_pass = sequence_log_prob(&mut m, &src, &y, BOS, EOS);
    let src_ids = Array2::from_shape_vec((1, src.len()), src.to_vec()).unwrap();
    let memory = m.encode(&src_ids);
    let mut prefix = vec![BOS];
    let mut step_by_step = 0.0;
    for &next in y.iter().chain([EOS].iter()) {
        let ids = Array2::from_shape_vec((1, prefix.len()), prefix.clone()).unwrap();
        let logits = m.decode(&memory, &ids);
        let log_p = log_softmax(&logits.slice(s![0, -1, ..]), Axis(0));
        step_by_step += log_p[next];
        prefix.push(next);
    }
    let err = (one_pass - step_by_step).abs();
    eprintln!("one pass {one_pass:.5}, step by step {step_by_step:.5}, diff {err:.2e}");
    assert!(err <= 1e-4, "teacher-forced scoring differs by {err:.2e}");
    assert!(one_pass < 0.0);
}

#[test]
fn cross_attention_map_ignores_source_padding() {
    let mut m = model(2);
    let (src, tgt) = demo_batch();
    let tgt_in = shift_right(&tgt, BOS);
    let cfg = m.cfg;
    for layer in 0..cfg.n_dec {
        let w = cross_attention_map(&mut m, &src, &tgt_in, layer);
        assert_eq!(w.shape(), &[2, cfg.n_heads, tgt.ncols(), src.ncols()]);
        for ((b, _, _, j), &p) in w.indexed_iter() {
            if src[[b, j]] == cfg.pad {
                assert_eq!(
                    p, 0.0,
                    "layer {layer}: padded source column {j} has weight {p}"
                );
            }
        }
        for row in w.lanes(Axis(3)) {
            assert!(
                (row.sum() - 1.0).abs() < 1e-5,
                "a row sums to {}",
                row.sum()
            );
        }
    }
}

#[test]
fn sampling_at_low_temperature_is_greedy_and_seeded() {
    let mut m = model(3);
    let src = [17, 4, 25, 30, EOS];
    let src_ids = Array2::from_shape_vec((1, src.len()), src.to_vec()).unwrap();
    let g = greedy(&mut m, &src_ids, BOS, EOS, 12).remove(0);
    for seed in 0..5 {
        let cold = sample(&mut m, &src, (BOS, EOS), 12, 1e-4, &mut seeded_rng(seed));
        assert_eq!(cold, g, "seed {seed}: τ = 1e-4 should be greedy");
    }
    let warm = |seed| sample(&mut m, &src, (BOS, EOS), 12, 1.0, &mut seeded_rng(seed));
    let runs: Vec<Vec<usize>> = (0..8).map(warm).collect();
    assert_eq!(
        runs[0],
        sample(&mut m, &src, (BOS, EOS), 12, 1.0, &mut seeded_rng(0))
    );
    assert!(
        runs.iter().any(|r| r != &runs[0]),
        "τ = 1 never varied in 8 seeds"
    );
}

#[test]
fn smoothed_loss_floor_is_reached_at_the_smoothed_target() {
    let (v, eps) = (16, 0.1);
    let floor = smoothed_loss_floor(v, eps);
    // Logits = ln q for targets 3 and 7: softmax gives q back.
    let targets = [3usize, 7];
    let q = |y: usize, j: usize| eps / v as f32 + if j == y { 1.0 - eps } else { 0.0 };
    let logits = Array2::from_shape_fn((2, v), |(i, j)| q(targets[i], j).ln());
    let (loss, grad) = label_smoothed_cross_entropy(&logits, &targets, 0, eps);
    eprintln!("floor {floor:.6}, loss at q {loss:.6}");
    assert!((loss - floor).abs() < 1e-5, "loss {loss} vs floor {floor}");
    assert!(
        grad.iter().all(|g| g.abs() < 1e-6),
        "the gradient vanishes at q"
    );
    // Anything else is worse, including the confident one-hot prediction.
    let noise: Array2<f32> = normal((2, v), 0.5, &mut seeded_rng(4));
    let (worse, _) = label_smoothed_cross_entropy(&(&logits + &noise), &targets, 0, eps);
    assert!(worse > floor);
    let confident =
        Array2::from_shape_fn((2, v), |(i, j)| if j == targets[i] { 20.0 } else { 0.0 });
    let (overconfident, _) = label_smoothed_cross_entropy(&confident, &targets, 0, eps);
    assert!(overconfident > floor + 0.5, "one-hot predictions pay for ε");
}
