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

#[test]
fn adamw_speed_says_what_the_text_says() {
    let rows = measured_rows("ch11/adamw-speed.txt");
    // threads | ours us | foreach=False us | foreach=True us | fused=True us
    let times: Vec<_> = rows.iter().filter(|r| r.len() == 5).collect();
    // threads | foreach=False | foreach=True | fused=True
    let ratios: Vec<_> = rows.iter().filter(|r| r.len() == 4).collect();
    assert_eq!((times.len(), ratios.len()), (2, 2), "1 and 2 threads");
    for (t, r) in times.iter().zip(&ratios) {
        assert_eq!(t[0], r[0]);
        let ours = num(&t[1]);
        for i in 1..4 {
            assert!(
                (num(&r[i]) - num(&t[i + 1]) / ours).abs() < 0.01,
                "their / ours: {r:?}"
            );
            // "faster than each of PyTorch's three at both thread counts"
            assert!(num(&r[i]) > 1.0, "{r:?}");
        }
        // "the target, 1.5 times the fastest of PyTorch's, fused, is met at both"
        assert!(num(&r[3]) >= 1.5, "{r:?}");
        // "fused is PyTorch's fastest, the per-tensor loop its slowest"
        assert!(num(&t[4]) < num(&t[3]) && num(&t[3]) < num(&t[2]), "{t:?}");
    }
    // "a second thread takes about a third off the book's step, where PyTorch's fused
    // step gains less"
    let gain = |col: usize| num(&times[1][col]) / num(&times[0][col]);
    assert!(gain(1) < 0.8 && gain(1) < gain(4), "{times:?}");
}
