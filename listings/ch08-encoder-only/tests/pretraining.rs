//! The pretraining run's parts (section "Pretraining on the book"): the loss and its
//! gradient, the masked-position forward and backward against finite differences and
//! against the full forward, the schedule, the same-page pairs, the word-overlap
//! baseline, and the book's pages and sentences.

use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::rows;
use ch01_foundations::module::Module;
use ch02_input::wordpiece::SpecialIds;
use ch05_encoder::block::padding_mask;
use ch08_encoder_only::book_corpus::{book_pages, sentences, split_pages};
use ch08_encoder_only::config::BertConfig;
use ch08_encoder_only::heads::BertForPreTraining;
use ch08_encoder_only::pretrain_data::{NspLabel, pack_pair};
use ch08_encoder_only::pretraining::{
    fit_overlap_threshold, overlap_accuracy, pretraining_loss, random_spans,
    same_page_pairs, warmup_linear_lr, word_overlap,
};
use ndarray::{Array2, Axis, array};

const SP: SpecialIds = SpecialIds {
    pad: 0,
    unk: 1,
    cls: 2,
    sep: 3,
    mask: 4,
};

#[test]
fn loss_is_the_two_means_and_its_gradient_matches_finite_differences() {
    let mlm = normal((4, 7), 1.0, &mut seeded_rng(1));
    let nsp = normal((3, 2), 1.0, &mut seeded_rng(2));
    let targets = [Some(5), None, Some(0), Some(6)];
    let labels = [0, 1, 1];
    let (parts, dmlm, dnsp) = pretraining_loss(&mlm, &targets, &nsp, &labels);
    // By hand: the mean of -log softmax over the three labelled rows and the 3 pairs.
    let nll = |x: &Array2<f32>, i: usize, y: usize| {
        let row = x.row(i);
        let lse = row.iter().map(|v| v.exp()).sum::<f32>().ln();
        lse - row[y]
    };
    let mlm_want = (nll(&mlm, 0, 5) + nll(&mlm, 2, 0) + nll(&mlm, 3, 6)) / 3.0;
    let nsp_want = (nll(&nsp, 0, 0) + nll(&nsp, 1, 1) + nll(&nsp, 2, 1)) / 3.0;
    assert!(
        (parts.mlm - mlm_want).abs() < 1e-5,
        "{parts:?} vs {mlm_want}"
    );
    assert!(
        (parts.nsp - nsp_want).abs() < 1e-5,
        "{parts:?} vs {nsp_want}"
    );
    assert!((parts.total() - mlm_want - nsp_want).abs() < 1e-5);
    assert!(
        dmlm.row(1).iter().all(|&g| g == 0.0),
        "an unlabelled row has no gradient"
    );
    let check = GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    };
    let r = check.check(&mlm, &dmlm, |x| {
        pretraining_loss(x, &targets, &nsp, &labels).0.total()
    });
    r.assert_within(1e-2, "dL/dmlm");
    let r = check.check(&nsp, &dnsp, |x| {
        pretraining_loss(&mlm, &targets, x, &labels).0.total()
    });
    r.assert_within(1e-2, "dL/dnsp");
}

/// A batch of two, item 1 padded, and four masked positions (flat b·T + t).
fn batch() -> (Array2<usize>, Array2<usize>, Array2<bool>, Vec<usize>) {
    let ids = Array2::from_shape_vec((2, 5), vec![2, 4, 3, 6, 3, 2, 7, 4, 3, 0]).unwrap();
    let segments =
        Array2::from_shape_vec((2, 5), vec![0, 0, 0, 1, 1, 0, 0, 0, 0, 0]).unwrap();
    (ids, segments, padding_mask(&[5, 4], 5), vec![1, 3, 6, 7])
}

#[test]
fn masked_forward_is_the_full_forward_at_the_masked_rows() {
    let mut model = BertForPreTraining::new(BertConfig::tiny(10), &mut seeded_rng(3));
    let (ids, segments, pad, positions) = batch();
    let (full_mlm, full_nsp) = model.forward(&ids, &segments, Some(&pad));
    let (mlm, nsp) = model.forward_masked(&ids, &segments, Some(&pad), &positions);
    assert_eq!(mlm, rows(&full_mlm).select(Axis(0), &positions));
    assert_eq!(nsp, full_nsp);
}

#[test]
fn masked_backward_matches_finite_differences_on_every_parameter() {
    let cfg = BertConfig::tiny(10);
    let mut model = BertForPreTraining::new(cfg, &mut seeded_rng(4));
    // Unit-scale tables, as in tests/gradients.rs: with N(0, 0.02²) rows the
    // embedding LayerNorm divides by ≈ 0.035 and a step of 1e-2 is no longer small.
    let mut rng = seeded_rng(5);
    for table in [
        &mut model.bert.embeddings.token.table,
        &mut model.bert.embeddings.segment.table,
        &mut model.bert.embeddings.position.table,
    ] {
        table.value = normal(table.value.dim(), 1.0, &mut rng);
    }
    let (ids, segments, pad, positions) = batch();
    let targets = [Some(5), Some(9), Some(7), Some(4)];
    let labels = [0, 1];
    model.zero_grad();
    let (mlm, nsp) = model.forward_masked(&ids, &segments, Some(&pad), &positions);
    let (_, dmlm, dnsp) = pretraining_loss(&mlm, &targets, &nsp, &labels);
    model.backward_masked(&dmlm, &dnsp, &positions, ids.dim());
    let check = GradCheck {
        eps: 1e-2,
        floor: 0.1,
        ..GradCheck::default()
    };
    let reports = check.check_module(&mut model, |m| {
        let (mlm, nsp) = m.forward_masked(&ids, &segments, Some(&pad), &positions);
        pretraining_loss(&mlm, &targets, &nsp, &labels).0.total()
    });
    assert_eq!(reports.len(), 5 + 24 + 2 + 5 + 2);
    for (name, report) in reports {
        report.assert_within(2e-2, &format!("pretraining loss: dL/d{name}"));
    }
}

