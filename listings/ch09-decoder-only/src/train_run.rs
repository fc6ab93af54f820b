//! The `train_decoders` example's run (section "Training on the book"): GPT-2 and
//! Llama of about the same size, trained on the same batches of the book's own text
//! (Chapters 1 to 7, Chapter 2's BPE), compared on held-out pages; the loss figure,
//! samples, an in-context copying test and the report the text quotes.
//! `tests/train_run.rs` reruns a tiny config and checks the committed report's claims.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch01_foundations::probability::{argmax, sample_categorical};
use ch01_foundations::report::round;
use ch02_input::bpe::{Bpe, train as train_bpe};
use ch08_encoder_only::book_corpus::{book_pages, split_pages};
use rand::{Rng, RngExt};

use crate::gpt2::{Gpt2, Gpt2Config};
use crate::llama_model::{Llama, LlamaTrainConfig};
use crate::training::{
    LanguageModel, Schedule, TrainLog, heldout_loss, loss_by_position, token_losses,
    train,
};

// ANCHOR: config
/// Everything the run's outcome depends on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    pub vocab_size: usize, // Chapter 2's BPE, trained on the training pages
    pub heldout_every: usize, // every k-th page is held out whole
    pub d_model: usize,    // both models
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize, // Llama's K/V heads (GQA); GPT-2 has one per query head
    pub schedule: Schedule,
    pub eval_every: usize,
    pub copy_len: usize, // the in-context test: sequences of this many tokens
    pub copy_trials: usize, // ... this many of them
    pub copy_pool: usize, // random ones from this many most frequent training tokens
    pub seed: u64,
}
// ANCHOR_END: config

impl TrainConfig {
    /// The run the text reports.
    pub fn full() -> Self {
        TrainConfig {
            vocab_size: 2048,
            heldout_every: 5,
            d_model: 64,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            schedule: Schedule {
                batch: 16,
                context: 64,
                steps: 800,
                warmup: 100,
                peak_lr: 3e-3,
                clip: 1.0,
            },
            eval_every: 80,
            copy_len: 24,
            copy_trials: 100,
            copy_pool: 500,
            seed: 0,
        }
    }

    /// A run of a few seconds for the tests: the same code, smaller everything.
    pub fn tiny() -> Self {
        TrainConfig {
            vocab_size: 320,
            heldout_every: 10,
            d_model: 32,
            kv_heads: 2,
            schedule: Schedule {
                batch: 8,
                context: 32,
                steps: 60,
                warmup: 10,
                peak_lr: 3e-3,
                clip: 1.0,
            },
            eval_every: 60,
            copy_len: 12,
            copy_trials: 8,
            copy_pool: 100,
            ..TrainConfig::full()
        }
    }

    // ANCHOR: configs
    /// GPT-2 as in section "GPT-2 from scratch": learned positions, FFN 4C, no dropout.
    pub fn gpt2(&self, vocab_size: usize) -> Gpt2Config {
        Gpt2Config {
            vocab_size,
            n_positions: self.schedule.context,
            n_embd: self.d_model,
            n_layer: self.layers,
            n_head: self.heads,
            layer_norm_epsilon: 1e-5,
            embd_pdrop: 0.0,
            attn_pdrop: 0.0,
            resid_pdrop: 0.0,
        }
    }

    /// Llama with the same width, depth and heads, the head tied as GPT-2's is. GQA and
    /// RoPE save parameters (fewer K/V columns, no position table); SwiGLU's width
    /// d_ff spends them back, chosen so that the two counts are about equal.
    pub fn llama(&self, vocab_size: usize) -> LlamaTrainConfig {
        let (c, l) = (self.d_model, self.layers);
        let with = |d_ff| LlamaTrainConfig {
            vocab_size,
            d_model: c,
            n_layers: l,
            n_heads: self.heads,
            n_kv_heads: self.kv_heads,
            d_ff,
            rope_base: 10_000.0,
            norm_eps: 1e-5,
            tie_embeddings: true,
        };
        let target = Gpt2::new(self.gpt2(vocab_size), &mut seeded_rng(0))
            .expect("a valid GPT-2 config")
            .num_params();
        let base = count(&with(1)) - 3 * c * l; // all but the FFN's 3 C d_ff a layer
        let d_ff = (target.saturating_sub(base) as f64 / (3 * c * l) as f64).round();
        with((d_ff as usize).max(1))
    }
    // ANCHOR_END: configs
}

