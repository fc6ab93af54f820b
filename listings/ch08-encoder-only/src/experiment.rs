//! The chapter's experiment (section "Fine-tuning"): the same small labelled sets, the
//! same steps, batch, schedule and seed, fine-tuned from all-MiniLM-L6-v2's pretrained
//! weights and from a random initialisation of the same BERT. The `finetune` example
//! runs it and writes the table and the figure; `tests/finetune_run.rs` reruns it.

use std::collections::BTreeSet;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::plot::PALETTE;
use ch02_input::wordpiece::WordPiece;
use ch07_transformer::optim::Adam;
use plotters::prelude::*;
use rand::seq::SliceRandom;

use crate::bert::Bert;
use crate::finetune::{
    Example, Head, Recipe, SequenceClassifier, TokenClassifier, linear_schedule, predict,
    train_step,
};
use crate::sentence::SentenceEncoder;
use crate::seqeval::{Entity, Scores, entities, precision_recall_f1};
use crate::tasks::{NerData, SentimentData, TAGS, Tagged, align};

/// Sizes, recipe and seed of the experiment.
#[derive(Clone, Copy, Debug)]
pub struct ExperimentConfig {
    pub seed: u64,
    pub n_train: usize,
    pub n_test: usize,
    pub recipe: Recipe,
    pub eval_every: usize,
}

impl ExperimentConfig {
    /// The run the chapter reports.
    pub fn full() -> Self {
        ExperimentConfig {
            seed: 0,
            n_train: 256,
            n_test: 150,
            recipe: Recipe {
                steps: 80,
                batch: 16,
                lr: 1e-4,
                warmup: 8,
                clip: 1.0,
            },
            eval_every: 20,
        }
    }
}

/// Where the weights start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    Pretrained,
    Scratch,
}

impl Init {
    pub fn name(self) -> &'static str {
        match self {
            Init::Pretrained => "pretrained",
            Init::Scratch => "scratch",
        }
    }
}

/// Held-out scores after `step` steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub step: usize,
    pub seen: f64,   // sentiment accuracy, test words seen in training
    pub unseen: f64, // sentiment accuracy, test words never seen
    pub ner: Scores, // entity-level, held-out names
}

/// One initialisation's run: its score curve and its wall time.
pub struct InitRun {
    pub init: Init,
    pub points: Vec<Point>,
    pub ner_train: Scores, // the final NER model on its own training sentences
    pub ner_test_tags: Vec<Vec<usize>>, // the final NER model's word tags, test set
    pub seconds: f64,
}

/// The encoded sets, ids already in the shrunken vocabulary (see [`shrink_vocab`]).
pub struct Sets {
    pub sentiment_train: Vec<Example>,
    pub seen: Vec<Example>,
    pub unseen: Vec<Example>,
    pub ner_train: Vec<Example>,
    pub ner_test: Vec<Example>,
    pub ner_test_sentences: Vec<Tagged>,
    pub ner_word_starts: Vec<Vec<usize>>,
    pub ner_train_sentences: Vec<Tagged>,
    pub ner_train_word_starts: Vec<Vec<usize>>,
    pub keep: Vec<u32>, // old id of each new id
    pub pad: u32,       // [PAD]'s new id
    pub vocab_size: usize,
}

impl Sets {
    pub fn build(tok: &WordPiece, cfg: &ExperimentConfig) -> Self {
        let mut rng = seeded_rng(cfg.seed);
        let sent = SentimentData::generate(cfg.n_train, cfg.n_test, &mut rng);
        let ner = NerData::generate(cfg.n_train, cfg.n_test, &mut rng);
        let classify = |set: &[crate::tasks::Labelled]| -> Vec<Example> {
            (set.iter())
                .map(|s| Example {
                    ids: tok.encode(&s.text),
                    targets: vec![s.label],
                })
                .collect()
        };
        let aligned = |set: &[Tagged]| -> Vec<crate::tasks::Aligned> {
            set.iter().map(|s| align(tok, &s.words, &s.tags)).collect()
        };
        let starts = |set: &[Tagged]| -> Vec<Vec<usize>> {
            aligned(set).into_iter().map(|a| a.word_starts).collect()
        };
        let tag = |set: &[Tagged]| -> Vec<Example> {
            (aligned(set).into_iter())
                .map(|a| Example {
                    ids: a.ids,
                    targets: a.labels,
                })
                .collect()
        };
        let mut sets = Sets {
            sentiment_train: classify(&sent.train),
            seen: classify(&sent.test_seen),
            unseen: classify(&sent.test_unseen),
            ner_train: tag(&ner.train),
            ner_test: tag(&ner.test),
            ner_word_starts: starts(&ner.test),
            ner_train_word_starts: starts(&ner.train),
            ner_test_sentences: ner.test,
            ner_train_sentences: ner.train,
            keep: Vec::new(),
            pad: 0,
            vocab_size: tok.vocab.len(),
        };
        let special = tok.vocab.special();
        let mut used: BTreeSet<u32> =
            [special.pad, special.unk, special.cls, special.sep].into();
        for e in sets.all_mut() {
            used.extend(&e.ids);
        }
        sets.keep = used.into_iter().collect();
        let new_id = |old: u32| sets.keep.binary_search(&old).expect("kept") as u32;
        let remapped: Vec<Vec<u32>> = sets
            .all()
            .map(|e| e.ids.iter().map(|&i| new_id(i)).collect())
            .collect();
        sets.pad = new_id(special.pad);
        for (e, ids) in sets.all_mut().zip(remapped) {
            e.ids = ids;
        }
        sets
    }

