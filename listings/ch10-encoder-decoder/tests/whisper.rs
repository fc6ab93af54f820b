//! The Whisper loader on small files built here: a well-formed file gives the config
//! and a model that runs; each inconsistency is an error naming the variable; mutated
//! files never panic; and the decoding rules and inputs are checked.

mod common;

use ch10_encoder_decoder::ctranslate2::Ct2Model;
use ch10_encoder_decoder::whisper::{Whisper, WhisperConfig, sinusoids};
use common::{tiny_config, tiny_whisper_file};
use ndarray::Array2;
use proptest::prelude::*;

fn load_err(bytes: Vec<u8>) -> String {
    let m = Ct2Model::parse(bytes).unwrap();
    match Whisper::from_ct2(&m) {
        Ok(_) => panic!("loaded an inconsistent file"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_tiny_file_loads_and_runs() {
    let cfg = tiny_config();
    let m = Ct2Model::parse(tiny_whisper_file(&cfg, |_| {})).unwrap();
    assert_eq!(WhisperConfig::from_ct2(&m).unwrap(), cfg);
    let mut model = Whisper::from_ct2(&m).unwrap();
    // The stem halves 10 frames to 5 positions.
    let mel = Array2::from_shape_fn((3, 10), |(c, t)| ((c * 10 + t) as f32 * 0.3).cos());
    let memory = model.encode(&mel).unwrap();
    assert_eq!(memory.dim(), (5, 4));
    let logits = model.logits(&memory, &[1, 2, 3]).unwrap();
    assert_eq!(logits.dim(), (3, 50));
    assert!(logits.iter().all(|v| v.is_finite()));
    // Causal: the logits after [1, 2] do not depend on what comes next.
    let prefix = model.logits(&memory, &[1, 2]).unwrap();
    let err = (&prefix - &logits.slice(ndarray::s![..2, ..])).mapv(f32::abs);
    assert!(err.iter().all(|&e| e < 1e-5), "{err}");
    // Tied output: logits = h Eᵀ, so the table's rows are the output weights.
    assert_eq!(model.embed.table.value.dim(), (50, 4));
}

#[test]
fn bad_inputs_are_errors() {
    let m = Ct2Model::parse(tiny_whisper_file(&tiny_config(), |_| {})).unwrap();
    let mut model = Whisper::from_ct2(&m).unwrap();
    let e = model
        .encode(&Array2::zeros((3, 9)))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "input: the log-mel is [3, 9], expected (3, 10) (pad or trim the audio to 30 s)"
    );
    let mut mel = Array2::zeros((3, 10));
    mel[[1, 4]] = f32::NAN;
    assert_eq!(
        model.encode(&mel).unwrap_err().to_string(),
        "input: log-mel value #14 is not finite"
    );
    let memory = model.encode(&Array2::zeros((3, 10))).unwrap();
    let e = model.logits(&memory, &[1, 50]).unwrap_err().to_string();
    assert_eq!(e, "input: token id 50 is outside the vocabulary of 50");
    let e = model.logits(&memory, &[1; 7]).unwrap_err().to_string();
    assert_eq!(e, "input: 7 tokens: the decoder takes 1 to 6");
    assert!(model.logits(&memory, &[]).is_err());
}

#[test]
fn a_wrong_shape_is_an_error_naming_the_variable() {
    let bytes = tiny_whisper_file(&tiny_config(), |vars| {
        let v = vars
            .iter_mut()
            .find(|v| v.0 == "decoder/layer_0/attention/linear_1/weight")
            .unwrap();
        // K and V fused should be [2C, C] = [8, 4]; write [4, 8] with the same bytes.
        v.1 = vec![4, 8];
    });
    let e = load_err(bytes);
    assert!(
        e.starts_with(
            "decoder/layer_0/attention/linear_1/weight: shape [4, 8], expected [8, 4]"
        ),
        "{e}"
    );
}

#[test]
fn a_missing_or_extra_variable_is_an_error() {
    let bytes = tiny_whisper_file(&tiny_config(), |vars| {
        vars.retain(|v| v.0 != "encoder/layer_1/ffn/linear_1/bias");
    });
    assert_eq!(
        load_err(bytes),
        "variable encoder/layer_1/ffn/linear_1/bias: no variable (or alias) of that name"
    );
    let bytes = tiny_whisper_file(&tiny_config(), |vars| {
        vars.push(("decoder/projection/bias".into(), vec![50], 0, vec![0; 200]));
    });
    assert_eq!(
        load_err(bytes),
        "decoder/projection/bias: a variable the book's Whisper does not use"
    );
}

#[test]
fn a_flag_for_another_architecture_is_an_error() {
    let bytes = tiny_whisper_file(&tiny_config(), |vars| {
        let v = vars
            .iter_mut()
            .find(|v| v.0 == "decoder/activation")
            .unwrap();
        v.3 = vec![1]; // GELUTanh
    });
    assert_eq!(
        load_err(bytes),
        "decoder/activation: 1, the book's Whisper needs 3"
    );
    let bytes = tiny_whisper_file(&tiny_config(), |vars| {
        let v = vars
            .iter_mut()
            .find(|v| v.0 == "decoder/num_heads")
            .unwrap();
        v.3 = 3i16.to_le_bytes().to_vec();
    });
    assert_eq!(
        load_err(bytes),
        "decoder/num_heads: 3 heads do not divide the width 4"
    );
}

#[test]
fn another_spec_is_an_error() {
    let mut w = common::Writer::new(6, "TransformerSpec", 1, 0);
    w.aliases(&[]);
    let e = load_err(w.0);
    assert_eq!(e, "spec: \"TransformerSpec\", expected \"WhisperSpec\"");
}

#[test]
fn sinusoids_follow_whisper_formula() {
    let pe = sinusoids(3, 8);
    // Column 0 is sin(t), column 4 cos(t) (timescale 1); column 3 has timescale 10⁴.
    for t in 0..3 {
        assert!((pe[[t, 0]] - (t as f32).sin()).abs() < 1e-6);
        assert!((pe[[t, 4]] - (t as f32).cos()).abs() < 1e-6);
        assert!((pe[[t, 3]] - (t as f32 / 1e4).sin()).abs() < 1e-6);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Bytes changed in a tiny Whisper file: the reader, the config check and the
    /// loader return Ok or Err, never panic.
    #[test]
    fn mutated_whisper_files_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = tiny_whisper_file(&tiny_config(), |_| {});
        for (i, b) in &edits {
            let at = i.index(bytes.len());
            bytes[at] = *b;
        }
        if let Ok(m) = Ct2Model::parse(bytes)
            && let Ok(mut model) = Whisper::from_ct2(&m)
        {
            let mel = Array2::from_elem((model.cfg.n_mels, 2 * model.cfg.n_audio_ctx), 0.1);
            if let Ok(memory) = model.encode(&mel) {
                let _ = model.logits(&memory, &[0]);
            }
        }
    }
}
