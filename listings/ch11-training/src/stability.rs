//! Initialisation and stability (section "Initialisation and stability"): the loss a
//! model should start at, what a bad initialisation does to it, a learning-rate sweep
//! that finds where training diverges, and warm-up on Chapter 5's Post-LN experiment,
//! now with the chapter's AdamW.

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch01_foundations::softmax::log_softmax;
use ch05_encoder::block::Wiring;
use ch05_encoder::depth::{Setup, Tagger, histogram_batch};
use ch09_decoder_only::gpt2::Gpt2;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch09_decoder_only::train_run::{BookTokens, TrainConfig};
use ch09_decoder_only::training::LanguageModel;
use ndarray::Axis;

use crate::optim::{AdamW, Optimizer, WeightDecay};
use crate::schedule::Schedule;
use crate::trainer::{Batches, Trainer};

// ANCHOR: init_loss
/// The mean next-token loss of `model` over `windows`, and the standard deviation of
/// all its logits. A model that knows nothing should say so: uniform over V tokens is
/// a loss of ln V, and small random logits of spread σ give about ln V + σ²/2.
// windows: [n][T] -> (loss, σ of the logits)
pub fn init_loss<M: LanguageModel>(model: &mut M, windows: &[&[usize]]) -> (f32, f32) {
    let (mut loss, mut count) = (0.0f64, 0usize);
    let (mut sum, mut sum_sq, mut n) = (0.0f64, 0.0f64, 0usize);
    for w in windows {
        let logits = model.logits(w); // [T, V]
        let logp = log_softmax(&logits, Axis(1));
        for (row, &next) in logp.rows().into_iter().zip(&w[1..]) {
            loss -= f64::from(row[next]);
            count += 1;
        }
        for &z in &logits {
            (sum, sum_sq, n) = (sum + f64::from(z), sum_sq + f64::from(z).powi(2), n + 1);
        }
    }
    let mean = sum / n as f64;
    let std = (sum_sq / n as f64 - mean * mean).max(0.0).sqrt();
    ((loss / count as f64) as f32, std as f32)
}
// ANCHOR_END: init_loss

/// One row of the initial-loss table.
#[derive(Clone, Debug, PartialEq)]
pub struct InitRow {
    pub label: String,
    pub loss: f32,
    pub logit_std: f32,
}

// ANCHOR: bad_inits
/// Two mistakes of initialisation. PyTorch's `nn.Embedding` starts at N(0, 1), not
/// N(0, 0.02²); with a tied head those rows are also the output weights.
pub fn unit_embedding_llama(cfg: &LlamaTrainConfig, seed: u64) -> Llama {
    let mut rng = seeded_rng(seed);
    let mut model = Llama::new(cfg.clone(), &mut rng).expect("a valid config");
    let dim = model.embed.table.value.raw_dim();
    model.embed.table.value = normal(dim, 1.0, &mut rng);
    model
}

/// GPT-2 without the 1/√(2L) on the two projections that write into the residual
/// stream: every weight N(0, 0.02²), as a first implementation would have it.
pub fn unscaled_gpt2(model: &mut Gpt2) {
    let undo = ((2 * model.cfg.n_layer) as f32).sqrt();
    for block in &mut model.blocks {
        block.block.attn.w_o.value *= undo;
        block.block.ffn.fc2.w.value *= undo;
    }
}
// ANCHOR_END: bad_inits

/// The initial loss of Chapter 9's two models at their initialisation and with each
/// mistake, on the first `n_windows` held-out windows of the run's context.
pub fn init_table(
    data: &BookTokens,
    cfg: &TrainConfig,
    n_windows: usize,
) -> Vec<InitRow> {
    let t = cfg.schedule.context;
    let windows: Vec<&[usize]> = data.heldout.chunks_exact(t).take(n_windows).collect();
    let v = data.vocab_size;
    let mut rows = Vec::new();
    let mut push = |label: String, (loss, logit_std): (f32, f32)| {
        rows.push(InitRow {
            label,
            loss,
            logit_std,
        });
    };
    let llama_cfg = cfg.llama(v);
    let mut llama =
        Llama::new(llama_cfg.clone(), &mut seeded_rng(cfg.seed)).expect("valid");
    push(
        "Llama, N(0, 0.02²), tied head".into(),
        init_loss(&mut llama, &windows),
    );
    let mut bad = unit_embedding_llama(&llama_cfg, cfg.seed);
    push(
        "Llama, embedding N(0, 1), tied head".into(),
        init_loss(&mut bad, &windows),
    );
    for layers in [cfg.layers, 12] {
        let gcfg = TrainConfig { layers, ..*cfg }.gpt2(v);
        let mut gpt2 = Gpt2::new(gcfg, &mut seeded_rng(cfg.seed)).expect("valid");
        let label = format!("GPT-2, {layers} layers, GPT-2's init");
        push(label, init_loss(&mut gpt2, &windows));
        unscaled_gpt2(&mut gpt2);
        let label = format!("GPT-2, {layers} layers, no 1/sqrt(2L)");
        push(label, init_loss(&mut gpt2, &windows));
    }
    let mut gpt2 = Gpt2::new(cfg.gpt2(v), &mut seeded_rng(cfg.seed)).expect("valid");
    let dim = gpt2.wte.table.value.raw_dim();
    gpt2.wte.table.value = normal(dim, 1.0, &mut seeded_rng(cfg.seed + 1));
    let label = format!("GPT-2, {} layers, wte N(0, 1)", cfg.layers);
    push(label, init_loss(&mut gpt2, &windows));
    rows
}