fn count(cfg: &LlamaTrainConfig) -> usize {
    (Llama::new(cfg.clone(), &mut seeded_rng(0)).expect("a valid Llama config"))
        .num_params()
}

/// The book as two token streams.
pub struct BookTokens {
    pub bpe: Bpe,
    pub vocab_size: usize,
    pub train: Vec<usize>,
    pub heldout: Vec<usize>,
    pub pages: (usize, usize), // (training, held out)
    pub bytes: (usize, usize), // (training, held out)
}

// ANCHOR: book_tokens
/// Chapters 1 to 7 as pages (Chapter 8's frozen copy), every `heldout_every`-th page
/// held out whole; a BPE vocabulary trained on the training pages alone; each side's
/// pages encoded and concatenated into one stream, markdown and all.
pub fn book_tokens(cfg: &TrainConfig) -> Result<BookTokens, Box<dyn Error>> {
    let (train_pages, heldout_pages) = split_pages(&book_pages(), cfg.heldout_every);
    let join = |ps: &[ch08_encoder_only::book_corpus::Page]| -> String {
        ps.iter().map(|p| p.text).collect()
    };
    let (train_text, heldout_text) = (join(&train_pages), join(&heldout_pages));
    let trained = train_bpe(train_text.as_bytes(), cfg.vocab_size)?;
    let bpe = trained.bpe();
    let encode = |text: &str| -> Vec<usize> {
        bpe.encode_ordinary(text)
            .into_iter()
            .map(|id| id as usize)
            .collect()
    };
    Ok(BookTokens {
        vocab_size: trained.vocab.len(),
        train: encode(&train_text),
        heldout: encode(&heldout_text),
        pages: (train_pages.len(), heldout_pages.len()),
        bytes: (train_text.len(), heldout_text.len()),
        bpe,
    })
}
// ANCHOR_END: book_tokens

// ANCHOR: generate
/// Up to `n` tokens after `prompt`, each the arg max (temperature 0) or a draw from
/// softmax(logits / temperature); the model sees the last `context` tokens.
pub fn generate<M: LanguageModel>(
    model: &mut M,
    prompt: &[usize],
    n: usize,
    context: usize,
    temperature: f32,
    rng: &mut impl Rng,
) -> Vec<usize> {
    let mut ids = prompt.to_vec();
    for _ in 0..n {
        let window = &ids[ids.len().saturating_sub(context)..];
        let logits = model.logits(window); // [T, vocab]
        let last = logits.row(logits.nrows() - 1);
        let next = if temperature <= 0.0 {
            argmax(last.iter().copied())
        } else {
            let m = last.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            sample_categorical(&last.mapv(|l| ((l - m) / temperature).exp()), rng)
        };
        ids.push(next);
    }
    ids.split_off(prompt.len())
}
// ANCHOR_END: generate

/// The in-context test's outcome for one model: the mean loss and the top-1 accuracy of
/// the next-token predictions inside the first copy and inside the second.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CopyScores {
    pub first_loss: f32,
    pub second_loss: f32,
    pub first_acc: f32,
    pub second_acc: f32,
}

