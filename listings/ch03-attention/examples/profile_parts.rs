//! Times the parts of one MHA forward + backward (batch 8, T 256, d_model 256, 8 heads)
//! on one thread, to see where the time goes:
//! `cargo run --release -p ch03-attention --example profile_parts`
use std::time::Instant;

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::linear;
use ch03_attention::heads::{heads_backward, heads_forward};
use ndarray::{Array1, Array2, s};

fn best(label: &str, mut f: impl FnMut()) {
    let mut best = f64::MAX;
    for _ in 0..10 {
        let t0 = Instant::now();
        f();
        best = best.min(t0.elapsed().as_secs_f64() * 1e3);
    }
    println!("{label:<40} {best:>7.2} ms");
}

fn main() {
    let (b, t, c, h) = (8, 256, 256, 8);
    let x: Array2<f32> = normal((b * t, c), 1.0, &mut seeded_rng(1));
    let w: Array2<f32> = normal((c, 3 * c), 0.05, &mut seeded_rng(2));
    let bias = Array1::zeros(3 * c);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        best("qkv = x W_qkv + b  [2048x256]x[256x768]", || {
            std::hint::black_box(linear(&x, &w, &bias));
        });
        let qkv = linear(&x, &w, &bias);
        let (q, k, v) = (
            qkv.slice(s![.., ..c]),
            qkv.slice(s![.., c..2 * c]),
            qkv.slice(s![.., 2 * c..]),
        );
        let mut p = ndarray::Array4::zeros((b, h, t, t));
        best("heads forward (64 heads)", || {
            std::hint::black_box(heads_forward((q, k, v), false, None, &mut p, None));
        });
        let merged = heads_forward((q, k, v), false, None, &mut p, None);
        let mut dqkv = Array2::zeros((b * t, 3 * c));
        best("heads backward (64 heads)", || {
            let (dq, dk, dv) =
                dqkv.multi_slice_mut((s![.., ..c], s![.., c..2 * c], s![.., 2 * c..]));
            heads_backward((q, k, v), &p, None, merged.view(), (dq, dk, dv));
        });
        best("zeros [8,8,256,256]", || {
            std::hint::black_box(ndarray::Array4::<f32>::zeros((8, 8, 256, 256)));
        });
        let mut out = Array2::zeros((256, 256));
        let qh = q.slice(s![..256, ..32]);
        let kh = k.slice(s![..256, ..32]);
        best("64 x scores [256x32]x[32x256] strided", || {
            for _ in 0..64 {
                ndarray::linalg::general_mat_mul(1.0, &qh, &kh.t(), 0.0, &mut out);
            }
        });
        let (qc, kc) = (qh.to_owned(), kh.to_owned());
        best("64 x scores [256x32]x[32x256] contiguous", || {
            for _ in 0..64 {
                ndarray::linalg::general_mat_mul(1.0, &qc, &kc.t(), 0.0, &mut out);
            }
        });
        let mut o = Array2::zeros((256, 32));
        best("64 x P V [256x256]x[256x32]", || {
            for _ in 0..64 {
                ndarray::linalg::general_mat_mul(1.0, &out, &kc, 0.0, &mut o);
            }
        });
        let mut row = vec![0.5f32; 256 * 256 * 64];
        best("std f32::exp over 4.2M", || {
            row.iter_mut().for_each(|v| *v = (*v - 1.0).exp());
        });
        row.fill(0.5);
        best("exp over 4.2M", || {
            row.iter_mut()
                .for_each(|v| *v = ch01_foundations::softmax::exp(*v - 1.0));
        });
    });
}
