//! Shapes, broadcasting, matmul and what it costs (section "Linear algebra with
//! ndarray").

use std::hint::black_box;
use std::time::Instant;

use ndarray::linalg::general_mat_mul;
use ndarray::{
    Array, Array2, Array3, ArrayRef1, ArrayRef2, ArrayRef3, ArrayView2, ArrayViewMut2,
    Axis, Dimension, IntoDimension, Ix1, Ix2,
};

use crate::module::Param;
use rayon::prelude::*;

// ANCHOR: naive_matmul
/// C = A B from the definition C_ij = Σ_p A_ip B_pj, with the loops ordered i, p, j so
/// the innermost loop walks rows of B and C contiguously. Correct, and still several
/// times slower than ndarray's `dot`, which tiles for the caches and uses SIMD registers.
// a: [m, k], b: [k, n] -> [m, n]
pub fn naive_matmul(a: &ArrayRef2<f32>, b: &ArrayRef2<f32>) -> Array2<f32> {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert_eq!(k, k2, "naive_matmul: a is [{m}, {k}] but b is [{k2}, {n}]");
    let mut c = Array2::zeros((m, n));
    for i in 0..m {
        for p in 0..k {
            let a_ip = a[[i, p]];
            for j in 0..n {
                c[[i, j]] += a_ip * b[[p, j]];
            }
        }
    }
    c
}
// ANCHOR_END: naive_matmul

// ANCHOR: matmul_flops
/// Floating-point operations in an [m, k] × [k, n] matmul: each of the m·n outputs is a
/// k-term dot product, k multiplies and k adds (one fused multiply-add counts as two).
pub fn matmul_flops(m: usize, k: usize, n: usize) -> f64 {
    2.0 * m as f64 * k as f64 * n as f64
}
// ANCHOR_END: matmul_flops

// ANCHOR: measure_gflops
/// Times `f` (which performs `flops` operations) and returns the best GFLOP/s over
/// `repeats` runs after one warm-up: the best run is the one least disturbed by the rest
/// of the machine, which is what a peak comparison wants.
pub fn measure_gflops(flops: f64, repeats: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up: page faults, caches, CPU frequency
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let start = Instant::now();
        f();
        best = best.min(start.elapsed().as_secs_f64());
    }
    flops / best / 1e9
}
// ANCHOR_END: measure_gflops

/// One row of the matmul table: square size n, GFLOP/s for `dot` and the naive loop.
pub struct MatmulTiming {
    pub n: usize,
    pub dot_gflops: f64,
    pub naive_gflops: Option<f64>,
}

/// Times `dot` (and the naive loop up to n = 256, beyond which it takes too long to be
/// worth waiting for) on square f32 matrices, one thread.
pub fn time_matmuls(sizes: &[usize]) -> Vec<MatmulTiming> {
    let mut rng = crate::init::seeded_rng(0);
    sizes
        .iter()
        .map(|&n| {
            let a: Array2<f32> = crate::init::normal((n, n), 1.0, &mut rng);
            let b: Array2<f32> = crate::init::normal((n, n), 1.0, &mut rng);
            let flops = matmul_flops(n, n, n);
            let repeats = (2e10 / flops).clamp(3.0, 200.0) as usize;
            let dot_gflops = measure_gflops(flops, repeats, || {
                black_box(black_box(&a).dot(black_box(&b)));
            });
            let naive_gflops = (n <= 256).then(|| {
                measure_gflops(flops, 3, || {
                    black_box(naive_matmul(black_box(&a), black_box(&b)));
                })
            });
            MatmulTiming {
                n,
                dot_gflops,
                naive_gflops,
            }
        })
        .collect()
}

