//! The `pretrain` example's run (section "Pretraining on the book"): a small BERT
//! pretrained with MLM and NSP on Chapters 1 to 7, evaluated on held-out pages, with
//! the loss figure and the report the text quotes. `tests/pretrain_run.rs` reruns it
//! and checks the committed files.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::{Mode, Module};
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch01_foundations::report::round;
use ch02_input::wordpiece::{SpecialIds, WordPiece, train};
use ch04_ffn_norms::activations::Activation;
use ch07_transformer::optim::Adam;
use rand::seq::SliceRandom;

use crate::book_corpus::{book_pages, sentences, split_pages};
use crate::config::BertConfig;
use crate::heads::BertForPreTraining;
use crate::pretrain_data::{Masked, PairExample, is_special, mask_tokens, nsp_pairs};
use crate::pretraining::{
    EvalCounts, LossParts, PretrainBatch, evaluate_batch, fit_overlap_threshold,
    overlap_accuracy, random_spans, same_page_pairs, train_step, warmup_linear_lr,
};

/// Everything the run's outcome depends on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PretrainConfig {
    pub vocab_size: usize,
    pub heldout_every: usize, // every k-th page is held out
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub d_ff: usize,
    pub max_len: usize,
    pub max_sentences: usize, // an NSP segment is 1 to this many sentences
    pub batch: usize,
    pub steps: usize,
    pub warmup: usize,
    pub peak_lr: f32,
    pub clip: f32,
    pub dropout: f32, // both of `Bert::set_dropout`'s rates (BERT used 0.1)
    pub eval_every: usize,
    pub eval_draws: usize, // held-out pairs and masks are drawn this many times
    pub seed: u64,
}

impl PretrainConfig {
    /// The run the text reports.
    pub fn full() -> Self {
        PretrainConfig {
            vocab_size: 8000,
            heldout_every: 5,
            hidden: 64,
            layers: 2,
            heads: 4,
            d_ff: 256,
            max_len: 64,
            max_sentences: 2,
            batch: 32,
            steps: 1600,
            warmup: 160,
            peak_lr: 2e-3,
            clip: 1.0,
            dropout: 0.0,
            eval_every: 400,
            eval_draws: 8,
            seed: 0,
        }
    }

    pub fn bert(&self, vocab_size: usize) -> BertConfig {
        BertConfig {
            vocab_size,
            hidden_size: self.hidden,
            num_hidden_layers: self.layers,
            num_attention_heads: self.heads,
            intermediate_size: self.d_ff,
            max_position_embeddings: self.max_len,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            hidden_act: Activation::Gelu,
        }
    }
}

/// The book tokenized: pages of sentences of token ids.
pub struct BookData {
    pub wp: WordPiece,
    pub train_docs: Vec<Vec<Vec<u32>>>,
    pub heldout_docs: Vec<Vec<Vec<u32>>>,
    pub pages: (usize, usize), // (training, held out)
    pub bytes: usize,
    /// The most frequent ordinary token of the training pages, and its share.
    pub unigram: (u32, f64),
    /// [`SMALL_VOCAB`]'s vocabulary against the run's, on the training pages and on
    /// [`EXAMPLE_SENTENCE`].
    pub vocab_comparison: String,
}

/// A smaller vocabulary the report compares with, and the sentence it shows.
pub const SMALL_VOCAB: usize = 2000;
pub const EXAMPLE_SENTENCE: &str = "A transformer reads a sequence of integers.";

