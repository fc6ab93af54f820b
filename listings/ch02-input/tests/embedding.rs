//! The embedding layer: gather forward, scatter-add backward (with repeated ids), weight
//! tying, gradient checks, and the snapshots the section "Embeddings" includes.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch02_input::embedding::{Embedding, one_hot, report};
use ndarray::{Array2, Ix2};

/// Relative tolerance for f32 central differences (see ch01's GradCheck::eps).
const TOL: f32 = 1e-2;

fn upstream(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    random_upstream(&[rows, cols], seed)
        .into_dimensionality::<Ix2>()
        .unwrap()
}

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn forward_is_the_one_hot_product() {
    let mut emb = Embedding::new(7, 4, 1.0, &mut seeded_rng(1));
    let ids = [6, 0, 2, 2, 5];
    let x = emb.forward(&ids);
    assert_eq!(x.dim(), (5, 4));
    let want = one_hot(&ids, 7).dot(&emb.table.value);
    assert_eq!(
        x, want,
        "a one-hot product adds exact zeros, so it must equal the gather"
    );
}

#[test]
fn backward_scatter_adds_repeated_ids() {
    let mut emb = Embedding::new(6, 3, 1.0, &mut seeded_rng(2));
    let ids = [4, 1, 4, 4, 0];
    emb.forward(&ids);
    let dx = upstream(5, 3, 3);
    emb.backward(&dx);
    // The one-hot view: x = O E, so dE = Oᵀ dx.
    let want = one_hot(&ids, 6).t().dot(&dx);
    for (got, want) in emb.table.grad.iter().zip(&want) {
        assert!((got - want).abs() < 1e-6, "E.grad {got} vs Oᵀ dx {want}");
    }
    // Row 4 occurs three times: its gradient is the sum of three rows of dx, not the last.
    let sum = &dx.row(0) + &dx.row(2) + dx.row(3);
    assert!(
        emb.table
            .grad
            .row(4)
            .iter()
            .zip(&sum)
            .all(|(a, b)| (a - b).abs() < 1e-6)
    );
    assert!(
        emb.table.grad.row(5).iter().all(|&g| g == 0.0),
        "unused rows get nothing"
    );
    // A second backward accumulates rather than overwrites.
    emb.backward(&dx);
    let twice = &want * 2.0;
    assert!(
        emb.table
            .grad
            .iter()
            .zip(&twice)
            .all(|(a, b)| (a - b).abs() < 1e-5)
    );
}

#[test]
fn table_gradient_with_repeated_ids_matches_finite_differences() {
    let mut emb = Embedding::new(6, 4, 1.0, &mut seeded_rng(4));
    let ids = [2, 5, 2, 0, 2, 5];
    let r = upstream(6, 4, 5);
    emb.zero_grad();
    emb.forward(&ids);
    emb.backward(&r);
    let reports = GradCheck {
        max_elements: usize::MAX,
        ..GradCheck::default()
    }
    .check_module(&mut emb, |m| (m.forward(&ids) * &r).sum());
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].1.checked, 24);
    reports[0].1.assert_within(TOL, "embedding table");
}

#[test]
#[should_panic(expected = "token id 7 is out of range for a vocab of size 5")]
fn an_id_outside_the_vocabulary_names_the_id_and_the_size() {
    let mut emb = Embedding::new(5, 2, 1.0, &mut seeded_rng(6));
    emb.forward(&[0, 7, 1]);
}

/// A tiny tied model: logits = E[ids] Eᵀ, loss = Σ logits ⊙ r.
fn tied_loss(emb: &mut Embedding, ids: &[usize], r: &Array2<f32>) -> f32 {
    let h = emb.forward(ids);
    (emb.unembed(&h) * r).sum()
}

#[test]
fn tied_gradient_is_the_sum_of_the_two_uses() {
    let ids = [1, 3, 1, 4];
    let r = upstream(4, 5, 7);
    let mut tied = Embedding::new(5, 3, 0.7, &mut seeded_rng(8));
    tied.zero_grad();
    let h = tied.forward(&ids);
    tied.unembed(&h);
    let dh = tied.unembed_backward(&r);
    tied.backward(&dh);

    // The same computation with two separate copies of the table.
    let (mut input, mut output) = (
        Embedding::new(5, 3, 0.7, &mut seeded_rng(8)),
        Embedding::new(5, 3, 0.7, &mut seeded_rng(8)),
    );
    let h = input.forward(&ids);
    output.unembed(&h);
    let dh = output.unembed_backward(&r);
    input.backward(&dh);
    let sum = &input.table.grad + &output.table.grad;
    for (got, want) in tied.table.grad.iter().zip(&sum) {
        assert!(
            (got - want).abs() < 1e-5,
            "tied grad {got} vs sum of the two uses {want}"
        );
    }
    // And both uses really contribute: neither alone is the tied gradient.
    assert!(
        input
            .table
            .grad
            .iter()
            .zip(&sum)
            .any(|(a, b)| (a - b).abs() > 1e-3)
    );
    assert!(
        output
            .table
            .grad
            .iter()
            .zip(&sum)
            .any(|(a, b)| (a - b).abs() > 1e-3)
    );
}

#[test]
fn tied_gradient_matches_finite_differences() {
    let ids = [0, 2, 2, 5, 1];
    let r = upstream(5, 6, 9);
    let mut emb = Embedding::new(6, 4, 0.7, &mut seeded_rng(10));
    emb.zero_grad();
    let h = emb.forward(&ids);
    emb.unembed(&h);
    let dh = emb.unembed_backward(&r);
    emb.backward(&dh);
    // The tied loss is quadratic in E, so a central difference has no truncation error at
    // any step: a large step keeps f32 rounding (≈ 1e-7·|L| / h) well under tolerance.
    let check = GradCheck {
        eps: 5e-2,
        max_elements: usize::MAX,
        ..GradCheck::default()
    };
    for (name, report) in check.check_module(&mut emb, |m| tied_loss(m, &ids, &r)) {
        report.assert_within(TOL, &format!("tied {name}"));
    }
}

#[test]
fn embedding_is_deterministic_given_the_seed() {
    let a = Embedding::new(20, 8, 0.02, &mut seeded_rng(11));
    let b = Embedding::new(20, 8, 0.02, &mut seeded_rng(11));
    assert_eq!(a.table.value, b.table.value);
}

#[test]
fn snapshot_gradient() {
    snapshot("embedding_gradient", report::gradient_demo());
}

#[test]
fn snapshot_scale() {
    snapshot("embedding_scale", report::scale_demo());
}

#[test]
fn snapshot_tying() {
    snapshot("embedding_tying", report::tying_demo());
}
