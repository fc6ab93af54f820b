//! Checkpoints (section "Checkpoints"): the trained model as a safetensors file. Every
//! parameter is stored under its dotted `Module` name as little-endian f32; the config
//! and both vocabularies go into the file's string metadata, so one file is enough to
//! translate. Loading checks everything a file can get wrong and names what it found.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch05_encoder::block::Wiring;
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, TensorView};
use thiserror::Error;

use crate::data::{Task, Vocab};
use crate::model::{Config, Transformer};

// ANCHOR: error
/// Everything that can be wrong with a checkpoint, each naming the file and the tensor
/// or metadata field at fault.
#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a valid safetensors file: {source}")]
    Format {
        path: PathBuf,
        source: SafeTensorError,
    },
    #[error("{path}: metadata field {field:?}: {problem}")]
    Metadata {
        path: PathBuf,
        field: String,
        problem: String,
    },
    #[error("{path}: tensor {name:?} is missing")]
    MissingTensor { path: PathBuf, name: String },
    #[error("{path}: tensor {name:?} has shape {found:?}, expected {expected:?}")]
    Shape {
        path: PathBuf,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("{path}: tensor {name:?} has dtype {found}, expected F32")]
    Dtype {
        path: PathBuf,
        name: String,
        found: String,
    },
    #[error("{path}: tensor {name:?} is not a parameter of this model")]
    Unexpected { path: PathBuf, name: String },
}
// ANCHOR_END: error

const FORMAT: &str = "transformers-deep-dive/ch07-transformer";

// ANCHOR: to_bytes
/// The model's parameters, config and vocabularies as safetensors bytes.
pub fn to_bytes(model: &Transformer, task: &Task) -> Result<Vec<u8>, SafeTensorError> {
    module_to_bytes(model, metadata(&model.cfg, task))
}

/// Any `Module`'s parameters under their dotted names, with string metadata
/// (Chapter 9 saves its language models with it).
pub fn module_to_bytes(
    model: &dyn Module,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, SafeTensorError> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    model.visit_params(&mut |name, p| {
        let bytes = p.value.iter().flat_map(|x| x.to_le_bytes()).collect();
        tensors.push((name.to_owned(), p.value.shape().to_vec(), bytes));
    });
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            Ok((
                name.as_str(),
                TensorView::new(Dtype::F32, shape.clone(), bytes)?,
            ))
        })
        .collect::<Result<Vec<_>, SafeTensorError>>()?;
    safetensors::serialize(views, Some(metadata))
}
// ANCHOR_END: to_bytes

/// Writes [`to_bytes`] to `path`, creating its folder.
pub fn save(
    path: &Path,
    model: &Transformer,
    task: &Task,
) -> Result<(), CheckpointError> {
    let bytes = to_bytes(model, task).map_err(|source| CheckpointError::Format {
        path: path.to_owned(),
        source,
    })?;
    let io = |source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, bytes).map_err(io)
}

// ANCHOR: metadata
fn metadata(cfg: &Config, task: &Task) -> HashMap<String, String> {
    let wiring = match cfg.wiring {
        Wiring::PostLn => "post_ln",
        Wiring::PreLn => "pre_ln",
    };
    let fields = [
        ("format", FORMAT.to_owned()),
        ("src_vocab", cfg.src_vocab.to_string()),
        ("tgt_vocab", cfg.tgt_vocab.to_string()),
        ("max_len", cfg.max_len.to_string()),
        ("d_model", cfg.d_model.to_string()),
        ("n_heads", cfg.n_heads.to_string()),
        ("d_ff", cfg.d_ff.to_string()),
        ("n_enc", cfg.n_enc.to_string()),
        ("n_dec", cfg.n_dec.to_string()),
        ("wiring", wiring.to_owned()),
        ("tie_output", cfg.tie_output.to_string()),
        ("pad", cfg.pad.to_string()),
        ("src_words", task.src_vocab.words().join(" ")),
        ("tgt_words", task.tgt_vocab.words().join(" ")),
    ];
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
// ANCHOR_END: metadata

// ANCHOR: load
/// Reads a checkpoint written by [`save`]: the model and the task's vocabularies.
pub fn load(path: &Path) -> Result<(Transformer, Task), CheckpointError> {
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    })?;
    from_bytes(&bytes, path)
}

