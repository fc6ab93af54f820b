//! The committed files of src/figures/ch07 are what the `translate` example's run writes:
//! this reruns that run (1000 steps and the held-out evaluation: about 70 s of CPU in the
//! test profile, against about 31 s for the release build of the example) and compares
//! the figures byte for byte and every line of translate-run.txt that does not hold a
//! wall time. Regenerate with `cargo xtask bench` (or the example's `train`) after
//! changing the code.

use std::path::{Path, PathBuf};

use ch01_foundations::figures::assert_up_to_date;
use ch07_transformer::run::{deterministic_lines, train_and_report};
use ch07_transformer::train::TrainConfig;

#[test]
fn committed_run_figures_and_report_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut report = String::new();
    let checked = assert_up_to_date(&root, "ch07", |dir| {
        let full = TrainConfig::full();
        let run = train_and_report(dir, full.steps, full.seed, |_, _| {})?;
        report = run.report;
        // translate-run.txt holds wall times: its other lines are compared below.
        let svgs: Vec<PathBuf> = (run.files.into_iter())
            .filter(|f| f.extension().is_some_and(|e| e == "svg"))
            .collect();
        Ok(svgs)
    });
    assert_eq!(checked, 3);
    let path = root.join("src/figures/ch07/translate-run.txt");
    let committed = std::fs::read_to_string(&path).expect("translate-run.txt");
    assert_eq!(
        deterministic_lines(&committed),
        deterministic_lines(&report),
        "src/figures/ch07/translate-run.txt is stale: run `cargo xtask bench`"
    );
}

/// What the text says of the encoder's first layer, read from the committed report's
/// table (the test above checks that the table is what the run writes): in heads 0-2,
/// five of the seven words give the most weight to "the"; in head 3 (the one drawn),
/// four give it to "fourth", "nineteen" to "eight" and "eight" to "fifty".
#[test]
fn encoder_heads_look_where_the_text_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let report = std::fs::read_to_string(root.join("src/figures/ch07/translate-run.txt"))
        .expect("translate-run.txt");
    let table: Vec<(String, Vec<String>)> = report
        .lines()
        .skip_while(|l| !l.starts_with("query "))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let mut cells = l.split_whitespace().map(str::to_owned);
            let query = cells.next().expect("a query word");
            let cells: Vec<String> = cells.collect();
            let top = cells.chunks(2).map(|c| c[0].clone()).collect();
            (query, top)
        })
        .collect();
    assert_eq!(table.len(), 7, "{table:?}");
    let count =
        |head: usize, word: &str| table.iter().filter(|(_, t)| t[head] == word).count();
    for head in 0..3 {
        assert_eq!(count(head, "the"), 5, "head {head}: {table:?}");
    }
    assert_eq!(count(3, "fourth"), 4, "{table:?}");
    let top3 = |q: &str| {
        table
            .iter()
            .find(|(w, _)| w == q)
            .map(|(_, t)| t[3].clone())
    };
    assert_eq!(top3("fourth").as_deref(), Some("fourth"));
    assert_eq!(top3("nineteen").as_deref(), Some("eight"));
    assert_eq!(top3("eight").as_deref(), Some("fifty"));
}