// ANCHOR: copy_test
/// Each sequence s shown twice, s s. Inside the second copy every next token is written
/// `len` positions back: predicting it better there than inside the first copy is an
/// in-context skill (copying, an "induction head"), since the weights never saw s twice.
// seqs: [n][len] -> scores
pub fn copy_test<M: LanguageModel>(model: &mut M, seqs: &[Vec<usize>]) -> CopyScores {
    let mut s = CopyScores::default();
    let mut n = 0.0;
    for seq in seqs {
        let len = seq.len();
        let ids = [seq.clone(), seq.clone()].concat(); // [2 len]
        let logits = model.logits(&ids); // [2 len, vocab]: position t predicts ids[t + 1]
        let losses = token_losses(model, &ids);
        let hit = |t: usize| argmax(logits.row(t).iter().copied()) == ids[t + 1];
        // first copy: t in 0..len-1; second: t in len..2len-1 (t = len-1 guesses s[0])
        let (first, second) = (0..len - 1, len..2 * len - 1);
        s.first_loss += first.clone().map(|t| losses[t]).sum::<f32>();
        s.second_loss += second.clone().map(|t| losses[t]).sum::<f32>();
        s.first_acc += first.filter(|&t| hit(t)).count() as f32;
        s.second_acc += second.filter(|&t| hit(t)).count() as f32;
        n += (len - 1) as f32;
    }
    CopyScores {
        first_loss: s.first_loss / n,
        second_loss: s.second_loss / n,
        first_acc: s.first_acc / n,
        second_acc: s.second_acc / n,
    }
}

// ANCHOR_END: copy_test

/// `n` sequences of `len` ids drawn uniformly from `pool`: no order to learn, so the
/// first copy is guesswork and only the second can be predicted.
pub fn random_sequences(
    pool: &[usize],
    len: usize,
    n: usize,
    rng: &mut impl Rng,
) -> Vec<Vec<usize>> {
    let draw = |rng: &mut _| pool[RngExt::random_range(rng, 0..pool.len())];
    (0..n)
        .map(|_| (0..len).map(|_| draw(rng)).collect())
        .collect()
}

/// The files a run writes.
pub const FILES: [&str; 3] = ["train-loss.svg", "train-context.svg", "train-run.txt"];

/// The prompt the samples continue.
pub const PROMPT: &str = "The attention weights";

/// What a run leaves behind besides its files.
pub struct Run {
    pub gpt2: Gpt2,
    pub llama: Llama,
    pub data: BookTokens,
    pub logs: (TrainLog, TrainLog),
    pub report: String,
    pub files: Vec<PathBuf>,
}

/// Trains one model on the book with the run's schedule and seed.
fn fit<M: LanguageModel>(
    model: &mut M,
    data: &BookTokens,
    cfg: &TrainConfig,
    on_step: impl FnMut(usize, f32),
) -> (TrainLog, f64) {
    let start = Instant::now();
    // The same data seed for both models: they see the same batches in the same order.
    let mut rng = seeded_rng(cfg.seed.wrapping_add(1));
    let (s, every) = (&cfg.schedule, cfg.eval_every);
    let log = train(
        model,
        &data.train,
        &data.heldout,
        s,
        every,
        &mut rng,
        on_step,
    );
    (log, start.elapsed().as_secs_f64())
}

