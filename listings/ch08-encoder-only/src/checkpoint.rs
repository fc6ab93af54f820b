//! A Hugging Face BERT checkpoint in safetensors onto the book's modules (section "The
//! real checkpoint"). Every tensor the config implies must be there with its shape and
//! dtype, and nothing else may be: a checkpoint that does not match is an error naming
//! the tensor, never a model that silently computes something else.

use std::collections::BTreeMap;
use std::path::Path;

use ch01_foundations::init::seeded_rng;
use ndarray::{Array1, Array2, s};
use safetensors::SafeTensors;
use safetensors::tensor::{Dtype, TensorView};

use crate::bert::Bert;
use crate::config::BertConfig;
use crate::heads::BertForPreTraining;
use ch05_encoder::EncoderBlock;

/// Everything that can go wrong loading a model; each names the file and the tensor,
/// field or line at fault.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: {problem}")]
    File { path: String, problem: String },
    #[error("{path}: field {field}: {problem}")]
    Config {
        path: String,
        field: String,
        problem: String,
    },
    #[error("{path}: not a valid safetensors file: {error}")]
    Safetensors { path: String, error: String },
    #[error("{path}: tensor {name} is missing (the config implies it)")]
    MissingTensor { path: String, name: String },
    #[error("{path}: unexpected tensor {name} (not part of a BERT with this config)")]
    ExtraTensor { path: String, name: String },
    #[error(
        "{path}: tensor {name} has shape {got:?}, expected {expected:?} from the config"
    )]
    Shape {
        path: String,
        name: String,
        got: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("{path}: tensor {name} has dtype {got}, expected {expected}")]
    Dtype {
        path: String,
        name: String,
        got: String,
        expected: &'static str,
    },
    #[error(
        "{path}: the vocabulary has {got} tokens but the config's vocab_size is {expected}"
    )]
    VocabSize {
        path: String,
        got: usize,
        expected: usize,
    },
    #[error(transparent)]
    Vocab(#[from] ch02_input::wordpiece::WordPieceError),
}

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|error| LoadError::Io {
        path: path.display().to_string(),
        error,
    })
}

// ANCHOR: expected
/// Every tensor a Hugging Face `BertModel` with `cfg` stores, with its shape and dtype.
/// Linear weights are [out, in], PyTorch's layout.
pub fn expected_tensors(cfg: &BertConfig) -> BTreeMap<String, (Vec<usize>, Dtype)> {
    let (c, f, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
    let (p, s) = (cfg.max_position_embeddings, cfg.type_vocab_size);
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("embeddings.word_embeddings.weight".into(), vec![v, c]),
        ("embeddings.token_type_embeddings.weight".into(), vec![s, c]),
        ("embeddings.position_embeddings.weight".into(), vec![p, c]),
        ("embeddings.LayerNorm.weight".into(), vec![c]),
        ("embeddings.LayerNorm.bias".into(), vec![c]),
        ("pooler.dense.weight".into(), vec![c, c]),
        ("pooler.dense.bias".into(), vec![c]),
    ];
    for i in 0..cfg.num_hidden_layers {
        let l = format!("encoder.layer.{i}");
        for (name, out, inp) in [
            ("attention.self.query", c, c),
            ("attention.self.key", c, c),
            ("attention.self.value", c, c),
            ("attention.output.dense", c, c),
            ("intermediate.dense", f, c),
            ("output.dense", c, f),
        ] {
            shapes.push((format!("{l}.{name}.weight"), vec![out, inp]));
            shapes.push((format!("{l}.{name}.bias"), vec![out]));
        }
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            shapes.push((format!("{l}.{norm}.weight"), vec![c]));
            shapes.push((format!("{l}.{norm}.bias"), vec![c]));
        }
    }
    let mut t: BTreeMap<_, _> = shapes
        .into_iter()
        .map(|(n, s)| (n, (s, Dtype::F32)))
        .collect();
    // A buffer, not a weight: the positions 0, 1, 2, ... that PyTorch saves along.
    t.insert("embeddings.position_ids".into(), (vec![1, p], Dtype::I64));
    t
}
// ANCHOR_END: expected