/// Splits the book into pages, holds out every `heldout_every`-th, trains a WordPiece
/// vocabulary on the training pages' sentences and tokenizes every sentence with it.
pub fn book_data(cfg: &PretrainConfig) -> Result<BookData, Box<dyn Error>> {
    let pages = book_pages();
    let bytes = pages.iter().map(|p| p.text.len()).sum();
    let (train_pages, heldout_pages) = split_pages(&pages, cfg.heldout_every);
    let split = |ps: &[crate::book_corpus::Page]| -> Vec<Vec<String>> {
        ps.iter().map(|p| sentences(p.text)).collect()
    };
    let (train_text, heldout_text) = (split(&train_pages), split(&heldout_pages));
    let corpus = train_text.iter().flatten().cloned().collect::<Vec<_>>();
    let corpus = corpus.join("\n");
    let wp = WordPiece::new(train(&corpus, cfg.vocab_size)?.vocab()?);
    let small = WordPiece::new(train(&corpus, SMALL_VOCAB)?.vocab()?);
    let words = corpus.split_whitespace().count();
    let mut vocab_comparison = String::new();
    for w in [&small, &wp] {
        let tokens = w.encode_words(&corpus).len();
        let pieces = w.tokens(&w.encode_words(EXAMPLE_SENTENCE))?.join(" ");
        writeln!(
            vocab_comparison,
            "vocabulary {}: {} tokens per word (split at spaces) on the training pages; \"{EXAMPLE_SENTENCE}\" -> {pieces}",
            w.vocab.len(),
            round(tokens as f32 / words as f32, 2)
        )?;
    }
    let encode = |docs: &[Vec<String>]| -> Vec<Vec<Vec<u32>>> {
        (docs.iter())
            .map(|d| {
                d.iter()
                    .map(|s| wp.encode_words(s))
                    .filter(|s| !s.is_empty())
            })
            .map(|d| d.collect::<Vec<_>>())
            .filter(|d| d.len() >= 2) // NSP needs a sentence with a successor
            .collect()
    };
    let (train_docs, heldout_docs) = (encode(&train_text), encode(&heldout_text));
    let sp = wp.vocab.special();
    let mut counts = vec![0usize; wp.vocab.len()];
    for id in train_docs.iter().flatten().flatten() {
        counts[*id as usize] += 1;
    }
    let total: usize = counts.iter().sum();
    let top = (0..counts.len())
        .filter(|&id| !is_special(id as u32, &sp))
        .max_by_key(|&id| (counts[id], std::cmp::Reverse(id)))
        .ok_or("the vocabulary has no ordinary token")?;
    Ok(BookData {
        pages: (train_docs.len(), heldout_docs.len()),
        wp,
        train_docs,
        heldout_docs,
        bytes,
        unigram: (top as u32, counts[top] as f64 / total as f64),
        vocab_comparison,
    })
}

/// Every page regrouped into random spans (see [`random_spans`]).
pub fn span_docs(
    docs: &[Vec<Vec<u32>>],
    cfg: &PretrainConfig,
    rng: &mut impl rand::Rng,
) -> Vec<Vec<Vec<u32>>> {
    (docs.iter())
        .map(|d| random_spans(d, cfg.max_sentences, rng))
        .filter(|d| d.len() >= 3)
        .collect()
}

/// Pairs, each masked with `rng`, in batches of `size`.
pub fn masked_batches(
    pairs: &[PairExample],
    size: usize,
    vocab: usize,
    sp: &SpecialIds,
    rng: &mut impl rand::Rng,
) -> Vec<PretrainBatch> {
    let masked: Vec<(PairExample, Masked)> = (pairs.iter())
        .map(|p| (p.clone(), mask_tokens(&p.ids, vocab, sp, rng)))
        .collect();
    (masked.chunks(size))
        .map(|c| PretrainBatch::new(c, sp.pad))
        .collect()
}

/// A training log: the loss parts of every step, and held-out losses at intervals.
pub struct PretrainLog {
    pub steps: Vec<LossParts>,
    pub heldout: Vec<(usize, LossParts)>,
    pub epochs: usize,
}

/// The held-out sets: random pairs (B from another held-out page) and same-page pairs,
/// each drawn and masked `eval_draws` times with their own seed.
pub struct HeldOut {
    pub random: Vec<PretrainBatch>,
    pub same_page: Vec<PretrainBatch>,
    pub random_pairs: Vec<PairExample>,
    pub same_page_pairs: Vec<PairExample>,
}

