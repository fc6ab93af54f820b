//! The experiment (section "Does pretraining help?"): one T5 pretrained by span
//! corruption on the book, then fine-tuned on both tasks; another fine-tuned from the
//! same initialisation without pretraining, on the same batches with the same
//! schedule. The `t5_experiment` example runs it and writes the report and figure;
//! `tests/text_to_text.rs` reruns a tiny config.

use std::collections::HashMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::{Mode, Module};
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch07_transformer::checkpoint::{module_to_bytes, read_params};
use ch07_transformer::optim::{Adam, clip_grad_norm};
use ch08_encoder_only::book_corpus::{Page, book_pages, split_pages};
use ch08_encoder_only::pretraining::warmup_linear_lr;
use rand::{Rng, RngExt};
use safetensors::SafeTensors;

use super::batch::{Pair, Seq2SeqBatch, batch_loss, greedy};
use super::rouge::rouge_l;
use super::tasks::{TaskMix, TextPair};
use super::vocab::{EOS, TextVocab};
use crate::t5::model::{T5, T5Config};
use crate::t5::span_corruption::span_corruption;

/// How one training run goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    pub steps: usize,
    pub batch: usize,
    pub warmup: usize,
    pub peak_lr: f32,
    pub clip: f32,
}

// ANCHOR: config
/// Everything the experiment's outcome depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentConfig {
    pub bpe_size: usize,      // Chapter 2's BPE on the training pages
    pub sentinels: usize,     // <extra_id_0> ... on top of the vocabulary
    pub model: T5Config,      // vocab_size is set from the two above
    pub heldout_every: usize, // every k-th page is held out of pretraining
    pub window: usize,        // tokens of text per pretraining example
    pub pretrain: Schedule,
    pub finetune: Schedule,     // the same for both starts
    pub second_lr: Option<f32>, // both starts again at this peak lr, scored at the end
    pub eval_every: usize,
    pub n_heldout: usize, // test examples per task
    pub max_len: usize,   // greedy decoding stops here
    pub seed: u64,
}
// ANCHOR_END: config

impl ExperimentConfig {
    /// The run the page reports.
    pub fn full() -> Self {
        ExperimentConfig {
            bpe_size: 512,
            sentinels: 16,
            model: T5Config {
                vocab_size: 0,
                d_model: 64,
                d_kv: 16,
                n_heads: 4,
                d_ff: 128,
                n_layers: 2,
                n_decoder_layers: 2,
                num_buckets: 16,
                max_distance: 64,
                eps: 1e-6,
                feed_forward: crate::t5::ffn::FeedForward::Relu,
                tie_word_embeddings: true,
            },
            heldout_every: 10,
            window: 48,
            pretrain: Schedule {
                steps: 1000,
                batch: 16,
                warmup: 100,
                peak_lr: 3e-3,
                clip: 1.0,
            },
            finetune: Schedule {
                steps: 800,
                batch: 16,
                warmup: 80,
                peak_lr: 3e-3,
                clip: 1.0,
            },
            eval_every: 100,
            second_lr: Some(1e-3),
            n_heldout: 100,
            max_len: 24,
            seed: 0,
        }
    }

    /// Seconds, for the tests: the same model, a smaller vocabulary, short runs.
    pub fn tiny() -> Self {
        let full = ExperimentConfig::full();
        let short = |steps, batch| Schedule {
            steps,
            batch,
            warmup: steps / 10,
            ..full.pretrain
        };
        ExperimentConfig {
            bpe_size: 300,
            window: 32,
            pretrain: short(30, 8),
            finetune: short(300, 16),
            eval_every: 300,
            second_lr: None,
            n_heldout: 20,
            ..full
        }
    }
}

