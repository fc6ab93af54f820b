//! The exercises' solutions (src/exercises.rs), each checked against a reference: the
//! real checkpoint's tensor table, the model itself, Hugging Face's chat template, and
//! a plain search of the whole text.

mod common;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch09_decoder_only::config::LlamaConfig;
use ch09_decoder_only::exercises::{
    LlamaParamCount, Role, StopScanner, chat_prompt, mha_to_gqa,
};
use ch09_decoder_only::llama_model::{Llama, LlamaConfigError, LlamaTrainConfig};
use ch09_decoder_only::tokenizer::{GgufTokenizer, smollm2_chat_prompt};
use ndarray::s;
use proptest::prelude::*;

/// The sizes of a trainable config as the GGUF config names them.
fn as_gguf_config(cfg: &LlamaTrainConfig) -> LlamaConfig {
    LlamaConfig {
        n_layers: cfg.n_layers,
        d_model: cfg.d_model,
        n_heads: cfg.n_heads,
        n_kv_heads: cfg.n_kv_heads,
        d_ff: cfg.d_ff,
        vocab: cfg.vocab_size,
        context: 128,
        rope_base: cfg.rope_base as f32,
        rms_eps: cfg.norm_eps,
    }
}

#[test]
fn the_count_matches_models_built_from_the_same_sizes() {
    for (n_kv_heads, tie_embeddings) in [(1, false), (2, true), (4, false), (4, true)] {
        let cfg = LlamaTrainConfig {
            n_kv_heads,
            tie_embeddings,
            ..LlamaTrainConfig::tiny()
        };
        let model = Llama::new(cfg.clone(), &mut seeded_rng(1)).unwrap();
        let count = LlamaParamCount::new(&as_gguf_config(&cfg), tie_embeddings);
        assert_eq!(count.total(), model.num_params(), "{cfg:?}");
    }
}

#[test]
fn the_count_matches_the_real_checkpoints_tensor_table() {
    let g = common::smollm2();
    let cfg = LlamaConfig::from_gguf(g).unwrap();
    let tied = cfg.check_tensors(g).unwrap();
    let count = LlamaParamCount::new(&cfg, tied);
    let in_file: u64 = g.tensors.iter().map(|t| t.n_elements()).sum();
    assert_eq!(count.total() as u64, in_file);
    // What the text says: 272 tensors; the FFNs hold the most, the (tied) embedding is
    // second, and an untied head would add 49,152 x 576 more.
    assert_eq!(g.tensors.len(), 272);
    assert!(count.ffn > count.embedding && count.embedding > count.attention);
    assert_eq!(count.head, 0);
    assert_eq!(count.embedding, 49_152 * 576);
    assert_eq!(LlamaParamCount::new(&cfg, false).head, 49_152 * 576);
    let share =
        |n: usize| format!("{n:>11} ({:.1} %)", 100.0 * n as f64 / count.total() as f64);
    insta::assert_snapshot!(
        "smollm2_parameters",
        format!(
            "embedding  {}\nattention  {}\nffn        {}\nnorms      {}\nhead       {}\ntotal      {:>11}",
            share(count.embedding),
            share(count.attention),
            share(count.ffn),
            share(count.norms),
            share(count.head),
            count.total()
        )
    );
}

#[test]
fn grouping_identical_heads_changes_nothing() {
    let cfg = LlamaTrainConfig {
        n_kv_heads: 4,
        ..LlamaTrainConfig::tiny()
    };
    let d = cfg.head_dim();
    let mut mha = Llama::new(cfg, &mut seeded_rng(2)).unwrap();
    // Heads 0 and 1, and heads 2 and 3, get the same K and V weights.
    for block in &mut mha.blocks {
        for w in [&mut block.attn.wk.value, &mut block.attn.wv.value] {
            for j in [0, 2] {
                let head = w.slice(s![.., j * d..(j + 1) * d]).to_owned();
                w.slice_mut(s![.., (j + 1) * d..(j + 2) * d]).assign(&head);
            }
        }
    }
    let ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    let before = mha.forward(&ids);
    let mut gqa = mha_to_gqa(&mha, 2).unwrap();
    let after = gqa.forward(&ids);
    let worst = (&before - &after)
        .mapv(f32::abs)
        .fold(0f32, |a, &b| a.max(b));
    assert!(worst < 1e-6, "logits moved by {worst}");
}

