//! SmolLM2-135M-Instruct labels the sentiment of Chapter 8's held-out sentences with 0,
//! 1, 3 and 5 shots, in plain text and in the chat template, by scoring the labels and
//! by generating; writes the table, the figure and one literal prompt of each format.
//!
//! cargo run --release -p ch09-decoder-only --example few_shot -- --out src/figures/ch09
//!
//! Everything it writes is deterministic; the wall time goes to stderr only.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use ch09_decoder_only::few_shot::{
    DRAWS, FewShot, Format, N_TEST, SEED, SHOTS, Task, evaluate, prompt, report,
    write_figure,
};
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use clap::Parser;

#[derive(Parser)]
#[command(about = "Zero- and few-shot sentiment accuracy of SmolLM2-135M-Instruct")]
struct Args {
    /// Where few-shot.txt, few-shot.svg and the example prompts go.
    #[arg(long, default_value = "src/figures/ch09")]
    out: PathBuf,
    /// A GGUF file instead of the models cache's SmolLM2-135M-Instruct.
    #[arg(long)]
    model: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let path = models::SMOLLM2_135M_INSTRUCT.file_or(models::SMOLLM2_GGUF, args.model)?;
    let g = Gguf::open(&path)?;
    let (tok, model) = (GgufTokenizer::from_gguf(&g)?, Llama::from_gguf(&g)?);
    let fs = FewShot::new(&model, &tok);
    let task = Task::new(N_TEST, DRAWS, SEED);
    let start = Instant::now();
    let mut rows = Vec::new();
    for format in [Format::Raw, Format::Chat] {
        rows.extend(evaluate(&fs, &task, format, &SHOTS));
        eprintln!("{}: {:.1} s", format.name(), start.elapsed().as_secs_f64());
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let text = report(&task, &rows);
    print!("{text}");
    std::fs::write(args.out.join("few-shot.txt"), &text)?;
    write_figure(&args.out.join("few-shot.svg"), &task, &rows)
        .map_err(|e| anyhow!("few-shot.svg: {e}"))?;
    for format in [Format::Raw, Format::Chat] {
        let example = prompt(format, &task.shot_sets[0][..3], &task.test[0].text);
        let file = format!("few-shot-prompt-{}.txt", format.name());
        std::fs::write(args.out.join(file), example + "\n")?;
    }
    eprintln!("wall time: {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
