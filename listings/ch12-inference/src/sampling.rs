//! Sampling (section "Sampling"): the next token drawn from the model's logits after a
//! fixed chain of transformations. The order is Hugging Face's `generate` order where
//! it has one: penalties, then temperature, then the filters top-k, top-p, min-p; the
//! frequency penalty, which Hugging Face lacks, sits beside the repetition penalty.
//!
//! Chapter 9's `generate` draws at a temperature alone; with every filter and penalty
//! off this sampler gives the same distribution and draws it with the same Chapter 1
//! `sample_categorical` (inverse CDF), so it is that sampler grown, not a second one:
//! a test gets the same tokens from SmolLM2 through both for the same seed.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::probability::{argmax, sample_categorical};
use ndarray::Array1;
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

/// A setting outside its range.
#[derive(Debug, Error, PartialEq)]
pub enum SamplingError {
    #[error("sampling: {name} = {value} is outside {range}")]
    OutOfRange {
        name: &'static str,
        value: f32,
        range: &'static str,
    },
    #[error("sampling: the logits are empty")]
    EmptyLogits,
    #[error("sampling: logit {index} is {value}, not finite")]
    NotFinite { index: usize, value: f32 },
}

// ANCHOR: config
/// What the caller chooses. The defaults change nothing: temperature 1, no filter,
/// no penalty.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerConfig {
    /// Divides the logits; 0 means greedy (the arg max, the lowest id on a tie).
    pub temperature: f32,
    /// Keep the k most likely tokens (and any tied with the k-th); 0 turns it off.
    pub top_k: usize,
    /// Keep the most likely tokens until their mass reaches p; 1 turns it off.
    pub top_p: f32,
    /// Drop tokens less likely than min_p times the most likely one; 0 turns it off.
    pub min_p: f32,
    /// CTRL's penalty: a token already seen has its logit divided by it if positive,
    /// multiplied if negative; 1 turns it off.
    pub repetition_penalty: f32,
    /// OpenAI's: a token seen n times loses n times this from its logit; 0 is off.
    pub frequency_penalty: f32,
    pub seed: u64,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            frequency_penalty: 0.0,
            seed: 0,
        }
    }
}
// ANCHOR_END: config

impl SamplerConfig {
    /// Every setting checked against its range.
    pub fn validate(&self) -> Result<(), SamplingError> {
        let check = |name, value: f32, ok: bool, range| {
            if ok {
                Ok(())
            } else {
                Err(SamplingError::OutOfRange { name, value, range })
            }
        };
        let t = self.temperature;
        check("temperature", t, t.is_finite() && t >= 0.0, "[0, ∞)")?;
        check(
            "top_p",
            self.top_p,
            self.top_p > 0.0 && self.top_p <= 1.0,
            "(0, 1]",
        )?;
        check(
            "min_p",
            self.min_p,
            (0.0..=1.0).contains(&self.min_p),
            "[0, 1]",
        )?;
        let r = self.repetition_penalty;
        check("repetition_penalty", r, r.is_finite() && r > 0.0, "(0, ∞)")?;
        let f = self.frequency_penalty;
        check("frequency_penalty", f, f.is_finite(), "finite values")
    }
}

/// The sampler: its settings and its own seeded generator, so that the same seed and
/// the same logits give the same tokens on any machine.
pub struct Sampler {
    pub cfg: SamplerConfig,
    rng: ChaCha8Rng,
}

// ANCHOR: penalties
/// The penalties, applied to the raw logits for the tokens in `history`. The
/// repetition penalty hits a token once however often it came; the frequency penalty
/// grows with the count.
// logits: [V], history: [n] -> [V]
pub fn apply_penalties(logits: &mut Array1<f32>, history: &[u32], cfg: &SamplerConfig) {
    let mut count = std::collections::BTreeMap::<usize, usize>::new();
    for &id in history {
        if (id as usize) < logits.len() {
            *count.entry(id as usize).or_default() += 1;
        }
    }
    let r = cfg.repetition_penalty;
    for (&id, &n) in &count {
        let l = &mut logits[id];
        if r != 1.0 {
            *l = if *l < 0.0 { *l * r } else { *l / r };
        }
        *l -= n as f32 * cfg.frequency_penalty;
    }
}
// ANCHOR_END: penalties

// ANCHOR: top_k
/// Top-k: every logit below the k-th largest becomes −∞. Tokens tied with the k-th all
/// stay (Hugging Face's rule), so more than k can survive a tie.
// logits: [V] -> [V]
pub fn top_k(logits: &mut Array1<f32>, k: usize) {
    if k == 0 || k >= logits.len() {
        return; // off, or every token kept
    }
    let mut sorted: Vec<f32> = logits.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let kth = sorted[k - 1];
    logits.mapv_inplace(|l| if l < kth { f32::NEG_INFINITY } else { l });
}
// ANCHOR_END: top_k

/// softmax in f64 over the finite logits; −∞ gets exactly 0.
// logits: [V] -> [V]
pub fn probabilities(logits: &Array1<f32>) -> Vec<f64> {
    let m = logits.fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
    let e: Vec<f64> = logits.iter().map(|&l| (l as f64 - m).exp()).collect();
    let z: f64 = e.iter().sum();
    e.into_iter().map(|x| x / z).collect()
}

