//! Exercise: how long a context fits in a memory budget, for MHA, GQA and MQA.

use ch09_decoder_only::llama_model::kv_bytes_per_token;

// ANCHOR: cache_budget
/// The most tokens of K/V cache, summed over a batch of `batch` sequences, that fit in
/// `budget` bytes: each sequence gets budget / (batch · bytes per token) positions.
pub fn tokens_that_fit(
    budget: usize,
    batch: usize,
    (n_layers, n_kv_heads, head_dim, bytes): (usize, usize, usize, usize),
) -> usize {
    let per_token = kv_bytes_per_token(n_layers, n_kv_heads, head_dim, bytes);
    budget / (batch.max(1) * per_token)
}

/// The table: SmolLM2's shape (30 layers, d_head 64) with 9 (MHA), 3 (GQA, SmolLM2's)
/// and 1 (MQA) K/V heads, in f32, for a budget and a batch.
pub fn budget_table(budget: usize, batch: usize) -> Vec<(&'static str, usize)> {
    [("MHA", 9), ("GQA", 3), ("MQA", 1)]
        .into_iter()
        .map(|(name, kv)| (name, tokens_that_fit(budget, batch, (30, kv, 64, 4))))
        .collect()
}
// ANCHOR_END: cache_budget
