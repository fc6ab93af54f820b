//! Zero- and few-shot prompting (section "Zero- and few-shot prompting"): SmolLM2 labels
//! the sentiment of Chapter 8's generated sentences with 0, 1, 3 or 5 labelled examples
//! (shots) in its prompt. Each prompt is answered twice: by **scoring**, the label whose
//! token is more likely next, and by **generating** a few tokens greedily and reading
//! the answer off them with a fixed extraction rule.
//!
//! The test sentences use Chapter 8's held-out templates and subjects and its unseen
//! sentiment words; the shots come from its training templates, subjects and words, so
//! no shot shares a word that decides a label with any test sentence.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch01_foundations::probability::argmax;
use ch08_encoder_only::tasks::{
    Labelled, SEEN_WORDS, TEST_SUBJECTS, TEST_TEMPLATES, TRAIN_SUBJECTS, TRAIN_TEMPLATES,
    UNSEEN_WORDS, sentiment,
};
use ndarray::Array1;
use rand::Rng;
use rayon::prelude::*;

use crate::llama::{KvCache, Llama};
use crate::tokenizer::{GgufTokenizer, smollm2_chat_prompt};

/// The labels, indexed by Chapter 8's class (0 negative, 1 positive).
pub const LABELS: [&str; 2] = ["negative", "positive"];

/// The first line of every prompt.
pub const INSTRUCTION: &str =
    "Classify the sentiment of each review as positive or negative.";

/// The shot counts the section measures.
pub const SHOTS: [usize; 4] = [0, 1, 3, 5];

/// The section's task: test sentences, shot draws and seed.
pub const N_TEST: usize = 48;
pub const DRAWS: usize = 2;
pub const SEED: u64 = 9;

/// How the prompt reaches the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Plain text: the model continues the document.
    Raw,
    /// One user turn of SmolLM2-Instruct's chat template; the model answers as the
    /// assistant.
    Chat,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Chat => "chat",
        }
    }

    /// What the model would write before a label: a space after `Sentiment:` in plain
    /// text, nothing at the start of the assistant's turn.
    pub fn label_text(self, label: usize) -> String {
        match self {
            Format::Raw => format!(" {}", LABELS[label]),
            Format::Chat => LABELS[label].to_owned(),
        }
    }
}

// ANCHOR: prompt
/// The instruction, each shot as a review and its label, then the query with its label
/// left for the model; in the chat format all of it is one user turn.
pub fn prompt(format: Format, shots: &[Labelled], query: &str) -> String {
    let mut text = INSTRUCTION.to_owned();
    for s in shots {
        let label = LABELS[s.label];
        text += &format!("\n\nReview: {}\nSentiment: {label}", s.text);
    }
    text += &format!("\n\nReview: {query}\nSentiment:");
    match format {
        Format::Raw => text,
        Format::Chat => smollm2_chat_prompt(&text),
    }
}
// ANCHOR_END: prompt

// ANCHOR: extract
/// The answer-extraction rule for a generated continuation: its first
/// whitespace-separated word, lowercased, with ASCII punctuation trimmed from both ends,
/// must be a label. Anything else (no word, "The", "pos") is unparseable: `None`.
pub fn extract(continuation: &str) -> Option<usize> {
    let word = continuation.split_whitespace().next()?;
    let word = word.trim_matches(|c: char| c.is_ascii_punctuation());
    LABELS.iter().position(|l| l.eq_ignore_ascii_case(word))
}
// ANCHOR_END: extract

/// `n` sentences from Chapter 8's generator, `n / 2` of each label: the first of each
/// label it draws, in the order drawn.
pub fn balanced(
    n: usize,
    templates: &[&str],
    subjects: &[&str],
    words: &[[&str; 8]; 2],
    rng: &mut impl Rng,
) -> Vec<Labelled> {
    let mut counts = [0; 2];
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        for s in sentiment(n, templates, subjects, words, rng) {
            if out.len() < n && counts[s.label] < n / 2 {
                counts[s.label] += 1;
                out.push(s);
            }
        }
    }
    out
}

/// The test sentences and the shot sets.
pub struct Task {
    /// Held-out templates, subjects and words; half of each label.
    pub test: Vec<Labelled>,
    /// `shot_sets[d]`: draw `d`'s five shots, labels alternating, starting with label
    /// `d % 2`; a k-shot prompt uses the first k.
    pub shot_sets: Vec<Vec<Labelled>>,
}

