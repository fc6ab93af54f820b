//! BERT's sizes, read from a Hugging Face `config.json`, and the two
//! sentence-transformers files that say how a sentence vector is made (section "The
//! real checkpoint"). Every field is checked; a bad one is an error that names it.

use std::path::Path;

use ch04_ffn_norms::activations::Activation;
use serde_json::Value;

use crate::checkpoint::LoadError;

// ANCHOR: config
/// The sizes of a BERT model, as `config.json` names them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,       // C
    pub num_hidden_layers: usize, // N
    pub num_attention_heads: usize,
    pub intermediate_size: usize, // d_ff
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize, // segments: 2 for sentence pairs A and B
    pub layer_norm_eps: f32,    // 1e-12 in BERT, not PyTorch's default 1e-5
    pub hidden_act: Activation, // "gelu" is the exact, erf-based GELU
}
// ANCHOR_END: config

impl BertConfig {
    /// A small model for tests and from-scratch training.
    pub fn tiny(vocab_size: usize) -> Self {
        BertConfig {
            vocab_size,
            hidden_size: 16,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 32,
            max_position_embeddings: 32,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            hidden_act: Activation::Gelu,
        }
    }

    /// Parses `config.json`; `path` is what errors name.
    pub fn parse(path: &Path, text: &str) -> Result<Self, LoadError> {
        let doc = Fields::parse(path, text)?;
        let cfg = BertConfig {
            vocab_size: doc.size("vocab_size")?,
            hidden_size: doc.size("hidden_size")?,
            num_hidden_layers: doc.size("num_hidden_layers")?,
            num_attention_heads: doc.size("num_attention_heads")?,
            intermediate_size: doc.size("intermediate_size")?,
            max_position_embeddings: doc.size("max_position_embeddings")?,
            type_vocab_size: doc.size("type_vocab_size")?,
            layer_norm_eps: doc.number("layer_norm_eps")? as f32,
            hidden_act: match doc.string("hidden_act")? {
                "gelu" => Activation::Gelu,
                "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
                "relu" => Activation::Relu,
                other => {
                    return Err(doc.bad(
                        "hidden_act",
                        format!(
                            "{other:?} is not one of \"gelu\", \"gelu_new\", \"relu\""
                        ),
                    ));
                }
            },
        };
        if cfg.layer_norm_eps <= 0.0 || !cfg.layer_norm_eps.is_finite() {
            return Err(doc.bad("layer_norm_eps", "must be a positive number".into()));
        }
        if !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            return Err(doc.bad(
                "num_attention_heads",
                format!(
                    "{} does not divide hidden_size {}",
                    cfg.num_attention_heads, cfg.hidden_size
                ),
            ));
        }
        if let Some(kind) = doc.optional_string("position_embedding_type")?
            && kind != "absolute"
        {
            return Err(doc.bad(
                "position_embedding_type",
                format!("{kind:?}: only \"absolute\" (learned positions) is supported"),
            ));
        }
        Ok(cfg)
    }

    /// The width of one attention head, d_k = C / h.
    pub fn d_head(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// How sentence-transformers turns token vectors into one sentence vector, from
/// `modules.json`, `1_Pooling/config.json` and `sentence_bert_config.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentenceConfig {
    /// Inputs longer than this many tokens ([CLS] and [SEP] included) are truncated.
    pub max_seq_length: usize,
}

