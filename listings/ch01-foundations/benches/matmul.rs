//! `cargo bench -p ch01-foundations`: ndarray's `dot` (AVX-512 kernel on) against the
//! naive triple loop and the tiled exercise solution, on square f32 matrices.
use std::hint::black_box;

use ch01_foundations::exercises::tiled_matmul;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::{matmul_flops, naive_matmul};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;

fn matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    let mut rng = seeded_rng(0);
    for n in [128, 256, 512] {
        let a: Array2<f32> = normal((n, n), 1.0, &mut rng);
        let b: Array2<f32> = normal((n, n), 1.0, &mut rng);
        // Criterion reports "elements/s"; one element here is one FLOP.
        group.throughput(Throughput::Elements(matmul_flops(n, n, n) as u64));
        group.bench_function(format!("dot/{n}"), |bench| {
            bench.iter(|| black_box(&a).dot(black_box(&b)))
        });
        group.bench_function(format!("tiled64/{n}"), |bench| {
            bench.iter(|| tiled_matmul(black_box(&a), black_box(&b), 64))
        });
        if n <= 256 {
            group.bench_function(format!("naive/{n}"), |bench| {
                bench.iter(|| naive_matmul(black_box(&a), black_box(&b)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, matmul);
criterion_main!(benches);