// ANCHOR: task
impl Task {
    /// `n_test` test sentences and `draws` shot sets from a pool of training sentences.
    pub fn new(n_test: usize, draws: usize, seed: u64) -> Self {
        let mut rng = seeded_rng(seed);
        let test = balanced(
            n_test,
            &TEST_TEMPLATES,
            &TEST_SUBJECTS,
            &UNSEEN_WORDS,
            &mut rng,
        );
        let max = SHOTS[SHOTS.len() - 1];
        let pool = balanced(
            2 * max * draws,
            &TRAIN_TEMPLATES,
            &TRAIN_SUBJECTS,
            &SEEN_WORDS,
            &mut rng,
        );
        let mut by_label = [Vec::new(), Vec::new()];
        for s in pool {
            by_label[s.label].push(s);
        }
        let shot_sets = (0..draws)
            .map(|d| {
                (0..max)
                    .map(|i| {
                        let label = (d + i) % 2;
                        by_label[label][d * max + i].clone()
                    })
                    .collect()
            })
            .collect();
        Task { test, shot_sets }
    }
}
// ANCHOR_END: task

/// What the model did with one prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The label with the higher logit for its first token.
    pub scored: usize,
    /// The scored label's logit minus the other's.
    pub margin: f32,
    /// The greedy continuation: at most [`MAX_NEW`] tokens, up to the end of its first
    /// word (the whitespace after it included) or of the turn.
    pub generated: String,
}

/// The most tokens generated for one answer.
pub const MAX_NEW: usize = 4;

/// A model, its tokenizer, and the first token of each label in each format.
pub struct FewShot<'a> {
    pub model: &'a Llama,
    pub tok: &'a GgufTokenizer,
    eos: Option<u32>,
}

impl<'a> FewShot<'a> {
    pub fn new(model: &'a Llama, tok: &'a GgufTokenizer) -> Self {
        FewShot {
            model,
            tok,
            eos: tok.special("<|im_end|>"),
        }
    }

    /// The label's token in `format`; each label is one token in SmolLM2's vocabulary.
    pub fn label_token(&self, format: Format, label: usize) -> u32 {
        let ids = self.tok.encode(&format.label_text(label));
        assert_eq!(
            ids.len(),
            1,
            "{:?} is not one token",
            format.label_text(label)
        );
        ids[0]
    }

    /// The prompt's ids up to the query, run once: every query with the same shots
    /// starts from a copy of this cache.
    pub fn prefix(&self, format: Format, shots: &[Labelled]) -> (Vec<u32>, KvCache) {
        let text = prompt(format, shots, "");
        let end = text.rfind("\n\nReview: ").expect("the query");
        let ids = self.tok.encode(&text[..end]);
        let mut cache = self.model.new_cache();
        self.model.hidden_cached(&ids, &mut cache);
        (ids, cache)
    }

    // ANCHOR: answer
    /// Scores the two labels after the prompt, then generates greedily from the same
    /// cache. `prefix` must be the start of the prompt's ids, already in its cache.
    pub fn answer(
        &self,
        format: Format,
        ids: &[u32],
        prefix: &(Vec<u32>, KvCache),
    ) -> Answer {
        let (prefix_ids, prefix_cache) = prefix;
        assert!(
            ids.starts_with(prefix_ids),
            "the prompt does not start with its prefix"
        );
        let mut cache = prefix_cache.clone();
        let logits = self.step(&ids[prefix_ids.len()..], &mut cache);
        let [neg, pos] = [0, 1].map(|l| logits[self.label_token(format, l) as usize]);
        let (scored, margin) = if pos > neg {
            (1, pos - neg)
        } else {
            (0, neg - pos)
        };
        let generated = self.first_word(logits, &mut cache);
        Answer {
            scored,
            margin,
            generated,
        }
    }
    // ANCHOR_END: answer

    /// The next token's logits after `ids`, which join the cache.
    // ids: [T] -> [vocab]
    fn step(&self, ids: &[u32], cache: &mut KvCache) -> Array1<f32> {
        self.model
            .next_logits(&self.model.hidden_cached(ids, cache))
    }

    // ANCHOR: first_word
    /// Greedy decoding from `logits` until the first word has ended (see [`extract`]),
    /// the turn ends, or [`MAX_NEW`] tokens; returns the text generated.
    fn first_word(&self, mut logits: Array1<f32>, cache: &mut KvCache) -> String {
        let mut new = Vec::new();
        while new.len() < MAX_NEW {
            let next = argmax(logits.iter().copied()) as u32;
            if Some(next) == self.eos {
                break;
            }
            new.push(next);
            let text = self.tok.decode(&new).expect("ids from the model");
            if first_word_done(&text) || new.len() == MAX_NEW {
                break;
            }
            logits = self.step(&[next], cache);
        }
        let bytes = self.tok.decode(&new).expect("ids from the model");
        String::from_utf8_lossy(&bytes).into_owned()
    }
    // ANCHOR_END: first_word

