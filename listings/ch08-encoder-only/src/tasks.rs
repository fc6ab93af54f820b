//! The fine-tuning tasks (section "Fine-tuning"): sentiment and named entities,
//! generated in code from a seed. Test sentences use templates the training set never
//! uses, and names and sentiment words it never contains, so that a model cannot pass
//! by remembering sentences: it has to know what the words mean.

use ch02_input::wordpiece::WordPiece;
use rand::{Rng, RngExt};

/// A label position the loss skips: [CLS], [SEP], padding, and a word's later pieces.
pub const IGNORE: usize = usize::MAX;

// ANCHOR: sentiment_words
/// Sentiment templates: `{s}` is a subject, `{w}` the word that decides the label.
#[rustfmt::skip]
pub const TRAIN_TEMPLATES: [&str; 6] = [
    "the {s} was {w}", "i thought the {s} was {w}", "this {s} is {w}",
    "what a {w} {s}", "my sister said the {s} was {w}", "honestly the {s} felt {w}",
];
#[rustfmt::skip]
pub const TEST_TEMPLATES: [&str; 4] = [
    "everyone agreed that the {s} was {w}", "we all found this {s} {w}",
    "a truly {w} {s}", "the {s} we saw yesterday was {w}",
];
pub const TRAIN_SUBJECTS: [&str; 6] =
    ["movie", "book", "meal", "hotel", "concert", "album"];
pub const TEST_SUBJECTS: [&str; 4] = ["play", "restaurant", "trip", "lecture"];
/// [negative, positive] words seen in training, and words that never appear in it.
#[rustfmt::skip]
pub const SEEN_WORDS: [[&str; 8]; 2] = [
    ["bad", "terrible", "awful", "horrible", "boring", "dreadful", "disappointing", "poor"],
    ["good", "great", "wonderful", "excellent", "fantastic", "amazing", "enjoyable",
     "delightful"],
];
#[rustfmt::skip]
pub const UNSEEN_WORDS: [[&str; 8]; 2] = [
    ["lousy", "dull", "mediocre", "miserable", "unpleasant", "pathetic", "tedious",
     "atrocious"],
    ["superb", "brilliant", "lovely", "pleasant", "outstanding", "terrific", "marvelous",
     "charming"],
];
// ANCHOR_END: sentiment_words

/// A sentence and its class (sentiment: 0 negative, 1 positive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labelled {
    pub text: String,
    pub label: usize,
}

fn pick<'a>(items: &[&'a str], rng: &mut impl Rng) -> &'a str {
    items[rng.random_range(0..items.len())]
}

// ANCHOR: sentiment
/// `n` sentences, half negative and half positive in random order: a template, a
/// subject and a sentiment word of the label's list, each drawn uniformly.
pub fn sentiment(
    n: usize,
    templates: &[&str],
    subjects: &[&str],
    words: &[[&str; 8]; 2],
    rng: &mut impl Rng,
) -> Vec<Labelled> {
    (0..n)
        .map(|_| {
            let label = rng.random_range(0..2);
            let text = pick(templates, rng)
                .replace("{s}", pick(subjects, rng))
                .replace("{w}", pick(&words[label], rng));
            Labelled { text, label }
        })
        .collect()
}
// ANCHOR_END: sentiment

/// The sentiment task's three sets: training, and two held-out test sets (held-out
/// templates and subjects), one with the training set's sentiment words and one with
/// words the training set never contains.
pub struct SentimentData {
    pub train: Vec<Labelled>,
    pub test_seen: Vec<Labelled>,
    pub test_unseen: Vec<Labelled>,
}

impl SentimentData {
    pub fn generate(n_train: usize, n_test: usize, rng: &mut impl Rng) -> Self {
        SentimentData {
            train: sentiment(
                n_train,
                &TRAIN_TEMPLATES,
                &TRAIN_SUBJECTS,
                &SEEN_WORDS,
                rng,
            ),
            test_seen: sentiment(
                n_test,
                &TEST_TEMPLATES,
                &TEST_SUBJECTS,
                &SEEN_WORDS,
                rng,
            ),
            test_unseen: sentiment(
                n_test,
                &TEST_TEMPLATES,
                &TEST_SUBJECTS,
                &UNSEEN_WORDS,
                rng,
            ),
        }
    }
}

/// The NER tag set, BIO over three types; a tag's id is its index.
pub const TAGS: [&str; 7] = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"];

// ANCHOR: ner_words
/// NER templates: each `{TYPE}` slot becomes a name of that type.
#[rustfmt::skip]
pub const NER_TRAIN_TEMPLATES: [&str; 6] = [
    "{PER} visited {LOC} last week", "{PER} works for {ORG} in {LOC}",
    "yesterday {ORG} hired {PER}", "{PER} and {PER} met in {LOC}",
    "{ORG} is based in {LOC}", "we flew from {LOC} to {LOC} with {PER}",
];
#[rustfmt::skip]
pub const NER_TEST_TEMPLATES: [&str; 4] = [
    "last year {PER} moved to {LOC} to join {ORG}", "the mayor of {LOC} thanked {PER}",
    "{ORG} opened an office in {LOC}", "{PER} gave a talk at {ORG}",
];
/// A person is a first name, or a first and a last name.
#[rustfmt::skip]
pub const TRAIN_FIRST: [&str; 8] =
    ["john", "mary", "james", "linda", "robert", "susan", "david", "karen"];
