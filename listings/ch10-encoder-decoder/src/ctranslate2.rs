//! CTranslate2's `model.bin`: the one-file checkpoint its Python converters write
//! (`ModelSpec._serialize`) and its C++ loader reads (`models/model.cc`). Everything is
//! little-endian:
//!
//! ```text
//! u32 binary version            (4, 5 or 6: the layout below)
//! str spec name                 ("WhisperSpec")
//! u32 spec revision
//! u32 variable count, then per variable:
//!     str name  u8 rank  u32 dims[rank]  u8 dtype id  u32 byte count  bytes
//! u32 alias count, then per alias:
//!     str alias  str the variable it stands for
//! ```
//!
//! A `str` is a u16 length that counts a terminating NUL, then the bytes and the NUL.
//! [`Ct2Model::parse`] checks every length, dtype, size and name before anything is
//! used, so a truncated or corrupt file is an error that names the variable, never a
//! panic.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use ch09_decoder_only::gguf::{dequantize_f16, dequantize_f32};
use ndarray::{ArrayD, IxDyn};

/// Everything that can be wrong with a `model.bin`; each message names the variable,
/// the field or the offset.
#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: {error}")]
    InFile { path: String, error: Box<Ct2Error> },
    #[error(
        "truncated file: {what} needs {need} bytes at offset {at}, the file has {len}"
    )]
    Truncated {
        what: String,
        at: usize,
        need: u64,
        len: usize,
    },
    #[error(
        "binary version {0}: this reader reads CTranslate2's versions 4 to 6 (a model.bin starts with its version as a little-endian u32)"
    )]
    UnsupportedVersion(u32),
    #[error("{what}: {problem}")]
    BadString { what: String, problem: &'static str },
    #[error("variable {variable}: unknown dtype id {code} (CTranslate2's are 0 to 5)")]
    UnknownDtype { variable: String, code: u8 },
    #[error("variable {variable}: {problem}")]
    BadVariable { variable: String, problem: String },
    #[error("variable {0} appears twice")]
    Duplicate(String),
    #[error("variable {0}: no variable (or alias) of that name")]
    Missing(String),
    #[error("{0} bytes after the last alias: the file is longer than its tables say")]
    TrailingBytes(usize),
}

pub type Result<T, E = Ct2Error> = std::result::Result<T, E>;

/// A variable's element type, with its id in the file (CTranslate2's `DataType`).
// ANCHOR: dtype
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F32 = 0,
    I8 = 1,
    I16 = 2,
    I32 = 3,
    F16 = 4,
    Bf16 = 5,
}

impl Dtype {
    fn from_id(code: u8) -> Option<Dtype> {
        use Dtype::*;
        [F32, I8, I16, I32, F16, Bf16]
            .get(usize::from(code))
            .copied()
    }

    pub fn item_size(self) -> usize {
        match self {
            Dtype::I8 => 1,
            Dtype::I16 | Dtype::F16 | Dtype::Bf16 => 2,
            Dtype::F32 | Dtype::I32 => 4,
        }
    }
}
// ANCHOR_END: dtype

/// One variable of the table: where its bytes sit in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub shape: Vec<usize>, // [] for a scalar
    pub dtype: Dtype,
    pub data: Range<usize>, // byte range in the file
}

/// A parsed `model.bin`: the header, the variable table and the aliases, over the
/// file's bytes.
pub struct Ct2Model {
    pub binary_version: u32,
    pub spec: String,
    pub revision: u32,
    pub variables: Vec<Variable>,
    /// (alias, the variable it stands for): how the converter stores a tied weight once.
    pub aliases: Vec<(String, String)>,
    index: HashMap<String, usize>,
    bytes: Vec<u8>,
}

