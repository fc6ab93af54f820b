//! One multi-head attention layer, forward + backward, at batch 8, T = 256, d_model 256,
//! 8 heads (no mask), timed on a rayon pool of `--threads n` threads. Prints the best of
//! several runs after warm-up, excluding process start. `tools/golden/bench_ch03.py`
//! runs this next to PyTorch and writes `src/figures/ch03/mha-speed.txt`.
//!
//! `cargo run --release -p ch03-attention --example attention_bench -- --threads 1`
use std::time::Instant;

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::in_pool;
use ch03_attention::mha::MultiHeadAttention;
use clap::Parser;
use ndarray::Array3;

const B: usize = 8;
const T: usize = 256;
const C: usize = 256;
const HEADS: usize = 8;

#[derive(Parser)]
struct Args {
    /// Size of the rayon pool the layer runs on.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() {
    let Args { threads } = Args::parse();
    let runs = 20;
    let mut layer = MultiHeadAttention::new(C, HEADS, false, &mut seeded_rng(0));
    let x: Array3<f32> = normal((B, T, C), 1.0, &mut seeded_rng(1));
    let dy: Array3<f32> = normal((B, T, C), 1.0, &mut seeded_rng(2));
    let (mut best, mut best_fwd, mut best_bwd) = (f64::MAX, f64::MAX, f64::MAX);
    in_pool(threads, || {
        for run in 0..runs + 3 {
            let t0 = Instant::now();
            let y = layer.forward(&x, None);
            let t1 = Instant::now();
            let dx = layer.backward(&dy);
            let t2 = Instant::now();
            std::hint::black_box((y, dx));
            if run >= 3 {
                let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
                best = best.min(ms(t0, t2));
                best_fwd = best_fwd.min(ms(t0, t1));
                best_bwd = best_bwd.min(ms(t1, t2));
            }
        }
    });
    println!(
        "ours: B={B} T={T} C={C} heads={HEADS}, {threads} thread(s): best of {runs} \
         fwd+bwd {best:.2} ms (fwd {best_fwd:.2} ms, bwd {best_bwd:.2} ms)"
    );
    println!("BEST_MS {best:.3}");
}