pub fn heldout_sets(
    data: &BookData,
    cfg: &PretrainConfig,
) -> Result<HeldOut, Box<dyn Error>> {
    let sp = data.wp.vocab.special();
    let v = data.wp.vocab.len();
    let mut rng = seeded_rng(cfg.seed.wrapping_add(2));
    let (mut random_pairs, mut same_pairs) = (Vec::new(), Vec::new());
    for _ in 0..cfg.eval_draws {
        let docs = span_docs(&data.heldout_docs, cfg, &mut rng);
        random_pairs.extend(nsp_pairs(&docs, cfg.max_len, &sp, &mut rng)?);
        same_pairs.extend(same_page_pairs(&docs, cfg.max_len, &sp, &mut rng));
    }
    Ok(HeldOut {
        random: masked_batches(&random_pairs, cfg.batch, v, &sp, &mut rng),
        same_page: masked_batches(&same_pairs, cfg.batch, v, &sp, &mut rng),
        random_pairs,
        same_page_pairs: same_pairs,
    })
}

/// Evaluation mode, every batch, no gradient.
pub fn evaluate(
    model: &mut BertForPreTraining,
    batches: &[PretrainBatch],
    unigram: u32,
) -> EvalCounts {
    model.set_mode(&mut Mode::Eval);
    let mut counts = EvalCounts::default();
    for batch in batches {
        evaluate_batch(model, batch, unigram, &mut counts);
    }
    counts
}

// ANCHOR: epoch
/// One epoch: new spans and NSP pairs from the training pages, shuffled, masked anew
/// (dynamic masking, as in RoBERTa; BERT's data script masked each pair once).
pub fn epoch(
    data: &BookData,
    cfg: &PretrainConfig,
    rng: &mut impl rand::Rng,
) -> Result<Vec<PretrainBatch>, Box<dyn Error>> {
    let (sp, v) = (data.wp.vocab.special(), data.wp.vocab.len());
    let docs = span_docs(&data.train_docs, cfg, rng);
    let mut pairs = nsp_pairs(&docs, cfg.max_len, &sp, rng)?;
    pairs.shuffle(rng);
    Ok(masked_batches(&pairs, cfg.batch, v, &sp, rng))
}
// ANCHOR_END: epoch

// ANCHOR: pretrain
/// Pretrains a fresh model, evaluating on `heldout` every `eval_every` steps.
pub fn pretrain(
    data: &BookData,
    heldout: &[PretrainBatch],
    cfg: &PretrainConfig,
    mut on_step: impl FnMut(usize, &LossParts),
) -> Result<(BertForPreTraining, PretrainLog), Box<dyn Error>> {
    let bert = cfg.bert(data.wp.vocab.len());
    let mut model = BertForPreTraining::new(bert, &mut seeded_rng(cfg.seed));
    model.bert.set_dropout(cfg.dropout, cfg.dropout);
    let mut adam = Adam::new(0.9, 0.999, 1e-6); // BERT's β₂ and ε
    let mut data_rng = seeded_rng(cfg.seed.wrapping_add(1));
    let mut dropout_rng = seeded_rng(cfg.seed.wrapping_add(3));
    let mut log = PretrainLog {
        steps: Vec::new(),
        heldout: Vec::new(),
        epochs: 0,
    };
    let mut batches = Vec::new().into_iter();
    for step in 1..=cfg.steps {
        if batches.len() == 0 {
            batches = epoch(data, cfg, &mut data_rng)?.into_iter();
            log.epochs += 1;
        }
        let batch = batches.next().ok_or("no training pairs")?;
        model.set_mode(&mut Mode::Train(&mut dropout_rng));
        let lr = warmup_linear_lr(step, cfg.warmup, cfg.steps, cfg.peak_lr);
        let parts = train_step(&mut model, &mut adam, &batch, lr, cfg.clip);
        on_step(step, &parts);
        log.steps.push(parts);
        if step % cfg.eval_every == 0 || step == cfg.steps {
            let counts = evaluate(&mut model, heldout, data.unigram.0);
            log.heldout.push((step, counts.losses()));
        }
    }
    Ok((model, log))
}
// ANCHOR_END: pretrain

