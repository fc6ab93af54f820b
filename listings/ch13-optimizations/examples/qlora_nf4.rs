//! NF4 against uniform int4, and QLoRA's memory account:
//! `cargo run --release -p ch13-optimizations --example qlora_nf4`
//!
//! Quantizes (a) 2^20 seeded N(0, 1) weights and (b) the real SmolLM2-135M-Instruct's
//! weights (the GGUF's: the token embedding is Q8_0 and every linear weight Q4_1, here
//! dequantized to f32, so "the original" is itself a quantized model) with NF4 (f32
//! scales, and double-quantized scales) and with uniform int4 absmax, all in blocks of
//! 64, and prints each one's relative RMS error and the entropy of its 4-bit codes. Then
//! the memory account of fine-tuning SmolLM2-135M and Llama 2 7B in full, with LoRA
//! (r = 8) on a bf16 base and on an NF4 base. Writes src/figures/ch13/nf4.txt and
//! src/figures/ch13/qlora_memory.svg.
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use ch01_foundations::plot::PALETTE;
use ch09_decoder_only::config::LlamaConfig;
use ch09_decoder_only::gguf::Gguf;
use ch13_optimizations::nf4::{
    MemoryAccount, Nf4Config, Nf4Tensor, Setup, Targets, account_setups,
    int4_absmax_roundtrip, int4_code_counts, llama2_7b, lora_params, memory_account, nf4,
    nf4_code_counts, param_split, smollm2_135m,
};
use plotters::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Squared errors and norms summed over tensors, and the code histograms.
#[derive(Default)]
struct Tally {
    n: usize,
    norm2: f64,
    err2: [f64; 3],
    counts: [[u64; 16]; 2],
}

impl Tally {
    fn add(&mut self, w: &[f32]) -> Result<()> {
        let single = Nf4Tensor::quantize(w, Nf4Config::F32_SCALES)?;
        let double = Nf4Tensor::quantize(w, Nf4Config::QLORA)?;
        let int4 = int4_absmax_roundtrip(w, 64)?;
        let sq = |hat: &[f32]| -> f64 {
            w.iter()
                .zip(hat)
                .map(|(&a, &b)| ((a - b) as f64).powi(2))
                .sum()
        };
        self.n += w.len();
        self.norm2 += w.iter().map(|&x| (x as f64).powi(2)).sum::<f64>();
        self.err2[0] += sq(&single.dequantize());
        self.err2[1] += sq(&double.dequantize());
        self.err2[2] += sq(&int4);
        let (nf, i4) = (nf4_code_counts(&single), int4_code_counts(w, 64));
        (0..16).for_each(|k| {
            self.counts[0][k] += nf[k];
            self.counts[1][k] += i4[k];
        });
        Ok(())
    }

    fn row(&self, name: &str) -> String {
        let rel = |e: f64| (e / self.norm2).sqrt();
        let entropy = |c: &[u64; 16]| -> f64 {
            let total: u64 = c.iter().sum();
            (c.iter().filter(|&&k| k > 0))
                .map(|&k| k as f64 / total as f64)
                .map(|p| -p * p.log2())
                .sum()
        };
        format!(
            "| {name} | {} | {:.4} | {:.4} | {:.4} | {:.3} | {:.3} | {:.3} |",
            self.n,
            rel(self.err2[0]),
            rel(self.err2[1]),
            rel(self.err2[2]),
            self.err2[2] / self.err2[0],
            entropy(&self.counts[0]),
            entropy(&self.counts[1]),
        )
    }
}

const GIB: f64 = (1u64 << 30) as f64;

fn account_table(out: &mut String, name: &str, cfg: &LlamaConfig, tied: bool) {
    let p = param_split(cfg, tied);
    let _ = writeln!(
        out,
        "\n{name}: {} parameters ({} in the linear projections, NF4 in QLoRA; {} in \
         embeddings and norms, kept bf16); LoRA r = 8: {} on q,v, {} on all projections",
        p.linear + p.other,
        p.linear,
        p.other,
        lora_params(cfg, 8, Targets::QV),
        lora_params(cfg, 8, Targets::All),
    );
    out.push_str("| setup | base GiB | scales GiB | trainable + grads GiB | AdamW state GiB | total GiB | base bits/param |\n|---|---|---|---|---|---|---|\n");
    for (label, setup) in account_setups() {
        let m = memory_account(cfg, tied, 8, setup);
        let bits = 8.0 * (m.base + m.scales) / (p.linear + p.other) as f64;
        let bits = if setup == Setup::Full { 16.0 } else { bits };
        let _ = writeln!(
            out,
            "| {label} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {bits:.3} |",
            m.base / GIB,
            m.scales / GIB,
            m.trainable / GIB,
            m.optimizer / GIB,
            m.total() / GIB,
        );
    }
}

