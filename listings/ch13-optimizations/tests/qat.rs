//! The fake quantizer, the straight-through estimator, PTQ and a QAT run: codes in
//! range, error within half a step inside the clip range, idempotence; the STE gradient
//! equal to the f32 gradient at the quantized weights; a gradient check of what is
//! differentiable; and a short QAT run that gives the same bits twice and at any
//! thread count.

use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::{Module, Param};
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch09_decoder_only::training::{LanguageModel, token_losses};
use ch11_training::optim::{AdamW, NamedParams, WeightDecay};
use ch11_training::schedule::Schedule;
use ch11_training::trainer::{Batches, Trainer};
use ch13_optimizations::qat::{
    Qat, QatError, QuantSpec, absmax_fake_quantize, is_quantized, ptq, restore,
};
use ndarray::{Array2, ArrayD, IxDyn};
use rand::RngExt;

/// Weights with a spread of magnitudes per column, a few large ones among them.
fn weights(d_in: usize, d_out: usize, seed: u64) -> Array2<f32> {
    let mut w: Array2<f32> = normal((d_in, d_out), 0.05, &mut seeded_rng(seed));
    w[[3, 0]] = 0.4;
    w[[d_in - 1, d_out - 1]] = -0.3;
    w
}

fn specs() -> Vec<QuantSpec> {
    let mut out = Vec::new();
    for bits in 2..=8 {
        for group in [None, Some(8), Some(5)] {
            for clip in [1.0, 0.6] {
                out.push(QuantSpec::new(bits, group, clip).unwrap());
            }
        }
    }
    out
}

#[test]
fn codes_in_range_and_error_within_half_a_step_inside_the_clip_range() {
    let w = weights(37, 6, 1); // 37 rows: the last group of 8 (or 5) is shorter
    for spec in specs() {
        let fq = absmax_fake_quantize(w.view(), &spec);
        let q_max = spec.q_max();
        let g = |i: usize| i / spec.group().unwrap_or(37);
        for ((i, j), &x) in w.indexed_iter() {
            let (code, s) = (fq.codes[[i, j]], fq.scales[[g(i), j]]);
            assert!(
                (-q_max..=q_max).contains(&i32::from(code)),
                "{spec:?}: code {code}"
            );
            assert_eq!(
                fq.w_q[[i, j]],
                s * f32::from(code),
                "w_q = s · code exactly"
            );
            if fq.inside[[i, j]] {
                let err = (x - fq.w_q[[i, j]]).abs();
                assert!(
                    err <= 0.5 * s * (1.0 + 1e-6),
                    "{spec:?} [{i},{j}]: {err} > s/2 = {}",
                    s / 2.0
                );
            } else {
                // clamped: beyond q_max + 1/2 steps, mapped to the end of the grid
                assert!(
                    x.abs() / s > q_max as f32 + 0.5 - 1e-4,
                    "{spec:?}: {x} / {s}"
                );
                assert_eq!(i32::from(code), q_max * x.signum() as i32);
            }
        }
        let clipped = fq.inside.iter().filter(|&&i| !i).count();
        if spec.clip() == 1.0 {
            assert_eq!(clipped, 0, "absmax clips nothing");
        }
    }
    // clip 0.6 of the absmax: the two large weights fall outside at every width
    let fq = absmax_fake_quantize(w.view(), &QuantSpec::new(4, None, 0.6).unwrap());
    assert!(!fq.inside[[3, 0]] && !fq.inside[[36, 5]]);
}

#[test]
fn scales_are_the_absmax_over_q_max_and_the_grid_has_an_exact_zero() {
    let mut w = weights(16, 3, 2);
    w.column_mut(1).fill(0.0);
    w[[5, 2]] = 0.0;
    let spec = QuantSpec::new(4, Some(8), 1.0).unwrap();
    let fq = absmax_fake_quantize(w.view(), &spec);
    assert_eq!(fq.scales.dim(), (2, 3));
    for k in 0..2 {
        for j in 0..3 {
            let absmax = (8 * k..8 * k + 8)
                .map(|i| w[[i, j]].abs())
                .fold(0.0, f32::max);
            assert_eq!(fq.scales[[k, j]], absmax / 7.0);
        }
    }
    assert!(
        fq.w_q.column(1).iter().all(|&x| x == 0.0),
        "an all-zero column stays 0"
    );
    assert_eq!(fq.w_q[[5, 2]], 0.0);
    // ties go to even: 2.5 steps -> 2, 3.5 steps -> 4, -0.5 -> 0
    let t = Array2::from_shape_vec((4, 1), vec![7.0, 2.5, 3.5, -0.5]).unwrap();
    let fq = absmax_fake_quantize(t.view(), &QuantSpec::per_channel(4).unwrap());
    assert_eq!(fq.codes.column(0).to_vec(), vec![7, 2, 4, 0]);
}