// ANCHOR: fma_peak
/// The most f32 FLOP/s one core can do: many independent chains of fused multiply-adds
/// on the widest vector registers the CPU has. Independent chains matter because one FMA
/// takes ~4 cycles to finish while a core can start two a cycle: 8+ must be in flight.
pub fn fma_peak_gflops() -> Option<(f64, &'static str)> {
    #[cfg(target_arch = "x86_64")]
    {
        const ITERS: usize = 20_000_000;
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU reports AVX-512F, the only feature the kernel uses.
            let flops = ITERS as f64 * 12.0 * 16.0 * 2.0;
            let gflops = measure_gflops(flops, 3, || {
                black_box(unsafe { fma_chains_avx512(ITERS) });
            });
            return Some((gflops, "AVX-512 (16 lanes)"));
        }
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU reports AVX2 and FMA, the only features the kernel uses.
            let flops = ITERS as f64 * 12.0 * 8.0 * 2.0;
            let gflops = measure_gflops(flops, 3, || {
                black_box(unsafe { fma_chains_avx2(ITERS) });
            });
            return Some((gflops, "AVX2 + FMA (8 lanes)"));
        }
    }
    None
}
// ANCHOR_END: fma_peak

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma_chains_avx512(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    let mut acc = [_mm512_set1_ps(1.0); 12];
    for _ in 0..black_box(iters) {
        for r in &mut acc {
            *r = _mm512_fmadd_ps(*r, a, b);
        }
    }
    acc.iter().map(|&r| _mm512_reduce_add_ps(r)).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_chains_avx2(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_set1_ps(1.0); 12];
    for _ in 0..black_box(iters) {
        for r in &mut acc {
            *r = _mm256_fmadd_ps(*r, a, b);
        }
    }
    let mut lanes = [0.0f32; 8];
    acc.iter()
        .map(|&r| {
            // SAFETY: `lanes` holds exactly 8 f32s.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), r) };
            lanes.iter().sum::<f32>()
        })
        .sum()
}

// ANCHOR: block_len
/// How many rows (or columns) of an output of `len` rows (or columns) one rayon task
/// computes: 4 tasks of at least 64. The split depends only on the shape, never on the
/// thread count.
pub fn block_len(len: usize) -> usize {
    len.div_ceil(4).max(64)
}
// ANCHOR_END: block_len

// ANCHOR: par_matmul
/// c = alpha·a·b + beta·c, with blocks of `c` computed in parallel by rayon. Blocks run
/// along c's longer side, so the operand each task re-packs is the smaller one. Every
/// element is summed over k inside one `general_mat_mul` call, in one order: 1 thread and
/// 8 threads give the same bits.
// a: [m, k], b: [k, n], c: [m, n]
pub fn par_matmul_into(
    alpha: f32,
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    beta: f32,
    mut c: ArrayViewMut2<'_, f32>,
) {
    assert!(
        a.ncols() == b.nrows() && c.dim() == (a.nrows(), b.ncols()),
        "par_matmul_into: a is {:?}, b is {:?}, c is {:?}",
        a.shape(),
        b.shape(),
        c.shape()
    );
    let gemm = |a: ArrayView2<f32>, b: ArrayView2<f32>, mut c: ArrayViewMut2<f32>| {
        general_mat_mul(alpha, &a, &b, beta, &mut c)
    };
    if c.nrows() >= c.ncols() {
        let rows = block_len(c.nrows());
        let tasks: Vec<_> = a
            .axis_chunks_iter(Axis(0), rows)
            .zip(c.axis_chunks_iter_mut(Axis(0), rows))
            .collect();
        tasks.into_par_iter().for_each(|(a, c)| gemm(a, b, c));
    } else {
        let cols = block_len(c.ncols());
        let tasks: Vec<_> = b
            .axis_chunks_iter(Axis(1), cols)
            .zip(c.axis_chunks_iter_mut(Axis(1), cols))
            .collect();
        tasks.into_par_iter().for_each(|(b, c)| gemm(a, b, c));
    }
}
// ANCHOR_END: par_matmul

/// Runs `f` on a rayon pool of exactly `threads` threads. The tests run the same
/// computation in pools of different sizes and compare the bits, which is how the book
/// shows that a result does not depend on the thread count; benchmarks use it to pin
/// the thread count they report.
pub fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a rayon thread pool")
        .install(f)
}

/// The 1-minute load average (from /proc/loadavg, "unknown" elsewhere): what a
/// benchmark's report prints beside its times, since other work on the machine slows them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// The benchmarks' timer: `warmup` untimed runs of `f`, then the best (smallest) wall
/// time in seconds of `repeat` timed runs (at least one), and the last run's result.
pub fn best_of<T>(warmup: usize, repeat: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    for _ in 0..warmup {
        f();
    }
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..repeat.max(1) {
        let start = std::time::Instant::now();
        out = Some(f());
        best = best.min(start.elapsed().as_secs_f64());
    }
    (best, out.expect("at least one run"))
}

