//! Training a WordPiece vocabulary with the score-based pair rule:
//! merge the adjacent pair `(a, b)` with the largest `count(ab) / (count(a) count(b))`.

use std::cmp::Ordering;

use rustc_hash::{FxHashMap, FxHashSet};

use super::WordPiece;
use super::basic::BasicTokenizer;
use super::greedy::CONTINUATION;
use super::vocab::{SPECIAL_TOKENS, Vocab, WordPieceError};

/// One learned merge and the counts its score came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merge {
    pub left: String,
    pub right: String,
    pub merged: String,
    pub pair_count: u64,
    pub left_count: u64,
    pub right_count: u64,
}

impl Merge {
    /// `count(ab) / (count(a) count(b))`.
    pub fn score(&self) -> f64 {
        self.pair_count as f64 / (self.left_count as f64 * self.right_count as f64)
    }
}

/// A trained vocabulary: tokens in id order (specials, alphabet, merges) and the merges.
#[derive(Clone, Debug)]
pub struct Trained {
    pub tokens: Vec<String>,
    pub merges: Vec<Merge>,
    /// How many tokens are the initial alphabet (after the special tokens).
    pub alphabet: usize,
}

impl Trained {
    /// The trained vocabulary, ready for [`WordPiece::new`].
    pub fn vocab(&self) -> Result<Vocab, WordPieceError> {
        Vocab::from_tokens(&self.tokens)
    }

    /// The `vocab.txt` text, one token a line.
    pub fn vocab_text(&self) -> String {
        Vocab::to_text(&self.tokens)
    }
}

/// Counts of the words the basic tokenizer finds, sorted by word (a fixed order).
pub fn word_counts(basic: &BasicTokenizer, corpus: &str) -> Vec<(String, u64)> {
    let mut counts: FxHashMap<String, u64> = FxHashMap::default();
    for word in basic::pre_tokenize(&basic.normalize(corpus)) {
        *counts.entry(word.to_owned()).or_insert(0) += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_unstable();
    counts
}

use super::basic;

/// A candidate pair with its counts, compared by score without rounding.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    pair: (u32, u32),
    ab: u64,
    a: u64,
    b: u64,
}

// ANCHOR: score_order
/// Orders two pairs by score, `ab / (a b)`, compared exactly by cross-multiplying in
/// u128. Ties go to the more frequent pair, then to the earlier pair of token strings,
/// so training is deterministic whatever order the hash map iterates in.
fn compare(x: &Candidate, y: &Candidate, symbols: &[String]) -> Ordering {
    let lhs = x.ab as u128 * y.a as u128 * y.b as u128;
    let rhs = y.ab as u128 * x.a as u128 * x.b as u128;
    lhs.cmp(&rhs).then(x.ab.cmp(&y.ab)).then_with(|| {
        let name =
            |c: &Candidate| (&symbols[c.pair.0 as usize], &symbols[c.pair.1 as usize]);
        name(y).cmp(&name(x)) // smaller strings win, so they compare as greater
    })
}
// ANCHOR_END: score_order

/// The corpus as sequences of symbol ids, with every count training needs, kept
/// up to date incrementally as merges rewrite words.
struct State {
    symbols: Vec<String>,
    index: FxHashMap<String, u32>,
    words: Vec<Vec<u32>>,
    freq: Vec<u64>,
    unit: Vec<u64>,
    pairs: FxHashMap<(u32, u32), u64>,
    holders: FxHashMap<(u32, u32), Vec<u32>>,
}

impl State {
    fn symbol(&mut self, token: String) -> u32 {
        if let Some(&id) = self.index.get(&token) {
            return id;
        }
        let id = self.symbols.len() as u32;
        self.index.insert(token.clone(), id);
        self.symbols.push(token);
        self.unit.push(0);
        id
    }

    /// Adds (`sign = 1`) or removes (`sign = -1`) word `w`'s counts.
    fn count_word(&mut self, w: usize, sign: i64) {
        let (seq, f) = (&self.words[w], self.freq[w]);
        for &s in seq {
            self.unit[s as usize] =
                self.unit[s as usize].wrapping_add_signed(sign * f as i64);
        }
        for pair in seq.windows(2).map(|p| (p[0], p[1])) {
            let c = self.pairs.entry(pair).or_insert(0);
            *c = c.wrapping_add_signed(sign * f as i64);
            if *c == 0 {
                self.pairs.remove(&pair);
            } else if sign > 0 {
                self.holders.entry(pair).or_default().push(w as u32);
            }
        }
    }

    fn best(&self) -> Option<Candidate> {
        let unit = &self.unit;
        self.pairs
            .iter()
            .map(|(&pair, &ab)| Candidate {
                pair,
                ab,
                a: unit[pair.0 as usize],
                b: unit[pair.1 as usize],
            })
            .max_by(|x, y| compare(x, y, &self.symbols))
    }

