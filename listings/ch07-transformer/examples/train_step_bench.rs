//! One training step of the `translate` example, timed:
//! `cargo run --release -p ch07-transformer --example train_step_bench -- --threads 2`
//!
//! The model is the example's (d_model 64, 4 heads, d_ff 256, 3 + 3 Post-LN layers,
//! tied output) and the batch is the first one of its run (seed 7, at most 1600 padded
//! tokens). `train_step` runs --repeat times after 3 warm-up steps inside a rayon pool of
//! --threads threads; the best time is printed with process start excluded. A second
//! loop times the step's parts (forward + loss, backward, clip + Adam) the same way.
//! Prints one line of `key=value` fields; tools/golden/bench_ch07.py runs it next to
//! PyTorch and writes src/figures/ch07/train-step-speed.txt.
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::linalg::{in_pool, rows, unrows};
use ch01_foundations::module::Module;
use ch07_transformer::Transformer;
use ch07_transformer::data::{Batch, PAD, Task};
use ch07_transformer::loss::label_smoothed_cross_entropy;
use ch07_transformer::optim::{Adam, clip_grad_norm};
use ch07_transformer::train::{TrainConfig, model_config, train_step};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Size of the rayon pool the step runs on.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed steps to take the best of (after 3 warm-up steps).
    #[arg(long, default_value_t = 20)]
    repeat: usize,
}

fn main() {
    let Args { threads, repeat } = Args::parse();
    let task = Task::default();
    let cfg = TrainConfig::full();
    // The same draws as `train`: weights from `seed`, held-out set and batches from
    // `seed + 1`, so this is the run's first batch.
    let mut model =
        Transformer::new(model_config(&task, 64, 3), &mut seeded_rng(cfg.seed));
    let mut data_rng = seeded_rng(cfg.seed.wrapping_add(1));
    let (_, stream) = task.split(cfg.n_heldout, &mut data_rng);
    let batch = Batch::new(&stream.batch(cfg.max_tokens, &mut data_rng));
    let mut adam = Adam::vaswani();

    let mut best = f64::INFINITY;
    let mut parts = [f64::INFINITY; 3]; // forward + loss, backward, clip + Adam
    in_pool(threads, || {
        for _ in 0..repeat + 3 {
            let start = Instant::now();
            std::hint::black_box(train_step(&mut model, &mut adam, &batch, &cfg));
            best = best.min(start.elapsed().as_secs_f64());
        }
        // The body of `train_step`, with a clock between its parts.
        for _ in 0..repeat + 3 {
            let start = Instant::now();
            model.zero_grad();
            let logits = model.forward(&batch.src, &batch.tgt_in);
            let (b, t, v) = logits.dim();
            let targets: Vec<usize> = batch.tgt_out.iter().copied().collect();
            let (loss, dlogits) = label_smoothed_cross_entropy(
                &rows(&logits),
                &targets,
                PAD,
                cfg.smoothing,
            );
            let t1 = Instant::now();
            model.backward(&unrows(dlogits, b, t, v));
            let t2 = Instant::now();
            let norm = clip_grad_norm(&mut model, cfg.clip);
            adam.step(&mut model, 1e-4);
            let t3 = Instant::now();
            std::hint::black_box((loss, norm));
            for (best, d) in parts.iter_mut().zip([t1 - start, t2 - t1, t3 - t2]) {
                *best = best.min(d.as_secs_f64());
            }
        }
    });
    let (b, s) = batch.src.dim();
    let t = batch.tgt_in.ncols();
    let src_lens: Vec<String> = batch
        .src
        .rows()
        .into_iter()
        .map(|r| r.iter().filter(|&&id| id != PAD).count().to_string())
        .collect();
    println!(
        "best_ms={:.3} fwd_ms={:.3} bwd_ms={:.3} opt_ms={:.3} tokens={} threads={threads} \
         batch={b} src_len={s} tgt_len={t} src_vocab={} tgt_vocab={} max_len={} params={} \
         src_lens={}",
        best * 1e3,
        parts[0] * 1e3,
        parts[1] * 1e3,
        parts[2] * 1e3,
        batch.n_tokens(),
        model.cfg.src_vocab,
        model.cfg.tgt_vocab,
        model.cfg.max_len,
        model.num_params(),
        src_lens.join(",")
    );
}
