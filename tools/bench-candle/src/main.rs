//! candle's quantized Llama (`candle_transformers::models::quantized_llama`) on a GGUF
//! file, timed as Chapter 9's `smollm2_bench` times the book's model:
//!
//!     RAYON_NUM_THREADS=2 target/release/bench-candle MODEL.gguf IDS NEW_TOKENS REPEAT
//!
//! IDS are the prompt's token ids, comma-separated (the ids the book's tokenizer gave, so
//! that no tokenizer is timed or compared). One run: an empty KV cache; prefill = the
//! whole prompt through the model and the arg max of the last position's logits (the
//! time to the first token); decode = NEW_TOKENS steps of one token each with the cache
//! (greedy, never stopping early). The best of REPEAT runs after one warm-up run. candle
//! sizes its CPU thread pool from RAYON_NUM_THREADS. Prints one line of JSON.
use std::time::Instant;

use anyhow::{Context, Result, bail};
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;

fn argmax(logits: &Tensor) -> Result<u32> {
    // logits: [1, vocab] -> the arg max of the one row
    Ok(logits.squeeze(0)?.argmax(0)?.to_scalar::<u32>()?)
}

/// (prefill seconds, decode seconds, the new ids).
fn run(
    model: &mut ModelWeights,
    prompt: &[u32],
    new_tokens: usize,
) -> Result<(f64, f64, Vec<u32>)> {
    let dev = Device::Cpu;
    model.clear_kv_cache();
    let start = Instant::now();
    let x = Tensor::new(prompt, &dev)?.unsqueeze(0)?;
    let mut next = argmax(&model.forward(&x, 0)?)?;
    let prefill = start.elapsed().as_secs_f64();
    let mut new = vec![next];
    let start = Instant::now();
    for i in 0..new_tokens {
        let x = Tensor::new(&[next], &dev)?.unsqueeze(0)?;
        next = argmax(&model.forward(&x, prompt.len() + i)?)?;
        new.push(next);
    }
    Ok((prefill, start.elapsed().as_secs_f64(), new))
}

/// The peak resident set of this process (VmHWM), in MiB.
fn peak_mib() -> Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .context("VmHWM without a value")?
        .parse()?;
    Ok(kib / 1024.0)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        bail!(
            "usage: bench-candle MODEL.gguf IDS NEW_TOKENS REPEAT (IDS comma-separated)"
        );
    }
    let prompt: Vec<u32> = args[2]
        .split(',')
        .map(|s| {
            s.parse()
                .with_context(|| format!("prompt id {s:?} is not a u32"))
        })
        .collect::<Result<_>>()?;
    let new_tokens: usize = args[3].parse().context("NEW_TOKENS")?;
    let repeat: usize = args[4].parse().context("REPEAT")?;
    let start = Instant::now();
    let mut file =
        std::fs::File::open(&args[1]).with_context(|| format!("opening {}", args[1]))?;
    let content = gguf_file::Content::read(&mut file)
        .with_context(|| format!("reading {}", args[1]))?;
    let mut model = ModelWeights::from_gguf(content, &mut file, &Device::Cpu)?;
    let load = start.elapsed().as_secs_f64();
    run(&mut model, &prompt, new_tokens)?; // warm-up
    let (mut prefill, mut decode, mut new) = (f64::INFINITY, f64::INFINITY, vec![]);
    for _ in 0..repeat {
        let (p, d, ids) = run(&mut model, &prompt, new_tokens)?;
        prefill = prefill.min(p);
        decode = decode.min(d);
        new = ids;
    }
    println!(
        "{}",
        serde_json::json!({
            "prefill_ms": prefill * 1e3, "decode_ms": decode * 1e3, "load_s": load,
            "peak_mib": peak_mib()?, "new": new,
            "threads": candle_core::utils::get_num_threads(),
            "candle": "0.11.1",
        })
    );
    Ok(())
}
