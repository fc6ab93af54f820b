//! Tier 5: the exercises' solutions.

use ch01_foundations::init::{normal, seeded_rng};
use ch04_ffn_norms::activations::Activation;
use ch05_encoder::Wiring;
use ch06_decoder::cost::step_flops;
use ch06_decoder::exercises::{
    generate_sampled, generate_sliding, generation_flops, prefix_consistency,
};
use ch06_decoder::{DecoderBlock, DecoderLm, GenerateError, LmConfig, generate_greedy};
use ndarray::Array3;

fn lm() -> DecoderLm {
    let cfg = LmConfig {
        vocab: 9,
        max_len: 8,
        d_model: 16,
        n_heads: 2,
        d_ff: 32,
        n_layers: 2,
        wiring: Wiring::PreLn,
        act: Activation::Gelu,
    };
    DecoderLm::new(cfg, &mut seeded_rng(1))
}

#[test]
fn sliding_window_agrees_inside_the_context_and_runs_past_it() {
    let mut m = lm();
    let inside = generate_greedy(&mut m, &[1, 2, 3], 5).unwrap();
    let long = generate_sliding(&mut m, &[1, 2, 3], 12).unwrap();
    assert_eq!(&long[..8], &inside[..]);
    assert_eq!(long.len(), 15);
    assert!(long.iter().all(|&id| id < 9));
    assert_eq!(
        generate_sliding(&mut m, &[], 3),
        Err(GenerateError::EmptyPrompt)
    );
}

#[test]
fn decoder_outputs_are_prefix_consistent_encoder_outputs_are_not() {
    let x: Array3<f32> = normal((1, 7, 16), 1.0, &mut seeded_rng(2));
    for wiring in [Wiring::PreLn, Wiring::PostLn] {
        let mut block = DecoderBlock::new(16, 4, 32, wiring, &mut seeded_rng(3));
        assert!(prefix_consistency(&mut block, &x) <= 1e-5);
        block.block.attn.causal = false;
        assert!(prefix_consistency(&mut block, &x) > 1e-2);
    }
}

#[test]
fn sampling_is_seeded_and_cold_sampling_is_greedy() {
    let mut m = lm();
    let greedy = generate_greedy(&mut m, &[4, 5], 6).unwrap();
    let cold = generate_sampled(&mut m, &[4, 5], 6, 1e-3, &mut seeded_rng(0)).unwrap();
    assert_eq!(cold, greedy);
    let a = generate_sampled(&mut m, &[4, 5], 6, 2.0, &mut seeded_rng(9)).unwrap();
    let b = generate_sampled(&mut m, &[4, 5], 6, 2.0, &mut seeded_rng(9)).unwrap();
    assert_eq!(a, b);
    let hot: Vec<Vec<usize>> = (0..8)
        .map(|s| generate_sampled(&mut m, &[4, 5], 6, 2.0, &mut seeded_rng(s)).unwrap())
        .collect();
    assert!(
        hot.iter().any(|h| h != &greedy),
        "a hot sampler sometimes differs"
    );
    assert!(generate_sampled(&mut m, &[4, 5], 7, 1.0, &mut seeded_rng(0)).is_err());
}

#[test]
fn without_a_cache_generation_costs_grow_quadratically() {
    let cfg = LmConfig {
        vocab: 256,
        max_len: 1024,
        d_model: 128,
        n_heads: 4,
        d_ff: 512,
        n_layers: 4,
        wiring: Wiring::PreLn,
        act: Activation::Gelu,
    };
    let (r1, c1) = generation_flops(&cfg, 1, 256);
    let (r2, c2) = generation_flops(&cfg, 1, 512);
    // Doubling the tokens: the cached cost roughly doubles, the recomputed one more
    // than triples (its projections grow 4×, its attention 8×).
    assert!((1.9..2.3).contains(&(c2 / c1)), "{}", c2 / c1);
    assert!(r2 / r1 > 3.5, "{}", r2 / r1);
    assert_eq!(generation_flops(&cfg, 1, 1).0, step_flops(&cfg, 1, false));
}
