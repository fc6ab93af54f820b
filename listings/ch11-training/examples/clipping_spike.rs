//! The clipping experiment of section "Clipping and accumulation": Chapter 9's Llama on
//! the book's text, one corrupted batch (the most frequent token, repeated) at step 150, trained with plain SGD and with
//! AdamW, each without and with clipping at 1.0, on the same batches. Writes
//! `src/figures/ch11/clipping.txt` (every step's loss and gradient norm, and a summary)
//! and `clipping.svg`.
//!
//! cargo run --release -p ch11-training --example clipping_spike

use std::fmt::Write as _;
use std::path::Path;

use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch09_decoder_only::llama_model::LlamaTrainConfig;
use ch09_decoder_only::train_run::{TrainConfig, book_tokens, most_frequent};
use ch11_training::clipping::{
    SpikeConfig, corrupt, plain_sgd, spike_run, spike_summary,
};
use ch11_training::optim::{AdamW, WeightDecay};
use ch11_training::trainer::StepLog;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = book_tokens(&TrainConfig {
        vocab_size: 512,
        ..TrainConfig::tiny()
    })?;
    let model = LlamaTrainConfig {
        vocab_size: data.vocab_size,
        d_model: 32,
        n_layers: 2,
        n_heads: 4,
        n_kv_heads: 2,
        d_ff: 64,
        rope_base: 1e4,
        norm_eps: 1e-5,
        tie_embeddings: true,
    };
    let sgd = SpikeConfig {
        model,
        batch: 8,
        context: 32,
        steps: 250,
        warmup: 20,
        peak_lr: 0.5,
        spike_at: 150,
        seed: 0,
    };
    let adamw = SpikeConfig {
        peak_lr: 1e-2,
        ..sgd.clone()
    };
    let id = most_frequent(&data, 1)[0];
    let bad = corrupt(&data.train, id); // the most frequent token, over and over
    let adam = || AdamW::new(WeightDecay::Decoupled(0.1));
    let runs: [(&str, Vec<StepLog>); 4] = [
        ("SGD", spike_run(&sgd, plain_sgd(), &data.train, &bad, None)),
        (
            "SGD, clip 1",
            spike_run(&sgd, plain_sgd(), &data.train, &bad, Some(1.0)),
        ),
        ("AdamW", spike_run(&adamw, adam(), &data.train, &bad, None)),
        (
            "AdamW, clip 1",
            spike_run(&adamw, adam(), &data.train, &bad, Some(1.0)),
        ),
    ];
    let mut out = String::new();
    writeln!(
        out,
        "Llama C = 32, 2 layers, 4 heads (2 K/V), SwiGLU 64, tied head, vocabulary {} (Chapter 2's BPE on the book); batch 8 x 32 tokens, {} steps, warm-up 20 then cosine to 0.1 x peak; SGD peak lr 0.5, AdamW peak lr 0.01 (0.9, 0.999, decay 0.1); seed 0",
        data.vocab_size, sgd.steps
    )?;
    writeln!(
        out,
        "step {}: every token of the batch replaced by token {id} ({:?}, the most frequent); the same batches otherwise in every run\n",
        sgd.spike_at,
        data.bpe.decode_lossy(&[id as u32])?
    )?;
    for (name, log) in &runs {
        let losses: Vec<f32> = log.iter().map(|l| l.loss).collect();
        let s = spike_summary(&losses, sgd.spike_at);
        let norm = log[sgd.spike_at].grad_norm;
        let median = median(log[..sgd.spike_at].iter().map(|l| l.grad_norm).collect());
        writeln!(
            out,
            "{name}: loss before {:.3}, at the corrupted step {:.3}, peak of the next 10 steps {:.3}, recovered after {} steps; gradient norm there {:.2} (median before {:.2})",
            s.before, losses[sgd.spike_at], s.peak_after, s.recovery, norm, median
        )?;
    }
    writeln!(
        out,
        "\nstep | SGD loss | SGD norm | SGD clip loss | SGD clip norm | AdamW loss | AdamW norm | AdamW clip loss | AdamW clip norm"
    )?;
    for step in 0..sgd.steps {
        let cells: Vec<String> = runs
            .iter()
            .flat_map(|(_, l)| {
                [
                    format!("{:.4}", l[step].loss),
                    format!("{:.4}", l[step].grad_norm),
                ]
            })
            .collect();
        writeln!(out, "{step} | {}", cells.join(" | "))?;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch11");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("clipping.txt"), &out)?;
    let mut chart = LineChart::new(
        "One corrupted batch at step 150: training loss",
        "step",
        "training loss (nats)",
    );
    let window = sgd.spike_at - 30..sgd.spike_at + 60;
    for (name, log) in &runs {
        let points = window
            .clone()
            .map(|s| (s as f64, f64::from(log[s].loss)))
            .collect();
        chart.series.push(Series::new(*name, points));
    }
    chart
        .markers
        .push((sgd.spike_at as f64, "corrupted batch".into()));
    write_line_chart(&dir.join("clipping.svg"), &chart)?;
    print!("{}", out.split("\nstep |").next().unwrap_or(""));
    Ok(())
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}
