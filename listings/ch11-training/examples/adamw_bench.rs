//! The time of one AdamW step over the parameters of Chapter 9's training Llama, for
//! tools/golden/bench_ch11.py:
//!
//!   cargo run --release -p ch11-training --example adamw_bench -- --threads 2
//!
//! Gradients are seeded noise, set once; each timed run is one `step` (the parameters
//! and moments change from run to run, the work does not). The best of --repeat runs
//! after --repeat / 10 warm-up steps, inside a rayon pool of --threads threads. One line
//! of `key=value` fields: best_us, params, and `shapes`, each tensor as
//! name:d0xd1:decay (decay 1 when `decays` puts it in the decayed group), for the
//! PyTorch side to build the same tensors.

use ch01_foundations::linalg::{best_of, in_pool};
use ch01_foundations::module::Module;
use ch09_decoder_only::llama_model::Llama;
use ch09_decoder_only::train_run::TrainConfig;
use ch11_training::optim::{AdamW, Optimizer, WeightDecay, decays};
use clap::Parser;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Parser)]
struct Args {
    /// Size of the rayon pool the step runs on.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed steps to take the best of.
    #[arg(long, default_value_t = 200)]
    repeat: usize,
}

fn main() {
    let args = Args::parse();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut model =
        Llama::new(TrainConfig::full().llama(2048), &mut rng).expect("a valid config");
    model.visit_params_mut(&mut |_, mut p| {
        p.grad.mapv_inplace(|_| rng.random_range(-1.0..1.0))
    });
    // nanoGPT's settings, as in Chapter 9's training-step benchmark.
    let mut opt = AdamW::with_betas(0.9, 0.95, 1e-8, WeightDecay::Decoupled(0.1));
    let (seconds, ()) = in_pool(args.threads, || {
        best_of(args.repeat / 10, args.repeat, || opt.step(&mut model, 3e-4))
    });
    let mut shapes = Vec::new();
    model.visit_params(&mut |name, p| {
        let dims: Vec<String> = p.value.shape().iter().map(usize::to_string).collect();
        shapes.push(format!(
            "{name}:{}:{}",
            dims.join("x"),
            u8::from(decays(name))
        ));
    });
    println!(
        "best_us={:.2} params={} shapes={}",
        seconds * 1e6,
        model.num_params(),
        shapes.join(",")
    );
}
