//! Tier 4: the `train_decoders` example's run. A tiny config trains both models in
//! seconds: the loss falls, and the run is the same on one thread and on two. The
//! committed report (`src/figures/ch09/train-run.txt`, written by the full run: `cargo
//! xtask bench` or `cargo run --release -p ch09-decoder-only --example train_decoders`)
//! is read back and each claim the text makes of it is asserted.

mod common;

use ch08_encoder_only::report::deterministic_lines;
use ch09_decoder_only::train_run::{TrainConfig, train_and_report};

#[test]
fn a_tiny_run_learns_and_is_the_same_on_one_thread_and_two() {
    let cfg = TrainConfig::tiny();
    let run = |threads: usize| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        let run = pool
            .install(|| {
                train_and_report(dir.path(), &cfg, |_, _, _| {})
                    .map_err(|e| e.to_string())
            })
            .expect("a run");
        let svg = std::fs::read(&run.files[0]).expect("the figure");
        (run, svg)
    };
    let (one, svg_one) = run(1);
    let (two, svg_two) = run(2);
    assert_eq!(one.logs, two.logs);
    assert_eq!(svg_one, svg_two);
    // The report names the thread count on its time line, which is left out.
    assert_eq!(
        deterministic_lines(&one.report),
        deterministic_lines(&two.report)
    );

    let v = (one.data.vocab_size as f32).ln();
    for (name, log) in [("GPT-2", &one.logs.0), ("Llama", &one.logs.1)] {
        let first = log.losses[0];
        let (_, held) = *log.heldout.last().expect("a held-out loss");
        // Both start near ln V (uniform guessing) and end well below it.
        assert!(
            (first - v).abs() < 0.3,
            "{name}: first loss {first}, ln V {v}"
        );
        assert!(held < v - 1.0, "{name}: held-out {held}, ln V {v}");
    }
}

/// The number after `key` on the first line that contains `line`.
fn number(report: &str, line: &str, key: &str) -> f64 {
    let l = report
        .lines()
        .find(|l| l.contains(line))
        .unwrap_or_else(|| panic!("no line has {line:?}:\n{report}"));
    golden::number_after(l, key)
}

const REPORT: &str = "src/figures/ch09/train-run.txt";

