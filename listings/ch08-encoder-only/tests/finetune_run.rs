//! The committed src/figures/ch08/finetune.svg and finetune-run.txt are what the
//! `finetune` example writes: this reruns the whole experiment (both inits, both tasks:
//! 80 to 100 s of one core in the test profile, against 40 s for the release build of
//! the example) and compares the figure byte for byte and every line of the report but
//! the wall time. Then it checks each claim the section "Fine-tuning" makes, on the
//! committed report. Needs the models cache: without it this fails with one line naming
//! `cargo xtask models`.

mod common;

use ch01_foundations::figures::assert_up_to_date;
use ch08_encoder_only::experiment::{ExperimentConfig, run_and_write};
use ch08_encoder_only::report::deterministic_lines;

#[test]
fn committed_figure_and_report_are_up_to_date() {
    let dir = common::minilm_dir();
    let mut report = String::new();
    let checked = assert_up_to_date(&common::book_root(), "ch08", |out| {
        let (text, files) = run_and_write(&dir, out, &ExperimentConfig::full())?;
        report = text;
        Ok(files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "svg"))
            .collect())
    });
    assert_eq!(checked, 1);
    assert_eq!(
        deterministic_lines(&common::committed("src/figures/ch08/finetune-run.txt")),
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
    let r = common::committed("src/figures/ch08/finetune-run.txt");
    let seen = row(&r, "sentiment accuracy, seen words");
    let unseen = row(&r, "sentiment accuracy, unseen words");
    let f1 = row(&r, "NER entity F1");
    // Both inits learn the training words on held-out templates: 100.0 % and 97.3 %.
    assert_eq!(seen, (100.0, 97.3));
    // Words never seen in training: the pretrained model still 100.0 %, the scratch one
    // at 56.0 %, inside a fair coin's 95 % range on 150 sentences (42-58 %).
    assert_eq!(unseen, (100.0, 56.0));
    assert!(r.contains("sentiment 256 training sentences, 150 + 150 held-out"));
    // Held-out names and templates: F1 79.6 % against 11.2 %.
    assert_eq!(f1, (79.6, 11.2));
    // ... although both fit their own training sentences perfectly.
    assert!(
        r.contains(
            "NER entity F1 on the training sentences: pretrained 100.0 %, scratch 100.0 %"
        ),
        "{r}"
    );
    // The curve: pretrained at 100.0 % on unseen words from step 20 on; scratch between
    // 44.7 % and 56.7 % at every step; scratch NER F1 below 20 %, pretrained about 80 %.
    let curve: Vec<Vec<f64>> = (r.lines())
        .skip_while(|l| !l.starts_with("step |"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            l.replace(['|', '%'], " ")
                .split_whitespace()
                .map(|c| c.parse().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(curve.len(), 5);
    assert!(curve[1..].iter().all(|p| p[2] == 100.0), "{curve:?}");
    let scratch_unseen: Vec<f64> = curve.iter().map(|p| p[5]).collect();
    let lo = scratch_unseen.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = scratch_unseen.iter().copied().fold(0.0, f64::max);
    assert_eq!((lo, hi), (44.7, 56.7));
    assert!(curve.iter().all(|p| p[6] < 20.0), "{curve:?}");
    let best = curve.iter().map(|p| p[3]).fold(0.0, f64::max);
    assert!((78.0..82.0).contains(&best), "{best}");
    // The pretrained model's held-out NER errors: 98 of its 99 wrong predictions
    // overlap a true entity with the wrong span; none has the right span and the wrong
    // type; no true entity is missed outright, against 158 for the scratch model.
    let count = |name: &str| -> (usize, usize) {
        let line = r.lines().find(|l| l.starts_with(name)).expect(name);
        let c: Vec<usize> = line
            .split('|')
            .skip(1)
            .map(|c| c.trim().parse().unwrap())
            .collect();
        (c[0], c[1])
    };
    let wrong_type = count("right span, wrong type");
    let (wrong_span, spurious) = (
        count("overlapping, wrong span"),
        count("overlapping no true"),
    );
    assert_eq!(wrong_type.0, 0);
    assert_eq!(
        (wrong_span.0, wrong_type.0 + wrong_span.0 + spurious.0),
        (98, 99)
    );
    assert_eq!(count("true entities not overlapped"), (0, 158));
    // Sentences 0, 1, 4 and 5 as the text describes them.
    for line in [
        "0   truth:      last year [sophia thomas]PER moved",
        "    pretrained: last year [sophia thomas]PER moved",
        "    pretrained: [samsung]ORG opened an office in [buenos]LOC [aires]LOC",
        "    pretrained: [deutsche]ORG [telekom]ORG opened an office in [san]LOC [francisco]LOC",
        "    pretrained: [sophia]PER gave a talk at [deutsche]LOC [telekom]ORG",
    ] {
        assert!(r.contains(line), "{line}");
    }
    assert!(r.contains("token table: 162 of 30522 rows used"));
    assert!(r.contains("80 steps of batch 16"));
    assert!(r.contains("lr 1e-4 after 8 warmup steps"));
}

/// "All-MiniLM-L6-v2 has 22.7 M parameters, and 11.7 M of them are the token table."
#[test]
fn parameter_counts_in_the_text() {
    use ch01_foundations::module::Module;
    let enc = common::minilm().lock().unwrap();
    let mut total = 0;
    enc.bert.visit_params(&mut |_, p| total += p.value.len());
    let table = enc.bert.embeddings.token.table.value.len();
    assert_eq!(format!("{:.1}", total as f64 / 1e6), "22.7", "{total}");
    assert_eq!(format!("{:.1}", table as f64 / 1e6), "11.7", "{table}");
}