// ANCHOR: linear
/// y = x W + b, with the bias broadcast into y first so the matmul adds onto it
/// (beta = 1). Every projection of the book goes through this one function.
// x: [N, C_in], w: [C_in, C_out], b: [C_out] -> [N, C_out]
pub fn linear(x: &ArrayRef2<f32>, w: &ArrayRef2<f32>, b: &ArrayRef1<f32>) -> Array2<f32> {
    assert!(
        x.ncols() == w.nrows() && w.ncols() == b.len(),
        "linear: x is {:?}, w is {:?}, b is {:?}",
        x.shape(),
        w.shape(),
        b.shape()
    );
    let mut y = b.broadcast((x.nrows(), b.len())).unwrap().to_owned();
    par_matmul_into(1.0, x.view(), w.view(), 1.0, y.view_mut());
    y
}
// ANCHOR_END: linear

// ANCHOR: linear_backward

/// Backward of [`linear`]: dW += xᵀ dy, db += Σ_rows dy, and dx = dy Wᵀ written into
/// `dx` (overwritten). Each sum over rows runs inside one block in a fixed order,
/// whatever the thread count.
// x: [N, C_in], dy: [N, C_out] -> dx: [N, C_in]
pub fn linear_backward_into(
    x: ArrayView2<'_, f32>,
    dy: ArrayView2<'_, f32>,
    w: &mut Param<Ix2>,
    b: &mut Param<Ix1>,
    dx: ArrayViewMut2<'_, f32>,
) {
    assert!(
        dy.dim() == (x.nrows(), w.value.ncols()) && dx.dim() == x.dim(),
        "linear backward: x is {:?}, dy is {:?}, dx is {:?} but w is {:?}",
        x.shape(),
        dy.shape(),
        dx.shape(),
        w.value.shape()
    );
    par_matmul_into(1.0, x.t(), dy, 1.0, w.grad.view_mut());
    b.grad += &dy.sum_axis(Axis(0));
    // A contiguous copy of Wᵀ packs faster than the strided view.
    let w_t = w.value.t().as_standard_layout().into_owned();
    par_matmul_into(1.0, dy, w_t.view(), 0.0, dx);
}
// ANCHOR_END: linear_backward

/// [`linear_backward_into`] into a fresh dx.
// x: [N, C_in], dy: [N, C_out] -> dx: [N, C_in]
pub fn linear_backward(
    x: ArrayView2<'_, f32>,
    dy: ArrayView2<'_, f32>,
    w: &mut Param<Ix2>,
    b: &mut Param<Ix1>,
) -> Array2<f32> {
    let mut dx = Array2::zeros(x.raw_dim());
    linear_backward_into(x, dy, w, b, dx.view_mut());
    dx
}

// ANCHOR: rows
/// [B, T, C] -> [B·T, C]: every token of the batch as one row, so a layer that works on
/// rows (a projection, a norm) handles the whole batch in one call. Copies only if `x`
/// is not already row-major.
pub fn rows(x: &ArrayRef3<f32>) -> Array2<f32> {
    let (b, t, c) = x.dim();
    x.as_standard_layout()
        .into_owned()
        .into_shape_with_order((b * t, c))
        .expect("standard layout")
}

/// [B·T, C] -> [B, T, C], the inverse of [`rows`]; moves the data, copies nothing when
/// `x` is row-major.
pub fn unrows(x: Array2<f32>, b: usize, t: usize, c: usize) -> Array3<f32> {
    assert!(
        x.dim() == (b * t, c),
        "unrows: x is {:?} but [B, T, C] = [{b}, {t}, {c}] needs [{}, {c}]",
        x.shape(),
        b * t
    );
    x.as_standard_layout()
        .into_owned()
        .into_shape_with_order((b, t, c))
        .expect("standard layout")
}
// ANCHOR_END: rows

/// Makes `buf` an array of shape `dim`, allocating only when the shape changes; its
/// contents are then stale and the caller overwrites them. Large buffers (attention's
/// [B, h, T, T] weights, an FFN's hidden activations) are kept from one call to the
/// next, because touching fresh memory on every call costs page faults.
pub fn reuse<D: Dimension>(
    buf: &mut Array<f32, D>,
    dim: impl IntoDimension<Dim = D>,
) -> &mut Array<f32, D> {
    let dim = dim.into_dimension();
    if buf.raw_dim() != dim {
        *buf = Array::zeros(dim);
    }
    buf
}
