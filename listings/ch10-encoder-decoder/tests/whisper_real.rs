//! The real Whisper tiny.en (`cargo xtask models`): the file's table against the known
//! sizes, the stored positions against the formula, and the book's model against
//! CTranslate2 4.8.5 on the same file (tools/golden/ch10_whisper.py): the encoder's
//! output and the greedy token ids, on a synthetic log-mel both sides compute.

mod common;

use ch10_encoder_decoder::transcribe::{self, DecodingRules, NO_TIMESTAMPS, SOT};
use ch10_encoder_decoder::whisper::{WhisperConfig, sinusoids};
use ndarray::s;

#[test]
fn the_file_holds_tiny_en() {
    let bin = common::whisper_bin();
    assert_eq!(
        (bin.binary_version, bin.spec.as_str(), bin.revision),
        (6, "WhisperSpec", 3)
    );
    assert_eq!(bin.variables.len(), 148);
    let cfg = WhisperConfig::from_ct2(bin).unwrap();
    let tiny_en = WhisperConfig {
        n_mels: 80,
        d_model: 384,
        n_heads: 6,
        d_ff: 1536,
        n_enc_layers: 4,
        n_dec_layers: 4,
        vocab: 51864,
        n_audio_ctx: 1500,
        n_text_ctx: 448,
    };
    assert_eq!(cfg, tiny_en);
    // 139 float tensors; the other 9 variables are scalars (flags and head counts).
    assert_eq!(cfg.expected_variables().len(), 139);
    assert_eq!(
        bin.variables.iter().filter(|v| v.shape.is_empty()).count(),
        9
    );
    let fused = bin
        .get("encoder/layer_0/self_attention/linear_0/weight")
        .unwrap();
    assert_eq!(fused.shape, [1152, 384]);
    let kv = bin
        .get("decoder/layer_3/attention/linear_1/weight")
        .unwrap();
    assert_eq!(kv.shape, [768, 384]);
    assert_eq!(
        bin.get("decoder/projection/weight").unwrap().name,
        "decoder/embeddings/weight"
    );
}

#[test]
fn the_key_projections_have_zero_bias() {
    let bin = common::whisper_bin();
    let c = 384;
    for side in ["encoder", "decoder"] {
        for i in 0..4 {
            let b = bin
                .floats(&format!("{side}/layer_{i}/self_attention/linear_0/bias"))
                .unwrap();
            assert!(
                b.slice(s![c..2 * c]).iter().all(|&v| v == 0.0),
                "{side} {i}: K bias"
            );
            assert!(
                b.slice(s![..c]).iter().any(|&v| v != 0.0),
                "{side} {i}: Q bias"
            );
        }
    }
    for i in 0..4 {
        let b = bin
            .floats(&format!("decoder/layer_{i}/attention/linear_1/bias"))
            .unwrap();
        assert!(
            b.slice(s![..c]).iter().all(|&v| v == 0.0),
            "cross {i}: K bias"
        );
    }
}

#[test]
fn the_stored_encoder_positions_are_the_sinusoids_in_fp16() {
    let stored = common::whisper_bin()
        .floats("encoder/position_encodings/encodings")
        .unwrap();
    let formula = sinusoids(1500, 384);
    let err = stored
        .iter()
        .zip(&formula)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    // fp16 keeps 11 significant bits: |x| ≤ 1 rounds by at most 2⁻¹² ≈ 2.4e-4.
    assert!(err <= 2.5e-4, "max |stored - formula| = {err}");
    assert!(err > 0.0, "the file's copy is rounded to fp16");
}

/// Both sides run in f32 with the same fp16-rounded weights and differ only in the
/// order of summation (CTranslate2's oneDNN/MKL kernels against ndarray): measured
/// 1.9e-5 on outputs up to 12 in size; the tolerance is 10× that.
const ENCODER_TOL: f32 = 2e-4;
/// Logits up to ≈ 12 after four more layers: measured 8.9e-5.
const LOGITS_TOL: f32 = 1e-3;

#[test]
fn the_encoder_matches_ctranslate2() {
    let cases = common::fixture("whisper_ct2.json");
    let enc = &cases["encoder"];
    let guard = common::real_model().lock().unwrap();
    let m = &guard.1;
    assert_eq!(m.dim(), (1500, 384));
    let mut max_err = 0.0f32;
    for (row, data) in enc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .zip(enc["data"].as_array().unwrap())
    {
        let r = row.as_u64().unwrap() as usize;
        for (a, b) in m.row(r).iter().zip(common::floats(data)) {
            max_err = max_err.max((a - b).abs());
        }
    }
    let mean = m.iter().map(|&v| f64::from(v)).sum::<f64>() / m.len() as f64;
    let max_abs = m.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    eprintln!(
        "encoder: max |book - CTranslate2| over 7 rows = {max_err:.3e}, max |x| = {max_abs}"
    );
    assert!(max_err < ENCODER_TOL, "encoder rows differ by {max_err}");
    assert!(
        (mean - enc["mean"].as_f64().unwrap()).abs() < 1e-4,
        "mean {mean}"
    );
    assert!((max_abs - enc["max_abs"].as_f64().unwrap() as f32).abs() < ENCODER_TOL);
}

