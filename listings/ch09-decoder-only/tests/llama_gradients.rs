//! Tier 1: the trainable Llama's new parts against central finite differences:
//! grouped-query attention with RoPE at its three settings (MQA: 1 K/V head; GQA: 2 K/V
//! heads for 4 query heads; MHA: 4 of 4), one Llama block, and the whole model with an
//! untied and a tied LM head. RMSNorm and SwiGLU are Chapter 4's, checked there.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch09_decoder_only::gqa::GroupedQueryAttention;
use ch09_decoder_only::llama_model::{
    Llama, LlamaBlock, LlamaConfigError, LlamaTrainConfig,
};
use ndarray::{Array2, Ix2};

const TOL: f32 = 1e-2;

fn checker() -> GradCheck {
    GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    }
}

fn tiny(n_kv_heads: usize, tie_embeddings: bool) -> LlamaTrainConfig {
    LlamaTrainConfig {
        vocab_size: 13,
        d_model: 16,
        n_layers: 2,
        n_heads: 4,
        n_kv_heads,
        d_ff: 24,
        rope_base: 10_000.0,
        norm_eps: 1e-6,
        tie_embeddings,
    }
}

#[test]
fn grouped_query_attention_at_mqa_gqa_and_mha() {
    for n_kv in [1, 2, 4] {
        let mut attn =
            GroupedQueryAttention::new(16, (4, n_kv, 4), 100.0, &mut seeded_rng(1));
        let x: Array2<f32> = normal((6, 16), 1.0, &mut seeded_rng(2));
        let reports = checker().check_layer(
            &mut attn,
            &x,
            3,
            |m, x| m.forward(x),
            |m, dy| m.backward(dy),
        );
        assert_eq!(reports.len(), 5, "x, wq, wk, wv, wo");
        for (name, report) in reports {
            eprintln!("gqa {n_kv} K/V heads, d{name}: {report}");
            report.assert_within(TOL, &format!("GQA with {n_kv} K/V heads: dL/d{name}"));
        }
    }
}

#[test]
fn llama_block() {
    let mut block = LlamaBlock::new(&tiny(2, false), &mut seeded_rng(4));
    // Norm weights away from 1, so a wrong use of them shows.
    block.attn_norm.weight.value = normal(16, 0.3, &mut seeded_rng(5)) + 1.0;
    block.ffn_norm.weight.value = normal(16, 0.3, &mut seeded_rng(6)) + 1.0;
    let x: Array2<f32> = normal((5, 16), 1.0, &mut seeded_rng(7));
    let reports = checker().check_layer(
        &mut block,
        &x,
        8,
        |m, x| m.forward(x),
        |m, dy| m.backward(dy),
    );
    assert_eq!(reports.len(), 10, "x and nine parameters");
    for (name, report) in reports {
        eprintln!("block d{name}: {report}");
        report.assert_within(TOL, &format!("Llama block: dL/d{name}"));
    }
}

#[test]
fn whole_llama_untied_and_tied() {
    for tie in [false, true] {
        let mut model = Llama::new(tiny(2, tie), &mut seeded_rng(9)).unwrap();
        // Larger tables than the 0.02 init, so the logits depend on them measurably.
        model.embed.table.value = normal((13, 16), 0.5, &mut seeded_rng(10));
        if let Some(w) = &mut model.lm_head {
            w.value = normal((16, 13), 0.5, &mut seeded_rng(11));
        }
        let ids = [3, 7, 1, 12, 7, 0];
        let r = random_upstream(&[6, 13], 12)
            .into_dimensionality::<Ix2>()
            .unwrap();
        let dot = |y: &Array2<f32>| -> f64 {
            y.iter()
                .zip(&r)
                .map(|(&y, &r)| f64::from(y) * f64::from(r))
                .sum()
        };
        model.zero_grad();
        let base = dot(&model.forward(&ids));
        model.backward(&r);
        // Through two blocks in f32 a probe is off by up to ≈ 3e-3 absolute (rounding
        // at small steps, the softmax's curvature at large ones): gradients under 0.1
        // are compared absolutely against that floor, at 3e-2. The parts are checked
        // above at 1e-2, and the whole model against PyTorch in llama_golden.rs.
        let whole = GradCheck {
            floor: 1e-1,
            ..checker()
        };
        let reports =
            whole.check_module(&mut model, |m| (dot(&m.forward(&ids)) - base) as f32);
        assert_eq!(reports.len(), if tie { 20 } else { 21 });
        for (name, report) in reports {
            eprintln!("llama (tied {tie}) d{name}: {report}");
            report.assert_within(3e-2, &format!("Llama (tied: {tie}): dL/d{name}"));
        }
    }
}

#[test]
fn config_errors_name_the_field() {
    let bad = LlamaTrainConfig {
        n_kv_heads: 3,
        ..tiny(2, false)
    };
    let e = bad.validate().unwrap_err();
    assert_eq!(
        e,
        LlamaConfigError::KvHeads {
            n_heads: 4,
            n_kv_heads: 3
        }
    );
    assert!(
        e.to_string()
            .contains("n_kv_heads = 3 must divide n_heads = 4"),
        "{e}"
    );
    let odd = LlamaTrainConfig {
        d_model: 12,
        n_heads: 4,
        ..tiny(2, false)
    };
    assert_eq!(
        odd.validate().unwrap_err(),
        LlamaConfigError::OddHeadDim { head_dim: 3 }
    );
    let zero = LlamaTrainConfig {
        n_kv_heads: 0,
        ..tiny(2, false)
    };
    assert_eq!(
        zero.validate().unwrap_err(),
        LlamaConfigError::Zero {
            field: "n_kv_heads"
        }
    );
    let width = LlamaTrainConfig {
        d_model: 18,
        ..tiny(2, false)
    };
    assert!(
        width
            .validate()
            .unwrap_err()
            .to_string()
            .contains("d_model = 18")
    );
    assert!(Llama::new(bad, &mut seeded_rng(0)).is_err());
}
