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

/// One committed row's numbers: accuracy scored (%), times scored positive, accuracy
/// generated (%), unparseable.
fn numbers(report: &str, format: Format, shots: usize) -> (f64, usize, f64, usize) {
    let line = committed_line(report, format, shots);
    let w: Vec<&str> = line.split_whitespace().collect();
    // format shots answers scored % positive generated % unparseable
    let f = |i: usize| w[i].parse::<f64>().unwrap();
    let u = |i: usize| w[i].parse::<usize>().unwrap();
    (f(3), u(5), f(6), u(8))
}

#[test]
fn the_claims_of_the_text_hold_in_the_committed_table() {
    let report = committed("few-shot.txt");
    let raw = |k| numbers(&report, Format::Raw, k);
    let chat = |k| numbers(&report, Format::Chat, k);
    assert!(report.contains("majority-class baseline: 50.0 %"));
    // Plain text: every answer parses, scoring and generation agree, zero shots is the
    // best, and from 1 to 5 shots accuracy rises.
    for k in SHOTS {
        let (scored, _, generated, unparseable) = raw(k);
        assert_eq!((scored, unparseable), (generated, 0), "raw {k}");
        assert!(k == 0 || scored < raw(0).0, "raw {k} below raw 0");
    }
    assert!(raw(1).0 < raw(3).0 && raw(3).0 < raw(5).0);
    // Chat: almost no generated answer is a label, and with shots the scoring says
    // positive nearly every time, so it sits at the majority baseline.
    for k in SHOTS {
        let (scored, positive, generated, _) = chat(k);
        assert!(generated < 5.0, "chat {k}");
        assert!(k == 0 || (positive >= 93 && scored < 55.0), "chat {k}");
    }
    assert!(chat(0).0 > 60.0 && chat(0).0 < raw(0).0);
}

/// Reruns the zero-shot rows and the 5-shot plain-text row (a third of the work; the
/// whole table is the example's) and compares them with the committed lines.
#[test]
fn a_rerun_matches_the_committed_table() {
    let g = common::smollm2();
    let model = Llama::from_gguf(g).unwrap();
    let tok = GgufTokenizer::from_gguf(g).unwrap();
    let fs = FewShot::new(&model, &tok);
    let task = Task::new(N_TEST, DRAWS, SEED);
    let report = committed("few-shot.txt");
    let mut rows: Vec<Row> = evaluate(&fs, &task, Format::Raw, &[0, 5]);
    rows.extend(evaluate(&fs, &task, Format::Chat, &[0]));
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