/// The files a run writes.
pub const FILES: [&str; 2] = ["pretrain-loss.svg", "pretrain-run.txt"];

/// What a run leaves behind besides its files.
pub struct Run {
    pub model: BertForPreTraining,
    pub report: String,
    pub files: Vec<PathBuf>,
}

/// Runs the whole experiment and writes [`FILES`] into `out`.
pub fn pretrain_and_report(
    out: &Path,
    cfg: &PretrainConfig,
    on_step: impl FnMut(usize, &LossParts),
) -> Result<Run, Box<dyn Error>> {
    let data = book_data(cfg)?;
    let held = heldout_sets(&data, cfg)?;
    let start = Instant::now();
    let (mut model, log) = pretrain(&data, &held.random, cfg, on_step)?;
    let seconds = start.elapsed().as_secs_f64();
    let unigram = data.unigram.0;
    let random = evaluate(&mut model, &held.random, unigram);
    let same = evaluate(&mut model, &held.same_page, unigram);

    let sp = data.wp.vocab.special();
    let (mut rng, v) = (seeded_rng(cfg.seed.wrapping_add(4)), data.wp.vocab.len());
    let docs = span_docs(&data.train_docs, cfg, &mut rng);
    let fit_pairs = nsp_pairs(&docs, cfg.max_len, &sp, &mut rng)?;
    let (theta, fit_acc) = fit_overlap_threshold(&fit_pairs, &sp);

    std::fs::create_dir_all(out)?;
    let files: Vec<PathBuf> = FILES.iter().map(|f| out.join(f)).collect();
    write_loss_chart(&files[0], &log, cfg, v)?;

    let count = |docs: &[Vec<Vec<u32>>]| -> (usize, usize) {
        let s = docs.iter().map(Vec::len).sum();
        let t = docs.iter().flatten().map(Vec::len).sum();
        (s, t)
    };
    let ((train_s, train_t), (held_s, held_t)) =
        (count(&data.train_docs), count(&data.heldout_docs));
    let word = data.wp.vocab.token(unigram).unwrap_or("?").to_owned();
    let mut r = String::new();
    writeln!(
        r,
        "corpus: Chapters 1-7, {} bytes of markdown; pages with 2+ sentences: {} training, \
         {} held out (every {}th page)",
        data.bytes, data.pages.0, data.pages.1, cfg.heldout_every
    )?;
    writeln!(
        r,
        "sentences: {train_s} training ({train_t} tokens), {held_s} held out ({held_t} tokens)"
    )?;
    writeln!(
        r,
        "WordPiece: vocabulary {v}{}, trained on the training pages; most frequent ordinary token \"{word}\" ({} % of \
         training tokens)",
        if v < cfg.vocab_size {
            format!(
                " ({} asked for; the trainer ran out of pairs first)",
                cfg.vocab_size
            )
        } else {
            String::new()
        },
        round(100.0 * data.unigram.1 as f32, 1)
    )?;
    write!(r, "{}", data.vocab_comparison)?;
    writeln!(
        r,
        "model: C = {}, {} layers, {} heads, d_ff = {}, max_len {}; parameters: {}",
        cfg.hidden,
        cfg.layers,
        cfg.heads,
        cfg.d_ff,
        cfg.max_len,
        model.num_params()
    )?;
    writeln!(
        r,
        "training: {} steps of {} pairs ({} epochs), spans of 1 to {} sentences, Adam \
         (0.9, 0.999, 1e-6), linear warmup {} steps to lr {} then linear decay to 0, \
         clip {}, dropout {}, seed {}",
        cfg.steps,
        cfg.batch,
        log.epochs,
        cfg.max_sentences,
        cfg.warmup,
        cfg.peak_lr,
        cfg.clip,
        cfg.dropout,
        cfg.seed
    )?;
    writeln!(
        r,
        "time: {seconds:.1} s on {} threads ({:.0} ms a step)",
        rayon::current_num_threads(),
        1000.0 * seconds / cfg.steps as f64
    )?;
    writeln!(
        r,
        "\nstep   train MLM  train NSP  held-out MLM  held-out NSP"
    )?;
    let mut from = 0;
    for &(step, held) in &log.heldout {
        let window = &log.steps[from..step];
        let mean = |f: fn(&LossParts) -> f32| {
            window.iter().map(f).sum::<f32>() / window.len().max(1) as f32
        };
        writeln!(
            r,
            "{step:>4}   {:>9}  {:>9}  {:>12}  {:>12}",
            round(mean(|p| p.mlm), 3),
            round(mean(|p| p.nsp), 3),
            round(held.mlm, 3),
            round(held.nsp, 3)
        )?;
        from = step;
    }
    let pct = |x: f64| round(100.0 * x as f32, 1);
    writeln!(
        r,
        "\nheld-out sets: the held-out pages' spans drawn and paired {} times (random and \
         same-page pairs), each pair masked once",
        cfg.eval_draws
    )?;
    writeln!(
        r,
        "held-out MLM: {} masked tokens; top-1 accuracy {} %; unigram baseline \
         (always \"{word}\") {} %",
        random.masked,
        pct(random.mlm_accuracy()),
        pct(random.unigram_accuracy())
    )?;
    writeln!(
        r,
        "held-out NSP, random pairs (NotNext B from another page): {} pairs, accuracy {} %",
        random.pairs,
        pct(random.nsp_accuracy())
    )?;
    writeln!(
        r,
        "held-out NSP, same-page pairs (NotNext B from A's own page): {} pairs, accuracy {} %",
        same.pairs,
        pct(same.nsp_accuracy())
    )?;
    writeln!(
        r,
        "word-overlap baseline (IsNext iff Jaccard overlap >= {}, fit on {} training pairs: \
         {} %): random pairs {} %, same-page pairs {} %",
        round(theta as f32, 3),
        fit_pairs.len(),
        pct(fit_acc),
        pct(overlap_accuracy(&held.random_pairs, theta, &sp)),
        pct(overlap_accuracy(&held.same_page_pairs, theta, &sp))
    )?;
    std::fs::write(&files[1], &r)?;
    Ok(Run {
        model,
        report: r,
        files,
    })
}