fn main() -> Result<()> {
    let codes: Vec<String> = nf4().iter().map(|c| format!("{c:.4}")).collect();
    let mut out = format!("NF4 code points: {}\n\n", codes.join(", "));
    out.push_str(
        "NF4 against uniform int4 absmax, blocks of 64 (relative RMS error ||w - w_hat|| / ||w||; \
         code entropy in bits, 4 = every code equally used)\n\
         | weights | n | NF4 | NF4 + double quant | int4 absmax | int4 / NF4 squared error | NF4 entropy | int4 entropy |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut gauss = Tally::default();
    gauss.add(
        ch01_foundations::init::normal(1usize << 20, 1.0, &mut rng)
            .as_slice()
            .unwrap(),
    )?;
    out.push_str(&gauss.row("N(0, 1), seed 13"));
    out.push('\n');

    let path = models::SMOLLM2_135M_INSTRUCT.file_or(models::SMOLLM2_GGUF, None)?;
    let g = Gguf::open(&path)?;
    let cfg = LlamaConfig::from_gguf(&g)?;
    let mut embd = Tally::default();
    embd.add(
        g.dequantize("token_embd.weight")?
            .as_slice()
            .context("contiguous")?,
    )?;
    out.push_str(&embd.row("SmolLM2 token embedding (Q8_0, dequantized)"));
    out.push('\n');
    let mut linear = Tally::default();
    for (name, _) in cfg.expected_tensors() {
        if name.starts_with("blk.") && !name.contains("norm") {
            linear.add(g.dequantize(&name)?.as_slice().context("contiguous")?)?;
        }
    }
    out.push_str(&linear.row("SmolLM2 linear weights, 30 layers (Q4_1, dequantized)"));
    out.push('\n');

    out.push_str(
        "\nMemory account, activations excluded. Full fine-tuning: bf16 weights and \
         gradients, f32 master weights and AdamW moments (16 bytes a parameter). LoRA: \
         adapters in f32 with f32 gradients and AdamW moments (16 bytes a parameter); the \
         frozen base in bf16 (2 bytes) or, for the linear projections, NF4 (0.5 byte + scales).\n",
    );
    account_table(
        &mut out,
        "SmolLM2-135M (tied LM head)",
        &smollm2_135m(),
        true,
    );
    account_table(&mut out, "Llama 2 7B (untied LM head)", &llama2_7b(), false);

    std::fs::create_dir_all("src/figures/ch13")?;
    std::fs::write("src/figures/ch13/nf4.txt", &out)?;
    print!("{out}");
    draw(Path::new("src/figures/ch13/qlora_memory.svg"))
        .map_err(|e| anyhow::anyhow!("drawing the figure: {e}"))?;
    Ok(())
}

/// One component of the account, read from it.
type Part = fn(&MemoryAccount) -> f64;

/// Two panels of stacked bars, one bar a setup, one colour a component.
fn draw(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    let models: [(&str, LlamaConfig, bool); 2] = [
        ("SmolLM2-135M, r = 8", smollm2_135m(), true),
        ("Llama 2 7B, r = 8", llama2_7b(), false),
    ];
    let parts: [(&str, Part); 4] = [
        ("frozen or trained weights", |m| m.base),
        ("NF4 scales", |m| m.scales),
        ("trainable + gradients", |m| m.trainable),
        ("AdamW state (+ master)", |m| m.optimizer),
    ];
    let short = ["full", "LoRA qv", "LoRA all", "QLoRA", "QLoRA+DQ"];
    for (panel, (title, cfg, tied)) in panels.iter().zip(models) {
        let accounts: Vec<MemoryAccount> = account_setups()
            .iter()
            .map(|&(_, s)| memory_account(&cfg, tied, 8, s))
            .collect();
        let top = accounts.iter().map(|m| m.total() / GIB).fold(0.0, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(panel)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(55)
            .build_cartesian_2d(-0.5f64..4.5, 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(5)
            .x_label_formatter(&|x| {
                short.get(x.round() as usize).unwrap_or(&"").to_string()
            })
            .y_desc("GiB")
            .draw()?;
        for (k, (label, part)) in parts.iter().enumerate() {
            let colour = PALETTE[k];
            let bars = accounts.iter().enumerate().map(|(i, m)| {
                let below: f64 = parts[..k].iter().map(|(_, p)| p(m)).sum::<f64>() / GIB;
                let x = i as f64;
                Rectangle::new(
                    [(x - 0.35, below), (x + 0.35, below + part(m) / GIB)],
                    colour.filled(),
                )
            });
            let series = chart.draw_series(bars)?;
            if title.starts_with("Llama") {
                series.label(*label).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
            }
        }
        if title.starts_with("Llama") {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw()?;
        }
    }
    root.present()?;
    Ok(())
}
