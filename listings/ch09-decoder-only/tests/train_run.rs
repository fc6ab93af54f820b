//! Tier 4: the `train_decoders` example's run. A tiny config trains both models in
//! seconds: the loss falls, and the run is the same on one thread and on two. The
//! committed report (`src/figures/ch09/train-run.txt`, written by the full run: `cargo
//! xtask bench` or `cargo run --release -p ch09-decoder-only --example train_decoders`)
//! is read back and each claim the text makes of it is asserted.

mod common;

use ch08_encoder_only::report::deterministic_lines;
use ch09_decoder_only::train_run::{TrainConfig, train_and_report};

#[test]
fn a_tiny_run_learns_and_is_the_same_on_one_thread_and_two() {
    let cfg = TrainConfig::tiny();
    let run = |threads: usize| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        let run = pool
            .install(|| {
                train_and_report(dir.path(), &cfg, |_, _, _| {}).map_err(|e| e.to_string())
            })
            .expect("a run");
        let svg = std::fs::read(&run.files[0]).expect("the figure");
        (run, svg)
    };
    let (one, svg_one) = run(1);
    let (two, svg_two) = run(2);
    assert_eq!(one.logs, two.logs);
    assert_eq!(svg_one, svg_two);
    // The report names the thread count on its time line, which is left out.
    assert_eq!(deterministic_lines(&one.report), deterministic_lines(&two.report));

    let v = (one.data.vocab_size as f32).ln();
    for (name, log) in [("GPT-2", &one.logs.0), ("Llama", &one.logs.1)] {
        let first = log.losses[0];
        let (_, held) = *log.heldout.last().expect("a held-out loss");
        // Both start near ln V (uniform guessing) and end well below it.
        assert!((first - v).abs() < 0.3, "{name}: first loss {first}, ln V {v}");
        assert!(held < v - 1.0, "{name}: held-out {held}, ln V {v}");
    }
}

/// The number after `key` on the first line that contains `line`.
fn number(report: &str, line: &str, key: &str) -> f64 {
    let l = report
        .lines()
        .find(|l| l.contains(line))
        .unwrap_or_else(|| panic!("no line has {line:?}:\n{report}"));
    let rest =
        &l[l.find(key).unwrap_or_else(|| panic!("no {key:?} in {l:?}")) + key.len()..];
    let n: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    n.parse()
        .unwrap_or_else(|e| panic!("{key:?} in {l:?}: {e}"))
}

const REPORT: &str = "src/figures/ch09/train-run.txt";
