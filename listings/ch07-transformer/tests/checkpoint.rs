//! Checkpoints: a round trip gives bit-identical logits, and every way a file can be
//! wrong is an error that names the tensor or field, never a panic.

use std::collections::HashMap;
use std::path::Path;

use ch01_foundations::init::seeded_rng;
use ch05_encoder::block::Wiring;
use ch07_transformer::Config;
use ch07_transformer::Transformer;
use ch07_transformer::checkpoint::{CheckpointError, from_bytes, load, save, to_bytes};
use ch07_transformer::data::{Style, Task};
use ch07_transformer::train::model_config;
use ndarray::Array2;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

fn model(task: &Task, tie: bool, wiring: Wiring) -> Transformer {
    let cfg = Config {
        tie_output: tie,
        wiring,
        ..model_config(task, 16, 1)
    };
    Transformer::new(cfg, &mut seeded_rng(5))
}

fn batch(task: &Task) -> (Array2<usize>, Array2<usize>) {
    let mut rng = seeded_rng(6);
    let examples: Vec<_> = (0..3).map(|_| task.random_example(&mut rng)).collect();
    let b = ch07_transformer::data::Batch::new(&examples);
    (b.src, b.tgt_in)
}

#[test]
fn round_trip_gives_bit_identical_logits() {
    let task = Task::default();
    let dir = tempfile::tempdir().unwrap();
    for (tie, wiring) in [(true, Wiring::PostLn), (false, Wiring::PreLn)] {
        let mut original = model(&task, tie, wiring);
        let path = dir.path().join("sub/model.safetensors");
        save(&path, &original, &task).unwrap();
        let (mut loaded, loaded_task) = load(&path).unwrap();
        assert_eq!(loaded.cfg, original.cfg);
        assert_eq!(loaded_task.src_vocab, task.src_vocab);
        assert_eq!(loaded_task.tgt_vocab, task.tgt_vocab);
        let (src, tgt_in) = batch(&task);
        let (a, b) = (
            original.forward(&src, &tgt_in),
            loaded.forward(&src, &tgt_in),
        );
        let bits =
            |x: &ndarray::Array3<f32>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
    }
}

type Tensors = Vec<(String, Dtype, Vec<usize>, Vec<u8>)>;

/// A valid checkpoint taken apart, edited by `edit`, and put back together.
fn edited(edit: impl FnOnce(&mut Tensors, &mut HashMap<String, String>)) -> Vec<u8> {
    let task = Task::default();
    let bytes = to_bytes(&model(&task, true, Wiring::PostLn), &task).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut meta = SafeTensors::read_metadata(&bytes)
        .unwrap()
        .1
        .metadata()
        .clone()
        .unwrap();
    let mut tensors: Tensors = file
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    edit(&mut tensors, &mut meta);
    let views = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()));
    safetensors::serialize(views, Some(meta)).unwrap()
}

fn load_err(bytes: &[u8]) -> CheckpointError {
    match from_bytes(bytes, Path::new("model.safetensors")) {
        Ok(_) => panic!("loaded a broken checkpoint"),
        Err(e) => e,
    }
}

const NAME: &str = "decoder.layers.0.cross_attn.w_q";

#[test]
fn corrupt_bytes_are_a_format_error() {
    let good = edited(|_, _| {});
    for bytes in [
        &good[..good.len() / 2],
        &good[..5],
        b"not a checkpoint at all".as_slice(),
    ] {
        let e = load_err(bytes);
        assert!(matches!(e, CheckpointError::Format { .. }), "{e}");
        assert!(e.to_string().starts_with("model.safetensors: "), "{e}");
    }
    let mut header_garbage = good.clone();
    header_garbage[8..16].copy_from_slice(b"@@@@@@@@");
    assert!(matches!(
        load_err(&header_garbage),
        CheckpointError::Format { .. }
    ));
}

#[test]
fn a_missing_tensor_is_named() {
    let names: Vec<String> = {
        let task = Task::default();
        ch01_foundations::module::Module::param_names(&model(&task, true, Wiring::PostLn))
    };
    assert!(names.iter().any(|n| n == NAME), "{names:?}");
    let e = load_err(&edited(|t, _| t.retain(|(n, ..)| n != NAME)));
    assert!(
        matches!(&e, CheckpointError::MissingTensor { name, .. } if name == NAME),
        "{e}"
    );
    assert!(e.to_string().contains(NAME));
}

