//! The text's claims about the optimizer and schedule sections' committed outputs
//! (src/figures/ch11/), checked here. The coupled-vs-decoupled table is deterministic: it
//! is recomputed and must equal the committed file.

use ch11_training::coupling::decay_table;
use golden::{cell as num, measured_rows};

#[test]
fn the_committed_decay_table_is_what_the_code_computes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../src/figures/ch11/coupled-vs-decoupled.txt"
    );
    let committed = std::fs::read_to_string(path).expect("run the optim_figures example");
    assert_eq!(
        committed,
        decay_table(),
        "rerun: cargo run -p ch11-training --example optim_figures"
    );
}

#[test]
fn coupled_decay_depends_on_the_gradient_scale_and_decoupled_does_not() {
    // step | L2 a | L2 b | AdamW a | AdamW b | (1 - lr wd)^step
    let rows = measured_rows("ch11/coupled-vs-decoupled.txt");
    assert_eq!(rows.len(), 6);
    for r in &rows {
        let (l2_a, l2_b, w_a, w_b, pure) =
            (num(&r[1]), num(&r[2]), num(&r[3]), num(&r[4]), num(&r[5]));
        // "AdamW shrinks both alike, within 0.002 of the pure decay"
        assert_eq!(w_a, w_b, "{r:?}");
        assert!((w_a - pure).abs() < 0.002, "{r:?}");
        // "under L2 the weight with small gradients shrinks fastest"
        assert!(l2_b <= w_b && w_a <= l2_a, "{r:?}");
    }
    let last = rows.last().unwrap();
    assert_eq!(last[0], "1000");
    // "After 1000 steps L2 has left a at 0.988 ... and taken b down to 0.258"
    assert!(num(&last[1]) > 0.98 && num(&last[2]) < 0.3, "{last:?}");
}
