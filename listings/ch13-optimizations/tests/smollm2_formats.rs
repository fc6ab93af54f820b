//! SmolLM2 in each weight format against its f32 self, and the perplexity's windows.
//! Needs the models cache (`cargo xtask models`).
use std::sync::OnceLock;

use ch09_decoder_only::bench::book_prompt;
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ch13_optimizations::perplexity::{PerplexityError, nll};
use ch13_optimizations::smollm2_formats::{Format, load};
use ndarray::{Array2, Axis};

fn smollm2() -> &'static Gguf {
    static G: OnceLock<Gguf> = OnceLock::new();
    G.get_or_init(|| {
        let dir = models::SMOLLM2_135M_INSTRUCT
            .dir()
            .unwrap_or_else(|e| panic!("{e}"));
        Gguf::open(&dir.join(models::SMOLLM2_GGUF)).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn prompt(n: usize) -> Vec<u32> {
    book_prompt(&GgufTokenizer::from_gguf(smollm2()).unwrap(), n).unwrap()
}

fn f32_model() -> &'static Llama {
    static M: OnceLock<Llama> = OnceLock::new();
    M.get_or_init(|| Llama::from_gguf(smollm2()).unwrap())
}

/// (largest |difference| / largest |logit|, positions whose arg max agrees).
fn compare(a: &Array2<f32>, b: &Array2<f32>) -> (f32, usize) {
    let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let diff = (a - b).iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let argmax = |r: ndarray::ArrayView1<f32>| {
        ch01_foundations::probability::argmax(r.iter().copied())
    };
    let same = a
        .axis_iter(Axis(0))
        .zip(b.axis_iter(Axis(0)))
        .filter(|(x, y)| argmax(*x) == argmax(*y))
        .count();
    (diff / scale, same)
}

#[test]
fn every_format_predicts_like_the_f32_model() {
    let ids = prompt(24);
    let want = f32_model().forward(&ids);
    // The activations are rounded to 8 bits too, so even Q8_0 blocks of the f32 model's
    // own values move the logits; the kernels give the same bits on any CPU.
    for (format, tol, agree) in [
        (Format::F32, 0.0, 24),
        (Format::File, 0.05, 22),
        (Format::Q8_0, 0.05, 19),
        (Format::Int8, 0.07, 19),
    ] {
        let model = load(smollm2(), format).unwrap();
        let (rel, same) = compare(&want, &model.forward(&ids));
        eprintln!(
            "{format:?}: max error {rel:.2e} of the largest logit, arg max {same}/24"
        );
        assert!(rel <= tol, "{format:?}: {rel}");
        assert!(same >= agree, "{format:?}: {same} of 24 arg maxes agree");
    }
}

#[test]
fn the_file_format_is_the_files_size_and_a_fifth_of_f32() {
    let file = load(smollm2(), Format::File).unwrap().weight_bytes();
    let f32 = f32_model().weight_bytes();
    let data: u64 = smollm2().tensors.iter().map(|t| t.n_bytes).sum();
    assert_eq!(file as u64, data, "the blocks as the file stores them");
    assert!((file as f64) < 0.2 * f32 as f64, "{file} of {f32} bytes");
}

#[test]
fn the_perplexity_predicts_every_token_but_the_first_once() {
    let ids = prompt(12);
    let model = f32_model();
    let whole = nll(model, &ids, 12).unwrap();
    let logp = ch01_foundations::softmax::log_softmax(&model.forward(&ids), Axis(1));
    let by_hand: f64 = (0..11)
        .map(|i| -f64::from(logp[[i, ids[i + 1] as usize]]))
        .sum();
    assert_eq!(whole.predicted, 11);
    assert!((whole.nats - by_hand / 11.0).abs() < 1e-9);
    let windows = nll(model, &ids, 5).unwrap(); // [0..5], [4..9], [8..12]
    assert_eq!(windows.predicted, 11);
    assert!(windows.nats > whole.nats, "less context, worse predictions");
    assert_eq!(
        nll(model, &ids, 1),
        Err(PerplexityError::Window { window: 1 })
    );
    assert_eq!(
        nll(model, &ids[..1], 4),
        Err(PerplexityError::TooShort { tokens: 1 })
    );
}
