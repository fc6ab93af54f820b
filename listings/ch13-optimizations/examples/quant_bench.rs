//! SmolLM2-135M-Instruct's decode speed with its matrices in one weight format:
//! `cargo run --release -p ch13-optimizations --example quant_bench -- --format file --threads 2`
//!
//! Chapter 9's benchmark (`smollm2_bench`) with the model loaded by
//! `ch13_optimizations::smollm2_formats::load`: `--format f32` is Chapter 9's dequantized
//! path, `file` the GGUF's own blocks (Q4_1 layers and a Q8_0 embedding in the models
//! cache's file; Q8_0 everywhere in the file bench_ch13.py makes with llama.cpp) through
//! the chapter's integer kernels, `q8_0` and `int8` requantized here. The prompt is the
//! first --prompt-tokens ids of the book's frozen Chapter 1 text; the best of --repeat
//! runs after a warm-up, in a rayon pool of --threads. `--bandwidth` adds the STREAM
//! triad's GB/s (Chapter 12) on the same threads, after the runs. Prints one line of
//! `key=value` fields for tools/golden/bench_ch13.py.
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use ch01_foundations::linalg::in_pool;
use ch09_decoder_only::bench::{book_prompt, peak_rss_mib, timed_greedy};
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ch12_inference::roofline::stream;
use ch13_optimizations::smollm2_formats::{Format, load};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// f32, file, q8_0 or int8.
    #[arg(long, default_value = "file")]
    format: String,
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    #[arg(long, default_value_t = 256)]
    prompt_tokens: usize,
    #[arg(long, default_value_t = 128)]
    new_tokens: usize,
    #[arg(long)]
    bandwidth: bool,
    /// A GGUF file instead of the models cache's SmolLM2-135M-Instruct.
    #[arg(long)]
    model: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let format = match args.format.as_str() {
        "f32" => Format::F32,
        "file" => Format::File,
        "q8_0" => Format::Q8_0,
        "int8" => Format::Int8,
        f => bail!("--format {f}: expected f32, file, q8_0 or int8"),
    };
    let path = models::SMOLLM2_135M_INSTRUCT.file_or(models::SMOLLM2_GGUF, args.model)?;
    let start = Instant::now();
    let g = Gguf::open(&path)?;
    let tok = GgufTokenizer::from_gguf(&g)?;
    let model = load(&g, format)?;
    drop(g);
    let load_s = start.elapsed().as_secs_f64();
    let prompt = book_prompt(&tok, args.prompt_tokens)?;
    let (mut prefill, mut decode, mut new) = (f64::INFINITY, f64::INFINITY, vec![]);
    in_pool(args.threads, || {
        timed_greedy(&model, &prompt, args.new_tokens); // warm-up
        for _ in 0..args.repeat {
            let (p, d, ids) = timed_greedy(&model, &prompt, args.new_tokens);
            (prefill, decode, new) = (prefill.min(p), decode.min(d), ids);
        }
    });
    let peak = peak_rss_mib()?;
    let bw = match args.bandwidth {
        true => in_pool(args.threads, || stream(1 << 26, 5).0[3]), // triad, 3 × 256 MiB
        false => 0.0,
    };
    let join = |ids: &[u32]| ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    println!(
        "prefill_ms={:.3} decode_ms={:.3} format={} threads={} load_s={load_s:.3} \
         peak_mib={peak:.1} bw_gbs={bw:.1} weights_mib={:.1} prompt={} new={}",
        prefill * 1e3,
        decode * 1e3,
        args.format,
        args.threads,
        model.weight_bytes() as f64 / (1024.0 * 1024.0),
        join(&prompt),
        join(&new),
    );
    Ok(())
}