    fn all(&self) -> impl Iterator<Item = &Example> {
        [
            &self.sentiment_train,
            &self.seen,
            &self.unseen,
            &self.ner_train,
            &self.ner_test,
        ]
        .into_iter()
        .flatten()
    }

    fn all_mut(&mut self) -> impl Iterator<Item = &mut Example> {
        let Sets {
            sentiment_train,
            seen,
            unseen,
            ner_train,
            ner_test,
            ..
        } = self;
        [sentiment_train, seen, unseen, ner_train, ner_test]
            .into_iter()
            .flatten()
    }
}

// ANCHOR: shrink_vocab
/// Keeps only the token-table rows in `keep` (old ids, sorted), renumbered 0, 1, ….
/// Fine-tuning is unchanged by it: a row that no sentence uses gets a zero gradient,
/// so Adam never moves it (m and v stay 0) and clipping never sees it; it only saves
/// updating 30,522 × 384 numbers that stay where they are at every step.
pub fn shrink_vocab(bert: &mut Bert, keep: &[u32]) {
    let table = &mut bert.embeddings.token.table;
    let rows: Vec<usize> = keep.iter().map(|&id| id as usize).collect();
    table.value = table.value.select(ndarray::Axis(0), &rows); // [|keep|, C]
    table.grad = ndarray::Array2::zeros(table.value.dim());
    bert.cfg.vocab_size = keep.len();
}
// ANCHOR_END: shrink_vocab

fn accuracy(pred: &[Vec<usize>], set: &[Example]) -> f64 {
    let right = pred
        .iter()
        .zip(set)
        .filter(|(p, e)| p[0] == e.targets[0])
        .count();
    right as f64 / set.len().max(1) as f64
}

/// Entity scores of the predicted tags, read at each word's first piece.
fn ner_scores(
    pred: &[Vec<usize>],
    sentences: &[Tagged],
    starts: &[Vec<usize>],
) -> Scores {
    let truth: Vec<Vec<&str>> = (sentences.iter())
        .map(|s| s.tags.iter().map(|&t| TAGS[t]).collect())
        .collect();
    let guess: Vec<Vec<&str>> = (word_tags(pred, starts).iter())
        .map(|tags| tags.iter().map(|&t| TAGS[t]).collect())
        .collect();
    precision_recall_f1(&truth, &guess).expect("TAGS are all BIO tags")
}

/// Each word's predicted tag: the one at its first piece.
fn word_tags(pred: &[Vec<usize>], starts: &[Vec<usize>]) -> Vec<Vec<usize>> {
    (pred.iter().zip(starts))
        .map(|(p, starts)| starts.iter().map(|&i| p[i]).collect())
        .collect()
}

fn spans(tags: &[usize]) -> Vec<Entity> {
    let tags: Vec<&str> = tags.iter().map(|&t| TAGS[t]).collect();
    entities(&tags, 0).expect("TAGS are all BIO tags")
}

/// A sentence with its entities in brackets: `[new york]LOC`.
pub fn bracketed(words: &[String], tags: &[usize]) -> String {
    let mut out: Vec<String> = words.to_vec();
    for e in spans(tags) {
        out[e.start] = format!("[{}", out[e.start]);
        out[e.end] = format!("{}]{}", out[e.end], e.kind);
    }
    out.join(" ")
}

