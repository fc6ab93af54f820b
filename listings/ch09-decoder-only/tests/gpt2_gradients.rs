//! Tier 1 for GPT-2: every parameter of a tiny model against central finite
//! differences, under a random upstream weighting of the logits, with dropout off and
//! with dropout on everywhere (embeddings, attention weights, residual branches: the
//! masks held fixed by re-seeding the training generator before every probe), and
//! through the next-token loss. GELU (tanh) is checked on its own in Chapter 4; the
//! block, LayerNorm and embeddings in Chapters 2–6; what is new here is their wiring:
//! two tables summed, ln_f, and one table used twice.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::{Mode, Module};
use ch06_decoder::lm_loss;
use ch09_decoder_only::gpt2::{Gpt2, Gpt2Config};
use ndarray::{Array2, Array3, Ix3};

const TOL: f32 = 1e-2;

fn tiny() -> Gpt2Config {
    Gpt2Config {
        vocab_size: 11,
        n_positions: 8,
        n_embd: 8,
        n_layer: 2,
        n_head: 2,
        layer_norm_epsilon: 1e-5,
        embd_pdrop: 0.0,
        attn_pdrop: 0.0,
        resid_pdrop: 0.0,
    }
}

/// GPT-2's 0.02 makes every layer nearly linear and every gradient tiny; finite
/// differences see more of each nonlinearity with O(1) signals: tables from N(0, 1)
/// (as Chapter 8's checks do: a step of 1e-2 in a 0.02-scale row would move the first
/// LayerNorm's σ itself), weights from N(0, 0.3²), biases and β from N(0, 0.1²), γ
/// near 1.
fn model(cfg: Gpt2Config, seed: u64) -> Gpt2 {
    let mut m = Gpt2::new(cfg, &mut seeded_rng(seed)).unwrap();
    let mut rng = seeded_rng(seed + 100);
    m.visit_params_mut(&mut |name, mut p| {
        let noise = normal(p.value.raw_dim(), 1.0, &mut rng);
        if name.ends_with("table") {
            p.value.assign(&noise);
        } else if name.ends_with("gamma") {
            p.value.assign(&(noise * 0.2 + 1.0));
        } else if name.ends_with('b')
            || name.ends_with("b_qkv")
            || name.ends_with("b_o")
            || name.ends_with("beta")
        {
            p.value.assign(&(noise * 0.1));
        } else {
            p.value.assign(&(noise * 0.3));
        }
    });
    m
}

fn batch() -> Array2<usize> {
    Array2::from_shape_vec((2, 6), vec![1, 4, 9, 2, 10, 0, 7, 7, 3, 5, 8, 6]).unwrap()
}

/// Σ logits ⊙ r in f64: the base value is subtracted before rounding to f32.
fn loss(y: &Array3<f32>, r: &Array3<f32>) -> f64 {
    y.iter()
        .zip(r)
        .map(|(&y, &r)| f64::from(y) * f64::from(r))
        .sum()
}

fn train(m: &mut Gpt2, seed: u64) {
    m.set_mode(&mut Mode::Train(&mut seeded_rng(seed)));
}

/// The key bias's true gradient is 0 (softmax ignores a constant added to every
/// score of a row), its numeric one rounding noise. And every numeric gradient carries
/// f32 noise: probing one entry of `blocks.0.attn.w_o` with steps from 1e-3 to 2e-2
/// gave -0.01435, -0.01426, -0.01399, -0.01402 around an analytic -0.01454, a scatter
/// of ≈ 3e-4 (the whole-model PyTorch check, tests/gpt2_golden.rs, holds the analytic
/// gradients to 1e-5). So gradients below 0.1 are compared absolutely, within
/// 1e-2 × 0.1 = 1e-3; larger ones relatively, within 1 %.
fn checker() -> GradCheck {
    GradCheck {
        eps: 1e-2,
        floor: 0.1,
        ..GradCheck::default()
    }
}

#[test]
fn whole_gpt2_every_parameter() {
    let mut m = model(tiny(), 1);
    let ids = batch();
    let r = random_upstream(&[2, 6, 11], 2)
        .into_dimensionality::<Ix3>()
        .unwrap();
    m.zero_grad();
    let y = m.forward(&ids).unwrap();
    m.backward(&r);
    let base = loss(&y, &r);
    let reports = checker().check_module(&mut m, |m| {
        (loss(&m.forward(&ids).unwrap(), &r) - base) as f32
    });
    assert_eq!(reports.len(), 2 + 12 * 2 + 2, "wte, wpe, 12 a block, ln_f");
    for (name, report) in reports {
        report.assert_within(TOL, &format!("GPT-2: dL/d{name}"));
    }
}

#[test]
fn whole_gpt2_with_every_dropout_held_fixed() {
    let cfg = Gpt2Config {
        embd_pdrop: 0.3,
        attn_pdrop: 0.2,
        resid_pdrop: 0.3,
        ..tiny()
    };
    let mut m = model(cfg, 3);
    let ids = batch();
    let r = random_upstream(&[2, 6, 11], 4)
        .into_dimensionality::<Ix3>()
        .unwrap();
    // The masks do something: training and evaluation outputs differ.
    m.set_mode(&mut Mode::Eval);
    let eval = m.forward(&ids).unwrap();
    m.zero_grad();
    train(&mut m, 9);
    let y = m.forward(&ids).unwrap();
    assert!(y != eval, "dropout changed nothing in training mode");
    m.backward(&r);
    let base = loss(&y, &r);
    let reports = checker().check_module(&mut m, |m| {
        train(m, 9);
        (loss(&m.forward(&ids).unwrap(), &r) - base) as f32
    });
    assert_eq!(reports.len(), 28);
    for (name, report) in reports {
        report.assert_within(TOL, &format!("GPT-2 with dropout: dL/d{name}"));
    }
}

#[test]
fn next_token_loss_every_parameter() {
    let mut m = model(tiny(), 5);
    let ids = batch();
    m.zero_grad();
    let base = m.lm_step(&ids).unwrap();
    assert!(base.is_finite() && base > 0.0, "loss {base}");
    // The probes recompute the same loss without a backward pass.
    let targets = Array2::from_shape_fn((2, 6), |(b, t)| ids.get((b, t + 1)).copied());
    let reports = checker().check_module(&mut m, |m| {
        lm_loss(&m.forward(&ids).unwrap(), &targets).0 - base
    });
    assert_eq!(reports.len(), 28);
    for (name, report) in reports {
        report.assert_within(TOL, &format!("GPT-2 next-token loss: dL/d{name}"));
    }
}
