//! The pretraining data: MLM masking statistics over many seeded draws, the special
//! tokens never chosen, the labels, determinism under a seed; NSP's layout, segment
//! ids, its half of IsNext pairs and its counted truncation. The printed report on
//! the book's text is pinned by a snapshot.

use ch01_foundations::init::seeded_rng;
use ch02_input::wordpiece::{SpecialIds, Vocab};
use ch08_encoder_only::pretrain_data::{
    MLM_MASK, MLM_RANDOM, MLM_RATE, MaskingStats, NspLabel, PretrainDataError,
    is_special, mask_tokens, nsp_pairs, pack_pair,
};
use ch08_encoder_only::report::pretraining_data_report;
use rand::RngExt;

const VOCAB: usize = 1000;

/// A vocabulary of 1000 with the five special tokens scattered through it, so that no
/// test can pass by assuming they are ids 0 to 4.
fn specials() -> SpecialIds {
    let mut tokens: Vec<String> = (0..VOCAB).map(|i| format!("w{i}")).collect();
    for (i, s) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .enumerate()
    {
        tokens[97 + 211 * i] = (*s).to_owned();
    }
    Vocab::from_tokens(&tokens)
        .expect("a valid vocabulary")
        .special()
}

/// An ordinary token: never one of the specials.
fn ordinary(sp: &SpecialIds, rng: &mut impl RngExt) -> u32 {
    loop {
        let id = rng.random_range(0..VOCAB as u32);
        if !is_special(id, sp) {
            return id;
        }
    }
}

/// `n` pair inputs of lengths 5 to 64, padded to 64, as a batch would hold them.
fn padded_pairs(n: usize, sp: &SpecialIds, seed: u64) -> Vec<Vec<u32>> {
    let mut rng = seeded_rng(seed);
    (0..n)
        .map(|_| {
            let a: Vec<u32> = (0..rng.random_range(1..40))
                .map(|_| ordinary(sp, &mut rng))
                .collect();
            let b: Vec<u32> = (0..rng.random_range(1..40))
                .map(|_| ordinary(sp, &mut rng))
                .collect();
            let mut ids = pack_pair(&a, &b, NspLabel::IsNext, 64, sp).ids;
            ids.resize(64, sp.pad);
            ids
        })
        .collect()
}

#[test]
fn masking_statistics_over_many_seeded_draws() {
    let sp = specials();
    let inputs = padded_pairs(2000, &sp, 1);
    let mut rng = seeded_rng(2);
    let mut stats = MaskingStats::default();
    for ids in &inputs {
        let m = mask_tokens(ids, VOCAB, &sp, &mut rng);
        // Each input gets exactly round(15 % of its candidates), at least one.
        let candidates = ids
            .iter()
            .filter(|&&id| ![sp.cls, sp.sep, sp.pad].contains(&id))
            .count();
        let chosen = m.labels.iter().filter(|l| l.is_some()).count();
        assert_eq!(
            chosen,
            ((candidates as f64 * MLM_RATE).round() as usize).max(1)
        );
        stats.add(ids, &m, &sp);
    }
    assert_eq!(stats.special_chosen, 0, "a special token was chosen");
    // The chosen fraction deviates from 15 % only by each input's rounding.
    let f = stats.chosen_fraction();
    assert!(
        (f - MLM_RATE).abs() < 0.005,
        "chosen {f}, expected {MLM_RATE} ± 0.005"
    );
    // The split is binomial over ≈ 6,000 chosen positions: σ ≈ 0.005 for the 80 % and
    // ≈ 0.004 for the 10 %s; the tolerance is 5σ. `random` can draw the original
    // back (1 in 995), which the statistics count as unchanged.
    let n = stats.chosen as f64;
    assert!(n > 5000.0, "only {n} chosen positions");
    for (what, count, p) in [
        ("[MASK]", stats.masked, MLM_MASK),
        ("random", stats.random, MLM_RANDOM),
        ("unchanged", stats.unchanged, 1.0 - MLM_MASK - MLM_RANDOM),
    ] {
        let sigma = (p * (1.0 - p) / n).sqrt();
        let got = count as f64 / n;
        assert!(
            (got - p).abs() < 5.0 * sigma,
            "{what}: {got:.4}, expected {p} ± {:.4}",
            5.0 * sigma
        );
    }
}

#[test]
fn labels_hold_the_original_where_chosen_and_nothing_elsewhere() {
    let sp = specials();
    let mut rng = seeded_rng(3);
    for ids in padded_pairs(300, &sp, 4) {
        let m = mask_tokens(&ids, VOCAB, &sp, &mut rng);
        assert_eq!(m.ids.len(), ids.len());
        for (t, (&x, &y)) in ids.iter().zip(&m.ids).enumerate() {
            match m.labels[t] {
                None => assert_eq!(y, x, "position {t} changed but has no label"),
                Some(label) => {
                    assert_eq!(label, x, "label at {t} is not the original id");
                    let special = [sp.cls, sp.sep, sp.pad].contains(&x);
                    assert!(!special, "special chosen at {t}");
                    // [MASK], the original, or a random ordinary token: never another special.
                    assert!(y == sp.mask || !is_special(y, &sp));
                }
            }
        }
    }
}

