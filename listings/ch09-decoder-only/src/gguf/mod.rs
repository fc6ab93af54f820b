//! GGUF, llama.cpp's one-file checkpoint format: a header, typed key-value metadata
//! (hyperparameters, the tokenizer, the chat template), a table of tensor infos, then
//! the aligned tensor data. [`Gguf::parse`] checks every count, string, type, offset and
//! size before anything is used, so a truncated or corrupt file is an error that names
//! the key or tensor, never a panic.

mod quant;
mod reader;
mod summary;

use std::path::Path;

use ndarray::{ArrayD, IxDyn};

pub use quant::{
    GgmlType, byte_size, dequantize, dequantize_f16, dequantize_f32, dequantize_q4_1,
    dequantize_q8_0, f16_to_f32,
};
pub use reader::{DEFAULT_ALIGNMENT, MAX_ARRAY_DEPTH};
pub use summary::summary;

/// Everything that can be wrong with a GGUF file; each message names the key, the
/// tensor or the offset.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: {error}")]
    InFile { path: String, error: Box<GgufError> },
    #[error(
        "truncated file: {what} needs {need} bytes at offset {at}, the file has {len}"
    )]
    Truncated {
        what: String,
        at: u64,
        need: u64,
        len: u64,
    },
    #[error("bad magic {found}: a GGUF file starts with \"GGUF\" (47 47 55 46)")]
    BadMagic { found: String },
    #[error("unsupported GGUF version {0}: this reader reads version 3")]
    UnsupportedVersion(u32),
    #[error("{what}: unknown value type {code} (GGUF's are 0 to 12)")]
    UnknownValueType { what: String, code: u32 },
    #[error("tensor {tensor}: unknown ggml type {code}")]
    UnknownTensorType { tensor: String, code: u32 },
    #[error("{what}: the string is not valid UTF-8")]
    BadUtf8 { what: String },
    #[error("{what}: {problem}")]
    Invalid { what: String, problem: String },
    #[error("tensor {tensor}: {problem}")]
    BadTensor { tensor: String, problem: String },
    #[error("key {0}: missing from the metadata")]
    MissingKey(String),
    #[error("key {key}: expected {expected}, found {found}")]
    WrongType {
        key: String,
        expected: &'static str,
        found: String,
    },
    #[error("tensor {0}: no tensor of that name")]
    MissingTensor(String),
    #[error(
        "tensor {tensor}: dequantizing {ty} is not implemented (F32, F16, Q8_0 and Q4_1 are)"
    )]
    Unsupported { tensor: String, ty: GgmlType },
}

pub type Result<T, E = GgufError> = std::result::Result<T, E>;

/// The type of a metadata value, with its code in the file.
// ANCHOR: value_type
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
}
// ANCHOR_END: value_type

/// One metadata value. An array holds values of one element type, which may itself be
/// an array.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(ValueType, Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::U8(_) => ValueType::U8,
            Value::I8(_) => ValueType::I8,
            Value::U16(_) => ValueType::U16,
            Value::I16(_) => ValueType::I16,
            Value::U32(_) => ValueType::U32,
            Value::I32(_) => ValueType::I32,
            Value::F32(_) => ValueType::F32,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Array(..) => ValueType::Array,
            Value::U64(_) => ValueType::U64,
            Value::I64(_) => ValueType::I64,
            Value::F64(_) => ValueType::F64,
        }
    }

    /// A short description for messages: `u32`, `array of 49152 string`.
    pub fn describe(&self) -> String {
        match self {
            Value::Array(t, items) => format!("array of {} {t:?}", items.len()),
            other => format!("{:?}", other.value_type()),
        }
    }

    /// Any integer type as u64, if it is non-negative.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
}

/// One entry of the tensor table. `dims` are in ggml's order: `dims[0]` is the length
/// of a row (the fastest-moving index), so the row-major shape is `dims` reversed.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    /// From the start of the data section.
    pub offset: u64,
    /// Bytes the data takes, from the type and the shape.
    pub n_bytes: u64,
}