/// [`load`] from bytes in memory; `path` only names the source in errors.
pub fn from_bytes(
    bytes: &[u8],
    path: &Path,
) -> Result<(Transformer, Task), CheckpointError> {
    let format = |source| CheckpointError::Format {
        path: path.to_owned(),
        source,
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(format)?;
    let file = SafeTensors::deserialize(bytes).map_err(format)?;
    let meta = header.metadata().clone().unwrap_or_default();
    let (cfg, task) = parse_metadata(&meta, path)?;
    check_size(&cfg, bytes.len(), path)?;
    // The initial values are overwritten; the seed only fixes what a bug would leave.
    let mut model = Transformer::new(cfg, &mut seeded_rng(0));
    read_params(&mut model, &file, path)?;
    reject_extra_tensors(&model, &file, path)?;
    Ok((model, task))
}
// ANCHOR_END: load

// ANCHOR: check_size
/// A file of `len` bytes is too small for `cfg` if it cannot hold `cfg`'s weight
/// matrices as f32: checked before `Transformer::new` allocates them, so that a
/// corrupt `d_model` is an error, not an attempt to allocate terabytes.
fn check_size(cfg: &Config, len: usize, path: &Path) -> Result<(), CheckpointError> {
    let (needed, held) = (min_params(cfg), len as u128 / 4);
    if needed > held {
        return Err(CheckpointError::Metadata {
            path: path.to_owned(),
            field: "d_model".into(),
            problem: format!(
                "the config needs ≥ {needed} parameters, the file holds {held}"
            ),
        });
    }
    Ok(())
}

/// A lower bound on the parameter count of `cfg` (weight matrices only).
fn min_params(cfg: &Config) -> u128 {
    let [v_s, v_t, d, d_ff, n_enc, n_dec] = [
        cfg.src_vocab,
        cfg.tgt_vocab,
        cfg.d_model,
        cfg.d_ff,
        cfg.n_enc,
        cfg.n_dec,
    ]
    .map(|n| n as u128);
    (v_s + v_t) * d
        + n_enc * (4 * d * d + 2 * d * d_ff)
        + n_dec * (8 * d * d + 2 * d * d_ff)
}
// ANCHOR_END: check_size

// ANCHOR: read_params
/// Overwrites every parameter of `model` with the file's tensor of the same name,
/// stopping at the first that is missing or does not fit. Any `Module` loads this way.
pub fn read_params(
    model: &mut dyn Module,
    file: &SafeTensors<'_>,
    path: &Path,
) -> Result<(), CheckpointError> {
    let mut first_error = None;
    model.visit_params_mut(&mut |name, mut p| {
        if first_error.is_none() {
            match read_tensor(file, name, p.value.shape(), path) {
                Ok(values) => p.value.iter_mut().zip(values).for_each(|(x, v)| *x = v),
                Err(e) => first_error = Some(e),
            }
        }
    });
    first_error.map_or(Ok(()), Err)
}

/// A tensor the model does not have means the file was written by another model.
pub fn reject_extra_tensors(
    model: &dyn Module,
    file: &SafeTensors<'_>,
    path: &Path,
) -> Result<(), CheckpointError> {
    let names = model.param_names();
    match file
        .names()
        .into_iter()
        .find(|n| !names.iter().any(|m| m == n))
    {
        Some(extra) => Err(CheckpointError::Unexpected {
            path: path.to_owned(),
            name: extra.to_owned(),
        }),
        None => Ok(()),
    }
}
// ANCHOR_END: read_params

// ANCHOR: read_tensor
/// One tensor's values, after checking that it exists, is f32 and has `shape`.
fn read_tensor(
    file: &SafeTensors<'_>,
    name: &str,
    shape: &[usize],
    path: &Path,
) -> Result<Vec<f32>, CheckpointError> {
    let (path, name_owned) = (path.to_owned(), name.to_owned());
    let view = file
        .tensor(name)
        .map_err(|_| CheckpointError::MissingTensor {
            path: path.clone(),
            name: name_owned.clone(),
        })?;
    if view.dtype() != Dtype::F32 {
        let found = format!("{:?}", view.dtype());
        return Err(CheckpointError::Dtype {
            path,
            name: name_owned,
            found,
        });
    }
    if view.shape() != shape {
        let (expected, found) = (shape.to_vec(), view.shape().to_vec());
        return Err(CheckpointError::Shape {
            path,
            name: name_owned,
            expected,
            found,
        });
    }
    let values = view.data().chunks_exact(4);
    Ok(values
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}
// ANCHOR_END: read_tensor

/// The config and vocabularies back from the metadata strings, each field checked: a
/// checkpoint is user input, and a bad one must fail here, not in an `assert!` of
/// `Transformer::new`.
fn parse_metadata(
    meta: &HashMap<String, String>,
    path: &Path,
) -> Result<(Config, Task), CheckpointError> {
    let err = |field: &str, problem: String| CheckpointError::Metadata {
        path: path.to_owned(),
        field: field.to_owned(),
        problem,
    };
    let get = |field: &str| meta.get(field).ok_or_else(|| err(field, "missing".into()));
    if get("format")? != FORMAT {
        return Err(err("format", format!("expected {FORMAT:?}")));
    }
    let size = |field: &str, lo: usize, hi: usize| -> Result<usize, CheckpointError> {
        let text = get(field)?;
        match text.parse::<usize>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(err(
                field,
                format!("{text:?} is not an integer in {lo}..={hi}"),
            )),
        }
    };
    let big = 1 << 20; // far above this task, far below an allocation that would abort
    let wiring = match get("wiring")?.as_str() {
        "post_ln" => Wiring::PostLn,
        "pre_ln" => Wiring::PreLn,
        other => {
            return Err(err("wiring", format!("{other:?} is not post_ln or pre_ln")));
        }
    };
    let tie_output = match get("tie_output")?.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(err("tie_output", format!("{other:?} is not true or false")));
        }
    };
    let cfg = Config {
        src_vocab: size("src_vocab", 1, big)?,
        tgt_vocab: size("tgt_vocab", 1, big)?,
        max_len: size("max_len", 1, 4096)?,
        d_model: size("d_model", 1, 1 << 14)?,
        n_heads: size("n_heads", 1, 1 << 10)?,
        d_ff: size("d_ff", 1, 1 << 16)?,
        n_enc: size("n_enc", 1, 64)?,
        n_dec: size("n_dec", 1, 64)?,
        wiring,
        tie_output,
        pad: size("pad", 0, big)?,
    };
    if !cfg.d_model.is_multiple_of(cfg.n_heads) {
        let problem = format!("d_model {} is not a multiple of it", cfg.d_model);
        return Err(err("n_heads", problem));
    }
    if cfg.pad >= cfg.src_vocab.min(cfg.tgt_vocab) {
        return Err(err("pad", format!("{} is outside a vocabulary", cfg.pad)));
    }
    let vocab = |field: &str, n: usize| -> Result<Vocab, CheckpointError> {
        let words: Vec<&str> = get(field)?.split(' ').collect();
        if words.len() != n {
            return Err(err(field, format!("{} words, expected {n}", words.len())));
        }
        Ok(Vocab::new(words))
    };
    let task = Task {
        src_vocab: vocab("src_words", cfg.src_vocab)?,
        tgt_vocab: vocab("tgt_words", cfg.tgt_vocab)?,
    };
    Ok((cfg, task))
}
