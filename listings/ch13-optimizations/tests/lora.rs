//! LoRA: the adapter's backward against central finite differences (alone, inside
//! grouped-query attention, and through the whole Llama), the start equal to the base,
//! the merge, the frozen base, the counts, the errors, and a tiny run of the experiment
//! (learning, thread-count independence, and the hook for a transformed base).

use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch09_decoder_only::gqa::{GroupedQueryAttention, SidePath};
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch11_training::optim::{AdamW, Optimizer, WeightDecay};
use ch13_optimizations::lora::{
    Lora, LoraConfig, LoraError, Targets, Trainable, attach, is_adapter, lora_at, merge,
    training_memory,
};
use ch13_optimizations::lora_run::{LoraSetup, Method, finetune, pretrain, run};
use ndarray::{Array2, ArrayView2};

const TOL: f32 = 1e-2;

fn checker() -> GradCheck {
    GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    }
}

/// B drawn at random: at B = 0 the gradient of A is exactly zero, a weak check.
fn lora_with_b(d_in: usize, d_out: usize, rank: usize, seed: u64) -> Lora {
    let mut lora = Lora::new((d_in, d_out), rank, 8.0, &mut seeded_rng(seed)).unwrap();
    lora.b.value = normal((d_out, rank), 0.1, &mut seeded_rng(seed + 1));
    lora
}

fn tiny_llama(seed: u64) -> Llama {
    let cfg = LlamaTrainConfig {
        vocab_size: 11,
        ..LlamaTrainConfig::tiny()
    };
    Llama::new(cfg, &mut seeded_rng(seed)).unwrap()
}

/// Random B in every adapter of a model, so that the adapted model differs from the base.
fn randomise_b(model: &mut Llama, seed: u64) {
    let mut rng = seeded_rng(seed);
    model.visit_params_mut(&mut |name, mut p| {
        if name.ends_with("_side.b") {
            let b: Array2<f32> =
                normal((p.value.shape()[0], p.value.shape()[1]), 0.3, &mut rng);
            p.value.assign(&b.into_dyn());
        }
    });
}

#[test]
fn the_adapter_alone_is_gradient_checked() {
    let mut lora = lora_with_b(12, 10, 3, 1);
    let x: Array2<f32> = normal((5, 12), 1.0, &mut seeded_rng(3));
    let reports = checker().check_layer(
        &mut lora,
        &x,
        4,
        |m, x| m.forward(x),
        |m, dy| m.backward(dy),
    );
    assert_eq!(reports.len(), 3, "x, a, b");
    for (name, report) in reports {
        eprintln!("lora d{name}: {report}");
        report.assert_within(TOL, &format!("LoRA dL/d{name}"));
    }
}

#[test]
fn inside_frozen_attention_the_adapters_are_checked_and_the_base_gets_no_gradient() {
    let mut attn = GroupedQueryAttention::new(16, (4, 2, 4), 100.0, &mut seeded_rng(1));
    for (i, seed) in [(0, 10), (1, 20), (2, 30), (3, 40)] {
        let dims = [&attn.wq, &attn.wk, &attn.wv, &attn.wo][i].value.dim();
        attn.side[i] = Some(Box::new(lora_with_b(dims.0, dims.1, 2, seed)));
    }
    attn.frozen = true;
    let x: Array2<f32> = normal((6, 16), 1.0, &mut seeded_rng(2));
    let reports = checker().check_layer(
        &mut attn,
        &x,
        3,
        |m, x| m.forward(x),
        |m, dy| m.backward(dy),
    );
    assert_eq!(
        reports.len(),
        1 + 4 + 8,
        "x, the 4 frozen weights, 4 adapters' a and b"
    );
    for (name, report) in reports {
        if name == "x" || is_adapter(&name) {
            eprintln!("frozen gqa d{name}: {report}");
            report.assert_within(TOL, &format!("frozen GQA with LoRA: dL/d{name}"));
        }
    }
    attn.visit_params(&mut |name, p| {
        if !is_adapter(name) {
            assert!(
                p.grad.iter().all(|&g| g == 0.0),
                "{name} is frozen but has a gradient"
            );
        }
    });
}

#[test]
fn through_the_whole_llama_the_adapter_gradients_are_checked() {
    for targets in [Targets::QV, Targets::All] {
        let mut model = tiny_llama(5);
        let cfg = LoraConfig {
            rank: 2,
            alpha: 4.0,
            targets,
        };
        attach(&mut model, cfg, &mut seeded_rng(6)).unwrap();
        randomise_b(&mut model, 7);
        let ids = [1, 4, 2, 9, 3, 3, 0];
        let r: Array2<f32> = normal((ids.len(), 11), 1.0, &mut seeded_rng(8));
        let loss = |m: &mut Llama| (m.forward(&ids) * &r).sum();
        model.zero_grad();
        let _ = model.forward(&ids);
        model.backward(&r);
        let reports = checker().check_module(&mut model, loss);
        let checked = reports.iter().filter(|(n, _)| is_adapter(n)).count();
        assert_eq!(
            checked,
            2 * 2 * targets.indices().len(),
            "2 layers × a, b per adapter"
        );
        for (name, report) in reports.iter().filter(|(n, _)| is_adapter(n)) {
            report.assert_within(
                TOL,
                &format!("Llama with LoRA on {targets:?}: dL/d{name}"),
            );
        }
    }
}

