//! The PTQ-against-QAT experiment: the same code as the `qat_vs_ptq` example at a tiny
//! size, and the claims the page (src/ch13-optimizations/qat.md) makes about the
//! committed report, src/figures/ch13/qat.txt.

use ch09_decoder_only::train_run::book_tokens;
use ch13_optimizations::qat_run::{FILES, QatRunConfig, qat_experiment};
use golden::number_after;

fn figure(name: &str) -> String {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../src/figures/ch13/").to_owned() + name;
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The report's table: bits | PTQ at N | PTQ at N + M | QAT | PTQ gap | QAT gap | errors.
fn rows(report: &str) -> Vec<Vec<f64>> {
    report
        .lines()
        .filter(|l| l.contains(" | ") && l.starts_with(|c: char| c.is_ascii_digit()))
        .map(|l| l.split('|').map(|c| c.trim().parse().unwrap()).collect())
        .collect()
}

#[test]
fn a_tiny_run_writes_its_files_and_qat_is_no_worse_than_ptq() {
    let cfg = QatRunConfig::tiny();
    let data = book_tokens(&cfg.train).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (r, report) = qat_experiment(dir.path(), &data, &cfg).unwrap();
    for f in FILES {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    assert_eq!(r.rows.len(), 2);
    assert!(r.f32_final < r.pretrained, "training on helped");
    // 8 bits costs next to nothing; at 2 bits QAT is closer to f32 than PTQ is
    let (eight, two) = (&r.rows[0], &r.rows[1]);
    assert!((eight.ptq_final.0 - r.f32_final).abs() < 0.01, "{eight:?}");
    assert!(two.qat.0 < two.ptq_final.0, "{two:?}");
    assert_eq!(rows(&report).len(), 2);
    assert!(number_after(&report, "quantized: the") == 14.0);
}
