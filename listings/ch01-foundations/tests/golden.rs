//! Tier 2: the chapter's numerics against PyTorch 2.15 (fixtures written by
//! tools/golden/ch01_foundations.py; CI only reads them).

use ch01_foundations::calculus::{matmul_backward, softmax_cross_entropy};
use ch01_foundations::probability::{cross_entropy, entropy, kl_divergence};
use ch01_foundations::softmax::{log_softmax, logsumexp, softmax};
use golden::{Fixture, max_abs_diff};
use ndarray::{Axis, Ix1, Ix2};

fn fixture() -> Fixture {
    Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/ch01.json"
    ))
    .unwrap()
}

/// Tolerances: outputs are O(1) probabilities or O(10) logits computed in f32 by both
/// sides; 1e-5 absolute allows a few ulps of difference in exp and log. Log-probabilities
/// of ±1e4 logits are O(1e4), where one f32 ulp is ~1e-3, so those are compared relatively.
const PROB_TOL: f32 = 1e-5;

#[test]
fn softmax_family_matches_pytorch_along_last_axis() {
    let f = fixture();
    let x = f.tensor("softmax", "x").unwrap();
    let p = softmax(&x, Axis(1));
    assert!(max_abs_diff(&p, &f.tensor("softmax", "softmax_last").unwrap()) < PROB_TOL);
    let lse = logsumexp(&x, Axis(1)).into_dyn();
    let want = f.tensor("softmax", "logsumexp_last").unwrap();
    for (got, want) in lse.iter().zip(&want) {
        assert!(
            (got - want).abs() <= 1e-6 * want.abs().max(1.0),
            "logsumexp {got} vs PyTorch {want}"
        );
    }
    let lp = log_softmax(&x, Axis(1));
    let want = f.tensor("softmax", "log_softmax_last").unwrap();
    for (got, want) in lp.iter().zip(&want) {
        let ok = got == want || (got - want).abs() <= 1e-5 * want.abs().max(1.0);
        assert!(ok, "log_softmax {got} vs PyTorch {want}");
    }
}

#[test]
fn softmax_family_matches_pytorch_along_axis_0() {
    let f = fixture();
    let x = f.tensor("softmax_axis0", "x").unwrap();
    assert!(
        max_abs_diff(
            &softmax(&x, Axis(0)),
            &f.tensor("softmax_axis0", "softmax").unwrap()
        ) < PROB_TOL
    );
    assert!(
        max_abs_diff(
            &log_softmax(&x, Axis(0)),
            &f.tensor("softmax_axis0", "log_softmax").unwrap()
        ) < 1e-5
    );
    let lse = logsumexp(&x, Axis(0)).into_dyn();
    assert!(max_abs_diff(&lse, &f.tensor("softmax_axis0", "logsumexp").unwrap()) < 1e-5);
}

#[test]
fn cross_entropy_and_gradient_match_pytorch() {
    let f = fixture();
    let logits = f.array::<Ix2>("cross_entropy", "logits").unwrap();
    let targets = f.indices("cross_entropy", "targets").unwrap();
    let (loss, dlogits) = softmax_cross_entropy(&logits, &targets);
    let want = f.scalar("cross_entropy", "loss").unwrap();
    // The loss includes a row of logits scaled by 1e3 (a term of order 1e3 / 8).
    assert!(
        (loss - want).abs() <= 1e-5 * want.abs(),
        "loss {loss} vs PyTorch {want}"
    );
    let d = max_abs_diff(
        &dlogits.into_dyn(),
        &f.tensor("cross_entropy", "dlogits").unwrap(),
    );
    assert!(d < 1e-6, "dlogits differ from PyTorch's autograd by {d}");
}

#[test]
fn matmul_gradients_match_pytorch_autograd() {
    let f = fixture();
    let get = |name| f.array::<Ix2>("matmul", name).unwrap();
    let (dx, dw) = matmul_backward(&get("x"), &get("w"), &get("dy"));
    assert!(max_abs_diff(&dx.into_dyn(), &get("dx").into_dyn()) < 1e-5);
    assert!(max_abs_diff(&dw.into_dyn(), &get("dw").into_dyn()) < 1e-5);
}

#[test]
fn entropy_cross_entropy_and_kl_match_pytorch() {
    let f = fixture();
    let p = f.array::<Ix1>("information", "p").unwrap();
    let q = f.array::<Ix1>("information", "q").unwrap();
    let close = |got: f32, field| {
        let want = f.scalar("information", field).unwrap();
        assert!(
            (got - want).abs() < 1e-6,
            "{field}: {got} vs PyTorch {want}"
        );
    };
    close(entropy(&p), "entropy_p");
    close(cross_entropy(&p, &q), "cross_entropy_pq");
    close(kl_divergence(&p, &q), "kl_pq");
}

#[test]
fn a_malformed_fixture_is_an_error_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("ch01-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(
        &path,
        r#"{"cases": {"c": {"t": {"shape": [2, 2], "data": [1, 2, 3]}}}}"#,
    )
    .unwrap();
    let err = Fixture::load(&path)
        .unwrap()
        .tensor("c", "t")
        .unwrap_err()
        .to_string();
    assert!(err.contains("c.t") && err.contains("3 values"), "{err}");
    let err = Fixture::load(&path)
        .unwrap()
        .scalar("c", "missing")
        .unwrap_err()
        .to_string();
    assert!(err.contains("c.missing"), "{err}");
    std::fs::write(&path, "{not json").unwrap();
    assert!(
        Fixture::load(&path)
            .err()
            .unwrap()
            .to_string()
            .contains("not valid JSON")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
