//! Dropout in BERT: the whole model's gradients with the masks held fixed (each probe
//! re-seeds the training generator), down to the three embedding tables; evaluation
//! mode and p = 0 changing nothing; and masks that do not depend on the thread count.

mod common;

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::seeded_rng;
use ch01_foundations::linalg::in_pool;
use ch01_foundations::module::{Mode, Module};
use ch08_encoder_only::bert::Bert;
use ch08_encoder_only::config::BertConfig;
use common::{batch, loss, unit_tables};
use ndarray::Ix3;

/// BERT's two rates, high enough that every mask drops something.
const HIDDEN: f32 = 0.3;
const ATTENTION: f32 = 0.2;

/// A tiny BERT with unit-scale tables (see tests/common) and dropout on.
fn bert(seed: u64) -> Bert {
    let mut bert = Bert::new(BertConfig::tiny(10), &mut seeded_rng(seed));
    unit_tables(&mut bert.embeddings, seed + 100);
    bert.set_dropout(HIDDEN, ATTENTION);
    bert
}

/// Training mode from a fresh generator of a fixed seed: every forward pass after it
/// draws the same masks, so finite differences see one fixed function.
fn train(m: &mut impl Module, seed: u64) {
    m.set_mode(&mut Mode::Train(&mut seeded_rng(seed)));
}

#[test]
fn whole_bert_gradients_with_dropout_down_to_the_tables() {
    let mut bert = bert(6);
    let (ids, segments, pad) = batch();
    let r = random_upstream(&[2, 5, 16], 7)
        .into_dimensionality::<Ix3>()
        .unwrap();
    bert.zero_grad();
    train(&mut bert, 9);
    let y = bert.forward(&ids, &segments, Some(&pad));
    bert.backward(&r);
    let base = loss(&y, &r);
    // As in tests/gradients.rs: the key bias's true gradient is 0, its numeric one noise.
    let check = GradCheck {
        eps: 1e-2,
        floor: 3e-2,
        ..GradCheck::default()
    };
    let reports = check.check_module(&mut bert, |m| {
        train(m, 9);
        (loss(&m.forward(&ids, &segments, Some(&pad)), &r) - base) as f32
    });
    assert_eq!(reports.len(), 5 + 24 + 2);
    for (name, report) in reports {
        report.assert_within(1e-2, &format!("BERT with dropout: dL/d{name}"));
    }
}

#[test]
fn dropout_changes_training_outputs_but_not_evaluation_ones() {
    let (ids, segments, pad) = batch();
    let mut plain = Bert::new(BertConfig::tiny(10), &mut seeded_rng(6));
    let mut dropped = Bert::new(BertConfig::tiny(10), &mut seeded_rng(6));
    dropped.set_dropout(HIDDEN, ATTENTION);
    let reference = plain.forward(&ids, &segments, Some(&pad));
    dropped.set_mode(&mut Mode::Eval);
    assert_eq!(dropped.forward(&ids, &segments, Some(&pad)), reference);
    train(&mut dropped, 3);
    let trained = dropped.forward(&ids, &segments, Some(&pad));
    let changed = trained
        .iter()
        .zip(&reference)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        changed > trained.len() / 2,
        "{changed} of {}",
        trained.len()
    );
    // p = 0 in training mode is the identity too.
    train(&mut plain, 3);
    assert_eq!(plain.forward(&ids, &segments, Some(&pad)), reference);
}

#[test]
fn masks_are_the_same_at_one_and_two_threads() {
    let (ids, segments, pad) = batch();
    let run = |threads| {
        in_pool(threads, || {
            let mut b = bert(6);
            train(&mut b, 5);
            b.forward(&ids, &segments, Some(&pad))
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
}
