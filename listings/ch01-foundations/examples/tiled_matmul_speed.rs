//! Exercise 4's comparison: the naive triple loop, the tiled solution (64 × 64 tiles)
//! and a single `dot`, in GFLOP/s on one core, on square f32 matrices:
//! `cargo run --release -p ch01-foundations --example tiled_matmul_speed`
//! `cargo xtask bench` writes its output to src/figures/ch01/tiled-matmul.txt, which the
//! exercise's solution quotes and `tests/exercises.rs` checks the ordering of.
use std::hint::black_box;

use ch01_foundations::exercises::tiled_matmul;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::{matmul_flops, measure_gflops, naive_matmul};
use ndarray::Array2;

fn main() {
    let mut rng = seeded_rng(0);
    println!(
        "square f32 matmul, one thread, GFLOP/s (best of several runs after a warm-up)"
    );
    println!(
        "{:>6} {:>10} {:>10} {:>10}",
        "n", "naive", "tiled 64", "dot"
    );
    for n in [128, 256] {
        let a: Array2<f32> = normal((n, n), 1.0, &mut rng);
        let b: Array2<f32> = normal((n, n), 1.0, &mut rng);
        let flops = matmul_flops(n, n, n);
        let naive = measure_gflops(flops, 3, || {
            black_box(naive_matmul(black_box(&a), black_box(&b)));
        });
        let tiled = measure_gflops(flops, 20, || {
            black_box(tiled_matmul(black_box(&a), black_box(&b), 64));
        });
        let dot = measure_gflops(flops, 20, || {
            black_box(black_box(&a).dot(black_box(&b)));
        });
        println!("{n:>6} {naive:>10.1} {tiled:>10.1} {dot:>10.1}");
    }
}
