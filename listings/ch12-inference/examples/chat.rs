//! A streaming chat with SmolLM2-135M-Instruct: one line a message, the reply printed
//! as it is generated, one KV cache across turns. Ctrl-D (end of input) quits.
//!
//! cargo run --release -p ch12-inference --example chat -- \
//!     [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R]
//!     [--frequency-penalty F] [--seed S] [--max-tokens N] [--context N]
//!     [--system TEXT] [--model FILE]
//!
//! When the conversation would outgrow `--context` tokens, the oldest turns are
//! dropped (the system prompt stays), a line on stderr says so, and the cache is
//! rebuilt from what is kept.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Result, ensure};
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ch12_inference::chat::{Chat, ChatError, DEFAULT_SYSTEM};
use ch12_inference::sampling::{Sampler, SamplerConfig};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Chat with SmolLM2-135M-Instruct; Ctrl-D quits")]
struct Args {
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.7)]
    temperature: f32,
    /// 0 turns top-k off.
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    #[arg(long, default_value_t = 0.9)]
    top_p: f32,
    #[arg(long, default_value_t = 0.05)]
    min_p: f32,
    #[arg(long, default_value_t = 1.1)]
    repetition_penalty: f32,
    #[arg(long, default_value_t = 0.0)]
    frequency_penalty: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The longest reply, in tokens.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// The most tokens the conversation and a reply may take together.
    #[arg(long, default_value_t = 2048)]
    context: usize,
    #[arg(long, default_value = DEFAULT_SYSTEM)]
    system: String,
    /// A GGUF file instead of the models cache's SmolLM2-135M-Instruct.
    #[arg(long)]
    model: Option<PathBuf>,
}

fn main() -> Result<()> {
    let a = Args::parse();
    let path = models::SMOLLM2_135M_INSTRUCT.file_or(models::SMOLLM2_GGUF, a.model)?;
    let g = Gguf::open(&path)?;
    let (tok, model) = (GgufTokenizer::from_gguf(&g)?, Llama::from_gguf(&g)?);
    ensure!(
        a.context <= model.cfg.context,
        "--context {} exceeds the model's {} positions",
        a.context,
        model.cfg.context
    );
    let mut sampler = Sampler::new(SamplerConfig {
        temperature: a.temperature,
        top_k: a.top_k,
        top_p: a.top_p,
        min_p: a.min_p,
        repetition_penalty: a.repetition_penalty,
        frequency_penalty: a.frequency_penalty,
        seed: a.seed,
    })?;
    let mut chat = Chat::new(&model, &tok, &a.system, a.context, a.max_tokens)?;
    eprintln!("SmolLM2-135M-Instruct; type a message, Ctrl-D quits.");
    let (stdin, mut out) = (std::io::stdin(), std::io::stdout());
    let mut line = String::new();
    loop {
        print!("> ");
        out.flush()?;
        line.clear();
        if stdin.lock().read_line(&mut line)? == 0 {
            println!();
            return Ok(()); // Ctrl-D
        }
        let msg = line.trim_end_matches(['\n', '\r']);
        match chat.add_user(msg, |n| eprintln!("{n}")) {
            Err(e @ ChatError::TurnTooLong { .. }) => {
                eprintln!("{e}; the message was not sent");
                continue;
            }
            r => r?,
        };
        chat.respond(&mut sampler, |s| {
            print!("{s}");
            let _ = out.flush();
        })?;
        println!();
    }
}