/// Runs the whole experiment and writes [`FILES`] into `out`. `on_step` hears each
/// model's name, step and training loss.
pub fn train_and_report(
    out: &Path,
    cfg: &TrainConfig,
    mut on_step: impl FnMut(&str, usize, f32),
) -> Result<Run, Box<dyn Error>> {
    let data = book_tokens(cfg)?;
    let v = data.vocab_size;
    let mut gpt2 = Gpt2::new(cfg.gpt2(v), &mut seeded_rng(cfg.seed))?;
    let mut llama = Llama::new(cfg.llama(v), &mut seeded_rng(cfg.seed))?;
    let (g_log, g_s) = fit(&mut gpt2, &data, cfg, |s, l| on_step("GPT-2", s, l));
    let (l_log, l_s) = fit(&mut llama, &data, cfg, |s, l| on_step("Llama", s, l));

    std::fs::create_dir_all(out)?;
    let files: Vec<PathBuf> = FILES.iter().map(|f| out.join(f)).collect();
    write_loss_chart(&files[0], &g_log, &l_log, cfg, v)?;

    let s = &cfg.schedule;
    let tokens = s.steps * s.batch * s.context;
    let mut r = String::new();
    writeln!(
        r,
        "corpus: Chapters 1-7, {} pages: {} training ({} bytes of markdown), {} held out \
         (every {}th page, {} bytes)",
        data.pages.0 + data.pages.1,
        data.pages.0,
        data.bytes.0,
        data.pages.1,
        cfg.heldout_every,
        data.bytes.1
    )?;
    writeln!(
        r,
        "BPE: vocabulary {v} (Chapter 2's byte-level BPE, trained on the training pages); \
         {} training tokens, {} held-out tokens ({} bytes per token)",
        data.train.len(),
        data.heldout.len(),
        round(data.bytes.0 as f32 / data.train.len() as f32, 2)
    )?;
    let (gc, lc) = (cfg.gpt2(v), cfg.llama(v));
    writeln!(
        r,
        "GPT-2: C = {}, {} layers, {} heads, learned positions ({}), LayerNorm, GELU FFN {}, \
         tied head; parameters: {}",
        gc.n_embd,
        gc.n_layer,
        gc.n_head,
        gc.n_positions,
        4 * gc.n_embd,
        gpt2.num_params()
    )?;
    writeln!(
        r,
        "Llama: C = {}, {} layers, {} query heads sharing {} K/V heads, RoPE, RMSNorm, \
         SwiGLU FFN {}, tied head; parameters: {}",
        lc.d_model,
        lc.n_layers,
        lc.n_heads,
        lc.n_kv_heads,
        lc.d_ff,
        llama.num_params()
    )?;
    writeln!(
        r,
        "training (each model, the same batches): {} steps of {} windows of {} tokens = \
         {tokens} tokens ({} passes over the training tokens), Adam (0.9, 0.95, 1e-8), \
         linear warmup {} steps to lr {} then linear decay to 0, clip {}, no dropout, seed {}",
        s.steps,
        s.batch,
        s.context,
        round(tokens as f32 / data.train.len() as f32, 1),
        s.warmup,
        s.peak_lr,
        s.clip,
        cfg.seed
    )?;
    writeln!(
        r,
        "time: GPT-2 {g_s:.1} s ({:.0} tokens/s), Llama {l_s:.1} s ({:.0} tokens/s), \
         {} threads",
        tokens as f64 / g_s,
        tokens as f64 / l_s,
        rayon::current_num_threads()
    )?;
    writeln!(
        r,
        "\nstep   GPT-2 train  GPT-2 held-out  Llama train  Llama held-out"
    )?;
    let mut from = 0;
    for (&(step, gh), &(_, lh)) in g_log.heldout.iter().zip(&l_log.heldout) {
        let mean = |log: &TrainLog| {
            let w = &log.losses[from..step];
            w.iter().sum::<f32>() / w.len().max(1) as f32
        };
        writeln!(
            r,
            "{step:>4}   {:>11}  {:>14}  {:>11}  {:>14}",
            round(mean(&g_log), 3),
            round(gh, 3),
            round(mean(&l_log), 3),
            round(lh, 3)
        )?;
        from = step;
    }
    writeln!(r, "(train: the mean over the steps since the row before)")?;
    let (gh, lh) = (heldout_loss(&mut gpt2, &data.heldout, s.context), {
        heldout_loss(&mut llama, &data.heldout, s.context)
    });
    writeln!(
        r,
        "\nheld-out loss: GPT-2 {} nats (perplexity {}), Llama {} nats (perplexity {}); \
         uniform guess: ln {v} = {} nats (perplexity {v}); training-token frequencies: \
         {} nats (perplexity {})",
        round(gh, 3),
        round(gh.exp(), 1),
        round(lh, 3),
        round(lh.exp(), 1),
        round((v as f32).ln(), 3),
        round(unigram_loss(&data), 3),
        round(unigram_loss(&data).exp(), 1),
    )?;
    let t = s.context;
    let g_pos = loss_by_position(&mut gpt2, &data.heldout, t);
    let l_pos = loss_by_position(&mut llama, &data.heldout, t);
    write_context_chart(&files[1], &g_pos, &l_pos, unigram_loss(&data))?;
    writeln!(
        r,
        "\nheld-out loss by context length ({} windows of {t} tokens): tokens seen  GPT-2  Llama",
        data.heldout.len() / t
    )?;
    let mut lo = 1;
    while lo < t {
        let hi = (2 * lo - 1).min(t - 1); // 1, 2-3, 4-7, 8-15, ...
        let mean = |v: &[f32]| v[lo - 1..hi].iter().sum::<f32>() / (hi - lo + 1) as f32;
        let span = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo}-{hi}")
        };
        writeln!(
            r,
            "{span:>5}  {}  {}",
            round(mean(&g_pos), 3),
            round(mean(&l_pos), 3)
        )?;
        lo = hi + 1;
    }
    let (len, n) = (cfg.copy_len, cfg.copy_trials);
    let pool = most_frequent(&data, cfg.copy_pool);
    let random =
        random_sequences(&pool, len, n, &mut seeded_rng(cfg.seed.wrapping_add(2)));
    let step = (data.heldout.len() - len) / n;
    let passages: Vec<Vec<usize>> = (0..n)
        .map(|i| data.heldout[i * step..i * step + len].to_vec())
        .collect();
    writeln!(
        r,
        "\nin-context copying: {n} sequences of {len} tokens, each shown twice; next-token \
         loss and top-1 accuracy inside the first copy and inside the second"
    )?;
    for (what, seqs) in [
        (
            format!("random tokens (from the {} most frequent)", pool.len()),
            &random,
        ),
        ("held-out passages".to_owned(), &passages),
    ] {
        for (name, c) in [
            ("GPT-2", copy_test(&mut gpt2, seqs)),
            ("Llama", copy_test(&mut llama, seqs)),
        ] {
            writeln!(
                r,
                "{name}, {what}: first copy {} nats, {} %; second copy {} nats, {} %",
                round(c.first_loss, 3),
                round(100.0 * c.first_acc, 1),
                round(c.second_loss, 3),
                round(100.0 * c.second_acc, 1)
            )?;
        }
    }
    let prompt: Vec<usize> = (data.bpe.encode_ordinary(PROMPT).into_iter())
        .map(|id| id as usize)
        .collect();
    writeln!(
        r,
        "\nsamples: 40 tokens after {PROMPT:?} (temperature 0 = greedy), as Rust string \
         literals with \\u{{60}} for a backtick and \\u{{7b}} for a brace"
    )?;
    for t in [0.0, 0.8] {
        let sample_rng = || seeded_rng(cfg.seed.wrapping_add(3));
        let text = |ids: Vec<usize>| {
            let ranks: Vec<u32> = ids.iter().map(|&i| i as u32).collect();
            data.bpe.decode_lossy(&ranks)
        };
        let g = generate(&mut gpt2, &prompt, 40, s.context, t, &mut sample_rng());
        let l = generate(&mut llama, &prompt, 40, s.context, t, &mut sample_rng());
        let (g, l) = (text(g)?, text(l)?);
        writeln!(r, "GPT-2, temperature {t}: {}", literal(&g))?;
        writeln!(r, "Llama, temperature {t}: {}", literal(&l))?;
    }
    std::fs::write(&files[2], &r)?;
    Ok(Run {
        gpt2,
        llama,
        data,
        logs: (g_log, l_log),
        report: r,
        files,
    })
}

