//! Putting it together (section "Putting it together"): Chapter 9's Llama retrained with
//! the chapter's recipe (AdamW with decoupled decay on the `decays` group, warm-up and
//! cosine to a floor, clipping, bf16) against Chapter 9's first recipe (Adam, warm-up
//! and linear decay, clipping, f32), same model, same initialisation, same token budget,
//! on Chapter 9's batches and on the chapter's fixed-window `Batches`.
//! `tests/measured.rs` reruns a tiny config and checks the committed report.

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
use ch09_decoder_only::training::{TrainLog, heldout_loss, random_batch, train};

use crate::optim::{AdamW, WeightDecay};
use crate::precision::{MixedPrecision, Precision};
use crate::precision_run::{chapter9_trainer, llama_shape};
use crate::schedule::Schedule;

/// The chapter's recipe, beyond what it shares with Chapter 9's (peak lr, warm-up,
/// clipping, batch, steps).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipe {
    pub weight_decay: f64, // AdamW's λ, on the `decays` group only
    pub floor: f32,        // the cosine ends at floor × peak
    pub precision: Precision,
    /// Chapter 9's batches (random windows, its seed) rather than the chapter's
    /// `Batches` (the same non-overlapping windows in a new order each epoch).
    pub random_windows: bool,
}

impl Recipe {
    pub fn chapter() -> Self {
        Recipe {
            weight_decay: 0.1,
            floor: 0.1,
            precision: Precision::Bf16,
            random_windows: true,
        }
    }
}

