//! The reader against the `gguf` Python package (tools/golden/ch09_gguf.py): the real
//! SmolLM2-135M-Instruct file, and a small file written by gguf.GGUFWriter with every
//! value type and F16. Dequantized values must be equal exactly as f32 (the formulas are
//! the same f32 operations); whole-tensor sums within 1e-9 relative (f64 summation order).

mod common;

use ch09_decoder_only::gguf::{GgmlType, Gguf, Value, ValueType};
use common::{fixture, same, smollm2};

fn check_values(g: &Gguf, name: &str, want: &serde_json::Value) {
    let info = g.tensor(name).unwrap();
    assert_eq!(
        info.ty.to_string(),
        want["type"].as_str().unwrap(),
        "{name}"
    );
    let dims: Vec<u64> = serde_json::from_value(want["dims"].clone()).unwrap();
    assert_eq!(info.dims, dims, "{name}");
    let x = g.dequantize(name).unwrap();
    let flat = x.as_slice().expect("contiguous");
    for (start, slice) in want["slices"].as_object().unwrap() {
        let start: usize = start.parse().unwrap();
        for (i, w) in slice.as_array().unwrap().iter().enumerate() {
            let got = flat[start + i];
            assert_eq!(got, w.as_f64().unwrap() as f32, "{name}[{}]", start + i);
        }
    }
    let sum: f64 = flat.iter().map(|&v| f64::from(v)).sum();
    let sum_sq: f64 = flat.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    for (got, key) in [(sum, "sum"), (sum_sq, "sum_sq")] {
        let w = want[key].as_f64().unwrap();
        let rel = (got - w).abs() / w.abs().max(1e-30);
        assert!(
            rel < 1e-9,
            "{name} {key}: {got} against {w} ({rel:e} relative)"
        );
    }
}

#[test]
fn smollm2_header_and_metadata_match_gguf_py() {
    let g = smollm2();
    let want = fixture("gguf.json");
    assert_eq!(u64::from(g.version), want["version"].as_u64().unwrap());
    assert_eq!(g.metadata.len() as u64, want["n_keys"].as_u64().unwrap());
    assert_eq!(g.tensors.len() as u64, want["n_tensors"].as_u64().unwrap());
    assert_eq!(g.alignment, want["alignment"].as_u64().unwrap());
    assert_eq!(g.data_offset, want["data_offset"].as_u64().unwrap());
    for (key, w) in want["metadata"].as_object().unwrap() {
        let v = g.value(key).unwrap();
        assert!(same(v, w), "{key}: {v:?} against {w}");
    }
    assert_eq!(g.uint("llama.embedding_length").unwrap(), 576);
    assert_eq!(g.uint("llama.block_count").unwrap(), 30);
    assert_eq!(g.float("llama.rope.freq_base").unwrap(), 1e5);
    assert_eq!(
        g.str("tokenizer.chat_template").unwrap(),
        want["chat_template"]
    );
}

#[test]
fn smollm2_tokenizer_arrays_match_gguf_py() {
    let g = smollm2();
    let want = fixture("gguf.json");
    let tokens = g.str_array("tokenizer.ggml.tokens").unwrap();
    assert_eq!(tokens.len() as u64, want["n_tokens"].as_u64().unwrap());
    for (i, t) in want["first_tokens"].as_array().unwrap().iter().enumerate() {
        assert_eq!(tokens[i], t.as_str().unwrap());
    }
    for (i, t) in want["tokens_at"].as_object().unwrap() {
        assert_eq!(tokens[i.parse::<usize>().unwrap()], t.as_str().unwrap());
    }
    let merges = g.str_array("tokenizer.ggml.merges").unwrap();
    assert_eq!(merges.len() as u64, want["n_merges"].as_u64().unwrap());
    for (i, m) in want["first_merges"].as_array().unwrap().iter().enumerate() {
        assert_eq!(merges[i], m.as_str().unwrap());
    }
    let types = g.i32_array("tokenizer.ggml.token_type").unwrap();
    for (t, count) in want["token_type_counts"].as_object().unwrap() {
        let t: i32 = t.parse().unwrap();
        let n = types.iter().filter(|&&x| x == t).count() as u64;
        assert_eq!(n, count.as_u64().unwrap(), "token type {t}");
    }
}

#[test]
fn smollm2_tensor_table_matches_gguf_py() {
    let g = smollm2();
    let want = fixture("gguf.json");
    let table = want["tensor_table"].as_array().unwrap();
    assert_eq!(g.tensors.len(), table.len());
    for (t, w) in g.tensors.iter().zip(table) {
        let (name, ty, dims, offset): (String, String, Vec<u64>, u64) =
            serde_json::from_value(w.clone()).unwrap();
        assert_eq!(
            (&t.name, t.ty.to_string(), &t.dims, t.offset),
            (&name, ty, &dims, offset)
        );
    }
}

#[test]
fn smollm2_dequantization_matches_gguf_py() {
    let g = smollm2();
    let want = fixture("gguf.json");
    let tensors = want["tensors"].as_object().unwrap();
    let types: Vec<&str> = tensors
        .values()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    for ty in ["Q8_0", "Q4_1", "F32"] {
        assert!(types.contains(&ty), "the fixture checks a {ty} tensor");
    }
    for (name, w) in tensors {
        check_values(g, name, w);
    }
    // The Q8_0 embedding comes out as [vocab, width].
    let info = g.tensor("token_embd.weight").unwrap();
    assert_eq!((info.ty, info.shape()), (GgmlType::Q8_0, vec![49152, 576]));
}

#[test]
fn a_file_written_by_gguf_py_reads_back_with_every_value_type() {
    let bytes = std::fs::read(common::golden_dir().join("tiny.gguf")).unwrap();
    let g = Gguf::parse(bytes).unwrap();
    let want = fixture("tiny.json");
    assert_eq!(g.data_offset, want["data_offset"].as_u64().unwrap());
    assert_eq!(g.alignment, 64);
    let mut seen = Vec::new();
    for (key, w) in want["metadata"].as_object().unwrap() {
        let v = g.value(key).unwrap();
        assert!(same(v, w), "{key}: {v:?} against {w}");
        seen.push(v.value_type());
        if let Value::Array(t, _) = v {
            seen.push(*t);
        }
    }
    for t in (0..13).filter_map(ValueType::from_code) {
        assert!(seen.contains(&t), "no key of type {t:?}");
    }
    let tensors = want["tensors"].as_object().unwrap();
    assert_eq!(g.tensors.len(), tensors.len());
    for (name, w) in tensors {
        let info = g.tensor(name).unwrap();
        assert_eq!(info.offset, w["offset"].as_u64().unwrap(), "{name}");
        let data: Vec<f64> = serde_json::from_value(w["data"].clone()).unwrap();
        let want: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        let got = g.dequantize(name).unwrap().into_raw_vec_and_offset().0;
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "{name} (-0.0 included)");
        assert_eq!(info.ty.to_string(), w["type"].as_str().unwrap());
    }
}