// ANCHOR: train
/// Adam (β = 0.9, 0.999), BERT's warmup-then-linear-decay, clipping; `next` draws each
/// step's batch. Every `eval_every` steps (and at the end) `eval` sees the model.
pub fn train<R: Rng>(
    model: &mut T5,
    s: &Schedule,
    rng: &mut R,
    mut next: impl FnMut(&mut R) -> Seq2SeqBatch,
    eval_every: usize,
    mut eval: impl FnMut(usize, &mut T5),
) -> Vec<f32> {
    let mut adam = Adam::new(0.9, 0.999, 1e-8);
    let mut losses = Vec::with_capacity(s.steps);
    model.set_mode(&mut Mode::Eval); // the book's T5 has no dropout
    for step in 1..=s.steps {
        let batch = next(rng);
        model.zero_grad();
        let loss = batch_loss(model, &batch, true).expect("generated ids are in range");
        clip_grad_norm(model, s.clip);
        adam.step(model, warmup_linear_lr(step, s.warmup, s.steps, s.peak_lr));
        losses.push(loss);
        if step % eval_every == 0 || step == s.steps {
            eval(step, model);
        }
    }
    losses
}
// ANCHOR_END: train

// ANCHOR: pretrain_batch
/// B windows of `window` tokens from random places in the stream, each corrupted
/// (15 % noise, mean span 3); the target ends with EOS.
// stream: [N] -> [B, S], [B, T]
pub fn span_batch(
    stream: &[usize],
    vocab: &TextVocab,
    window: usize,
    b: usize,
    rng: &mut impl Rng,
) -> Seq2SeqBatch {
    assert!(
        window >= 2 && stream.len() >= window,
        "span_batch: a stream of {} tokens has no window of {window}",
        stream.len()
    );
    let pairs: Vec<Pair> = (0..b)
        .map(|_| {
            let start = rng.random_range(0..=stream.len() - window);
            let text = &stream[start..start + window];
            let (src, mut tgt) = span_corruption(text, vocab.size(), 0.15, 3.0, rng)
                .expect("BPE ids lie below the sentinels");
            tgt.push(EOS);
            Pair { src, tgt }
        })
        .collect();
    Seq2SeqBatch::new(&pairs)
}
// ANCHOR_END: pretrain_batch

/// A text pair as ids, the target ended by EOS.
pub fn to_ids(vocab: &TextVocab, p: &TextPair) -> Pair {
    let mut tgt = vocab.encode(&p.target);
    tgt.push(EOS);
    Pair {
        src: vocab.encode(&p.input),
        tgt,
    }
}

/// Held-out scores of one task.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Scores {
    pub exact: f64,   // share of greedy outputs equal to the target
    pub rouge_l: f64, // mean ROUGE-L F-measure
}

// ANCHOR: evaluate
/// Greedy outputs of every example, scored against the targets; the outputs too.
pub fn evaluate(
    model: &mut T5,
    vocab: &TextVocab,
    pairs: &[TextPair],
    max_len: usize,
) -> (Scores, Vec<String>) {
    let mut outputs = Vec::with_capacity(pairs.len());
    let (mut exact, mut rouge) = (0usize, 0.0f64);
    for p in pairs {
        let ids = greedy(model, &vocab.encode(&p.input), max_len).expect("ids in range");
        let out = vocab.decode(&ids);
        exact += usize::from(out == p.target);
        rouge += rouge_l(&p.target, &out).fmeasure;
        outputs.push(out);
    }
    let n = pairs.len().max(1) as f64;
    let scores = Scores {
        exact: exact as f64 / n,
        rouge_l: rouge / n,
    };
    (scores, outputs)
}
// ANCHOR_END: evaluate

/// One point of a fine-tuning curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalPoint {
    pub step: usize,
    pub loss: f32, // teacher-forced, on both tasks' held-out examples
    pub dates: Scores,
    pub summaries: Scores,
}

