//! Tier 4: the `pretrain` example's run. The first test reruns it (in the test
//! profile, about as long as the release example) and checks that the committed loss
//! figure is what it draws, byte for byte, and that every line of the committed
//! report but the wall time is what it writes. The second reads the committed report
//! and asserts each claim the text makes of it. Regenerate with `cargo xtask bench`
//! (or `cargo run --release -p ch08-encoder-only --example pretrain`).

mod common;

use ch01_foundations::figures::assert_up_to_date;
use ch08_encoder_only::pretrain_run::{PretrainConfig, pretrain_and_report};
use ch08_encoder_only::report::deterministic_lines;

#[test]
fn committed_loss_figure_and_report_are_what_the_run_writes() {
    let mut report = String::new();
    let checked = assert_up_to_date(&common::book_root(), "ch08", |dir| {
        let run = pretrain_and_report(dir, &PretrainConfig::full(), |_, _| {})?;
        report = run.report;
        // The report holds a wall time: its other lines are compared below.
        Ok(run
            .files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "svg"))
            .collect())
    });
    assert_eq!(checked, 1);
    assert_eq!(
        deterministic_lines(&common::committed("src/figures/ch08/pretrain-run.txt")),
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
    golden::number_after(l, key)
}

/// The (step, train MLM, train NSP, held-out MLM, held-out NSP) rows of the table.
fn loss_table(report: &str) -> Vec<[f64; 5]> {
    report
        .lines()
        .skip_while(|l| !l.starts_with("step "))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<f64> = l
                .split_whitespace()
                .map(|x| x.parse().expect("a number"))
                .collect();
            [v[0], v[1], v[2], v[3], v[4]]
        })
        .collect()
}

/// What the text says of the run, read from the committed report (the test above
/// checks that the report is what the run writes).
#[test]
fn pretraining_beats_both_baselines_and_nsp_is_mostly_topic() {
    let r = common::committed("src/figures/ch08/pretrain-run.txt");
    let mlm = number(&r, "held-out MLM:", "top-1 accuracy");
    let unigram = number(&r, "held-out MLM:", "baseline (always \"the\")");
    let random = number(&r, "held-out NSP, random pairs", "accuracy");
    let same = number(&r, "held-out NSP, same-page pairs", "accuracy");
    let overlap_random = number(&r, "word-overlap baseline", "random pairs");
    let overlap_same = number(&r, "word-overlap baseline", "same-page pairs");
    // "The model is more than three times better" than always guessing "the".
    assert!(mlm > 3.0 * unigram, "MLM {mlm} % vs unigram {unigram} %");
    // "above chance, but by a small margin".
    assert!(random > 53.0 && random < 60.0, "NSP {random} %");
    // "from step 800 on, the training NSP loss falls while the held-out NSP loss rises".
    let table = loss_table(&r);
    let at = |step: f64| *table.iter().find(|row| row[0] == step).expect("a row");
    let rows: Vec<[f64; 5]> = table
        .iter()
        .copied()
        .filter(|row| row[0] >= 800.0)
        .collect();
    assert!(rows.len() >= 2, "{table:?}");
    for w in rows.windows(2) {
        assert!(w[1][2] < w[0][2] && w[1][4] > w[0][4], "{table:?}");
    }
    assert!(
        at(800.0)[4] < at(400.0)[4],
        "held-out NSP loss falls before step 800"
    );
    // "word overlap is right 59.2 %, more than the pretrained model's 55.0 %"; "on
    // same-page pairs it drops to 51.5 %: almost all of its margin over a coin".
    assert!(overlap_random > random, "{overlap_random} vs {random}");
    assert!(overlap_same - 50.0 < 0.25 * (overlap_random - 50.0));
    // "The model drops from 55.0 % to 52.8 %, losing part of its smaller margin".
    assert!(
        same < random && same > 50.0,
        "same-page {same} %, random {random} %"
    );
    // The vocabulary paragraph: 2000 tokens spell "reads" out, 7202 do not.
    assert!(r.contains("vocabulary 2000: 3.69 tokens per word"), "{r}");
    assert!(r.contains("r ##e ##a ##d ##s"), "{r}");
    assert!(r.contains("vocabulary 7202: 1.58 tokens per word"), "{r}");
    assert!(r.contains("vocabulary 7202 (8000 asked for;"), "{r}");
}

/// Every decimal the section quotes (55.0 %, 3.69 tokens per word, ...) and each whole
/// number it takes from the run is in the committed report.
#[test]
fn every_number_the_text_quotes_is_in_the_report() {
    let r = common::committed("src/figures/ch08/pretrain-run.txt");
    let text = std::fs::read_to_string(
        common::book_root().join("src/ch08-encoder-only/pretraining.md"),
    )
    .expect("pretraining.md");
    let mut in_code = false;
    let prose: Vec<&str> = text
        .lines()
        .filter(|l| {
            in_code ^= l.starts_with("```");
            !in_code && !l.starts_with("```")
        })
        .collect();
    let mut decimals = 0;
    for line in &prose {
        for word in line.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
            let word = word.trim_matches('.');
            if word.contains('.')
                && word.chars().next().is_some_and(|c| c.is_ascii_digit())
            {
                decimals += 1;
                assert!(
                    r.contains(word),
                    "the text quotes {word}, the report does not have it"
                );
            }
        }
    }
    assert!(decimals >= 10, "{decimals} decimals found");
    for whole in [
        "17373",
        "2029",
        "1520",
        "7202",
        "8000",
        "2000",
        " 800 ",
        "11 held out",
        "8 times",
    ] {
        assert!(r.contains(whole), "the report has no {whole:?}");
    }
}
