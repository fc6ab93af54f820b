//! Parsing: a cursor that never reads past the end, the header, the metadata, the tensor
//! table, and the checks that tie the table to the file's length.

use std::collections::HashSet;

use super::quant::{GgmlType, byte_size};
use super::{Gguf, GgufError, Result, TensorInfo, Value, ValueType};

/// The alignment of tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// How deeply arrays may nest (GGUF allows arrays of arrays; llama.cpp writes none).
/// The limit keeps a hostile file from recursing the stack away.
pub const MAX_ARRAY_DEPTH: u32 = 8;

const GGML_MAX_DIMS: u32 = 4;

/// Reads little-endian values from a byte slice; every read is bounds-checked.
// ANCHOR: cursor
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    /// The next `n` bytes, or a `Truncated` error naming `what` was being read.
    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        let rest = &self.bytes[self.pos..];
        match usize::try_from(n).ok().and_then(|n| rest.get(..n)) {
            Some(taken) => {
                self.pos += taken.len();
                Ok(taken)
            }
            None => Err(GgufError::Truncated {
                what: what.to_owned(),
                at: self.pos as u64,
                need: n,
                len: self.bytes.len() as u64,
            }),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N as u64, what)?);
        Ok(out)
    }
}
// ANCHOR_END: cursor

impl<'a> Cursor<'a> {
    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A string: a u64 length, then that many bytes of UTF-8.
    // ANCHOR: string
    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u64(what)?;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| GgufError::BadUtf8 {
            what: what.to_owned(),
        })
    }
    // ANCHOR_END: string

    fn value_type(&mut self, what: &str) -> Result<ValueType> {
        let code = self.u32(what)?;
        ValueType::from_code(code).ok_or_else(|| GgufError::UnknownValueType {
            what: what.to_owned(),
            code,
        })
    }

    /// One value of type `ty`; `what` names the key for messages.
    // ANCHOR: value
    fn value(&mut self, ty: ValueType, what: &str, depth: u32) -> Result<Value> {
        use ValueType as T;
        Ok(match ty {
            T::U8 => Value::U8(self.u8(what)?),
            T::I8 => Value::I8(self.array(what).map(i8::from_le_bytes)?),
            T::U16 => Value::U16(self.array(what).map(u16::from_le_bytes)?),
            T::I16 => Value::I16(self.array(what).map(i16::from_le_bytes)?),
            T::U32 => Value::U32(self.u32(what)?),
            T::I32 => Value::I32(self.array(what).map(i32::from_le_bytes)?),
            T::F32 => Value::F32(self.array(what).map(f32::from_le_bytes)?),
            T::U64 => Value::U64(self.u64(what)?),
            T::I64 => Value::I64(self.array(what).map(i64::from_le_bytes)?),
            T::F64 => Value::F64(self.array(what).map(f64::from_le_bytes)?),
            T::Bool => match self.u8(what)? {
                b @ (0 | 1) => Value::Bool(b == 1),
                b => return Err(invalid(what, format!("a bool is 0 or 1, not {b}"))),
            },
            T::String => Value::String(self.string(what)?),
            T::Array => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(invalid(what, "arrays nested too deeply".into()));
                }
                let elem = self.value_type(what)?;
                let n = self.u64(what)?;
                self.fits(n, elem.min_size(), what)?;
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(self.value(elem, what, depth + 1)?);
                }
                Value::Array(elem, items)
            }
        })
    }
    // ANCHOR_END: value

    /// Checks that `n` items of at least `min` bytes each can fit in what is left,
    /// before anything is allocated for them.
    fn fits(&self, n: u64, min: u64, what: &str) -> Result<()> {
        match n.checked_mul(min) {
            Some(need) if need <= self.remaining() => Ok(()),
            need => Err(GgufError::Truncated {
                what: format!("{what} ({n} items)"),
                at: self.pos as u64,
                need: need.unwrap_or(u64::MAX),
                len: self.bytes.len() as u64,
            }),
        }
    }
}

fn invalid(what: &str, problem: String) -> GgufError {
    GgufError::Invalid {
        what: what.to_owned(),
        problem,
    }
}

fn bad_tensor(tensor: &str, problem: String) -> GgufError {
    GgufError::BadTensor {
        tensor: tensor.to_owned(),
        problem,
    }
}

impl ValueType {
    pub fn from_code(code: u32) -> Option<Self> {
        use ValueType::*;
        [
            U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64,
        ]
        .into_iter()
        .find(|t| *t as u32 == code)
    }

    /// The fewest bytes a value of this type takes in the file.
    fn min_size(self) -> u64 {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => 1,
            U16 | I16 => 2,
            U32 | I32 | F32 => 4,
            U64 | I64 | F64 | String => 8,
            Array => 12,
        }
    }
}

/// The header: magic, version, and the two counts.
// ANCHOR: header
fn header(c: &mut Cursor) -> Result<(u32, u64, u64)> {
    let magic = c.take(4, "the magic")?;
    if magic != b"GGUF" {
        let hex: Vec<String> = magic.iter().map(|b| format!("{b:02x}")).collect();
        let found = format!("{} ({:?})", hex.join(" "), String::from_utf8_lossy(magic));
        return Err(GgufError::BadMagic { found });
    }
    let version = c.u32("the version")?;
    if version != 3 {
        return Err(GgufError::UnsupportedVersion(version));
    }
    let n_tensors = c.u64("the tensor count")?;
    let n_kv = c.u64("the metadata count")?;
    Ok((version, n_tensors, n_kv))
}
// ANCHOR_END: header