#[test]
fn same_seed_same_masking_and_pairs() {
    let sp = specials();
    let ids = &padded_pairs(1, &sp, 5)[0];
    let a = mask_tokens(ids, VOCAB, &sp, &mut seeded_rng(7));
    assert_eq!(a, mask_tokens(ids, VOCAB, &sp, &mut seeded_rng(7)));
    assert_ne!(
        a,
        mask_tokens(ids, VOCAB, &sp, &mut seeded_rng(8)),
        "the seed is not used"
    );
    let docs = documents(20, 6, &sp);
    let p = nsp_pairs(&docs, 32, &sp, &mut seeded_rng(9)).unwrap();
    assert_eq!(p, nsp_pairs(&docs, 32, &sp, &mut seeded_rng(9)).unwrap());
}

#[test]
fn only_specials_or_nothing_masks_nothing() {
    let sp = specials();
    let m = mask_tokens(&[sp.cls, sp.sep, sp.pad], VOCAB, &sp, &mut seeded_rng(0));
    assert_eq!(m.labels, vec![None; 3]);
    assert!(
        mask_tokens(&[], VOCAB, &sp, &mut seeded_rng(0))
            .ids
            .is_empty()
    );
}

/// `n_docs` documents of `per_doc` sentences; sentence j of document d is the 3 tokens
/// [w, w, w] with w = d·per_doc + j, so a pair's B names where it came from.
fn documents(n_docs: usize, per_doc: usize, sp: &SpecialIds) -> Vec<Vec<Vec<u32>>> {
    let ids: Vec<u32> = (0..VOCAB as u32)
        .filter(|&id| !is_special(id, sp))
        .collect();
    (0..n_docs)
        .map(|d| {
            (0..per_doc)
                .map(|j| vec![ids[d * per_doc + j]; 3])
                .collect()
        })
        .collect()
}

#[test]
fn nsp_pairs_half_is_next_with_the_right_layout() {
    let sp = specials();
    let ordinary: Vec<u32> = (0..VOCAB as u32)
        .filter(|&id| !is_special(id, &sp))
        .collect();
    let where_from = |id: u32| {
        let k = ordinary
            .iter()
            .position(|&o| o == id)
            .expect("an ordinary id");
        (k / 8, k % 8) // (document, sentence)
    };
    let docs = documents(100, 8, &sp);
    let pairs = nsp_pairs(&docs, 32, &sp, &mut seeded_rng(10)).unwrap();
    assert_eq!(
        pairs.len(),
        100 * 7,
        "one pair per sentence with a successor"
    );
    let mut is_next = 0;
    for p in &pairs {
        // [CLS] a a a [SEP] b b b [SEP], segments 0 0 0 0 0 1 1 1 1.
        assert_eq!(p.ids.len(), 9);
        assert_eq!((p.ids[0], p.ids[4], p.ids[8]), (sp.cls, sp.sep, sp.sep));
        assert_eq!(p.segments, [0, 0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(p.truncated, 0);
        let (da, ja) = where_from(p.ids[1]);
        let (db, jb) = where_from(p.ids[5]);
        match p.label {
            NspLabel::IsNext => {
                is_next += 1;
                assert_eq!((db, jb), (da, ja + 1), "IsNext but B does not follow A");
            }
            NspLabel::NotNext => assert_ne!(db, da, "NotNext but B is from A's document"),
        }
    }
    // Binomial over 700 pairs: σ ≈ 0.019; the tolerance is 5σ.
    let f = is_next as f64 / pairs.len() as f64;
    let five_sigma = 5.0 * (0.25 / pairs.len() as f64).sqrt();
    assert!(
        (f - 0.5).abs() < five_sigma,
        "IsNext {f:.3}, expected 0.5 ± {five_sigma:.3}"
    );
    assert_eq!(NspLabel::IsNext.class(), 0);
    assert_eq!(NspLabel::NotNext.class(), 1);
}

#[test]
fn a_long_pair_is_truncated_and_says_by_how_much() {
    let sp = specials();
    let a: Vec<u32> = (10..20).collect(); // 10 tokens
    let b: Vec<u32> = (30..34).collect(); // 4 tokens
    let p = pack_pair(&a, &b, NspLabel::NotNext, 12, &sp);
    // 10 + 4 + 3 = 17 > 12: five tokens go, all from the longer A (10 → 5).
    assert_eq!(p.truncated, 5);
    assert_eq!(p.ids.len(), 12);
    assert_eq!(&p.ids[1..6], &a[..5]);
    assert_eq!(&p.ids[7..11], &b[..]);
    assert_eq!(p.segments.iter().filter(|&&s| s == 0).count(), 7);
    // Equal lengths lose tokens from B first, then alternately.
    let p = pack_pair(&a, &a, NspLabel::IsNext, 9, &sp);
    assert_eq!((p.truncated, p.ids.len()), (14, 9));
    assert_eq!(p.ids.iter().filter(|&&id| id == sp.sep).count(), 2);
}

#[test]
fn nsp_errors_name_what_is_wrong() {
    let sp = specials();
    let one = documents(1, 4, &sp);
    assert_eq!(
        nsp_pairs(&one, 32, &sp, &mut seeded_rng(0)),
        Err(PretrainDataError::TooFewDocuments(1))
    );
    let two = documents(2, 4, &sp);
    assert_eq!(
        nsp_pairs(&two, 4, &sp, &mut seeded_rng(0)),
        Err(PretrainDataError::MaxLenTooSmall(4))
    );
}

#[test]
fn report_on_the_book_text() {
    insta::assert_snapshot!("masking-report", pretraining_data_report(2000, 128, 10, 0));
}
