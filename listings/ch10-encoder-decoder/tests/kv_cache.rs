//! The KV cache path against the full recompute: the same logits at every step (within
//! 1e-5; the report says whether they are bitwise equal), the same greedy ids, the same
//! bits on 1 and 2 threads, and errors for what does not fit. On a tiny model built
//! here, and on the real Whisper tiny.en (`cargo xtask models`).

mod common;

use std::sync::{Mutex, OnceLock};

use ch01_foundations::linalg::in_pool;
use ch10_encoder_decoder::ctranslate2::Ct2Model;
use ch10_encoder_decoder::transcribe::{self, DecodingRules, EOT, NO_TIMESTAMPS, SOT};
use ch10_encoder_decoder::whisper::Whisper;
use common::{tiny_config, tiny_whisper_file};
use ndarray::{Array2, s};

/// The cached path sums in another order than the full pass (one row at a time, not a
/// matmul over all rows), so the logits differ by rounding: at most this fraction of
/// the largest logit (f32 keeps 24 bits, a relative 6e-8 per operation).
const CACHE_TOL: f32 = 1e-5;

/// Logits of every prefix of `seq` (the first `prompt` ids in one pass, then one id a
/// step) through the cache, as rows: row i = the logits after seq[..=i], for i ≥ prompt - 1.
// seq: [T] -> [T - prompt + 1, vocab]
fn cached_logits(
    model: &mut Whisper,
    m: &Array2<f32>,
    seq: &[u32],
    prompt: usize,
) -> Array2<f32> {
    let mut cache = model.new_cache(m).unwrap();
    let mut rows = vec![];
    let h = model.hidden_cached(&seq[..prompt], &mut cache).unwrap();
    rows.push(model.last_logits(&h));
    for &id in &seq[prompt..] {
        let h = model.hidden_cached(&[id], &mut cache).unwrap();
        rows.push(model.last_logits(&h));
    }
    assert_eq!(cache.len(), seq.len());
    let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
    ndarray::stack(ndarray::Axis(0), &views).unwrap()
}

/// (max |cached - full|, whether every value has the same bits).
fn compare(
    model: &mut Whisper,
    m: &Array2<f32>,
    seq: &[u32],
    prompt: usize,
) -> (f32, bool, f32) {
    let full = model.logits(m, seq).unwrap();
    let full = full.slice(s![prompt - 1.., ..]);
    let cached = cached_logits(model, m, seq, prompt);
    assert_eq!(cached.dim(), full.dim());
    let err = (&cached - &full)
        .mapv(f32::abs)
        .fold(0.0f32, |a, &b| a.max(b));
    let scale = full.iter().fold(0.0f32, |a, &b| a.max(b.abs()));
    (err, cached == full, scale)
}

fn tiny_model() -> (Whisper, Array2<f32>) {
    let m = Ct2Model::parse(tiny_whisper_file(&tiny_config(), |_| {})).unwrap();
    let mut model = Whisper::from_ct2(&m).unwrap();
    let mel = Array2::from_shape_fn((3, 10), |(c, t)| ((c * 10 + t) as f32 * 0.3).cos());
    let memory = model.encode(&mel).unwrap();
    (model, memory)
}

#[test]
fn on_a_tiny_model_the_cache_gives_the_full_passs_logits() {
    let (mut model, m) = tiny_model();
    for prompt in 1..=3 {
        let (err, _, scale) = compare(&mut model, &m, &[3, 1, 4, 1, 5, 9], prompt);
        assert!(err < CACHE_TOL * scale, "prompt of {prompt}: {err:e}");
    }
}

#[test]
fn on_a_tiny_model_1_and_3_threads_give_the_same_bits() {
    let (mut model, _) = tiny_model();
    let mel = Array2::from_shape_fn((3, 10), |(c, t)| ((c * 7 + t) as f32 * 0.2).sin());
    let one = in_pool(1, || model.encode(&mel).unwrap());
    let three = in_pool(3, || model.encode(&mel).unwrap());
    assert_eq!(one, three);
    let (m, seq) = (one, [3, 1, 4, 1, 5, 9]);
    let one = in_pool(1, || cached_logits(&mut model, &m, &seq, 2));
    let three = in_pool(3, || cached_logits(&mut model, &m, &seq, 2));
    assert_eq!(one, three);
}