/// `text` as a Rust string literal that a book page can show inside a code block:
/// backticks could end the block, and braces could start an mdBook include.
pub fn literal(text: &str) -> String {
    format!("{text:?}")
        .replace('{', "\\u{7b}")
        .replace('`', "\\u{60}")
}

/// The `k` most frequent ids of the training stream, most frequent first.
pub fn most_frequent(data: &BookTokens, k: usize) -> Vec<usize> {
    let mut counts = vec![0usize; data.vocab_size];
    data.train.iter().for_each(|&id| counts[id] += 1);
    let mut ids: Vec<usize> = (0..data.vocab_size).collect();
    ids.sort_by_key(|&id| (std::cmp::Reverse(counts[id]), id));
    ids.truncate(k);
    ids
}

/// The held-out loss of the best model that ignores context: each token's frequency in
/// the training stream (add-one smoothed, so that no held-out token has p = 0).
pub fn unigram_loss(data: &BookTokens) -> f32 {
    let mut counts = vec![1.0f64; data.vocab_size];
    data.train.iter().for_each(|&id| counts[id] += 1.0);
    let total: f64 = counts.iter().sum();
    let nll: f64 = data
        .heldout
        .iter()
        .map(|&id| -(counts[id] / total).ln())
        .sum();
    (nll / data.heldout.len() as f64) as f32
}