    /// Every test sentence answered with `shots` in `format`.
    pub fn run(
        &self,
        format: Format,
        shots: &[Labelled],
        test: &[Labelled],
    ) -> Vec<Answer> {
        let prefix = self.prefix(format, shots);
        test.par_iter()
            .map(|t| {
                let ids = self.tok.encode(&prompt(format, shots, &t.text));
                self.answer(format, &ids, &prefix)
            })
            .collect()
    }
}

/// One row of the table: every answer for one format and shot count, pooled over the
/// shot draws (a 0-shot prompt has no shots to draw, so it is run once).
pub struct Row {
    pub format: Format,
    pub shots: usize,
    /// (true label, answer) for each prompt.
    pub answers: Vec<(usize, Answer)>,
}

impl Row {
    pub fn n(&self) -> usize {
        self.answers.len()
    }

    /// How many the scoring got right.
    pub fn scored(&self) -> usize {
        self.answers.iter().filter(|(y, a)| a.scored == *y).count()
    }

    /// How many times the scoring said positive.
    pub fn scored_positive(&self) -> usize {
        self.answers.iter().filter(|(_, a)| a.scored == 1).count()
    }

    /// How many generated answers extract to the right label.
    pub fn generated(&self) -> usize {
        self.answers
            .iter()
            .filter(|(y, a)| extract(&a.generated) == Some(*y))
            .count()
    }

    /// How many generated answers extract to no label.
    pub fn unparseable(&self) -> usize {
        self.answers
            .iter()
            .filter(|(_, a)| extract(&a.generated).is_none())
            .count()
    }

    /// The smallest scoring margin: how close the nearest call was.
    pub fn min_margin(&self) -> f32 {
        self.answers
            .iter()
            .map(|(_, a)| a.margin)
            .fold(f32::INFINITY, f32::min)
    }

    /// The unparseable continuations, most frequent first (ties in text order), with
    /// their counts.
    pub fn unparsed(&self) -> Vec<(String, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for (_, a) in self
            .answers
            .iter()
            .filter(|(_, a)| extract(&a.generated).is_none())
        {
            *counts.entry(a.generated.clone()).or_insert(0) += 1;
        }
        let mut v: Vec<(String, usize)> = counts.into_iter().collect();
        v.sort_by_key(|(_, c)| std::cmp::Reverse(*c));
        v
    }
}

/// Every shot count of [`SHOTS`] in `format`, as rows.
pub fn evaluate(fs: &FewShot, task: &Task, format: Format, shots: &[usize]) -> Vec<Row> {
    shots
        .iter()
        .map(|&k| {
            let draws = if k == 0 {
                &task.shot_sets[..1]
            } else {
                &task.shot_sets[..]
            };
            let answers = draws
                .iter()
                .flat_map(|set| {
                    let answers = fs.run(format, &set[..k], &task.test);
                    task.test.iter().map(|t| t.label).zip(answers)
                })
                .collect();
            Row {
                format,
                shots: k,
                answers,
            }
        })
        .collect()
}

/// A percentage with one decimal.
pub fn percent(k: usize, n: usize) -> String {
    format!("{:.1} %", 100.0 * k as f64 / n as f64)
}

/// One line of the table.
pub fn table_line(r: &Row) -> String {
    format!(
        "{:<6} {:>5} {:>8} {:>8} {:>9} {:>10} {:>12}",
        r.format.name(),
        r.shots,
        r.n(),
        percent(r.scored(), r.n()),
        r.scored_positive(),
        percent(r.generated(), r.n()),
        r.unparseable()
    )
}

/// The header of the table.
pub const TABLE_HEADER: &str =
    "format shots  answers   scored  positive  generated  unparseable";