#[test]
fn schedule_warms_up_linearly_then_decays_to_zero() {
    let lr = |s| warmup_linear_lr(s, 10, 110, 1e-3);
    assert!((lr(1) - 1e-4).abs() < 1e-9);
    assert!((lr(10) - 1e-3).abs() < 1e-9);
    assert!((lr(60) - 5e-4).abs() < 1e-9);
    assert_eq!(lr(110), 0.0);
}

#[test]
fn same_page_pairs_take_b_from_a_s_own_page_but_never_its_neighbour() {
    // Every token id names its page (10·page) and its sentence (+ i).
    let docs: Vec<Vec<Vec<u32>>> = (1..4u32)
        .map(|d| (0..6u32).map(|i| vec![10 * d + i]).collect())
        .collect();
    let pairs = same_page_pairs(&docs, 16, &SP, &mut seeded_rng(6));
    assert_eq!(pairs.len(), 3 * 5);
    let mut not_next = 0;
    for p in &pairs {
        let (a, b) = (p.ids[1], p.ids[3]);
        assert_eq!(a / 10, b / 10, "B from another page: {p:?}");
        match p.label {
            NspLabel::IsNext => assert_eq!(b, a + 1),
            NspLabel::NotNext => {
                not_next += 1;
                assert!(b != a && b != a + 1, "{p:?}");
            }
        }
    }
    assert!((3..=12).contains(&not_next), "{not_next} NotNext of 15");
}

#[test]
fn spans_keep_the_sentences_in_order() {
    let doc: Vec<Vec<u32>> = (0..20u32).map(|i| vec![i, 100 + i]).collect();
    let spans = random_spans(&doc, 3, &mut seeded_rng(7));
    assert_eq!(spans.concat(), doc.concat());
    assert!(spans.iter().all(|s| (2..=6).contains(&s.len())));
    assert!(
        spans.len() < doc.len(),
        "some span has two sentences or more"
    );
}

#[test]
fn overlap_threshold_separates_what_it_can() {
    let pair = |a: &[u32], b: &[u32], label| pack_pair(a, b, label, 32, &SP);
    let p = pair(&[5, 6, 7], &[6, 7, 8], NspLabel::IsNext);
    assert!((word_overlap(&p, &SP) - 0.5).abs() < 1e-12); // {6, 7} of {5, 6, 7, 8}
    let pairs = vec![
        p,
        pair(&[5, 6], &[5, 6], NspLabel::IsNext),
        pair(&[5, 6], &[7, 8], NspLabel::NotNext),
        pair(&[5, 6, 7], &[7, 8, 9], NspLabel::NotNext),
    ];
    let (theta, acc) = fit_overlap_threshold(&pairs, &SP);
    assert_eq!(acc, 1.0);
    assert!(theta > 0.2 && theta <= 0.5, "θ = {theta}");
    assert_eq!(overlap_accuracy(&pairs, theta, &SP), 1.0);
}

#[test]
fn the_book_has_its_pages_and_its_prose_has_no_code() {
    let pages = book_pages();
    assert_eq!(
        pages.len(),
        10 + 45,
        "Chapter 1's 10 pages and 45 of Chapters 2-7"
    );
    assert_eq!(pages[0].name, "ch01: Calculus and checking gradients");
    assert_eq!(pages[10].name, "src/ch02-input/bpe.md");
    assert!(
        pages[10].text.starts_with("# "),
        "{:?}",
        &pages[10].text[..40]
    );
    let (train, heldout) = split_pages(&pages, 5);
    assert_eq!((train.len(), heldout.len()), (44, 11));
    assert_eq!(heldout[0].name, pages[4].name);
    let text = "# Title\n\nOne sentence. Two?\nStill two! Three\n\n```rust\nlet x = 1. 2;\n```\n\
                $$\na. b\n$$\n| a. | b |\n{{#include x.rs:y}}\nFour.";
    assert_eq!(
        sentences(text),
        ["One sentence.", "Two?", "Still two!", "Three", "Four."]
    );
    let all: Vec<String> = pages.iter().flat_map(|p| sentences(p.text)).collect();
    assert!(all.iter().all(|s| !s.contains("```") && !s.contains("{{#")));
}

#[test]
fn no_masked_position_gives_no_mlm_loss_and_uniform_nsp_gives_ln_2() {
    let nsp = array![[0.0f32, 0.0]];
    let (parts, _, _) = pretraining_loss(&Array2::zeros((0, 3)), &[], &nsp, &[1]);
    assert!((parts.nsp - std::f32::consts::LN_2).abs() < 1e-6);
    assert_eq!(parts.mlm, 0.0);
}

/// The same seed gives the same run, bit for bit, on 1 thread and on 2.
#[test]
fn a_short_run_is_the_same_on_one_thread_and_two() {
    use ch08_encoder_only::pretrain_run::{
        PretrainConfig, book_data, heldout_sets, pretrain,
    };
    let cfg = PretrainConfig {
        steps: 4,
        warmup: 2,
        eval_every: 2,
        eval_draws: 1,
        ..PretrainConfig::full()
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        pool.install(|| {
            let data = book_data(&cfg).expect("the book");
            let held = heldout_sets(&data, &cfg).expect("held-out pairs");
            let (_, log) =
                pretrain(&data, &held.random[..2], &cfg, |_, _| {}).expect("a run");
            (log.steps, log.heldout)
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one.0.len(), 4);
}
