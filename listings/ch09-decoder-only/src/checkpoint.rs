//! Checkpoints of the models trained on the book (section "Training on the book"):
//! Chapter 7's safetensors format. Every parameter under its dotted `Module` name as
//! little-endian f32, the config in the string metadata; loading checks the format, each
//! config field, and every tensor's presence, dtype and shape with Chapter 7's
//! `read_params`, and reports the first problem naming the file and the tensor or field.

use std::collections::HashMap;
use std::path::Path;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch07_transformer::checkpoint::{
    CheckpointError, module_to_bytes, read_params, reject_extra_tensors,
};
use safetensors::SafeTensors;

use crate::gpt2::{Gpt2, Gpt2Config};
use crate::llama_model::{Llama, LlamaTrainConfig};

const GPT2: &str = "transformers-deep-dive/ch09-gpt2";
const LLAMA: &str = "transformers-deep-dive/ch09-llama";

// ANCHOR: save
/// GPT-2's config as metadata strings; dropout rates are not stored (training's
/// business, and the book trains without).
pub fn gpt2_metadata(c: &Gpt2Config) -> HashMap<String, String> {
    let fields = [
        ("format", GPT2.to_owned()),
        ("vocab_size", c.vocab_size.to_string()),
        ("n_positions", c.n_positions.to_string()),
        ("n_embd", c.n_embd.to_string()),
        ("n_layer", c.n_layer.to_string()),
        ("n_head", c.n_head.to_string()),
        ("layer_norm_epsilon", c.layer_norm_epsilon.to_string()),
    ];
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Writes `model`'s parameters and `metadata` to `path` (Chapter 7's `module_to_bytes`).
pub fn save(
    path: &Path,
    model: &dyn Module,
    metadata: HashMap<String, String>,
) -> Result<(), CheckpointError> {
    let bytes =
        module_to_bytes(model, metadata).map_err(|source| CheckpointError::Format {
            path: path.to_owned(),
            source,
        })?;
    std::fs::write(path, bytes).map_err(|source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    })
}
// ANCHOR_END: save

/// Llama's config as metadata strings.
pub fn llama_metadata(c: &LlamaTrainConfig) -> HashMap<String, String> {
    let fields = [
        ("format", LLAMA.to_owned()),
        ("vocab_size", c.vocab_size.to_string()),
        ("d_model", c.d_model.to_string()),
        ("n_layers", c.n_layers.to_string()),
        ("n_heads", c.n_heads.to_string()),
        ("n_kv_heads", c.n_kv_heads.to_string()),
        ("d_ff", c.d_ff.to_string()),
        ("rope_base", c.rope_base.to_string()),
        ("norm_eps", c.norm_eps.to_string()),
        ("tie_embeddings", c.tie_embeddings.to_string()),
    ];
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A checkpoint's bytes, its metadata fields, and a parser for them that names the
/// field at fault.
struct File<'a> {
    path: &'a Path,
    tensors: SafeTensors<'a>,
    meta: HashMap<String, String>,
}

impl<'a> File<'a> {
    fn open(
        bytes: &'a [u8],
        path: &'a Path,
        format: &str,
    ) -> Result<Self, CheckpointError> {
        let bad = |source| CheckpointError::Format {
            path: path.to_owned(),
            source,
        };
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(bad)?;
        let tensors = SafeTensors::deserialize(bytes).map_err(bad)?;
        let meta = header.metadata().clone().unwrap_or_default();
        let file = File {
            path,
            tensors,
            meta,
        };
        let found: String = file.field("format")?;
        if found != format {
            return Err(file.err("format", format!("{found:?}, expected {format:?}")));
        }
        Ok(file)
    }

    fn err(&self, field: &str, problem: String) -> CheckpointError {
        CheckpointError::Metadata {
            path: self.path.to_owned(),
            field: field.to_owned(),
            problem,
        }
    }

    fn field<T: std::str::FromStr>(&self, field: &str) -> Result<T, CheckpointError> {
        let text =
            (self.meta.get(field)).ok_or_else(|| self.err(field, "missing".into()))?;
        text.parse()
            .map_err(|_| self.err(field, format!("{text:?} does not parse")))
    }

    /// A size field, bounded so that a corrupt one cannot ask for terabytes.
    fn size(&self, field: &str, max: usize) -> Result<usize, CheckpointError> {
        let n: usize = self.field(field)?;
        match n {
            1.. if n <= max => Ok(n),
            _ => Err(self.err(field, format!("{n} is not in 1..={max}"))),
        }
    }

    /// Every parameter of `model` from the file, and nothing else in the file.
    fn fill(&self, model: &mut dyn Module) -> Result<(), CheckpointError> {
        read_params(model, &self.tensors, self.path)?;
        reject_extra_tensors(model, &self.tensors, self.path)
    }
}

// ANCHOR: load
/// A GPT-2 written by [`save`] with [`gpt2_metadata`].
pub fn load_gpt2(bytes: &[u8], path: &Path) -> Result<Gpt2, CheckpointError> {
    let f = File::open(bytes, path, GPT2)?;
    let cfg = Gpt2Config {
        vocab_size: f.size("vocab_size", 1 << 20)?,
        n_positions: f.size("n_positions", 1 << 16)?,
        n_embd: f.size("n_embd", 1 << 14)?,
        n_layer: f.size("n_layer", 256)?,
        n_head: f.size("n_head", 1 << 10)?,
        layer_norm_epsilon: f.field("layer_norm_epsilon")?,
        embd_pdrop: 0.0,
        attn_pdrop: 0.0,
        resid_pdrop: 0.0,
    };
    cfg.validate().map_err(|e| f.err("config", e.to_string()))?;
    if cfg.vocab_size * cfg.n_embd > bytes.len() / 4 {
        return Err(f.err("vocab_size", "the file is too small for wte".into()));
    }
    // The random values are all overwritten; the seed only fixes what a bug would leave.
    let mut model = Gpt2::new(cfg, &mut seeded_rng(0)).expect("validated");
    f.fill(&mut model)?;
    Ok(model)
}
// ANCHOR_END: load

/// A Llama written by [`save`] with [`llama_metadata`].
pub fn load_llama(bytes: &[u8], path: &Path) -> Result<Llama, CheckpointError> {
    let f = File::open(bytes, path, LLAMA)?;
    let cfg = LlamaTrainConfig {
        vocab_size: f.size("vocab_size", 1 << 20)?,
        d_model: f.size("d_model", 1 << 14)?,
        n_layers: f.size("n_layers", 256)?,
        n_heads: f.size("n_heads", 1 << 10)?,
        n_kv_heads: f.size("n_kv_heads", 1 << 10)?,
        d_ff: f.size("d_ff", 1 << 16)?,
        rope_base: f.field("rope_base")?,
        norm_eps: f.field("norm_eps")?,
        tie_embeddings: f.field("tie_embeddings")?,
    };
    cfg.validate().map_err(|e| f.err("config", e.to_string()))?;
    if cfg.vocab_size * cfg.d_model > bytes.len() / 4 {
        return Err(f.err("vocab_size", "the file is too small for embed".into()));
    }
    let mut model = Llama::new(cfg, &mut seeded_rng(0)).expect("validated");
    f.fill(&mut model)?;
    Ok(model)
}
