//! Solutions to the chapter's exercises (tested in tests/exercises.rs).

use ch02_input::wordpiece::{SpecialIds, Vocab, WordPiece};
use ndarray::{Array2, Array3, s};
use rand::{Rng, RngExt};

use crate::pooling::{l2_normalize, mean_pool};
use crate::pretrain_data::{
    Masked, NspLabel, PairExample, PretrainDataError, is_special, mask_tokens, pack_pair,
};
use crate::sentence::{SentenceEncoder, Tokens};

// ANCHOR: whole_word
/// Exercise 1: whole-word masking. Words (a piece and the `##` pieces after it) are
/// chosen in a random order until 15 % of the ordinary pieces are chosen, skipping a
/// word that would overshoot; each piece of a chosen word then gets BERT's 80/10/10.
// ids: [T] -> ids: [T], labels: [T]
pub fn mask_whole_words(ids: &[u32], vocab: &Vocab, rng: &mut impl Rng) -> Masked {
    let sp = vocab.special();
    let continues = |id: u32| vocab.token(id).is_some_and(|t| t.starts_with("##"));
    let mut words: Vec<Vec<usize>> = Vec::new(); // positions of each word's pieces
    for (t, &id) in ids.iter().enumerate() {
        if [sp.cls, sp.sep, sp.pad].contains(&id) {
            continue;
        }
        match words.last_mut() {
            Some(word) if continues(id) && word.last() == Some(&(t - 1)) => word.push(t),
            _ => words.push(vec![t]),
        }
    }
    let n: usize = words.iter().map(Vec::len).sum();
    let target = ((n as f64 * 0.15).round() as usize).max(usize::from(n > 0));
    let (mut chosen, mut count) = (vec![false; ids.len()], 0);
    for i in 0..words.len() {
        let j = rng.random_range(i..words.len()); // Fisher-Yates, one step at a time
        words.swap(i, j);
        if count + words[i].len() <= target {
            count += words[i].len();
            words[i].iter().for_each(|&t| chosen[t] = true);
        }
    }
    // `mask_tokens` always chooses a lone piece: only its 80/10/10 draw is left.
    let mut out = Masked {
        ids: ids.to_vec(),
        labels: vec![None; ids.len()],
    };
    for t in (0..ids.len()).filter(|&t| chosen[t]) {
        let one = mask_tokens(&ids[t..=t], vocab.len(), &sp, rng);
        out.ids[t] = one.ids[0];
        out.labels[t] = Some(ids[t]);
    }
    out
}
// ANCHOR_END: whole_word

// ANCHOR: sop
/// Exercise 2: ALBERT's sentence-order prediction. Every pair is two consecutive
/// sentences of one document, so the topic never shifts; with probability 1/2 they are
/// swapped (label `NotNext`: "B does not follow A").
// docs: documents of sentences of token ids -> pairs
pub fn sop_pairs(
    docs: &[Vec<Vec<u32>>],
    max_len: usize,
    sp: &SpecialIds,
    rng: &mut impl Rng,
) -> Result<Vec<PairExample>, PretrainDataError> {
    if max_len < 5 {
        return Err(PretrainDataError::MaxLenTooSmall(max_len));
    }
    let mut pairs = Vec::new();
    for doc in docs {
        for w in doc.windows(2) {
            pairs.push(if rng.random::<f64>() < 0.5 {
                pack_pair(&w[0], &w[1], NspLabel::IsNext, max_len, sp)
            } else {
                pack_pair(&w[1], &w[0], NspLabel::NotNext, max_len, sp)
            });
        }
    }
    Ok(pairs)
}
// ANCHOR_END: sop

// ANCHOR: cls_pool
/// Exercise 3: the other way to get one vector per sentence: the last layer's [CLS]
/// vector, L2-normalised, instead of the mean over real tokens.
// h: [B, T, C] -> [B, C]
pub fn cls_pool(h: &Array3<f32>) -> Array2<f32> {
    l2_normalize(h.slice(s![.., 0, ..]).to_owned())
}
// ANCHOR_END: cls_pool

/// How well one pooling separates paraphrases from unrelated pairs: cosines of the
/// n paraphrase pairs (a_i, b_i) against the n(n - 1) unrelated pairs (a_i, b_j).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Separation {
    pub paraphrase_mean: f32,
    pub paraphrase_min: f32,
    pub unrelated_mean: f32,
    pub unrelated_max: f32,
}

impl Separation {
    /// The least similar paraphrase minus the most similar unrelated pair: > 0 when a
    /// single threshold tells every paraphrase from every unrelated pair.
    pub fn margin(&self) -> f32 {
        self.paraphrase_min - self.unrelated_max
    }
}

/// Exercise 3's measurement: mean pooling and [CLS] pooling of the same last layer.
pub fn compare_pooling(
    enc: &mut SentenceEncoder,
    pairs: &[(&str, &str)],
) -> (Separation, Separation) {
    let texts: Vec<&str> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    let tokens: Vec<Tokens> = texts.iter().map(|t| enc.tokenize(t)).collect();
    let (h, lens) = enc.last_layer(&tokens);
    let separation = |e: Array2<f32>| {
        let sim = e.dot(&e.t()); // [2n, 2n]: rows a_0, b_0, a_1, b_1, ...
        let n = pairs.len();
        let para: Vec<f32> = (0..n).map(|i| sim[[2 * i, 2 * i + 1]]).collect();
        let other: Vec<f32> = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| sim[[2 * i, 2 * j + 1]])
            .collect();
        let mean = |x: &[f32]| x.iter().sum::<f32>() / x.len().max(1) as f32;
        Separation {
            paraphrase_mean: mean(&para),
            paraphrase_min: para.iter().copied().fold(f32::INFINITY, f32::min),
            unrelated_mean: mean(&other),
            unrelated_max: other.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        }
    };
    (
        separation(l2_normalize(mean_pool(&h, &lens))),
        separation(cls_pool(&h)),
    )
}

/// The table the exercise shows, rounded to 2 decimals.
pub fn pooling_table(mean: &Separation, cls: &Separation) -> String {
    let mut s = String::from(
        "pooling  paraphrase mean  paraphrase min  unrelated mean  unrelated max  margin\n",
    );
    for (name, x) in [("mean", mean), ("[CLS]", cls)] {
        s += &format!(
            "{name:<7}  {:>15.2}  {:>14.2}  {:>14.2}  {:>13.2}  {:>6.2}\n",
            x.paraphrase_mean,
            x.paraphrase_min,
            x.unrelated_mean,
            x.unrelated_max,
            x.margin()
        );
    }
    s
}

// ANCHOR: word_pieces
/// Exercise 4: each word and the WordPiece pieces it becomes.
pub fn word_pieces(tok: &WordPiece, words: &[&str]) -> Vec<(String, Vec<String>)> {
    (words.iter())
        .map(|&w| {
            let ids = tok.encode_words(w);
            let pieces = tok.tokens(&ids).unwrap_or_default(); // ids from its own vocab
            (
                w.to_owned(),
                pieces.into_iter().map(str::to_owned).collect(),
            )
        })
        .collect()
}
// ANCHOR_END: word_pieces

/// Is any chosen piece special? (Used by the tests; whole-word masking must never be.)
pub fn touches_special(m: &Masked, original: &[u32], sp: &SpecialIds) -> bool {
    m.labels
        .iter()
        .zip(original)
        .any(|(l, &x)| l.is_some() && is_special(x, sp) && x != sp.unk)
}
