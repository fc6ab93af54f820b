//! BERT's basic tokenizer: clean the text, space out CJK ideographs, strip accents,
//! lowercase, then split on whitespace and punctuation. The rules mirror Hugging Face
//! `tokenizers` (`BertNormalizer` + `BertPreTokenizer`) character for character.

use unicode_general_category::{GeneralCategory as Gc, get_general_category};
use unicode_normalization::UnicodeNormalization;

use super::legacy::{HF_EXTRA_MARKS, HF_EXTRA_PUNCTUATION, is_newer_than_hf};

// ANCHOR: char_classes
/// Whitespace: Unicode `White_Space`, which includes `\t`, `\n` and `\r`.
pub fn is_whitespace(c: char) -> bool {
    c.is_whitespace()
}

/// A control character that cleaning drops: categories Cc, Cf and Co (but not Cn),
/// except `\t`, `\n` and `\r`, which count as whitespace instead. Characters newer
/// than Hugging Face's Unicode tables are unassigned there, so never control.
pub fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') || is_newer_than_hf(c) {
        return false;
    }
    matches!(
        get_general_category(c),
        Gc::Control | Gc::Format | Gc::PrivateUse
    )
}
// ANCHOR_END: char_classes

// ANCHOR: punct_cjk
/// BERT's punctuation: every printable ASCII character that is not a letter, digit
/// or space (so `$`, `+`, `^` count, though Unicode calls them symbols), plus P*.
pub fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || HF_EXTRA_PUNCTUATION.contains(&c)
        || !is_newer_than_hf(c)
            && matches!(
                get_general_category(c),
                Gc::ConnectorPunctuation
                    | Gc::DashPunctuation
                    | Gc::OpenPunctuation
                    | Gc::ClosePunctuation
                    | Gc::InitialPunctuation
                    | Gc::FinalPunctuation
                    | Gc::OtherPunctuation
            )
}

/// The CJK ideograph blocks BERT spaces out. Hangul and kana are not among them. The
/// range after 0x2B81F starts at 0x2B920, not 0x2B820: Hugging Face's table says so.
pub fn is_chinese_char(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B920..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}
// ANCHOR_END: punct_cjk

/// Which of BERT's normalisation steps to run; `Default` is `bert-base-uncased`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicTokenizer {
    pub clean_text: bool,
    pub handle_chinese_chars: bool,
    pub strip_accents: bool,
    pub lowercase: bool,
}

impl Default for BasicTokenizer {
    fn default() -> Self {
        BasicTokenizer {
            clean_text: true,
            handle_chinese_chars: true,
            strip_accents: true,
            lowercase: true,
        }
    }
}

/// The text after each step, for showing the pipeline at work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Steps {
    pub cleaned: String,
    pub cjk_spaced: String,
    pub accents_stripped: String,
    pub lowercased: String,
    pub words: Vec<String>,
}

// ANCHOR: clean
/// Drops NUL, U+FFFD and control characters; turns every whitespace character
/// (tabs, newlines, no-break and ideographic spaces) into a plain space.
pub fn clean_text(text: &str) -> String {
    text.chars()
        .filter(|&c| !(c == '\0' || c == '\u{FFFD}' || is_control(c)))
        .map(|c| if is_whitespace(c) { ' ' } else { c })
        .collect()
}

/// Puts a space either side of every CJK ideograph, so each becomes its own word.
pub fn space_cjk(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_chinese_char(c) {
            out.extend([' ', c, ' ']);
        } else {
            out.push(c);
        }
    }
    out
}
// ANCHOR_END: clean

// ANCHOR: strip_accents

/// Canonical decomposition (NFD) splits `é` into `e` + U+0301; dropping the
/// non-spacing marks (category Mn) leaves the base letters.
pub fn strip_accents(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // HF's NFD tables do not know newer characters: they pass through undecomposed.
    for run in text.split_inclusive(is_newer_than_hf) {
        let (old, newer) = match run.chars().next_back() {
            Some(c) if is_newer_than_hf(c) => (&run[..run.len() - c.len_utf8()], Some(c)),
            _ => (run, None),
        };
        out.extend(old.nfd().filter(|&c| !is_nonspacing_mark(c)));
        out.extend(newer);
    }
    out
}

/// Category Mn as Hugging Face's tables have it.
pub fn is_nonspacing_mark(c: char) -> bool {
    HF_EXTRA_MARKS.contains(&c)
        || !is_newer_than_hf(c) && get_general_category(c) == Gc::NonspacingMark
}
// ANCHOR_END: strip_accents

// ANCHOR: pre_tokenize
/// Splits normalised text into words: whitespace separates and disappears, each
/// punctuation character becomes a word of its own.
pub fn pre_tokenize(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    for chunk in text.split(is_whitespace).filter(|w| !w.is_empty()) {
        let mut start = 0;
        for (i, c) in chunk.char_indices() {
            if is_punctuation(c) {
                if start < i {
                    words.push(&chunk[start..i]);
                }
                words.push(&chunk[i..i + c.len_utf8()]);
                start = i + c.len_utf8();
            }
        }
        if start < chunk.len() {
            words.push(&chunk[start..]);
        }
    }
    words
}
// ANCHOR_END: pre_tokenize

impl BasicTokenizer {
    // ANCHOR: normalize
    /// Runs the enabled steps in Hugging Face's order: accents are stripped before
    /// lowercasing, so `İ` (I with dot above) loses its dot and becomes a plain `i`.
    pub fn normalize(&self, text: &str) -> String {
        let mut s = text.to_owned();
        if self.clean_text {
            s = clean_text(&s);
        }
        if self.handle_chinese_chars {
            s = space_cjk(&s);
        }
        if self.strip_accents {
            s = strip_accents(&s);
        }
        if self.lowercase {
            // Per character, as HF does: no final-sigma rule, so Σ is always σ.
            s = s.chars().flat_map(char::to_lowercase).collect();
        }
        s
    }
    // ANCHOR_END: normalize

    /// Normalises `text` and splits it into words.
    pub fn words(&self, text: &str) -> Vec<String> {
        pre_tokenize(&self.normalize(text))
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// Every step's output in turn (steps that are turned off pass the text through).
    pub fn steps(&self, text: &str) -> Steps {
        let on = |flag: bool, f: fn(&str) -> String, s: &str| {
            if flag { f(s) } else { s.to_owned() }
        };
        let cleaned = on(self.clean_text, clean_text, text);
        let cjk_spaced = on(self.handle_chinese_chars, space_cjk, &cleaned);
        let accents_stripped = on(self.strip_accents, strip_accents, &cjk_spaced);
        let lowercased = if self.lowercase {
            accents_stripped
                .chars()
                .flat_map(char::to_lowercase)
                .collect()
        } else {
            accents_stripped.clone()
        };
        let words = pre_tokenize(&lowercased)
            .into_iter()
            .map(str::to_owned)
            .collect();
        Steps {
            cleaned,
            cjk_spaced,
            accents_stripped,
            lowercased,
            words,
        }
    }
}
