//! Tier 4: the chapter's training run learns, deterministically, in well under a second.

use ch01_foundations::regression::train;

#[test]
fn softmax_regression_learns_the_blobs() {
    let log = train(0, 200, 0.5);
    assert!(
        log.losses[0] > 0.5,
        "initial loss {} is suspiciously low",
        log.losses[0]
    );
    assert!(
        *log.losses.last().unwrap() < 0.1,
        "final loss {}",
        log.losses.last().unwrap()
    );
    assert!(
        log.test_accuracy >= 0.9,
        "test accuracy {}",
        log.test_accuracy
    );
    assert_eq!(log.num_params, 2 * 3 + 3);
}

#[test]
fn same_seed_same_run_different_seed_different_run() {
    let (a, b, c) = (train(7, 20, 0.5), train(7, 20, 0.5), train(8, 20, 0.5));
    assert_eq!(a.losses, b.losses);
    assert_ne!(a.losses, c.losses);
}
