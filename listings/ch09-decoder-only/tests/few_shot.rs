//! The few-shot section's numbers: the committed table (`src/figures/ch09/few-shot.txt`,
//! written by the `few_shot` example) is what the code computes, the prompts the book
//! prints are the ones the model sees, and the claims the text makes hold.

mod common;

use std::path::{Path, PathBuf};

use ch09_decoder_only::few_shot::{
    DRAWS, FewShot, Format, N_TEST, Row, SEED, SHOTS, TABLE_HEADER, Task, evaluate,
    prompt, table_line,
};
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;

fn figures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch09")
}

fn committed(name: &str) -> String {
    let path = figures().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The committed table's line for `format` and `shots`.
fn committed_line(report: &str, format: Format, shots: usize) -> String {
    let table = report
        .split_once(&format!("{TABLE_HEADER}\n"))
        .expect("the table header")
        .1;
    table
        .lines()
        .find(|l| {
            let mut w = l.split_whitespace();
            w.next() == Some(format.name()) && w.next() == Some(&shots.to_string())
        })
        .unwrap_or_else(|| panic!("no line for {} {shots}", format.name()))
        .to_owned()
}

#[test]
fn the_printed_prompts_are_the_ones_the_model_sees() {
    let task = Task::new(N_TEST, DRAWS, SEED);
    for format in [Format::Raw, Format::Chat] {
        let want = prompt(format, &task.shot_sets[0][..3], &task.test[0].text) + "\n";
        let name = format!("few-shot-prompt-{}.txt", format.name());
        assert_eq!(committed(&name), want, "{name}");
    }
}

#[test]
fn the_rerun_matches_the_committed_table_and_the_claims_hold() {
    let g = common::smollm2();
    let model = Llama::from_gguf(g).unwrap();
    let tok = GgufTokenizer::from_gguf(g).unwrap();
    let fs = FewShot::new(&model, &tok);
    let task = Task::new(N_TEST, DRAWS, SEED);
    let report = committed("few-shot.txt");
    let mut rows: Vec<Row> = Vec::new();
    for format in [Format::Raw, Format::Chat] {
        rows.extend(evaluate(&fs, &task, format, &SHOTS));
    }
    for r in &rows {
        assert_eq!(
            table_line(r),
            committed_line(&report, r.format, r.shots),
            "rerun of {} {}",
            r.format.name(),
            r.shots
        );
    }
}