/// The rows of a table that starts after the line starting with `header`: each row's
/// numbers (a range such as 8-15 gives its two ends).
fn table(report: &str, header: &str) -> Vec<Vec<f64>> {
    report
        .lines()
        .skip_while(|l| !l.starts_with(header))
        .skip(1)
        .take_while(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .map(|l| {
            (l.split(|c: char| c.is_whitespace() || c == '-'))
                .filter(|x| !x.is_empty())
                .map(|x| x.parse().unwrap_or_else(|e| panic!("{x:?} in {l:?}: {e}")))
                .collect()
        })
        .collect()
}

/// What the text says of the run, read from the committed report.
#[test]
fn the_committed_report_says_what_the_text_says() {
    let r = common::committed(REPORT);
    // "they differ by less than a thousandth"
    let g = number(&r, "GPT-2: C =", "parameters:");
    let l = number(&r, "Llama: C =", "parameters:");
    assert!((g - l).abs() < 1e-3 * g, "GPT-2 {g}, Llama {l}");
    // "GPT-2 is ahead at every evaluation"; the final losses and perplexities.
    let rows = table(&r, "step ");
    assert_eq!(rows.len(), 10, "{rows:?}");
    for row in &rows {
        assert!(row[2] < row[4], "GPT-2 held-out not below Llama's: {row:?}");
    }
    let gh = number(&r, "held-out loss:", "GPT-2");
    let lh = number(&r, "held-out loss:", "Llama");
    let unigram = number(&r, "held-out loss:", "frequencies:");
    let uniform = number(&r, "held-out loss:", "ln 2048 =");
    assert!(gh < lh && lh < unigram - 1.5 && unigram < uniform, "{r}");
    assert_eq!(gh, rows[9][2]);
    assert_eq!(lh, rows[9][4]);
    // "from step 320 on both models' training loss is below their held-out loss, by more
    // at every evaluation", "still falling when the schedule ends".
    let later: Vec<&Vec<f64>> = rows.iter().filter(|row| row[0] >= 320.0).collect();
    for w in later.windows(2) {
        for (train, held) in [(1, 2), (3, 4)] {
            assert!(w[0][train] < w[0][held], "{w:?}");
            assert!(w[1][held] - w[1][train] > w[0][held] - w[0][train], "{w:?}");
            assert!(w[1][held] < w[0][held], "{w:?}");
        }
    }
    // Context: it helps up to 8-15 tokens, then the curve is flat; Llama's gap is largest
    // with one token, several times what it is with eight or more.
    let ctx = table(&r, "held-out loss by context length");
    assert_eq!(ctx.len(), 6, "{ctx:?}");
    let (one, mid, far) = (&ctx[0], &ctx[3], &ctx[5]);
    assert_eq!((mid[0], mid[1]), (8.0, 15.0));
    for (m, name) in [(1, "GPT-2"), (2, "Llama")] {
        assert!(one[m] - mid[m + 1] > 0.5, "{name}: {one:?} {mid:?}");
        assert!(
            (far[m + 1] - mid[m + 1]).abs() < 0.06,
            "{name}: flat: {mid:?} {far:?}"
        );
    }
    assert!(one[2] - one[1] > 3.0 * (mid[3] - mid[2]).max(far[3] - far[2]));
    // Copying: the second copy is no easier, accuracy under 1 %.
    for line in r
        .lines()
        .filter(|l| l.contains(" copy ") && l.contains(" nats"))
    {
        let first = number(line, "", "first copy");
        let second = number(line, "", "second copy");
        let split = line.find("second copy").expect("a second copy");
        let acc_first = number(&line[..split], "", "nats,");
        let acc_second = number(&line[split..], "", "nats,");
        assert!(second > first - 0.05, "{line}");
        if line.contains("random tokens") {
            assert!(acc_first < 1.0 && acc_second < 1.0, "{line}");
            assert!(first > uniform, "{line}");
        }
    }
    assert_eq!(
        r.lines()
            .filter(|l| l.contains(" copy ") && l.contains(" nats"))
            .count(),
        4
    );
    // The page shows the report in parts, by line number: each part starts where it did.
    let lines: Vec<&str> = r.lines().collect();
    for (n, start) in [
        (1, "corpus:"),
        (21, "held-out loss:"),
        (23, "held-out loss by context length"),
        (31, "in-context copying:"),
        (37, "samples:"),
    ] {
        assert!(
            lines[n - 1].starts_with(start),
            "line {n}: {:?}",
            lines[n - 1]
        );
    }
    assert_eq!(lines.len(), 41, "the page includes lines up to 41");
}

/// Every decimal the section quotes (4.123, 61.8, ...) is in the committed report.
#[test]
fn every_number_the_text_quotes_is_in_the_report() {
    let r = common::committed(REPORT);
    let text = common::committed("src/ch09-decoder-only/training.md");
    let mut in_code = false;
    let mut decimals = 0;
    for line in text.lines() {
        in_code ^= line.starts_with("\u{60}\u{60}\u{60}");
        if in_code || line.starts_with("\u{60}\u{60}\u{60}") {
            continue;
        }
        for word in line.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
            let word = word.trim_matches('.');
            if word.contains('.') && word.starts_with(|c: char| c.is_ascii_digit()) {
                decimals += 1;
                assert!(
                    r.contains(word),
                    "the text quotes {word}, the report does not"
                );
            }
        }
    }
    assert!(decimals >= 15, "{decimals} decimals found");
    for whole in [
        "819200",
        "76991",
        "2048",
        "800 steps",
        "100 sequences of 24 tokens",
    ] {
        assert!(r.contains(whole), "the report has no {whole:?}");
    }
}
