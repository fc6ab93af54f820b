//! What the chapter prints (sections "A real checkpoint" and "Pretraining objectives").

use std::fmt::Write;

use ch01_foundations::module::Module;

use crate::SentenceEncoder;
use crate::book_corpus::FENCE;

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

/// What the section "Pretraining objectives" prints: NSP pairs and MLM masking on
/// Chapter 1 of the book, tokenized by a WordPiece vocabulary Chapter 2's trainer
/// learns from that text. Its sections are the documents, code blocks and tables are
/// left out, and ". " ends a sentence.
pub fn pretraining_data_report(
    vocab_size: usize,
    max_len: usize,
    draws: usize,
    seed: u64,
) -> String {
    use ch02_input::corpus::BOOK_CH01;
    use ch02_input::wordpiece::{WordPiece, train};

    use crate::pretrain_data::{MaskingStats, NspLabel, mask_tokens, nsp_pairs};

    let vocab = train(BOOK_CH01, vocab_size)
        .and_then(|t| t.vocab())
        .expect("Chapter 1 trains a WordPiece vocabulary");
    let wp = WordPiece::new(vocab);
    let sp = wp.vocab.special();
    let docs: Vec<Vec<Vec<u32>>> = BOOK_CH01
        .split("\n## ")
        .map(|section| {
            let mut in_code = false; // code blocks and tables are not sentences
            let prose = section.lines().filter(|l| {
                in_code ^= l.starts_with(FENCE);
                !in_code && !l.starts_with(FENCE) && !l.starts_with('|')
            });
            let text = prose.collect::<Vec<_>>().join(" ");
            let sentences = text.split(". ").map(|s| wp.encode_words(s));
            sentences.filter(|s| !s.is_empty()).collect::<Vec<_>>()
        })
        .filter(|d| d.len() >= 2)
        .collect();
    let sentences: usize = docs.iter().map(Vec::len).sum();
    let mut rng = ch01_foundations::init::seeded_rng(seed);
    let pairs = nsp_pairs(&docs, max_len, &sp, &mut rng).expect("many documents");
    let is_next = pairs.iter().filter(|p| p.label == NspLabel::IsNext).count();
    let truncated: Vec<usize> = pairs.iter().map(|p| p.truncated).collect();
    let mut stats = MaskingStats::default();
    for _ in 0..draws {
        for pair in &pairs {
            let mut ids = pair.ids.clone();
            ids.resize(max_len, sp.pad); // padded as in a batch: [PAD] is never chosen
            stats.add(&ids, &mask_tokens(&ids, wp.vocab.len(), &sp, &mut rng), &sp);
        }
    }
    let pct = |n: usize, of: usize| 100.0 * n as f64 / of as f64;
    let mut s = String::new();
    let mut line = |l: String| writeln!(s, "{l}").expect("String");
    line(format!(
        "corpus: Chapter 1, {} bytes; WordPiece vocabulary {}; {} documents, {} sentences",
        BOOK_CH01.len(),
        wp.vocab.len(),
        docs.len(),
        sentences
    ));
    line(format!(
        "NSP pairs: {} (IsNext {:.1} %); max_len {max_len}: {} pairs truncated, {} tokens cut",
        pairs.len(),
        pct(is_next, pairs.len()),
        truncated.iter().filter(|&&n| n > 0).count(),
        truncated.iter().sum::<usize>()
    ));
    line(format!(
        "MLM, {draws} draws of every pair padded to {max_len}: {} positions, {} special, {} candidates",
        stats.positions,
        stats.special,
        stats.positions - stats.special
    ));
    line(format!(
        "chosen: {} = {:.2} % of candidates; special tokens chosen: {}",
        stats.chosen,
        100.0 * stats.chosen_fraction(),
        stats.special_chosen
    ));
    line(format!(
        "of the chosen: [MASK] {:.2} %, random {:.2} %, unchanged {:.2} %",
        pct(stats.masked, stats.chosen),
        pct(stats.random, stats.chosen),
        pct(stats.unchanged, stats.chosen)
    ));
    s
}

/// The lines of a run's report that do not depend on the machine: all but the wall
/// time (a line starting `time: `). The run tests compare these with the committed file.
pub fn deterministic_lines(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|l| !l.starts_with("time: "))
        .collect()
}
