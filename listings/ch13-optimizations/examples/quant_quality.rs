//! SmolLM2-135M-Instruct's perplexity on held-out text in each weight format, and the
//! model's size in each: `cargo run --release -p ch13-optimizations --example quant_quality`
//!
//! The text is the first --tokens ids of the book's frozen Chapter 1 text (written after
//! SmolLM2 was trained), read in windows of --window tokens. "f32" is the GGUF's weights
//! dequantized: the original bf16 weights are not available offline, so every format
//! below is measured against the Q4_1 file's own values. Writes
//! src/figures/ch13/perplexity.{txt,svg}; tests/measured_quality.rs asserts what
//! quantization.md says of them.
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch09_decoder_only::bench::book_prompt;
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ch13_optimizations::nf4::{Nf4Config, Nf4Tensor};
use ch13_optimizations::perplexity::nll;
use ch13_optimizations::schemes::{Scheme, fake_quantize};
use ch13_optimizations::smollm2_formats::{Format, load, load_rounded};
use clap::Parser;
use ndarray::{Array2, ArrayView2};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 2048)]
    tokens: usize,
    #[arg(long, default_value_t = 512)]
    window: usize,
}

/// A rounding of the chapter's own: the weights back in f32, and the bits each stores.
type Round = fn(ArrayView2<f32>) -> Result<(Array2<f32>, f64), String>;

/// The chapter's own 4-bit schemes, measured by their rounding (no kernel runs them).
const ROUNDED: [(&str, Round); 2] = [
    ("int4 per-group 32", |w| {
        let s = Scheme::INT4_GROUP32;
        let bits = s
            .bits_per_weight(w.nrows(), w.ncols())
            .map_err(|e| e.to_string())?;
        Ok((
            fake_quantize(&w.to_owned(), &s).map_err(|e| e.to_string())?,
            bits,
        ))
    }),
    ("NF4 (QLoRA)", |w| {
        let flat: Vec<f32> = w.iter().copied().collect();
        let q =
            Nf4Tensor::quantize(&flat, Nf4Config::QLORA).map_err(|e| e.to_string())?;
        let back =
            Array2::from_shape_vec(w.dim(), q.dequantize()).map_err(|e| e.to_string())?;
        Ok((back, q.bits_per_param()))
    }),
];

fn main() -> Result<()> {
    let args = Args::parse();
    let path = models::SMOLLM2_135M_INSTRUCT.file_or(models::SMOLLM2_GGUF, None)?;
    let g = Gguf::open(&path)?;
    let ids = book_prompt(&GgufTokenizer::from_gguf(&g)?, args.tokens)?;
    let mut rows = vec![];
    for (name, format) in [
        ("f32", Format::F32),
        ("Q8_0", Format::Q8_0),
        ("Q4_1 (the file)", Format::File),
        ("int8 per-channel", Format::Int8),
    ] {
        let model = load(&g, format)?;
        rows.push((name, model.weight_bytes(), nll(&model, &ids, args.window)?));
        eprintln!("{name}: done");
    }
    for (name, round) in ROUNDED {
        let model = load_rounded(&g, round)?;
        rows.push((name, model.weight_bytes(), nll(&model, &ids, args.window)?));
        eprintln!("{name}: done");
    }
    let f32_ppl = rows[0].2.perplexity();
    let mut txt = format!(
        "# SmolLM2-135M-Instruct, {} tokens of book-ch01.md predicted in windows of {}\n\
         format                 size_mib   nll_nats   perplexity   vs_f32\n",
        rows[0].2.predicted, args.window
    );
    let mut series = vec![];
    for (name, bytes, n) in &rows {
        let mib = *bytes as f64 / (1024.0 * 1024.0);
        let ppl = n.perplexity();
        writeln!(
            txt,
            "{name:<22} {mib:>8.1}   {:>8.4}   {ppl:>10.3}   {:>+6.2}%",
            n.nats,
            (ppl / f32_ppl - 1.0) * 100.0
        )?;
        series.push(Series::new(*name, vec![(mib, ppl)]));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch13");
    std::fs::write(dir.join("perplexity.txt"), &txt)?;
    let mut chart = LineChart::new(
        "SmolLM2-135M: perplexity against model size",
        "model size (MiB)",
        "perplexity on held-out text",
    );
    chart.series = series;
    chart.points = true;
    write_line_chart(&dir.join("perplexity.svg"), &chart)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    print!("{txt}");
    Ok(())
}
