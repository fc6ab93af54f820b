//! SmolLM2-135M-Instruct continues a prompt read from stdin, streaming to stdout.
//!
//! cargo run --release -p ch09-decoder-only --example generate -- \
//!     [--raw] [--greedy] [--max-new-tokens N] [--ids] [--temperature T] [--seed S] [--model FILE]
//!
//! The prompt is stdin without its final newline. Without `--raw` it is wrapped in the
//! model's chat template as one user turn; with `--raw` it is encoded as plain text.
//! `--ids` prints the generated ids (not the prompt's) on one line instead of text.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use ch09_decoder_only::generate::{Options, generate, prompt_ids};
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use clap::Parser;

#[derive(Parser)]
#[command(about = "SmolLM2-135M-Instruct continues the prompt on stdin")]
struct Args {
    /// Encode the prompt as plain text, with no chat template.
    #[arg(long)]
    raw: bool,
    /// Always take the most likely next token.
    #[arg(long)]
    greedy: bool,
    #[arg(long, default_value_t = 128)]
    max_new_tokens: usize,
    /// Print the generated token ids instead of text.
    #[arg(long)]
    ids: bool,
    /// Sampling temperature (0 is greedy).
    #[arg(long, default_value_t = 1.0)]
    temperature: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A GGUF file instead of the models cache's SmolLM2-135M-Instruct.
    #[arg(long)]
    model: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let path = models::SMOLLM2_135M_INSTRUCT.file_or(models::SMOLLM2_GGUF, args.model)?;
    let g = Gguf::open(&path)?;
    let tok = GgufTokenizer::from_gguf(&g)?;
    let model = Llama::from_gguf(&g)?;
    anyhow::ensure!(
        tok.n_tokens() <= model.cfg.vocab,
        "{}: the tokenizer has {} tokens, the model's embedding {}",
        path.display(),
        tok.n_tokens(),
        model.cfg.vocab
    );
    let eos = g.uint("tokenizer.ggml.eos_token_id").ok().map(|e| e as u32);
    let mut prompt = String::new();
    std::io::stdin()
        .read_to_string(&mut prompt)
        .context("reading the prompt from stdin")?;
    let prompt = prompt.strip_suffix('\n').unwrap_or(&prompt);
    let prompt = prompt.strip_suffix('\r').unwrap_or(prompt);
    let opts = Options {
        raw: args.raw,
        greedy: args.greedy,
        max_new_tokens: args.max_new_tokens,
        ids: args.ids,
        temperature: args.temperature,
        seed: args.seed,
    };
    let ids = prompt_ids(&tok, prompt, opts.raw);
    generate(
        &model,
        &tok,
        &ids,
        &opts,
        eos,
        &mut std::io::stdout().lock(),
    )?;
    Ok(())
}
