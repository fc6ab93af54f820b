//! Checkpoints that resume exactly: N steps straight through and N/2 + save + load +
//! N/2 give the same parameters bit for bit, at 1 and at 2 threads; a checkpoint that
//! does not fit is an error naming the problem.

use std::path::Path;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch11_training::checkpoint::{ResumeError, load_trainer, save_trainer};
use ch11_training::optim::{AdamW, WeightDecay};
use ch11_training::schedule::Schedule;
use ch11_training::trainer::{Batches, Trainer};

const STEPS: usize = 12;
const B: usize = 3;

fn cfg() -> LlamaTrainConfig {
    LlamaTrainConfig {
        tie_embeddings: true,
        ..LlamaTrainConfig::tiny()
    }
}

fn stream(vocab: usize) -> Vec<usize> {
    (0..700).map(|i| (i * 7 + i / 11) % vocab).collect()
}

/// A trainer at step 0: warm-up within the run, clipping, decoupled decay, and a stream
/// whose epoch (43 windows) ends inside the run, so the data position crosses it.
fn fresh(cfg: &LlamaTrainConfig, stream_len: usize) -> Trainer<Llama, AdamW> {
    Trainer {
        model: Llama::new(cfg.clone(), &mut seeded_rng(3)).expect("a valid config"),
        opt: AdamW::new(WeightDecay::Decoupled(0.1)),
        schedule: Schedule::WarmupCosine {
            warmup: 4,
            total: STEPS,
            floor: 0.1,
        },
        peak_lr: 3e-3,
        clip: Some(1.0),
        step: 0,
        batches: Batches::new(stream_len, 16, 9),
    }
}

fn run(tr: &mut Trainer<Llama, AdamW>, s: &[usize], steps: usize) {
    for _ in 0..steps {
        tr.train_step(s, B);
    }
}

fn bits(m: &dyn Module) -> Vec<u32> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.extend(p.value.iter().map(|x| x.to_bits())));
    out
}

fn straight(threads: usize) -> Vec<u32> {
    in_pool(threads, || {
        let s = stream(cfg().vocab_size);
        let mut tr = fresh(&cfg(), s.len());
        run(&mut tr, &s, STEPS);
        bits(&tr.model)
    })
}

// ANCHOR: resume_test
fn resumed(threads: usize, dir: &Path) -> Vec<u32> {
    in_pool(threads, || {
        let s = stream(cfg().vocab_size);
        let mut tr = fresh(&cfg(), s.len());
        run(&mut tr, &s, STEPS / 2);
        save_trainer(dir, &tr, s.len()).expect("saved");
        drop(tr); // nothing of the first half survives but the files
        let mut tr = load_trainer(dir, &cfg(), s.len()).expect("loaded");
        assert_eq!(tr.step, STEPS / 2);
        run(&mut tr, &s, STEPS / 2);
        bits(&tr.model)
    })
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(f)
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one_bit_for_bit_at_any_thread_count() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let reference = straight(1);
    assert_eq!(straight(2), reference, "2 threads, uninterrupted");
    for threads in [1, 2] {
        let sub = dir.path().join(format!("ckpt-{threads}"));
        assert_eq!(
            resumed(threads, &sub),
            reference,
            "{threads} threads, resumed"
        );
    }
    // and the run did move: the parameters are not their initial values
    let init = bits(&Llama::new(cfg(), &mut seeded_rng(3)).expect("valid"));
    assert_ne!(init, reference);
}
// ANCHOR_END: resume_test

