//! Pretrains the chapter's T5 by span corruption on the book's own text, then
//! fine-tunes it and an unpretrained twin on `translate dates:` and `summarize:` with
//! the same batches, and writes the report and the figure the page "Text to text"
//! quotes:
//!
//! ```sh
//! cargo run --release -p ch10-encoder-decoder --example t5_experiment -- --out src/figures/ch10
//! ```
//!
//! `--out` receives `t5-experiment.txt` and `t5-experiment.svg`; `--checkpoint` (default
//! `target/ch10-checkpoints/t5-pretrained.safetensors`) the pretrained model, for
//! `ch07_transformer::checkpoint::read_params`; `--tiny` runs the tests' config instead. tests/measured.rs checks the page's sentences against the
//! committed report.

use std::path::PathBuf;
use std::time::Instant;

use ch10_encoder_decoder::text_to_text::experiment::{
    ExperimentConfig, figure, report, run,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../src/figures/ch10"
    ));
    let mut checkpoint = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/ch10-checkpoints/t5-pretrained.safetensors"
    ));
    let mut cfg = ExperimentConfig::full();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = it.next().ok_or("--out needs a folder")?.into(),
            "--checkpoint" => {
                checkpoint = it.next().ok_or("--checkpoint needs a path")?.into()
            }
            "--tiny" => cfg = ExperimentConfig::tiny(),
            other => {
                return Err(format!(
                    "unknown argument {other:?} (--out DIR, --checkpoint FILE, --tiny)"
                )
                .into());
            }
        }
    }
    let start = Instant::now();
    let outcome = run(&cfg)?;
    std::fs::create_dir_all(&out)?;
    let text = report(&outcome);
    std::fs::write(out.join("t5-experiment.txt"), &text)?;
    figure(&outcome, &out.join("t5-experiment.svg"))?;
    if let Some(dir) = checkpoint.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&checkpoint, &outcome.checkpoint)?;
    print!("{text}");
    eprintln!("pretrained checkpoint: {}", checkpoint.display());
    eprintln!("{:.0} s", start.elapsed().as_secs_f64());
    Ok(())
}
