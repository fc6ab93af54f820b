//! A run interrupted, saved, loaded and resumed ends where an uninterrupted run ends, bit
//! for bit, at 1 and at 2 threads: Chapter 9's Llama on the book's text, at a small
//! budget, with the chapter's trainer and `ch11_training::checkpoint`.
//!
//! ```sh
//! cargo run --release -p ch11-training --example resume        # src/figures/ch11/resume.txt
//! cargo run --release -p ch11-training --example resume -- --steps 40 --dir target/ch11-resume --out /tmp
//! ```

use std::path::{Path, PathBuf};

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch09_decoder_only::llama_model::Llama;
use ch09_decoder_only::train_run::{TrainConfig, book_tokens};
use ch11_training::checkpoint::{load_trainer, save_trainer};
use ch11_training::optim::{AdamW, WeightDecay};
use ch11_training::schedule::Schedule;
use ch11_training::trainer::{Batches, Trainer};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "Interrupt, save, load and resume a run; compare with an uninterrupted one"
)]
struct Cli {
    /// Updates in all; the interrupted run saves after half of them.
    #[arg(long, default_value_t = 40)]
    steps: usize,
    /// Windows per batch.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Folder for resume.txt, the comparison the text quotes.
    #[arg(long, default_value = "src/figures/ch11")]
    out: PathBuf,
    /// Folder for the checkpoints.
    #[arg(long, default_value = "target/ch11-resume")]
    dir: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let cfg = TrainConfig::full();
    let data = book_tokens(&cfg)?;
    let model_cfg = cfg.llama(data.vocab_size);
    let s = &data.train;
    let fresh = || Trainer {
        model: Llama::new(model_cfg.clone(), &mut seeded_rng(cfg.seed)).expect("valid"),
        opt: AdamW::with_betas(0.9, 0.95, 1e-8, WeightDecay::Decoupled(0.1)),
        schedule: Schedule::WarmupCosine {
            warmup: cli.steps / 4,
            total: cli.steps,
            floor: 0.1,
        },
        peak_lr: cfg.schedule.peak_lr,
        clip: Some(cfg.schedule.clip),
        step: 0,
        batches: Batches::new(s.len(), cfg.schedule.context, cfg.seed),
    };
    let run = |tr: &mut Trainer<Llama, AdamW>, n: usize| {
        (0..n).map(|_| tr.train_step(s, cli.batch).loss).last()
    };
    let straight = || {
        let mut tr = fresh();
        let loss = run(&mut tr, cli.steps);
        (bits(&tr.model), loss)
    };
    let resumed = |dir: &Path| -> Result<_, String> {
        let mut tr = fresh();
        run(&mut tr, cli.steps / 2);
        save_trainer(dir, &tr, s.len()).map_err(|e| e.to_string())?;
        drop(tr);
        let mut tr = load_trainer(dir, &model_cfg, s.len()).map_err(|e| e.to_string())?;
        let loss = run(&mut tr, cli.steps - cli.steps / 2);
        Ok((bits(&tr.model), loss))
    };
    let mut report = format!(
        "Llama on the book: {} parameters, {} updates of {} x {} tokens, saved after {}",
        fresh().model.num_params(),
        cli.steps,
        cli.batch,
        cfg.schedule.context,
        cli.steps / 2
    );
    report.push('\n');
    let mut results = Vec::new();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let a = pool.install(straight);
        let dir = cli.dir.join(format!("threads-{threads}"));
        let b = pool.install(|| resumed(&dir))?;
        results.push((format!("{threads} thread(s), uninterrupted"), a));
        results.push((format!("{threads} thread(s), resumed"), b));
    }
    let reference = &results[0].1.0;
    for (label, (bits, loss)) in &results {
        let differ = bits.iter().zip(reference).filter(|(x, y)| x != y).count();
        report += &format!(
            "{label:32} last loss {:.6}  parameters differing from the first run: {differ} of {}\n",
            loss.unwrap_or(f32::NAN),
            bits.len()
        );
    }
    print!("{report}");
    std::fs::create_dir_all(&cli.out)?;
    std::fs::write(cli.out.join("resume.txt"), report)?;
    Ok(())
}

fn bits(m: &dyn Module) -> Vec<u32> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.extend(p.value.iter().map(|x| x.to_bits())));
    out
}