/// One tensor info: name, dims, type, offset. The byte size follows from type and dims.
// ANCHOR: tensor_info
fn tensor_info(c: &mut Cursor, index: u64) -> Result<TensorInfo> {
    let name = c.string(&format!("the name of tensor #{index}"))?;
    let n_dims = c.u32(&format!("tensor {name}"))?;
    if n_dims > GGML_MAX_DIMS {
        return Err(bad_tensor(&name, format!("{n_dims} dimensions, at most 4")));
    }
    let dims = (0..n_dims)
        .map(|_| c.u64(&format!("tensor {name}")))
        .collect::<Result<Vec<_>>>()?;
    let code = c.u32(&format!("tensor {name}"))?;
    let ty = GgmlType::from_code(code).ok_or_else(|| GgufError::UnknownTensorType {
        tensor: name.clone(),
        code,
    })?;
    let offset = c.u64(&format!("tensor {name}"))?;
    let n = dims
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .filter(|&n| usize::try_from(n).is_ok())
        .ok_or_else(|| bad_tensor(&name, format!("dims {dims:?} overflow")))?;
    let row = dims.first().copied().unwrap_or(1);
    let n_bytes = byte_size(ty, n).filter(|_| row.is_multiple_of(ty.block_size()));
    let n_bytes = n_bytes.ok_or_else(|| {
        let problem = format!(
            "rows of {row} are not whole {ty} blocks of {}",
            ty.block_size()
        );
        bad_tensor(&name, problem)
    })?;
    Ok(TensorInfo {
        name,
        dims,
        ty,
        offset,
        n_bytes,
    })
}
// ANCHOR_END: tensor_info

/// Each tensor must start on an aligned offset and end inside the file, and no two may
/// overlap.
// ANCHOR: check_layout
fn check_layout(
    tensors: &[TensorInfo],
    alignment: u64,
    data: u64,
    len: u64,
) -> Result<()> {
    for t in tensors {
        if !t.offset.is_multiple_of(alignment) {
            let problem = format!("offset {} is not a multiple of {alignment}", t.offset);
            return Err(bad_tensor(&t.name, problem));
        }
        let end = data
            .checked_add(t.offset)
            .and_then(|s| s.checked_add(t.n_bytes));
        if end.is_none_or(|end| end > len) {
            let problem = format!(
                "{} bytes at offset {} (+{data}) run past the end of the file ({len} bytes)",
                t.n_bytes, t.offset
            );
            return Err(bad_tensor(&t.name, problem));
        }
    }
    let mut by_offset: Vec<&TensorInfo> = tensors.iter().collect();
    by_offset.sort_by_key(|t| t.offset);
    for w in by_offset.windows(2) {
        if w[0].offset + w[0].n_bytes > w[1].offset {
            let problem =
                format!("its {} bytes run into tensor {}", w[0].n_bytes, w[1].name);
            return Err(bad_tensor(&w[0].name, problem));
        }
    }
    Ok(())
}
// ANCHOR_END: check_layout

/// The metadata: `n` entries of key, value type, value; keys are unique.
// ANCHOR: metadata
fn metadata(c: &mut Cursor, n: u64) -> Result<Vec<(String, Value)>> {
    c.fits(n, 8 + 4 + 1, "the metadata")?;
    let mut metadata: Vec<(String, Value)> = Vec::with_capacity(n as usize);
    for i in 0..n {
        let key = c.string(&format!("the key of metadata entry #{i}"))?;
        let what = format!("key {key}");
        if metadata.iter().any(|(k, _)| *k == key) {
            return Err(invalid(&what, "appears twice".into()));
        }
        let ty = c.value_type(&what)?;
        let value = c.value(ty, &what, 0)?;
        metadata.push((key, value));
    }
    Ok(metadata)
}
// ANCHOR_END: metadata

/// The tensor table: `n` tensor infos with unique names.
fn tensor_table(c: &mut Cursor, n: u64) -> Result<Vec<TensorInfo>> {
    c.fits(n, 8 + 4 + 4 + 8, "the tensor table")?;
    let mut tensors = Vec::with_capacity(n as usize);
    let mut names = HashSet::new();
    for i in 0..n {
        let info = tensor_info(c, i)?;
        if !names.insert(info.name.clone()) {
            return Err(bad_tensor(&info.name, "appears twice".into()));
        }
        tensors.push(info);
    }
    Ok(tensors)
}

impl Gguf {
    /// Parses a whole GGUF file held in memory.
    // ANCHOR: parse
    pub fn parse(bytes: Vec<u8>) -> Result<Gguf> {
        let mut c = Cursor::new(&bytes);
        let (version, n_tensors, n_kv) = header(&mut c)?;
        let metadata = metadata(&mut c, n_kv)?;
        let tensors = tensor_table(&mut c, n_tensors)?;
        let alignment = alignment(&metadata)?;
        // The data section starts at the next multiple of the alignment.
        let data_offset = (c.pos as u64).div_ceil(alignment) * alignment;
        check_layout(&tensors, alignment, data_offset, bytes.len() as u64)?;
        Ok(Gguf {
            version,
            metadata,
            tensors,
            alignment,
            data_offset,
            bytes,
        })
    }
    // ANCHOR_END: parse
}

/// `general.alignment`: a u32 power of two, 32 if absent.
fn alignment(metadata: &[(String, Value)]) -> Result<u64> {
    let key = "general.alignment";
    match metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v) {
        None => Ok(DEFAULT_ALIGNMENT),
        Some(Value::U32(a)) if a.is_power_of_two() => Ok(u64::from(*a)),
        Some(v) => Err(invalid(
            &format!("key {key}"),
            format!("expected a u32 power of two, found {v:?}"),
        )),
    }
}