#[test]
fn with_b_zero_the_adapted_model_is_the_base_bit_for_bit() {
    let ids = [3, 1, 4, 1, 5, 9, 2, 6];
    let mut base = tiny_llama(11);
    let before = base.forward(&ids);
    let cfg = LoraConfig {
        rank: 4,
        alpha: 8.0,
        targets: Targets::All,
    };
    attach(&mut base, cfg, &mut seeded_rng(12)).unwrap();
    let after = base.forward(&ids);
    assert_eq!(before, after, "B = 0: x·W + 0 is x·W");
}

/// Merged and unmerged logits agree to 1e-5 relative to the logits' largest magnitude:
/// the two sum the same products in different orders, so they differ by rounding only.
#[test]
fn the_merged_model_computes_what_the_adapted_one_did() {
    for targets in [Targets::QV, Targets::All] {
        let ids = [3, 1, 4, 1, 5, 9, 2, 6];
        let mut model = tiny_llama(11);
        let cfg = LoraConfig {
            rank: 3,
            alpha: 6.0,
            targets,
        };
        attach(&mut model, cfg, &mut seeded_rng(12)).unwrap();
        randomise_b(&mut model, 13);
        let wq_before = model.blocks[0].attn.wq.value.clone();
        let expected = lora_at(&model.blocks[0].attn, 0)
            .unwrap()
            .merge(wq_before.view());
        let unmerged = model.forward(&ids);
        merge(&mut model);
        assert!(
            model
                .blocks
                .iter()
                .all(|b| b.attn.side.iter().all(Option::is_none))
        );
        assert_eq!(
            model.blocks[0].attn.wq.value, expected,
            "W' = W + (α/r)·(B·A)ᵀ"
        );
        let merged = model.forward(&ids);
        let scale = unmerged.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let err = (&merged - &unmerged)
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()));
        eprintln!(
            "{targets:?}: max |merged - unmerged| = {err:.2e} (logits up to {scale:.2})"
        );
        assert!(err <= 1e-5 * scale, "merge changed the logits by {err}");
    }
}

#[test]
fn delta_is_scale_times_b_a_transposed() {
    let lora = lora_with_b(5, 4, 2, 21);
    let ba = lora.b.value.dot(&lora.a.value); // [d_out, d_in], Hugging Face's layout
    let expected = ba.t().to_owned() * (8.0 / 2.0);
    let err = (&lora.delta() - &expected)
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(err < 1e-6, "delta differs from (α/r)(BA)ᵀ by {err}");
}

#[test]
fn counts_are_r_times_d_in_plus_d_out_and_adam_keeps_two_floats_each() {
    let mut model = tiny_llama(1);
    let total = model.num_params();
    // tiny(): width 16, 4 heads of 4, 2 K/V heads: W_q, W_o are 16×16, W_k, W_v 16×8.
    for (targets, per_layer) in [
        (Targets::QV, 3 * (16 + 16) + 3 * (16 + 8)),
        (Targets::All, 3 * (2 * (16 + 16) + 2 * (16 + 8))),
    ] {
        let mut m = tiny_llama(1);
        attach(
            &mut m,
            LoraConfig {
                rank: 3,
                alpha: 3.0,
                targets,
            },
            &mut seeded_rng(2),
        )
        .unwrap();
        let mem = training_memory(&m, is_adapter);
        assert_eq!(mem.trainable, 2 * per_layer, "{targets:?}: 2 layers");
        assert_eq!(mem.total, total + mem.trainable);
        assert_eq!(
            (mem.grad_bytes, mem.adam_bytes),
            (4 * mem.trainable, 8 * mem.trainable)
        );
    }
    // The optimizer's own state, after a step through the trainable view, is that size.
    attach(
        &mut model,
        LoraConfig {
            rank: 3,
            alpha: 3.0,
            targets: Targets::All,
        },
        &mut seeded_rng(2),
    )
    .unwrap();
    let _ = model.forward(&[1, 2, 3]);
    model.backward(&Array2::ones((3, 11)));
    let mut opt = AdamW::new(WeightDecay::None);
    opt.step(
        &mut Trainable {
            model: &mut model,
            keep: is_adapter,
        },
        1e-2,
    );
    let bytes: usize = opt
        .state
        .values()
        .map(|m| 4 * (m.m.len() + m.v.len()))
        .sum();
    assert_eq!(bytes, training_memory(&model, is_adapter).adam_bytes);
    assert!(
        opt.state.keys().all(|n| is_adapter(n)),
        "the optimizer saw only adapters"
    );
}

