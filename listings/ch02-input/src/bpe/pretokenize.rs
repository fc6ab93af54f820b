//! GPT-2 pre-tokenization: split text into the pieces BPE merges inside, never across.
//!
//! The reference is a regular expression ([`GPT2_PATTERN`]); the book's code is a hand
//! scanner over characters that gives the same pieces (a property test runs both on
//! random Unicode text). `\s` is Unicode `White_Space`, `\p{L}` the general categories
//! Lu, Ll, Lt, Lm, Lo and `\p{N}` Nd, Nl, No, all from Unicode 16.0, the version of both
//! `regex-syntax` 0.8 and `unicode-general-category` 1.1.

use unicode_general_category::{GeneralCategory as G, get_general_category};

/// The GPT-2 pre-tokenization pattern (tiktoken's `r50k_base`, `p50k_base`, `gpt2`).
pub const GPT2_PATTERN: &str =
    r"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

// ANCHOR: class
/// The four kinds of character the pattern tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// `\p{L}`: a letter of any script.
    Letter,
    /// `\p{N}`: a digit, a Roman numeral, a superscript two...
    Number,
    /// `\s`: Unicode White_Space.
    Space,
    /// Everything else: punctuation, symbols, emoji, combining marks, joiners.
    Other,
}

/// The class of a character, by Unicode general category and White_Space.
pub fn classify(c: char) -> Class {
    if is_white_space(c) {
        return Class::Space;
    }
    match get_general_category(c) {
        G::UppercaseLetter
        | G::LowercaseLetter
        | G::TitlecaseLetter
        | G::ModifierLetter
        | G::OtherLetter => Class::Letter,
        G::DecimalNumber | G::LetterNumber | G::OtherNumber => Class::Number,
        _ => Class::Other,
    }
}

/// Unicode's White_Space property (the same 25 code points since Unicode 4.1).
fn is_white_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | ' ' | '\u{85}' | '\u{a0}' | '\u{1680}'
        | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}'
        | '\u{205f}' | '\u{3000}')
}
// ANCHOR_END: class

/// The class of every ASCII byte, computed once at compile time: the fast path.
const ASCII: [Class; 128] = {
    let mut t = [Class::Other; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() {
            Class::Letter
        } else if c.is_ascii_digit() {
            Class::Number
        } else if matches!(c, b'\t'..=b'\r' | b' ') {
            Class::Space
        } else {
            Class::Other
        };
        b += 1;
    }
    t
};

/// The class and byte length of the character starting at `s[i]`. A byte that does not
/// start a valid UTF-8 sequence is one `Other` character of length 1, the class U+FFFD
/// (the replacement character, a symbol) has, so any byte string pre-tokenizes.
#[inline]
fn char_at(s: &[u8], i: usize) -> (Class, usize) {
    let b0 = s[i];
    if b0 < 0x80 {
        return (ASCII[b0 as usize], 1);
    }
    match decode_utf8(&s[i..]) {
        Some((c, n)) => (classify(c), n),
        None => (Class::Other, 1),
    }
}

/// Decodes one UTF-8 scalar value from the start of `s`, rejecting overlong forms,
/// surrogates and values past U+10FFFF, as `std::str::from_utf8` does.
#[inline]
fn decode_utf8(s: &[u8]) -> Option<(char, usize)> {
    let b0 = s[0];
    let (n, lo, hi) = match b0 {
        0xc2..=0xdf => (2, 0x80, 0xbf),
        0xe0 => (3, 0xa0, 0xbf),
        0xed => (3, 0x80, 0x9f),
        0xe1..=0xef => (3, 0x80, 0xbf),
        0xf0 => (4, 0x90, 0xbf),
        0xf4 => (4, 0x80, 0x8f),
        0xf1..=0xf3 => (4, 0x80, 0xbf),
        _ => return None,
    };
    if s.len() < n || !(lo..=hi).contains(&s[1]) {
        return None;
    }
    let mut u = (b0 as u32) & (0x7f >> n);
    for &b in &s[1..n] {
        if b & 0xc0 != 0x80 {
            return None;
        }
        u = (u << 6) | (b & 0x3f) as u32;
    }
    char::from_u32(u).map(|c| (c, n))
}

// ANCHOR: scanner
/// The end of the pre-token that starts at `s[i]`: the pattern's alternatives in order,
/// the first that matches wins.
fn piece_end(s: &[u8], i: usize) -> usize {
    // '(?:[sdmt]|ll|ve|re): English contractions, lower case only.
    if s[i] == b'\'' {
        if let Some(b"ll" | b"ve" | b"re") = s.get(i + 1..i + 3) {
            return i + 3;
        }
        if let Some(b's' | b'd' | b'm' | b't') = s.get(i + 1) {
            return i + 2;
        }
    }
    // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": an optional space, then a run.
    let (mut class, mut j) = (char_at(s, i).0, i);
    if s[i] == b' ' && i + 1 < s.len() {
        let next = char_at(s, i + 1).0;
        if next != Class::Space {
            (class, j) = (next, i + 1);
        }
    }
    // The run: every following character of the same class.
    let mut last = j; // start of the run's last character
    while j < s.len() {
        let (c, n) = char_at(s, j);
        if c != class {
            break;
        }
        (last, j) = (j, j + n);
    }
    // "\s+(?!\S)": a whitespace run gives its last character back to the word after it
    // (so " world" keeps its space) unless that would leave it empty: then "\s+".
    if class == Class::Space && j < s.len() && last > i {
        return last;
    }
    j
}
// ANCHOR_END: scanner

// ANCHOR: pretokenize
/// The GPT-2 pre-tokens of `text`, as slices of it; they cover it exactly, in order.
pub fn pretokenize(text: &[u8]) -> Pretokens<'_> {
    Pretokens { s: text, pos: 0 }
}

/// Iterator over pre-tokens; see [`pretokenize`].
pub struct Pretokens<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Pretokens<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.s.len() {
            return None;
        }
        let (start, end) = (self.pos, piece_end(self.s, self.pos));
        self.pos = end;
        Some(&self.s[start..end])
    }
}
// ANCHOR_END: pretokenize

/// The pre-tokens of a string, as strings (valid UTF-8 in, valid UTF-8 out: a pre-token
/// boundary always falls between characters).
pub fn pretokenize_str(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut pos = 0;
    for piece in pretokenize(text.as_bytes()) {
        out.push(&text[pos..pos + piece.len()]);
        pos += piece.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_agrees_with_std_on_all_short_prefixes() {
        for b0 in 0x80u8..=0xff {
            for b1 in [0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0] {
                let s = [b0, b1, 0x80, 0x80];
                let std = std::str::from_utf8(&s)
                    .ok()
                    .or_else(|| {
                        (2..4).rev().find_map(|n| std::str::from_utf8(&s[..n]).ok())
                    })
                    .and_then(|t| t.chars().next())
                    .map(|c| (c, c.len_utf8()));
                assert_eq!(decode_utf8(&s), std, "bytes {s:02x?}");
            }
        }
    }

    #[test]
    fn class_table_matches_classify() {
        for b in 0u8..128 {
            assert_eq!(ASCII[b as usize], classify(b as char), "byte {b}");
        }
    }
}
