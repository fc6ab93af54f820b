//! T5 against Hugging Face: transformers' `T5ForConditionalGeneration` with a tiny
//! config (d_model 16, d_kv 8 and 4 heads so H·d_kv = 32 ≠ d_model, d_ff 32, 2 + 2
//! layers, vocab 40, 8 buckets, max_distance 20; fixture: tools/golden/ch10_t5.py),
//! one source of 25 tokens and a target of 22, in two variants: T5 1.0 (ReLU, the head
//! tied to the shared table and scaled by d_model^-1/2) and T5 v1.1 (gated GELU, a head
//! of its own, unscaled). The weights are not stored: both sides draw them from the same
//! SplitMix64 stream (tests/common/t5_fixture.rs). Compared: the logits, and the
//! gradient of every parameter, the two position-bias tables included, under
//! L = Σ logits ⊙ R.

#[path = "common/t5_fixture.rs"]
#[allow(dead_code)]
mod fixture;

use ch10_encoder_decoder::t5::ffn::FeedForward;

/// Tolerance, f32 against f32: max-abs for the logits; for a gradient, relative to its
/// largest entry (at least 1). Each error is printed with `-- --nocapture`.
const TOL: f32 = 1e-5;

fn check(variant: &str, kind: FeedForward, n_params: usize) {
    let p = fixture::measure(variant, kind);
    eprintln!(
        "{variant}: logits max |ours - transformers| = {:.1e}",
        p.logits
    );
    assert!(
        p.logits <= TOL,
        "{variant} logits: {:.2e} > {TOL:.0e}",
        p.logits
    );
    assert_eq!(p.grads.len(), n_params, "{variant}: every parameter");
    for (name, shape, e, rel) in &p.grads {
        eprintln!(
            "{variant} grad {name} {shape:?}: max |Δ| = {e:.1e}, / max |g| = {rel:.1e}"
        );
        assert!(*rel <= TOL, "{variant} grad {name}: {rel:.2e} > {TOL:.0e}");
    }
    let tables = p
        .grads
        .iter()
        .filter(|g| g.0.contains("position_bias"))
        .count();
    assert_eq!(tables, 2, "the encoder's and the decoder's bias tables");
}

#[test]
fn t5_relu_tied_matches_transformers_logits_and_every_gradient() {
    check("relu", FeedForward::Relu, 47);
}

#[test]
fn t5_gated_gelu_untied_matches_transformers_logits_and_every_gradient() {
    check("gated", FeedForward::GatedGelu, 52);
}
