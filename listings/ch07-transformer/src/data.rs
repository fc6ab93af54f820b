//! The synthetic translation task (section "A translation task"): dates written out in
//! English words, translated into ISO 8601. "the twenty third of march two thousand and
//! four" becomes `2004-03-23`. The year moves from the end to the front and the day from
//! the front to the end, so the model cannot copy left to right: it has to learn where to
//! look.

use std::collections::{HashMap, HashSet};

use ndarray::Array2;
use rand::{Rng, RngExt};
use thiserror::Error;

use crate::model::shift_right;

/// Padding, shared by both vocabularies (the model's `Config::pad`).
pub const PAD: usize = 0;
/// Begin-of-sequence: the first input of the decoder.
pub const BOS: usize = 1;
/// End-of-sequence: the last target, after which decoding stops.
pub const EOS: usize = 2;

/// The first three ids of both vocabularies. The source never uses BOS or EOS, but one
/// numbering for both sides keeps `PAD` the same id everywhere.
pub const SPECIALS: [&str; 3] = ["<pad>", "<bos>", "<eos>"];

/// What can go wrong with text a user gives the model.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DataError {
    #[error(
        "unknown word {word:?} at position {position}: the model only knows date words"
    )]
    UnknownWord { word: String, position: usize },
    #[error(
        "empty input: expected a date in words, like \"the first of may nineteen ninety\""
    )]
    Empty,
    #[error("input has {len} words but the model reads at most {max}")]
    TooLong { len: usize, max: usize },
}

// ANCHOR: vocab
/// A word-level vocabulary: ids are positions in `words`; the special tokens come first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    words: Vec<String>,
    index: HashMap<String, usize>,
}

impl Vocab {
    pub fn new(words: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let words: Vec<String> = words.into_iter().map(Into::into).collect();
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i))
            .collect();
        Vocab { words, index }
    }
}
// ANCHOR_END: vocab

/// Lookups both ways.
impl Vocab {
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    pub fn id(&self, word: &str) -> Option<usize> {
        self.index.get(word).copied()
    }

    pub fn word(&self, id: usize) -> &str {
        &self.words[id]
    }
}

// ANCHOR: encode
impl Vocab {
    /// Splits on whitespace, lower-cases, and maps every word to its id; an unknown word
    /// is an error that names it, never a silent `<unk>`: a date with a word dropped is a
    /// different date.
    pub fn encode(&self, text: &str, max_len: usize) -> Result<Vec<usize>, DataError> {
        let ids = text
            .split_whitespace()
            .enumerate()
            .map(|(position, w)| {
                let word = w.to_lowercase();
                // users cannot type the special tokens
                let id = self.id(&word).filter(|&id| id > EOS);
                id.ok_or(DataError::UnknownWord { word, position })
            })
            .collect::<Result<Vec<_>, _>>()?;
        match ids.len() {
            0 => Err(DataError::Empty),
            len if len > max_len => Err(DataError::TooLong { len, max: max_len }),
            _ => Ok(ids),
        }
    }

    /// Ids back to text, joined with `sep`, special tokens dropped.
    pub fn decode(&self, ids: &[usize], sep: &str) -> String {
        let words: Vec<&str> = ids
            .iter()
            .filter(|&&id| id != PAD && id != BOS && id != EOS)
            .map(|&id| self.word(id))
            .collect();
        words.join(sep)
    }
}
// ANCHOR_END: encode

