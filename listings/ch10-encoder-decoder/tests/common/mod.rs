//! Shared by the tests: the real Whisper tiny.en from the models cache, the fixtures, and
//! a small `model.bin` writer for files built in the tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ch10_encoder_decoder::ctranslate2::Ct2Model;

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

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// A fixture's `cases` object.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = golden_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
    doc["cases"].clone()
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
