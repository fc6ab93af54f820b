//! Putting it together (section "Putting it together"): Chapter 9's Llama retrained with
//! the chapter's recipe (AdamW with decoupled decay on the `decays` group, warm-up and
//! cosine to a floor, clipping, bf16) against Chapter 9's first recipe (Adam, warm-up
//! and linear decay, clipping, f32), same model, same initialisation, same token budget.
//! `tests/measured_precision.rs` reruns a tiny config and checks the committed report.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::{Mode, Module};
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch01_foundations::report::round;
use ch09_decoder_only::llama_model::Llama;
use ch09_decoder_only::train_run::{BookTokens, TrainConfig};
use ch09_decoder_only::training::{TrainLog, heldout_loss, train};

use crate::optim::{AdamW, WeightDecay};
use crate::precision::{MixedPrecision, Precision};
use crate::schedule::Schedule;
use crate::trainer::{Batches, Trainer};

/// The chapter's recipe, beyond what it shares with Chapter 9's (peak lr, warm-up,
/// clipping, batch, steps).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipe {
    pub weight_decay: f32, // AdamW's λ, on the `decays` group only
    pub floor: f32,        // the cosine ends at floor × peak
    pub precision: Precision,
}

impl Recipe {
    pub fn chapter() -> Self {
        Recipe {
            weight_decay: 0.1,
            floor: 0.1,
            precision: Precision::Bf16,
        }
    }
}

// ANCHOR: recipe
/// Chapter 9's Llama trained with the chapter's recipe through the chapter's trainer:
/// AdamW (β = 0.9, 0.95 as GPT-3 and Llama) with decoupled decay on matrices only,
/// warm-up then a cosine to a floor, clipping, bf16 with f32 master weights.
pub fn train_recipe(data: &BookTokens, cfg: &TrainConfig, r: &Recipe) -> (TrainLog, f64) {
    let s = &cfg.schedule;
    let model =
        Llama::new(cfg.llama(data.vocab_size), &mut seeded_rng(cfg.seed)).expect("valid");
    let mut t = Trainer {
        model,
        opt: AdamW::with_betas(0.9, 0.95, 1e-8, WeightDecay::Decoupled(r.weight_decay)),
        schedule: Schedule::WarmupCosine {
            warmup: s.warmup,
            total: s.steps,
            floor: r.floor,
        },
        peak_lr: s.peak_lr,
        clip: Some(s.clip),
        step: 0,
        batches: Batches::new(data.train.len(), s.context, cfg.seed.wrapping_add(1)),
    };
    let mut mp = MixedPrecision {
        precision: r.precision,
        scaler: None,
    }; // bf16 needs none
    let (mut log, start) = (TrainLog::default(), Instant::now());
    for step in 1..=s.steps {
        let loss = t.train_step_mixed(&data.train, s.batch, &mut mp).loss;
        log.losses.push(loss);
        if step % cfg.eval_every == 0 || step == s.steps {
            log.heldout
                .push((step, heldout_loss(&mut t.model, &data.heldout, s.context)));
        }
    }
    (log, start.elapsed().as_secs_f64()) // with the evaluations, as Chapter 9's train
}
// ANCHOR_END: recipe

/// Chapter 9's first recipe, exactly as Chapter 9 ran it (its `train`, its seeds).
pub fn train_chapter9(data: &BookTokens, cfg: &TrainConfig) -> (TrainLog, f64) {
    let mut model =
        Llama::new(cfg.llama(data.vocab_size), &mut seeded_rng(cfg.seed)).expect("valid");
    model.set_mode(&mut Mode::Eval);
    let mut rng = seeded_rng(cfg.seed.wrapping_add(1));
    let start = Instant::now();
    let log = train(
        &mut model,
        &data.train,
        &data.heldout,
        &cfg.schedule,
        cfg.eval_every,
        &mut rng,
        |_, _| {},
    );
    (log, start.elapsed().as_secs_f64()) // evaluations included
}

/// The files a run writes.
pub const FILES: [&str; 2] = ["recipe.svg", "recipe.txt"];