impl TensorInfo {
    /// The row-major shape: `[rows, row length]` for a matrix.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }

    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A parsed GGUF file: its metadata and tensor table, checked, and its bytes.
#[derive(Debug)]
pub struct Gguf {
    pub version: u32,
    /// The key-value pairs in file order.
    pub metadata: Vec<(String, Value)>,
    pub tensors: Vec<TensorInfo>,
    /// `general.alignment`, or 32.
    pub alignment: u64,
    /// Where the data section starts: the end of the tensor table, rounded up.
    pub data_offset: u64,
    bytes: Vec<u8>,
}

impl Gguf {
    /// Reads and parses a file; errors start with its path.
    pub fn open(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| GgufError::Io {
            path: shown.clone(),
            error,
        })?;
        Self::parse(bytes).map_err(|e| GgufError::InFile {
            path: shown,
            error: Box::new(e),
        })
    }

    /// The whole file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value under `key`, or an error naming it.
    pub fn value(&self, key: &str) -> Result<&Value> {
        self.get(key)
            .ok_or_else(|| GgufError::MissingKey(key.to_owned()))
    }

    fn wrong(&self, key: &str, expected: &'static str, v: &Value) -> GgufError {
        GgufError::WrongType {
            key: key.to_owned(),
            expected,
            found: v.describe(),
        }
    }

    /// A non-negative integer of any width.
    pub fn uint(&self, key: &str) -> Result<u64> {
        let v = self.value(key)?;
        v.as_u64()
            .ok_or_else(|| self.wrong(key, "a non-negative integer", v))
    }

    /// A float (f32 or f64).
    pub fn float(&self, key: &str) -> Result<f64> {
        match *self.value(key)? {
            Value::F32(x) => Ok(x.into()),
            Value::F64(x) => Ok(x),
            ref v => Err(self.wrong(key, "a float", v)),
        }
    }

    pub fn bool(&self, key: &str) -> Result<bool> {
        match *self.value(key)? {
            Value::Bool(b) => Ok(b),
            ref v => Err(self.wrong(key, "a bool", v)),
        }
    }

    pub fn str(&self, key: &str) -> Result<&str> {
        match self.value(key)? {
            Value::String(s) => Ok(s),
            v => Err(self.wrong(key, "a string", v)),
        }
    }

    /// An array of strings (the vocabulary, the merges).
    pub fn str_array(&self, key: &str) -> Result<Vec<&str>> {
        match self.value(key)? {
            Value::Array(ValueType::String, items) => Ok(items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect()),
            v => Err(self.wrong(key, "an array of strings", v)),
        }
    }

    /// An array of i32 (the token types).
    pub fn i32_array(&self, key: &str) -> Result<Vec<i32>> {
        match self.value(key)? {
            Value::Array(ValueType::I32, items) => Ok(items
                .iter()
                .filter_map(|v| match v {
                    Value::I32(x) => Some(*x),
                    _ => None,
                })
                .collect()),
            v => Err(self.wrong(key, "an array of i32", v)),
        }
    }

    pub fn tensor(&self, name: &str) -> Result<&TensorInfo> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| GgufError::MissingTensor(name.to_owned()))
    }

    /// The bytes of a tensor's data (its offset and size were checked by `parse`).
    pub fn tensor_data(&self, info: &TensorInfo) -> &[u8] {
        let start = (self.data_offset + info.offset) as usize;
        self.bytes
            .get(start..start + info.n_bytes as usize)
            .unwrap_or_default()
    }

    /// A tensor dequantized to f32, in its row-major shape.
    // ANCHOR: dequantize
    // tensor of ggml dims [d0, d1, ..] -> [.., d1, d0]
    pub fn dequantize(&self, name: &str) -> Result<ArrayD<f32>> {
        let info = self.tensor(name)?;
        let values = dequantize(info.ty, self.tensor_data(info)).ok_or_else(|| {
            GgufError::Unsupported {
                tensor: name.to_owned(),
                ty: info.ty,
            }
        })?;
        ArrayD::from_shape_vec(IxDyn(&info.shape()), values).map_err(|e| {
            GgufError::BadTensor {
                tensor: name.to_owned(),
                problem: e.to_string(),
            }
        })
    }
    // ANCHOR_END: dequantize

    /// [`Gguf::dequantize`], after checking the row-major shape is `shape`: a model
    /// loader states what it expects and gets an error naming the tensor otherwise.
    // tensor -> shape
    pub fn dequantize_as(&self, name: &str, shape: &[usize]) -> Result<ArrayD<f32>> {
        let info = self.tensor(name)?;
        if info.shape() != shape {
            return Err(GgufError::BadTensor {
                tensor: name.to_owned(),
                problem: format!(
                    "shape {:?} in the file, expected {shape:?} from the metadata",
                    info.shape()
                ),
            });
        }
        self.dequantize(name)
    }
}