#[test]
fn bad_configurations_are_named_errors() {
    let mut rng = seeded_rng(0);
    assert_eq!(
        Lora::new((8, 8), 0, 1.0, &mut rng).err(),
        Some(LoraError::ZeroRank)
    );
    assert_eq!(
        Lora::new((8, 4), 5, 1.0, &mut rng).err(),
        Some(LoraError::RankTooLarge { rank: 5, max: 4 })
    );
    assert_eq!(
        Lora::new((8, 8), 2, f32::NAN, &mut rng)
            .err()
            .map(|e| e.to_string()),
        Some("lora: alpha = NaN must be finite and positive".into())
    );
    let mut model = tiny_llama(1);
    let cfg = LoraConfig {
        rank: 2,
        alpha: 2.0,
        targets: Targets::QV,
    };
    attach(&mut model, cfg, &mut rng).unwrap();
    let again = attach(
        &mut model,
        LoraConfig {
            targets: Targets::All,
            ..cfg
        },
        &mut rng,
    );
    assert_eq!(
        again,
        Err(LoraError::Attached {
            block: 0,
            proj: "wq"
        })
    );
    // The failed attach changed nothing: the k and o projections have no adapter.
    assert!(
        model
            .blocks
            .iter()
            .all(|b| b.attn.side[1].is_none() && b.attn.side[3].is_none())
    );
    let too_big = attach(&mut tiny_llama(1), LoraConfig { rank: 9, ..cfg }, &mut rng);
    assert_eq!(too_big, Err(LoraError::RankTooLarge { rank: 9, max: 8 }));
}

/// Every parameter of the base, by name.
fn snapshot(model: &Llama) -> Vec<(String, Vec<u32>)> {
    let mut out = Vec::new();
    model.visit_params(&mut |name, p| {
        if !is_adapter(name) {
            out.push((
                name.to_owned(),
                p.value.iter().map(|v| v.to_bits()).collect(),
            ));
        }
    });
    out
}

#[test]
fn a_tiny_run_leaves_the_base_bit_identical_and_learns() {
    let s = LoraSetup::tiny();
    let base = pretrain(&s);
    let cfg = LoraConfig {
        rank: 4,
        alpha: s.alpha,
        targets: Targets::All,
    };
    let (model, lora) = finetune(&s, &base, Method::Lora(cfg), None).unwrap();
    assert_eq!(
        snapshot(&model),
        snapshot(&base.model),
        "the frozen base moved"
    );
    let (_, full) = finetune(&s, &base, Method::Full, None).unwrap();
    assert!(lora.memory.trainable < full.memory.trainable / 4);
    assert_eq!(lora.adam_state_bytes, lora.memory.adam_bytes);
    assert_eq!(full.adam_state_bytes, full.memory.adam_bytes);
    eprintln!(
        "copy {:.3}; lora {lora:?}; full {full:?}",
        base.copy_accuracy
    );
    let mut probe = ch13_optimizations::lora_run::copy_model(&base.model, None);
    let (_, before) = ch13_optimizations::lora_run::evaluate(
        &mut probe,
        &base.task,
        &base.heldout,
        true,
    );
    assert!(
        lora.heldout_loss < 0.5 * before,
        "LoRA: {} from {before}",
        lora.heldout_loss
    );
    assert!(
        full.heldout_loss < 0.5 * before,
        "full: {} from {before}",
        full.heldout_loss
    );
}

#[test]
fn the_run_is_the_same_on_one_thread_and_two() {
    let s = LoraSetup::tiny();
    let go = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let r = pool.install(|| run(&s, None, |_| {}).unwrap());
        (
            r.copy_accuracy,
            r.outcomes
                .iter()
                .map(|o| (o.accuracy, o.heldout_loss))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(go(1), go(2));
}

/// A 4-bit stand-in for NF4 (absmax per row onto 15 even levels; not QLoRA's codec):
/// the fine-tuning sees the transformed base, and LoRA still learns on it.
#[test]
fn a_transformed_base_is_what_lora_trains_on() {
    let q4 = |w: ArrayView2<f32>| -> Array2<f32> {
        let mut out = w.to_owned();
        for mut row in out.rows_mut() {
            let m = row.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
            row.mapv_inplace(|v| (v / m * 7.0).round() / 7.0 * m);
        }
        out
    };
    let s = LoraSetup::tiny();
    let base = pretrain(&s);
    let cfg = LoraConfig {
        rank: 4,
        alpha: s.alpha,
        targets: Targets::All,
    };
    let (model, o) = finetune(&s, &base, Method::Lora(cfg), Some(&q4)).unwrap();
    let w = base.model.blocks[0].ffn.w1.value.view();
    assert_eq!(
        model.blocks[0].ffn.w1.value,
        q4(w),
        "the frozen base is the transformed one"
    );
    assert_ne!(model.blocks[0].ffn.w1.value, w);
    let mut probe = ch13_optimizations::lora_run::copy_model(&base.model, Some(&q4));
    let (_, before) = ch13_optimizations::lora_run::evaluate(
        &mut probe,
        &base.task,
        &base.heldout,
        true,
    );
    assert!(
        o.heldout_loss < 0.5 * before,
        "LoRA on the 4-bit base: {} from {before}",
        o.heldout_loss
    );
}
