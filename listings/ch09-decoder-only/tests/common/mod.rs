//! Shared by the tests: the real SmolLM2 GGUF from the models cache, the fixtures, and a
//! small GGUF writer for files built in the tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ch09_decoder_only::gguf::{Gguf, Value};

pub use models::SMOLLM2_GGUF as SMOLLM2_FILE;

/// The real SmolLM2-135M-Instruct GGUF. Without the cache this fails with one line
/// naming `cargo xtask models`: a real-checkpoint test never passes silently.
pub fn smollm2_path() -> PathBuf {
    models::SMOLLM2_135M_INSTRUCT
        .dir()
        .unwrap_or_else(|e| panic!("{e}"))
        .join(SMOLLM2_FILE)
}

/// The real file, parsed once for all the tests of one test binary.
pub fn smollm2() -> &'static Gguf {
    static FILE: OnceLock<Gguf> = OnceLock::new();
    FILE.get_or_init(|| Gguf::open(&smollm2_path()).unwrap_or_else(|e| panic!("{e}")))
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

/// Whether a metadata value equals its JSON form: exactly, except that serde_json's
/// default float parser may be one f64 ulp off Python's shortest repr, so an f32 is
/// compared after rounding the JSON number to f32, an f64 within 1e-15 relative.
pub fn same(v: &Value, j: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (v, j) {
        (Value::Bool(b), J::Bool(c)) => b == c,
        (Value::String(s), J::String(t)) => s == t,
        (Value::F32(x), J::Number(n)) => n.as_f64().map(|n| n as f32) == Some(*x),
        (Value::F64(x), J::Number(n)) => {
            n.as_f64().is_some_and(|n| (n - x).abs() <= 1e-15 * x.abs())
        }
        (Value::Array(_, items), J::Array(js)) => {
            items.len() == js.len() && items.iter().zip(js).all(|(v, j)| same(v, j))
        }
        (v, J::Number(n)) => match (v.as_u64(), n.as_u64(), n.as_i64()) {
            (Some(a), Some(b), _) => a == b,
            (None, _, Some(b)) => signed(v) == Some(b),
            _ => false,
        },
        _ => false,
    }
}

fn signed(v: &Value) -> Option<i64> {
    match *v {
        Value::I8(x) => Some(x.into()),
        Value::I16(x) => Some(x.into()),
        Value::I32(x) => Some(x.into()),
        Value::I64(x) => Some(x),
        _ => None,
    }
}

/// Little-endian GGUF pieces, for files built in the tests.
pub fn string(s: &str) -> Vec<u8> {
    let mut b = (s.len() as u64).to_le_bytes().to_vec();
    b.extend(s.as_bytes());
    b
}

/// A metadata entry: key, value type, value bytes.
pub fn kv(key: &str, ty: u32, value: &[u8]) -> Vec<u8> {
    let mut b = string(key);
    b.extend(ty.to_le_bytes());
    b.extend(value);
    b
}

/// A tensor to write: name, ggml dims, ggml type code, data bytes.
pub struct T<'a> {
    pub name: &'a str,
    pub dims: &'a [u64],
    pub ty: u32,
    pub data: Vec<u8>,
}

/// A whole v3 file: the entries in `kvs`, then the tensors, each at the next offset
/// that is a multiple of `alignment` (which the caller also states in the metadata
/// when it is not 32).
pub fn build(kvs: &[Vec<u8>], tensors: &[T], alignment: u64) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend((tensors.len() as u64).to_le_bytes());
    b.extend((kvs.len() as u64).to_le_bytes());
    for e in kvs {
        b.extend(e);
    }
    let mut offset = 0u64;
    let mut data = Vec::new();
    for t in tensors {
        b.extend(string(t.name));
        b.extend((t.dims.len() as u32).to_le_bytes());
        for d in t.dims {
            b.extend(d.to_le_bytes());
        }
        b.extend(t.ty.to_le_bytes());
        b.extend(offset.to_le_bytes());
        data.extend(&t.data);
        let padded = (data.len() as u64).div_ceil(alignment) * alignment;
        data.resize(padded as usize, 0);
        offset = padded;
    }
    let start = (b.len() as u64).div_ceil(alignment) * alignment;
    b.resize(start as usize, 0);
    b.extend(data);
    b
}

