//! Batched generation on a small seeded Llama (Chapter 9's `LlamaTrainConfig::tiny`):
//! rows of different lengths, left-padded into one batch, give what each gives alone.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::probability::argmax;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch12_inference::batched::{BatchCache, BatchError, forward_batch, generate_batch};

fn model() -> Llama {
    Llama::new(LlamaTrainConfig::tiny(), &mut seeded_rng(12)).unwrap()
}

fn prompts() -> Vec<Vec<usize>> {
    vec![
        vec![3, 1, 4],
        vec![1, 5, 9, 2, 6, 5, 3],
        vec![5, 8, 9, 7, 9],
        vec![2],
    ]
}

/// Greedy decoding by Chapter 9's training forward: the whole sequence again at every
/// step, no cache, no padding. The independent reference.
fn alone_by_full_forward(m: &mut Llama, prompt: &[usize], max_new: usize) -> Vec<usize> {
    let mut ids = prompt.to_vec();
    for _ in 0..max_new {
        let logits = m.forward(&ids);
        ids.push(argmax(logits.row(ids.len() - 1).iter().copied()));
    }
    ids.split_off(prompt.len())
}

#[test]
fn a_batch_generates_what_each_prompt_generates_alone() {
    let mut m = model();
    let batch = generate_batch(&mut m, &prompts(), 12).unwrap();
    for (p, got) in prompts().iter().zip(&batch) {
        let alone = generate_batch(&mut m, std::slice::from_ref(p), 12).unwrap();
        assert_eq!(got, &alone[0], "batched vs alone (cached) for {p:?}");
        assert_eq!(
            got,
            &alone_by_full_forward(&mut m, p, 12),
            "vs full forward, {p:?}"
        );
    }
}

/// The prefill's logits at every real position, batched and left-padded, against the
/// training forward of the prompt alone. The padding's keys get exactly zero weight,
/// so only the order of the sums differs: max |difference| ≤ 1e-6 (the logits are O(1)).
#[test]
fn padded_logits_equal_the_unpadded_ones() {
    let mut m = model();
    let ps = prompts();
    let l = ps.iter().map(Vec::len).max().unwrap();
    let ids: Vec<Vec<usize>> = ps
        .iter()
        .map(|p| [vec![0; l - p.len()], p.clone()].concat())
        .collect();
    let valid: Vec<Vec<bool>> = ps
        .iter()
        .map(|p| [vec![false; l - p.len()], vec![true; p.len()]].concat())
        .collect();
    let mut cache = BatchCache::new(m.blocks.len(), ps.len());
    let logits = forward_batch(&mut m, &ids, &valid, &mut cache);
    let mut worst = 0.0f32;
    for (b, p) in ps.iter().enumerate() {
        let alone = m.forward(p);
        for (i, row) in alone.rows().into_iter().enumerate() {
            let got = logits.slice(ndarray::s![b, l - p.len() + i, ..]);
            for (x, y) in got.iter().zip(row) {
                worst = worst.max((x - y).abs());
            }
        }
    }
    assert!(worst <= 1e-6, "max |batched − alone| = {worst}");
}

#[test]
fn bad_batches_are_errors() {
    let mut m = model();
    assert_eq!(generate_batch(&mut m, &[], 2), Err(BatchError::Empty));
    assert_eq!(
        generate_batch(&mut m, &[vec![1], vec![]], 2),
        Err(BatchError::EmptyPrompt(1))
    );
    let e = generate_batch(&mut m, &[vec![1, 99]], 2).unwrap_err();
    assert_eq!(
        e.to_string(),
        "prompt 0 holds token 99, outside the vocabulary of 40"
    );
}

/// Without the mask (padding taken for tokens: attended to, and counted in the
/// positions) the padded rows change: the mask is what makes batching exact.
#[test]
fn without_the_mask_padding_changes_the_output() {
    let mut m = model();
    let (short, long) = (vec![3, 1, 4], vec![1, 5, 9, 2, 6, 5, 3]);
    let ids = vec![[vec![0; 4], short.clone()].concat(), long];
    let all = vec![vec![true; 7]; 2];
    let logits = forward_batch(&mut m, &ids, &all, &mut BatchCache::new(2, 2));
    let alone = m.forward(&short);
    let last = logits.slice(ndarray::s![0, 6, ..]);
    let diff = last
        .iter()
        .zip(alone.row(2))
        .fold(0.0f32, |a, (x, y)| a.max((x - y).abs()));
    assert!(
        diff > 1e-3,
        "unmasked padding left the logits within {diff}"
    );
}