const UNITS: [&str; 20] = [
    "",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const ORDINALS: [&str; 20] = [
    "",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];
pub const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// 1 ≤ n ≤ 99 as words: "seven", "fourteen", "forty two".
pub fn cardinal(n: u32) -> String {
    match n {
        1..20 => UNITS[n as usize].to_owned(),
        _ if n.is_multiple_of(10) => TENS[(n / 10) as usize].to_owned(),
        _ => format!("{} {}", TENS[(n / 10) as usize], UNITS[(n % 10) as usize]),
    }
}

/// 1 ≤ d ≤ 31 as an ordinal: "third", "twentieth", "twenty third".
fn ordinal(d: u32) -> String {
    match d {
        1..20 => ORDINALS[d as usize].to_owned(),
        20 => "twentieth".to_owned(),
        30 => "thirtieth".to_owned(),
        _ => format!(
            "{} {}",
            TENS[(d / 10) as usize],
            ORDINALS[(d % 10) as usize]
        ),
    }
}

/// A year from 1900 to 2099 the way it is spoken: "nineteen oh five", "nineteen
/// hundred", "two thousand and four", "twenty twenty four".
fn year_words(y: u32) -> String {
    let (century, rest) = (y / 100, y % 100);
    match (century, rest) {
        (20, 0) => "two thousand".to_owned(),
        (20, 1..10) => format!("two thousand and {}", cardinal(rest)),
        (_, 0) => format!("{} hundred", cardinal(century)),
        (_, 1..10) => format!("{} oh {}", cardinal(century), cardinal(rest)),
        _ => format!("{} {}", cardinal(century), cardinal(rest)),
    }
}

// ANCHOR: date
/// A calendar date, and the two word orders the source language uses for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Date {
    pub year: u32,  // 1900..=2099
    pub month: u32, // 1..=12
    pub day: u32,   // 1..=days_in_month
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    DayFirst,   // "the twenty third of march two thousand and four"
    MonthFirst, // "march the twenty third two thousand and four"
}
// ANCHOR_END: date

// ANCHOR: date_impl
pub fn days_in_month(year: u32, month: u32) -> u32 {
    let leap =
        year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    pub fn random(rng: &mut impl Rng) -> Self {
        let year = rng.random_range(1900..2100);
        let month = rng.random_range(1..13);
        let day = rng.random_range(1..=days_in_month(year, month));
        Date { year, month, day }
    }

    pub fn words(&self, style: Style) -> String {
        let (d, m, y) = (
            ordinal(self.day),
            MONTHS[self.month as usize - 1],
            year_words(self.year),
        );
        match style {
            Style::DayFirst => format!("the {d} of {m} {y}"),
            Style::MonthFirst => format!("{m} the {d} {y}"),
        }
    }

    /// The target: "2004-03-23".
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}
// ANCHOR_END: date_impl

/// Every word any date can use, in a fixed order.
fn source_words() -> Vec<String> {
    let mut words: Vec<String> = SPECIALS.map(String::from).to_vec();
    let mut add = |text: &str| {
        for w in text.split_whitespace() {
            if !words.iter().any(|x| x == w) {
                words.push(w.to_owned());
            }
        }
    };
    add("the of oh hundred thousand and");
    (1..=31).for_each(|d| add(&ordinal(d)));
    (1..100).for_each(|n| add(&cardinal(n)));
    MONTHS.iter().for_each(|m| add(m));
    words
}

/// One source sentence and its translation, as ids (the target without BOS/EOS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    pub date: Date,
    pub style: Style,
    pub src: Vec<usize>,
    pub tgt: Vec<usize>,
}

// ANCHOR: task
/// The two vocabularies and the generator. Targets are characters: the ten digits and
/// the dash, so the model spells every digit of `2004-03-23`.
#[derive(Clone, Debug)]
pub struct Task {
    pub src_vocab: Vocab,
    pub tgt_vocab: Vocab,
}

impl Default for Task {
    fn default() -> Self {
        let tgt = SPECIALS
            .into_iter()
            .map(String::from)
            .chain(std::iter::once("-".to_owned()))
            .chain((0..10).map(|d| d.to_string()));
        Task {
            src_vocab: Vocab::new(source_words()),
            tgt_vocab: Vocab::new(tgt),
        }
    }
}
// ANCHOR_END: task

// ANCHOR: example
impl Task {
    /// The longest source sentence, in words: "september the twenty seventh nineteen
    /// seventy seven" and friends.
    pub const MAX_SRC: usize = 10;
    /// The target's length: `YYYY-MM-DD`.
    pub const TGT_LEN: usize = 10;

    pub fn example(&self, date: Date, style: Style) -> Example {
        let src = self.src_vocab.encode(&date.words(style), Self::MAX_SRC);
        let tgt = self.tgt_vocab.encode(&spaced(&date.iso()), Self::TGT_LEN);
        Example {
            date,
            style,
            src: src.expect("every generated word is in the vocabulary"),
            tgt: tgt.expect("every digit and the dash are in the vocabulary"),
        }
    }