/// What the experiment measured.
pub struct Outcome {
    pub cfg: ExperimentConfig,
    pub vocab_size: usize,
    pub params: usize,
    pub pages: (usize, usize),
    pub tokens: (usize, usize),
    pub pretrain_losses: Vec<f32>,
    pub pretrain_heldout: (f32, f32), // span-corruption loss on held-out pages: before, after
    pub reloaded_heldout: f32, // the same, of the model read back from the checkpoint
    pub second: Option<(f32, EvalPoint, EvalPoint)>, // lr, scratch's and pretrained's last
    pub scratch: Vec<EvalPoint>,
    pub pretrained: Vec<EvalPoint>,
    pub samples: Vec<(TextPair, String, String)>, // example, scratch's output, pretrained's
    pub corrupted: (String, String), // one pretraining example from a held-out page
    pub checkpoint: Vec<u8>,         // the pretrained model as safetensors
}

fn join(pages: &[Page]) -> String {
    pages.iter().map(|p| p.text).collect()
}

/// Fine-tunes `model` on the task mix, evaluating as it goes.
fn finetune(
    model: &mut T5,
    cfg: &ExperimentConfig,
    schedule: &Schedule,
    eval_every: usize,
    vocab: &TextVocab,
    mix: &TaskMix,
) -> Vec<EvalPoint> {
    let heldout: Vec<Pair> = (mix.heldout_dates.iter().chain(&mix.heldout_summaries))
        .map(|p| to_ids(vocab, p))
        .collect();
    let heldout = Seq2SeqBatch::new(&heldout);
    let mut curve = Vec::new();
    let mut rng = seeded_rng(cfg.seed + 2); // the same batches for both starts
    let next = |rng: &mut _| {
        let pairs: Vec<Pair> = (0..schedule.batch)
            .map(|_| to_ids(vocab, &mix.next(rng)))
            .collect();
        Seq2SeqBatch::new(&pairs)
    };
    let mut eval = |step, m: &mut T5| {
        let loss = batch_loss(m, &heldout, false).expect("ids in range");
        let (dates, _) = evaluate(m, vocab, &mix.heldout_dates, cfg.max_len);
        let (summaries, _) = evaluate(m, vocab, &mix.heldout_summaries, cfg.max_len);
        curve.push(EvalPoint {
            step,
            loss,
            dates,
            summaries,
        });
    };
    eval(0, model);
    train(model, schedule, &mut rng, next, eval_every, &mut eval);
    curve
}