/// A small valid file: a few keys of different types, and F32, F16, Q8_0 and Q4_1
/// tensors.
pub fn small_file() -> Vec<u8> {
    let mut q8 = vec![0x00, 0x38];
    q8.extend((0..32).map(|i: u8| i.wrapping_mul(37)));
    let mut q4 = vec![0x00, 0x3c, 0x00, 0xbc];
    q4.extend((0..16).map(|i: u8| i.wrapping_mul(29)));
    let mut strings = 8u32.to_le_bytes().to_vec();
    strings.extend(2u64.to_le_bytes());
    strings.extend(string("Ġa"));
    strings.extend(string("b c"));
    build(
        &[
            kv("general.architecture", 8, &string("llama")),
            kv("llama.block_count", 4, &2u32.to_le_bytes()),
            kv("llama.rope.freq_base", 6, &1e4f32.to_le_bytes()),
            kv("tokenizer.ggml.add_bos_token", 7, &[0]),
            kv("tokenizer.ggml.tokens", 9, &strings),
        ],
        &[
            T {
                name: "norm",
                dims: &[4],
                ty: 0,
                data: [1f32, -2.0, 0.5, 3.0]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect(),
            },
            T {
                name: "half",
                dims: &[2, 2],
                ty: 1,
                data: vec![0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c],
            },
            T {
                name: "q8",
                dims: &[32],
                ty: 8,
                data: q8,
            },
            T {
                name: "q4",
                dims: &[32, 1],
                ty: 3,
                data: q4,
            },
        ],
        32,
    )
}

/// A complete one-layer Llama (C = 4, 2 heads, 1 KV head, d_ff = 8, vocab 6) with a
/// two-token byte-level vocabulary: enough for the config, the loader and the tokenizer.
pub fn tiny_llama_file() -> Vec<u8> {
    let u32kv = |k: &str, v: u32| kv(k, 4, &v.to_le_bytes());
    let mut tokens = 8u32.to_le_bytes().to_vec();
    tokens.extend(2u64.to_le_bytes());
    tokens.extend(string("a"));
    tokens.extend(string("b"));
    let mut types = 5u32.to_le_bytes().to_vec();
    types.extend(2u64.to_le_bytes());
    types.extend([1i32, 3].iter().flat_map(|t| t.to_le_bytes()));
    let mut merges = 8u32.to_le_bytes().to_vec();
    merges.extend(0u64.to_le_bytes());
    let kvs = vec![
        kv("general.architecture", 8, &string("llama")),
        u32kv("llama.block_count", 1),
        u32kv("llama.embedding_length", 4),
        u32kv("llama.attention.head_count", 2),
        u32kv("llama.attention.head_count_kv", 1),
        u32kv("llama.feed_forward_length", 8),
        u32kv("llama.vocab_size", 6),
        u32kv("llama.context_length", 16),
        kv(
            "llama.attention.layer_norm_rms_epsilon",
            6,
            &1e-5f32.to_le_bytes(),
        ),
        kv("tokenizer.ggml.model", 8, &string("gpt2")),
        kv("tokenizer.ggml.tokens", 9, &tokens),
        kv("tokenizer.ggml.token_type", 9, &types),
        kv("tokenizer.ggml.merges", 9, &merges),
    ];
    let shapes: [(&str, &[u64]); 11] = [
        ("token_embd.weight", &[4, 6]),
        ("output_norm.weight", &[4]),
        ("blk.0.attn_norm.weight", &[4]),
        ("blk.0.attn_q.weight", &[4, 4]),
        ("blk.0.attn_k.weight", &[4, 2]),
        ("blk.0.attn_v.weight", &[4, 2]),
        ("blk.0.attn_output.weight", &[4, 4]),
        ("blk.0.ffn_norm.weight", &[4]),
        ("blk.0.ffn_gate.weight", &[4, 8]),
        ("blk.0.ffn_up.weight", &[4, 8]),
        ("blk.0.ffn_down.weight", &[8, 4]),
    ];
    let ts: Vec<T> = shapes
        .iter()
        .map(|(name, dims)| T {
            name,
            dims,
            ty: 0,
            data: vec![0; 4 * dims.iter().product::<u64>() as usize],
        })
        .collect();
    build(&kvs, &ts, 32)
}

/// The book's root folder (the workspace root).
pub fn book_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A committed file of the book, by its path from the root.
pub fn committed(path: &str) -> String {
    std::fs::read_to_string(book_root().join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}