impl SentenceConfig {
    /// Reads `modules.json`, `1_Pooling/config.json` and `sentence_bert_config.json`
    /// from `dir`, and checks that they describe the one pipeline the book implements:
    /// the transformer, mean pooling of vectors of width `hidden_size`, normalisation.
    pub fn load(dir: &Path, bert: &BertConfig) -> Result<Self, LoadError> {
        let modules_path = dir.join("modules.json");
        let modules: Value =
            serde_json::from_str(&read_text(&modules_path)?).map_err(|e| {
                LoadError::File {
                    path: modules_path.display().to_string(),
                    problem: format!("not valid JSON: {e}"),
                }
            })?;
        let types: Vec<&str> = modules
            .as_array()
            .map(|a| a.iter().filter_map(|m| m.get("type")?.as_str()).collect())
            .unwrap_or_default();
        let want = ["Transformer", "Pooling", "Normalize"]
            .map(|m| format!("sentence_transformers.models.{m}"));
        if types != want {
            return Err(LoadError::Config {
                path: modules_path.display().to_string(),
                field: "type".into(),
                problem: format!("the modules are {types:?}, expected {want:?}"),
            });
        }
        let pooling_path = dir.join("1_Pooling/config.json");
        let p = Fields::parse(&pooling_path, &read_text(&pooling_path)?)?;
        if p.size("word_embedding_dimension")? != bert.hidden_size {
            return Err(p.bad(
                "word_embedding_dimension",
                format!("must equal hidden_size {}", bert.hidden_size),
            ));
        }
        for (field, want) in [
            ("pooling_mode_mean_tokens", true),
            ("pooling_mode_cls_token", false),
            ("pooling_mode_max_tokens", false),
            ("pooling_mode_mean_sqrt_len_tokens", false),
        ] {
            if p.boolean(field)? != want {
                return Err(p.bad(
                    field,
                    format!("must be {want}: only mean pooling is implemented"),
                ));
            }
        }
        let sbert_path = dir.join("sentence_bert_config.json");
        let s = Fields::parse(&sbert_path, &read_text(&sbert_path)?)?;
        let max_seq_length = s.size("max_seq_length")?;
        if max_seq_length < 2 || max_seq_length > bert.max_position_embeddings {
            return Err(s.bad(
                "max_seq_length",
                format!(
                    "{max_seq_length} must lie in 2..={} (max_position_embeddings)",
                    bert.max_position_embeddings
                ),
            ));
        }
        Ok(SentenceConfig { max_seq_length })
    }
}

/// A whole UTF-8 file, naming it in the error.
pub fn read_text(path: &Path) -> Result<String, LoadError> {
    String::from_utf8(crate::checkpoint::read(path)?).map_err(|_| LoadError::File {
        path: path.display().to_string(),
        problem: "not valid UTF-8".into(),
    })
}

/// A JSON object whose fields are read with errors naming the file and the field.
struct Fields<'a> {
    path: &'a Path,
    doc: serde_json::Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn parse(path: &'a Path, text: &str) -> Result<Self, LoadError> {
        let err = |problem: String| LoadError::File {
            path: path.display().to_string(),
            problem,
        };
        match serde_json::from_str(text) {
            Ok(Value::Object(doc)) => Ok(Fields { path, doc }),
            Ok(_) => Err(err("not a JSON object".into())),
            Err(e) => Err(err(format!("not valid JSON: {e}"))),
        }
    }

    fn bad(&self, field: &str, problem: String) -> LoadError {
        LoadError::Config {
            path: self.path.display().to_string(),
            field: field.into(),
            problem,
        }
    }

    fn get(&self, field: &str) -> Result<&Value, LoadError> {
        self.doc
            .get(field)
            .ok_or_else(|| self.bad(field, "missing".into()))
    }

    fn size(&self, field: &str) -> Result<usize, LoadError> {
        match self.get(field)?.as_u64() {
            Some(n) if n > 0 => Ok(n as usize),
            _ => Err(self.bad(
                field,
                format!("{} is not a positive integer", self.get(field)?),
            )),
        }
    }

    fn number(&self, field: &str) -> Result<f64, LoadError> {
        let v = self.get(field)?;
        v.as_f64()
            .ok_or_else(|| self.bad(field, format!("{v} is not a number")))
    }

    fn string(&self, field: &str) -> Result<&str, LoadError> {
        let v = self.get(field)?;
        v.as_str()
            .ok_or_else(|| self.bad(field, format!("{v} is not a string")))
    }

    fn optional_string(&self, field: &str) -> Result<Option<&str>, LoadError> {
        match self.doc.get(field) {
            None => Ok(None),
            Some(_) => self.string(field).map(Some),
        }
    }

    fn boolean(&self, field: &str) -> Result<bool, LoadError> {
        let v = self.get(field)?;
        v.as_bool()
            .ok_or_else(|| self.bad(field, format!("{v} is not true or false")))
    }
}