    // ANCHOR: apply_merge
    /// Rewrites every word that holds `(a, b)`, taking its old counts out and putting
    /// its new ones back: only the words that change are touched.
    fn apply(&mut self, (a, b): (u32, u32), merged: u32) {
        let mut holders = self.holders.remove(&(a, b)).unwrap_or_default();
        holders.sort_unstable();
        holders.dedup();
        for w in holders.into_iter().map(|w| w as usize) {
            if !self.words[w].windows(2).any(|p| p[0] == a && p[1] == b) {
                continue; // a stale entry: an earlier merge already took the pair
            }
            self.count_word(w, -1);
            let old = std::mem::take(&mut self.words[w]);
            let mut new = Vec::with_capacity(old.len());
            let mut i = 0;
            while i < old.len() {
                if i + 1 < old.len() && old[i] == a && old[i + 1] == b {
                    new.push(merged);
                    i += 2;
                } else {
                    new.push(old[i]);
                    i += 1;
                }
            }
            self.words[w] = new;
            self.count_word(w, 1);
        }
    }
    // ANCHOR_END: apply_merge
}

fn initial_state(words: &[(String, u64)]) -> State {
    let mut alphabet: Vec<char> = words
        .iter()
        .flat_map(|(w, _)| w.chars())
        .collect::<FxHashSet<char>>()
        .into_iter()
        .collect();
    alphabet.sort_unstable();
    let mut state = State {
        symbols: Vec::new(),
        index: FxHashMap::default(),
        words: Vec::with_capacity(words.len()),
        freq: Vec::with_capacity(words.len()),
        unit: Vec::new(),
        pairs: FxHashMap::default(),
        holders: FxHashMap::default(),
    };
    // Both forms of every character, so any word over the alphabet can be encoded.
    for &c in &alphabet {
        state.symbol(c.to_string());
    }
    for &c in &alphabet {
        state.symbol(format!("{CONTINUATION}{c}"));
    }
    for (w, (word, f)) in words.iter().enumerate() {
        let seq = word
            .chars()
            .enumerate()
            .map(|(i, c)| {
                let token = if i == 0 {
                    c.to_string()
                } else {
                    format!("{CONTINUATION}{c}")
                };
                state.index[&token]
            })
            .collect();
        state.words.push(seq);
        state.freq.push(*f);
        state.count_word(w, 1);
    }
    state
}

// ANCHOR: train
/// Learns a vocabulary of `vocab_size` tokens from `corpus`: the special tokens, every
/// character in both forms (`c` and `##c`), then merges of the best-scoring pair
/// until the size is reached or no pair is left. Words come from the uncased basic
/// tokenizer; merges never cross a word boundary.
pub fn train(corpus: &str, vocab_size: usize) -> Result<Trained, WordPieceError> {
    let words = word_counts(&BasicTokenizer::default(), corpus);
    let mut state = initial_state(&words);
    let alphabet = state.symbols.len();
    let needed = SPECIAL_TOKENS.len() + alphabet;
    if vocab_size < needed {
        return Err(WordPieceError::VocabTooSmall {
            requested: vocab_size,
            needed,
        });
    }
    let mut merges = Vec::new();
    while SPECIAL_TOKENS.len() + state.symbols.len() < vocab_size {
        let Some(best) = state.best() else { break };
        let (left, right) = (best.pair.0 as usize, best.pair.1 as usize);
        let (left, right) = (state.symbols[left].clone(), state.symbols[right].clone());
        let merged = format!("{left}{}", right.trim_start_matches(CONTINUATION));
        let id = state.symbol(merged.clone());
        state.apply(best.pair, id);
        merges.push(Merge {
            left,
            right,
            merged,
            pair_count: best.ab,
            left_count: best.a,
            right_count: best.b,
        });
    }
    let mut tokens: Vec<String> = SPECIAL_TOKENS.iter().map(|t| t.to_string()).collect();
    tokens.extend(state.symbols);
    Ok(Trained {
        tokens,
        merges,
        alphabet,
    })
}
// ANCHOR_END: train

/// How a vocabulary does on a text: what the chapter's tokenizer comparison reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Usage {
    /// Tokens in the trained vocabulary (may be below the target if pairs ran out).
    pub vocab_size: usize,
    /// UTF-8 bytes of the encoded text.
    pub bytes: usize,
    /// Tokens the text encodes to, without `[CLS]`/`[SEP]`.
    pub tokens: usize,
    /// Distinct ids among them.
    pub used: usize,
    /// How many of them are `[UNK]`.
    pub unk: usize,
}

impl Usage {
    pub fn bytes_per_token(&self) -> f64 {
        self.bytes as f64 / self.tokens.max(1) as f64
    }

    pub fn fraction_used(&self) -> f64 {
        self.used as f64 / self.vocab_size.max(1) as f64
    }
}

/// Trains a WordPiece vocabulary of `vocab_size` on `corpus`, encodes `corpus` with it
/// and measures the result (the WordPiece column of the chapter's comparison).
pub fn train_and_measure(
    corpus: &str,
    vocab_size: usize,
) -> Result<Usage, WordPieceError> {
    let trained = train(corpus, vocab_size)?;
    let wp = WordPiece::new(trained.vocab()?);
    let ids = wp.encode_words(corpus);
    let unk = wp.vocab.special().unk;
    Ok(Usage {
        vocab_size: wp.vocab.len(),
        bytes: corpus.len(),
        tokens: ids.len(),
        used: ids.iter().collect::<FxHashSet<_>>().len(),
        unk: ids.iter().filter(|&&id| id == unk).count(),
    })
}
