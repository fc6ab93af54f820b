//! Where generation spends its time, measured: this machine's memory bandwidth (STREAM's
//! copy / scale / add / triad), its matmul peak (Chapter 1's measurement), SmolLM2's
//! prefill and decode speed, and the roofline they sit on:
//! `cargo run --release -p ch12-inference --example stream_bandwidth`
//!
//! Writes src/figures/ch12/roofline.txt and src/figures/ch12/roofline.svg.
use ch01_foundations::linalg::load_average;
use std::path::Path;

use anyhow::{Context, Result};
use ch01_foundations::linalg::{
    best_of, fma_peak_gflops, in_pool, matmul_flops, measure_gflops, par_matmul_into,
};
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ch12_inference::roofline::{
    attainable, decode_tokens_per_s_bound, decode_weight_bytes, forward_flops_bytes,
    intensity_table, stream,
};
use clap::Parser;
use ndarray::Array2;
use rayon::prelude::*;

#[derive(Parser)]
struct Args {
    /// Elements of each STREAM array (f32): far larger than the caches.
    #[arg(long, default_value_t = 1 << 25)]
    n: usize,
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    #[arg(long, default_value_t = 256)]
    prompt_tokens: usize,
    #[arg(long, default_value_t = 32)]
    new_tokens: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = format!("load average at the start: {}\n", load_average());
    out += &format!(
        "STREAM arrays: 3 x {} f32 ({} MiB each), best of {}\n",
        args.n,
        (args.n * 4) >> 20,
        args.repeat
    );
    let mut triad = Vec::new();
    let mut results = Vec::new();
    for threads in [1, 2] {
        let (gbs, arrays) = in_pool(threads, || stream(args.n, args.repeat));
        out += &format!(
            "threads {threads}: copy {:.1} GB/s, scale {:.1} GB/s, add {:.1} GB/s, triad {:.1} GB/s\n",
            gbs[0], gbs[1], gbs[2], gbs[3]
        );
        triad.push(gbs[3]);
        results.push(arrays);
    }
    anyhow::ensure!(
        results[0] == results[1],
        "STREAM results differ between 1 and 2 threads"
    );
    out += "stream results identical at 1 and 2 threads: true\n";
    let n = 512;
    let (a, b) = (
        Array2::from_elem((n, n), 1.0f32),
        Array2::from_elem((n, n), 0.5f32),
    );
    let mut c = Array2::zeros((n, n));
    let mut peak = Vec::new();
    for threads in [1, 2] {
        // The roof: Chapter 1's FMA peak, on every core of the pool at once.
        let per_core = in_pool(threads, || {
            (0..threads)
                .into_par_iter()
                .map(|_| fma_peak_gflops().map_or(0.0, |(g, _)| g))
                .collect::<Vec<f64>>()
        });
        let p: f64 = per_core.iter().sum();
        let g = in_pool(threads, || {
            measure_gflops(matmul_flops(n, n, n), 5, || {
                par_matmul_into(1.0, a.view(), b.view(), 0.0, c.view_mut())
            })
        });
        out += &format!(
            "threads {threads}: FMA peak {p:.1} GFLOP/s, matmul {n}x{n} {g:.1} GFLOP/s\n"
        );
        peak.push(p);
    }
    let path = models::SMOLLM2_135M_INSTRUCT.file_or(models::SMOLLM2_GGUF, None)?;
    let g = Gguf::open(&path)?;
    let tok = GgufTokenizer::from_gguf(&g)?;
    let model = Llama::from_gguf(&g)?;
    let text_path = root.join("listings/ch02-input/data/book-ch01.md");
    let text = std::fs::read_to_string(&text_path)
        .with_context(|| format!("reading {}", text_path.display()))?;
    let ids = tok.encode(&text);
    let (t, steps) = (args.prompt_tokens, args.new_tokens);
    anyhow::ensure!(ids.len() > t + steps, "the text is too short");
    let prefill = || model.next_logits(&model.hidden(&ids[..t])); // the first new token's logits
    let (prefill_s, _) = in_pool(2, || best_of(1, 3, prefill));
    let mut cache = model.new_cache();
    in_pool(2, || model.hidden_cached(&ids[..t], &mut cache));
    let (decode_s, _) = in_pool(2, || {
        best_of(1, 3, || {
            cache.truncate(t); // each run decodes the same steps after the prompt
            for &id in &ids[t..t + steps] {
                model.next_logits(&model.hidden_cached(&[id], &mut cache));
            }
        })
    });
    let cfg = &model.cfg;
    let weights = decode_weight_bytes(cfg);
    let (decode_tps, prefill_tps) = (steps as f64 / decode_s, t as f64 / prefill_s);
    let (df, db) = forward_flops_bytes(cfg, 1);
    let (pf, pb) = forward_flops_bytes(cfg, t);
    let (di, pi) = (df / db, pf / pb);
    let (d_gf, p_gf) = (df * decode_tps / 1e9, pf / prefill_s / 1e9);
    let bound = decode_tokens_per_s_bound(triad[1], weights);
    out += &format!("f32 weight bytes read per decoding step: {weights}\n");
    out += &format!(
        "decode: {decode_tps:.1} tokens/s, intensity {di:.3} FLOP/byte, {d_gf:.1} GFLOP/s (2 threads, {steps} steps after {t} cached)\n"
    );
    out += &format!(
        "prefill: {prefill_tps:.1} tokens/s, intensity {pi:.1} FLOP/byte, {p_gf:.1} GFLOP/s (2 threads, {t} tokens)\n"
    );
    out += &format!("decode bound at triad bandwidth (2 threads): {bound:.1} tokens/s\n");
    out += &format!(
        "decode roof at its intensity: {:.1} GFLOP/s\n",
        attainable(di, peak[1], triad[1])
    );
    out += &format!(
        "ridge point (FMA peak / triad bandwidth, 2 threads): {:.1} FLOP/byte\n",
        peak[1] / triad[1]
    );
    out += &format!(
        "\nintensity of SmolLM2's linear layers (f32):\n{}",
        intensity_table(cfg, t)
    );
    print!("{out}");
    std::fs::write(root.join("src/figures/ch12/roofline.txt"), &out)?;

    // In log-log axes the roof is two straight lines that meet at the ridge P / B:
    // its two ends and the ridge draw it exactly.
    let ridge = peak[1] / triad[1];
    let roof: Vec<(f64, f64)> = [0.01, ridge, 1000.0]
        .iter()
        .map(|&i| (f64::log10(i), attainable(i, peak[1], triad[1]).log10()))
        .collect();
    let mut chart = LineChart::new(
        "SmolLM2-135M on this machine's roofline (2 threads, log10 axes)",
        "log10 arithmetic intensity (FLOP/byte)",
        "log10 GFLOP/s",
    );
    chart.series.push(Series::new(
        "roof: min(peak, intensity x triad bandwidth)",
        roof,
    ));
    chart.series.push(Series::new(
        "decode (measured)",
        vec![(di.log10(), d_gf.log10())],
    ));
    chart.series.push(Series::new(
        "prefill (measured)",
        vec![(pi.log10(), p_gf.log10())],
    ));
    chart.points = true;
    chart
        .markers
        .push((ridge.log10(), format!("ridge: {ridge:.1} FLOP/byte")));
    write_line_chart(&root.join("src/figures/ch12/roofline.svg"), &chart)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
