//! GPT-2's initialisation statistics, its config and input errors, and causality.

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch09_decoder_only::gpt2::{Gpt2, Gpt2Config, Gpt2Error};
use ndarray::{Array2, ArrayViewD, s};

fn cfg() -> Gpt2Config {
    Gpt2Config {
        vocab_size: 50,
        n_positions: 16,
        n_embd: 64,
        n_layer: 6,
        n_head: 4,
        layer_norm_epsilon: 1e-5,
        embd_pdrop: 0.0,
        attn_pdrop: 0.0,
        resid_pdrop: 0.0,
    }
}

fn mean_std(x: &ArrayViewD<'_, f32>) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = x
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

#[test]
fn init_is_normal_0_02_with_residual_projections_scaled_by_one_over_sqrt_2n() {
    let model = Gpt2::new(cfg(), &mut seeded_rng(0)).unwrap();
    let scaled = 0.02 / (2.0 * 6.0f64).sqrt(); // 0.00577
    let mut seen = 0;
    model.visit_params(&mut |name, p| {
        let (mean, std) = mean_std(&p.value);
        let want = if name.ends_with("attn.w_o") || name.ends_with("ffn.fc2.w") {
            Some(scaled)
        } else if name.ends_with("table")
            || name.ends_with("w_qkv")
            || name.ends_with("fc1.w")
        {
            Some(0.02)
        } else {
            None
        };
        match want {
            Some(want) => {
                // ≥ 3,200 draws a tensor: the sample std is within ≈ 2.5 % at 2σ.
                assert!(
                    (std / want - 1.0).abs() < 0.05,
                    "{name}: std {std:.5}, want {want:.5}"
                );
                assert!(mean.abs() < 0.1 * want, "{name}: mean {mean:.2e}");
                seen += 1;
            }
            None if name.ends_with("gamma") => {
                assert!(p.value.iter().all(|&v| v == 1.0), "{name}: γ starts at 1")
            }
            None => assert!(p.value.iter().all(|&v| v == 0.0), "{name}: starts at 0"),
        }
    });
    assert_eq!(seen, 2 + 4 * 6, "wte, wpe and four weights a block");
}

#[test]
fn a_deep_model_at_init_gives_finite_logits_of_the_tables_scale() {
    let mut model = Gpt2::new(
        Gpt2Config {
            n_layer: 12,
            ..cfg()
        },
        &mut seeded_rng(1),
    )
    .unwrap();
    let ids = Array2::from_shape_fn((4, 16), |(b, t)| (7 * b + 3 * t) % 50);
    let logits = model.forward(&ids).unwrap();
    assert!(logits.iter().all(|v| v.is_finite()));
    let spread = logits.std(0.0);
    // ln_f normalises, so the logits' std is ≈ ‖wte row‖ = 0.02·√64 = 0.16.
    assert!((0.08..0.32).contains(&spread), "logit std {spread}");
}

#[test]
fn config_mistakes_are_errors_naming_the_field() {
    let bad = [
        (
            Gpt2Config { n_head: 5, ..cfg() },
            "not a multiple of n_head = 5",
        ),
        (
            Gpt2Config {
                n_layer: 0,
                ..cfg()
            },
            "n_layer must be at least 1",
        ),
        (
            Gpt2Config {
                vocab_size: 0,
                ..cfg()
            },
            "vocab_size must be at least 1",
        ),
        (
            Gpt2Config {
                attn_pdrop: 1.0,
                ..cfg()
            },
            "attn_pdrop = 1",
        ),
        (
            Gpt2Config {
                embd_pdrop: -0.1,
                ..cfg()
            },
            "embd_pdrop = -0.1",
        ),
        (
            Gpt2Config {
                layer_norm_epsilon: 0.0,
                ..cfg()
            },
            "layer_norm_epsilon",
        ),
    ];
    for (c, want) in bad {
        let e = Gpt2::new(c, &mut seeded_rng(0)).err().expect("an error");
        assert!(e.to_string().contains(want), "{e} lacks {want:?}");
    }
    assert!(Gpt2Config::small().validate().is_ok());
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let mut model = Gpt2::new(cfg(), &mut seeded_rng(0)).unwrap();
    let long = Array2::zeros((1, 17));
    assert_eq!(
        model.forward(&long).unwrap_err(),
        Gpt2Error::TooLong {
            t: 17,
            n_positions: 16
        }
    );
    let mut ids = Array2::zeros((2, 4));
    ids[[1, 2]] = 50;
    assert_eq!(
        model.forward(&ids).unwrap_err(),
        Gpt2Error::Id {
            id: 50,
            b: 1,
            t: 2,
            vocab: 50
        }
    );
    assert!(matches!(
        model.forward(&Array2::zeros((0, 3))),
        Err(Gpt2Error::Empty { .. })
    ));
    assert!(matches!(
        model.lm_step(&Array2::zeros((2, 1))),
        Err(Gpt2Error::NoTarget { t: 1 })
    ));
}

#[test]
fn a_later_token_never_changes_an_earlier_logit() {
    let mut model = Gpt2::new(cfg(), &mut seeded_rng(2)).unwrap();
    let mut ids = Array2::from_shape_fn((1, 10), |(_, t)| (5 * t + 1) % 50);
    let before = model.forward(&ids).unwrap();
    ids[[0, 6]] = 49;
    let after = model.forward(&ids).unwrap();
    assert_eq!(before.slice(s![.., ..6, ..]), after.slice(s![.., ..6, ..]));
    assert_ne!(before.slice(s![.., 6, ..]), after.slice(s![.., 6, ..]));
}

/// The residual stream's standard deviation after the embeddings and after the last
/// of the blocks, for a batch of ids.
// ids: [B, T] -> (std at the input, std after block N)
fn stream_std(model: &mut Gpt2, ids: &Array2<usize>) -> (f32, f32) {
    let (b, t) = ids.dim();
    let flat: Vec<usize> = ids.iter().copied().collect();
    let positions: Vec<usize> = (0..b).flat_map(|_| 0..t).collect();
    let x = model.wte.forward(&flat) + model.wpe.forward(&positions);
    let mut x = x.into_shape_with_order((b, t, model.cfg.n_embd)).unwrap();
    let input = x.std(0.0);
    for block in &mut model.blocks {
        x = block.forward(&x, None);
    }
    (input, x.std(0.0))
}

#[test]
fn the_scaled_projections_keep_a_deep_stream_from_growing() {
    let cfg = Gpt2Config {
        n_layer: 24,
        ..cfg()
    };
    let ids = Array2::from_shape_fn((4, 16), |(b, t)| (7 * b + 3 * t) % 50);
    let mut scaled = Gpt2::new(cfg, &mut seeded_rng(4)).unwrap();
    let (input, out_scaled) = stream_std(&mut scaled, &ids);
    // The same model with the two residual projections drawn at 0.02 like the rest.
    let mut plain = Gpt2::new(cfg, &mut seeded_rng(4)).unwrap();
    let mut rng = seeded_rng(5);
    for block in &mut plain.blocks {
        let (attn, ffn) = (&mut block.block.attn, &mut block.block.ffn);
        attn.w_o.value = normal(attn.w_o.value.raw_dim(), 0.02, &mut rng);
        ffn.fc2.w.value = normal(ffn.fc2.w.value.raw_dim(), 0.02, &mut rng);
    }
    let (_, out_plain) = stream_std(&mut plain, &ids);
    let (g_scaled, g_plain) = (out_scaled / input, out_plain / input);
    eprintln!(
        "stream std × {g_scaled:.2} over 24 blocks scaled, × {g_plain:.2} unscaled"
    );
    assert!(g_scaled < 2.0, "scaled: × {g_scaled}");
    assert!(
        g_plain > 1.5 * g_scaled,
        "unscaled × {g_plain} vs scaled × {g_scaled}"
    );
}
