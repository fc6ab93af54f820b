//! SmolLM2's hyperparameters from its GGUF metadata, and the tensor table checked
//! against them; a small Llama file built here with one thing wrong at a time.

mod common;

use ch09_decoder_only::config::LlamaConfig;
use ch09_decoder_only::gguf::Gguf;
use common::{T, build, kv, string};

#[test]
fn smollm2_config_and_tensors() {
    let g = common::smollm2();
    let cfg = LlamaConfig::from_gguf(g).unwrap();
    assert_eq!(
        cfg,
        LlamaConfig {
            n_layers: 30,
            d_model: 576,
            n_heads: 9,
            n_kv_heads: 3,
            d_ff: 1536,
            vocab: 49152,
            context: 8192,
            rope_base: 1e5,
            rms_eps: 1e-5,
        }
    );
    assert_eq!(cfg.d_head(), 64);
    assert_eq!(cfg.expected_tensors().count(), 272);
    assert!(
        cfg.check_tensors(g).unwrap(),
        "the LM head is tied to the embedding"
    );
}

/// A one-layer Llama with C = 4, 2 heads, 1 KV head, d_ff = 8, vocab 6, with `edit`
/// applied to the tensors before writing.
fn tiny_llama(edit: impl FnOnce(&mut Vec<(String, Vec<u64>)>)) -> Gguf {
    tiny_llama_with(&[], edit)
}

/// [`tiny_llama`] with some u32 keys set to other values.
fn tiny_llama_with(
    keys: &[(&str, u32)],
    edit: impl FnOnce(&mut Vec<(String, Vec<u64>)>),
) -> Gguf {
    let u32kv = |k: &str, v: u32| {
        let v = keys
            .iter()
            .find(|(key, _)| *key == k)
            .map_or(v, |(_, v)| *v);
        kv(k, 4, &v.to_le_bytes())
    };
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
    ];
    let mut tensors: Vec<(String, Vec<u64>)> = [
        ("token_embd.weight", vec![4, 6]),
        ("output_norm.weight", vec![4]),
        ("blk.0.attn_norm.weight", vec![4]),
        ("blk.0.attn_q.weight", vec![4, 4]),
        ("blk.0.attn_k.weight", vec![4, 2]),
        ("blk.0.attn_v.weight", vec![4, 2]),
        ("blk.0.attn_output.weight", vec![4, 4]),
        ("blk.0.ffn_norm.weight", vec![4]),
        ("blk.0.ffn_gate.weight", vec![4, 8]),
        ("blk.0.ffn_up.weight", vec![4, 8]),
        ("blk.0.ffn_down.weight", vec![8, 4]),
    ]
    .into_iter()
    .map(|(n, d)| (n.to_owned(), d))
    .collect();
    edit(&mut tensors);
    let ts: Vec<T> = tensors
        .iter()
        .map(|(name, dims)| T {
            name,
            dims,
            ty: 0,
            data: vec![0; 4 * dims.iter().product::<u64>() as usize],
        })
        .collect();
    Gguf::parse(build(&kvs, &ts, 32)).unwrap()
}

fn check(g: &Gguf) -> String {
    let cfg = LlamaConfig::from_gguf(g).unwrap();
    match cfg.check_tensors(g) {
        Ok(tied) => format!("ok, tied = {tied}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_tensor_table_is_checked_against_the_metadata() {
    assert_eq!(check(&tiny_llama(|_| {})), "ok, tied = true");
    let untied = tiny_llama(|t| t.push(("output.weight".into(), vec![4, 6])));
    assert_eq!(check(&untied), "ok, tied = false");
    let wrong = tiny_llama(|t| t[4].1 = vec![4, 4]);
    assert_eq!(
        check(&wrong),
        "tensor blk.0.attn_k.weight: shape [4, 4] in the file, expected [2, 4] from the metadata"
    );
    let missing = tiny_llama(|t| {
        t.remove(9);
    });
    assert_eq!(
        check(&missing),
        "tensor blk.0.ffn_up.weight: no tensor of that name"
    );
    let extra = tiny_llama(|t| t.push(("blk.1.attn_q.weight".into(), vec![4, 4])));
    assert_eq!(
        check(&extra),
        "tensor blk.1.attn_q.weight: not a tensor of a Llama model"
    );
}

#[test]
fn inconsistent_hyperparameters_name_the_key() {
    let err = |keys: &[(&str, u32)]| {
        LlamaConfig::from_gguf(&tiny_llama_with(keys, |_| {}))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(&[("llama.attention.head_count", 3)]),
        "key llama.attention.head_count: 3 heads do not divide the width 4"
    );
    assert_eq!(
        err(&[("llama.attention.head_count_kv", 3)]),
        "key llama.attention.head_count_kv: 3 KV heads do not divide 2 heads"
    );
    assert_eq!(
        err(&[("llama.block_count", 0)]),
        "key llama.block_count: 0 is not a positive size"
    );
}

#[test]
fn the_fuzz_seed_is_a_whole_model() {
    let g = Gguf::parse(common::tiny_llama_file()).unwrap();
    let model = ch09_decoder_only::llama::Llama::from_gguf(&g).unwrap();
    assert_eq!(model.forward(&[0, 5, 3]).dim(), (3, 6));
    let tok = ch09_decoder_only::tokenizer::GgufTokenizer::from_gguf(&g).unwrap();
    assert_eq!(tok.encode("ab"), [0, 1]);
}