    pub fn random_example(&self, rng: &mut impl Rng) -> Example {
        let date = Date::random(rng);
        let style = if rng.random::<bool>() {
            Style::DayFirst
        } else {
            Style::MonthFirst
        };
        self.example(date, style)
    }
}
// ANCHOR_END: example

// ANCHOR: split
impl Task {
    /// `n` distinct held-out examples, and a training stream that never yields one of
    /// them: the test measures translation of sentences never seen, not recall.
    pub fn split(
        &self,
        n_heldout: usize,
        rng: &mut impl Rng,
    ) -> (Vec<Example>, Stream<'_>) {
        let mut seen = HashSet::new();
        let mut heldout = Vec::with_capacity(n_heldout);
        while heldout.len() < n_heldout {
            let ex = self.random_example(rng);
            if seen.insert((ex.date, ex.style)) {
                heldout.push(ex);
            }
        }
        let stream = Stream {
            task: self,
            excluded: seen,
        };
        (heldout, stream)
    }
}

/// Training examples drawn at random, skipping the held-out set.
pub struct Stream<'a> {
    task: &'a Task,
    excluded: HashSet<(Date, Style)>,
}
// ANCHOR_END: split

// ANCHOR: stream
impl Stream<'_> {
    pub fn next(&self, rng: &mut impl Rng) -> Example {
        loop {
            let ex = self.task.random_example(rng);
            if !self.excluded.contains(&(ex.date, ex.style)) {
                return ex;
            }
        }
    }

    pub fn is_heldout(&self, ex: &Example) -> bool {
        self.excluded.contains(&(ex.date, ex.style))
    }

    /// Examples until the padded batch would exceed `max_tokens` source plus target
    /// tokens: batching by tokens keeps the work per step steady when lengths vary.
    pub fn batch(&self, max_tokens: usize, rng: &mut impl Rng) -> Vec<Example> {
        let mut batch: Vec<Example> = Vec::new();
        let (mut s, mut t) = (0, 0); // longest source and target so far
        loop {
            let ex = self.next(rng);
            let (s2, t2) = (s.max(ex.src.len()), t.max(ex.tgt.len() + 1));
            if !batch.is_empty() && (batch.len() + 1) * (s2 + t2) > max_tokens {
                return batch; // the extra example is dropped; the stream is endless
            }
            (s, t) = (s2, t2);
            batch.push(ex);
        }
    }
}
// ANCHOR_END: stream

/// "2004-03-23" -> "2 0 0 4 - 0 3 - 2 3": one target token per character.
pub fn spaced(text: &str) -> String {
    let chars: Vec<String> = text.chars().map(String::from).collect();
    chars.join(" ")
}

// ANCHOR: batch
/// A padded batch for teacher forcing. The decoder reads `tgt_in`, the target shifted
/// right behind BOS, and is scored on `tgt_out`, the target followed by EOS: at position
/// t it sees y₀…y_{t-1} and must predict y_t.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub src: Array2<usize>,     // [B, S]
    pub tgt_in: Array2<usize>,  // [B, T]: BOS y₀ … y_{n-1}
    pub tgt_out: Array2<usize>, // [B, T]: y₀ … y_{n-1} EOS
}

impl Batch {
    pub fn new(examples: &[Example]) -> Self {
        let srcs: Vec<&[usize]> = examples.iter().map(|e| e.src.as_slice()).collect();
        let with_eos: Vec<Vec<usize>> = examples
            .iter()
            .map(|e| e.tgt.iter().copied().chain([EOS]).collect())
            .collect();
        let tgt_out = pad_rows(&with_eos.iter().map(Vec::as_slice).collect::<Vec<_>>());
        Batch {
            src: pad_rows(&srcs),
            tgt_in: shift_right(&tgt_out, BOS),
            tgt_out,
        }
    }

    /// Target tokens the loss counts (EOS included, padding not).
    pub fn n_tokens(&self) -> usize {
        self.tgt_out.iter().filter(|&&y| y != PAD).count()
    }
}

/// Rows of different lengths, right-padded with PAD to the longest.
// rows: B slices -> [B, max len]
pub fn pad_rows(rows: &[&[usize]]) -> Array2<usize> {
    let width = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    Array2::from_shape_fn((rows.len(), width), |(b, t)| {
        rows[b].get(t).copied().unwrap_or(PAD)
    })
}
// ANCHOR_END: batch