pub const TRAIN_LAST: [&str; 6] =
    ["smith", "johnson", "brown", "taylor", "miller", "wilson"];
pub const TEST_FIRST: [&str; 6] = ["emma", "oliver", "sophia", "lucas", "mia", "ethan"];
pub const TEST_LAST: [&str; 4] = ["garcia", "martinez", "anderson", "thomas"];
#[rustfmt::skip]
pub const TRAIN_LOC: [&str; 8] =
    ["paris", "london", "berlin", "madrid", "new york", "los angeles", "rome", "chicago"];
#[rustfmt::skip]
pub const TEST_LOC: [&str; 6] =
    ["tokyo", "cairo", "sydney", "buenos aires", "san francisco", "lisbon"];
#[rustfmt::skip]
pub const TRAIN_ORG: [&str; 8] = ["google", "microsoft", "amazon", "general motors",
    "red cross", "world bank", "toyota", "netflix"];
#[rustfmt::skip]
pub const TEST_ORG: [&str; 6] =
    ["intel", "samsung", "siemens", "goldman sachs", "deutsche telekom", "unicef"];
// ANCHOR_END: ner_words

/// A sentence as words and one tag id per word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tagged {
    pub words: Vec<String>,
    pub tags: Vec<usize>,
}

/// The names one split draws from.
pub struct Names<'a> {
    pub first: &'a [&'a str],
    pub last: &'a [&'a str],
    pub loc: &'a [&'a str],
    pub org: &'a [&'a str],
}

pub const TRAIN_NAMES: Names<'static> = Names {
    first: &TRAIN_FIRST,
    last: &TRAIN_LAST,
    loc: &TRAIN_LOC,
    org: &TRAIN_ORG,
};
pub const TEST_NAMES: Names<'static> = Names {
    first: &TEST_FIRST,
    last: &TEST_LAST,
    loc: &TEST_LOC,
    org: &TEST_ORG,
};

// ANCHOR: ner
/// One template word: a `{TYPE}` slot becomes a random name of that type, returned with
/// the id of B-TYPE; any other word stays itself, with O's id, 0.
#[rustfmt::skip]
fn fill(slot: &str, names: &Names, rng: &mut impl Rng) -> (String, usize) {
    match slot {
        "{PER}" if rng.random_range(0..2) == 0 => (pick(names.first, rng).to_owned(), 1),
        "{PER}" => (format!("{} {}", pick(names.first, rng), pick(names.last, rng)), 1),
        "{LOC}" => (pick(names.loc, rng).to_owned(), 3),
        "{ORG}" => (pick(names.org, rng).to_owned(), 5),
        word => (word.to_owned(), 0),
    }
}

/// `n` sentences from random templates: a name is tagged B-TYPE on its first word and
/// I-TYPE (the next id) on the rest; other words are O.
pub fn ner(
    n: usize,
    templates: &[&str],
    names: &Names,
    rng: &mut impl Rng,
) -> Vec<Tagged> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (mut words, mut tags) = (Vec::new(), Vec::new());
        for slot in pick(templates, rng).split(' ') {
            let (name, b) = fill(slot, names, rng);
            for (i, word) in name.split(' ').enumerate() {
                words.push(word.to_owned());
                tags.push(match (b, i) {
                    (0, _) => 0,
                    (b, 0) => b,
                    (b, _) => b + 1,
                });
            }
        }
        out.push(Tagged { words, tags });
    }
    out
}
// ANCHOR_END: ner

/// The NER task: training sentences, and held-out test sentences (held-out templates
/// and held-out names).
pub struct NerData {
    pub train: Vec<Tagged>,
    pub test: Vec<Tagged>,
}

impl NerData {
    pub fn generate(n_train: usize, n_test: usize, rng: &mut impl Rng) -> Self {
        NerData {
            train: ner(n_train, &NER_TRAIN_TEMPLATES, &TRAIN_NAMES, rng),
            test: ner(n_test, &NER_TEST_TEMPLATES, &TEST_NAMES, rng),
        }
    }
}

/// A sentence as BERT's input with one label per piece (`IGNORE` where none), and
/// where each word's first piece is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aligned {
    pub ids: Vec<u32>,
    pub labels: Vec<usize>,
    pub word_starts: Vec<usize>,
}

// ANCHOR: align
/// `[CLS] pieces [SEP]`, each word's tag on its first piece and `IGNORE` on the others
/// (BERT's recipe): the model predicts one tag per word, read at its first piece.
pub fn align(tok: &WordPiece, words: &[String], tags: &[usize]) -> Aligned {
    assert!(
        words.len() == tags.len(),
        "align: {} words, {} tags",
        words.len(),
        tags.len()
    );
    let special = tok.vocab.special();
    let mut a = Aligned {
        ids: vec![special.cls],
        labels: vec![IGNORE],
        word_starts: Vec::new(),
    };
    for (word, &tag) in words.iter().zip(tags) {
        let pieces = tok.encode_words(word);
        a.word_starts.push(a.ids.len());
        for (i, &id) in pieces.iter().enumerate() {
            a.ids.push(id);
            a.labels.push(if i == 0 { tag } else { IGNORE });
        }
    }
    a.ids.push(special.sep);
    a.labels.push(IGNORE);
    a
}
// ANCHOR_END: align