#[test]
fn each_new_head_is_its_groups_mean() {
    let cfg = LlamaTrainConfig {
        n_kv_heads: 4,
        ..LlamaTrainConfig::tiny()
    };
    let (d, c, layers) = (cfg.head_dim(), cfg.d_model, cfg.n_layers);
    let mha = Llama::new(cfg, &mut seeded_rng(3)).unwrap();
    let mqa = mha_to_gqa(&mha, 1).unwrap();
    assert_eq!(mqa.cfg.n_kv_heads, 1);
    // K and V lose 3 of their 4 heads in every layer.
    assert_eq!(mha.num_params() - mqa.num_params(), layers * 2 * c * 3 * d);
    for (old, new) in mha.blocks.iter().zip(&mqa.blocks) {
        let wk = &old.attn.wk.value;
        let mean = (0..4)
            .map(|h| wk.slice(s![.., h * d..(h + 1) * d]).to_owned())
            .reduce(|a, b| a + b)
            .unwrap()
            / 4.0;
        let worst = (&new.attn.wk.value - &mean)
            .mapv(f32::abs)
            .fold(0f32, |a, &b| a.max(b));
        assert!(worst < 1e-6);
        assert_eq!(new.attn.wq.value, old.attn.wq.value);
    }
    assert_eq!(mqa.embed.table.value, mha.embed.table.value);
}

#[test]
fn a_group_count_that_does_not_divide_is_an_error() {
    let mha = Llama::new(
        LlamaTrainConfig {
            n_kv_heads: 4,
            ..LlamaTrainConfig::tiny()
        },
        &mut seeded_rng(4),
    )
    .unwrap();
    let err = mha_to_gqa(&mha, 3).err().unwrap();
    assert_eq!(
        err,
        LlamaConfigError::KvHeads {
            n_heads: 4,
            n_kv_heads: 3
        }
    );
    // A GQA model can be grouped further only by a divisor of its K/V heads.
    let gqa = mha_to_gqa(&mha, 2).unwrap();
    assert!(mha_to_gqa(&gqa, 4).is_err());
    assert!(mha_to_gqa(&gqa, 1).is_ok());
}

#[test]
fn chat_prompts_match_hugging_faces_template() {
    let cases = common::fixture("chat.json");
    let cases = cases.as_object().unwrap();
    assert_eq!(cases.len(), 5);
    for (name, case) in cases {
        let turns: Vec<(String, String)> =
            serde_json::from_value(case["turns"].clone()).unwrap();
        let turns: Vec<(Role, &str)> = turns
            .iter()
            .map(|(role, text)| {
                let role = match role.as_str() {
                    "system" => Role::System,
                    "user" => Role::User,
                    "assistant" => Role::Assistant,
                    other => panic!("{name}: unknown role {other}"),
                };
                (role, text.as_str())
            })
            .collect();
        let generation = case["add_generation_prompt"].as_bool().unwrap();
        assert_eq!(
            chat_prompt(&turns, generation),
            case["text"].as_str().unwrap(),
            "{name}"
        );
    }
    let user = "What is the capital of France?";
    assert_eq!(
        chat_prompt(&[(Role::User, user)], true),
        smollm2_chat_prompt(user)
    );
}

/// Feeds `pieces` through a scanner and collects what it shows.
fn scan(stops: &[&str], pieces: &[String]) -> String {
    let mut scanner = StopScanner::new(stops);
    let mut shown: String = pieces.iter().map(|p| scanner.push(p)).collect();
    shown += &scanner.finish();
    shown
}

/// What a reader of the whole text would cut: at the first place where a stop string
/// ends (the longest, if several end there), everything before that stop string.
fn before_first_stop(text: &str, stops: &[&str]) -> String {
    for end in 0..=text.len() {
        let seen = &text[..end];
        let longest = (stops.iter())
            .filter(|s| !s.is_empty() && seen.ends_with(**s))
            .map(|s| s.len())
            .max();
        if let Some(n) = longest {
            return seen[..end - n].to_owned();
        }
    }
    text.to_owned()
}

#[test]
fn a_stop_string_split_across_real_tokens_is_caught() {
    let tok = GgufTokenizer::from_gguf(common::smollm2()).unwrap();
    let text = "Q: 2 + 2?\nA: 4\n\nQ: 3 + 3?\nA: 6";
    let ids = tok.encode(text);
    let pieces: Vec<String> = ids
        .iter()
        .map(|&id| String::from_utf8(tok.decode(&[id]).unwrap()).unwrap())
        .collect();
    // "\n\nQ:" is more than one token: the scanner must hold "\n\n" back.
    assert!(!pieces.iter().any(|p| p.contains("\n\nQ:")));
    assert_eq!(scan(&["\n\nQ:"], &pieces), "Q: 2 + 2?\nA: 4");
    assert_eq!(scan(&["\n\nZ:"], &pieces), text);
}

proptest! {
    #[test]
    fn any_split_shows_exactly_the_text_before_the_first_stop(
        text in "[ab\n]{0,40}",
        cuts in proptest::collection::vec(0usize..40, 0..10),
        stops in proptest::collection::vec("[ab\n]{0,4}", 1..3),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c < text.len()).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut pieces = Vec::new();
        let mut start = 0;
        for &c in cuts.iter().chain([text.len()].iter()) {
            pieces.push(text[start..c].to_owned());
            start = c;
        }
        let stops: Vec<&str> = stops.iter().map(String::as_str).collect();
        prop_assert_eq!(scan(&stops, &pieces), before_first_stop(&text, &stops));
    }
}