/// How predicted entities relate to the true ones, summed over sentences.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts {
    pub right: usize,      // type and span right
    pub wrong_type: usize, // span right, type wrong
    pub wrong_span: usize, // overlaps a true entity, other first or last word
    pub spurious: usize,   // overlaps no true entity
    pub missed: usize,     // a true entity that no prediction overlaps
}

pub fn error_counts(truth: &[Tagged], pred: &[Vec<usize>]) -> ErrorCounts {
    let mut c = ErrorCounts::default();
    let overlaps = |a: &Entity, b: &Entity| a.start <= b.end && b.start <= a.end;
    for (s, p) in truth.iter().zip(pred) {
        let (want, got) = (spans(&s.tags), spans(p));
        for g in &got {
            let same = |w: &&Entity| w.start == g.start && w.end == g.end;
            match want.iter().find(same) {
                Some(w) if w.kind == g.kind => c.right += 1,
                Some(_) => c.wrong_type += 1,
                None if want.iter().any(|w| overlaps(w, g)) => c.wrong_span += 1,
                None => c.spurious += 1,
            }
        }
        c.missed += want
            .iter()
            .filter(|w| !got.iter().any(|g| overlaps(w, g)))
            .count();
    }
    c
}

/// Fine-tunes `model` on `train` for the recipe's steps (batches drawn in a shuffled
/// order, reshuffled each epoch), calling `eval` at step 0 and every `every` steps.
fn finetune<H: Head>(
    model: &mut H,
    train: &[Example],
    cfg: &ExperimentConfig,
    pad: u32,
    mut eval: impl FnMut(&mut H, usize),
) {
    let r = cfg.recipe;
    let mut data_rng = seeded_rng(cfg.seed.wrapping_add(1));
    let mut drop_rng = seeded_rng(cfg.seed.wrapping_add(2));
    let mut adam = Adam::new(0.9, 0.999, 1e-6); // BERT's β₁, β₂ and ε
    let mut order: Vec<usize> = Vec::new();
    eval(model, 0);
    for step in 1..=r.steps {
        if order.len() < r.batch {
            let mut epoch: Vec<usize> = (0..train.len()).collect();
            epoch.shuffle(&mut data_rng);
            order.extend(epoch);
        }
        let items: Vec<&Example> = order.drain(..r.batch).map(|i| &train[i]).collect();
        let lr = linear_schedule(step, &r);
        train_step(model, &mut adam, &items, pad, lr, r.clip, &mut drop_rng);
        if step % cfg.eval_every == 0 || step == r.steps {
            eval(model, step);
        }
    }
}