// ANCHOR: recipe
/// Chapter 9's Llama trained with the chapter's recipe through the chapter's trainer:
/// AdamW (β = 0.9, 0.95 as GPT-3 and Llama) with decoupled decay on matrices only,
/// warm-up then a cosine to a floor, clipping, bf16 with f32 master weights.
pub fn train_recipe(data: &BookTokens, cfg: &TrainConfig, r: &Recipe) -> (TrainLog, f64) {
    let s = &cfg.schedule;
    let mut t = chapter9_trainer(data, cfg); // same model, initialisation, lr, clipping
    t.opt = AdamW::with_betas(0.9, 0.95, 1e-8, WeightDecay::Decoupled(r.weight_decay));
    t.schedule = Schedule::WarmupCosine {
        warmup: s.warmup,
        total: s.steps,
        floor: r.floor,
    };
    let scaler = None; // bf16 has f32's range: nothing underflows that f32 keeps
    let mut mp = MixedPrecision {
        precision: r.precision,
        scaler,
    };
    let mut rng = r
        .random_windows
        .then(|| seeded_rng(cfg.seed.wrapping_add(1)));
    let (mut log, start) = (TrainLog::default(), Instant::now());
    for step in 1..=s.steps {
        let loss = match rng.as_mut() {
            Some(rng) => {
                let ids = random_batch(&data.train, s.batch, s.context, rng);
                t.update_mixed(&ids, &mut mp).loss
            }
            None => t.train_step_mixed(&data.train, s.batch, &mut mp).loss,
        };
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

/// The three runs, the figure and the report; returns the logs (Chapter 9's recipe, the
/// chapter's on the same batches, the chapter's on its own `Batches`) and the report.
pub fn recipe_experiment(
    out: &Path,
    data: &BookTokens,
    cfg: &TrainConfig,
    recipe: &Recipe,
) -> Result<(Vec<TrainLog>, String), Box<dyn Error>> {
    let epochs = Recipe {
        random_windows: false,
        ..*recipe
    };
    let runs = [
        ("Chapter 9", train_chapter9(data, cfg)),
        (
            "this chapter",
            train_recipe(
                data,
                cfg,
                &Recipe {
                    random_windows: true,
                    ..*recipe
                },
            ),
        ),
        ("this chapter, epochs", train_recipe(data, cfg, &epochs)),
    ];
    std::fs::create_dir_all(out)?;
    let files: Vec<PathBuf> = FILES.iter().map(|f| out.join(f)).collect();
    write_chart(&files[0], &runs, cfg)?;
    let s = &cfg.schedule;
    let lc = cfg.llama(data.vocab_size);
    let params = Llama::new(lc.clone(), &mut seeded_rng(cfg.seed))?.num_params();
    let tokens = s.steps * s.batch * s.context;
    let mut r = String::new();
    writeln!(
        r,
        "model: Chapter 9's Llama ({}, {params} parameters), the same initialisation (seed {}) \
         in every run",
        llama_shape(&lc),
        cfg.seed
    )?;
    writeln!(
        r,
        "budget (each): {} steps of {} windows of {} tokens = {tokens} tokens ({} passes over the {} \
         training tokens), peak lr {}, warm-up {} steps, clip {}",
        s.steps,
        s.batch,
        s.context,
        round(tokens as f32 / data.train.len() as f32, 1),
        data.train.len(),
        s.peak_lr,
        s.warmup,
        s.clip
    )?;
    writeln!(
        r,
        "Chapter 9: Adam (0.9, 0.95, 1e-8), no weight decay, linear decay to 0, f32; Chapter 9's \
         train and batches (windows at random offsets)"
    )?;
    writeln!(
        r,
        "this chapter: AdamW (0.9, 0.95, 1e-8) with decoupled decay {} on the decays group, cosine to \
         {} x peak, {:?} with f32 master weights; the same batches as Chapter 9",
        recipe.weight_decay, recipe.floor, recipe.precision
    )?;
    writeln!(
        r,
        "this chapter, epochs: the same recipe on the chapter's Batches (the same non-overlapping \
         windows, reshuffled every epoch)"
    )?;
    writeln!(
        r,
        "\nstep | {}",
        runs.iter()
            .map(|(n, _)| format!("{n:>20}"))
            .collect::<Vec<_>>()
            .join(" | ")
    )?;
    writeln!(r, "(held-out loss, nats)")?;
    for (i, &(step, _)) in runs[0].1.0.heldout.iter().enumerate() {
        let cells: Vec<String> = runs
            .iter()
            .map(|(_, (l, _))| format!("{:>20}", round(l.heldout[i].1, 3)))
            .collect();
        writeln!(r, "{step:>4} | {}", cells.join(" | "))?;
    }
    writeln!(r)?;
    for (name, (log, secs)) in &runs {
        let (best_step, best) =
            log.heldout.iter().fold((0, f32::INFINITY), |b, &(st, l)| {
                if l < b.1 { (st, l) } else { b }
            });
        let last = log.heldout.last().expect("evaluated").1;
        writeln!(
            r,
            "{name}: final held-out {} nats (perplexity {}); lowest {} at step {best_step}; time {secs:.1} s \
             (training and evaluations)",
            round(last, 3),
            round(last.exp(), 1),
            round(best, 3)
        )?;
    }
    writeln!(
        r,
        "(bf16 is emulated: rounding costs time on a CPU; {} threads)",
        rayon::current_num_threads()
    )?;
    std::fs::write(&files[1], &r)?;
    let logs = runs.into_iter().map(|(_, (l, _))| l).collect();
    Ok((logs, r))
}

fn write_chart(
    path: &Path,
    runs: &[(&str, (TrainLog, f64))],
    cfg: &TrainConfig,
) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "Chapter 9's Llama: its first recipe and this chapter's, the same tokens",
        "step",
        "held-out cross-entropy (nats)",
    );
    for (name, (log, _)) in runs {
        let points = log
            .heldout
            .iter()
            .map(|&(s, l)| (s as f64, f64::from(l)))
            .collect();
        chart.series.push(Series::new(*name, points));
    }
    chart.points = true;
    chart
        .markers
        .push((cfg.schedule.warmup as f64, "end of warm-up".into()));
    write_line_chart(path, &chart)
}