/// The table as the text prints it.
pub fn init_report(rows: &[InitRow], vocab_size: usize, n_tokens: usize) -> String {
    let mut out = format!(
        "initial loss over {n_tokens} held-out tokens; V = {vocab_size}, ln V = {:.4}\n",
        (vocab_size as f64).ln()
    );
    out += &format!(
        "{:42} {:>8} {:>9}\n",
        "model, initialisation", "loss", "logit std"
    );
    for r in rows {
        out += &format!("{:42} {:>8.4} {:>9.4}\n", r.label, r.loss, r.logit_std);
    }
    out
}

// ANCHOR: diverged
/// What one learning rate of the sweep did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SweepPoint {
    pub lr: f32,
    pub first: f32, // the loss of the first batch, before any update
    pub last: f32,  // the mean training loss of the last 10 steps (NaN if it blew up)
    pub min: f32,   // the lowest training loss of any step
}

impl SweepPoint {
    /// Training failed: the loss went non-finite or ended above where it began.
    pub fn diverged(&self) -> bool {
        !self.last.is_finite() || self.last > self.first
    }
}

// ANCHOR_END: diverged

// ANCHOR: sweep
/// Chapter 9's Llama trained `steps` updates at peak learning rate `lr`: AdamW
/// (β = 0.9, 0.95, λ = 0.1), a tenth of the steps of warm-up then cosine to 0.1 × peak,
/// clipping at 1, the same batches for every learning rate.
pub fn sweep_point(
    data: &BookTokens,
    cfg: &TrainConfig,
    lr: f32,
    steps: usize,
) -> SweepPoint {
    let model = Llama::new(cfg.llama(data.vocab_size), &mut seeded_rng(cfg.seed));
    let mut tr = Trainer {
        model: model.expect("a valid config"),
        opt: AdamW::with_betas(0.9, 0.95, 1e-8, WeightDecay::Decoupled(0.1)),
        schedule: Schedule::WarmupCosine {
            warmup: steps / 10,
            total: steps,
            floor: 0.1,
        },
        peak_lr: lr,
        clip: Some(cfg.schedule.clip),
        step: 0,
        batches: Batches::new(data.train.len(), cfg.schedule.context, cfg.seed),
    };
    let losses: Vec<f32> = (0..steps)
        .map(|_| tr.train_step(&data.train, cfg.schedule.batch).loss)
        .collect();
    let tail = &losses[steps.saturating_sub(10)..];
    SweepPoint {
        lr,
        first: losses[0],
        last: tail.iter().sum::<f32>() / tail.len() as f32,
        min: losses.iter().copied().fold(f32::INFINITY, f32::min),
    }
}
// ANCHOR_END: sweep

/// `n` learning rates from `lo` to `hi`, equally spaced in log lr.
pub fn geometric(lo: f32, hi: f32, n: usize) -> Vec<f32> {
    let (a, b) = (f64::from(lo).log10(), f64::from(hi).log10());
    let step = (b - a) / (n - 1).max(1) as f64;
    (0..n)
        .map(|i| 10f64.powf(a + step * i as f64) as f32)
        .collect()
}

/// The sweep as the text prints it.
pub fn sweep_report(points: &[SweepPoint], steps: usize, vocab_size: usize) -> String {
    let mut out = format!(
        "Llama, {steps} steps per learning rate; ln V = {:.4}\n{:>10} {:>9} {:>9} {:>9}  {}\n",
        (vocab_size as f64).ln(),
        "peak lr",
        "first",
        "last 10",
        "min",
        "diverged"
    );
    for p in points {
        out += &format!(
            "{:>10.2e} {:>9.4} {:>9.4} {:>9.4}  {}\n",
            p.lr,
            p.first,
            p.last,
            p.min,
            if p.diverged() { "yes" } else { "no" }
        );
    }
    out
}

// ANCHOR: warmup
/// Chapter 5's histogram tagger (its sizes, its batches) trained with AdamW at peak
/// learning rate `lr` under `schedule`: the loss at each step, before its update.
pub fn train_tagger(
    setup: &Setup,
    n_layers: usize,
    wiring: Wiring,
    steps: usize,
    lr: f32,
    schedule: Schedule,
) -> Vec<f32> {
    let mut model = Tagger::new(setup, n_layers, wiring);
    let mut opt = AdamW::with_betas(0.9, 0.98, 1e-9, WeightDecay::None); // the 2017 betas
    let mut rng = seeded_rng(setup.seed + 2); // the same batches as Chapter 5's runs
    (0..steps)
        .map(|step| {
            let (ids, targets) =
                histogram_batch(setup.batch, setup.t, setup.vocab, &mut rng);
            model.zero_grad();
            let loss = model.loss_and_backward(&ids, &targets);
            opt.step(&mut model, lr * schedule.factor(step));
            loss
        })
        .collect()
}
// ANCHOR_END: warmup

/// Warm-up over `warmup` steps, then the peak learning rate to the end.
pub fn warmup_then_constant(warmup: usize, steps: usize) -> Schedule {
    Schedule::WarmupStableDecay {
        warmup,
        decay: 0,
        total: steps,
        floor: 1.0,
    }
}
