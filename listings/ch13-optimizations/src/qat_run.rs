//! The `qat_vs_ptq` example's run (section "PTQ against QAT"): Chapter 9's Llama
//! pretrained on the book in f32 through Chapter 11's trainer, then, from the same
//! step with the same optimizer state and the same batches, trained on in f32 and
//! quantization-aware at each bit width; every model measured on the held-out pages
//! with its weights really quantized. `tests/measured_qat.rs` reruns a tiny config and
//! checks the committed report's claims.

use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch09_decoder_only::llama_model::Llama;
use ch09_decoder_only::train_run::{BookTokens, TrainConfig};
use ch09_decoder_only::training::{LanguageModel, Schedule, heldout_loss};
use ch11_training::optim::AdamW;
use ch11_training::precision_run::chapter9_trainer;
use ch11_training::trainer::Trainer;

use crate::qat::{Qat, QatError, QuantSpec, QuantStats, is_quantized, ptq};

/// Everything the run's outcome depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct QatRunConfig {
    /// Chapter 9's run; `schedule.steps` = `pretrain` + `extra`, the whole schedule.
    pub train: TrainConfig,
    pub pretrain: usize, // f32 steps before the arms part
    pub extra: usize,    // steps each arm trains on from there
    pub bits: Vec<u32>,  // the widths quantized, PTQ and QAT alike
}

impl QatRunConfig {
    /// The run the text reports: Chapter 9's model and recipe, half its batch, 500 steps.
    pub fn full() -> Self {
        let (pretrain, extra) = (400, 100);
        let base = TrainConfig::full();
        QatRunConfig {
            train: TrainConfig {
                schedule: Schedule {
                    batch: 8,
                    steps: pretrain + extra,
                    warmup: 50,
                    ..base.schedule
                },
                ..base
            },
            pretrain,
            extra,
            bits: vec![8, 4, 3, 2],
        }
    }

    /// A run of seconds for the tests: the same code, smaller everything.
    pub fn tiny() -> Self {
        let (pretrain, extra) = (30, 20);
        let base = TrainConfig::tiny();
        QatRunConfig {
            train: TrainConfig {
                schedule: Schedule {
                    steps: pretrain + extra,
                    ..base.schedule
                },
                ..base
            },
            pretrain,
            extra,
            bits: vec![8, 2],
        }
    }
}

/// The parameters' values, in visiting order.
fn values(m: &dyn Module) -> Vec<ndarray::ArrayD<f32>> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.push(p.value.to_owned()));
    out
}

/// A second Llama with the same parameters.
pub fn copy_llama(m: &Llama) -> Llama {
    let mut copy = Llama::new(m.cfg.clone(), &mut seeded_rng(0)).expect("a valid config");
    let mut from = values(m).into_iter();
    copy.visit_params_mut(&mut |_, mut p| p.value.assign(&from.next().expect("same")));
    copy
}

/// A trainer that carries on from `t`'s step, optimizer state and data position.
fn branch<M>(t: &Trainer<Llama, AdamW>, model: M) -> Trainer<M, AdamW> {
    Trainer {
        model,
        opt: t.opt.clone(),
        schedule: t.schedule,
        peak_lr: t.peak_lr,
        clip: t.clip,
        step: t.step,
        batches: t.batches.clone(),
    }
}

/// The held-out loss of `model` with its weights quantized by `spec`, and what the
/// quantization did; the model is left as it was.
pub fn quantized_heldout(
    model: &mut Llama,
    spec: &QuantSpec,
    data: &BookTokens,
    context: usize,
) -> Result<(f32, QuantStats), QatError> {
    let (latent, stats) = ptq(model, spec)?;
    let loss = heldout_loss(model, &data.heldout, context);
    crate::qat::restore(model, latent, false);
    Ok((loss, stats))
}

/// One bit width's three numbers: PTQ of the pretrained model, PTQ of the model
/// trained on in f32, and the QAT model (each: held-out loss, quantization stats).
#[derive(Clone, Debug, PartialEq)]
pub struct BitsRow {
    pub bits: u32,
    pub ptq_pretrained: (f32, QuantStats),
    pub ptq_final: (f32, QuantStats),
    pub qat: (f32, QuantStats),
    pub qat_losses: Vec<f32>, // training loss at each extra step, at the quantized point
}

/// What the run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct QatResults {
    pub pretrained: f32, // held-out loss in f32 after `pretrain` steps
    pub f32_final: f32,  // ... after `pretrain` + `extra` steps
    pub f32_losses: Vec<f32>,
    pub rows: Vec<BitsRow>,
    pub quantized_params: usize,
    pub params: usize,
    pub seconds: f64,
}

