//! The sentence encoder (section "Sentence embeddings"): WordPiece, BERT, mean
//! pooling and L2 normalisation, loaded from a sentence-transformers model directory.

use std::path::Path;

use ch02_input::wordpiece::WordPiece;
use ndarray::{Array2, Array3};

use crate::bert::Bert;
use crate::checkpoint::{LoadError, load_bert, read};
use crate::config::{BertConfig, SentenceConfig, read_text};
use crate::pooling::{l2_normalize, mean_pool};

/// A sentence-transformers model: text in, one unit vector of width C out.
pub struct SentenceEncoder {
    pub tokenizer: WordPiece,
    pub bert: Bert,
    pub sentence: SentenceConfig,
}

/// One text's token ids after truncation, and how many tokens it had before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub full_len: usize,
}

impl Tokens {
    pub fn truncated(&self) -> bool {
        self.full_len > self.ids.len()
    }
}

impl SentenceEncoder {
    // ANCHOR: load
    /// Loads a sentence-transformers directory: `config.json`, the pipeline's three
    /// configs, `vocab.txt` and `model.safetensors`, each checked against the others.
    pub fn load(dir: &Path) -> Result<Self, LoadError> {
        let config_path = dir.join("config.json");
        let cfg = BertConfig::parse(&config_path, &read_text(&config_path)?)?;
        let sentence = SentenceConfig::load(dir, &cfg)?;
        let vocab_path = dir.join("vocab.txt");
        let tokenizer = WordPiece::load(&vocab_path)?;
        if tokenizer.vocab.len() > cfg.vocab_size {
            return Err(LoadError::VocabSize {
                path: vocab_path.display().to_string(),
                got: tokenizer.vocab.len(),
                expected: cfg.vocab_size,
            });
        }
        let weights = dir.join("model.safetensors");
        let bert = load_bert(&weights, &read(&weights)?, cfg)?;
        Ok(SentenceEncoder {
            tokenizer,
            bert,
            sentence,
        })
    }
    // ANCHOR_END: load
}

impl SentenceEncoder {
    // ANCHOR: tokenize
    /// `[CLS] pieces [SEP]`, cut to `max_seq_length` tokens as sentence-transformers
    /// cuts it: the first pieces are kept and [SEP] still ends the input.
    pub fn tokenize(&self, text: &str) -> Tokens {
        let mut ids = self.tokenizer.encode(text);
        let (full_len, max) = (ids.len(), self.sentence.max_seq_length);
        if full_len > max {
            let sep = ids[full_len - 1];
            ids.truncate(max - 1);
            ids.push(sep);
        }
        Tokens { ids, full_len }
    }
    // ANCHOR_END: tokenize

    // ANCHOR: embed
    /// One unit vector per text; a truncated text is reported on stderr with its index.
    // texts: [B] -> [B, C]
    pub fn embed(&mut self, texts: &[&str]) -> Array2<f32> {
        let tokens: Vec<Tokens> = texts.iter().map(|t| self.tokenize(t)).collect();
        for (i, t) in tokens.iter().enumerate() {
            if t.truncated() {
                eprintln!("{}", self.truncation_note(&format!("text {i}"), t));
            }
        }
        self.embed_tokens(&tokens)
    }

    /// The batch padded to its longest item; padding is masked in attention and left
    /// out of the mean.
    // tokens: [B] -> [B, C]
    pub fn embed_tokens(&mut self, tokens: &[Tokens]) -> Array2<f32> {
        if tokens.is_empty() {
            return Array2::zeros((0, self.bert.cfg.hidden_size));
        }
        let (h, lens) = self.last_layer(tokens);
        l2_normalize(mean_pool(&h, &lens))
    }

    /// BERT's last layer over a padded batch, and each item's real length.
    // tokens: [B] -> h: [B, T, C], lens: [B]
    pub fn last_layer(&mut self, tokens: &[Tokens]) -> (Array3<f32>, Vec<usize>) {
        let lens: Vec<usize> = tokens.iter().map(|t| t.ids.len()).collect();
        let t_max = lens.iter().copied().max().unwrap_or(0);
        let pad = self.tokenizer.vocab.special().pad as usize;
        let ids = Array2::from_shape_fn((tokens.len(), t_max), |(b, t)| {
            tokens[b].ids.get(t).map_or(pad, |&id| id as usize)
        });
        let segments = Array2::zeros(ids.dim()); // one sentence: segment A throughout
        let mask = ch05_encoder::block::padding_mask(&lens, t_max);
        (self.bert.forward(&ids, &segments, Some(&mask)), lens)
    }
    // ANCHOR_END: embed

    // ANCHOR: embed_sorted
    /// Many texts, `batch` at a time, as sentence-transformers' `encode` runs them:
    /// sorted by length, so that each batch pads to a length close to its own, and
    /// returned in the input order.
    // texts: [N] -> [N, C]
    pub fn embed_sorted(&mut self, texts: &[&str], batch: usize) -> Array2<f32> {
        let tokens: Vec<Tokens> = texts.iter().map(|t| self.tokenize(t)).collect();
        for (i, t) in tokens.iter().enumerate().filter(|(_, t)| t.truncated()) {
            eprintln!("{}", self.truncation_note(&format!("text {i}"), t));
        }
        let mut order: Vec<usize> = (0..tokens.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(tokens[i].ids.len()));
        let mut out = Array2::zeros((texts.len(), self.bert.cfg.hidden_size));
        for chunk in order.chunks(batch.max(1)) {
            let group: Vec<Tokens> = chunk.iter().map(|&i| tokens[i].clone()).collect();
            let e = self.embed_tokens(&group);
            for (row, &i) in e.rows().into_iter().zip(chunk) {
                out.row_mut(i).assign(&row);
            }
        }
        out
    }
    // ANCHOR_END: embed_sorted

    /// What stderr says when `what` was cut to the model's limit.
    pub fn truncation_note(&self, what: &str, t: &Tokens) -> String {
        format!(
            "{what}: {} tokens, truncated to the model's limit of {} (as sentence-transformers does)",
            t.full_len,
            t.ids.len()
        )
    }
}
