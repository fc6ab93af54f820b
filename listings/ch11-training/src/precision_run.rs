//! The `mixed_precision` example's run (section "Mixed precision"): Chapter 9's Llama
//! trained on the book four times from the same initialisation on the same batches, in
//! f32, bf16, fp16 without loss scaling and fp16 with dynamic scaling; the curves, the
//! gradient entries fp16 flushes to zero, the skipped steps, the scale, the time.
//! `tests/measured.rs` reruns a tiny config and checks the committed report.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch01_foundations::report::round;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch09_decoder_only::train_run::{BookTokens, TrainConfig};
use ch09_decoder_only::training::heldout_loss;

use crate::optim::{AdamW, WeightDecay};
use crate::precision::{LossScaler, MixedPrecision, Precision, Rounded};
use crate::schedule::Schedule;
use crate::trainer::{Batches, Trainer};

/// One run of the comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Arm {
    pub name: &'static str,
    pub mp: MixedPrecision,
}

/// The four runs; the scaler has PyTorch's rules and settings but `growth_interval`.
pub fn arms(growth_interval: usize) -> Vec<Arm> {
    let scaler = LossScaler::with(65536.0, 2.0, 0.5, growth_interval).expect("valid");
    let arm = |name, precision, scaler| Arm {
        name,
        mp: MixedPrecision { precision, scaler },
    };
    vec![
        arm("f32", Precision::F32, None),
        arm("bf16", Precision::Bf16, None),
        arm("fp16, no scaling", Precision::F16, None),
        arm("fp16, dynamic scaling", Precision::F16, Some(scaler)),
    ]
}

/// What one run recorded, step by step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArmLog {
    pub name: String,
    pub losses: Vec<f32>,
    pub heldout: Vec<(usize, f32)>,
    pub scales: Vec<f32>,
    pub skipped: usize,
    pub dlogits: Vec<Rounded>, // what rounding did to ∂L/∂logits, each step
    pub grads: Vec<Rounded>,   // ... to the parameter gradients
    pub seconds: f64,          // the training steps only, not the evaluations
}

/// Chapter 9's Llama and recipe on the chapter's trainer: its initialisation, Adam
/// (0.9, 0.95), linear warm-up and decay, clipping; the batches seeded as Chapter 9's.
pub fn chapter9_trainer(data: &BookTokens, cfg: &TrainConfig) -> Trainer<Llama, AdamW> {
    let s = &cfg.schedule;
    let model =
        Llama::new(cfg.llama(data.vocab_size), &mut seeded_rng(cfg.seed)).expect("valid");
    Trainer {
        model,
        opt: AdamW::with_betas(0.9, 0.95, 1e-8, WeightDecay::None),
        schedule: Schedule::WarmupLinear {
            warmup: s.warmup,
            total: s.steps,
        },
        peak_lr: s.peak_lr,
        clip: Some(s.clip),
        step: 0,
        batches: Batches::new(data.train.len(), s.context, cfg.seed.wrapping_add(1)),
    }
}

// ANCHOR: run_arm
/// Chapter 9's recipe (Adam 0.9/0.95, linear warm-up and decay, clipping at 1) in one
/// precision, through the chapter's trainer. Held-out losses use the f32 master weights.
pub fn run_arm(data: &BookTokens, cfg: &TrainConfig, arm: &Arm) -> ArmLog {
    let (s, mut t) = (&cfg.schedule, chapter9_trainer(data, cfg));
    let (mut mp, mut log) = (
        arm.mp.clone(),
        ArmLog {
            name: arm.name.into(),
            ..ArmLog::default()
        },
    );
    for step in 1..=s.steps {
        let start = Instant::now();
        let r = t.train_step_mixed(&data.train, s.batch, &mut mp);
        log.seconds += start.elapsed().as_secs_f64();
        log.losses.push(r.loss);
        log.scales.push(r.scale);
        log.skipped += usize::from(r.skipped);
        log.dlogits.push(r.dlogits);
        log.grads.push(r.grads);
        if step % cfg.eval_every == 0 || step == s.steps {
            log.heldout
                .push((step, heldout_loss(&mut t.model, &data.heldout, s.context)));
        }
    }
    log
}
// ANCHOR_END: run_arm

