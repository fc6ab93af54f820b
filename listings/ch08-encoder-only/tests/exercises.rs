//! The exercises' solutions (src/exercises.rs): whole-word masking, sentence-order
//! prediction, and [CLS] against mean pooling on the real all-MiniLM-L6-v2 (the last
//! needs `cargo xtask models`).

mod common;

use ch01_foundations::init::seeded_rng;
use ch02_input::wordpiece::Vocab;
use ch08_encoder_only::exercises::{
    compare_pooling, mask_whole_words, pooling_table, sop_pairs, touches_special,
    word_pieces,
};
use ch08_encoder_only::pretrain_data::NspLabel;
use ch08_encoder_only::tasks::UNSEEN_WORDS;
use rand::RngExt;

/// The five special tokens, then 10 word-initial pieces and 10 `##` continuations.
fn vocab() -> Vocab {
    let mut tokens: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .map(str::to_owned)
        .to_vec();
    tokens.extend((0..10).map(|i| format!("w{i}")));
    tokens.extend((0..10).map(|i| format!("##p{i}")));
    Vocab::from_tokens(&tokens).unwrap()
}

/// [CLS] words [SEP] [PAD]…: each word is a start piece and 0-3 continuations.
fn sentence(rng: &mut impl rand::Rng) -> Vec<u32> {
    let mut ids = vec![2];
    for _ in 0..rng.random_range(3..12) {
        ids.push(rng.random_range(5..15));
        let pieces = rng.random_range(0..4);
        ids.extend((0..pieces).map(|_| rng.random_range(15..25u32)));
    }
    ids.push(3);
    ids.extend(std::iter::repeat_n(0, rng.random_range(0..3)));
    ids
}

#[test]
fn whole_word_masking_takes_every_piece_of_a_word_or_none() {
    let (v, mut rng) = (vocab(), seeded_rng(1));
    let sp = v.special();
    let (mut ordinary, mut chosen, mut masked) = (0, 0, 0);
    for _ in 0..2000 {
        let ids = sentence(&mut rng);
        let m = mask_whole_words(&ids, &v, &mut rng);
        assert!(!touches_special(&m, &ids, &sp), "{ids:?} -> {m:?}");
        // A continuation piece is labelled exactly when the piece before it is.
        for (t, id) in ids.iter().enumerate().skip(1) {
            if (15..25).contains(id) {
                assert_eq!(m.labels[t].is_some(), m.labels[t - 1].is_some(), "{m:?}");
            }
        }
        let n = ids.iter().filter(|&&x| x >= 5).count();
        let k = m.labels.iter().flatten().count();
        assert!(
            k <= ((n as f64 * 0.15).round() as usize).max(1),
            "{k} of {n}"
        );
        ordinary += n;
        chosen += k;
        masked += m.ids.iter().filter(|&&x| x == sp.mask).count();
    }
    // Skipping words that overshoot leaves the rate a little under 15 %.
    let rate = chosen as f64 / ordinary as f64;
    assert!((0.10..=0.15).contains(&rate), "{rate}");
    let mask_share = masked as f64 / chosen as f64;
    assert!((0.76..=0.84).contains(&mask_share), "{mask_share}");
    let again = mask_whole_words(&sentence(&mut seeded_rng(7)), &v, &mut seeded_rng(8));
    let ids = sentence(&mut seeded_rng(7));
    assert_eq!(again, mask_whole_words(&ids, &v, &mut seeded_rng(8)));
}

#[test]
fn sentence_order_pairs_are_consecutive_and_swapped_half_the_time() {
    // Sentence j of document d is the single token 100·d + j + 5.
    let docs: Vec<Vec<Vec<u32>>> = (0..20)
        .map(|d| (0..8).map(|j| vec![100 * d + j + 5]).collect())
        .collect();
    let sp = vocab().special();
    let pairs = sop_pairs(&docs, 16, &sp, &mut seeded_rng(3)).unwrap();
    assert_eq!(pairs.len(), 20 * 7);
    let mut swapped = 0;
    for p in &pairs {
        let (a, b) = (p.ids[1], p.ids[3]);
        assert_eq!(p.ids, [sp.cls, a, sp.sep, b, sp.sep]);
        assert_eq!(p.segments, [0, 0, 0, 1, 1]);
        assert_eq!((a - 5) / 100, (b - 5) / 100, "one document: no topic shift");
        match p.label {
            NspLabel::IsNext => assert_eq!(b, a + 1),
            NspLabel::NotNext => {
                assert_eq!(a, b + 1);
                swapped += 1;
            }
        }
    }
    assert!((50..=90).contains(&swapped), "{swapped} of 140");
    assert!(sop_pairs(&docs, 4, &sp, &mut seeded_rng(3)).is_err());
}

/// Six paraphrase pairs; every a_i with every other b_j is an unrelated pair.
pub const PAIRS: [(&str, &str); 6] = [
    (
        "A man is playing a guitar.",
        "Someone plays an acoustic guitar.",
    ),
    (
        "The cat sleeps on the sofa.",
        "A kitten is napping on the couch.",
    ),
    (
        "The stock market fell sharply today.",
        "Share prices dropped a lot today.",
    ),
    (
        "She is cooking pasta for dinner.",
        "A woman prepares spaghetti for the evening meal.",
    ),
    (
        "The train to Paris was delayed.",
        "Our Paris train arrived late.",
    ),
    (
        "Children are playing football in the park.",
        "Kids kick a ball around in the park.",
    ),
];

#[test]
fn mean_pooling_separates_paraphrases_better_than_cls() {
    let mut enc = common::minilm().lock().unwrap();
    let (mean, cls) = compare_pooling(&mut enc, &PAIRS);
    insta::assert_snapshot!("pooling", pooling_table(&mean, &cls));
    // What the exercise's answer says: both separate the pairs, mean pooling by twice
    // the margin, and [CLS] vectors of unrelated sentences are far from orthogonal.
    assert!(
        cls.margin() > 0.0 && mean.margin() > 1.5 * cls.margin(),
        "{mean:?} {cls:?}"
    );
    assert!(mean.unrelated_mean.abs() < 0.1, "{mean:?}");
    assert!(cls.unrelated_mean > 0.4, "{cls:?}");
}

#[test]
fn unseen_sentiment_words_in_pieces() {
    let enc = common::minilm().lock().unwrap();
    let words: Vec<&str> = UNSEEN_WORDS.iter().flatten().copied().collect();
    let pieces = word_pieces(&enc.tokenizer, &words);
    let table: String = (pieces.iter())
        .map(|(w, p)| format!("{w:<11} {}\n", p.join(" ")))
        .collect();
    insta::assert_snapshot!("unseen-pieces", table);
    // The answer's count: words that MiniLM's vocabulary keeps whole.
    let whole = pieces.iter().filter(|(_, p)| p.len() == 1).count();
    assert_eq!((whole, words.len()), (12, 16), "{table}");
}
