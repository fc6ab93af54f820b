//! The real GPT-2 tokenizer: OpenAI's 50,256 ranks from a `.tiktoken` file, plus
//! `<|endoftext|>`, encoded with [`Bpe`] and the GPT-2 pattern. Chapter 9 checks it
//! against tiktoken's `gpt2` encoding.

use std::path::Path;

use super::ranks::read_tiktoken;
use super::{Bpe, BpeError, ENDOFTEXT, Rank};

/// The number of ordinary tokens in GPT-2's vocabulary: 256 bytes and 50,000 merges.
pub const GPT2_RANKS: usize = 50_256;

// ANCHOR: load_gpt2
/// GPT-2's tokenizer from its rank file (`gpt2.tiktoken`). On top of the rules every
/// rank file follows, GPT-2's ranks must be exactly `0..50_256` with no gap, because
/// `<|endoftext|>` takes the next id, 50,256, and the model's embedding has one row per
/// id: a gap would shift every id after it.
pub fn gpt2_from_file(path: &Path) -> Result<Bpe, BpeError> {
    let ranks = read_tiktoken(path)?;
    check_contiguous(&ranks, &path.display().to_string())?;
    if ranks.len() != GPT2_RANKS {
        return Err(BpeError::Table(format!(
            "{}: {} ranks, GPT-2 has {GPT2_RANKS}",
            path.display(),
            ranks.len()
        )));
    }
    Bpe::new(ranks, &[(ENDOFTEXT, GPT2_RANKS as Rank)])
}
// ANCHOR_END: load_gpt2

// ANCHOR: check_contiguous
/// The ranks are `0..n` for `n` tokens: none missing, so none past the end.
pub fn check_contiguous(ranks: &[(Vec<u8>, Rank)], file: &str) -> Result<(), BpeError> {
    let mut seen = vec![false; ranks.len()];
    for (line, &(_, rank)) in ranks.iter().enumerate() {
        match seen.get_mut(rank as usize) {
            Some(s) => *s = true,
            None => {
                return Err(BpeError::Table(format!(
                    "{file}: token number {} has rank {rank}, but {} tokens need ranks 0..{}: \
                     the ranks are not contiguous",
                    line + 1,
                    ranks.len(),
                    ranks.len()
                )));
            }
        }
    }
    // n ranks, all below n and (rank files allow no duplicate) all distinct: 0..n.
    match seen.iter().position(|&s| !s) {
        Some(r) => Err(BpeError::Table(format!(
            "{file}: no token has rank {r}: the ranks are not contiguous"
        ))),
        None => Ok(()),
    }
}
// ANCHOR_END: check_contiguous
