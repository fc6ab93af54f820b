//! The chapter's training loop: data positions that rebuild exactly, and a few steps of
//! AdamW with warm-up and clipping that lower the loss on a repeating stream.

use ch01_foundations::module::Module;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch11_training::optim::{AdamW, WeightDecay};
use ch11_training::schedule::Schedule;
use ch11_training::trainer::{Batches, Trainer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn a_data_position_rebuilds_the_same_batches() {
    let stream: Vec<usize> = (0..1000).map(|i| i % 37).collect();
    let mut a = Batches::new(stream.len(), 16, 7);
    for _ in 0..9 {
        a.next(&stream, 8); // 72 windows: past the end of epoch 0 (62 windows)
    }
    assert_eq!(a.epoch, 1);
    let mut b = Batches::at(stream.len(), 16, 7, a.epoch, a.cursor);
    assert_eq!(a.next(&stream, 8), b.next(&stream, 8));
}

#[test]
fn an_epoch_visits_every_window_once() {
    let stream: Vec<usize> = (0..160).collect();
    let mut batches = Batches::new(stream.len(), 10, 3);
    let mut starts: Vec<usize> = batches.next(&stream, 16).column(0).to_vec();
    starts.sort();
    assert_eq!(starts, (0..16).map(|i| i * 10).collect::<Vec<_>>());
}

#[test]
fn adamw_with_warmup_and_clipping_lowers_the_loss() {
    let cfg = LlamaTrainConfig::tiny();
    let model = Llama::new(cfg.clone(), &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    let stream: Vec<usize> = (0..2000).map(|i| (i * 7) % cfg.vocab_size).collect();
    let mut trainer = Trainer {
        model,
        opt: AdamW::new(WeightDecay::Decoupled(0.1)),
        schedule: Schedule::WarmupCosine {
            warmup: 5,
            total: 40,
            floor: 0.1,
        },
        peak_lr: 1e-2,
        clip: Some(1.0),
        step: 0,
        batches: Batches::new(stream.len(), 16, 0),
    };
    let first = trainer.train_step(&stream, 4).loss;
    let mut last = first;
    for _ in 1..40 {
        last = trainer.train_step(&stream, 4).loss;
    }
    assert_eq!(trainer.step, 40);
    assert!(trainer.model.num_params() > 0);
    assert!(last < 0.5 * first, "loss {first} -> {last}");
}
