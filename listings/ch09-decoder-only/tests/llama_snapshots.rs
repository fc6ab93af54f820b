//! What the section "Llama from scratch" prints: the K/V memory per token at MHA, GQA
//! and MQA for SmolLM2-135M's shape, and a config error.

use ch09_decoder_only::llama_model::{
    LlamaTrainConfig, kv_bytes_per_token, kv_memory_table,
};

#[test]
fn kv_memory_per_token() {
    // SmolLM2-135M: 30 layers, 3 K/V heads of 64, f16 cache: 2·30·3·64·2 = 23,040 bytes.
    assert_eq!(kv_bytes_per_token(30, 3, 64, 2), 23_040);
    insta::assert_snapshot!(kv_memory_table());
}

#[test]
fn config_error() {
    let cfg = LlamaTrainConfig {
        vocab_size: 40,
        d_model: 16,
        n_layers: 2,
        n_heads: 4,
        n_kv_heads: 3,
        d_ff: 32,
        rope_base: 10_000.0,
        norm_eps: 1e-6,
        tie_embeddings: false,
    };
    insta::assert_snapshot!(cfg.validate().unwrap_err().to_string());
}
