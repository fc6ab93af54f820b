//! Speculative decoding (section "Speculative decoding"): a cheap draft proposes k
//! tokens, the target scores all of them in one forward pass of k + 1 positions, and an
//! acceptance rule keeps a prefix of the draft so that every emitted token has exactly
//! the target's distribution (Leviathan et al. 2023; Chen et al. 2023).

use ch01_foundations::probability::{argmax, sample_categorical};
use ch09_decoder_only::llama::{KvCache, Llama};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::{Rng, RngExt};
use thiserror::Error;

/// What a speculative call was asked that it cannot do.
#[derive(Debug, Error, PartialEq)]
pub enum SpecError {
    #[error("the prompt is empty: speculative decoding needs at least one token")]
    EmptyPrompt,
    #[error("draft length k = 0: speculation needs at least one draft token")]
    NoDraft,
    #[error("temperature {0} is not a positive finite number (use Sampling::Greedy)")]
    BadTemperature(f32),
    #[error("prompt-lookup n-gram length n = 0: it needs at least one token to match")]
    EmptyNgram,
}

// ANCHOR: accept
/// The acceptance rule. `draft` holds k tokens the draft sampled, `q` their draft
/// distributions (row i: the draft's distribution for draft[i]), `p` the target's
/// distributions at the same k positions plus one more. Draft token x = draft[i] is kept
/// with probability min(1, p_i(x) / q_i(x)); at the first rejection the replacement is
/// drawn from norm(max(0, p_i − q_i)); if all k are kept, one more token comes from
/// p_k. Returns how many draft tokens were kept and the token that follows them.
// p: [k+1, V], q: [k, V], draft: [k] -> (accepted in 0..=k, next id)
pub fn accept(
    p: ArrayView2<f32>,
    q: ArrayView2<f32>,
    draft: &[u32],
    rng: &mut impl Rng,
) -> (usize, u32) {
    let k = draft.len();
    assert!(
        p.nrows() == k + 1 && q.nrows() == k && p.ncols() == q.ncols(),
        "accept: p is {:?}, q is {:?}, draft has {k} tokens",
        p.dim(),
        q.dim()
    );
    for (i, &x) in draft.iter().enumerate() {
        let (p_x, q_x) = (p[[i, x as usize]], q[[i, x as usize]]);
        // u < p/q without dividing: q_x > 0 because the draft sampled x
        if rng.random::<f32>() * q_x < p_x {
            continue;
        }
        let residual = (&p.row(i) - &q.row(i)).mapv(|d| d.max(0.0));
        return (i, sample_categorical(&residual, rng) as u32);
    }
    (k, sample_categorical(&p.row(k), rng) as u32)
}
// ANCHOR_END: accept

// ANCHOR: accept_greedy
/// The rule at temperature 0, where p and q put all their mass on their arg max: a
/// draft token is kept while it is the target's arg max, and the first target arg max
/// that differs (or the one after all k) comes next.
// logits: [k+1, V], draft: [k] -> (accepted in 0..=k, next id)
pub fn accept_greedy(logits: ArrayView2<f32>, draft: &[u32]) -> (usize, u32) {
    assert_eq!(
        logits.nrows(),
        draft.len() + 1,
        "accept_greedy: rows vs draft"
    );
    for (i, row) in logits.axis_iter(Axis(0)).enumerate() {
        let best = argmax(row.iter().copied()) as u32;
        if i == draft.len() || draft[i] != best {
            return (i, best);
        }
    }
    unreachable!("the loop returns at row k at the latest")
}
// ANCHOR_END: accept_greedy

/// softmax(logits / T) with the maximum subtracted first.
// logits: [V] -> [V]
pub fn softmax_t(logits: ArrayView1<f32>, t: f32) -> Array1<f32> {
    let m = logits.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let e = logits.mapv(|l| ((l - m) / t).exp());
    let z = e.sum();
    e / z
}

/// How tokens are chosen: the arg max, or a draw from softmax(logits / T).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    Greedy,
    Temperature(f32),
}

/// Where the k draft tokens come from.
pub enum Drafter<'a> {
    /// The tokens that followed the last earlier occurrence of the context's final
    /// n-gram (prompt lookup): no second model; q is a point mass on each proposal.
    PromptLookup { n: usize },
    /// A smaller model sharing the tokenizer, with its own cache.
    Model { model: &'a Llama, cache: KvCache },
}

impl<'a> Drafter<'a> {
    /// A draft model, with an empty cache.
    pub fn model(model: &'a Llama) -> Self {
        Drafter::Model {
            model,
            cache: model.new_cache(),
        }
    }
}

// ANCHOR: lookup
/// Prompt lookup: find the latest earlier place where the last `n` tokens of `ids`
/// occurred, and propose the (up to) `k` tokens that followed it there.
// ids: [T] -> proposal: [<= k]
pub fn prompt_lookup(ids: &[u32], n: usize, k: usize) -> Vec<u32> {
    if ids.len() <= n {
        return vec![];
    }
    let tail = &ids[ids.len() - n..];
    (0..ids.len() - n)
        .rev()
        .find(|&s| &ids[s..s + n] == tail)
        .map(|s| ids[s + n..(s + n + k).min(ids.len())].to_vec())
        .unwrap_or_default()
}
// ANCHOR_END: lookup