/// Checks that the file holds exactly the expected tensors, each with its shape and
/// dtype; the first problem in name order is the error.
pub fn check_tensors(
    path: &str,
    st: &SafeTensors<'_>,
    cfg: &BertConfig,
) -> Result<(), LoadError> {
    let expected = expected_tensors(cfg);
    let mut present: Vec<String> = st.names().into_iter().map(str::to_owned).collect();
    present.sort();
    if let Some(name) = present.iter().find(|n| !expected.contains_key(*n)) {
        let (path, name) = (path.to_owned(), name.clone());
        return Err(LoadError::ExtraTensor { path, name });
    }
    for (name, (shape, dtype)) in &expected {
        let t = st.tensor(name).map_err(|_| LoadError::MissingTensor {
            path: path.to_owned(),
            name: name.clone(),
        })?;
        if t.dtype() != *dtype {
            return Err(LoadError::Dtype {
                path: path.to_owned(),
                name: name.clone(),
                got: format!("{:?}", t.dtype()),
                expected: if *dtype == Dtype::F32 { "F32" } else { "I64" },
            });
        }
        if t.shape() != shape.as_slice() {
            return Err(LoadError::Shape {
                path: path.to_owned(),
                name: name.clone(),
                got: t.shape().to_vec(),
                expected: shape.clone(),
            });
        }
    }
    Ok(())
}

// ANCHOR: load
/// A BERT from a checkpoint's bytes, after [`check_tensors`]. Hugging Face's Linear
/// weights are [out, in] (y = x Wᵀ); the book's are [in, out] (y = x W), so each is
/// transposed; query, key and value go side by side into the fused W_qkv.
pub fn load_bert(path: &Path, bytes: &[u8], cfg: BertConfig) -> Result<Bert, LoadError> {
    let name = path.display().to_string();
    let st = SafeTensors::deserialize(bytes).map_err(|e| LoadError::Safetensors {
        path: name.clone(),
        error: e.to_string(),
    })?;
    check_tensors(&name, &st, &cfg)?;
    let w = |n: &str| matrix(&st.tensor(n).expect("checked"));
    let b = |n: &str| vector(&st.tensor(n).expect("checked"));
    // Random values are overwritten below: every parameter has a tensor.
    let mut bert = Bert::new(cfg, &mut seeded_rng(0));
    assign_bert(&mut bert, &w, &b);
    Ok(bert)
}

/// Sets every parameter of `bert` from Hugging Face's names (`embeddings.…`,
/// `encoder.layer.{i}.…`, `pooler.…`): `w` gives a [out, in] matrix or a table, `b` a
/// vector. The one place the names are mapped, whatever source the tensors come from;
/// shapes are the caller's to check (`load_bert` runs [`check_tensors`] first).
pub fn assign_bert(
    bert: &mut Bert,
    w: &dyn Fn(&str) -> Array2<f32>,
    b: &dyn Fn(&str) -> Array1<f32>,
) {
    let e = &mut bert.embeddings;
    e.token.table.value = w("embeddings.word_embeddings.weight");
    e.segment.table.value = w("embeddings.token_type_embeddings.weight");
    e.position.table.value = w("embeddings.position_embeddings.weight");
    e.norm.gamma.value = b("embeddings.LayerNorm.weight");
    e.norm.beta.value = b("embeddings.LayerNorm.bias");
    for (i, block) in bert.encoder.blocks.iter_mut().enumerate() {
        load_block(block, &format!("encoder.layer.{i}"), &w, &b);
    }
    bert.pooler.dense.w.value = transposed(w("pooler.dense.weight"));
    bert.pooler.dense.b.value = b("pooler.dense.bias");
}
// ANCHOR_END: load

