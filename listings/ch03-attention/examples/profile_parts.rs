//! Times the parts of one MHA forward + backward (batch 8, T 256, d_model 256, 8 heads)
//! on one thread, to see where the time goes:
//! `cargo run --release -p ch03-attention --example profile_parts`
//! `cargo xtask bench` writes its output to src/figures/ch03/profile-parts.txt, which the
//! text quotes and `tests/profile_parts.rs` checks the text's claims against.
use std::time::Instant;

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::linear;
use ch03_attention::heads::{heads_backward, heads_forward};
use ndarray::{Array1, Array2, Array4, s};

/// Best of 10 runs after one warm-up, in milliseconds, printed as one line `label  ms`.
fn best(label: &str, mut f: impl FnMut()) {
    f();
    let mut best = f64::MAX;
    for _ in 0..10 {
        let t0 = Instant::now();
        f();
        best = best.min(t0.elapsed().as_secs_f64() * 1e3);
    }
    println!("{label:<52} {best:>8.2}");
}

fn main() {
    let (b, t, c, h) = (8, 256, 256, 8);
    let d_k = c / h;
    let x: Array2<f32> = normal((b * t, c), 1.0, &mut seeded_rng(1));
    let w: Array2<f32> = normal((c, 3 * c), 0.05, &mut seeded_rng(2));
    let bias = Array1::zeros(3 * c);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    println!(
        "parts of one MHA layer: batch {b}, T {t}, d_model {c}, {h} heads, 1 thread, \
         best of 10 runs after a warm-up"
    );
    println!("{:<52} {:>8}", "part", "ms");
    pool.install(|| {
        best("qkv = x W_qkv + b, [2048x256] x [256x768]", || {
            std::hint::black_box(linear(&x, &w, &bias));
        });
        let qkv = linear(&x, &w, &bias);
        let (q, k, v) = (
            qkv.slice(s![.., ..c]),
            qkv.slice(s![.., c..2 * c]),
            qkv.slice(s![.., 2 * c..]),
        );
        let mut p = Array4::zeros((b, h, t, t));
        best("heads forward, P [8,8,256,256] reused", || {
            std::hint::black_box(heads_forward((q, k, v), false, None, &mut p, None));
        });
        best("heads forward, P [8,8,256,256] fresh each call", || {
            let mut fresh = Array4::zeros((b, h, t, t));
            std::hint::black_box(heads_forward((q, k, v), false, None, &mut fresh, None));
        });
        let merged = heads_forward((q, k, v), false, None, &mut p, None);
        let mut dqkv = Array2::zeros((b * t, 3 * c));
        best("heads backward", || {
            let (dq, dk, dv) =
                dqkv.multi_slice_mut((s![.., ..c], s![.., c..2 * c], s![.., 2 * c..]));
            heads_backward((q, k, v), &p, None, merged.view(), (dq, dk, dv));
        });
        // The matmuls of the forward pass, 64 heads of one [256, 32] slice each.
        let mut scores = Array2::zeros((t, t));
        let (qh, kh) = (q.slice(s![..t, ..d_k]), k.slice(s![..t, ..d_k]));
        best(
            "64 x scores Q K^T, [256x32] x [32x256], strided view",
            || {
                for _ in 0..b * h {
                    ndarray::linalg::general_mat_mul(1.0, &qh, &kh.t(), 0.0, &mut scores);
                }
            },
        );
        let (qc, kc) = (qh.to_owned(), kh.to_owned());
        best("64 x scores Q K^T, [256x32] x [32x256], contiguous", || {
            for _ in 0..b * h {
                ndarray::linalg::general_mat_mul(1.0, &qc, &kc.t(), 0.0, &mut scores);
            }
        });
        let mut o = Array2::zeros((t, d_k));
        best("64 x P V, [256x256] x [256x32]", || {
            for _ in 0..b * h {
                ndarray::linalg::general_mat_mul(1.0, &scores, &kc, 0.0, &mut o);
            }
        });
        // e^(s - max) for every score, one row of 256 at a time as the softmax does, so
        // the data stays in cache and only the exp itself is timed.
        let row: Vec<f32> = (0..t).map(|j| -(j as f32) / t as f32).collect();
        let mut out = vec![0.0f32; t];
        let rows = b * h * t;
        best("e^x of all 4.2M scores, std f32::exp", || {
            for _ in 0..rows {
                for (o, &s) in out.iter_mut().zip(&row) {
                    *o = s.exp();
                }
                std::hint::black_box(&mut out);
            }
        });
        best("e^x of all 4.2M scores, the book's exp", || {
            for _ in 0..rows {
                for (o, &s) in out.iter_mut().zip(&row) {
                    *o = ch01_foundations::softmax::exp(s);
                }
                std::hint::black_box(&mut out);
            }
        });
    });
}
