//! Gradient accumulation: k padded micro-batches, normalised by the real tokens of all
//! of them, give one k-times batch's gradient; the mean of the micro-batch means does
//! not when their padding differs.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch11_training::accumulate::{
    IGNORE, MicroBatch, accumulate, flat_grads, mean_of_means, one_batch,
    random_micro_batches,
};
use ndarray::array;

/// The gradient each way, from the same weights.
fn grads(
    micro: &[MicroBatch],
    run: fn(&mut Llama, &[MicroBatch]) -> f32,
) -> (f32, Vec<f32>) {
    let mut model = Llama::new(LlamaTrainConfig::tiny(), &mut seeded_rng(1)).unwrap();
    model.zero_grad();
    let loss = run(&mut model, micro);
    (loss, flat_grads(&model))
}

fn rel_diff(a: &[f32], b: &[f32]) -> f32 {
    let d: f32 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt();
    d / b.iter().map(|y| y * y).sum::<f32>().sqrt()
}

#[test]
fn targets_ignore_padding_and_the_last_real_token() {
    let mb = MicroBatch {
        ids: array![[5, 6, 7, 0], [8, 9, 0, 0]],
        lengths: vec![3, 2],
    };
    assert_eq!(mb.targets(0), vec![6, 7, IGNORE, IGNORE]);
    assert_eq!(mb.targets(1), vec![9, IGNORE, IGNORE, IGNORE]);
    assert_eq!(mb.real_tokens(), 3);
}

/// Tolerance: 1e-5 relative to the gradient's norm; float error of summing the same
/// terms in another order, nothing more.
#[test]
fn k_micro_batches_equal_one_k_times_batch() {
    let micro = random_micro_batches(4, 2, 12, 40, &mut seeded_rng(7));
    let counts: Vec<usize> = micro.iter().map(MicroBatch::real_tokens).collect();
    assert!(
        counts.iter().any(|&n| n != counts[0]),
        "padding must differ: {counts:?}"
    );
    let (loss_acc, g_acc) = grads(&micro, accumulate);
    let (loss_one, g_one) = grads(&micro, one_batch);
    let (loss_naive, g_naive) = grads(&micro, mean_of_means);
    let (exact, naive) = (rel_diff(&g_acc, &g_one), rel_diff(&g_naive, &g_one));
    eprintln!(
        "real tokens {counts:?}; accumulated vs one batch {exact:.1e}, mean of means {naive:.3}"
    );
    eprintln!(
        "loss: one batch {loss_one}, accumulated {loss_acc}, mean of means {loss_naive}"
    );
    assert!(
        exact <= 1e-5,
        "accumulation differs from one batch by {exact:.1e}"
    );
    assert!((loss_acc - loss_one).abs() <= 1e-5 * loss_one);
    assert!(naive > 1e-2, "mean of means should differ, by {naive:.1e}");
}

#[test]
fn mean_of_means_is_right_when_every_micro_batch_has_the_same_count() {
    let mut micro = random_micro_batches(3, 2, 10, 40, &mut seeded_rng(8));
    for mb in &mut micro {
        mb.lengths = vec![10, 6]; // 14 predicted tokens in each
    }
    let (_, g_one) = grads(&micro, one_batch);
    let (_, g_naive) = grads(&micro, mean_of_means);
    assert!(rel_diff(&g_naive, &g_one) <= 1e-5);
}
