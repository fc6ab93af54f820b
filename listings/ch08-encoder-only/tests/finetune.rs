//! Fine-tuning's parts without the real model: both heads' backward passes through the
//! cross-entropy (ignored positions included) against finite differences; the seeded
//! data (held-out templates, words and names really held out); word-to-piece label
//! alignment; the schedule; and the entity metric against seqeval (fixture:
//! tools/golden/ch08_seqeval.py).

use std::collections::BTreeSet;

use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::{normal, seeded_rng};
use ch02_input::wordpiece::WordPiece;
use ch02_input::wordpiece::vocab::Vocab;
use ch07_transformer::loss::label_smoothed_cross_entropy;
use ch08_encoder_only::bert::Bert;
use ch08_encoder_only::config::BertConfig;
use ch08_encoder_only::finetune::{
    Batch, Example, Head, Recipe, SequenceClassifier, TokenClassifier, linear_schedule,
};
use ch08_encoder_only::seqeval::{Entity, TagError, entities, precision_recall_f1};
use ch08_encoder_only::tasks::{
    IGNORE, NerData, SEEN_WORDS, SentimentData, TAGS, TEST_TEMPLATES, UNSEEN_WORDS, align,
};

const TOL: f32 = 1e-2;

/// A tiny BERT whose tables are unit-scale (see tests/gradients.rs: with BERT's 0.02
/// tables, the embedding LayerNorm makes a 1e-2 step too large for the check).
fn tiny_bert(seed: u64) -> Bert {
    let mut bert = Bert::new(BertConfig::tiny(10), &mut seeded_rng(seed));
    let mut rng = seeded_rng(seed + 100);
    for t in [
        &mut bert.embeddings.token.table,
        &mut bert.embeddings.segment.table,
        &mut bert.embeddings.position.table,
    ] {
        t.value = normal(t.value.dim(), 1.0, &mut rng);
    }
    bert
}

/// Two items, the second shorter (padded); targets as each head wants them.
fn items(token_level: bool) -> Vec<Example> {
    let (a, b) = (vec![2, 5, 6, 7, 3], vec![2, 8, 5, 3]);
    let targets = |ids: &[u32], label: usize| -> Vec<usize> {
        if !token_level {
            return vec![label];
        }
        // [CLS] and [SEP] ignored, one inner piece ignored as a word's second piece
        (0..ids.len())
            .map(|i| match i {
                0 => IGNORE,
                i if i == ids.len() - 1 => IGNORE,
                2 => IGNORE,
                i => (i + label) % 3,
            })
            .collect()
    };
    vec![
        Example {
            targets: targets(&a, 1),
            ids: a,
        },
        Example {
            targets: targets(&b, 0),
            ids: b,
        },
    ]
}

/// Runs the cross-entropy gradient check on a head over a padded batch.
fn check_head<H: Head>(model: &mut H, token_level: bool, what: &str) {
    let data = items(token_level);
    let refs: Vec<&Example> = data.iter().collect();
    let batch = Batch::new(&refs, 0);
    let targets = model.targets(&refs, batch.ids.ncols());
    let loss = |m: &mut H| {
        let logits = m.forward(&batch);
        label_smoothed_cross_entropy(&logits, &targets, IGNORE, 0.0)
    };
    model.zero_grad();
    let (_, dlogits) = loss(model);
    model.backward(&dlogits);
    // The key bias's true gradient is 0 (see tests/gradients.rs): a floor keeps its
    // f32 noise from counting as a relative error.
    let check = GradCheck {
        eps: 1e-2,
        floor: 3e-2,
        ..GradCheck::default()
    };
    let reports = check.check_module(model, |m| loss(m).0);
    assert!(reports.len() >= 30, "{what}: every parameter is checked");
    for (name, report) in reports {
        report.assert_within(TOL, &format!("{what}: dL/d{name}"));
    }
}

