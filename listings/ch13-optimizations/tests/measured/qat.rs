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

#[test]
fn the_page_says_what_the_report_says() {
    let r = figure("qat.txt");
    let page = golden::page_text("ch13-optimizations/qat.md");
    let line = |key: &str| -> &str {
        r.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no line {key:?}"))
    };
    // "104,064 of the 235,456 parameters (44.2 %)"
    assert!(line("quantized:").contains("104064 of 235456 parameters (44.2 %)"));
    assert!(page.contains("104,064 of its 235,456 parameters (44.2 %)"));
    // "400 steps in f32, then 100 more in each arm"
    assert!(r.contains("400 + 100 steps of 8 windows of 64 tokens"));
    let f32_400 = number_after(line("f32 after 400 steps"), "held-out");
    let f32_500 = number_after(line("f32 after 500 steps"), "held-out");
    assert_eq!((f32_400, f32_500), (4.8592, 4.7944));
    let rows = rows(&r);
    let bits: Vec<f64> = rows.iter().map(|row| row[0]).collect();
    assert_eq!(bits, [8.0, 4.0, 3.0, 2.0]);
    let row = |b: f64| rows.iter().find(|row| row[0] == b).unwrap();
    // the gaps are the columns they say they are
    for row in &rows {
        assert!((row[4] - (row[2] - f32_500)).abs() < 1.5e-4, "{row:?}");
        assert!((row[5] - (row[3] - f32_500)).abs() < 1.5e-4, "{row:?}");
    }
    // "At 8 bits neither costs anything measurable: both are 4.7944 nats, as f32 is"
    assert_eq!((row(8.0)[2], row(8.0)[3]), (4.7944, 4.7944));
    // "the rounding error is 0.0049 of the weights' norm"
    assert_eq!(row(8.0)[6], 0.0049);
    // "QAT closes most of PTQ's gap at every width below 8: at 4 bits 0.0072 against
    // 0.0007 nats (90 %), at 3 bits 0.0475 against 0.0109 (77 %), at 2 bits 0.5413
    // against 0.0828 (85 %)"
    for (b, ptq_gap, qat_gap, pct) in [
        (4.0, 0.0072, 0.0007, 90.0),
        (3.0, 0.0475, 0.0109, 77.0),
        (2.0, 0.5413, 0.0828, 85.0),
    ] {
        let row = row(b);
        assert_eq!((row[4], row[5]), (ptq_gap, qat_gap), "{b} bits");
        let recovered = 100.0 * (1.0 - row[5] / row[4]);
        assert!((recovered - pct).abs() < 0.5, "{b} bits: {recovered}");
        assert!(
            page.contains(&format!("{ptq_gap} against {qat_gap}")),
            "{b} bits"
        );
    }
    // "at 2 bits QAT (4.8771) is still a little worse than the unquantized model at the
    // branch point (4.8592), while PTQ (5.3356) is far worse"
    assert_eq!((row(2.0)[3], row(2.0)[2]), (4.8771, 5.3356));
    assert!(row(2.0)[3] > f32_400 && row(2.0)[3] - f32_400 < 0.05);
    // "the extra f32 steps made the 2-bit PTQ model worse (5.2879 -> 5.3356) while they
    // made every other width better"
    assert_eq!(row(2.0)[1], 5.2879);
    assert!(row(2.0)[2] > row(2.0)[1]);
    for b in [8.0, 4.0, 3.0] {
        assert!(row(b)[2] < row(b)[1], "{b} bits");
    }
    // "QAT's latent weights are not closer to the grid: the relative weight error is a
    // little larger than PTQ's at every width below 8 (0.0894 against 0.0886 at 4 bits,
    // 0.6626 against 0.6554 at 2)"
    for b in [4.0, 3.0, 2.0] {
        assert!(row(b)[7] > row(b)[6], "{b} bits");
    }
    assert_eq!((row(4.0)[7], row(4.0)[6]), (0.0894, 0.0886));
    assert_eq!((row(2.0)[7], row(2.0)[6]), (0.6626, 0.6554));
}
