//! Shared by the tests: the real model from the models cache, and small model
//! directories written into a tempdir.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ch01_foundations::init::{normal, seeded_rng};
use ch05_encoder::block::padding_mask;
use ch08_encoder_only::SentenceEncoder;
use ch08_encoder_only::checkpoint::expected_tensors;
use ch08_encoder_only::config::BertConfig;
use ch08_encoder_only::embeddings::BertEmbeddings;
use ndarray::{Array2, Array3};
use safetensors::tensor::{Dtype, TensorView};

/// The real all-MiniLM-L6-v2's directory. Without the cache this fails with one line
/// naming `cargo xtask models`: a real-checkpoint test never passes silently.
pub fn minilm_dir() -> PathBuf {
    models::ALL_MINILM_L6_V2
        .dir()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The real model, loaded once for all the tests of one test binary.
pub fn minilm() -> &'static Mutex<SentenceEncoder> {
    static MODEL: OnceLock<Mutex<SentenceEncoder>> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = minilm_dir();
        let enc = SentenceEncoder::load(&dir)
            .unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()));
        Mutex::new(enc)
    })
}

pub fn golden_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/minilm.json")
}

/// The fixture's cases as JSON (texts and ids; tensors go through `golden`).
pub fn golden_cases() -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(golden_path()).expect("fixture");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
    doc["cases"].as_object().expect("cases").clone()
}

pub const TINY_VOCAB: &[&str] = &[
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "the", "cat", "sat",
    "on", "mat", ",", ".", "!", "##s", "a", "b", "c",
];

/// A tiny model's config.json.
pub fn tiny_config() -> serde_json::Value {
    serde_json::json!({
        "architectures": ["BertModel"],
        "hidden_act": "gelu",
        "hidden_size": 16,
        "intermediate_size": 32,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": 12,
        "model_type": "bert",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "position_embedding_type": "absolute",
        "type_vocab_size": 2,
        "vocab_size": 24
    })
}

/// The tensors of a checkpoint: name -> (dtype, shape, little-endian bytes).
pub type Tensors = BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>;

/// Random N(0, 0.5²) tensors under every name a BERT with `cfg` has.
pub fn tiny_tensors(cfg: &BertConfig) -> Tensors {
    let mut rng = seeded_rng(7);
    expected_tensors(cfg)
        .into_iter()
        .map(|(name, (shape, dtype))| {
            let n: usize = shape.iter().product();
            let bytes = if dtype == Dtype::I64 {
                (0..n as i64).flat_map(i64::to_le_bytes).collect()
            } else {
                let x: Array2<f32> = normal((1, n), 0.5, &mut rng);
                x.iter().flat_map(|v| v.to_le_bytes()).collect()
            };
            (name, (dtype, shape, bytes))
        })
        .collect()
}

pub fn write_safetensors(path: &Path, tensors: &Tensors) {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, (dtype, shape, bytes))| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), bytes).expect("view"),
            )
        })
        .collect();
    let bytes = safetensors::serialize(views, None).expect("serialize");
    std::fs::write(path, bytes).expect("write safetensors");
}

/// A complete sentence-transformers directory for a tiny random BERT, with `edit`
/// applied to the config and tensors before they are written.
pub fn write_tiny_model(
    dir: &Path,
    edit: impl FnOnce(&mut serde_json::Value, &mut Tensors),
) {
    let mut config = tiny_config();
    let cfg =
        BertConfig::parse(Path::new("config.json"), &config.to_string()).expect("tiny");
    let mut tensors = tiny_tensors(&cfg);
    edit(&mut config, &mut tensors);
    std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    write_safetensors(&dir.join("model.safetensors"), &tensors);
    std::fs::write(dir.join("vocab.txt"), TINY_VOCAB.join("\n") + "\n").unwrap();
    std::fs::write(
        dir.join("1_Pooling/config.json"),
        serde_json::json!({
            "word_embedding_dimension": 16,
            "pooling_mode_cls_token": false,
            "pooling_mode_mean_tokens": true,
            "pooling_mode_max_tokens": false,
            "pooling_mode_mean_sqrt_len_tokens": false
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("sentence_bert_config.json"),
        r#"{"max_seq_length": 8, "do_lower_case": false}"#,
    )
    .unwrap();
    std::fs::write(dir.join("modules.json"), MODULES_JSON).unwrap();
}

pub const MODULES_JSON: &str = r#"[
  {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
  {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
  {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
]"#;

/// A batch of two: item 0 is sentence A then B, item 1 is shorter and padded.
pub fn batch() -> (Array2<usize>, Array2<usize>, Array2<bool>) {
    let ids = Array2::from_shape_vec((2, 5), vec![2, 5, 3, 6, 3, 2, 7, 7, 3, 0]).unwrap();
    let segments =
        Array2::from_shape_vec((2, 5), vec![0, 0, 0, 1, 1, 0, 0, 0, 0, 0]).unwrap();
    (ids, segments, padding_mask(&[5, 4], 5))
}

/// BERT's N(0, 0.02²) tables make the summed rows so small that the LayerNorm after
/// them divides by ≈ 0.035: a finite-difference step of 1e-2 is then no longer small.
/// Unit-scale tables keep the check about the code, not about the step.
pub fn unit_tables(emb: &mut BertEmbeddings, seed: u64) {
    let mut rng = seeded_rng(seed);
    for table in [
        &mut emb.token.table,
        &mut emb.segment.table,
        &mut emb.position.table,
    ] {
        table.value = normal(table.value.dim(), 1.0, &mut rng);
    }
}

/// Σ y ⊙ r in f64: the base value is subtracted before rounding to f32.
pub fn loss(y: &Array3<f32>, r: &Array3<f32>) -> f64 {
    y.iter()
        .zip(r)
        .map(|(&y, &r)| f64::from(y) * f64::from(r))
        .sum()
}

/// The book's root, two levels above this crate.
pub fn book_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A committed file of the book, by its path from the root.
pub fn committed(path: &str) -> String {
    std::fs::read_to_string(book_root().join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}