#[test]
fn sequence_classifier_gradients_through_the_pooler() {
    let mut rng = seeded_rng(31);
    let mut model = SequenceClassifier::new(tiny_bert(30), 3, &mut rng);
    model.classifier.w.value = normal((16, 3), 1.0, &mut rng); // not BERT's small init
    check_head(&mut model, false, "sequence classifier");
}

#[test]
fn token_classifier_gradients_with_ignored_positions() {
    let mut rng = seeded_rng(41);
    let mut model = TokenClassifier::new(tiny_bert(40), 3, &mut rng);
    model.classifier.w.value = normal((16, 3), 1.0, &mut rng);
    check_head(&mut model, true, "token classifier");
}

#[test]
fn token_targets_ignore_padding_cls_sep_and_later_pieces() {
    let model = TokenClassifier::new(tiny_bert(1), 3, &mut seeded_rng(2));
    let data = items(true);
    let refs: Vec<&Example> = data.iter().collect();
    let t = model.targets(&refs, 5);
    let i = IGNORE;
    assert_eq!(t, vec![i, 2, i, 1, i, i, 1, i, i, i]);
}

#[test]
fn sentiment_test_sets_are_held_out() {
    let data = SentimentData::generate(300, 200, &mut seeded_rng(0));
    let words = |set: &[ch08_encoder_only::tasks::Labelled]| -> BTreeSet<String> {
        set.iter()
            .flat_map(|s| s.text.split(' ').map(str::to_owned))
            .collect()
    };
    let train = words(&data.train);
    for (label, list) in UNSEEN_WORDS.iter().enumerate() {
        for w in list {
            assert!(
                !train.contains(*w),
                "unseen word {w:?} is in the training set"
            );
            assert!(!SEEN_WORDS[1 - label].contains(w) && !SEEN_WORDS[label].contains(w));
        }
    }
    let texts: BTreeSet<&str> = data.train.iter().map(|s| s.text.as_str()).collect();
    for s in data.test_seen.iter().chain(&data.test_unseen) {
        assert!(
            !texts.contains(s.text.as_str()),
            "{:?} is also a training sentence",
            s.text
        );
    }
    // every test sentence has its label's word, and a held-out template
    for (set, lists) in [
        (&data.test_seen, &SEEN_WORDS),
        (&data.test_unseen, &UNSEEN_WORDS),
    ] {
        let positives = set.iter().filter(|s| s.label == 1).count();
        assert!(
            (80..=120).contains(&positives),
            "{positives} positives of 200"
        );
        for s in set.iter() {
            assert!(
                s.text.split(' ').any(|w| lists[s.label].contains(&w)),
                "{s:?}"
            );
            assert!(
                TEST_TEMPLATES.iter().any(|t| matches_template(t, &s.text)),
                "{s:?}"
            );
        }
    }
}

fn strs(s: &[Vec<String>]) -> Vec<Vec<&str>> {
    s.iter()
        .map(|x| x.iter().map(String::as_str).collect())
        .collect()
}

fn matches_template(template: &str, text: &str) -> bool {
    let (t, x): (Vec<&str>, Vec<&str>) =
        (template.split(' ').collect(), text.split(' ').collect());
    t.len() == x.len() && t.iter().zip(&x).all(|(a, b)| a.starts_with('{') || a == b)
}

#[test]
fn ner_test_names_are_held_out_and_tags_are_bio() {
    let data = NerData::generate(300, 200, &mut seeded_rng(0));
    let names = |set: &[ch08_encoder_only::tasks::Tagged]| -> BTreeSet<String> {
        set.iter()
            .flat_map(|s| s.words.iter().zip(&s.tags).filter(|(_, t)| **t != 0))
            .map(|(w, _)| w.clone())
            .collect()
    };
    let (train, test) = (names(&data.train), names(&data.test));
    assert!(
        train.is_disjoint(&test),
        "{:?}",
        train.intersection(&test).collect::<Vec<_>>()
    );
    let mut multi_word = 0;
    for s in data.train.iter().chain(&data.test) {
        assert_eq!(s.words.len(), s.tags.len());
        let tags: Vec<&str> = s.tags.iter().map(|&t| TAGS[t]).collect();
        let ents = entities(&tags, 0).unwrap();
        multi_word += ents.iter().filter(|e| e.end > e.start).count();
        // every entity starts with B-: the generator never writes a bare I-
        for e in &ents {
            assert!(tags[e.start].starts_with("B-"), "{tags:?}");
        }
    }
    assert!(multi_word > 100, "multi-word names occur ({multi_word})");
}