/// Sets every parameter of `model` from `BertForPreTraining`'s names: `bert.…` as in
/// [`assign_bert`], and the heads' `cls.…`. The MLM decoder's weight is the tied token
/// table and its bias is `cls.predictions.bias`, so neither has a name of its own.
pub fn assign_pretraining(
    model: &mut BertForPreTraining,
    w: &dyn Fn(&str) -> Array2<f32>,
    b: &dyn Fn(&str) -> Array1<f32>,
) {
    let bw = |n: &str| w(&format!("bert.{n}"));
    let bb = |n: &str| b(&format!("bert.{n}"));
    assign_bert(&mut model.bert, &bw, &bb);
    let t = "cls.predictions.transform";
    let mlm = &mut model.mlm;
    mlm.dense.w.value = transposed(w(&format!("{t}.dense.weight")));
    mlm.dense.b.value = b(&format!("{t}.dense.bias"));
    mlm.norm.gamma.value = b(&format!("{t}.LayerNorm.weight"));
    mlm.norm.beta.value = b(&format!("{t}.LayerNorm.bias"));
    mlm.bias.value = b("cls.predictions.bias");
    model.nsp.w.value = transposed(w("cls.seq_relationship.weight"));
    model.nsp.b.value = b("cls.seq_relationship.bias");
}

// ANCHOR: load_block
/// One encoder layer (`{layer}.attention.self.query.weight`, ...): Q, K and V side
/// by side in W_qkv's columns, each Linear weight from [out, in] to [in, out].
fn load_block(
    block: &mut EncoderBlock,
    layer: &str,
    w: &dyn Fn(&str) -> Array2<f32>,
    b: &dyn Fn(&str) -> Array1<f32>,
) {
    let c = block.attn.d_model();
    let name = |n: &str, p: &str| format!("{layer}.{n}.{p}");
    let vector = |n: &str, p: &str| b(&name(n, p));
    for (j, part) in ["query", "key", "value"].into_iter().enumerate() {
        let n = format!("attention.self.{part}");
        let qkv = s![.., j * c..(j + 1) * c];
        block
            .attn
            .w_qkv
            .value
            .slice_mut(qkv)
            .assign(&w(&name(&n, "weight")).t());
        let qkv = s![j * c..(j + 1) * c];
        block
            .attn
            .b_qkv
            .value
            .slice_mut(qkv)
            .assign(&vector(&n, "bias"));
    }
    let linear = |n: &str| transposed(w(&name(n, "weight")));
    block.attn.w_o.value = linear("attention.output.dense");
    block.attn.b_o.value = vector("attention.output.dense", "bias");
    block.norm1.gamma.value = vector("attention.output.LayerNorm", "weight");
    block.norm1.beta.value = vector("attention.output.LayerNorm", "bias");
    block.ffn.fc1.w.value = linear("intermediate.dense");
    block.ffn.fc1.b.value = vector("intermediate.dense", "bias");
    block.ffn.fc2.w.value = linear("output.dense");
    block.ffn.fc2.b.value = vector("output.dense", "bias");
    block.norm2.gamma.value = vector("output.LayerNorm", "weight");
    block.norm2.beta.value = vector("output.LayerNorm", "bias");
}
// ANCHOR_END: load_block

/// Wᵀ in row-major order: the matmuls run fastest on a standard-layout matrix.
// w: [out, in] -> [in, out]
fn transposed(w: Array2<f32>) -> Array2<f32> {
    w.t().as_standard_layout().into_owned()
}

/// An F32 tensor's little-endian bytes as a matrix.
fn matrix(t: &TensorView<'_>) -> Array2<f32> {
    let (rows, cols) = (t.shape()[0], t.shape()[1]);
    Array2::from_shape_vec((rows, cols), floats(t.data())).expect("checked shape")
}

fn vector(t: &TensorView<'_>) -> Array1<f32> {
    Array1::from_vec(floats(t.data()))
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}
