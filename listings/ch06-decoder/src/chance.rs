//! Chapter 1's sanity check, "the initial loss is about ln K", taken apart (section "The
//! LM head and training"): why the first loss of a run can sit well above it.

use ch01_foundations::softmax::logsumexp;
use ndarray::{Array2, Axis};

use crate::lm::{DecoderLm, lm_loss};
use crate::train::TrainConfig;

// ANCHOR: breakdown
/// One batch's loss split exactly into three terms, averaged over the rows that count:
/// loss = ln K + spread + gap, with, for each row of logits z and smoothed target
/// q = (1 - ε)·onehot(y) + ε/K (ε = 0: plain cross-entropy),
///   spread = logsumexp(z) - mean(z) - ln K ≥ 0, zero only if all K logits are equal;
///            ≈ σ²/2 for a small spread σ² = variance of z across the vocabulary;
///   gap    = (1 - ε)·(mean(z) - z_y): how far the target's logit sits below the mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChanceBreakdown {
    pub loss: f32,
    pub ln_k: f32,
    pub spread: f32,
    pub gap: f32,
    /// Root of the mean over rows of the variance of z across the vocabulary.
    pub sigma: f32,
}

// logits: [N, K], targets: [N] (None: a row that does not count)
pub fn chance_breakdown(
    logits: &Array2<f32>,
    targets: &[Option<usize>],
    eps: f32,
) -> ChanceBreakdown {
    let k = logits.ncols();
    let lse = logsumexp(logits, Axis(1));
    let (mut n, mut spread, mut gap, mut var) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for ((z, &y), &l) in logits.rows().into_iter().zip(targets).zip(&lse) {
        let Some(y) = y else { continue };
        let mean = z.mean().expect("K > 0");
        n += 1.0;
        spread += f64::from(l - mean) - (k as f64).ln();
        gap += f64::from((1.0 - eps) * (mean - z[y]));
        var += f64::from(z.mapv(|v| (v - mean).powi(2)).mean().expect("K > 0"));
    }
    let ln_k = (k as f64).ln();
    let (spread, gap) = (spread / n, gap / n);
    ChanceBreakdown {
        loss: (ln_k + spread + gap) as f32,
        ln_k: ln_k as f32,
        spread: spread as f32,
        gap: gap as f32,
        sigma: (var / n).sqrt() as f32,
    }
}
// ANCHOR_END: breakdown

/// The logits and targets of the first step of `train(cfg)`: the same seed, the same
/// model and the same first batch, drawn in the same order.
// -> (logits: [B·T, vocab], targets: [B·T], the loss train() records at step 0)
pub fn first_step(cfg: &TrainConfig) -> (Array2<f32>, Vec<Option<usize>>, f32) {
    let mut rng = ch01_foundations::init::seeded_rng(cfg.seed);
    let mut model = DecoderLm::new(cfg.model, &mut rng);
    let (ids, targets) = cfg.pattern.batch(cfg.batch, &mut rng);
    let logits = model.forward(&ids, None);
    let (loss, _) = lm_loss(&logits, &targets);
    let rows = ch01_foundations::linalg::rows(&logits);
    (rows, targets.iter().copied().collect(), loss)
}

/// The ids of the first step's inputs, row-aligned with `first_step`'s logits.
pub fn first_step_inputs(cfg: &TrainConfig) -> Vec<usize> {
    let mut rng = ch01_foundations::init::seeded_rng(cfg.seed);
    let _ = DecoderLm::new(cfg.model, &mut rng);
    let (ids, _) = cfg.pattern.batch(cfg.batch, &mut rng);
    ids.iter().copied().collect()
}

/// With a tied table, how far each counted row's own input token's logit sits above the
/// row's mean (on average), and in how many of the rows it is the largest logit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OwnToken {
    pub above_mean: f32,
    pub largest: usize,
    pub rows: usize,
}

pub fn own_token(cfg: &TrainConfig) -> OwnToken {
    let (logits, targets, _) = first_step(cfg);
    let inputs = first_step_inputs(cfg);
    let (mut above, mut largest, mut rows) = (0.0f32, 0, 0);
    for ((z, &x), y) in logits.rows().into_iter().zip(&inputs).zip(&targets) {
        if y.is_some() {
            above += z[x] - z.mean().expect("K > 0");
            largest += usize::from(
                ch01_foundations::probability::argmax(z.iter().copied()) == x,
            );
            rows += 1;
        }
    }
    OwnToken {
        above_mean: above / rows as f32,
        largest,
        rows,
    }
}

/// The first loss of the chapter's run, taken apart (pinned by `tests/chance.rs`, whose
/// snapshot the text includes).
pub fn chance_report(cfg: &TrainConfig) -> String {
    let (logits, targets, loss) = first_step(cfg);
    let b = chance_breakdown(&logits, &targets, 0.0);
    let own = own_token(cfg);
    let r = |x: f32| ch01_foundations::report::round(x, 3);
    format!(
        "first loss {} = ln {} ({}) + spread {} + gap {} (over {} target positions)\n\
         spread: logits' std across the vocabulary σ = {}, σ²/2 = {}\n\
         gap: the target's logit sits {} below its row's mean\n\
         the input token's own logit sits {} above its row's mean, \
         and is the row's largest in {} of {} rows\n",
        ch01_foundations::report::round(loss, 4),
        logits.ncols(),
        r(b.ln_k),
        r(b.spread),
        r(b.gap),
        own.rows,
        r(b.sigma),
        r(b.sigma * b.sigma / 2.0),
        r(b.gap),
        r(own.above_mean),
        own.largest,
        own.rows,
    )
}