#[test]
fn labels_go_on_first_pieces_only() {
    let vocab = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "new", "york", "play", "##ed",
        "there",
    ];
    let tokens: Vec<String> = vocab.iter().map(|s| s.to_string()).collect();
    let tok = WordPiece::new(Vocab::from_tokens(&tokens).unwrap());
    let words: Vec<String> = ["played", "new", "york", "there"].map(String::from).into();
    let a = align(&tok, &words, &[0, 3, 4, 0]);
    assert_eq!(a.ids, vec![2, 7, 8, 5, 6, 9, 3]);
    assert_eq!(a.labels, vec![IGNORE, 0, IGNORE, 3, 4, 0, IGNORE]);
    assert_eq!(a.word_starts, vec![1, 3, 4, 5]);
}

#[test]
fn schedule_warms_up_then_decays_to_zero() {
    let r = Recipe {
        steps: 100,
        batch: 8,
        lr: 1e-4,
        warmup: 10,
        clip: 1.0,
    };
    let lr = |s| linear_schedule(s, &r);
    let close = |a: f32, b: f32| (a - b).abs() <= 1e-6 * b;
    assert!(close(lr(1), 1e-5));
    assert!(close(lr(10), 1e-4));
    assert!(close(lr(55), 5e-5));
    assert_eq!(lr(100), 0.0);
}

#[test]
fn bad_tags_are_named() {
    assert_eq!(
        entities(&["O", "X-PER"], 3),
        Err(TagError {
            sentence: 3,
            tag: "X-PER".into()
        })
    );
    assert!(entities(&["B-"], 0).is_err());
    assert_eq!(
        entities(&["I-LOC", "I-LOC", "B-LOC"], 0).unwrap(),
        vec![
            Entity {
                kind: "LOC".into(),
                start: 0,
                end: 1
            },
            Entity {
                kind: "LOC".into(),
                start: 2,
                end: 2
            }
        ]
    );
}

/// seqeval 1.2.2's entities and micro P/R/F1 on every fixture case, to 1e-12.
#[test]
fn entity_scores_match_seqeval() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/seqeval.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = doc["cases"].as_object().unwrap();
    assert!(cases.len() >= 10);
    let sentences = |v: &serde_json::Value| -> Vec<Vec<String>> {
        serde_json::from_value(v.clone()).unwrap()
    };
    for (name, case) in cases {
        let (t, p) = (sentences(&case["true"]), sentences(&case["pred"]));
        let (t, p) = (strs(&t), strs(&p));
        for (key, set) in [("true_entities", &t), ("pred_entities", &p)] {
            let want: Vec<Vec<(String, usize, usize)>> =
                serde_json::from_value(case[key].clone()).unwrap();
            let got: Vec<Vec<(String, usize, usize)>> = (set.iter())
                .map(|s| {
                    let e = entities(s, 0).unwrap();
                    e.into_iter().map(|e| (e.kind, e.start, e.end)).collect()
                })
                .collect();
            assert_eq!(got, want, "{name}: {key}");
        }
        let s = precision_recall_f1(&t, &p).unwrap();
        for (what, got) in [
            ("precision", s.precision),
            ("recall", s.recall),
            ("f1", s.f1),
        ] {
            let want = case[what].as_f64().unwrap();
            assert!(
                (got - want).abs() < 1e-12,
                "{name}: {what} {got} vs seqeval {want}"
            );
        }
    }
}