/// Reads little-endian values from a byte slice; every read is bounds-checked.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// The next `n` bytes, or a `Truncated` error naming what was being read.
    fn take(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<&'a [u8]> {
        let rest = &self.bytes[self.pos..];
        match usize::try_from(n).ok().and_then(|n| rest.get(..n)) {
            Some(taken) => {
                self.pos += taken.len();
                Ok(taken)
            }
            None => Err(Ct2Error::Truncated {
                what: what(),
                at: self.pos,
                need: n,
                len: self.bytes.len(),
            }),
        }
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N as u64, what)?);
        Ok(out)
    }

    fn u8(&mut self, what: &dyn Fn() -> String) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }

    /// A u16 length that counts the terminating NUL, the bytes, then the NUL.
    // ANCHOR: string
    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String> {
        let len = u16::from_le_bytes(self.array(what)?);
        let bad = |problem| Ct2Error::BadString {
            what: what(),
            problem,
        };
        let Some((&0, text)) = self.take(u64::from(len), what)?.split_last() else {
            return Err(bad("the string does not end in NUL (or its length is 0)"));
        };
        let text = std::str::from_utf8(text).map_err(|_| bad("not valid UTF-8"))?;
        Ok(text.to_owned())
    }
    // ANCHOR_END: string
}

impl Ct2Model {
    /// Reads and parses a file; errors name the path.
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| Ct2Error::Io {
            path: name.clone(),
            error,
        })?;
        Ct2Model::parse(bytes).map_err(|e| Ct2Error::InFile {
            path: name,
            error: Box::new(e),
        })
    }

    /// Parses the header, every variable's entry and the aliases, checking each byte
    /// count against its shape and dtype, and that the tables end where the file does.
    // ANCHOR: parse
    pub fn parse(bytes: Vec<u8>) -> Result<Self> {
        let mut c = Cursor {
            bytes: &bytes,
            pos: 0,
        };
        let binary_version = c.u32(&|| "the binary version".into())?;
        if !(4..=6).contains(&binary_version) {
            return Err(Ct2Error::UnsupportedVersion(binary_version));
        }
        let spec = c.string(&|| "the spec name".into())?;
        let revision = c.u32(&|| "the spec revision".into())?;
        let n = c.u32(&|| "the variable count".into())?;
        let (mut variables, mut index) = (Vec::new(), HashMap::new());
        for i in 0..n {
            let var = read_variable(&mut c, i)?;
            if index.insert(var.name.clone(), variables.len()).is_some() {
                return Err(Ct2Error::Duplicate(var.name));
            }
            variables.push(var);
        }
        let aliases = read_aliases(&mut c, &index)?;
        if c.pos != bytes.len() {
            return Err(Ct2Error::TrailingBytes(bytes.len() - c.pos));
        }
        Ok(Ct2Model {
            binary_version,
            spec,
            revision,
            variables,
            aliases,
            index,
            bytes,
        })
    }
    // ANCHOR_END: parse
}

/// The alias table: each alias must name a variable, and no name may appear twice.
// ANCHOR: read_aliases
fn read_aliases(
    c: &mut Cursor<'_>,
    index: &HashMap<String, usize>,
) -> Result<Vec<(String, String)>> {
    let n_aliases = c.u32(&|| "the alias count".into())?;
    let mut aliases = Vec::new();
    for i in 0..n_aliases {
        let alias = c.string(&|| format!("alias #{i}"))?;
        let target = c.string(&|| format!("alias {alias}'s variable"))?;
        if !index.contains_key(&target) {
            return Err(Ct2Error::Missing(target));
        }
        if index.contains_key(&alias) || aliases.iter().any(|(a, _)| *a == alias) {
            return Err(Ct2Error::Duplicate(alias));
        }
        aliases.push((alias, target));
    }
    Ok(aliases)
}
// ANCHOR_END: read_aliases

/// The bytes a variable of this shape and dtype holds, if an array that size (and the
/// product of its non-zero dims, which ndarray also requires) is addressable.
fn byte_size(shape: &[usize], dtype: Dtype) -> Option<usize> {
    let addressable = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1)))
        .is_some_and(|n| n <= isize::MAX as usize);
    shape
        .iter()
        .try_fold(dtype.item_size(), |acc, &d| acc.checked_mul(d))
        .filter(|_| addressable)
}