#[test]
fn a_wrong_shape_names_tensor_and_both_shapes() {
    // fewer rows: a different element count
    let e = load_err(&edited(|t, _| {
        let entry = t.iter_mut().find(|(n, ..)| n == NAME).unwrap();
        entry.2 = vec![15, 16];
        entry.3.truncate(15 * 16 * 4);
    }));
    let CheckpointError::Shape {
        name,
        expected,
        found,
        ..
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(name, NAME);
    assert_eq!(
        (expected.as_slice(), found.as_slice()),
        ([16, 16].as_slice(), [15, 16].as_slice())
    );
    // transposed: the same element count, still the wrong shape
    let e = load_err(&edited(|t, _| {
        let entry = t.iter_mut().find(|(n, ..)| n == "tgt_embed.table").unwrap();
        entry.2 = vec![entry.2[1], entry.2[0]];
    }));
    let msg = e.to_string();
    assert!(matches!(e, CheckpointError::Shape { .. }), "{msg}");
    assert!(
        msg.contains("tgt_embed.table")
            && msg.contains("[16, 14]")
            && msg.contains("[14, 16]"),
        "{msg}"
    );
}

#[test]
fn a_wrong_dtype_is_named() {
    let e = load_err(&edited(|t, _| {
        let entry = t.iter_mut().find(|(n, ..)| n == NAME).unwrap();
        entry.1 = Dtype::F16;
        entry.3.truncate(entry.3.len() / 2);
    }));
    assert!(
        matches!(&e, CheckpointError::Dtype { name, .. } if name == NAME),
        "{e}"
    );
    assert!(e.to_string().contains("F16"), "{e}");
}

#[test]
fn an_unexpected_tensor_is_named() {
    let e = load_err(&edited(|t, _| {
        t.push(("out.w".into(), Dtype::F32, vec![1], vec![0; 4]));
    }));
    assert!(
        matches!(&e, CheckpointError::Unexpected { name, .. } if name == "out.w"),
        "{e}"
    );
}

#[test]
fn bad_metadata_names_the_field() {
    let cases: [(&str, Option<&str>); 7] = [
        ("d_model", Some("sixty-four")),
        ("d_model", None),
        ("n_heads", Some("3")), // 16 is not a multiple of 3
        ("wiring", Some("sandwich")),
        ("format", Some("gpt2")),
        ("src_words", Some("<pad> the of")),
        ("d_model", Some("16384")), // within range, but the file is far too small
    ];
    for (field, value) in cases {
        let e = load_err(&edited(|_, meta| match value {
            Some(v) => {
                meta.insert(field.into(), v.into());
            }
            None => {
                meta.remove(field);
            }
        }));
        assert!(
            matches!(&e, CheckpointError::Metadata { field: f, .. } if f == field),
            "{field} = {value:?}: {e}"
        );
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let e = load(Path::new("no/such/model.safetensors")).err().unwrap();
    assert!(matches!(e, CheckpointError::Io { .. }));
    assert!(e.to_string().contains("no/such/model.safetensors"), "{e}");
}

#[test]
fn a_loaded_model_translates_like_the_saved_one() {
    let task = Task::default();
    let mut original = model(&task, true, Wiring::PostLn);
    let (mut loaded, loaded_task) =
        from_bytes(&to_bytes(&original, &task).unwrap(), Path::new("m")).unwrap();
    let text = task.example(
        ch07_transformer::data::Date {
            year: 1990,
            month: 5,
            day: 1,
        },
        Style::DayFirst,
    );
    let text = task.src_vocab.decode(&text.src, " ");
    let a = ch07_transformer::train::translate(&mut original, &task, &text, 2).unwrap();
    let b =
        ch07_transformer::train::translate(&mut loaded, &loaded_task, &text, 2).unwrap();
    assert_eq!(a, b);
}

/// The error messages the section "Checkpoints" shows.
#[test]
fn snapshot_errors() {
    let good = edited(|_, _| {});
    let mut text = String::new();
    let mut show = |what: &str, e: CheckpointError| text += &format!("{what}:\n  {e}\n");
    show("truncated file", load_err(&good[..good.len() / 2]));
    show(
        "a tensor removed",
        load_err(&edited(|t, _| t.retain(|(n, ..)| n != NAME))),
    );
    show(
        "a tensor transposed",
        load_err(&edited(|t, _| {
            let entry = t.iter_mut().find(|(n, ..)| n == "tgt_embed.table").unwrap();
            entry.2 = vec![entry.2[1], entry.2[0]];
        })),
    );
    show(
        "a tensor stored as f16",
        load_err(&edited(|t, _| {
            let entry = t.iter_mut().find(|(n, ..)| n == NAME).unwrap();
            entry.1 = Dtype::F16;
            entry.3.truncate(entry.3.len() / 2);
        })),
    );
    show(
        "n_heads edited to 3",
        load_err(&edited(|_, m| {
            m.insert("n_heads".into(), "3".into());
        })),
    );
    let task = Task::default();
    let mut model = model(&task, true, Wiring::PostLn);
    let e = ch07_transformer::train::translate(&mut model, &task, "the first of mai", 1);
    text += &format!("an unknown word:\n  {}\n", e.unwrap_err());
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("checkpoint_errors", text);
    });
}

/// What the text shows of a checkpoint's header: the metadata and one tensor's entry, for
/// the example's model shape (the header depends on the shapes, not on the weights).
#[test]
fn header_excerpt_of_the_examples_model() {
    let task = Task::default();
    let model = Transformer::new(model_config(&task, 64, 3), &mut seeded_rng(0));
    let bytes = to_bytes(&model, &task).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let mut text = format!("header: {n} bytes of JSON, {} entries\n", {
        header.as_object().unwrap().len()
    });
    text += "__metadata__:\n";
    for (key, value) in header["__metadata__"].as_object().unwrap() {
        let value = value.as_str().unwrap();
        let words: Vec<&str> = value.split(' ').collect();
        if words.len() > 6 {
            // The vocabularies: the first words and the count, not all 69.
            let head = words[..6].join(" ");
            text += &format!("  {key}: \"{head} ...\" ({} words)\n", words.len());
        } else {
            text += &format!("  {key}: {value:?}\n");
        }
    }
    let name = "decoder.layers.0.cross_attn.w_q";
    text += &format!("{name}: {}\n", header[name]);
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("header", text);
    });
}
