//! Tier 4: the `pretrain` example's run. The first test reruns it (in the test
//! profile, about as long as the release example) and checks that the committed loss
//! figure is what it draws, byte for byte, and that every line of the committed
//! report but the wall time is what it writes. The second reads the committed report
//! and asserts each claim the text makes of it. Regenerate with `cargo xtask bench`
//! (or `cargo run --release -p ch08-encoder-only --example pretrain`).

use std::path::{Path, PathBuf};

use ch01_foundations::figures::assert_up_to_date;
use ch08_encoder_only::pretrain_run::{
    PretrainConfig, deterministic_lines, pretrain_and_report,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn committed_report() -> String {
    std::fs::read_to_string(root().join("src/figures/ch08/pretrain-run.txt"))
        .expect("src/figures/ch08/pretrain-run.txt")
}

#[test]
fn committed_loss_figure_and_report_are_what_the_run_writes() {
    let mut report = String::new();
    let checked = assert_up_to_date(&root(), "ch08", |dir| {
        let run = pretrain_and_report(dir, &PretrainConfig::full(), |_, _| {})?;
        report = run.report;
        // The report holds a wall time: its other lines are compared below.
        Ok(run.files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "svg")).collect())
    });
    assert_eq!(checked, 1);
    assert_eq!(
        deterministic_lines(&committed_report()),
        deterministic_lines(&report),
        "src/figures/ch08/pretrain-run.txt is stale: run `cargo xtask bench`"
    );
}

/// The number after `key` on the line that starts with `line`.
fn number(report: &str, line: &str, key: &str) -> f64 {
    let l = report
        .lines()
        .find(|l| l.starts_with(line))
        .unwrap_or_else(|| panic!("no line starts with {line:?}:\n{report}"));
    let rest = &l[l.find(key).unwrap_or_else(|| panic!("no {key:?} in {l:?}")) + key.len()..];
    let n: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    n.parse().unwrap_or_else(|e| panic!("{key:?} in {l:?}: {e}"))
}

/// What the text says of the run, read from the committed report (the test above
/// checks that the report is what the run writes).
#[test]
fn pretraining_beats_both_baselines_and_nsp_is_mostly_topic() {
    let r = committed_report();
    let mlm = number(&r, "held-out MLM:", "top-1 accuracy");
    let unigram = number(&r, "held-out MLM:", "baseline (always \"the\")");
    let random = number(&r, "held-out NSP, random pairs", "accuracy");
    let same = number(&r, "held-out NSP, same-page pairs", "accuracy");
    let overlap_random = number(&r, "word-overlap baseline", "random pairs");
    let overlap_same = number(&r, "word-overlap baseline", "same-page pairs");
    // MLM: well over the unigram guess (the text: "more than twice").
    assert!(mlm > 2.0 * unigram, "MLM {mlm} % vs unigram {unigram} %");
    // NSP on random pairs: clearly over a coin.
    assert!(random > 55.0, "NSP {random} %");
    // Without the topic shift, most of that margin goes (the text: "less than half").
    assert!(same < random, "same-page {same} % vs random pairs {random} %");
    assert!(same - 50.0 < (random - 50.0) / 2.0, "same-page {same} %, random {random} %");
    // A threshold on shared words gets part of the way on random pairs, and less
    // without the topic shift.
    assert!(overlap_random > overlap_same && overlap_random > 50.0);
}
