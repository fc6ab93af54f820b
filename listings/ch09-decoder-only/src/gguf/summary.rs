//! What `gguf_info` prints: the header, the metadata, and the tensors per type.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{GgmlType, Gguf, Value};

/// A metadata value on one line: arrays by type and length, long strings cut.
fn show(v: &Value) -> String {
    match v {
        Value::Array(..) => v.describe(),
        Value::String(s) if s.chars().count() > 48 => {
            let head: String = s.chars().take(40).collect();
            format!("{head:?}… ({} bytes)", s.len())
        }
        Value::String(s) => format!("{s:?}"),
        Value::F32(x) => format!("{x:e}"),
        other => format!("{other:?}")
            .split_once('(')
            .map(|(_, rest)| rest.trim_end_matches(')').to_owned())
            .unwrap_or_default(),
    }
}

/// The header, every metadata key, and per ggml type the tensor count, elements, bytes
/// and bits per weight.
pub fn summary(g: &Gguf) -> String {
    let mut s = String::new();
    let (n, len) = (g.tensors.len(), g.bytes().len());
    let _ = writeln!(
        s,
        "GGUF v{}: {} keys, {n} tensors",
        g.version,
        g.metadata.len()
    );
    let _ = writeln!(
        s,
        "alignment {}, data at byte {} of {len}",
        g.alignment, g.data_offset
    );
    for (key, value) in &g.metadata {
        let _ = writeln!(s, "  {key} = {}", show(value));
    }
    let mut per_type: BTreeMap<GgmlType, (usize, u64, u64)> = BTreeMap::new();
    for t in &g.tensors {
        let e = per_type.entry(t.ty).or_default();
        *e = (e.0 + 1, e.1 + t.n_elements(), e.2 + t.n_bytes);
    }
    let _ = writeln!(
        s,
        "{:<6}{:>8}{:>12}{:>12}{:>13}",
        "type", "tensors", "elements", "bytes", "bits/weight"
    );
    let total = per_type
        .values()
        .fold((0, 0, 0), |a, e| (a.0 + e.0, a.1 + e.1, a.2 + e.2));
    let rows = per_type.iter().map(|(ty, e)| (ty.to_string(), e));
    for (ty, (count, elems, bytes)) in rows.chain([("total".to_owned(), &total)]) {
        let bits = *bytes as f64 * 8.0 / *elems as f64;
        let _ = writeln!(
            s,
            "{:<6}{count:>8}{elems:>12}{bytes:>12}{bits:>13.2}",
            ty.to_string()
        );
    }
    s
}