/// One entry of the variable table; its bytes are skipped, not copied.
// ANCHOR: read_variable
fn read_variable(c: &mut Cursor<'_>, i: u32) -> Result<Variable> {
    let name = c.string(&|| format!("variable #{i}'s name"))?;
    let what = || format!("variable {name}");
    let rank = c.u8(&what)?;
    let mut shape = Vec::with_capacity(usize::from(rank));
    for _ in 0..rank {
        shape.push(c.u32(&what)? as usize);
    }
    let code = c.u8(&what)?;
    let dtype = Dtype::from_id(code).ok_or_else(|| Ct2Error::UnknownDtype {
        variable: name.clone(),
        code,
    })?;
    let n_bytes = c.u32(&what)? as usize;
    let expected = byte_size(&shape, dtype);
    if expected != Some(n_bytes) {
        let needs = expected.map_or("more than memory holds".into(), |n| n.to_string());
        return Err(Ct2Error::BadVariable {
            problem: format!(
                "{n_bytes} bytes, but shape {shape:?} of {dtype:?} needs {needs}"
            ),
            variable: name,
        });
    }
    let start = c.pos;
    c.take(n_bytes as u64, &what)?;
    Ok(Variable {
        name,
        shape,
        dtype,
        data: start..c.pos,
    })
}
// ANCHOR_END: read_variable

impl Ct2Model {
    /// A variable by name, or by an alias of it.
    pub fn get(&self, name: &str) -> Result<&Variable> {
        let target = self
            .aliases
            .iter()
            .find(|(a, _)| a == name)
            .map_or(name, |(_, t)| t.as_str());
        let i = self
            .index
            .get(target)
            .ok_or_else(|| Ct2Error::Missing(name.to_owned()))?;
        Ok(&self.variables[*i])
    }

    /// The raw little-endian bytes of a variable.
    pub fn bytes_of(&self, name: &str) -> Result<&[u8]> {
        Ok(&self.bytes[self.get(name)?.data.clone()])
    }

    /// A float variable (F32, F16 or BF16) as f32, in its stored shape.
    // name -> [shape]
    pub fn floats(&self, name: &str) -> Result<ArrayD<f32>> {
        let var = self.get(name)?;
        let b = &self.bytes[var.data.clone()];
        let values = match var.dtype {
            Dtype::F32 => dequantize_f32(b),
            Dtype::F16 => dequantize_f16(b),
            // bfloat16 is the top half of an f32.
            Dtype::Bf16 => b
                .chunks_exact(2)
                .map(|h| {
                    f32::from_bits(u32::from(u16::from_le_bytes([h[0], h[1]])) << 16)
                })
                .collect(),
            other => {
                return Err(Ct2Error::BadVariable {
                    variable: name.to_owned(),
                    problem: format!("{other:?} is not a float type"),
                });
            }
        };
        Ok(ArrayD::from_shape_vec(IxDyn(&var.shape), values)
            .expect("size checked by parse"))
    }

    /// [`Ct2Model::floats`] with the shape the caller expects, or an error naming both.
    // name -> [shape]
    pub fn floats_as(&self, name: &str, shape: &[usize]) -> Result<ArrayD<f32>> {
        let var = self.get(name)?;
        if var.shape != shape {
            return Err(Ct2Error::BadVariable {
                variable: name.to_owned(),
                problem: format!("shape {:?}, expected {shape:?}", var.shape),
            });
        }
        self.floats(name)
    }

    /// An integer scalar (the converter stores flags and head counts as I8/I16/I32).
    pub fn int_scalar(&self, name: &str) -> Result<i64> {
        let var = self.get(name)?;
        let b = &self.bytes[var.data.clone()];
        let value = match (var.shape.as_slice(), var.dtype) {
            ([], Dtype::I8) => Some(i64::from(b[0] as i8)),
            ([], Dtype::I16) => Some(i64::from(i16::from_le_bytes([b[0], b[1]]))),
            ([], Dtype::I32) => {
                Some(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            }
            _ => None,
        };
        value.ok_or_else(|| Ct2Error::BadVariable {
            variable: name.to_owned(),
            problem: format!(
                "{:?} of shape {:?}, expected an integer scalar",
                var.dtype, var.shape
            ),
        })
    }
}