fn write_context_chart(
    path: &Path,
    gpt2: &[f32],
    llama: &[f32],
    unigram: f32,
) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "Held-out loss by the number of tokens the model has seen",
        "tokens of context before the predicted one",
        "cross-entropy (nats)",
    );
    let points = |v: &[f32]| -> Vec<(f64, f64)> {
        (v.iter().enumerate())
            .map(|(i, &l)| ((i + 1) as f64, f64::from(l)))
            .collect()
    };
    chart.series.push(Series::new("GPT-2", points(gpt2)));
    chart.series.push(Series::new("Llama", points(llama)));
    let (n, u) = (gpt2.len() as f64, f64::from(unigram));
    chart.series.push(Series::new(
        "training-token frequencies (no context)",
        vec![(1.0, u), (n, u)],
    ));
    write_line_chart(path, &chart)
}

fn write_loss_chart(
    path: &Path,
    gpt2: &TrainLog,
    llama: &TrainLog,
    cfg: &TrainConfig,
    vocab: usize,
) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "GPT-2 and Llama trained on the book: next-token loss",
        "step",
        "cross-entropy (nats)",
    );
    const W: usize = 25; // training losses are averaged over windows of W steps
    let smooth = |log: &TrainLog| -> Vec<(f64, f64)> {
        (log.losses.chunks(W).enumerate())
            .map(|(i, c)| {
                let x = (i * W) as f64 + (c.len() as f64 + 1.0) / 2.0;
                (x, (c.iter().sum::<f32>() / c.len() as f32) as f64)
            })
            .collect()
    };
    let held = |log: &TrainLog| -> Vec<(f64, f64)> {
        log.heldout
            .iter()
            .map(|&(s, l)| (s as f64, f64::from(l)))
            .collect()
    };
    chart.points = false;
    chart.series.push(Series::new(
        format!("GPT-2 train (mean of {W} steps)"),
        smooth(gpt2),
    ));
    chart.series.push(Series::new("GPT-2 held-out", held(gpt2)));
    chart.series.push(Series::new(
        format!("Llama train (mean of {W} steps)"),
        smooth(llama),
    ));
    chart
        .series
        .push(Series::new("Llama held-out", held(llama)));
    let (n, uniform) = (cfg.schedule.steps as f64, (vocab as f64).ln());
    chart.series.push(Series::new(
        format!("uniform guess: ln {vocab}"),
        vec![(1.0, uniform), (n, uniform)],
    ));
    chart
        .markers
        .push((cfg.schedule.warmup as f64, "end of warmup".into()));
    write_line_chart(path, &chart)
}