fn write_loss_chart(
    path: &Path,
    log: &PretrainLog,
    cfg: &PretrainConfig,
    vocab: usize,
) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "BERT pretraining on the book: MLM and NSP losses",
        "step",
        "cross-entropy (nats)",
    );
    const W: usize = 10; // training losses are averaged over windows of W steps
    let smooth = |f: fn(&LossParts) -> f32| -> Vec<(f64, f64)> {
        (log.steps.chunks(W).enumerate())
            .map(|(i, c)| {
                let x = (i * W) as f64 + (c.len() as f64 + 1.0) / 2.0;
                (x, (c.iter().map(f).sum::<f32>() / c.len() as f32) as f64)
            })
            .collect()
    };
    let held = |f: fn(&LossParts) -> f32| -> Vec<(f64, f64)> {
        (log.heldout.iter())
            .map(|(s, p)| (*s as f64, f64::from(f(p))))
            .collect()
    };
    chart.series.push(Series::new(
        "train MLM (mean of 10 steps)",
        smooth(|p| p.mlm),
    ));
    chart
        .series
        .push(Series::new("held-out MLM", held(|p| p.mlm)));
    chart.series.push(Series::new(
        "train NSP (mean of 10 steps)",
        smooth(|p| p.nsp),
    ));
    chart
        .series
        .push(Series::new("held-out NSP", held(|p| p.nsp)));
    let n = cfg.steps as f64;
    let ln2 = std::f64::consts::LN_2;
    chart
        .series
        .push(Series::new("NSP chance: ln 2", vec![(1.0, ln2), (n, ln2)]));
    let uniform = (vocab as f64).ln();
    chart.series.push(Series::new(
        format!("MLM chance: ln {vocab}"),
        vec![(1.0, uniform), (n, uniform)],
    ));
    chart
        .markers
        .push((cfg.warmup as f64, "end of warmup".into()));
    write_line_chart(path, &chart)
}