// ANCHOR: time_steps
/// The fastest of `rounds` steps of each arm, in milliseconds, the arms taking turns
/// from the same start: on a busy machine the minimum is the least disturbed.
pub fn time_steps(
    data: &BookTokens,
    cfg: &TrainConfig,
    arms: &[Arm],
    rounds: usize,
) -> Vec<f64> {
    let s = &cfg.schedule;
    let mut trainers: Vec<_> = arms
        .iter()
        .map(|arm| {
            let t = chapter9_trainer(data, cfg);
            (t, arm.mp.clone(), Vec::<f64>::new())
        })
        .collect();
    for _ in 0..rounds {
        for (t, mp, ms) in &mut trainers {
            let start = Instant::now();
            t.train_step_mixed(&data.train, s.batch, mp);
            ms.push(1e3 * start.elapsed().as_secs_f64());
        }
    }
    trainers
        .into_iter()
        .map(|(_, _, ms)| ms.into_iter().fold(f64::INFINITY, f64::min))
        .collect()
}
// ANCHOR_END: time_steps

/// The fraction of Σ|g| that rounding flushed to zero, over `steps`.
pub fn flushed_mass(rs: &[Rounded]) -> f64 {
    let (f, a) = rs
        .iter()
        .fold((0.0, 0.0), |(f, a), r| (f + r.flushed_abs, a + r.abs));
    f / a.max(f64::MIN_POSITIVE)
}

/// The fraction of nonzero entries that rounding flushed to zero, over `steps`.
pub fn underflow(rs: &[Rounded]) -> f64 {
    let (u, n) = rs
        .iter()
        .fold((0, 0), |(u, n), r| (u + r.underflow, n + r.nonzero));
    u as f64 / n.max(1) as f64
}

/// Steps of each arm timed, taking turns, after the runs.
pub const TIMING_ROUNDS: usize = 20;

/// The files a run writes.
pub const FILES: [&str; 3] = [
    "mixed-precision.svg",
    "mixed-precision-underflow.svg",
    "mixed-precision.txt",
];

/// Runs the four arms and writes [`FILES`] into `out`; returns the logs and the report.
pub fn precision_experiment(
    out: &Path,
    data: &BookTokens,
    cfg: &TrainConfig,
    growth_interval: usize,
    mut on_arm: impl FnMut(&ArmLog),
) -> Result<(Vec<ArmLog>, String), Box<dyn Error>> {
    let logs: Vec<ArmLog> = arms(growth_interval)
        .iter()
        .map(|arm| {
            let log = run_arm(data, cfg, arm);
            on_arm(&log);
            log
        })
        .collect();
    let ms = time_steps(data, cfg, &arms(growth_interval), TIMING_ROUNDS);
    std::fs::create_dir_all(out)?;
    let files: Vec<PathBuf> = FILES.iter().map(|f| out.join(f)).collect();
    write_curves(&files[0], &logs, cfg)?;
    write_underflow(&files[1], &logs)?;
    let report = report(data, cfg, growth_interval, &logs, &ms)?;
    std::fs::write(&files[2], &report)?;
    Ok((logs, report))
}

/// The model line of this section's reports and the recipe's: "C = 64, 2 layers, ...".
pub(crate) fn llama_shape(lc: &LlamaTrainConfig) -> String {
    format!(
        "C = {}, {} layers, {} heads, {} K/V heads, SwiGLU {}, vocab {}",
        lc.d_model, lc.n_layers, lc.n_heads, lc.n_kv_heads, lc.d_ff, lc.vocab_size
    )
}

