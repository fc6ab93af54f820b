//! Greedy longest-match-first: the WordPiece encoding of one word.

use super::vocab::Vocab;

/// Words longer than this many characters (not bytes) become `[UNK]` without a
/// search: Hugging Face's `max_input_chars_per_word`.
pub const MAX_INPUT_CHARS_PER_WORD: usize = 100;

/// The prefix that marks a piece continuing a word.
pub const CONTINUATION: &str = "##";

// ANCHOR: greedy
/// Splits one word into the longest vocabulary pieces, left to right. A piece after
/// the first is looked up with the `##` prefix. If some position has no piece at all,
/// the whole word is `[UNK]`: BERT never emits half a word.
pub fn word_pieces(vocab: &Vocab, word: &str, out: &mut Vec<u32>) {
    let unk = vocab.special().unk;
    if word.chars().count() > MAX_INPUT_CHARS_PER_WORD {
        out.push(unk);
        return;
    }
    let first = out.len();
    let mut candidate = String::with_capacity(word.len() + CONTINUATION.len());
    let mut start = 0;
    while start < word.len() {
        let mut end = word.len();
        let found = loop {
            candidate.clear();
            if start > 0 {
                candidate.push_str(CONTINUATION);
            }
            candidate.push_str(&word[start..end]);
            if let Some(id) = vocab.id(&candidate) {
                break Some(id);
            }
            // Shorten by one whole character, never by a byte inside one.
            match word[start..end].chars().next_back() {
                Some(c) if end - c.len_utf8() > start => end -= c.len_utf8(),
                _ => break None,
            }
        };
        match found {
            Some(id) => out.push(id),
            None => {
                out.truncate(first);
                out.push(unk);
                return;
            }
        }
        start = end;
    }
}
// ANCHOR_END: greedy
