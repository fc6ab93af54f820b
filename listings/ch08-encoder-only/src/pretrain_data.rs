//! BERT's pretraining data (section "Pretraining objectives"): sentence pairs for
//! next-sentence prediction (NSP), laid out as [CLS] A [SEP] B [SEP] with segment ids,
//! and the masking of masked language modelling (MLM): 15 % of the ordinary tokens are
//! chosen, and of those 80 % become [MASK], 10 % a random token, 10 % stay as they are.

use ch02_input::wordpiece::SpecialIds;
use rand::{Rng, RngExt};
use thiserror::Error;

/// What NSP asks: does B follow A in the document?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NspLabel {
    /// Class 0, as in Hugging Face's `next_sentence_label`.
    IsNext,
    /// Class 1: B was drawn from another document.
    NotNext,
}

impl NspLabel {
    pub fn class(self) -> usize {
        match self {
            NspLabel::IsNext => 0,
            NspLabel::NotNext => 1,
        }
    }
}

/// Errors in the documents pairs are made from.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PretrainDataError {
    #[error("NSP needs at least 2 documents to draw a random B from, got {0}")]
    TooFewDocuments(usize),
    #[error("max_len {0} leaves no room: [CLS] A [SEP] B [SEP] needs at least 5")]
    MaxLenTooSmall(usize),
}

// ANCHOR: pair
/// One NSP input: [CLS] A [SEP] B [SEP], its segment ids and its label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairExample {
    pub ids: Vec<u32>,      // [T], T ≤ max_len
    pub segments: Vec<u32>, // [T]: 0 for [CLS] A [SEP], 1 for B [SEP]
    pub label: NspLabel,
    /// Tokens cut from A and B to fit max_len: counted, never silent.
    pub truncated: usize,
}
// ANCHOR_END: pair

// ANCHOR: pack_pair
/// Joins A and B into BERT's input. While the pair is too long, the last token of the
/// longer sentence goes, so that neither is cut to nothing while the other is long.
// a: [T_a], b: [T_b] -> ids, segments: [min(T_a + T_b + 3, max_len)]
pub fn pack_pair(
    a: &[u32],
    b: &[u32],
    label: NspLabel,
    max_len: usize,
    sp: &SpecialIds,
) -> PairExample {
    assert!(max_len >= 5, "pack_pair: max_len {max_len} < 5");
    let (mut len_a, mut len_b) = (a.len(), b.len());
    while len_a + len_b + 3 > max_len {
        if len_a > len_b {
            len_a -= 1
        } else {
            len_b -= 1
        }
    }
    let truncated = a.len() + b.len() - len_a - len_b;
    let mut ids = vec![sp.cls];
    ids.extend_from_slice(&a[..len_a]);
    ids.push(sp.sep);
    let mut segments = vec![0; ids.len()];
    ids.extend_from_slice(&b[..len_b]);
    ids.push(sp.sep);
    segments.resize(ids.len(), 1);
    PairExample {
        ids,
        segments,
        label,
        truncated,
    }
}
// ANCHOR_END: pack_pair

// ANCHOR: nsp_pairs
/// One pair for each sentence that has a successor in its document: with probability
/// 1/2 B is that successor (IsNext), otherwise a random sentence of another random
/// document (NotNext).
// docs: documents of sentences of token ids (no special tokens) -> pairs
pub fn nsp_pairs(
    docs: &[Vec<Vec<u32>>],
    max_len: usize,
    sp: &SpecialIds,
    rng: &mut impl Rng,
) -> Result<Vec<PairExample>, PretrainDataError> {
    if docs.len() < 2 {
        return Err(PretrainDataError::TooFewDocuments(docs.len()));
    }
    if max_len < 5 {
        return Err(PretrainDataError::MaxLenTooSmall(max_len));
    }
    let mut pairs = Vec::new();
    for (d, doc) in docs.iter().enumerate() {
        for (i, a) in doc.iter().enumerate().take(doc.len().saturating_sub(1)) {
            if rng.random::<f64>() < 0.5 {
                pairs.push(pack_pair(a, &doc[i + 1], NspLabel::IsNext, max_len, sp));
            } else {
                // Another document: a sentence of this one could be a near neighbour.
                let mut other = rng.random_range(0..docs.len() - 1);
                other += usize::from(other >= d);
                let b = &docs[other][rng.random_range(0..docs[other].len())];
                pairs.push(pack_pair(a, b, NspLabel::NotNext, max_len, sp));
            }
        }
    }
    Ok(pairs)
}
// ANCHOR_END: nsp_pairs