/// `steps` training steps of `t` on batches of `b` windows; the loss of each.
fn train_on<M: LanguageModel>(
    t: &mut Trainer<M, AdamW>,
    stream: &[usize],
    b: usize,
    steps: usize,
) -> Vec<f32> {
    (0..steps).map(|_| t.train_step(stream, b).loss).collect()
}

/// How many parameters [`is_quantized`] picks.
fn quantized_count(m: &dyn Module) -> usize {
    let mut n = 0;
    m.visit_params(&mut |name, p| {
        n += if is_quantized(name) { p.value.len() } else { 0 }
    });
    n
}

// ANCHOR: arms
/// Pretrain in f32; then from that one state (weights, Adam moments, step, data
/// position) train each arm `extra` steps: in f32, and with QAT at each bit width.
/// Every arm sees the same batches at the same learning rates.
pub fn run(data: &BookTokens, cfg: &QatRunConfig) -> Result<QatResults, QatError> {
    let (start, s) = (Instant::now(), &cfg.train.schedule);
    let (b, ctx, train) = (s.batch, s.context, &data.train[..]);
    let mut t = chapter9_trainer(data, &cfg.train);
    train_on(&mut t, train, b, cfg.pretrain);
    let pretrained = heldout_loss(&mut t.model, &data.heldout, ctx);
    let mut f32_arm = branch(&t, copy_llama(&t.model));
    let f32_losses = train_on(&mut f32_arm, train, b, cfg.extra);
    let f32_final = heldout_loss(&mut f32_arm.model, &data.heldout, ctx);
    let mut rows = Vec::new();
    for &bits in &cfg.bits {
        let spec = QuantSpec::per_channel(bits)?;
        let mut qat = branch(&t, Qat::new(copy_llama(&t.model), spec));
        let qat_losses = train_on(&mut qat, train, b, cfg.extra);
        rows.push(BitsRow {
            bits,
            ptq_pretrained: quantized_heldout(&mut t.model, &spec, data, ctx)?,
            ptq_final: quantized_heldout(&mut f32_arm.model, &spec, data, ctx)?,
            qat: quantized_heldout(&mut qat.model.model, &spec, data, ctx)?,
            qat_losses,
        });
    }
    Ok(QatResults {
        pretrained,
        f32_final,
        f32_losses,
        rows,
        quantized_params: quantized_count(&t.model),
        params: t.model.num_params(),
        seconds: start.elapsed().as_secs_f64(),
    })
}
// ANCHOR_END: arms

/// The files a run writes.
pub const FILES: [&str; 3] = ["qat.svg", "qat-curves.svg", "qat.txt"];

/// Runs the experiment and writes [`FILES`] into `out`; returns the results and report.
pub fn qat_experiment(
    out: &Path,
    data: &BookTokens,
    cfg: &QatRunConfig,
) -> Result<(QatResults, String), Box<dyn Error>> {
    let r = run(data, cfg)?;
    std::fs::create_dir_all(out)?;
    write_bits_figure(&out.join(FILES[0]), &r)?;
    write_curves(&out.join(FILES[1]), &r, cfg)?;
    let report = report(data, cfg, &r)?;
    std::fs::write(out.join(FILES[2]), &report)?;
    Ok((r, report))
}

fn write_bits_figure(path: &Path, r: &QatResults) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "Held-out loss of the quantized Llama: PTQ against QAT",
        "bits per weight (linear layers; per-channel absmax)",
        "held-out loss (nats)",
    );
    chart.points = true;
    let line = |f: fn(&BitsRow) -> f32| -> Vec<(f64, f64)> {
        let mut pts: Vec<(f64, f64)> = r
            .rows
            .iter()
            .map(|row| (f64::from(row.bits), f64::from(f(row))))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts
    };
    chart.series.push(Series::new(
        "PTQ of the pretrained model",
        line(|row| row.ptq_pretrained.0),
    ));
    chart.series.push(Series::new(
        "PTQ after the same extra f32 steps",
        line(|row| row.ptq_final.0),
    ));
    chart.series.push(Series::new(
        "QAT over the extra steps",
        line(|row| row.qat.0),
    ));
    let xs = line(|row| row.qat.0);
    let f32_line = [xs[0].0, xs[xs.len() - 1].0]
        .map(|x| (x, f64::from(r.f32_final)))
        .to_vec();
    chart
        .series
        .push(Series::new("f32, same steps (no quantization)", f32_line));
    write_line_chart(path, &chart)
}