// ANCHOR: run
/// The whole experiment: vocabulary, pretraining, a safetensors checkpoint read back
/// into a fresh model, then the two fine-tuning runs from the same initialisation.
pub fn run(cfg: &ExperimentConfig) -> Result<Outcome, Box<dyn Error>> {
    let (train_pages, heldout_pages) = split_pages(&book_pages(), cfg.heldout_every);
    let (train_text, heldout_text) = (join(&train_pages), join(&heldout_pages));
    let vocab = TextVocab::train(&train_text, cfg.bpe_size, cfg.sentinels)?;
    let (stream, heldout) = (vocab.encode(&train_text), vocab.encode(&heldout_text));
    let model_cfg = T5Config {
        vocab_size: vocab.size(),
        ..cfg.model.clone()
    };
    let init = || T5::new(model_cfg.clone(), &mut seeded_rng(cfg.seed));
    let mut model = init()?;
    let (b, w) = (cfg.pretrain.batch, cfg.window);
    let probe = span_batch(&heldout, &vocab, w, 4 * b, &mut seeded_rng(cfg.seed + 1));
    let before = batch_loss(&mut model, &probe, false)?;
    let mut rng = seeded_rng(cfg.seed + 3);
    let next = |rng: &mut _| span_batch(&stream, &vocab, w, b, rng);
    let pretrain_losses = train(
        &mut model,
        &cfg.pretrain,
        &mut rng,
        next,
        usize::MAX,
        |_, _| {},
    );
    let after = batch_loss(&mut model, &probe, false)?;
    let bytes = module_to_bytes(&model, HashMap::from([("model".into(), "t5".into())]))?;
    let mut pretrained = init()?;
    read_params(
        &mut pretrained,
        &SafeTensors::deserialize(&bytes)?,
        Path::new("<memory>"),
    )?;
    let reloaded = batch_loss(&mut pretrained, &probe, false)?;
    let mix = TaskMix::new(cfg.n_heldout, &mut seeded_rng(cfg.seed + 4));
    let mut scratch = init()?;
    let (f, every) = (&cfg.finetune, cfg.eval_every);
    let scratch_curve = finetune(&mut scratch, cfg, f, every, &vocab, &mix);
    let pretrained_curve = finetune(&mut pretrained, cfg, f, every, &vocab, &mix);
    // ANCHOR_END: run
    // The same comparison at a second peak learning rate, scored at the end only.
    let mut second = None;
    if let Some(peak_lr) = cfg.second_lr {
        let s = Schedule {
            peak_lr,
            ..cfg.finetune
        };
        let (mut a, mut b) = (init()?, init()?);
        read_params(
            &mut b,
            &SafeTensors::deserialize(&bytes)?,
            Path::new("<memory>"),
        )?;
        let last = |c: Vec<EvalPoint>| *c.last().expect("a final evaluation");
        let a = last(finetune(&mut a, cfg, &s, s.steps, &vocab, &mix));
        let b = last(finetune(&mut b, cfg, &s, s.steps, &vocab, &mix));
        second = Some((peak_lr, a, b));
    }
    let samples = samples(&mut scratch, &mut pretrained, &vocab, &mix, cfg.max_len);
    Ok(Outcome {
        cfg: cfg.clone(),
        vocab_size: vocab.size(),
        params: model.num_params(),
        pages: (train_pages.len(), heldout_pages.len()),
        tokens: (stream.len(), heldout.len()),
        pretrain_losses,
        pretrain_heldout: (before, after),
        reloaded_heldout: reloaded,
        second,
        scratch: scratch_curve,
        pretrained: pretrained_curve,
        samples,
        corrupted: corrupted(&heldout, &vocab, w, cfg.seed + 5),
        checkpoint: bytes,
    })
}

/// One pretraining example, as text.
fn corrupted(
    stream: &[usize],
    vocab: &TextVocab,
    window: usize,
    seed: u64,
) -> (String, String) {
    let one = span_batch(stream, vocab, window, 1, &mut seeded_rng(seed));
    let target: Vec<usize> = one.labels.row(0).iter().flatten().copied().collect();
    (
        vocab.decode(&one.src.row(0).to_vec()),
        vocab.decode(&target),
    )
}

/// The first two held-out examples of each task and both models' outputs.
fn samples(
    scratch: &mut T5,
    pretrained: &mut T5,
    vocab: &TextVocab,
    mix: &TaskMix,
    max_len: usize,
) -> Vec<(TextPair, String, String)> {
    let examples = mix.heldout_dates[..2]
        .iter()
        .chain(&mix.heldout_summaries[..2]);
    examples
        .map(|p| {
            let out = |m: &mut T5| {
                let ids =
                    greedy(m, &vocab.encode(&p.input), max_len).expect("ids in range");
                vocab.decode(&ids)
            };
            (p.clone(), out(scratch), out(pretrained))
        })
        .collect()
}

