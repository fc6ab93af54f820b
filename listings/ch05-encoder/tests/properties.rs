//! Properties: bidirectional context, what padding may and may not change, thread-count
//! determinism, and shape errors named with both shapes.

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::in_pool;
use ch01_foundations::module::Module;
use ch05_encoder::block::padding_mask;
use ch05_encoder::encoder::EncoderConfig;
use ch05_encoder::report::DEMO;
use ch05_encoder::{Encoder, EncoderStack, Wiring};
use ndarray::{Array2, Array3, s};

fn bits<'a>(xs: impl Iterator<Item = &'a f32>) -> Vec<u32> {
    xs.map(|x| x.to_bits()).collect()
}

fn encoder(wiring: Wiring) -> Encoder {
    Encoder::new(EncoderConfig { wiring, ..DEMO }, &mut seeded_rng(3))
}

/// max_c |a[0, i, c] - b[0, i, c]|
fn moved(a: &Array3<f32>, b: &Array3<f32>, i: usize) -> f32 {
    (&a.slice(s![0, i, ..]) - &b.slice(s![0, i, ..]))
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()))
}

#[test]
fn a_later_token_changes_every_earlier_output() {
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut enc = encoder(wiring);
        let ids = Array2::from_shape_vec((1, 8), vec![1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        let y = enc.forward(&ids, None);
        for j in 1..8 {
            let mut changed = ids.clone();
            changed[[0, j]] = 0;
            let y2 = enc.forward(&changed, None);
            for i in 0..j {
                let d = moved(&y, &y2, i);
                assert!(
                    d > 1e-3,
                    "{wiring:?}: token {j} moved output {i} by only {d}"
                );
            }
        }
    }
}

#[test]
fn padded_tokens_change_nothing_at_real_positions() {
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut enc = encoder(wiring);
        let pad = padding_mask(&[5], 8);
        let ids = Array2::from_shape_vec((1, 8), vec![4, 3, 2, 1, 9, 0, 0, 0]).unwrap();
        let y = enc.forward(&ids, Some(&pad));
        let junk = Array2::from_shape_vec((1, 8), vec![4, 3, 2, 1, 9, 7, 8, 5]).unwrap();
        let y2 = enc.forward(&junk, Some(&pad));
        // Exactly: a masked key's weight is exp(-inf) = 0, so its value adds 0.0.
        assert_eq!(
            bits(y.slice(s![0, ..5, ..]).iter()),
            bits(y2.slice(s![0, ..5, ..]).iter()),
            "{wiring:?}"
        );
        // ...while without the mask, the same change does reach the real positions.
        let (a, b) = (enc.forward(&ids, None), enc.forward(&junk, None));
        assert!(
            moved(&a, &b, 0) > 1e-3,
            "{wiring:?}: unmasked padding is seen"
        );
    }
}

#[test]
fn a_padded_batch_item_equals_the_sequence_alone() {
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut enc = encoder(wiring);
        let batch = Array2::from_shape_vec(
            (2, 7),
            vec![1, 5, 2, 8, 3, 9, 4, 6, 2, 7, 0, 0, 0, 0],
        )
        .unwrap();
        let y = enc.forward(&batch, Some(&padding_mask(&[7, 3], 7)));
        let alone = Array2::from_shape_vec((1, 3), vec![6, 2, 7]).unwrap();
        let y1 = enc.forward(&alone, None);
        let d = (&y.slice(s![1, ..3, ..]) - &y1.slice(s![0, .., ..]))
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()));
        // Not bit-identical: the softmax and matmuls sum over 7 keys instead of 3.
        assert!(
            d < 1e-5,
            "{wiring:?}: padded item differs from alone by {d}"
        );
    }
}

/// Output, input gradient and every parameter gradient of a stack, as raw bits.
fn run_stack(threads: usize, wiring: Wiring) -> Vec<Vec<u32>> {
    in_pool(threads, || {
        let mut rng = seeded_rng(9);
        // 4 × 75 = 300 rows: uneven row blocks; d_ff 256 splits by columns too.
        let mut stack = EncoderStack::new(2, 64, 4, 256, wiring, &mut rng);
        let x: Array3<f32> = normal((4, 75, 64), 1.0, &mut rng);
        let dy: Array3<f32> = normal((4, 75, 64), 1.0, &mut rng);
        let pad = padding_mask(&[75, 60, 13, 1], 75);
        let y = stack.forward(&x, Some(&pad));
        let dx = stack.backward(&dy);
        let mut out = vec![bits(y.iter()), bits(dx.iter())];
        stack.visit_params(&mut |_, p| out.push(bits(p.grad.iter())));
        out
    })
}

#[test]
fn stacks_are_bit_identical_on_1_and_2_threads() {
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        assert_eq!(run_stack(1, wiring), run_stack(2, wiring), "{wiring:?}");
    }
}

#[test]
fn encoder_gradients_are_thread_count_independent() {
    let run = |threads| {
        in_pool(threads, || {
            let mut enc = encoder(Wiring::PreLn);
            let ids = Array2::from_shape_fn((3, 8), |(b, t)| (3 * b + 5 * t) % 10);
            let y = enc.forward(&ids, Some(&padding_mask(&[8, 6, 2], 8)));
            enc.backward(&y);
            let mut out = vec![bits(y.iter())];
            enc.visit_params(&mut |_, p| out.push(bits(p.grad.iter())));
            out
        })
    };
    assert_eq!(run(1), run(2));
}

#[test]
#[should_panic(expected = "padding_mask: lengths [3, 9] but T = 8")]
fn padding_longer_than_t_is_named() {
    padding_mask(&[3, 9], 8);
}

#[test]
#[should_panic(expected = "ids are [B, T] = [1, 9] but positions stop at 8")]
fn sequences_longer_than_max_len_are_named() {
    encoder(Wiring::PreLn).forward(&Array2::zeros((1, 9)), None);
}
