//! The committed src/figures/ch08/finetune.svg and finetune-run.txt are what the
//! `finetune` example writes: this reruns the whole experiment (both inits, both tasks:
//! about 80 s of CPU in the test profile on 2 cores) and compares the figure byte for
//! byte and every line of the report but the wall time. Then it checks each claim the
//! section "Fine-tuning" makes, on the committed report. Needs the models cache: without
//! it this fails with one line naming `cargo xtask models`.

mod common;

use std::path::{Path, PathBuf};

use ch01_foundations::figures::assert_up_to_date;
use ch08_encoder_only::experiment::{
    ExperimentConfig, deterministic_lines, run_and_write,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn committed_report() -> String {
    std::fs::read_to_string(root().join("src/figures/ch08/finetune-run.txt"))
        .expect("src/figures/ch08/finetune-run.txt")
}

#[test]
fn committed_figure_and_report_are_up_to_date() {
    let dir = common::minilm_dir();
    let mut report = String::new();
    let checked = assert_up_to_date(&root(), "ch08", |out| {
        let (text, files) = run_and_write(&dir, out, &ExperimentConfig::full())?;
        report = text;
        Ok(files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "svg"))
            .collect())
    });
    assert_eq!(checked, 1);
    assert_eq!(
        deterministic_lines(&committed_report()),
        deterministic_lines(&report),
        "src/figures/ch08/finetune-run.txt is stale: run `cargo xtask bench` \
         (or the `finetune` example)"
    );
}

/// A percentage cell of the report's table: `row`'s (pretrained, scratch).
fn row(report: &str, name: &str) -> (f64, f64) {
    let line = report
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no row {name:?} in the report"));
    let cells: Vec<f64> = line
        .split('|')
        .skip(1)
        .map(|c| {
            c.trim()
                .trim_end_matches('%')
                .trim()
                .parse()
                .expect("a percentage")
        })
        .collect();
    (cells[0], cells[1])
}

/// The claims of the section's prose and table, on the committed report.
#[test]
fn the_text_claims_hold() {
    let r = committed_report();
    let seen = row(&r, "sentiment accuracy, seen words");
    let unseen = row(&r, "sentiment accuracy, unseen words");
    let f1 = row(&r, "NER entity F1");
    // Both inits learn the training words: 100 % on held-out templates with them.
    assert_eq!(seen, (100.0, 100.0));
    // Words never seen in training: the pretrained model still 100 %, the scratch one
    // at chance (51.5 %), a gap of 48.5 points.
    assert_eq!(unseen, (100.0, 51.5));
    assert!((40.0..=60.0).contains(&unseen.1), "scratch is at chance");
    // Held-out names and templates: F1 82.8 % against 12.5 %.
    assert_eq!(f1, (82.8, 12.5));
    assert!(f1.0 - f1.1 > 60.0);
    // ... although both fit their own training sentences perfectly.
    assert!(
        r.contains(
            "NER entity F1 on the training sentences: pretrained 100.0 %, scratch 100.0 %"
        ),
        "{r}"
    );
    // Pretrained reaches 100 % on unseen words by step 20, scratch never leaves chance.
    let step20 = r
        .lines()
        .find(|l| l.trim_start().starts_with("20 |"))
        .expect("step 20");
    assert!(step20.contains("|  100.0 % 100.0 %"), "{step20}");
    let scratch_unseen: Vec<f64> = (r.lines())
        .skip_while(|l| !l.starts_with("step |"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split('|').nth(2).unwrap().split('%').collect();
            cells[1].trim().parse().unwrap()
        })
        .collect();
    assert_eq!(scratch_unseen.len(), 7);
    assert!(
        scratch_unseen.iter().all(|&a| (45.0..=55.0).contains(&a)),
        "{scratch_unseen:?}"
    );
}
