//! What the chapter prints (section "A real checkpoint").

use std::fmt::Write;

use ch01_foundations::module::Module;

use crate::SentenceEncoder;

/// The model's sizes from its config, and its parameter count.
pub fn model_summary(enc: &SentenceEncoder) -> String {
    let cfg = &enc.bert.cfg;
    format!(
        "{} blocks, C = {}, {} heads of d_k = {}, d_ff = {}, vocabulary {}, \
         {} positions, {} segments, LayerNorm eps {:e}, max_seq_length {}\n\
         parameters: {} ({} in the embeddings, {} in the blocks, {} in the pooler)",
        cfg.num_hidden_layers,
        cfg.hidden_size,
        cfg.num_attention_heads,
        cfg.d_head(),
        cfg.intermediate_size,
        cfg.vocab_size,
        cfg.max_position_embeddings,
        cfg.type_vocab_size,
        cfg.layer_norm_eps,
        enc.sentence.max_seq_length,
        enc.bert.num_params(),
        enc.bert.embeddings.num_params(),
        enc.bert.encoder.num_params(),
        enc.bert.pooler.num_params(),
    )
}

// ANCHOR: similarities
/// The cosine similarity of every pair of `texts`: their embeddings are unit vectors,
/// so it is the dot product, E Eᵀ.
pub fn similarities(enc: &mut SentenceEncoder, texts: &[&str]) -> String {
    let e = enc.embed(texts); // [N, C]
    let sim = e.dot(&e.t()); // [N, N]
    let mut out = String::new();
    for (i, text) in texts.iter().enumerate() {
        let row: Vec<String> = sim.row(i).iter().map(|s| format!("{s:5.2}")).collect();
        writeln!(out, "{}  {text}", row.join(" ")).expect("String");
    }
    out
}
// ANCHOR_END: similarities
