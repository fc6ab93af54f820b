//! The chapter's training data (section "The LM head and training"): a seeded
//! generator of sequences that repeat a random key. Nothing is downloaded.

use ndarray::Array2;
use rand::{Rng, RngExt};

// ANCHOR: pattern
/// Sequences `k₀ k₁ … k_{P-1} k₀ k₁ …`: a random key of `period` distinct tokens,
/// repeated.
/// The next token is always the one `period` places back, so a model that only looks at
/// the previous token can do no better than chance; one that attends P - 1 places back
/// is always right. The first P tokens are random, so they have no target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pattern {
    pub vocab: usize,
    pub period: usize,
    pub len: usize,
}

impl Pattern {
    /// Keys whose index in base `vocab` is a multiple of 7 are held out of training:
    /// the generation test prompts with them.
    pub fn is_held_out(&self, key: &[usize]) -> bool {
        key.iter().fold(0usize, |n, &k| n * self.vocab + k) % 7 == 0
    }

    /// A key of distinct tokens the training set may use (`held_out` = false) or a held-out one.
    // -> [period]
    pub fn key(&self, held_out: bool, rng: &mut impl Rng) -> Vec<usize> {
        loop {
            let key: Vec<usize> = (0..self.period)
                .map(|_| rng.random_range(0..self.vocab))
                .collect();
            let distinct = (1..key.len()).all(|i| !key[..i].contains(&key[i]));
            if distinct && self.is_held_out(&key) == held_out {
                return key;
            }
        }
    }
}
// ANCHOR_END: pattern

// ANCHOR: pattern_batch
impl Pattern {
    /// The key repeated to `len` tokens.
    // key: [period] -> [len]
    pub fn continue_key(&self, key: &[usize]) -> Vec<usize> {
        (0..self.len).map(|t| key[t % key.len()]).collect()
    }

    /// A batch of inputs and next-token targets; targets before position P - 1 are
    /// `None`: token t + 1 < P is random.
    // -> (ids: [B, len - 1], targets: [B, len - 1])
    pub fn batch(
        &self,
        b: usize,
        rng: &mut impl Rng,
    ) -> (Array2<usize>, Array2<Option<usize>>) {
        let t = self.len - 1;
        let (mut ids, mut targets) =
            (Array2::zeros((b, t)), Array2::from_elem((b, t), None));
        for i in 0..b {
            let seq = self.continue_key(&self.key(false, rng));
            for j in 0..t {
                ids[[i, j]] = seq[j];
                targets[[i, j]] = (j + 1 >= self.period).then_some(seq[j + 1]);
            }
        }
        (ids, targets)
    }
}
// ANCHOR_END: pattern_batch

/// Tokens as letters, for printing: 0 -> a, 1 -> b, ...
pub fn letters(ids: &[usize]) -> String {
    ids.iter()
        .map(|&i| char::from_u32('a' as u32 + i as u32).unwrap_or('?'))
        .collect()
}