#[test]
fn greedy_decoding_matches_ctranslate2() {
    let cases = common::fixture("whisper_ct2.json");
    let dir = common::whisper_dir();
    let mut rules = DecodingRules::from_config(&dir.join("config.json")).unwrap();
    // The page: 90 suppressed ids, and a space and <|endoftext|> at the start.
    assert_eq!(rules.suppress.len(), 90);
    assert_eq!(rules.suppress_at_begin, [220, transcribe::EOT]);
    assert_eq!(rules.max_length, 448, "CTranslate2's default");
    rules.max_length = cases["max_length"].as_u64().unwrap() as usize;
    let bpe = transcribe::read_vocabulary(&dir.join("vocabulary.txt")).unwrap();
    let mut guard = common::real_model().lock().unwrap();
    let (model, m) = &mut *guard;
    for (name, case) in cases["greedy"].as_object().unwrap() {
        let forced: Vec<u32> = serde_json::from_value(case["forced"].clone()).unwrap();
        let expected: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        // Ids can only be compared where no step is a near-tie: every top-1/top-2
        // margin is far above the logits' disagreement (LOGITS_TOL).
        for step in case["steps"].as_array().unwrap() {
            let margin = step["margin"].as_f64().unwrap() as f32;
            assert!(margin > 100.0 * LOGITS_TOL, "{name}: a near-tie ({margin})");
        }
        let prompt: Vec<u32> = [SOT, NO_TIMESTAMPS].into_iter().chain(forced).collect();
        let ids = transcribe::greedy(model, m, &prompt, &rules).unwrap();
        assert_eq!(ids, expected, "{name}");
        let text = transcribe::text(&bpe, &ids).unwrap();
        assert_eq!(text, case["text"].as_str().unwrap(), "{name}");
    }
}

/// Every step's five best logits (CTranslate2's `return_logits_vocab`), from one
/// teacher-forced pass over the prompt and the ids CTranslate2 produced.
#[test]
fn every_step_logits_match_ctranslate2() {
    let cases = common::fixture("whisper_ct2.json");
    let mut guard = common::real_model().lock().unwrap();
    let (model, m) = &mut *guard;
    let mut max_err = 0.0f32;
    for (name, case) in cases["greedy"].as_object().unwrap() {
        let forced: Vec<u32> = serde_json::from_value(case["forced"].clone()).unwrap();
        let ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        assert!(ids.starts_with(&forced), "{name}");
        let seq: Vec<u32> = [SOT, NO_TIMESTAMPS].into_iter().chain(ids).collect();
        let logits = model.logits(m, &seq).unwrap(); // row 1 + k: step k
        let steps = case["steps"].as_array().unwrap();
        assert_eq!(
            steps.len(),
            seq.len() - 1,
            "{name}: one step per id, and the end"
        );
        for (k, step) in steps.iter().enumerate() {
            let top: Vec<u32> = serde_json::from_value(step["top_ids"].clone()).unwrap();
            for (&id, v) in top.iter().zip(common::floats(&step["top_logits"])) {
                max_err = max_err.max((logits[[1 + k, id as usize]] - v).abs());
            }
        }
    }
    eprintln!("top-5 logits at every step: max |book - CTranslate2| = {max_err:.3e}");
    assert!(max_err < LOGITS_TOL, "logits differ by {max_err}");
}

/// The committed report the page includes (examples/whisper_parity.rs) says what these
/// tests check: both sequences the same, and errors under the tolerances.
#[test]
fn the_committed_report_agrees() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../src/figures/ch10/whisper-parity.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let number = |key: &str| -> f32 {
        let line = text
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("no line with {key:?}"));
        let after = line.split(key).nth(1).unwrap().trim();
        after.split_whitespace().next().unwrap().parse().unwrap()
    };
    assert!(number("[1500, 384]: max |ours - CTranslate2| =") < ENCODER_TOL);
    assert!(number("every step: max |ours - CTranslate2| =") < LOGITS_TOL);
    assert!(number("margin CTranslate2 saw:") > 100.0 * LOGITS_TOL);
    let verdicts: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(", CTranslate2 ["))
        .collect();
    assert_eq!(verdicts.len(), 2);
    assert!(
        verdicts.iter().all(|l| l.ends_with(": same")),
        "{verdicts:?}"
    );
}
