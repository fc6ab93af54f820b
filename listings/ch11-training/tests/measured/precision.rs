//! The mixed-precision and recipe experiments: the same code as the examples at a tiny
//! size, and the text's claims about the committed reports
//! (src/figures/ch11/mixed-precision.txt and recipe.txt, which the pages quote).

use ch09_decoder_only::train_run::{TrainConfig, book_tokens};
use ch11_training::precision_run::{precision_experiment, underflow};
use ch11_training::recipe::{Recipe, recipe_experiment};
use golden::number_after;

fn figure(name: &str) -> String {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../src/figures/ch11/").to_owned() + name;
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The report's line for one run.
/// The rows of a report's held-out table (`step | a | b | ...`), as numbers.
fn table_rows(report: &str) -> Vec<Vec<f64>> {
    report
        .lines()
        .filter(|l| {
            l.contains(" | ") && l.trim_start().starts_with(|c: char| c.is_ascii_digit())
        })
        .map(|l| l.split('|').map(|c| c.trim().parse().unwrap()).collect())
        .collect()
}

fn arm<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.starts_with(&format!("{name}: final")))
        .unwrap_or_else(|| panic!("no line for {name:?}"))
}

#[test]
fn a_tiny_precision_run_writes_its_files() {
    let cfg = TrainConfig::tiny();
    let data = book_tokens(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (logs, report) =
        precision_experiment(dir.path(), &data, &cfg, 20, |_| {}).unwrap();
    for f in ch11_training::precision_run::FILES {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    assert_eq!(logs.len(), 4);
    assert_eq!(underflow(&logs[0].dlogits), 0.0, "f32 loses nothing");
    assert_eq!(underflow(&logs[1].grads), 0.0, "bf16 has f32's range");
    for l in &logs {
        let first = l.losses[..10].iter().sum::<f32>();
        let last = l.losses[l.losses.len() - 10..].iter().sum::<f32>();
        assert!(last < first, "{}: {first} -> {last}", l.name);
        assert!(report.contains(&format!("{}: final held-out", l.name)));
    }
    // the scaler starts at 2^16 and grows after 20 clean steps unless it backed off
    assert_eq!(logs[3].scales[0], 65536.0);
    assert!(logs[2].scales.iter().all(|&s| s == 1.0));
}

#[test]
fn a_tiny_recipe_run_writes_its_files() {
    let cfg = TrainConfig::tiny();
    let data = book_tokens(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (logs, report) =
        recipe_experiment(dir.path(), &data, &cfg, &Recipe::chapter()).unwrap();
    for f in ch11_training::recipe::FILES {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    assert_eq!(logs.len(), 3);
    let uniform = (data.vocab_size as f32).ln();
    for log in &logs {
        assert_eq!(log.heldout.len(), logs[0].heldout.len());
        assert!(log.heldout.last().unwrap().1 < uniform, "{:?}", log.heldout);
    }
    assert!(report.contains("Chapter 9: final held-out"));
    assert!(report.contains("this chapter, epochs: final held-out"));
}

#[test]
fn the_mixed_precision_page_says_what_the_report_says() {
    let r = figure("mixed-precision.txt");
    let [f32_, bf16, fp16, scaled] =
        ["f32", "bf16", "fp16, no scaling", "fp16, dynamic scaling"].map(|n| arm(&r, n));
    let held = |line: &str| number_after(line, "final held-out");
    // "The budget is half of Chapter 9's, 400 steps ... the growth interval, 100 steps"
    assert!(r.contains("400 steps of 16 windows of 64 tokens"));
    assert!(r.contains("x2 after 100 clean steps"));
    // "bf16 ends 0.002 nats above f32 (4.715 against 4.713 nats)"
    assert_eq!((held(bf16), held(f32_)), (4.715, 4.713));
    // "fp16 with dynamic scaling ends level with f32 and is within 0.001 nats of it at
    // every evaluation" (the held-out table: step | f32 | bf16 | fp16 | fp16 scaled)
    assert_eq!(held(scaled), held(f32_));
    let rows = table_rows(&r);
    assert_eq!(rows.len(), 10);
    for row in &rows {
        assert!((row[4] - row[1]).abs() <= 0.0011, "{row:?}");
    }
    // "fp16 without scaling ends level with f32 too, at 4.713 nats, but on the way it
    // strays further from f32 than either other run, by up to 0.005 nats (at step 280)"
    assert_eq!(held(fp16), held(f32_));
    let gap = |col: usize| {
        rows.iter()
            .map(|row| (row[col] - row[1]).abs())
            .fold(0.0, f64::max)
    };
    assert!(gap(3) > gap(2).max(gap(4)));
    assert!((gap(3) - 0.005).abs() < 1e-9);
    let worst = rows
        .iter()
        .find(|row| ((row[3] - row[1]).abs() - 0.005).abs() < 1e-9);
    assert_eq!(worst.map(|row| row[0]), Some(280.0));
    let pct = |line: &str, key: &str| number_after(line, key);
    // "In the first 40 steps no entry ... is flushed ... In the last 40 steps 32.1 % ...
    // Over the whole run it is 20.3 % ... together 0.30 % of the sum ... 0.083 % of the
    // parameter-gradient entries"
    assert_eq!(pct(fp16, "first 40 steps"), 0.0);
    assert_eq!(pct(fp16, "%, last 40 steps"), 32.104);
    assert_eq!(pct(fp16, "fp16-flushed dlogits"), 20.266);
    assert_eq!(pct(fp16, "their share of sum |dlogits|"), 0.3001);
    assert_eq!(pct(fp16, "flushed parameter gradients"), 0.083);
    // "With dynamic scaling the flushed fraction ... falls from 20.3 % to 0.003 %, and
    // no parameter gradient is flushed"
    assert_eq!(pct(scaled, "fp16-flushed dlogits"), 0.003);
    assert_eq!(pct(scaled, "flushed parameter gradients"), 0.0);
    // f32 and bf16 flush nothing
    for line in [f32_, bf16] {
        assert_eq!(pct(line, "fp16-flushed dlogits"), 0.0);
    }
    // "no step was skipped in any run, and the scale doubled at steps 101, 201 and 301,
    // from 2^16 to 2^19"
    for line in [f32_, bf16, fp16, scaled] {
        assert_eq!(number_after(line, "skipped steps"), 0.0);
    }
    assert!(scaled.ends_with(
        "scale 65536 from step 1, 131072 from step 101, 262144 from step 201, 524288 from step 301"
    ));
    // "the fastest step was 102.9 ms in f32, 104.7 ms in bf16, and 107.7 and 109.7 ms in
    // the two fp16 runs": emulation is slower, fp16's rounding dearer than bf16's
    let ms = |line: &str| number_after(line, "time per step");
    assert_eq!(
        [ms(f32_), ms(bf16), ms(fp16), ms(scaled)],
        [102.9, 104.7, 107.7, 109.7]
    );
    for half in [bf16, fp16, scaled] {
        assert!(ms(half) > ms(f32_), "{half}");
    }
    assert!(ms(fp16).min(ms(scaled)) > ms(bf16));
}

#[test]
fn the_bit_table_is_the_codes() {
    use ch11_training::precision::{TABLE_VALUES, bit_table};
    assert_eq!(figure("bit-layouts.txt"), bit_table(&TABLE_VALUES));
}

#[test]
fn the_recipe_page_says_what_the_report_says() {
    let r = figure("recipe.txt");
    let line = |name: &str| arm(&r, name);
    let (old, new, epochs) = (
        line("Chapter 9"),
        line("this chapter"),
        line("this chapter, epochs"),
    );
    let held = |l: &str| number_after(l, "final held-out");
    // Chapter 9's run is Chapter 9's: the same final held-out loss as its own report
    let ch09 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../src/figures/ch09/train-run.txt"
    ))
    .unwrap();
    let ch09_llama = ch09
        .lines()
        .find(|l| l.starts_with("held-out loss: GPT-2"))
        .unwrap();
    assert_eq!(held(old), number_after(ch09_llama, "Llama"));
    // "it ends at 4.194 nats against 4.249, 0.055 nats lower, a perplexity of 66.3
    // against 70.1"
    assert_eq!((held(new), held(old)), (4.194, 4.249));
    assert_eq!(number_after(new, "perplexity"), 66.3);
    assert_eq!(number_after(old, "perplexity"), 70.1);
    // held-out table: step | Chapter 9 | this chapter | this chapter, epochs
    let rows = table_rows(&r);
    assert_eq!(rows.len(), 10);
    // "lower than Chapter 9's at every evaluation after the first ... At step 80 ... within
    // 0.002 nats of each other (6.257 and 6.259)"
    assert_eq!((rows[0][0], rows[0][1], rows[0][2]), (80.0, 6.257, 6.259));
    for row in &rows[1..] {
        assert!(row[2] < row[1], "{row:?}");
    }
    // "Neither curve has turned up at the end": the last evaluation is each one's lowest
    for col in [1, 2] {
        assert!(
            rows.iter().all(|row| row[col] >= rows[9][col]),
            "column {col}"
        );
    }
    // "ahead of both runs from step 160 through step 320, falls behind the same recipe on
    // random windows at step 400 and behind Chapter 9's at step 560" ("within 0.004 nats
    // of both at step 80")
    assert!(
        rows[0][1..]
            .iter()
            .all(|&h| (h - rows[0][3]).abs() <= 0.0041)
    );
    for row in &rows[1..] {
        let ahead = row[3] < row[1].min(row[2]);
        assert_eq!(ahead, (160.0..=320.0).contains(&row[0]), "{row:?}");
        assert_eq!(row[3] > row[2], row[0] >= 400.0, "{row:?}");
        assert_eq!(row[3] > row[1], row[0] >= 560.0, "{row:?}");
    }
    // "lowest at step 560, 4.327 nats, and ends higher, at 4.342, worse than Chapter 9's"
    assert_eq!(number_after(epochs, "lowest"), 4.327);
    assert_eq!(number_after(epochs, "at step"), 560.0);
    assert_eq!(held(epochs), 4.342);
    assert!(held(epochs) > held(old));
    // "800 steps are 10.6 passes over the 76,991 training tokens ... 235,456 parameters"
    assert!(r.contains("10.6 passes over the 76991 training tokens"));
    assert!(r.contains("235456 parameters"));
}
