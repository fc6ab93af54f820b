//! Tier 1: the new parts' backward passes against central finite differences: the
//! embeddings (three tables and a LayerNorm), the pooler, and a whole tiny BERT with a
//! padded batch.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch05_encoder::block::padding_mask;
use ch08_encoder_only::bert::Bert;
use ch08_encoder_only::config::BertConfig;
use ch08_encoder_only::embeddings::BertEmbeddings;
use ndarray::{Array2, Array3, Axis, Ix3};

const TOL: f32 = 1e-2;

fn checker() -> GradCheck {
    GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    }
}

/// A batch of two: item 0 is sentence A then B, item 1 is shorter and padded.
fn batch() -> (Array2<usize>, Array2<usize>, Array2<bool>) {
    let ids = Array2::from_shape_vec((2, 5), vec![2, 5, 3, 6, 3, 2, 7, 7, 3, 0]).unwrap();
    let segments =
        Array2::from_shape_vec((2, 5), vec![0, 0, 0, 1, 1, 0, 0, 0, 0, 0]).unwrap();
    (ids, segments, padding_mask(&[5, 4], 5))
}

/// BERT's N(0, 0.02²) tables make the summed rows so small that the LayerNorm after
/// them divides by ≈ 0.035: a finite-difference step of 1e-2 is then no longer small.
/// Unit-scale tables keep the check about the code, not about the step.
fn unit_tables(emb: &mut BertEmbeddings, seed: u64) {
    let mut rng = seeded_rng(seed);
    for table in [
        &mut emb.token.table,
        &mut emb.segment.table,
        &mut emb.position.table,
    ] {
        table.value = normal(table.value.dim(), 1.0, &mut rng);
    }
}

/// Σ y ⊙ r in f64: the base value is subtracted before rounding to f32.
fn loss(y: &Array3<f32>, r: &Array3<f32>) -> f64 {
    y.iter()
        .zip(r)
        .map(|(&y, &r)| f64::from(y) * f64::from(r))
        .sum()
}

#[test]
fn embeddings_every_table_and_the_norm() {
    let cfg = BertConfig::tiny(10);
    let mut emb = BertEmbeddings::new(&cfg, &mut seeded_rng(1));
    unit_tables(&mut emb, 11);
    let (ids, segments, _) = batch();
    let r = random_upstream(&[2, 5, 16], 2)
        .into_dimensionality::<Ix3>()
        .unwrap();
    emb.zero_grad();
    let y = emb.forward(&ids, &segments);
    emb.backward(&r);
    let base = loss(&y, &r);
    let reports = checker().check_module(&mut emb, |m| {
        (loss(&m.forward(&ids, &segments), &r) - base) as f32
    });
    assert_eq!(reports.len(), 5, "token, segment, position, gamma, beta");
    for (name, report) in reports {
        report.assert_within(TOL, &format!("BERT embeddings: dL/d{name}"));
    }
}

#[test]
fn pooler_tanh_on_cls() {
    let mut bert = Bert::new(BertConfig::tiny(10), &mut seeded_rng(3));
    let x: Array3<f32> = normal((2, 5, 16), 1.0, &mut seeded_rng(4));
    // check_layer wants y in x's rank: the pooled [B, C] is seen as [B, 1, C].
    let reports = checker().check_layer(
        &mut bert.pooler,
        &x,
        5,
        |m, x| m.forward(x).insert_axis(Axis(1)),
        |m, dy| m.backward(&dy.index_axis(Axis(1), 0).to_owned(), 5),
    );
    for (name, report) in reports {
        report.assert_within(TOL, &format!("pooler: dL/d{name}"));
    }
}

#[test]
fn whole_bert_with_a_padded_batch() {
    let cfg = BertConfig::tiny(10);
    let mut bert = Bert::new(cfg, &mut seeded_rng(6));
    unit_tables(&mut bert.embeddings, 12);
    let (ids, segments, pad) = batch();
    let r = random_upstream(&[2, 5, 16], 7)
        .into_dimensionality::<Ix3>()
        .unwrap();
    bert.zero_grad();
    let y = bert.forward(&ids, &segments, Some(&pad));
    bert.backward(&r);
    let base = loss(&y, &r);
    // The key bias's true gradient is exactly 0 (softmax ignores a shift shared by all
    // keys), so its numeric gradient is pure f32 noise, ≈ 1e-4 through two blocks: a
    // floor of 3e-2 compares such near-zero gradients absolutely at 3e-4.
    let check = GradCheck {
        floor: 3e-2,
        ..checker()
    };
    let reports = check.check_module(&mut bert, |m| {
        (loss(&m.forward(&ids, &segments, Some(&pad)), &r) - base) as f32
    });
    // 5 embedding tensors, 2 blocks × 12, 2 pooler tensors (no gradient: unused here).
    assert_eq!(reports.len(), 5 + 24 + 2);
    for (name, report) in reports {
        report.assert_within(TOL, &format!("BERT: dL/d{name}"));
    }
}
