//! Causality (and its absence in the encoder), padding, generation's contract, and
//! thread-count determinism.

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::in_pool;
use ch01_foundations::module::Module;
use ch01_foundations::probability::argmax;
use ch04_ffn_norms::activations::Activation;
use ch05_encoder::{EncoderBlock, Wiring};
use ch06_decoder::train::{TRAIN, TrainConfig, train};
use ch06_decoder::{DecoderBlock, DecoderLm, GenerateError, LmConfig, generate_greedy};
use ndarray::{Array2, Array3, s};
use proptest::prelude::*;

/// max |a - b| over positions 0..=t of item 0.
fn diff_up_to(a: &Array3<f32>, b: &Array3<f32>, t: usize) -> f32 {
    let (a, b) = (a.slice(s![0, ..=t, ..]), b.slice(s![0, ..=t, ..]));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// x with every token after position t replaced by fresh random values.
fn change_after(x: &Array3<f32>, t: usize, seed: u64) -> Array3<f32> {
    let mut y = x.clone();
    let (_, n, c) = x.dim();
    if t + 1 < n {
        let fresh: Array3<f32> = normal((1, n - t - 1, c), 3.0, &mut seeded_rng(seed));
        y.slice_mut(s![.., t + 1.., ..]).assign(&fresh);
    }
    y
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn decoder_block_output_at_t_ignores_later_tokens(
        t in 0usize..9, seed in 0u64..1000, pre_ln in any::<bool>()
    ) {
        let wiring = if pre_ln { Wiring::PreLn } else { Wiring::PostLn };
        let mut block = DecoderBlock::new(16, 4, 32, wiring, &mut seeded_rng(seed));
        let x: Array3<f32> = normal((1, 10, 16), 1.0, &mut seeded_rng(seed + 1));
        let y = block.forward(&x, None);
        let y2 = block.forward(&change_after(&x, t, seed + 2), None);
        prop_assert!(diff_up_to(&y, &y2, t) <= 1e-6, "t = {t}: {}", diff_up_to(&y, &y2, t));
        if t + 1 < 10 {
            // ... while the later outputs do change: the test can fail.
            prop_assert!(diff_up_to(&y, &y2, 9) > 1e-3);
        }
    }
}

#[test]
fn encoder_block_output_at_t_does_see_later_tokens() {
    let mut enc = EncoderBlock::new(16, 4, 32, Wiring::PreLn, &mut seeded_rng(0));
    let x: Array3<f32> = normal((1, 10, 16), 1.0, &mut seeded_rng(1));
    let (y, y2) = (
        enc.forward(&x, None),
        enc.forward(&change_after(&x, 4, 2), None),
    );
    assert!(
        diff_up_to(&y, &y2, 0) > 1e-2,
        "token 0 sees token 9 in an encoder"
    );
    // The same weights with the flag on: no change at all up to t = 4.
    enc.attn.causal = true;
    let (y, y2) = (
        enc.forward(&x, None),
        enc.forward(&change_after(&x, 4, 2), None),
    );
    assert_eq!(diff_up_to(&y, &y2, 4), 0.0);
}

fn small_lm(wiring: Wiring) -> DecoderLm {
    let cfg = LmConfig {
        vocab: 9,
        max_len: 12,
        d_model: 16,
        n_heads: 2,
        d_ff: 32,
        n_layers: 2,
        wiring,
        act: Activation::Relu,
    };
    DecoderLm::new(cfg, &mut seeded_rng(5))
}

#[test]
fn lm_logits_at_t_ignore_later_tokens() {
    for wiring in [Wiring::PreLn, Wiring::PostLn] {
        let mut lm = small_lm(wiring);
        let ids = Array2::from_shape_fn((1, 12), |(_, t)| (t * 5 + 2) % 9);
        let logits = lm.forward(&ids, None);
        for t in 0..11 {
            let mut changed = ids.clone();
            changed
                .slice_mut(s![.., t + 1..])
                .mapv_inplace(|v| (v + 4) % 9);
            let l2 = lm.forward(&changed, None);
            assert!(diff_up_to(&logits, &l2, t) <= 1e-6, "{wiring:?}, t = {t}");
            assert!(diff_up_to(&logits, &l2, 11) > 1e-3);
        }
    }
}

#[test]
fn right_padding_needs_no_mask_left_padding_does() {
    let mut block = DecoderBlock::new(8, 2, 16, Wiring::PreLn, &mut seeded_rng(3));
    let real: Array3<f32> = normal((1, 3, 8), 1.0, &mut seeded_rng(4));
    let alone = block.forward(&real, None);
    let junk: Array3<f32> = normal((1, 2, 8), 5.0, &mut seeded_rng(6));
    // [a b c PAD PAD]: padding comes after every real token, so causality hides it.
    let right =
        ndarray::concatenate(ndarray::Axis(1), &[real.view(), junk.view()]).unwrap();
    let pad = Array2::from_shape_fn((1, 5), |(_, t)| t >= 3);
    for mask in [None, Some(&pad)] {
        let y = block.forward(&right, mask);
        assert!(diff_up_to(&y, &alone, 2) <= 1e-6);
    }
    // [PAD PAD a b c]: the real tokens see the padding unless it is masked.
    let left =
        ndarray::concatenate(ndarray::Axis(1), &[junk.view(), real.view()]).unwrap();
    let pad = Array2::from_shape_fn((1, 5), |(_, t)| t < 2);
    let tail = |y: Array3<f32>| y.slice(s![.., 2.., ..]).to_owned();
    let masked = tail(block.forward(&left, Some(&pad)));
    assert!(diff_up_to(&masked, &alone, 2) <= 1e-6);
    let unmasked = tail(block.forward(&left, None));
    assert!(diff_up_to(&unmasked, &alone, 2) > 1e-2);
}

#[test]
fn generation_refuses_bad_requests() {
    let mut lm = small_lm(Wiring::PreLn);
    assert_eq!(
        generate_greedy(&mut lm, &[], 3),
        Err(GenerateError::EmptyPrompt)
    );
    let err = generate_greedy(&mut lm, &[1, 9, 2], 3).unwrap_err();
    assert_eq!(
        err,
        GenerateError::OutOfVocab {
            position: 1,
            id: 9,
            vocab: 9
        }
    );
    assert_eq!(
        err.to_string(),
        "generate: prompt token 1 is 9, outside the vocabulary 0..9"
    );
    let err = generate_greedy(&mut lm, &[1, 2, 3], 10).unwrap_err();
    assert_eq!(
        err.to_string(),
        "generate: 3 prompt tokens + 10 new tokens need 13 positions, but the model has 12"
    );
    // Exactly filling the context is allowed; a prompt that fills it alone, too.
    assert_eq!(generate_greedy(&mut lm, &[1, 2, 3], 9).unwrap().len(), 12);
    assert_eq!(generate_greedy(&mut lm, &[4; 12], 0).unwrap(), vec![4; 12]);
}

#[test]
fn each_generated_token_is_the_argmax_of_the_full_forward() {
    let mut lm = small_lm(Wiring::PostLn);
    let prompt = [3, 1, 4];
    let out = generate_greedy(&mut lm, &prompt, 6).unwrap();
    assert_eq!(&out[..3], &prompt);
    for t in 3..out.len() {
        let ids = Array2::from_shape_vec((1, t), out[..t].to_vec()).unwrap();
        let logits = lm.forward(&ids, None);
        let last = logits.slice(s![0, t - 1, ..]);
        assert_eq!(out[t], argmax(last.iter().copied()), "token {t}");
    }
}

/// A short training run and a generation from it, as raw bits.
fn short_run(threads: usize) -> (Vec<u32>, Vec<usize>) {
    in_pool(threads, || {
        let cfg = TrainConfig { steps: 15, ..TRAIN };
        let mut run = train(&cfg);
        let mut bits: Vec<u32> = run.losses.iter().map(|l| l.to_bits()).collect();
        run.model
            .visit_params(&mut |_, p| bits.extend(p.value.iter().map(|v| v.to_bits())));
        let out = generate_greedy(&mut run.model, &[0, 1, 2, 3], 8).unwrap();
        (bits, out)
    })
}

#[test]
fn training_and_generation_are_bit_identical_on_1_and_2_threads() {
    assert_eq!(short_run(1), short_run(2));
}