#[test]
fn quantizing_twice_changes_nothing() {
    let w = weights(40, 7, 3);
    for bits in 2..=8 {
        for group in [None, Some(8)] {
            let spec = QuantSpec::new(bits, group, 1.0).unwrap();
            let once = absmax_fake_quantize(w.view(), &spec);
            let twice = absmax_fake_quantize(once.w_q.view(), &spec);
            assert_eq!(twice.codes, once.codes, "{spec:?}");
            // the scale is recomputed from q_max · s, which f32 may round by an ulp
            for (a, b) in twice.w_q.iter().zip(&once.w_q) {
                assert!(
                    (a - b).abs() <= 2.0 * f32::EPSILON * b.abs(),
                    "{spec:?}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn bad_specs_and_bad_weights_are_named() {
    assert_eq!(QuantSpec::new(1, None, 1.0), Err(QatError::Bits(1)));
    assert_eq!(QuantSpec::new(9, None, 1.0), Err(QatError::Bits(9)));
    assert_eq!(QuantSpec::new(4, Some(0), 1.0), Err(QatError::ZeroGroup));
    for clip in [0.0, 1.5, -0.5] {
        assert_eq!(QuantSpec::new(4, None, clip), Err(QatError::Clip(clip)));
    }
    assert!(matches!(
        QuantSpec::new(4, None, f32::NAN),
        Err(QatError::Clip(_))
    ));
    assert_eq!(
        QuantSpec::new(9, None, 1.0).unwrap_err().to_string(),
        "quantizer: bits = 9 is outside 2..=8 (codes are stored as i8)"
    );
    // a NaN in the second quantized weight: an error naming it, the first one restored
    let good = ArrayD::from_elem(IxDyn(&[2, 2]), 0.5f32);
    let mut bad = good.clone();
    bad[[1, 0]] = f32::NAN;
    let mut m = NamedParams(vec![
        ("blocks.0.attn.wq".into(), Param::new(good.clone())),
        ("blocks.0.attn.wk".into(), Param::new(bad)),
    ]);
    let spec = QuantSpec::per_channel(4).unwrap();
    let err = ptq(&mut m, &spec).unwrap_err();
    assert_eq!(
        err.to_string(),
        "quantizer: blocks.0.attn.wk has a non-finite entry at [1, 0]"
    );
    assert_eq!(m.0[0].1.value, good);
    let mut m = NamedParams(vec![(
        "blocks.0.ffn.w1".into(),
        Param::new(ArrayD::zeros(IxDyn(&[3]))),
    )]);
    assert_eq!(
        ptq(&mut m, &spec).unwrap_err().to_string(),
        "quantizer: blocks.0.ffn.w1 has shape [3], not a [d_in, d_out] matrix"
    );
}

fn tiny_llama(seed: u64) -> Llama {
    Llama::new(LlamaTrainConfig::tiny(), &mut seeded_rng(seed)).unwrap()
}

#[test]
fn the_linear_weights_are_quantized_and_nothing_else() {
    let m = tiny_llama(0);
    let names: Vec<String> = m
        .param_names()
        .into_iter()
        .filter(|n| is_quantized(n))
        .collect();
    assert_eq!(names.len(), 7 * 2, "{names:?}");
    for n in m.param_names() {
        let linear = n.contains(".attn.w") || n.contains(".ffn.w");
        assert_eq!(is_quantized(&n), linear, "{n}");
    }
}

#[test]
fn ptq_then_restore_gives_back_the_latent_weights() {
    let mut m = tiny_llama(1);
    let before: Vec<ArrayD<f32>> = values(&m);
    let (latent, stats) = ptq(&mut m, &QuantSpec::per_channel(3).unwrap()).unwrap();
    assert_eq!(stats.tensors, 14);
    assert!(stats.relative_error() > 0.0 && stats.clipped == 0);
    assert_ne!(values(&m), before);
    restore(&mut m, latent, false);
    assert_eq!(values(&m), before);
}

fn values(m: &dyn Module) -> Vec<ArrayD<f32>> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.push(p.value.to_owned()));
    out
}

fn grads(m: &dyn Module) -> Vec<(String, ArrayD<f32>)> {
    let mut out = Vec::new();
    m.visit_params(&mut |n, p| out.push((n.to_owned(), p.grad.to_owned())));
    out
}

fn batch(b: usize, t: usize, vocab: usize, seed: u64) -> Array2<usize> {
    let mut rng = seeded_rng(seed);
    Array2::from_shape_fn((b, t), |_| rng.random_range(0..vocab))
}

#[test]
fn the_ste_gradient_is_the_f32_gradient_at_the_quantized_weights() {
    let ids = batch(2, 7, 40, 4);
    for spec in [
        QuantSpec::per_channel(4).unwrap(),
        QuantSpec::new(3, Some(8), 0.7).unwrap(),
    ] {
        let mut qat = Qat {
            model: tiny_llama(5),
            spec,
        };
        let latent_before = values(&qat);
        qat.zero_grad();
        let loss = qat.lm_step(&ids);
        assert_eq!(values(&qat), latent_before, "the latent weights are back");
        // the same model with its weights quantized once, trained as plain f32
        let mut at_q = tiny_llama(5);
        let (latent, _) = ptq(&mut at_q, &spec).unwrap();
        at_q.zero_grad();
        assert_eq!(at_q.lm_step(&ids), loss, "the same forward");
        let masks: Vec<_> = latent
            .0
            .iter()
            .map(|(n, _, inside)| (n.clone(), inside.clone()))
            .collect();
        let mut clipped = 0;
        for ((name, g_qat), (_, g_f32)) in grads(&qat).into_iter().zip(grads(&at_q)) {
            match masks.iter().find(|(n, _)| *n == name) {
                Some((_, inside)) => ndarray::Zip::from(&g_qat)
                    .and(&g_f32)
                    .and(inside)
                    .for_each(|&a, &b, &i| {
                        clipped += usize::from(!i);
                        assert_eq!(
                            a,
                            if i { b } else { 0.0 },
                            "{name}: ∂L/∂w = ∂L/∂w_q, masked"
                        );
                    }),
                None => {
                    assert_eq!(g_qat, g_f32, "{name}: not quantized, the plain gradient")
                }
            }
        }
        assert_eq!(
            clipped > 0,
            spec.bits() == 3,
            "only the clipping quantizer masks"
        );
    }
}

#[test]
fn gradient_check_of_what_is_differentiable() {
    let ids: Vec<usize> = batch(1, 8, 40, 6).row(0).to_vec();
    let loss = |m: &mut dyn FnMut(&[usize]) -> Vec<f32>| -> f32 {
        let l = m(&ids);
        l.iter().sum::<f32>() / l.len() as f32
    };
    // As Chapter 9's whole-model check: tables larger than the 0.02 init so the loss
    // depends on them measurably, and through two blocks in f32 gradients under 0.1
    // compared absolutely against that floor, at 3e-2.
    let checker = GradCheck {
        eps: 1e-2,
        floor: 1e-1,
        ..GradCheck::default()
    };
    let llama = || {
        let mut m = tiny_llama(7);
        m.embed.table.value = normal((40, 16), 0.5, &mut seeded_rng(10));
        m.lm_head.as_mut().unwrap().value = normal((16, 40), 0.5, &mut seeded_rng(11));
        m
    };
    let spec = QuantSpec::per_channel(4).unwrap();
    let ids2 = Array2::from_shape_vec((1, 8), ids.clone()).unwrap();
    // 1. The model at its quantized weights is Chapter 9's f32 Llama: every parameter.
    let mut at_q = llama();
    ptq(&mut at_q, &spec).unwrap();
    at_q.zero_grad();
    at_q.lm_step(&ids2);
    for (name, r) in
        checker.check_module(&mut at_q, |m| loss(&mut |x| token_losses(m, x)))
    {
        r.assert_within(3e-2, &format!("the Llama at w_q: dL/d{name}"));
    }
    // 2. The QAT loss as a function of the parameters that are not quantized (norms, the
    // embedding, the head): smooth, since Q(w) does not move when they do. As a
    // function of a latent linear weight it is a staircase; the STE is not its derivative.
    let mut qat = Qat {
        model: llama(),
        spec,
    };
    qat.zero_grad();
    qat.lm_step(&ids2);
    let reports = checker.check_module(&mut qat, |m| loss(&mut |x| token_losses(m, x)));
    let mut checked = 0;
    for (name, r) in reports.into_iter().filter(|(n, _)| !is_quantized(n)) {
        r.assert_within(3e-2, &format!("QAT loss: dL/d{name}"));
        checked += 1;
    }
    assert_eq!(
        checked,
        1 + 2 * 2 + 1 + 1,
        "embedding, 2 norms a block, final norm, head"
    );
}

/// A few QAT steps on Chapter 11's trainer, from a fixed seed.
fn short_qat_run() -> Vec<ArrayD<f32>> {
    let stream: Vec<usize> = batch(1, 400, 40, 8).row(0).to_vec();
    let mut t = Trainer {
        model: Qat {
            model: tiny_llama(9),
            spec: QuantSpec::per_channel(4).unwrap(),
        },
        opt: AdamW::with_betas(0.9, 0.95, 1e-8, WeightDecay::None),
        schedule: Schedule::WarmupLinear {
            warmup: 2,
            total: 6,
        },
        peak_lr: 3e-3,
        clip: Some(1.0),
        step: 0,
        batches: Batches::new(stream.len(), 16, 10),
    };
    for _ in 0..6 {
        let log = t.train_step(&stream, 4);
        assert!(log.loss.is_finite());
    }
    values(&t.model)
}

#[test]
fn a_short_qat_run_is_the_same_bits_twice_and_at_any_thread_count() {
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let a = pool(1).install(short_qat_run);
    let b = pool(2).install(short_qat_run);
    let c = pool(2).install(short_qat_run);
    assert_eq!(a, b);
    assert_eq!(b, c);
    assert_ne!(a, values(&tiny_llama(9)), "it trained");
}
