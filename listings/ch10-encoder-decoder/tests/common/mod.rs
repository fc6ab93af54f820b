//! Shared by the tests: the real Whisper tiny.en from the models cache, the fixtures, and
//! a small `model.bin` writer for files built in the tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ch10_encoder_decoder::ctranslate2::Ct2Model;
use ch10_encoder_decoder::whisper::{Whisper, synthetic_log_mel};
use ndarray::Array2;

/// The real tiny.en directory. Without the cache this fails with one line naming
/// `cargo xtask models`: a real-checkpoint test never passes silently.
pub fn whisper_dir() -> PathBuf {
    models::WHISPER_TINY_EN
        .dir()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The real `model.bin`, parsed once for all the tests of one test binary.
pub fn whisper_bin() -> &'static Ct2Model {
    static FILE: OnceLock<Ct2Model> = OnceLock::new();
    FILE.get_or_init(|| {
        Ct2Model::open(&whisper_dir().join("model.bin")).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The real model and its encoder output on the synthetic log-mel, built once per test
/// binary and shared by its tests.
pub fn real_model() -> &'static Mutex<(Whisper, Array2<f32>)> {
    static CELL: OnceLock<Mutex<(Whisper, Array2<f32>)>> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut model =
            Whisper::from_ct2(whisper_bin()).unwrap_or_else(|e| panic!("{e}"));
        let m = model.encode(&synthetic_log_mel()).unwrap();
        Mutex::new((model, m))
    })
}

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// A fixture's `cases` object.
pub fn fixture(name: &str) -> serde_json::Value {
    let f =
        golden::Fixture::load(golden_dir().join(name)).unwrap_or_else(|e| panic!("{e}"));
    f.cases().clone()
}

/// A fixture's float array.
pub fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

/// Writes `model.bin` bytes the way CTranslate2's `ModelSpec._serialize` lays them out.
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn new(version: u32, spec: &str, revision: u32, n_vars: u32) -> Self {
        let mut w = Writer(version.to_le_bytes().to_vec());
        w.string(spec);
        w.0.extend(revision.to_le_bytes());
        w.0.extend(n_vars.to_le_bytes());
        w
    }

    pub fn string(&mut self, s: &str) {
        self.0.extend((s.len() as u16 + 1).to_le_bytes());
        self.0.extend(s.as_bytes());
        self.0.push(0);
    }

    pub fn variable(&mut self, name: &str, shape: &[u32], dtype: u8, data: &[u8]) {
        self.string(name);
        self.0.push(shape.len() as u8);
        for d in shape {
            self.0.extend(d.to_le_bytes());
        }
        self.0.push(dtype);
        self.0.extend((data.len() as u32).to_le_bytes());
        self.0.extend(data);
    }

    pub fn aliases(&mut self, pairs: &[(&str, &str)]) {
        self.0.extend((pairs.len() as u32).to_le_bytes());
        for (a, t) in pairs {
            self.string(a);
            self.string(t);
        }
    }
}

/// A small valid file: an F32 matrix, an F16 vector, a BF16 scalar-vector, an I16
/// scalar and an alias.
pub fn small_file() -> Vec<u8> {
    let mut w = Writer::new(6, "TestSpec", 3, 4);
    let f32s: Vec<u8> = [1.0f32, -2.0, 0.5, 3.25, 0.0, -0.125]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    w.variable("a/weight", &[2, 3], 0, &f32s);
    // 1.0, -2.0, 0.5 and 65504 (the largest finite half) as F16 bits.
    let f16s: Vec<u8> = [0x3c00u16, 0xc000, 0x3800, 0x7bff]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    w.variable("b/bias", &[4], 4, &f16s);
    // 1.5 and -3.0 as BF16: the top halves of their f32 bits.
    let bf16s: Vec<u8> = [1.5f32, -3.0]
        .iter()
        .flat_map(|v| ((v.to_bits() >> 16) as u16).to_le_bytes())
        .collect();
    w.variable("c/scale", &[2], 5, &bf16s);
    w.variable("num_heads", &[], 2, &6i16.to_le_bytes());
    w.aliases(&[("proj/weight", "a/weight")]);
    w.0
}

/// A small Whisper of `cfg`'s sizes as a CTranslate2 file: every variable
/// `expected_variables` lists (F32, values from a fixed formula), the flags, head counts
/// and alignment scalars, and the tied-output alias. `edit` may change the entries
/// (name, shape, dtype id, bytes) before they are written.
pub fn tiny_whisper_file(
    cfg: &ch10_encoder_decoder::whisper::WhisperConfig,
    edit: impl FnOnce(&mut Vec<(String, Vec<u32>, u8, Vec<u8>)>),
) -> Vec<u8> {
    let mut vars: Vec<(String, Vec<u32>, u8, Vec<u8>)> = Vec::new();
    for (k, (name, shape)) in cfg.expected_variables().into_iter().enumerate() {
        let n: usize = shape.iter().product();
        let data: Vec<u8> = (0..n)
            .flat_map(|i| {
                let v = if name.contains("gamma") {
                    1.0
                } else {
                    0.3 * ((i * 7 + k * 13) as f32 * 0.61).sin()
                };
                v.to_le_bytes()
            })
            .collect();
        vars.push((name, shape.iter().map(|&d| d as u32).collect(), 0, data));
    }
    let scalar_i8 = |name: &str, v: i8| (name.to_owned(), vec![], 1u8, vec![v as u8]);
    let scalar_i16 =
        |name: &str, v: i16| (name.to_owned(), vec![], 2u8, v.to_le_bytes().to_vec());
    vars.push(scalar_i8("decoder/activation", 3));
    vars.push(scalar_i8("decoder/alibi", 0));
    vars.push(scalar_i8("decoder/pre_norm", 1));
    vars.push(scalar_i8("decoder/scale_embeddings", 0));
    vars.push(scalar_i8("decoder/start_from_zero_embedding", 0));
    vars.push(scalar_i16("decoder/alignment_heads", 1));
    vars.push(scalar_i16("decoder/alignment_layer", -1));
    vars.push(scalar_i16("encoder/num_heads", cfg.n_heads as i16));
    vars.push(scalar_i16("decoder/num_heads", cfg.n_heads as i16));
    edit(&mut vars);
    let mut w = Writer::new(6, "WhisperSpec", 3, vars.len() as u32);
    for (name, shape, dtype, data) in &vars {
        w.variable(name, shape, *dtype, data);
    }
    w.aliases(&[("decoder/projection/weight", "decoder/embeddings/weight")]);
    w.0
}

/// Sizes small enough to build a whole Whisper in microseconds.
pub fn tiny_config() -> ch10_encoder_decoder::whisper::WhisperConfig {
    ch10_encoder_decoder::whisper::WhisperConfig {
        n_mels: 3,
        d_model: 4,
        n_heads: 2,
        d_ff: 8,
        n_enc_layers: 2,
        n_dec_layers: 1,
        vocab: 50,
        n_audio_ctx: 5,
        n_text_ctx: 6,
    }
}
