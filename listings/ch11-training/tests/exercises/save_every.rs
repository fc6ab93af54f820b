//! Exercise "Save every k steps": a crash costs the updates since the last save, and
//! redoing them gives the uninterrupted run's parameters bit for bit.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch11_training::exercises::save_every::train_with_crash;
use ch11_training::optim::{AdamW, WeightDecay};
use ch11_training::schedule::Schedule;
use ch11_training::trainer::{Batches, Trainer};

fn fresh(stream_len: usize) -> Trainer<Llama, AdamW> {
    Trainer {
        model: Llama::new(LlamaTrainConfig::tiny(), &mut seeded_rng(4)).expect("valid"),
        opt: AdamW::new(WeightDecay::Decoupled(0.1)),
        schedule: Schedule::WarmupLinear {
            warmup: 3,
            total: 14,
        },
        peak_lr: 5e-3,
        clip: Some(1.0),
        step: 0,
        batches: Batches::new(stream_len, 12, 1),
    }
}

fn bits(m: &dyn Module) -> Vec<u32> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.extend(p.value.iter().map(|x| x.to_bits())));
    out
}

#[test]
fn a_crash_loses_the_steps_since_the_last_save_and_nothing_else() {
    let stream: Vec<usize> = (0..500).map(|i| (i * 13 + i / 7) % 40).collect();
    let mut straight = fresh(stream.len());
    for _ in 0..14 {
        straight.train_step(&stream, 2);
    }
    for (k, crash, lost) in [(5, 13, 3), (4, 12, 0), (20, 9, 9)] {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (done, redone) = train_with_crash(
            fresh(stream.len()),
            (&stream, 2),
            dir.path(),
            (14, k, crash),
        )
        .expect("saved and loaded");
        assert_eq!(redone, lost, "k = {k}, crash after {crash}");
        assert_eq!(done.step, 14);
        assert_eq!(bits(&done.model), bits(&straight.model), "k = {k}");
    }
}