/// The report the page quotes.
pub fn report(o: &Outcome) -> String {
    let c = &o.cfg;
    let mut s = String::new();
    let m = &c.model;
    let _ = writeln!(
        s,
        "T5 ({}+{} layers, d_model {}, {} heads of {}, d_ff {}), vocabulary {} \
         ({} BPE + pad, EOS + {} sentinels), {} parameters",
        m.n_layers,
        m.n_decoder_layers,
        m.d_model,
        m.n_heads,
        m.d_kv,
        m.d_ff,
        o.vocab_size,
        c.bpe_size,
        c.sentinels,
        o.params
    );
    let _ = writeln!(
        s,
        "pretraining: {} training pages ({} tokens), {} held out ({} tokens); {} steps of {} \
         windows of {} tokens",
        o.pages.0,
        o.tokens.0,
        o.pages.1,
        o.tokens.1,
        c.pretrain.steps,
        c.pretrain.batch,
        c.window
    );
    let first = o.pretrain_losses.first().copied().unwrap_or(f32::NAN);
    let last = mean_tail(&o.pretrain_losses, 50);
    let _ = writeln!(
        s,
        "span-corruption loss: training {first:.3} at step 1, {last:.3} over the last 50 steps; \
         held out {:.3} before, {:.3} after",
        o.pretrain_heldout.0, o.pretrain_heldout.1
    );
    let _ = writeln!(
        s,
        "a pretraining example from a held-out page:\n  input:  {:?}\n  target: {:?}",
        o.corrupted.0, o.corrupted.1
    );
    let f = &c.finetune;
    let _ = writeln!(
        s,
        "fine-tuning: {} steps of {} examples, peak lr {}, both starts on the same batches; \
         {} held-out examples per task\n",
        f.steps, f.batch, f.peak_lr, c.n_heldout
    );
    let _ = writeln!(
        s,
        "{:<24} {:>12} {:>16} {:>17} {:>13}",
        "start, peak lr",
        "dates exact",
        "summaries exact",
        "summaries ROUGE-L",
        "held-out loss"
    );
    let (a, b) = (o.scratch.last(), o.pretrained.last());
    let (a, b) = (
        *a.expect("a final evaluation"),
        *b.expect("a final evaluation"),
    );
    let mut rows = vec![(format!("from scratch, {}", f.peak_lr), a)];
    rows.push((format!("pretrained, {}", f.peak_lr), b));
    if let Some((lr, a, b)) = o.second {
        rows.push((format!("from scratch, {lr}"), a));
        rows.push((format!("pretrained, {lr}"), b));
    }
    for (name, e) in rows {
        let _ = writeln!(
            s,
            "{name:<24} {:>12.2} {:>16.2} {:>17.3} {:>13.3}",
            e.dates.exact, e.summaries.exact, e.summaries.rouge_l, e.loss
        );
    }
    let _ = writeln!(
        s,
        "\nheld-out exact match (dates, summaries) and loss by fine-tuning step, peak lr {}:\n{:>6} {:>24} {:>24}",
        f.peak_lr, "step", "from scratch", "pretrained"
    );
    for (a, b) in o.scratch.iter().zip(&o.pretrained) {
        let _ = writeln!(
            s,
            "{:>6} {:>10.2} {:>5.2} {:>7.3} {:>10.2} {:>5.2} {:>7.3}",
            a.step,
            a.dates.exact,
            a.summaries.exact,
            a.loss,
            b.dates.exact,
            b.summaries.exact,
            b.loss
        );
    }
    let _ = writeln!(
        s,
        "\nheld-out examples (target | from scratch | pretrained):"
    );
    for (p, a, b) in &o.samples {
        let _ = writeln!(s, "{}\n  {} | {a} | {b}", p.input, p.target);
    }
    s
}

fn mean_tail(xs: &[f32], n: usize) -> f32 {
    let tail = &xs[xs.len().saturating_sub(n)..];
    tail.iter().sum::<f32>() / tail.len().max(1) as f32
}

/// Held-out exact match against step, both tasks, both starts.
pub fn figure(o: &Outcome, path: &Path) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "Fine-tuning T5 on two tasks: pretrained vs from scratch",
        "fine-tuning step",
        "held-out exact match",
    );
    for (name, curve) in [("from scratch", &o.scratch), ("pretrained", &o.pretrained)] {
        for (task, get) in [
            (
                "dates",
                (|e: &EvalPoint| e.dates.exact) as fn(&EvalPoint) -> f64,
            ),
            ("summaries", |e: &EvalPoint| e.summaries.exact),
        ] {
            let points = curve.iter().map(|e| (e.step as f64, get(e))).collect();
            chart
                .series
                .push(Series::new(format!("{task}, {name}"), points));
        }
    }
    chart.points = true;
    write_line_chart(path, &chart)
}