// ANCHOR: top_p
/// Top-p (nucleus): sort by probability, most likely first (the lower id first on a
/// tie), and keep each token while the mass before it is below p: the smallest head of
/// the list whose mass reaches p. The most likely token always stays.
// logits: [V] -> [V]
pub fn top_p(logits: &mut Array1<f32>, p: f32) {
    if p >= 1.0 {
        return; // rounding could otherwise drop a tail whose mass is below 1e-16
    }
    let probs = probabilities(logits);
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    let mut before = 0.0;
    for &i in &order {
        if before >= p as f64 {
            logits[i] = f32::NEG_INFINITY;
        }
        before += probs[i];
    }
}
// ANCHOR_END: top_p

// ANCHOR: min_p
/// Min-p: drop every token whose probability is below min_p times the largest one.
/// The cut follows the model's confidence: strict when one token dominates, loose
/// when many are close.
// logits: [V] -> [V]
pub fn min_p(logits: &mut Array1<f32>, min_p: f32) {
    if min_p <= 0.0 {
        return;
    }
    let probs = probabilities(logits);
    let cut = min_p as f64 * probs.iter().copied().fold(0.0, f64::max);
    for (l, &p) in logits.iter_mut().zip(&probs) {
        if p < cut {
            *l = f32::NEG_INFINITY;
        }
    }
}
// ANCHOR_END: min_p

impl Sampler {
    pub fn new(cfg: SamplerConfig) -> Result<Self, SamplingError> {
        cfg.validate()?;
        let rng = seeded_rng(cfg.seed);
        Ok(Sampler { cfg, rng })
    }

    /// The logits after the whole chain, before the draw: penalties, temperature, top-k,
    /// top-p, min-p. At temperature 0 only the arg max keeps a finite logit.
    // logits: [V], history: [n] -> [V]
    // ANCHOR: processed
    pub fn processed(
        &self,
        logits: &Array1<f32>,
        history: &[u32],
    ) -> Result<Array1<f32>, SamplingError> {
        check_logits(logits)?;
        let cfg = &self.cfg;
        let mut l = logits.clone();
        apply_penalties(&mut l, history, cfg);
        if cfg.temperature == 0.0 {
            let best = argmax(l.iter().copied());
            return Ok(Array1::from_shape_fn(l.len(), |i| {
                if i == best { 0.0 } else { f32::NEG_INFINITY }
            }));
        }
        l.mapv_inplace(|x| x / cfg.temperature);
        top_k(&mut l, cfg.top_k);
        top_p(&mut l, cfg.top_p);
        min_p(&mut l, cfg.min_p);
        Ok(l)
    }
    // ANCHOR_END: processed

    /// The distribution the draw samples from: softmax of [`Sampler::processed`].
    // logits: [V] -> [V]
    pub fn distribution(
        &self,
        logits: &Array1<f32>,
        history: &[u32],
    ) -> Result<Vec<f64>, SamplingError> {
        Ok(probabilities(&self.processed(logits, history)?))
    }

    // ANCHOR: sample
    /// The next token. The weights are exp(l − max), unnormalised, drawn by Chapter 1's
    /// inverse CDF with this sampler's generator; greedy consumes no randomness.
    // logits: [V], history: [n] -> id
    pub fn sample(
        &mut self,
        logits: &Array1<f32>,
        history: &[u32],
    ) -> Result<u32, SamplingError> {
        let l = self.processed(logits, history)?;
        if self.cfg.temperature == 0.0 {
            return Ok(argmax(l.iter().copied()) as u32);
        }
        let m = l.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let w = l.mapv(|x| (x - m).exp());
        Ok(sample_categorical(&w, &mut self.rng) as u32)
    }
    // ANCHOR_END: sample
}

fn check_logits(logits: &Array1<f32>) -> Result<(), SamplingError> {
    if logits.is_empty() {
        return Err(SamplingError::EmptyLogits);
    }
    match logits.iter().position(|l| !l.is_finite()) {
        Some(index) => Err(SamplingError::NotFinite {
            index,
            value: logits[index],
        }),
        None => Ok(()),
    }
}

// ANCHOR: filter_effects
/// The section's figure: one distribution through five settings, each alone. Returns
/// (label, probabilities) with the tokens in the logits' order.
// logits: [V] -> 5 × [V]
pub fn filter_effects(
    logits: &Array1<f32>,
) -> Result<Vec<(&'static str, Vec<f64>)>, SamplingError> {
    let base = SamplerConfig::default();
    let settings = [
        ("no filter (T = 1)", base.clone()),
        (
            "T = 0.5",
            SamplerConfig {
                temperature: 0.5,
                ..base.clone()
            },
        ),
        (
            "top-k 5",
            SamplerConfig {
                top_k: 5,
                ..base.clone()
            },
        ),
        (
            "top-p 0.8",
            SamplerConfig {
                top_p: 0.8,
                ..base.clone()
            },
        ),
        ("min-p 0.1", SamplerConfig { min_p: 0.1, ..base }),
    ];
    settings
        .into_iter()
        .map(|(label, cfg)| Ok((label, Sampler::new(cfg)?.distribution(logits, &[])?)))
        .collect()
}
// ANCHOR_END: filter_effects
