//! SmolLM2-135M-Instruct's prefill and decode speed on f32 weights, timed:
//! `cargo run --release -p ch09-decoder-only --example smollm2_bench -- --threads 2`
//!
//! The prompt is the first --prompt-tokens ids of the book's frozen Chapter 1 text
//! (listings/ch02-input/data/book-ch01.md) as the GGUF's tokenizer encodes it. One run:
//! an empty KV cache; prefill = the whole prompt through the model and the arg max of the
//! last position's logits; decode = --new-tokens steps, each one token through the model
//! with the cache and the arg max of its logits (greedy, not stopping at the end token, so
//! every run does the same work). Each run is timed inside a rayon pool of --threads
//! threads; the best of --repeat runs is printed for each part, after one warm-up run.
//! Peak memory is the process's VmHWM (peak resident set) from /proc/self/status.
//! Prints one line of `key=value` fields; tools/golden/bench_ch09.py runs it next to
//! Hugging Face transformers and llama.cpp and writes src/figures/ch09/smollm2-speed.txt.
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use ch01_foundations::linalg::in_pool;
use ch09_decoder_only::bench::{book_prompt, peak_rss_mib, timed_greedy};
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Size of the rayon pool the model runs on.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed runs to take the best of (after one warm-up run).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    #[arg(long, default_value_t = 256)]
    prompt_tokens: usize,
    #[arg(long, default_value_t = 128)]
    new_tokens: usize,
    /// Also measure the memory bandwidth (after the runs, outside the peak memory).
    #[arg(long)]
    bandwidth: bool,
    /// A GGUF file instead of the models cache's SmolLM2-135M-Instruct.
    #[arg(long)]
    model: Option<PathBuf>,
}

/// GB/s of one pass that reads a 512 MiB array (far larger than any cache), summing it
/// in 64 KiB chunks spread over the pool's threads; the best of 5 passes.
fn bandwidth_gbs() -> f64 {
    use rayon::prelude::*;
    let data = vec![1.0f32; 128 << 20];
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        let sum: f32 = data
            .par_chunks(16 << 10)
            .map(|c| ndarray::ArrayView1::from(c).sum()) // 8 sums at once: not add-bound
            .sum();
        std::hint::black_box(sum);
        best = best.min(start.elapsed().as_secs_f64());
    }
    (data.len() * 4) as f64 / best / 1e9
}

fn main() -> Result<()> {
    let args = Args::parse();
    let path = models::SMOLLM2_135M_INSTRUCT.file_or(models::SMOLLM2_GGUF, args.model)?;
    let start = Instant::now();
    let g = Gguf::open(&path)?;
    let tok = GgufTokenizer::from_gguf(&g)?;
    let model = Llama::from_gguf(&g)?;
    drop(g);
    let load = start.elapsed().as_secs_f64();
    let prompt = book_prompt(&tok, args.prompt_tokens)?;
    let (mut prefill, mut decode, mut new) = (f64::INFINITY, f64::INFINITY, vec![]);
    let peak = peak_rss_mib()?; // before the bandwidth test's array
    let mut bw = 0.0;
    in_pool(args.threads, || {
        timed_greedy(&model, &prompt, args.new_tokens); // warm-up
        for _ in 0..args.repeat {
            let (p, d, ids) = timed_greedy(&model, &prompt, args.new_tokens);
            prefill = prefill.min(p);
            decode = decode.min(d);
            new = ids;
        }
    });
    let peak = peak.max(peak_rss_mib()?);
    if args.bandwidth {
        bw = in_pool(args.threads, bandwidth_gbs);
    }
    let join = |ids: &[u32]| ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    println!(
        "prefill_ms={:.3} decode_ms={:.3} prompt_tokens={} new_tokens={} threads={} \
         load_s={load:.3} peak_mib={peak:.1} bw_gbs={bw:.1} weights_mib={:.1} prompt={} \
         new={}",
        prefill * 1e3,
        decode * 1e3,
        prompt.len(),
        args.new_tokens,
        args.threads,
        model.cfg.f32_weight_bytes() as f64 / (1024.0 * 1024.0),
        join(&prompt),
        join(&new),
    );
    Ok(())
}