fn report(
    data: &BookTokens,
    cfg: &TrainConfig,
    growth_interval: usize,
    logs: &[ArmLog],
    ms: &[f64],
) -> Result<String, Box<dyn Error>> {
    let s = &cfg.schedule;
    let lc = cfg.llama(data.vocab_size);
    let mut r = String::new();
    writeln!(
        r,
        "model: Chapter 9's Llama ({}), the same initialisation (seed {}) and the same \
         batches in every run",
        llama_shape(&lc),
        cfg.seed
    )?;
    writeln!(
        r,
        "training: {} steps of {} windows of {} tokens, Adam (0.9, 0.95, 1e-8), linear warm-up {} \
         steps to lr {} then linear decay to 0, clip {}; f32 master weights in every run",
        s.steps, s.batch, s.context, s.warmup, s.peak_lr, s.clip
    )?;
    writeln!(
        r,
        "half formats emulated: weights, block inputs and outputs, logits and gradients rounded \
         to the format, arithmetic in f32; loss scaler: initial scale 65536, x2 after {growth_interval} \
         clean steps, x0.5 and a skipped step on inf/NaN"
    )?;
    writeln!(
        r,
        "\n{:>4} | {}",
        "step",
        logs.iter()
            .map(|l| format!("{:>21}", l.name))
            .collect::<Vec<_>>()
            .join(" | ")
    )?;
    writeln!(r, "(held-out loss, nats)")?;
    for (i, &(step, _)) in logs[0].heldout.iter().enumerate() {
        let cells: Vec<String> = logs
            .iter()
            .map(|l| format!("{:>21}", round(l.heldout[i].1, 3)))
            .collect();
        writeln!(r, "{step:>4} | {}", cells.join(" | "))?;
    }
    writeln!(r)?;
    let tail = (s.steps / 10).max(1);
    for (l, ms) in logs.iter().zip(ms) {
        let last = &l.losses[l.losses.len() - tail..];
        let scale_path: Vec<String> = scale_changes(&l.scales)
            .iter()
            .map(|(st, sc)| format!("{sc} from step {st}"))
            .collect();
        writeln!(
            r,
            "{}: final held-out {} nats; train (mean of the last {tail} steps) {} nats; skipped steps {}; \
             fp16-flushed dlogits {} %, first {tail} steps {} %, last {tail} steps {} %, their share of \
             sum |dlogits| {} %; flushed parameter gradients {} %, last {tail} steps {} %; time per step {} ms; \
             scale {}",
            l.name,
            round(l.heldout.last().expect("evaluated").1, 3),
            round(last.iter().sum::<f32>() / tail as f32, 3),
            l.skipped,
            round(100.0 * underflow(&l.dlogits) as f32, 3),
            round(100.0 * underflow(&l.dlogits[..tail]) as f32, 3),
            round(
                100.0 * underflow(&l.dlogits[l.dlogits.len() - tail..]) as f32,
                3
            ),
            round(100.0 * flushed_mass(&l.dlogits) as f32, 4),
            round(100.0 * underflow(&l.grads) as f32, 3),
            round(
                100.0 * underflow(&l.grads[l.grads.len() - tail..]) as f32,
                3
            ),
            round(*ms as f32, 1),
            if scale_path.is_empty() {
                "none".into()
            } else {
                scale_path.join(", ")
            },
        )?;
    }
    writeln!(
        r,
        "time per step: the fastest of {TIMING_ROUNDS} steps of each run, the runs taking turns after \
         training; {} threads",
        rayon::current_num_threads()
    )?;
    Ok(r)
}

/// (step, scale) at the first step and wherever the scale changed.
pub fn scale_changes(scales: &[f32]) -> Vec<(usize, f32)> {
    if scales.iter().all(|&s| s == 1.0) {
        return Vec::new();
    }
    (0..scales.len())
        .filter(|&i| i == 0 || scales[i] != scales[i - 1])
        .map(|i| (i + 1, scales[i]))
        .collect()
}

fn write_curves(
    path: &Path,
    logs: &[ArmLog],
    cfg: &TrainConfig,
) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "Chapter 9's Llama in four precisions: held-out loss",
        "step",
        "cross-entropy (nats)",
    );
    for l in logs {
        let points = l
            .heldout
            .iter()
            .map(|&(s, h)| (s as f64, f64::from(h)))
            .collect();
        chart.series.push(Series::new(l.name.clone(), points));
    }
    chart.points = true;
    chart
        .markers
        .push((cfg.schedule.warmup as f64, "end of warm-up".into()));
    write_line_chart(path, &chart)
}

fn write_underflow(path: &Path, logs: &[ArmLog]) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "fp16: gradient entries flushed to zero (mean of 20 steps)",
        "step",
        "entries flushed to zero (%)",
    );
    const W: usize = 20;
    for l in logs.iter().filter(|l| l.name.starts_with("fp16")) {
        for (what, rs) in [
            ("dL/dlogits", &l.dlogits),
            ("parameter gradients", &l.grads),
        ] {
            let points = (rs.chunks(W).enumerate())
                .map(|(i, c)| {
                    (
                        (i * W) as f64 + (c.len() as f64 + 1.0) / 2.0,
                        100.0 * underflow(c),
                    )
                })
                .collect();
            chart
                .series
                .push(Series::new(format!("{}: {what}", l.name), points));
        }
    }
    write_line_chart(path, &chart)
}

/// The run the text reports: Chapter 9's model and recipe, `steps` steps (warm-up and
/// evaluation scaled with them), and the scaler's growth interval.
pub fn config(steps: usize) -> (TrainConfig, usize) {
    let mut cfg = TrainConfig::full();
    let full = cfg.schedule.steps;
    cfg.schedule.warmup = cfg.schedule.warmup * steps / full;
    cfg.schedule.steps = steps;
    cfg.eval_every = (steps / 10).max(1);
    (cfg, 100)
}
