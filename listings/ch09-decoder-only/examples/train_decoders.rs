//! Trains GPT-2 and Llama of about the same size on the book's own frozen text
//! (Chapters 1 to 7, Chapter 2's BPE) with the same batches, compares their held-out
//! loss, samples from both, tests in-context copying, and writes the loss figure and
//! the report the text quotes. Then it saves both models as safetensors checkpoints,
//! loads them back, and checks that the reloaded models give the same logits.
//!
//! ```sh
//! cargo run --release -p ch09-decoder-only --example train_decoders            # src/figures/ch09
//! cargo run --release -p ch09-decoder-only --example train_decoders -- --out DIR --steps 300
//! ```
//!
//! `--out` (default `src/figures/ch09`) receives `train-loss.svg` and `train-run.txt`
//! (`ch09_decoder_only::train_run`); `--checkpoints` (default `target/ch09-checkpoints`)
//! receives `gpt2.safetensors` and `llama.safetensors`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ch09_decoder_only::checkpoint::{
    gpt2_metadata, llama_metadata, load_gpt2, load_llama, save,
};
use ch09_decoder_only::train_run::{TrainConfig, train_and_report};
use ch09_decoder_only::training::LanguageModel;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(about = "Train GPT-2 and Llama on the book's own text and compare them")]
struct Cli {
    /// Folder for train-loss.svg and train-run.txt [default: src/figures/ch09]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder for the two checkpoints [default: target/ch09-checkpoints]
    #[arg(long)]
    checkpoints: Option<PathBuf>,
    /// Training steps (each model).
    #[arg(long, default_value_t = TrainConfig::full().schedule.steps)]
    steps: usize,
    /// Seeds the initial weights, the batches and the samples.
    #[arg(long, default_value_t = TrainConfig::full().seed)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = cli.out.unwrap_or_else(|| root.join("src/figures/ch09"));
    let mut cfg = TrainConfig {
        seed: cli.seed,
        ..TrainConfig::full()
    };
    cfg.schedule.steps = cli.steps;
    if cli.steps != TrainConfig::full().schedule.steps {
        cfg.eval_every = (cli.steps / 10).max(1);
    }
    let tokens_per_step = (cfg.schedule.batch * cfg.schedule.context) as f64;

    // One bar a model: loss (a moving average) and training tokens per second.
    let style = ProgressStyle::with_template(
        "{prefix:>5} {elapsed_precise} [{bar:30}] {pos}/{len} {msg}",
    )?;
    let mut bar: Option<(ProgressBar, Instant, f32)> = None;
    let run = train_and_report(&out, &cfg, |name, step, loss| {
        if step == 1 {
            let b = ProgressBar::new(cfg.schedule.steps as u64);
            b.set_style(style.clone());
            b.set_prefix(name.to_owned());
            bar = Some((b, Instant::now(), loss));
        }
        let (b, start, avg) = bar.as_mut().expect("step 1 came first");
        *avg = 0.95 * *avg + 0.05 * loss;
        let per_s = step as f64 * tokens_per_step / start.elapsed().as_secs_f64();
        b.set_message(format!("loss {avg:.3}  {per_s:.0} tok/s"));
        b.inc(1);
        if step == cfg.schedule.steps {
            b.finish();
        }
    })
    .map_err(|e| anyhow::anyhow!("training into {}: {e}", out.display()))?;
    print!("{}", run.report);

    // Save both models, load them back, and check the logits are the same bits.
    let dir = (cli.checkpoints).unwrap_or_else(|| root.join("target/ch09-checkpoints"));
    std::fs::create_dir_all(&dir)?;
    let (g_path, l_path) = (dir.join("gpt2.safetensors"), dir.join("llama.safetensors"));
    let (mut gpt2, mut llama) = (run.gpt2, run.llama);
    save(&g_path, &gpt2, gpt2_metadata(&gpt2.cfg))?;
    save(&l_path, &llama, llama_metadata(&llama.cfg))?;
    let mut gpt2_back = load_gpt2(&std::fs::read(&g_path)?, &g_path)?;
    let mut llama_back = load_llama(&std::fs::read(&l_path)?, &l_path)?;
    let probe = &run.data.heldout[..cfg.schedule.context];
    anyhow::ensure!(
        gpt2.logits(probe) == gpt2_back.logits(probe),
        "GPT-2 reload differs"
    );
    anyhow::ensure!(
        llama.logits(probe) == llama_back.logits(probe),
        "Llama reload differs"
    );
    println!(
        "\ncheckpoints: {} and {} saved, loaded back, same logits",
        g_path.display(),
        l_path.display()
    );
    Ok(())
}