impl Drafter<'_> {
    /// Up to `k` draft tokens after `ids`, and (when sampling) their draft distributions
    /// over a vocabulary of `vocab`: one row a token.
    // ids: [T] -> (draft: [k'], q: [k', vocab]) with k' <= k
    pub fn propose(
        &mut self,
        ids: &[u32],
        k: usize,
        sampling: Sampling,
        vocab: usize,
        rng: &mut impl Rng,
    ) -> (Vec<u32>, Array2<f32>) {
        let mut draft = Vec::with_capacity(k);
        let mut q = Vec::new();
        match self {
            Drafter::PromptLookup { n } => {
                draft = prompt_lookup(ids, *n, k);
                for &x in &draft {
                    let mut row = vec![0.0; vocab];
                    row[x as usize] = 1.0; // a point mass: the draft is certain
                    q.extend(row);
                }
            }
            Drafter::Model { model, cache } => {
                let mut fresh = ids[cache.len()..].to_vec();
                for _ in 0..k {
                    let h = model.hidden_cached(&fresh, cache);
                    let logits = model.next_logits(&h);
                    let x = match sampling {
                        Sampling::Greedy => argmax(logits.iter().copied()) as u32,
                        Sampling::Temperature(t) => {
                            let q_i = softmax_t(logits.view(), t);
                            let x = sample_categorical(&q_i, rng) as u32;
                            q.extend(q_i);
                            x
                        }
                    };
                    draft.push(x);
                    fresh = vec![x];
                }
            }
        }
        let rows = if q.is_empty() { 0 } else { draft.len() };
        let q = Array2::from_shape_vec((rows, vocab), q).expect("one row a draft token");
        (draft, q)
    }

    /// Keeps only the first `len` positions the draft has seen (a draft model's cache).
    pub fn rollback(&mut self, len: usize) {
        if let Drafter::Model { cache, .. } = self {
            let keep = cache.len().min(len);
            cache.truncate(keep);
        }
    }
}

/// What a speculative run did: target forward passes, draft tokens proposed and kept.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SpecStats {
    pub steps: usize,
    pub proposed: usize,
    pub accepted: usize,
}

impl SpecStats {
    /// The fraction of proposed draft tokens the target kept.
    pub fn acceptance_rate(&self) -> f64 {
        self.accepted as f64 / self.proposed.max(1) as f64
    }

    /// One target pass that verified `proposed` draft tokens and kept `accepted`.
    pub fn record(&mut self, proposed: usize, accepted: usize) {
        self.steps += 1;
        self.proposed += proposed;
        self.accepted += accepted;
    }
}

// ANCHOR: generate
/// Up to `max_new` tokens after `prompt`, `k` drafts a step, stopping after `eos`. The
/// target's cache holds every token but the last; a step feeds [last, d_1 .. d_k] in
/// one forward pass, keeps a accepted drafts and rolls the cache back to them.
// prompt: [T] -> (new ids: [<= max_new], stats)
pub fn speculative_generate(
    target: &Llama,
    drafter: &mut Drafter,
    prompt: &[u32],
    (max_new, k): (usize, usize),
    sampling: Sampling,
    eos: Option<u32>,
    rng: &mut impl Rng,
) -> Result<(Vec<u32>, SpecStats), SpecError> {
    check(prompt, k, sampling, drafter)?;
    let (mut cache, mut stats) = (target.new_cache(), SpecStats::default());
    let mut ids = prompt.to_vec();
    if prompt.len() > 1 {
        target.hidden_cached(&prompt[..prompt.len() - 1], &mut cache);
    }
    while ids.len() - prompt.len() < max_new {
        let n = ids.len();
        let k_now = k.min(max_new - (n - prompt.len()) - 1); // never overshoot
        let (draft, q) = drafter.propose(&ids, k_now, sampling, target.cfg.vocab, rng);
        let fed: Vec<u32> = std::iter::once(ids[n - 1])
            .chain(draft.iter().copied())
            .collect();
        let logits = target.logits(&target.hidden_cached(&fed, &mut cache));
        let (a, next) = verify(logits, &draft, q, sampling, rng);
        cache.truncate(n + a); // the last token and the accepted drafts stay
        drafter.rollback(n + a);
        stats.record(draft.len(), a);
        ids.extend_from_slice(&draft[..a]);
        ids.push(next);
        if let Some(at) = ids[n..].iter().position(|&x| Some(x) == eos) {
            ids.truncate(n + at + 1);
            break;
        }
    }
    Ok((ids.split_off(prompt.len()), stats))
}
// ANCHOR_END: generate

/// The acceptance rule on the target's logits: greedy, or on softmax(logits / T).
// logits: [k+1, V], draft: [k], q: [k, V] -> (accepted, next id)
fn verify(
    logits: Array2<f32>,
    draft: &[u32],
    q: Array2<f32>,
    sampling: Sampling,
    rng: &mut impl Rng,
) -> (usize, u32) {
    match sampling {
        Sampling::Greedy => accept_greedy(logits.view(), draft),
        Sampling::Temperature(t) => {
            let mut p = logits;
            for mut row in p.rows_mut() {
                let probs = softmax_t(row.view(), t);
                row.assign(&probs);
            }
            accept(p.view(), q.view(), draft, rng)
        }
    }
}

fn check(
    prompt: &[u32],
    k: usize,
    sampling: Sampling,
    drafter: &Drafter,
) -> Result<(), SpecError> {
    if prompt.is_empty() {
        return Err(SpecError::EmptyPrompt);
    }
    if k == 0 {
        return Err(SpecError::NoDraft);
    }
    if let Sampling::Temperature(t) = sampling
        && !(t.is_finite() && t > 0.0)
    {
        return Err(SpecError::BadTemperature(t));
    }
    if let Drafter::PromptLookup { n: 0 } = drafter {
        return Err(SpecError::EmptyNgram);
    }
    Ok(())
}