/// Both tasks from one starting point: `fresh` gives a new copy of the starting BERT.
pub fn run_init(
    init: Init,
    sets: &Sets,
    cfg: &ExperimentConfig,
    mut fresh: impl FnMut() -> Bert,
) -> InitRun {
    let start = Instant::now();
    let (pad, chunk) = (sets.pad, 50);
    let mut bert = fresh();
    shrink_vocab(&mut bert, &sets.keep);
    let mut model =
        SequenceClassifier::new(bert, 2, &mut seeded_rng(cfg.seed.wrapping_add(3)));
    let mut points: Vec<Point> = Vec::new();
    finetune(&mut model, &sets.sentiment_train, cfg, pad, |m, step| {
        let seen = accuracy(&predict(m, &sets.seen, pad, chunk), &sets.seen);
        let unseen = accuracy(&predict(m, &sets.unseen, pad, chunk), &sets.unseen);
        let ner = Scores {
            precision: 0.0,
            recall: 0.0,
            f1: 0.0,
            correct: 0,
            predicted: 0,
            actual: 0,
        };
        points.push(Point {
            step,
            seen,
            unseen,
            ner,
        });
    });
    let mut bert = fresh();
    shrink_vocab(&mut bert, &sets.keep);
    let mut model =
        TokenClassifier::new(bert, TAGS.len(), &mut seeded_rng(cfg.seed.wrapping_add(3)));
    let (mut i, mut ner_test_tags) = (0, Vec::new());
    finetune(&mut model, &sets.ner_train, cfg, pad, |m, _| {
        let pred = predict(m, &sets.ner_test, pad, chunk);
        points[i].ner =
            ner_scores(&pred, &sets.ner_test_sentences, &sets.ner_word_starts);
        ner_test_tags = word_tags(&pred, &sets.ner_word_starts); // the last one stays
        i += 1;
    });
    let pred = predict(&mut model, &sets.ner_train, pad, chunk);
    let ner_train = ner_scores(
        &pred,
        &sets.ner_train_sentences,
        &sets.ner_train_word_starts,
    );
    InitRun {
        init,
        points,
        ner_train,
        ner_test_tags,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The whole experiment, both inits, from the sentence-transformers directory `dir`.
pub fn run(
    dir: &Path,
    cfg: &ExperimentConfig,
) -> Result<(Sets, Vec<InitRun>), crate::LoadError> {
    let enc = SentenceEncoder::load(dir)?;
    let sets = Sets::build(&enc.tokenizer, cfg);
    let bert_cfg = enc.bert.cfg;
    // one pretrained copy for each task, both loaded before any training starts
    let mut copies = vec![SentenceEncoder::load(dir)?.bert, enc.bert];
    let pretrained = run_init(Init::Pretrained, &sets, cfg, || {
        copies.pop().expect("one copy for each task")
    });
    let scratch = run_init(Init::Scratch, &sets, cfg, || {
        Bert::new(bert_cfg, &mut seeded_rng(cfg.seed))
    });
    Ok((sets, vec![pretrained, scratch]))
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// The report: the data, the recipe, the final table and the curves.
pub fn report(sets: &Sets, cfg: &ExperimentConfig, runs: &[InitRun]) -> String {
    let r = cfg.recipe;
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "Fine-tuning all-MiniLM-L6-v2 from its pretrained weights and from Bert::new's random initialisation (same config and tokenizer)"
    );
    let _ = writeln!(
        w,
        "data (seed {}): sentiment {} training sentences, {} + {} held-out; NER {} training sentences, {} held-out",
        cfg.seed,
        sets.sentiment_train.len(),
        sets.seen.len(),
        sets.unseen.len(),
        sets.ner_train.len(),
        sets.ner_test.len()
    );
    let _ = writeln!(
        w,
        "recipe (both inits, both tasks): {} steps of batch {}, Adam (0.9, 0.999, 1e-6), lr {:e} after {} warmup steps, linear decay to 0, clip {}",
        r.steps, r.batch, r.lr, r.warmup, r.clip
    );
    let _ = writeln!(
        w,
        "token table: {} of {} rows used",
        sets.keep.len(),
        sets.vocab_size
    );
    let _ = writeln!(w);
    let last = |i: usize| runs[i].points.last().copied().expect("a point");
    let (p, q) = (last(0), last(1));
    let _ = writeln!(
        w,
        "held-out test                     | pretrained | scratch"
    );
    let _ = writeln!(
        w,
        "--------------------------------- | ---------- | -------"
    );
    let rows: [(&str, f64, f64); 5] = [
        ("sentiment accuracy, seen words", p.seen, q.seen),
        ("sentiment accuracy, unseen words", p.unseen, q.unseen),
        ("NER entity F1", p.ner.f1, q.ner.f1),
        ("NER entity precision", p.ner.precision, q.ner.precision),
        ("NER entity recall", p.ner.recall, q.ner.recall),
    ];
    for (name, a, b) in rows {
        let _ = writeln!(w, "{name:<33} | {:>10} | {:>7}", pct(a), pct(b));
    }
    let (a, b) = (runs[0].ner_train.f1, runs[1].ner_train.f1);
    let _ = writeln!(
        w,
        "\nnot held out: NER entity F1 on the training sentences: pretrained {}, scratch {}",
        pct(a),
        pct(b)
    );
    let _ = writeln!(w);
    let errors: Vec<ErrorCounts> = (runs.iter())
        .map(|r| error_counts(&sets.ner_test_sentences, &r.ner_test_tags))
        .collect();
    let _ = writeln!(w, "NER held-out, predicted entities | pretrained | scratch");
    let _ = writeln!(w, "-------------------------------- | ---------- | -------");
    type Count = fn(&ErrorCounts) -> usize;
    let kinds: [(&str, Count); 5] = [
        ("right type and span", |c| c.right),
        ("right span, wrong type", |c| c.wrong_type),
        ("overlapping, wrong span", |c| c.wrong_span),
        ("overlapping no true entity", |c| c.spurious),
        ("true entities not overlapped", |c| c.missed),
    ];
    for (name, count) in kinds {
        let (a, b) = (count(&errors[0]), count(&errors[1]));
        let _ = writeln!(w, "{name:<32} | {a:>10} | {b:>7}");
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "held-out sentences: the truth, then each model's entities"
    );
    // the first three, and the first two where the pretrained model gets a span wrong
    let test = &sets.ner_test_sentences;
    let wrong_span = |k: &usize| {
        let one = |t: &Tagged, p: &Vec<usize>| {
            error_counts(std::slice::from_ref(t), std::slice::from_ref(p))
        };
        one(&test[*k], &runs[0].ner_test_tags[*k]).wrong_span > 0
    };
    let shown = (0..3).chain((3..test.len()).filter(wrong_span).take(2));
    for (k, s) in shown.map(|k| (k, &test[k])) {
        let _ = writeln!(w, "{k:<3} truth:      {}", bracketed(&s.words, &s.tags));
        for r in runs {
            let name = format!("{}:", r.init.name());
            let _ = writeln!(
                w,
                "    {name:<11} {}",
                bracketed(&s.words, &r.ner_test_tags[k])
            );
        }
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "step | pretrained: seen  unseen  NER F1 | scratch: seen  unseen  NER F1"
    );
    for (a, b) in runs[0].points.iter().zip(&runs[1].points) {
        let _ = writeln!(
            w,
            "{:>4} | {:>8} {:>7} {:>7} | {:>7} {:>7} {:>7}",
            a.step,
            pct(a.seen),
            pct(a.unseen),
            pct(a.ner.f1),
            pct(b.seen),
            pct(b.unseen),
            pct(b.ner.f1)
        );
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "time: pretrained {:.1} s, scratch {:.1} s",
        runs[0].seconds, runs[1].seconds
    );
    s
}

/// The figure: held-out scores (%) against the fine-tuning step, one colour a measure,
/// solid for the pretrained start and dashed for the random one. The x axis runs past
/// the last step so that the legend sits beside the curves, not on them.
pub fn figure(path: &Path, runs: &[InitRun]) -> Result<(), Box<dyn Error>> {
    type Pick = fn(&Point) -> f64;
    // seen words before unseen: where both are at 100 %, the unseen line is on top
    let picks: [(&str, Pick, RGBColor); 3] = [
        ("seen words", |p| p.seen, PALETTE[1]),
        ("unseen words", |p| p.unseen, PALETTE[0]),
        ("NER F1", |p| p.ner.f1, PALETTE[2]),
    ];
    let last = runs
        .iter()
        .flat_map(|r| &r.points)
        .map(|p| p.step)
        .max()
        .unwrap_or(1);
    let x_max = last as f64 * 1.7;
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut ctx = ChartBuilder::on(&root)
        .caption(
            "fine-tuning from pretrained vs random weights (held-out test)",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.02 * x_max..x_max, -3.0..105.0)?;
    ctx.configure_mesh()
        .x_desc("fine-tuning step")
        .y_desc("accuracy / entity F1, %")
        .light_line_style(WHITE)
        .draw()?;
    for (what, pick, color) in picks {
        let style = ShapeStyle::from(&color).stroke_width(2);
        for run in runs {
            let pts: Vec<(f64, f64)> = (run.points.iter())
                .map(|p| (p.step as f64, 100.0 * pick(p)))
                .collect();
            let label = format!("{}: {what}", run.init.name());
            let dots = pts.iter().map(|&p| Circle::new(p, 3, style.color.filled()));
            if run.init == Init::Pretrained {
                ctx.draw_series(LineSeries::new(pts.clone(), style))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], style));
            } else {
                ctx.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))?
                    .label(label)
                    .legend(move |(x, y)| {
                        plotters::element::DashedPathElement::new(
                            [(x, y), (x + 16, y)],
                            4,
                            3,
                            style,
                        )
                    });
            }
            ctx.draw_series(dots)?;
        }
    }
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::MiddleRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Runs the experiment and writes `finetune-run.txt` and `finetune.svg` into `out`;
/// returns the report and the paths written.
pub fn run_and_write(
    model_dir: &Path,
    out: &Path,
    cfg: &ExperimentConfig,
) -> Result<(String, Vec<PathBuf>), Box<dyn Error>> {
    let (sets, runs) = run(model_dir, cfg)?;
    let text = report(&sets, cfg, &runs);
    std::fs::create_dir_all(out)?;
    let (txt, svg) = (out.join("finetune-run.txt"), out.join("finetune.svg"));
    std::fs::write(&txt, &text)?;
    figure(&svg, &runs)?;
    Ok((text, vec![txt, svg]))
}