/// Training loss over the extra steps, as means of windows of 10 steps.
fn write_curves(
    path: &Path,
    r: &QatResults,
    cfg: &QatRunConfig,
) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "Training loss after the branch point (QAT: at the quantized weights)",
        "step",
        "training loss (nats), mean of 10 steps",
    );
    let smooth = |losses: &[f32]| -> Vec<(f64, f64)> {
        losses
            .chunks(10)
            .enumerate()
            .map(|(i, c)| {
                let step = cfg.pretrain + i * 10 + c.len();
                (
                    step as f64,
                    c.iter().map(|&l| f64::from(l)).sum::<f64>() / c.len() as f64,
                )
            })
            .collect()
    };
    chart.series.push(Series::new("f32", smooth(&r.f32_losses)));
    for row in &r.rows {
        chart.series.push(Series::new(
            format!("QAT, {} bits", row.bits),
            smooth(&row.qat_losses),
        ));
    }
    write_line_chart(path, &chart)
}

fn report(
    data: &BookTokens,
    cfg: &QatRunConfig,
    r: &QatResults,
) -> Result<String, Box<dyn Error>> {
    let s = &cfg.train.schedule;
    let lc = cfg.train.llama(data.vocab_size);
    let mut o = String::new();
    writeln!(
        o,
        "model: Chapter 9's Llama (C = {}, {} layers, {} heads, {} K/V heads, SwiGLU {}, vocab {}, tied embedding), seed {}; {} parameters",
        lc.d_model,
        lc.n_layers,
        lc.n_heads,
        lc.n_kv_heads,
        lc.d_ff,
        lc.vocab_size,
        cfg.train.seed,
        r.params
    )?;
    writeln!(
        o,
        "quantized: the {} linear weights of the blocks (attention wq wk wv wo, SwiGLU w1 w2 w3), {} of {} parameters ({:.1} %); RMSNorm gains and the tied embedding/head stay f32",
        7 * lc.n_layers,
        r.quantized_params,
        r.params,
        100.0 * r.quantized_params as f64 / r.params as f64
    )?;
    writeln!(
        o,
        "quantizer: symmetric absmax per output channel, codes -(2^(b-1)-1)..=2^(b-1)-1, ties to even, nothing clipped; every held-out loss below is of the model computing with w_q = s * code"
    )?;
    writeln!(
        o,
        "training: Chapter 9's recipe on Chapter 11's trainer, {} + {} steps of {} windows of {} tokens, Adam (0.9, 0.95, 1e-8), linear warm-up {} steps to lr {} then linear decay to 0 at step {}, clip {}",
        cfg.pretrain, cfg.extra, s.batch, s.context, s.warmup, s.peak_lr, s.steps, s.clip
    )?;
    writeln!(
        o,
        "arms: from the f32 state at step {} (weights, Adam moments, data position), {} more steps each, the same batches and learning rates: f32, and QAT (fake quantization, straight-through estimator) at each width",
        cfg.pretrain, cfg.extra
    )?;
    writeln!(
        o,
        "held-out: {} tokens of {} held-out pages, windows of {}",
        data.heldout.len(),
        data.pages.1,
        s.context
    )?;
    writeln!(o, "time: {:.1} s in all", r.seconds)?;
    writeln!(o)?;
    writeln!(
        o,
        "f32 after {} steps: held-out {:.4} nats",
        cfg.pretrain, r.pretrained
    )?;
    writeln!(
        o,
        "f32 after {} steps: held-out {:.4} nats",
        s.steps, r.f32_final
    )?;
    writeln!(o)?;
    writeln!(
        o,
        "held-out loss (nats); gap = loss - f32 after {} steps; weight error = ||W_q - W|| / ||W|| over the quantized weights",
        s.steps
    )?;
    writeln!(
        o,
        "bits | PTQ at step {} | PTQ at step {} | QAT at step {} | PTQ gap | QAT gap | PTQ weight error | QAT weight error",
        cfg.pretrain, s.steps, s.steps
    )?;
    for row in &r.rows {
        writeln!(
            o,
            "{} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4}",
            row.bits,
            row.ptq_pretrained.0,
            row.ptq_final.0,
            row.qat.0,
            row.ptq_final.0 - r.f32_final,
            row.qat.0 - r.f32_final,
            row.ptq_final.1.relative_error(),
            row.qat.1.relative_error(),
        )?;
    }
    Ok(o)
}
