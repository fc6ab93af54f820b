//! The KV cache's speed-up on SmolLM2-135M-Instruct, and the memory it costs:
//! `cargo run --release -p ch12-inference --example kv_speedup`
//!
//! For a context of n tokens (the first n of the book's frozen Chapter 1 text, as the
//! GGUF's tokenizer encodes it), the time to get the next token's logits two ways:
//! with the cache (n tokens already cached; one token through `hidden_cached`) and
//! without it (all n + 1 tokens through `hidden`, the prefix recomputed). Best of
//! --repeat runs after one warm-up, in a rayon pool of --threads threads. The cache's
//! memory is computed from the config and read from the cache's buffers, and the
//! cached logits are compared with the uncached ones over 128 greedy steps. Writes
//! src/figures/ch12/kv-speedup.txt.
use ch01_foundations::linalg::load_average;
use std::path::Path;

use anyhow::{Context, Result};
use ch01_foundations::linalg::{best_of, in_pool};
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::llama_model::kv_bytes_per_token;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ch12_inference::kv_cache::smollm2_cache_parity;
use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Context lengths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "64,256,512")]
    lengths: Vec<usize>,
    #[arg(long, default_value = "src/figures/ch12/kv-speedup.txt")]
    out: String,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let path = models::SMOLLM2_135M_INSTRUCT.file_or(models::SMOLLM2_GGUF, None)?;
    let g = Gguf::open(&path)?;
    let tok = GgufTokenizer::from_gguf(&g)?;
    let model = Llama::from_gguf(&g)?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text_path = root.join("listings/ch02-input/data/book-ch01.md");
    let text = std::fs::read_to_string(&text_path)
        .with_context(|| format!("reading {}", text_path.display()))?;
    let ids = tok.encode(&text);
    let longest = args.lengths.iter().max().copied().unwrap_or(0);
    anyhow::ensure!(ids.len() > longest, "the text has {} tokens", ids.len());
    let cfg = &model.cfg;
    let per_token = kv_bytes_per_token(cfg.n_layers, cfg.n_kv_heads, cfg.d_head(), 4);
    let mut out = format!(
        "SmolLM2-135M-Instruct, f32 weights, {} threads, best of {} after a warm-up\n\
         next-token time with the KV cache (n tokens cached, 1 new) against recomputing all n + 1\n\
         load average at the start: {}\n\n\
         n | cached ms | recompute ms | speed-up | cache MiB (computed) | cache MiB (buffers)\n",
        args.threads,
        args.repeat,
        load_average()
    );
    for &n in &args.lengths {
        let (context, next) = (&ids[..n], ids[n]);
        let mut cache = model.new_cache();
        in_pool(args.threads, || model.hidden_cached(context, &mut cache));
        let (cached, _) = in_pool(args.threads, || {
            best_of(1, args.repeat, || {
                let mut c = cache.clone(); // the step appends; each run starts from n
                model.next_logits(&model.hidden_cached(&[next], &mut c))
            })
        });
        let (recompute, _) = in_pool(args.threads, || {
            best_of(1, args.repeat, || {
                model.next_logits(&model.hidden(&ids[..=n]))
            })
        });
        let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
        out += &format!(
            "{n} | {:.2} | {:.1} | {:.1} | {:.3} | {:.3}\n",
            cached * 1e3,
            recompute * 1e3,
            recompute / cached,
            mib(n * per_token),
            mib(cache.bytes())
        );
    }
    let prompt = tok.encode("The capital of France is");
    let (abs, rel) = in_pool(args.threads, || smollm2_cache_parity(&model, &prompt, 128));
    out += &format!(
        "\nparity, \"The capital of France is\" then 128 greedy steps, cached against uncached: worst |dlogit| {abs:.2e}, relative to the row's max |logit| {rel:.2e}\n"
    );
    out += &format!(
        "\nbytes per token: 2 x {} layers x {} KV heads x {} d_head x 4 bytes = {per_token}\n",
        cfg.n_layers,
        cfg.n_kv_heads,
        cfg.d_head()
    );
    let mha = kv_bytes_per_token(cfg.n_layers, cfg.n_heads, cfg.d_head(), 4);
    out += &format!("with MHA ({} KV heads) it would be {mha}\n", cfg.n_heads);
    print!("{out}");
    std::fs::write(root.join(&args.out), &out)?;
    Ok(())
}