#[test]
fn leaving_out_any_field_changes_the_first_step_after_the_resume() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let s = stream(cfg().vocab_size);
    let mut tr = fresh(&cfg(), s.len());
    run(&mut tr, &s, STEPS / 2);
    save_trainer(dir.path(), &tr, s.len()).expect("saved");
    let load = || load_trainer(dir.path(), &cfg(), s.len()).expect("loaded");
    let mut whole = load();
    run(&mut whole, &s, 1);
    type Forget = fn(&mut Trainer<Llama, AdamW>);
    let forget: [(&str, Forget); 4] = [
        ("the moments", |t| t.opt.state.clear()),
        ("Adam's t", |t| t.opt.t = 0),
        ("the step", |t| t.step = 0),
        ("the cursor", |t| t.batches.cursor = 0),
    ];
    for (what, f) in forget {
        let mut partial = load();
        f(&mut partial);
        run(&mut partial, &s, 1);
        assert_ne!(bits(&partial.model), bits(&whole.model), "without {what}");
    }
}

#[test]
fn a_loaded_trainer_holds_every_field_it_was_saved_with() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let s = stream(cfg().vocab_size);
    let mut tr = fresh(&cfg(), s.len());
    tr.schedule = Schedule::WarmupStableDecay {
        warmup: 2,
        decay: 3,
        total: 9,
        floor: 0.05,
    };
    tr.opt = AdamW::with_betas(0.9, 0.95, 1e-7, WeightDecay::Coupled(0.01));
    tr.clip = None;
    run(&mut tr, &s, 5);
    save_trainer(dir.path(), &tr, s.len()).expect("saved");
    let back = load_trainer(dir.path(), &cfg(), s.len()).expect("loaded");
    assert_eq!(back.schedule, tr.schedule);
    assert_eq!(
        (back.peak_lr, back.clip, back.step),
        (tr.peak_lr, tr.clip, tr.step)
    );
    assert_eq!(back.batches, tr.batches);
    let (a, b) = (&back.opt, &tr.opt);
    assert_eq!(
        (a.beta1, a.beta2, a.eps, a.t),
        (b.beta1, b.beta2, b.eps, b.t)
    );
    assert_eq!(a.weight_decay, b.weight_decay);
    assert_eq!(a.state, b.state);
    assert_eq!(bits(&back.model), bits(&tr.model));
}

/// A saved checkpoint of 2 steps in a fresh folder, and the stream length it indexes.
fn saved(dir: &Path) -> usize {
    let s = stream(cfg().vocab_size);
    let mut tr = fresh(&cfg(), s.len());
    run(&mut tr, &s, 2);
    save_trainer(dir, &tr, s.len()).expect("saved");
    s.len()
}

fn error(dir: &Path, cfg: &LlamaTrainConfig, len: usize) -> String {
    match load_trainer(dir, cfg, len) {
        Ok(_) => panic!("a broken checkpoint loaded"),
        Err(e) => e.to_string(),
    }
}

/// Rewrites the trainer file with its tensors and metadata edited.
fn edit_trainer_file(
    dir: &Path,
    edit: impl FnOnce(
        &mut Vec<(String, Vec<usize>, Vec<f32>)>,
        &mut std::collections::HashMap<String, String>,
    ),
) {
    use safetensors::{Dtype, SafeTensors, tensor::TensorView};
    let path = dir.join("trainer.safetensors");
    let bytes = std::fs::read(&path).expect("read");
    let (_, header) = SafeTensors::read_metadata(&bytes).expect("header");
    let file = SafeTensors::deserialize(&bytes).expect("file");
    let mut meta = header.metadata().clone().expect("metadata");
    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = file
        .tensors()
        .into_iter()
        .map(|(name, v)| {
            let values = v
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name, v.shape().to_vec(), values)
        })
        .collect();
    edit(&mut tensors, &mut meta);
    let raw: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(n, s, v)| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(&str, TensorView<'_>)> = raw
        .iter()
        .map(|(n, s, b)| {
            (
                n.as_str(),
                TensorView::new(Dtype::F32, s.clone(), b).expect("view"),
            )
        })
        .collect();
    std::fs::write(
        &path,
        safetensors::serialize(views, Some(meta)).expect("bytes"),
    )
    .expect("write");
}

