//! Solutions to the chapter's exercises (tested in tests/exercises.rs).

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch01_foundations::regression::sgd_step;
use ch03_attention::mha::MultiHeadAttention;
use ndarray::{Array2, Array3, Axis};

use crate::block::{EncoderBlock, Wiring};
use crate::depth::{Setup, Tagger, histogram_batch};
use crate::encoder::EncoderConfig;

// ANCHOR: param_count
/// Exercise 1: the encoder's parameter count in closed form.
pub fn encoder_param_count(cfg: &EncoderConfig) -> usize {
    let (v, c, f, l) = (cfg.vocab, cfg.d_model, cfg.d_ff, cfg.n_layers);
    let attn = 4 * c * c + 4 * c; // W_qkv [C, 3C], W_o [C, C], and their biases
    let ffn = 2 * c * f + f + c; // fc1 [C, d_ff], fc2 [d_ff, C], and their biases
    let norms = 2 * 2 * c; // two LayerNorms, γ and β each
    let final_norm = if cfg.wiring == Wiring::PreLn {
        2 * c
    } else {
        0
    };
    v * c + l * (attn + ffn + norms) + final_norm // PE is fixed: not counted
}
// ANCHOR_END: param_count

// ANCHOR: mean_pool
/// Exercise 2: one vector per sequence, the mean of its real (unpadded) positions.
// h: [B, T, C], key_padding: [B, T] -> [B, C]
pub fn masked_mean(h: &Array3<f32>, key_padding: &Array2<bool>) -> Array2<f32> {
    let (b, _, c) = h.dim();
    let mut out = Array2::zeros((b, c));
    for (bi, mut row) in out.outer_iter_mut().enumerate() {
        let real: Vec<usize> =
            (0..h.dim().1).filter(|&t| !key_padding[[bi, t]]).collect();
        for &t in &real {
            row += &h.index_axis(Axis(0), bi).row(t);
        }
        row /= real.len().max(1) as f32;
    }
    out
}

/// Its backward pass: each real position gets dy / n, padded positions get 0.
// dy: [B, C], key_padding: [B, T] -> dh: [B, T, C]
pub fn masked_mean_backward(dy: &Array2<f32>, key_padding: &Array2<bool>) -> Array3<f32> {
    let ((b, t), c) = (key_padding.dim(), dy.ncols());
    Array3::from_shape_fn((b, t, c), |(bi, ti, ci)| {
        let n = key_padding.row(bi).iter().filter(|&&p| !p).count().max(1);
        if key_padding[[bi, ti]] {
            0.0
        } else {
            dy[[bi, ci]] / n as f32
        }
    })
}
// ANCHOR_END: mean_pool

// ANCHOR: causal_block
/// Exercise 3: the same block with a causal self-attention (Chapter 6's decoder).
pub fn causal_block(
    d_model: usize,
    n_heads: usize,
    d_ff: usize,
    seed: u64,
) -> EncoderBlock {
    let mut rng = seeded_rng(seed);
    let mut block = EncoderBlock::new(d_model, n_heads, d_ff, Wiring::PreLn, &mut rng);
    block.attn = MultiHeadAttention::new(d_model, n_heads, true, &mut rng);
    block
}
// ANCHOR_END: causal_block

// ANCHOR: warmup
/// Exercise 4: the depth experiment's SGD with a linear warm-up, lr_s = lr · min(1,
/// (s + 1) / warmup), the 2017 paper's remedy for Post-LN (there with Adam).
pub fn train_with_warmup(
    setup: &Setup,
    n_layers: usize,
    wiring: Wiring,
    steps: usize,
    warmup: usize,
) -> Vec<f32> {
    let mut model = Tagger::new(setup, n_layers, wiring);
    let mut rng = seeded_rng(setup.seed + 2); // the same batches as `depth::train`
    (0..steps)
        .map(|step| {
            let (ids, targets) =
                histogram_batch(setup.batch, setup.t, setup.vocab, &mut rng);
            model.zero_grad();
            let loss = model.loss_and_backward(&ids, &targets);
            let ramp = ((step + 1) as f32 / warmup as f32).min(1.0);
            sgd_step(&mut model, setup.lr * ramp);
            loss
        })
        .collect()
}
// ANCHOR_END: warmup
