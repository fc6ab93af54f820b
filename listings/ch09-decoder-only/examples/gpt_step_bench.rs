//! One training step of the chapter's GPT-2, timed:
//! `cargo run --release -p ch09-decoder-only --example gpt_step_bench -- --threads 2 --vocab 50257`
//!
//! The model is `Gpt2` at 4 layers, width 128, 4 heads, context 128, dropout 0, with the
//! vocabulary given by --vocab (50,257 is GPT-2's own tokenizer, where the tied head is
//! most of the work; a small one leaves the blocks the work). The batch is 16 sequences of
//! 128 random ids (seed 0): the ids do not change the work. One step is: zero the
//! gradients, forward, the next-token loss (`lm_loss_in_place`, 127 targets a
//! sequence), backward, and AdamW (β = 0.9, 0.95, ε = 1e-8, lr 3e-4, weight decay 0.1 on
//! the matrices only, as nanoGPT groups them). It runs --repeat times after --warmup
//! steps inside a rayon pool of --threads threads; the best time is printed. A second
//! loop times the step's parts the same way. Prints one line of `key=value` fields;
//! tools/golden/bench_ch09.py runs it next to PyTorch and writes
//! src/figures/ch09/train-step-speed.txt.
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::linalg::in_pool;
use ch01_foundations::module::Module;
use ch09_decoder_only::gpt2::{Gpt2, Gpt2Config, lm_loss_in_place};
use clap::Parser;
use ndarray::{Array2, ArrayD};
use rand::RngExt;

#[derive(Parser)]
struct Args {
    /// Size of the rayon pool the step runs on.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed steps to take the best of (after the warm-up steps).
    #[arg(long, default_value_t = 10)]
    repeat: usize,
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    #[arg(long, default_value_t = 50257)]
    vocab: usize,
}

const LAYERS: usize = 4;
const WIDTH: usize = 128;
const HEADS: usize = 4;
const CONTEXT: usize = 128;
const BATCH: usize = 16;

/// AdamW with nanoGPT's hyperparameters; state keyed by visiting order.
struct AdamW {
    m: Vec<ArrayD<f32>>,
    v: Vec<ArrayD<f32>>,
    t: i32,
}

impl AdamW {
    fn step(&mut self, model: &mut Gpt2) {
        let (lr, b1, b2, eps, wd) = (3e-4f32, 0.9f32, 0.95f32, 1e-8f32, 0.1f32);
        self.t += 1;
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        let (m, v) = (&mut self.m, &mut self.v);
        let mut i = 0;
        model.visit_params_mut(&mut |_, mut p| {
            if m.len() == i {
                m.push(ArrayD::zeros(p.value.raw_dim()));
                v.push(ArrayD::zeros(p.value.raw_dim()));
            }
            let decay = if p.value.ndim() >= 2 { wd } else { 0.0 };
            ndarray::Zip::from(&mut p.value)
                .and(&p.grad)
                .and(&mut m[i])
                .and(&mut v[i])
                .for_each(|w, &g, m, v| {
                    *w -= lr * decay * *w;
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *w -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                });
            i += 1;
        });
    }
}

fn main() {
    let Args {
        threads,
        repeat,
        warmup,
        vocab,
    } = Args::parse();
    let cfg = Gpt2Config {
        vocab_size: vocab,
        n_positions: CONTEXT,
        n_embd: WIDTH,
        n_layer: LAYERS,
        n_head: HEADS,
        layer_norm_epsilon: 1e-5,
        embd_pdrop: 0.0,
        attn_pdrop: 0.0,
        resid_pdrop: 0.0,
    };
    let mut rng = seeded_rng(0);
    let mut model = Gpt2::new(cfg, &mut rng).expect("a valid config");
    let ids = Array2::from_shape_fn((BATCH, CONTEXT), |_| rng.random_range(0..vocab));
    let targets =
        Array2::from_shape_fn((BATCH, CONTEXT), |(b, t)| ids.get((b, t + 1)).copied());
    let mut adam = AdamW {
        m: vec![],
        v: vec![],
        t: 0,
    };

    let mut best = f64::INFINITY;
    let mut parts = [f64::INFINITY; 3]; // forward + loss, backward, AdamW
    let mut loss = 0.0;
    in_pool(threads, || {
        for _ in 0..repeat + warmup {
            let start = Instant::now();
            model.zero_grad();
            loss = model.lm_step(&ids).expect("valid ids");
            adam.step(&mut model);
            best = best.min(start.elapsed().as_secs_f64());
        }
        // The same step, with a clock between its parts.
        for _ in 0..repeat + warmup {
            let start = Instant::now();
            model.zero_grad();
            let logits = model.forward(&ids).expect("valid ids");
            let (l, dlogits) = lm_loss_in_place(logits, &targets);
            let t1 = Instant::now();
            model.backward(&dlogits);
            drop(dlogits);
            let t2 = Instant::now();
            adam.step(&mut model);
            let t3 = Instant::now();
            std::hint::black_box(l);
            for (best, d) in parts.iter_mut().zip([t1 - start, t2 - t1, t3 - t2]) {
                *best = best.min(d.as_secs_f64());
            }
        }
    });
    println!(
        "best_ms={:.3} fwd_ms={:.3} bwd_ms={:.3} opt_ms={:.3} tokens={} threads={threads} \
         batch={BATCH} context={CONTEXT} layers={LAYERS} width={WIDTH} heads={HEADS} \
         vocab={vocab} params={} loss={loss:.4}",
        best * 1e3,
        parts[0] * 1e3,
        parts[1] * 1e3,
        parts[2] * 1e3,
        BATCH * CONTEXT,
        model.num_params(),
    );
}
