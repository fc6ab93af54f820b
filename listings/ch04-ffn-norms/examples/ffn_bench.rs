//! One FFN layer (Linear C → 4C, GELU, Linear 4C → C) forward + backward, timed:
//! `cargo run --release -p ch04-ffn-norms --example ffn_bench -- --threads 2`
//! Prints `best_ms=...` (the best of --repeat runs after warm-up, process start
//! excluded) and the time of each part. tools/golden/bench_ch04.py runs it next to
//! PyTorch and writes src/figures/ch04/ffn-speed.txt.
use std::time::Instant;

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::in_pool;
use ch01_foundations::module::Module;
use ch04_ffn_norms::activations::Activation;
use ch04_ffn_norms::ffn::Ffn;
use clap::Parser;
use ndarray::Array2;

#[derive(Parser)]
struct Args {
    /// Size of the rayon pool the layer runs on.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed runs to take the best of (after 3 warm-up runs).
    #[arg(long, default_value_t = 20)]
    repeat: usize,
    #[arg(long, default_value_t = 8)]
    batch: usize,
    #[arg(long, default_value_t = 256)]
    tokens: usize,
}

fn main() {
    let Args {
        threads,
        repeat,
        batch: b,
        tokens: t,
    } = Args::parse();
    let (c, d_ff) = (256, 1024);
    let mut rng = seeded_rng(0);
    let mut ffn = Ffn::new(c, d_ff, Activation::Gelu, &mut rng);
    let x: Array2<f32> = normal((b * t, c), 1.0, &mut rng);
    let dy: Array2<f32> = normal((b * t, c), 1.0, &mut rng);
    let (mut best, mut best_fwd) = (f64::INFINITY, f64::INFINITY);
    in_pool(threads, || {
        for _ in 0..repeat + 3 {
            ffn.zero_grad(); // outside the timing, like optimizer.zero_grad()
            let start = Instant::now();
            let y = ffn.forward(&x);
            let fwd = start.elapsed().as_secs_f64();
            let dx = ffn.backward(&dy);
            let total = start.elapsed().as_secs_f64();
            std::hint::black_box((y, dx));
            best = best.min(total);
            best_fwd = best_fwd.min(fwd);
        }
    });
    println!(
        "best_ms={:.3} fwd_ms={:.3} threads={threads} shape=[{b}x{t},{c}]->{d_ff}",
        best * 1e3,
        best_fwd * 1e3
    );
}
