//! The optimizers on Chapter 9's real models: which names the parameter groups leave
//! undecayed, what one step does to each group, that the bits do not depend on the
//! thread count, and the errors for hyperparameters outside their range.

use ch01_foundations::linalg::in_pool;
use ch01_foundations::module::{Module, Param};
use ch09_decoder_only::gpt2::Gpt2;
use ch09_decoder_only::llama_model::Llama;
use ch09_decoder_only::train_run::TrainConfig;
use ch11_training::optim::{
    AdamW, NamedParams, OptimError, Optimizer, Sgd, WeightDecay, decays,
};
use ndarray::{ArrayD, IxDyn};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn llama() -> Llama {
    Llama::new(
        TrainConfig::full().llama(2048),
        &mut ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap()
}

fn excluded(m: &dyn Module) -> Vec<String> {
    m.param_names().into_iter().filter(|n| !decays(n)).collect()
}

#[test]
fn llama_leaves_the_embedding_and_norm_gains_undecayed() {
    assert_eq!(
        excluded(&llama()),
        [
            "embed.table",
            "blocks.0.attn_norm.weight",
            "blocks.0.ffn_norm.weight",
            "blocks.1.attn_norm.weight",
            "blocks.1.ffn_norm.weight",
            "norm.weight",
        ]
    );
}

#[test]
fn gpt2_leaves_embeddings_biases_and_norms_undecayed() {
    let gpt2 = Gpt2::new(
        TrainConfig::full().gpt2(2048),
        &mut ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap();
    let mut want = vec!["wte.table".to_owned(), "wpe.table".to_owned()];
    for l in 0..2 {
        for p in [
            "attn.b_qkv",
            "attn.b_o",
            "norm1.gamma",
            "norm1.beta",
            "ffn.fc1.b",
            "ffn.fc2.b",
            "norm2.gamma",
            "norm2.beta",
        ] {
            want.push(format!("blocks.{l}.{p}"));
        }
    }
    want.extend(["ln_f.gamma".to_owned(), "ln_f.beta".to_owned()]);
    assert_eq!(excluded(&gpt2), want);
    // What is left decays: the attention and FFN matrices, nothing else.
    let decayed: Vec<String> = gpt2
        .param_names()
        .into_iter()
        .filter(|n| decays(n))
        .collect();
    assert!(
        decayed
            .iter()
            .all(|n| n.ends_with(".w") || n.ends_with("w_qkv") || n.ends_with("w_o")),
        "{decayed:?}"
    );
    assert_eq!(decayed.len(), 8);
}

/// Every gradient set to seeded noise.
fn noisy_grads(m: &mut dyn Module, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    m.visit_params_mut(&mut |_, mut p| {
        p.grad.mapv_inplace(|_| rng.random_range(-1.0..1.0))
    });
}

fn values(m: &dyn Module) -> Vec<(String, ArrayD<f32>)> {
    let mut out = Vec::new();
    m.visit_params(&mut |n, p| out.push((n.to_owned(), p.value.to_owned())));
    out
}

#[test]
fn with_zero_gradients_adamw_only_shrinks_the_decayed_group() {
    let mut model = llama();
    let before = values(&model);
    let mut opt = AdamW::new(WeightDecay::Decoupled(0.1));
    model.zero_grad();
    opt.step(&mut model, 1e-2);
    let shrink = (1.0 - 1e-2f64 * 0.1) as f32;
    for ((name, b), (_, a)) in before.iter().zip(values(&model)) {
        let want = if decays(name) {
            b.mapv(|x| x * shrink)
        } else {
            b.clone()
        };
        assert_eq!(a, want, "{name}"); // m = v = 0: the adaptive step is exactly 0
    }
    assert_eq!(opt.state.len(), model.param_names().len());
}

#[test]
fn coupled_decay_moves_decayed_weights_even_without_gradient() {
    let mut model = llama();
    let before = values(&model);
    let mut opt = AdamW::new(WeightDecay::Coupled(0.1));
    model.zero_grad();
    opt.step(&mut model, 1e-2);
    for ((name, b), (_, a)) in before.iter().zip(values(&model)) {
        // The first Adam step is lr · g / (|g| + ε) for g = λθ: about the whole learning
        // rate toward zero for every weight with |λθ| ≫ ε, however small the weight (a
        // weight below lr crosses zero).
        if decays(name) {
            for (&b, &a) in b.iter().zip(&a) {
                if b.abs() > 1e-3 {
                    assert!(
                        ((b - a) - 1e-2 * b.signum()).abs() < 2e-6,
                        "{name}: {b} -> {a}"
                    );
                }
            }
        } else {
            assert_eq!(&a, b, "{name}");
        }
    }
}

#[test]
fn adamw_gives_the_same_bits_on_1_and_3_threads() {
    let run = |threads| {
        in_pool(threads, || {
            let mut model = llama();
            let mut opt = AdamW::new(WeightDecay::Decoupled(0.1));
            for step in 0..3 {
                noisy_grads(&mut model, step);
                opt.step(&mut model, 1e-3);
            }
            (values(&model), opt.state)
        })
    };
    let (a, b) = (run(1), run(3));
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
}

#[test]
fn plain_sgd_is_theta_minus_lr_g_and_momentum_starts_from_the_gradient() {
    let mut model = llama();
    noisy_grads(&mut model, 7);
    let before = values(&model);
    let mut grads = Vec::new();
    model.visit_params(&mut |_, p| grads.push(p.grad.to_owned()));
    let mut opt = Sgd::new(0.9, 0.5, false, 0.0).unwrap();
    opt.step(&mut model, 0.1);
    for (((name, b), (_, a)), g) in before.iter().zip(values(&model)).zip(&grads) {
        assert_eq!(a, b - &g.mapv(|g| 0.1 * g), "{name}"); // no dampening at step 1
        assert_eq!(&opt.state[name], g, "{name}");
    }
}

#[test]
fn a_strided_parameter_takes_the_same_step_as_a_contiguous_one() {
    // The fallback for views that are not one slice: same element function, same bits.
    let x = ArrayD::from_shape_fn(IxDyn(&[40, 30]), |i| {
        (i[0] * 30 + i[1]) as f32 * 0.01 - 5.0
    });
    let g = x.mapv(|x| (x * 3.0).sin());
    let mut a = NamedParams(vec![(
        "w".into(),
        Param {
            value: x.clone(),
            grad: g.clone(),
        },
    )]);
    let mut t = NamedParams(vec![(
        "w".into(),
        Param {
            value: x.t().as_standard_layout().t().to_owned(),
            grad: g.t().as_standard_layout().t().to_owned(),
        },
    )]);
    assert!(t.0[0].1.value.as_slice().is_none(), "a transposed layout");
    let (mut oa, mut ot) = (
        AdamW::new(WeightDecay::Decoupled(0.1)),
        AdamW::new(WeightDecay::Decoupled(0.1)),
    );
    for _ in 0..3 {
        oa.step(&mut a, 1e-2);
        ot.step(&mut t, 1e-2);
    }
    assert_eq!(a.0[0].1.value, t.0[0].1.value);
}

#[test]
fn hyperparameters_out_of_range_are_errors() {
    assert!(matches!(
        Sgd::new(1.0, 0.0, false, 0.0),
        Err(OptimError::OutOfRange {
            name: "momentum",
            ..
        })
    ));
    assert!(matches!(
        Sgd::new(0.9, 0.0, false, -1.0),
        Err(OptimError::OutOfRange {
            name: "weight_decay",
            ..
        })
    ));
    let err = Sgd::new(0.9, 0.1, true, 0.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Nesterov momentum needs momentum > 0 and dampening = 0 (got 0.9, 0.1)"
    );
    assert!(Sgd::new(0.0, 0.0, true, 0.0).is_err());
}

#[test]
fn a_beta_rounded_to_f32_puts_one_minus_beta_off_by_1_3e_5() {
    // Why the hyperparameters are f64 (section "Adam").
    let off = ((1.0 - f64::from(0.999f32)) / (1.0 - 0.999) - 1.0).abs();
    assert!((1.2e-5..1.4e-5).contains(&off), "{off:e}");
    assert!(
        off > 100.0 * f64::from(f32::EPSILON) / 2.0,
        "a hundred times f32's rounding"
    );
}
