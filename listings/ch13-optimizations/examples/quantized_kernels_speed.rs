//! A quick look at the quantized kernels' speed on SmolLM2-135M's real matrices: one
//! decoding step's matrix-vector products (30 layers of Q4_1 linears and the Q8_0 LM
//! head), through the Q4_1/Q8_0 kernels and through Chapter 9's f32 `matvec_rows` on
//! the same weights dequantized. Best of `--reps` on the current rayon pool
//! (RAYON_NUM_THREADS sets it). Prints times and the bytes a second each streams; it
//! writes no file: Chapter 13's speed figures come from the lead's benchmark.
//!
//! cargo run --release -p ch13-optimizations --example quantized_kernels_speed

use std::time::Instant;

use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::matvec_rows;
use ch13_optimizations::kernels::{Q4_1Matrix, Q8_0Matrix, QuantizedMatrix};
use clap::Parser;
use ndarray::Array2;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 7)]
    reps: usize,
    /// Random weights of SmolLM2's shapes, quantized here, instead of the GGUF's.
    #[arg(long)]
    synthetic: bool,
}

/// Nanoseconds all of this process's threads have spent on a CPU (Linux's schedstat):
/// on a shared, loaded machine the wall clock counts the time other processes ran.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// (best wall-clock seconds, mean CPU seconds) of `reps` runs.
fn best(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    let cpu = cpu_ns();
    let wall = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    (wall, (cpu_ns() - cpu) as f64 / 1e9 / reps as f64)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shapes = [
        ("attn_q", [576, 576]),
        ("attn_k", [192, 576]),
        ("attn_v", [192, 576]),
        ("attn_output", [576, 576]),
        ("ffn_gate", [1536, 576]),
        ("ffn_up", [1536, 576]),
        ("ffn_down", [576, 1536]),
    ];
    let mut q: Vec<Box<dyn QuantizedMatrix>> = Vec::new();
    if args.synthetic {
        let random = |[m, k]: [usize; 2]| {
            Array2::from_shape_fn((m, k), |(i, j)| {
                ((i * 31 + j * 17) % 97) as f32 / 97.0 - 0.5
            })
        };
        for _ in 0..30 {
            for (_, shape) in shapes {
                q.push(Box::new(Q4_1Matrix::quantize(random(shape).view())?));
            }
        }
        q.push(Box::new(Q8_0Matrix::quantize(random([49152, 576]).view())?));
    } else {
        let dir = models::SMOLLM2_135M_INSTRUCT.dir()?;
        let g = Gguf::open(&dir.join(models::SMOLLM2_GGUF))?;
        for l in 0..30 {
            for (name, shape) in shapes {
                q.push(Box::new(Q4_1Matrix::from_gguf(
                    &g,
                    &format!("blk.{l}.{name}.weight"),
                    shape,
                )?));
            }
        }
        q.push(Box::new(Q8_0Matrix::from_gguf(
            &g,
            "token_embd.weight",
            [49152, 576],
        )?));
    }
    let f: Vec<Array2<f32>> = q.iter().map(|m| m.dequantize()).collect();
    let q_bytes: usize = q.iter().map(|m| m.bytes()).sum();
    let f_bytes: usize = f.iter().map(|w| w.len() * 4).sum();
    let xs: Vec<Array2<f32>> = q
        .iter()
        .map(|m| Array2::from_elem((1, m.shape()[1]), 0.1))
        .collect();
    println!("threads: {}", rayon::current_num_threads());
    for t in [1usize, 4] {
        let xs: Vec<Array2<f32>> = xs
            .iter()
            .map(|x| x.broadcast((t, x.ncols())).unwrap().to_owned())
            .collect();
        let tq = best(args.reps, || {
            for (m, x) in q.iter().zip(&xs) {
                std::hint::black_box(m.matmul(x.view()));
            }
        });
        let tf = best(args.reps, || {
            for (w, x) in f.iter().zip(&xs) {
                std::hint::black_box(matvec_rows(w, x.view()));
            }
        });
        println!(
            "T = {t}: quantized {:.2} ms ({:.2} ms of CPU; {:.1} MB, {:.1} GB/s), f32 {:.2} ms ({:.2} ms of CPU; {:.1} MB, {:.1} GB/s), ratio {:.2}",
            tq.0 * 1e3,
            tq.1 * 1e3,
            q_bytes as f64 / 1e6,
            q_bytes as f64 / tq.0 / 1e9,
            tf.0 * 1e3,
            tf.1 * 1e3,
            f_bytes as f64 / 1e6,
            f_bytes as f64 / tf.0 / 1e9,
            tf.0 / tq.0
        );
    }
    Ok(())
}
