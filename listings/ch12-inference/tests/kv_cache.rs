//! The KV cache gives the logits the uncached forward gives, at every step: on the
//! chapter's model (Chapter 9's trainable Llama, seeded) and on the real SmolLM2.

use ch03_attention::mask::causal_mask;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig, kv_bytes_per_token};
use ch12_inference::kv_cache::{KvCache, KvCacheError, forward_cached};
use ndarray::ArrayView1;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A small Llama with GQA (8 query heads sharing 2 K/V heads), seeded.
fn model(tie: bool) -> Llama {
    let cfg = LlamaTrainConfig {
        vocab_size: 64,
        d_model: 32,
        n_layers: 3,
        n_heads: 8,
        n_kv_heads: 2,
        d_ff: 64,
        tie_embeddings: tie,
        ..LlamaTrainConfig::tiny()
    };
    Llama::new(cfg, &mut ChaCha8Rng::seed_from_u64(12)).unwrap()
}

fn ids(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(0..64)).collect()
}

fn max_abs_diff(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Feeds `seq` in blocks of the given sizes through the cache and checks each block's
/// logits against the uncached forward of the whole sequence. Tolerance: 1e-5 absolute.
fn check_blocks(tie: bool, seq: &[usize], blocks: &[usize]) -> f32 {
    let mut m = model(tie);
    let full = m.forward(seq); // [T, vocab], no cache
    let mut cache = KvCache::new(&m);
    let (mut at, mut worst) = (0, 0f32);
    for &n in blocks {
        let logits = forward_cached(&mut m, &seq[at..at + n], &mut cache).unwrap();
        for i in 0..n {
            let d = max_abs_diff(logits.row(i), full.row(at + i));
            assert!(d < 1e-5, "position {}: cached logits off by {d}", at + i);
            worst = worst.max(d);
        }
        at += n;
        assert_eq!(cache.len(), at);
    }
    worst
}

#[test]
fn cached_logits_equal_uncached_for_128_steps() {
    for tie in [false, true] {
        let seq = ids(129, 1);
        let steps: Vec<usize> = std::iter::once(1).chain([1; 128]).collect();
        let worst = check_blocks(tie, &seq, &steps);
        println!("tied {tie}: worst |Δlogit| over 129 positions = {worst:.2e}");
    }
}

#[test]
fn block_prefill_after_a_cache_matches() {
    // A prompt of 5, then a block of 4 new tokens against 9 keys, then single steps,
    // then another block of 7: each query block meets a longer key block.
    let seq = ids(20, 2);
    check_blocks(false, &seq, &[5, 4, 1, 1, 1, 1, 7]);
}

#[test]
fn the_query_block_sees_its_past_and_itself() {
    // Chapter 3's bottom-right mask for 3 new queries against 5 keys (2 cached).
    let m = causal_mask(3, 5);
    let rows: Vec<String> = m
        .rows()
        .into_iter()
        .map(|r| r.iter().map(|&b| if b { '1' } else { '0' }).collect())
        .collect();
    assert_eq!(rows, ["11100", "11110", "11111"]);
}

#[test]
fn cache_memory_is_what_the_config_says() {
    let mut m = model(false);
    let mut cache = KvCache::new(&m);
    forward_cached(&mut m, &ids(10, 3), &mut cache).unwrap();
    let cfg = &m.cfg;
    let per_token = kv_bytes_per_token(cfg.n_layers, cfg.n_kv_heads, cfg.head_dim(), 4);
    assert_eq!(cache.bytes(), 10 * per_token);
    assert_eq!(per_token, 2 * 3 * 2 * 4 * 4); // 2 (K, V) · layers · H_kv · d · f32
}

#[test]
fn bad_input_is_a_named_error() {
    let mut m = model(false);
    let mut cache = KvCache::new(&m);
    let e = forward_cached(&mut m, &[3, 64], &mut cache).unwrap_err();
    assert_eq!(e, KvCacheError::UnknownToken { id: 64, vocab: 64 });
    assert!(e.to_string().contains("token id 64"));
    assert_eq!(
        forward_cached(&mut m, &[], &mut cache),
        Err(KvCacheError::Empty)
    );
    let mut other = model(false);
    other.cfg.n_layers = 2;
    other.blocks.truncate(2);
    let mut small = KvCache::new(&other);
    let e = forward_cached(&mut m, &[1], &mut small).unwrap_err();
    assert!(matches!(
        e,
        KvCacheError::WrongModel {
            cache_layers: 2,
            layers: 3,
            ..
        }
    ));
    assert!(
        cache.is_empty(),
        "a refused call leaves the cache as it was"
    );
}

/// SmolLM2: the prompt through the cache, then 128 greedy steps one token at a time;
/// every step's logits against one uncached forward of the whole sequence. Tolerance:
/// 1e-5 of the row's largest |logit| (relative); the absolute error is printed.
/// Absolute 1e-5 is not what f32 gives here: a decoding step multiplies by `matvec`,
/// the full forward by a blocked matmul, and the two sum in different orders.
#[test]
fn smollm2_cached_logits_equal_uncached_for_128_steps() {
    use ch09_decoder_only::gguf::Gguf;
    use ch09_decoder_only::llama::Llama as SmolLm2;
    use ch09_decoder_only::tokenizer::GgufTokenizer;
    use ch12_inference::kv_cache::smollm2_cache_parity;
    let path = models::SMOLLM2_135M_INSTRUCT
        .dir()
        .unwrap_or_else(|e| panic!("{e}"))
        .join(models::SMOLLM2_GGUF);
    let file = Gguf::open(&path).unwrap();
    let model = SmolLm2::from_gguf(&file).unwrap();
    let prompt = GgufTokenizer::from_gguf(&file)
        .unwrap()
        .encode("The capital of France is");
    let (worst_abs, worst_rel) = smollm2_cache_parity(&model, &prompt, 128);
    println!(
        "SmolLM2, 128 steps: worst |Δlogit| {worst_abs:.2e}, relative {worst_rel:.2e}"
    );
    assert!(
        worst_rel < 1e-5,
        "relative {worst_rel}, absolute {worst_abs}"
    );
    // The cache's buffers hold exactly what the config says, for every position.
    let cfg = &model.cfg;
    let mut cache = model.new_cache();
    model.hidden_cached(&prompt, &mut cache);
    let per_token = kv_bytes_per_token(cfg.n_layers, cfg.n_kv_heads, cfg.d_head(), 4);
    assert_eq!(cache.bytes(), prompt.len() * per_token);
}
