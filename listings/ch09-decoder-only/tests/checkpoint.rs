//! The trained models' checkpoints: saved and loaded back they give the same logits,
//! bit for bit; a file that does not fit is an error naming the tensor or field.

use std::path::Path;

use ch01_foundations::init::seeded_rng;
use ch07_transformer::checkpoint::CheckpointError;
use ch07_transformer::checkpoint::module_to_bytes;
use ch07_transformer::optim::Adam;
use ch09_decoder_only::checkpoint::{
    gpt2_metadata, llama_metadata, load_gpt2, load_llama, save,
};
use ch09_decoder_only::gpt2::{Gpt2, Gpt2Config};
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch09_decoder_only::train_run::TrainConfig;
use ch09_decoder_only::training::{LanguageModel, random_batch};

fn gpt2_cfg() -> Gpt2Config {
    TrainConfig::tiny().gpt2(50)
}

fn llama_cfg() -> LlamaTrainConfig {
    TrainConfig::tiny().llama(50)
}

/// A few Adam steps, so that no parameter holds its initial value.
fn trained<M: LanguageModel>(mut m: M) -> M {
    let (stream, mut rng) = (
        (0..400).map(|i| (i * 7) % 50).collect::<Vec<_>>(),
        seeded_rng(5),
    );
    let mut adam = Adam::new(0.9, 0.95, 1e-8);
    for _ in 0..3 {
        m.zero_grad();
        m.lm_step(&random_batch(&stream, 2, 16, &mut rng));
        adam.step(&mut m, 1e-2);
    }
    m
}

const PROBE: [usize; 12] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];

#[test]
fn saved_and_loaded_models_give_the_same_logits() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut gpt2 = trained(Gpt2::new(gpt2_cfg(), &mut seeded_rng(1)).expect("gpt2"));
    let path = dir.path().join("gpt2.safetensors");
    save(&path, &gpt2, gpt2_metadata(&gpt2.cfg)).expect("saved");
    let mut back =
        load_gpt2(&std::fs::read(&path).expect("read"), &path).expect("loaded");
    assert_eq!(back.cfg, gpt2.cfg);
    assert_eq!(gpt2.logits(&PROBE), back.logits(&PROBE));

    let mut llama = trained(Llama::new(llama_cfg(), &mut seeded_rng(2)).expect("llama"));
    let path = dir.path().join("llama.safetensors");
    save(&path, &llama, llama_metadata(&llama.cfg)).expect("saved");
    let mut back =
        load_llama(&std::fs::read(&path).expect("read"), &path).expect("loaded");
    assert_eq!(back.cfg, llama.cfg);
    assert_eq!(llama.logits(&PROBE), back.logits(&PROBE));
}

fn message(e: CheckpointError) -> String {
    e.to_string()
}

#[test]
fn a_checkpoint_that_does_not_fit_is_an_error_naming_the_tensor_or_field() {
    let path = Path::new("model.safetensors");
    let gpt2 = Gpt2::new(gpt2_cfg(), &mut seeded_rng(1)).expect("gpt2");
    let good = module_to_bytes(&gpt2, gpt2_metadata(&gpt2.cfg)).expect("bytes");

    // Cut short: not a safetensors file at all.
    let e = message(
        load_gpt2(&good[..good.len() / 2], path)
            .err()
            .expect("an error"),
    );
    assert!(
        e.contains("model.safetensors: not a valid safetensors file"),
        "{e}"
    );

    // Another model's file.
    let e = message(load_llama(&good, path).err().expect("an error"));
    assert!(e.contains("metadata field \"format\""), "{e}");

    // The metadata says width 64, the tensors are 32 wide.
    let mut meta = gpt2_metadata(&gpt2.cfg);
    meta.insert("n_embd".into(), "64".into());
    let bytes = module_to_bytes(&gpt2, meta).expect("bytes");
    let e = message(load_gpt2(&bytes, path).err().expect("an error"));
    assert!(
        e.contains("tensor \"wte.table\" has shape [50, 32], expected [50, 64]"),
        "{e}"
    );

    // A field that does not parse, or asks for too much.
    for (field, value) in [("n_layer", "two"), ("vocab_size", "0"), ("n_head", "3")] {
        let mut meta = gpt2_metadata(&gpt2.cfg);
        meta.insert(field.into(), value.into());
        let bytes = module_to_bytes(&gpt2, meta).expect("bytes");
        let e = message(load_gpt2(&bytes, path).err().expect("an error"));
        assert!(e.contains("metadata field"), "{field}: {e}");
        assert!(e.contains(field), "{field}: {e}");
    }

    // Tied in the file, untied in the metadata: the head is missing; and the reverse.
    let tied = Llama::new(llama_cfg(), &mut seeded_rng(2)).expect("llama");
    let mut meta = llama_metadata(&tied.cfg);
    meta.insert("tie_embeddings".into(), "false".into());
    let bytes = module_to_bytes(&tied, meta).expect("bytes");
    let e = message(load_llama(&bytes, path).err().expect("an error"));
    assert!(e.contains("tensor \"lm_head\" is missing"), "{e}");
    let untied = Llama::new(
        LlamaTrainConfig {
            tie_embeddings: false,
            ..llama_cfg()
        },
        &mut seeded_rng(2),
    )
    .expect("llama");
    let bytes = module_to_bytes(&untied, llama_metadata(&tied.cfg)).expect("bytes");
    let e = message(load_llama(&bytes, path).err().expect("an error"));
    assert!(
        e.contains("tensor \"lm_head\" is not a parameter of this model"),
        "{e}"
    );
}
