//! Tier 2: embeddings and positional encodings against PyTorch 2.15 (fixture written by
//! tools/golden/ch02_positions.py; CI only reads it). Each check prints its largest
//! difference: `cargo test -p ch02-input --test positions_golden -- --nocapture`.

use ch01_foundations::softmax::softmax;
use ch02_input::embedding::Embedding;
use ch02_input::positions::alibi::{alibi_bias, alibi_slopes};
use ch02_input::positions::rope::{Rope, RopeStyle};
use ch02_input::positions::sinusoidal::sinusoidal;
use golden::{Fixture, max_abs_diff};
use ndarray::{Array1, Axis, Ix2, Ix3};

fn fixture() -> Fixture {
    Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/positions.json"
    ))
    .unwrap()
}

#[test]
fn sinusoidal_matches_the_annotated_transformer_formula() {
    let f = fixture();
    let positions = f.indices("sinusoidal", "positions").unwrap();
    let pe = sinusoidal(2048, 64).select(Axis(0), &positions).into_dyn();
    // Against the float64 reference our f32 table is exact to f32 rounding: values in
    // [-1, 1] round by at most 6e-8.
    let d64 = max_abs_diff(&pe, &f.tensor("sinusoidal", "pe_f64").unwrap());
    eprintln!("sinusoidal vs float64: max |diff| = {d64:e}");
    assert!(d64 < 1e-7, "vs float64 reference: {d64}");
    // The float32 reference forms pos · ω in f32, whose rounding grows with pos (at
    // pos 2047 one ulp of the angle is 1.2e-4); our angles are f64, so at most ~2e-4 apart.
    let d32 = max_abs_diff(&pe, &f.tensor("sinusoidal", "pe_f32").unwrap());
    eprintln!("sinusoidal vs float32: max |diff| = {d32:e}");
    assert!(d32 < 3e-4, "vs float32 reference: {d32}");
}

/// RoPE tolerance: both sides round q·cos and b·sin in f32 (~1e-7 relative), but the
/// references form the angle m·θ_i in f32 while we form it in f64, so they differ by up
/// to an f32 ulp of the angle times |x|: ~1e-6 at m < 64 and ~1e-4 at m = 1000 with
/// |x| ~ 3.
fn rope_tolerance(positions: &[usize]) -> f32 {
    let max_pos = *positions.iter().max().unwrap() as f32;
    2e-6 + 2.0 * max_pos * f32::EPSILON
}

fn check_rope_case(case: &str, style: RopeStyle) {
    let f = fixture();
    let positions = f.indices(case, "positions").unwrap();
    let base = f.scalar(case, "base").unwrap() as f64;
    let get = |name: &str| f.array::<Ix3>(case, name).unwrap();
    let (q, k) = (get("q"), get("k"));
    let d_head = q.shape()[2];
    let rope = Rope::new(&positions, d_head, base, style);
    let tol = rope_tolerance(&positions);
    let cmp = |got: ndarray::Array3<f32>, want: &str| {
        let d = max_abs_diff(&got.into_dyn(), &get(want).into_dyn());
        eprintln!("{case} {want}: max |diff| = {d:e} (tolerance {tol:e})");
        assert!(
            d < tol,
            "{case} {want}: differs from PyTorch by {d} (tolerance {tol:e})"
        );
    };
    cmp(rope.forward_heads(&q), "q_rot");
    cmp(rope.forward_heads(&k), "k_rot");
    cmp(rope.backward_heads(&get("g_q")), "dq");
    cmp(rope.backward_heads(&get("g_k")), "dk");
}

#[test]
fn rotate_half_matches_hugging_face_llama_with_autograd_gradients() {
    check_rope_case("rope_hf_llama", RopeStyle::RotateHalf);
    check_rope_case("rope_hf_llama3_base", RopeStyle::RotateHalf);
}

#[test]
fn interleaved_matches_meta_llama_complex_multiplication_with_autograd_gradients() {
    check_rope_case("rope_meta_llama", RopeStyle::Interleaved);
    check_rope_case("rope_meta_llama3_base", RopeStyle::Interleaved);
}

#[test]
fn alibi_slopes_match_the_reference_and_bloom_implementations() {
    let f = fixture();
    for n in f.indices("alibi_slopes", "heads").unwrap() {
        let ours = Array1::from(alibi_slopes(n)).into_dyn();
        for source in ["reference", "bloom"] {
            let want = f.tensor("alibi_slopes", &format!("{source}_{n}")).unwrap();
            // Powers of two computed in f64 and rounded to f32: equal, or one ulp apart.
            let d = max_abs_diff(&ours, &want);
            eprintln!("ALiBi slopes, {n} heads vs {source}: max |diff| = {d:e}");
            assert!(d <= 1e-7, "{n} heads vs {source}: {d}");
        }
    }
}

#[test]
fn alibi_attention_matches_fairseq_bias_with_a_causal_mask() {
    let f = fixture();
    let scores = f.array::<Ix3>("alibi_attention", "scores").unwrap();
    let n_heads = f.scalar("alibi_attention", "n_heads").unwrap() as usize;
    let t = scores.shape()[1];
    let probs = softmax(&(&scores + &alibi_bias(&alibi_slopes(n_heads), t)), Axis(2));
    // Probabilities in [0, 1] from exp of O(10) arguments, in f32 on both sides.
    let d = max_abs_diff(
        &probs.into_dyn(),
        &f.tensor("alibi_attention", "probs").unwrap(),
    );
    eprintln!("ALiBi attention vs fairseq: max |diff| = {d:e}");
    assert!(d < 1e-6, "ALiBi attention differs from fairseq's by {d}");
}

#[test]
fn tied_embedding_gradient_matches_pytorch_autograd() {
    let f = fixture();
    let get = |name| f.array::<Ix2>("embedding_tied", name).unwrap();
    let ids = f.indices("embedding_tied", "ids").unwrap();
    let table = get("table");
    let mut emb = Embedding::new(
        table.nrows(),
        table.ncols(),
        1.0,
        &mut ch01_foundations::init::seeded_rng(0),
    );
    emb.table.value.assign(&table);
    let h = emb.forward(&ids);
    let logits = emb.unembed(&h);
    let dh = emb.unembed_backward(&get("g_logits"));
    emb.backward(&dh);
    // O(1) entries, sums of ≤ 10 products: a few f32 ulps.
    let d = max_abs_diff(&logits.into_dyn(), &get("logits").into_dyn());
    eprintln!("tied logits: max |diff| = {d:e}");
    assert!(d < 1e-5, "logits differ by {d}");
    let d = max_abs_diff(
        &emb.table.grad.clone().into_dyn(),
        &get("table_grad").into_dyn(),
    );
    eprintln!("tied table gradient: max |diff| = {d:e}");
    assert!(d < 1e-5, "table gradient differs by {d}");
}