/// The share of ordinary tokens MLM predicts, and how the chosen ones are replaced.
pub const MLM_RATE: f64 = 0.15;
pub const MLM_MASK: f64 = 0.8;
pub const MLM_RANDOM: f64 = 0.1; // the remaining 0.1 stay unchanged

/// Is `id` one of the five special tokens?
pub fn is_special(id: u32, sp: &SpecialIds) -> bool {
    [sp.pad, sp.unk, sp.cls, sp.sep, sp.mask].contains(&id)
}

// ANCHOR: masked
/// An MLM input and its targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Masked {
    pub ids: Vec<u32>, // [T]: the input the model sees
    /// [T]: the original id where the loss is taken, `None` (PyTorch's -100, the
    /// ignored label) everywhere else.
    pub labels: Vec<Option<u32>>,
}
// ANCHOR_END: masked

// ANCHOR: mask_tokens
/// Chooses round(15 % of the ordinary positions) (at least one, if there is any) and
/// replaces each: 80 % by [MASK], 10 % by a random ordinary token, 10 % left as is.
/// [CLS], [SEP] and [PAD] are never chosen; [UNK] may be, as a word of the text.
// ids: [T] -> ids: [T], labels: [T]
pub fn mask_tokens(
    ids: &[u32],
    vocab_size: usize,
    sp: &SpecialIds,
    rng: &mut impl Rng,
) -> Masked {
    let mut candidates: Vec<usize> = (0..ids.len())
        .filter(|&t| ![sp.cls, sp.sep, sp.pad].contains(&ids[t]))
        .collect();
    let n = candidates.len();
    let k = if n == 0 {
        0
    } else {
        ((n as f64 * MLM_RATE).round() as usize).max(1)
    };
    // A partial Fisher-Yates shuffle: the first k candidates are a uniform k-subset.
    for i in 0..k {
        let j = rng.random_range(i..n);
        candidates.swap(i, j);
    }
    let mut out = Masked {
        ids: ids.to_vec(),
        labels: vec![None; ids.len()],
    };
    for &t in &candidates[..k] {
        out.labels[t] = Some(ids[t]);
        let u = rng.random::<f64>();
        if u < MLM_MASK {
            out.ids[t] = sp.mask;
        } else if u < MLM_MASK + MLM_RANDOM {
            out.ids[t] = random_ordinary(vocab_size, sp, rng); // may draw ids[t] itself
        } // else: unchanged, so the model cannot trust an unmasked token blindly
    }
    out
}
// ANCHOR_END: mask_tokens

/// A token drawn uniformly from the vocabulary less its special tokens.
fn random_ordinary(vocab_size: usize, sp: &SpecialIds, rng: &mut impl Rng) -> u32 {
    assert!(
        vocab_size > 5,
        "random_ordinary: a vocabulary of {vocab_size} has no ordinary token"
    );
    loop {
        let id = rng.random_range(0..vocab_size) as u32;
        if !is_special(id, sp) {
            return id;
        }
    }
}

/// Counts of what masking did, summed over many inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaskingStats {
    pub positions: usize,
    pub special: usize,        // [CLS], [SEP], [PAD]: never candidates
    pub chosen: usize,         // positions with a label
    pub masked: usize,         // chosen, now [MASK]
    pub random: usize,         // chosen, now another token
    pub unchanged: usize,      // chosen, still the original (or drawn back at random)
    pub special_chosen: usize, // must stay 0
}

impl MaskingStats {
    // original: [T], m: [T] each
    pub fn add(&mut self, original: &[u32], m: &Masked, sp: &SpecialIds) {
        assert!(
            original.len() == m.ids.len() && m.ids.len() == m.labels.len(),
            "MaskingStats: original is [{}] but ids are [{}] and labels [{}]",
            original.len(),
            m.ids.len(),
            m.labels.len()
        );
        for ((&x, &y), &label) in original.iter().zip(&m.ids).zip(&m.labels) {
            let special = [sp.cls, sp.sep, sp.pad].contains(&x);
            self.positions += 1;
            self.special += usize::from(special);
            if label.is_none() {
                continue;
            }
            self.chosen += 1;
            self.special_chosen += usize::from(special);
            if y == sp.mask {
                self.masked += 1;
            } else if y == x {
                self.unchanged += 1;
            } else {
                self.random += 1;
            }
        }
    }

    /// Chosen positions over candidate (non-special) positions.
    pub fn chosen_fraction(&self) -> f64 {
        self.chosen as f64 / (self.positions - self.special) as f64
    }
}