#[test]
fn the_cache_refuses_what_does_not_fit() {
    let (mut model, m) = tiny_model();
    let mut cache = model.new_cache(&m).unwrap();
    model.hidden_cached(&[1, 2, 3, 4], &mut cache).unwrap();
    let e = model.hidden_cached(&[5, 6, 7], &mut cache).unwrap_err();
    assert_eq!(
        e.to_string(),
        "input: 3 tokens after 4 in the cache: the decoder takes 1 to 6"
    );
    let e = model.hidden_cached(&[50], &mut cache).unwrap_err();
    assert_eq!(
        e.to_string(),
        "input: token id 50 is outside the vocabulary of 50"
    );
    assert!(model.hidden_cached(&[], &mut cache).is_err());
    assert_eq!(cache.len(), 4, "a refused call adds nothing");
    model.hidden_cached(&[5, 6], &mut cache).unwrap();
    let e = model.new_cache(&Array2::zeros((5, 3))).err().unwrap();
    assert_eq!(
        e.to_string(),
        "input: the encoder output is [5, 3], expected [positions > 0, 4]"
    );
}

/// The real model and its encoder output on the parity test's synthetic log-mel.
fn real() -> &'static Mutex<(Whisper, Array2<f32>)> {
    static CELL: OnceLock<Mutex<(Whisper, Array2<f32>)>> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut model =
            Whisper::from_ct2(common::whisper_bin()).unwrap_or_else(|e| panic!("{e}"));
        let m = model.encode(&synthetic_mel()).unwrap();
        Mutex::new((model, m))
    })
}

fn synthetic_mel() -> Array2<f32> {
    Array2::from_shape_fn((80, 3000), |(c, t)| {
        (0.6 * (0.37 * c as f64 + 0.011 * t as f64).sin() - 0.2) as f32
    })
}

/// Greedy decoding without the cache: the whole sequence through the decoder each step.
fn greedy_full(
    model: &mut Whisper,
    m: &Array2<f32>,
    prompt: &[u32],
    rules: &DecodingRules,
) -> Vec<u32> {
    let mut ids = prompt.to_vec();
    while ids.len() - prompt.len() < rules.max_length / 2 {
        let mut logits = model.next_logits(m, &ids).unwrap();
        rules.suppress_in(&mut logits, ids.len() == prompt.len());
        let next = ch01_foundations::probability::argmax(logits.iter().copied()) as u32;
        if next == EOT {
            break;
        }
        ids.push(next);
    }
    ids.split_off(prompt.len())
}

/// 24 greedy steps with <|endoftext|> suppressed, so that the cache grows to 26 rows.
fn long_rules() -> DecodingRules {
    let mut rules =
        DecodingRules::from_config(&common::whisper_dir().join("config.json")).unwrap();
    rules.suppress.push(EOT);
    rules.max_length = 48;
    rules
}

#[test]
fn on_tiny_en_the_cache_gives_the_full_passs_logits_and_ids() {
    let mut guard = real().lock().unwrap();
    let (model, m) = &mut *guard;
    let rules = long_rules();
    let prompt = [SOT, NO_TIMESTAMPS];
    let ids = transcribe::greedy(model, m, &prompt, &rules).unwrap();
    assert_eq!(ids.len(), 24);
    assert_eq!(ids, greedy_full(model, m, &prompt, &rules));
    let seq: Vec<u32> = prompt.iter().copied().chain(ids).collect();
    let (err, bitwise, scale) = compare(model, m, &seq, prompt.len());
    eprintln!(
        "cached vs full logits over {} steps: max |diff| = {err:e} (max |logit| {scale}), bitwise: {bitwise}",
        seq.len() - 1
    );
    assert!(err < CACHE_TOL * scale, "{err:e} at logits up to {scale}");
}

#[test]
fn tiny_en_gives_the_same_bits_on_1_and_2_threads() {
    let mut guard = real().lock().unwrap();
    let (model, m) = &mut *guard;
    let mel = synthetic_mel();
    let one = in_pool(1, || model.encode(&mel).unwrap());
    let two = in_pool(2, || model.encode(&mel).unwrap());
    assert!(
        one == two && one == *m,
        "the encoder's output depends on the threads"
    );
    let seq = [SOT, NO_TIMESTAMPS, 383, 2068, 7586, 21831, 13];
    let one = in_pool(1, || cached_logits(model, m, &seq, 2));
    let two = in_pool(2, || cached_logits(model, m, &seq, 2));
    assert!(
        one == two,
        "the cached decoder's logits depend on the threads"
    );
    let rules = long_rules();
    let one = in_pool(1, || {
        transcribe::greedy(model, m, &seq[..2], &rules).unwrap()
    });
    let two = in_pool(2, || {
        transcribe::greedy(model, m, &seq[..2], &rules).unwrap()
    });
    assert_eq!(one, two);
}