/// The committed report: the task, the baseline, the table, and what the unparseable
/// answers said.
pub fn report(task: &Task, rows: &[Row]) -> String {
    let n = task.test.len();
    let pos = task.test.iter().filter(|t| t.label == 1).count();
    let majority = pos.max(n - pos);
    let mut s = format!(
        "SmolLM2-135M-Instruct (Q4_1 weights in f32), sentiment of {n} held-out sentences \
         ({} negative, {pos} positive)\n\
         shots: {} draws from Chapter 8's training sentences; a row with shots pools the \
         draws ({} answers)\n\
         majority-class baseline: {}\n\n{TABLE_HEADER}\n",
        n - pos,
        task.shot_sets.len(),
        n * task.shot_sets.len(),
        percent(majority, n),
    );
    for r in rows {
        s += &table_line(r);
        s.push('\n');
    }
    let margin = rows
        .iter()
        .map(Row::min_margin)
        .fold(f32::INFINITY, f32::min);
    s += &format!("\nsmallest logit margin between the two labels: {margin:.3}\n");
    s += "most frequent unparseable answers (up to 3 a row):\n";
    for r in rows.iter().filter(|r| r.unparseable() > 0) {
        let top: Vec<String> = r
            .unparsed()
            .iter()
            .take(3)
            .map(|(t, c)| format!("{t:?} x{c}"))
            .collect();
        s += &format!("  {} {}: {}\n", r.format.name(), r.shots, top.join(", "));
    }
    s
}

/// Accuracy against the number of shots: a line for each format and way of answering,
/// and the majority-class baseline.
pub fn write_figure(
    path: &std::path::Path,
    task: &Task,
    rows: &[Row],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut chart = LineChart::new(
        "SmolLM2-135M-Instruct: sentiment accuracy against shots",
        "shots in the prompt",
        "accuracy (%)",
    );
    chart.points = true;
    for format in [Format::Chat, Format::Raw] {
        let of = |f: fn(&Row) -> usize| -> Vec<(f64, f64)> {
            rows.iter()
                .filter(|r| r.format == format)
                .map(|r| (r.shots as f64, 100.0 * f(r) as f64 / r.n() as f64))
                .collect()
        };
        let name = format.name();
        chart
            .series
            .push(Series::new(format!("{name}, scored"), of(Row::scored)));
        chart.series.push(Series::new(
            format!("{name}, generated"),
            of(Row::generated),
        ));
    }
    let n = task.test.len();
    let pos = task.test.iter().filter(|t| t.label == 1).count();
    let base = 100.0 * pos.max(n - pos) as f64 / n as f64;
    let max = SHOTS[SHOTS.len() - 1] as f64;
    chart.series.push(Series::new(
        "majority class",
        vec![(0.0, base), (max, base)],
    ));
    write_line_chart(path, &chart)
}

/// Whether the first word of a continuation has ended: a non-space character, then
/// whitespace. Generating past it cannot change what [`extract`] reads.
fn first_word_done(text: &[u8]) -> bool {
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|i| text[i..].iter().any(u8::is_ascii_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_stops_after_the_first_word() {
        assert!(!first_word_done(b" positive"));
        assert!(first_word_done(b" positive\n"));
        assert!(first_word_done(b"The sentiment"));
        assert!(!first_word_done(b"\n\n"));
    }

    #[test]
    fn the_extraction_rule() {
        assert_eq!(extract(" positive"), Some(1));
        assert_eq!(extract("Negative."), Some(0));
        assert_eq!(extract("\"POSITIVE\"\n"), Some(1));
        assert_eq!(extract(" negative, because"), Some(0));
        assert_eq!(extract("The review is positive"), None);
        assert_eq!(extract("pos"), None);
        assert_eq!(extract("positively"), None);
        assert_eq!(extract(""), None);
        assert_eq!(extract("  \n"), None);
    }

    #[test]
    fn a_prompt_states_the_task_the_shots_and_the_query() {
        let shots = [Labelled {
            text: "the meal was good".into(),
            label: 1,
        }];
        let want = "Classify the sentiment of each review as positive or negative.\n\n\
                    Review: the meal was good\nSentiment: positive\n\n\
                    Review: a truly dull trip\nSentiment:";
        assert_eq!(prompt(Format::Raw, &shots, "a truly dull trip"), want);
        let chat = prompt(Format::Chat, &shots, "a truly dull trip");
        assert_eq!(chat, smollm2_chat_prompt(want));
        assert!(chat.ends_with("Sentiment:<|im_end|>\n<|im_start|>assistant\n"));
    }

    #[test]
    fn the_task_is_balanced_and_its_shots_alternate() {
        let task = Task::new(48, 4, 0);
        assert_eq!(task.test.len(), 48);
        assert_eq!(task.test.iter().filter(|t| t.label == 1).count(), 24);
        for (d, shots) in task.shot_sets.iter().enumerate() {
            let labels: Vec<usize> = shots.iter().map(|s| s.label).collect();
            let want: Vec<usize> = (0..5).map(|i| (d + i) % 2).collect();
            assert_eq!(labels, want);
        }
        for shot in task.shot_sets.iter().flatten() {
            assert!(task.test.iter().all(|t| t.text != shot.text));
        }
    }
}
