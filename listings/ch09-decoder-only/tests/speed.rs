//! The section "Speed" made the hot paths faster; these tests hold them to the plain
//! versions' results and to the book's rule that the thread count changes no bit.

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::in_pool;
use ch06_decoder::lm_loss;
use ch09_decoder_only::gpt2::{exp_nonpositive, lm_loss_in_place};
use ch09_decoder_only::llama::{FEW_ROWS, matvec, matvec_rows};
use ndarray::{Array1, Array2, Array3};
use rand::RngExt;

#[test]
fn the_polynomial_exp_is_within_3e_7_of_exp_for_nonpositive_inputs() {
    let mut worst = 0.0f64;
    for i in 0..=200_000 {
        let x = -87.0 * i as f32 / 200_000.0;
        let want = f64::from(x).exp();
        let rel = (f64::from(exp_nonpositive(x)) - want).abs() / want;
        worst = worst.max(rel);
    }
    assert!(worst < 3e-7, "worst relative error {worst:e}");
    assert_eq!(exp_nonpositive(0.0), 1.0);
    assert!(exp_nonpositive(-1000.0) > 0.0 && exp_nonpositive(-1000.0) < 1e-37);
}

fn logits_and_targets(vocab: usize) -> (Array3<f32>, Array2<Option<usize>>) {
    let mut rng = seeded_rng(3);
    let logits = normal((3, 5, vocab), 4.0, &mut rng);
    let mut targets =
        Array2::from_shape_simple_fn((3, 5), || Some(rng.random_range(0..vocab)));
    targets[[0, 4]] = None;
    targets[[2, 1]] = None;
    (logits, targets)
}

#[test]
fn the_fused_loss_matches_chapter_6s_lm_loss() {
    for vocab in [7, 1000] {
        let (logits, targets) = logits_and_targets(vocab);
        let (want_loss, want_d) = lm_loss(&logits, &targets);
        let (loss, d) = lm_loss_in_place(logits, &targets);
        assert!(
            (loss - want_loss).abs() < 1e-5 * want_loss,
            "{loss} vs {want_loss}"
        );
        let err = (&d - &want_d).mapv(f32::abs).fold(0.0f32, |a, &b| a.max(b));
        assert!(err < 1e-6, "dlogits differ by {err:e}"); // entries are at most 1/13
        assert!(d.slice(ndarray::s![0, 4, ..]).iter().all(|&g| g == 0.0));
    }
}

#[test]
fn the_fused_loss_and_matvec_give_the_same_bits_on_1_and_3_threads() {
    let (logits, targets) = logits_and_targets(1000);
    let one = in_pool(1, || lm_loss_in_place(logits.clone(), &targets));
    let three = in_pool(3, || lm_loss_in_place(logits.clone(), &targets));
    assert_eq!(one.0.to_bits(), three.0.to_bits());
    assert_eq!(one.1, three.1);

    let mut rng = seeded_rng(4);
    let w: Array2<f32> = normal((1000, 96), 1.0, &mut rng);
    let x: Array1<f32> = normal(96, 1.0, &mut rng);
    let one = in_pool(1, || matvec(&w, x.view()));
    let three = in_pool(3, || matvec(&w, x.view()));
    assert_eq!(one, three);
    let err = (&one - &w.dot(&x))
        .mapv(f32::abs)
        .fold(0.0f32, |a, &b| a.max(b));
    assert!(err < 1e-4, "matvec differs from dot by {err:e}");
}

#[test]
fn matvec_rows_gives_each_row_the_bits_it_gets_alone() {
    let mut rng = seeded_rng(6);
    for n in [96, 100] {
        // 100 = 6·16 + 4: the partial sums and a tail
        let w: Array2<f32> = normal((300, n), 1.0, &mut rng);
        let x: Array2<f32> = normal((FEW_ROWS, n), 1.0, &mut rng);
        let all = matvec_rows(&w, x.view());
        assert_eq!(all.dim(), (FEW_ROWS, 300));
        for (t, row) in x.rows().into_iter().enumerate() {
            assert_eq!(
                all.row(t),
                matvec(&w, row),
                "row {t} of {FEW_ROWS}, n = {n}"
            );
            let want = w.mapv(f64::from).dot(&row.mapv(f64::from));
            let err = (&all.row(t).mapv(f64::from) - &want)
                .mapv(f64::abs)
                .fold(0.0f64, |a, &b| a.max(b));
            assert!(err < 1e-4, "row {t}: {err:e} from the f64 product");
        }
        let three = in_pool(3, || matvec_rows(&w, x.view()));
        assert_eq!(all, three);
    }
}