#[test]
fn a_truncated_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let len = saved(dir.path());
    let path = dir.path().join("trainer.safetensors");
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() - 100]).expect("write");
    let e = error(dir.path(), &cfg(), len);
    assert!(
        e.contains("trainer.safetensors") && e.contains("not a valid safetensors file"),
        "{e}"
    );
    let model = dir.path().join("model.safetensors");
    std::fs::write(&model, b"not a checkpoint").expect("write");
    std::fs::write(&path, &bytes).expect("write");
    let e = error(dir.path(), &cfg(), len);
    assert!(
        e.contains("model.safetensors") && e.contains("not a valid safetensors file"),
        "{e}"
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let e = error(dir.path(), &cfg(), 700);
    assert!(e.contains("trainer.safetensors"), "{e}");
}

#[test]
fn another_format_version_is_an_error_naming_both() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let len = saved(dir.path());
    edit_trainer_file(dir.path(), |_, meta| {
        meta.insert("version".into(), "2".into());
    });
    let e = load_trainer(dir.path(), &cfg(), len)
        .err()
        .expect("an error");
    assert!(matches!(
        e,
        ResumeError::Version {
            found: 2,
            expected: 1,
            ..
        }
    ));
    assert!(
        e.to_string()
            .contains("format version 2, this code reads version 1"),
        "{e}"
    );
}

#[test]
fn a_checkpoint_of_another_model_size_is_an_error_naming_the_field() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let len = saved(dir.path());
    let wider = LlamaTrainConfig {
        d_model: 32,
        ..cfg()
    };
    let e = error(dir.path(), &wider, len);
    assert!(e.contains("d_model = 16, the run has 32"), "{e}");
}

#[test]
fn a_missing_or_misshapen_moment_is_an_error_naming_the_tensor() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let len = saved(dir.path());
    edit_trainer_file(dir.path(), |tensors, _| {
        tensors.retain(|(name, _, _)| name != "v.norm.weight");
    });
    let e = error(dir.path(), &cfg(), len);
    assert!(e.contains("\"v.norm.weight\" is missing"), "{e}");

    let len = saved(dir.path());
    edit_trainer_file(dir.path(), |tensors, _| {
        let t = tensors
            .iter_mut()
            .find(|(n, _, _)| n == "m.norm.weight")
            .expect("present");
        t.1 = vec![8, 2];
    });
    let e = error(dir.path(), &cfg(), len);
    assert!(
        e.contains("\"m.norm.weight\" has shape [8, 2], expected [16]"),
        "{e}"
    );
}

#[test]
fn files_of_two_saves_or_another_stream_are_errors() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let len = saved(dir.path());
    edit_trainer_file(dir.path(), |_, meta| {
        meta.insert("step".into(), "7".into());
    });
    let e = error(dir.path(), &cfg(), len);
    assert!(
        e.contains("step 7, but") && e.contains("model of step 2"),
        "{e}"
    );

    let len = saved(dir.path());
    let e = error(dir.path(), &cfg(), len + 1);
    assert!(
        e.contains(&format!(
            "a stream of {len} tokens, this run's has {}",
            len + 1
        )),
        "{e}"
    );

    edit_trainer_file(dir.path(), |_, meta| {
        meta.insert("schedule".into(), "cyclic".into());
    });
    let e = error(dir.path(), &cfg(), len);
    assert!(
        e.contains("\"schedule\"") && e.contains("\"cyclic\""),
        "{e}"
    );
}

/// The committed output of the `resume` example, which the text includes: "all four
/// runs end with the same parameters".
#[test]
fn the_resume_example_found_no_parameter_that_differs() {
    let path = format!(
        "{}/../../src/figures/ch11/resume.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("src/figures/ch11/resume.txt");
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("differing")).collect();
    assert_eq!(rows.len(), 4, "{text}");
    for row in rows {
        assert!(row.contains("from the first run: 0 of "), "{row}");
    }
}