/// Both runs, the figure and the report; returns the logs (Chapter 9's, the chapter's)
/// and the report.
pub fn recipe_experiment(
    out: &Path,
    data: &BookTokens,
    cfg: &TrainConfig,
    recipe: &Recipe,
) -> Result<(TrainLog, TrainLog, String), Box<dyn Error>> {
    let (old, old_s) = train_chapter9(data, cfg);
    let (new, new_s) = train_recipe(data, cfg, recipe);
    std::fs::create_dir_all(out)?;
    let files: Vec<PathBuf> = FILES.iter().map(|f| out.join(f)).collect();
    write_chart(&files[0], &old, &new, cfg)?;
    let s = &cfg.schedule;
    let lc = cfg.llama(data.vocab_size);
    let params = Llama::new(lc.clone(), &mut seeded_rng(cfg.seed))?.num_params();
    let tokens = s.steps * s.batch * s.context;
    let mut r = String::new();
    writeln!(
        r,
        "model: Chapter 9's Llama (C = {}, {} layers, {} heads, {} K/V heads, SwiGLU {}, vocab {}, \
         {params} parameters), the same initialisation (seed {}) in both runs",
        lc.d_model,
        lc.n_layers,
        lc.n_heads,
        lc.n_kv_heads,
        lc.d_ff,
        data.vocab_size,
        cfg.seed
    )?;
    writeln!(
        r,
        "budget (both): {} steps of {} windows of {} tokens = {tokens} tokens, peak lr {}, warm-up {} \
         steps, clip {}",
        s.steps, s.batch, s.context, s.peak_lr, s.warmup, s.clip
    )?;
    writeln!(
        r,
        "Chapter 9: Adam (0.9, 0.95, 1e-8), no weight decay, linear decay to 0, f32, random windows \
         (Chapter 9's train)"
    )?;
    writeln!(
        r,
        "this chapter: AdamW (0.9, 0.95, 1e-8) with decoupled decay {} on the decays group, cosine to \
         {} x peak, {:?} with f32 master weights, shuffled windows (the chapter's Batches)",
        recipe.weight_decay, recipe.floor, recipe.precision
    )?;
    writeln!(r, "\nstep | Chapter 9 held-out | this chapter held-out")?;
    for (&(step, a), &(_, b)) in old.heldout.iter().zip(&new.heldout) {
        writeln!(r, "{step:>4} | {:>18} | {:>21}", round(a, 3), round(b, 3))?;
    }
    let (a, b) = (
        old.heldout.last().expect("evaluated").1,
        new.heldout.last().expect("evaluated").1,
    );
    writeln!(
        r,
        "\nfinal held-out: Chapter 9 {} nats (perplexity {}), this chapter {} nats (perplexity {}); \
         difference {} nats",
        round(a, 3),
        round(a.exp(), 1),
        round(b, 3),
        round(b.exp(), 1),
        round(b - a, 3)
    )?;
    writeln!(
        r,
        "time (training and evaluations): Chapter 9 {old_s:.1} s, this chapter {new_s:.1} s \
         (bf16 is emulated: rounding costs time on a CPU), {} threads",
        rayon::current_num_threads()
    )?;
    std::fs::write(&files[1], &r)?;
    Ok((old, new, r))
}

fn write_chart(
    path: &Path,
    old: &TrainLog,
    new: &TrainLog,
    cfg: &TrainConfig,
) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "Chapter 9's Llama: its first recipe and this chapter's, same tokens",
        "step",
        "cross-entropy (nats)",
    );
    const W: usize = 25;
    let smooth = |log: &TrainLog| -> Vec<(f64, f64)> {
        (log.losses.chunks(W).enumerate())
            .map(|(i, c)| {
                (
                    (i * W) as f64 + (c.len() as f64 + 1.0) / 2.0,
                    f64::from(c.iter().sum::<f32>() / c.len() as f32),
                )
            })
            .collect()
    };
    let held = |log: &TrainLog| {
        log.heldout
            .iter()
            .map(|&(s, l)| (s as f64, f64::from(l)))
            .collect()
    };
    chart.series.push(Series::new(
        format!("Chapter 9, train (mean of {W} steps)"),
        smooth(old),
    ));
    chart
        .series
        .push(Series::new("Chapter 9, held-out", held(old)));
    chart.series.push(Series::new(
        format!("this chapter, train (mean of {W} steps)"),
        smooth(new),
    ));
    chart
        .series
        .push(Series::new("this chapter, held-out", held(new)));
    chart
        .markers
        .push((cfg.schedule.warmup as f64, "end of warm-up".into()));
    write_line_chart(path, &chart)
}
