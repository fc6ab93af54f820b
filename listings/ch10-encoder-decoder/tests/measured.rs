//! The text's claims about committed measurements, checked against the files under
//! src/figures/ch10 that the text includes. Nothing is measured here: `cargo xtask
//! figures` rewrites the files, and if a rerun changes what they show, this test says
//! which sentence no longer holds.

use std::path::Path;

fn figure(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../src/figures/ch10")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn t5_parity_is_within_the_stated_tolerance() {
    let text = figure("t5-parity.txt");
    // "every error is below 1e-5": the logits, the bias tables, all gradients, both variants
    let errors: Vec<f64> = text
        .lines()
        .filter(|l| l.contains(" = "))
        .map(|l| {
            l.rsplit(" = ")
                .next()
                .unwrap()
                .trim()
                .parse::<f64>()
                .unwrap()
        })
        .collect();
    assert_eq!(errors.len(), 6, "three lines for each of the two variants");
    for e in &errors {
        assert!(*e < 1e-5, "{e} in\n{text}");
    }
    // "47 and 52 gradients": every parameter of each variant
    assert!(
        text.contains("all 47 gradients") && text.contains("all 52 gradients"),
        "{text}"
    );
}

/// The final row of a start in the report's table: dates exact, summaries exact,
/// ROUGE-L, held-out loss.
fn final_row(text: &str, start: &str) -> Vec<String> {
    let line = text
        .lines()
        .find(|l| l.starts_with(start) && !l.contains('|'))
        .unwrap_or_else(|| panic!("no row {start:?} in\n{text}"));
    line[start.len()..]
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The by-step table: (step, [scratch dates, summaries, loss, pretrained dates, summaries, loss]).
fn curve(text: &str) -> Vec<(usize, Vec<f64>)> {
    let at = text
        .find("held-out exact match (dates")
        .expect("the curve table");
    text[at..]
        .lines()
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split_whitespace();
            let step = it.next().unwrap().parse().unwrap();
            (step, it.map(|x| x.parse().unwrap()).collect())
        })
        .collect()
}

#[test]
fn the_experiment_is_as_the_page_says() {
    let text = figure("t5-experiment.txt");
    // "198,656 parameters", "after 800 steps"
    assert!(text.contains("198656 parameters"), "{text}");
    assert!(
        text.contains("fine-tuning: 800 steps of 16 examples"),
        "{text}"
    );
    // "fell from 6.706 to 3.641 nats"
    assert!(
        text.contains("held out 6.706 before, 3.641 after"),
        "{text}"
    );
    // "0.63 ... against 0.21; 0.73 against 0.65 exact and a ROUGE-L of 0.955 against 0.940"
    assert_eq!(
        final_row(&text, "from scratch, 0.003"),
        ["0.63", "0.73", "0.955", "0.069"]
    );
    assert_eq!(
        final_row(&text, "pretrained, 0.003"),
        ["0.21", "0.65", "0.940", "0.160"]
    );
    // "0.35 against 0.06 of the dates exactly right, 0.64 against 0.29 of the summaries
    // (ROUGE-L 0.940 against 0.856)" at peak lr 0.001
    assert_eq!(
        final_row(&text, "from scratch, 0.001"),
        ["0.35", "0.64", "0.940", "0.237"]
    );
    assert_eq!(
        final_row(&text, "pretrained, 0.001"),
        ["0.06", "0.29", "0.856", "0.334"]
    );
    // "a hundred and forty thousand tokens"
    assert!(text.contains("50 training pages (142358 tokens)"), "{text}");
    // "10.352 against 6.759", "ahead after 100 steps (1.286 against 1.329) and behind at
    // every evaluation after that"
    let c = curve(&text);
    assert_eq!(c.len(), 9, "steps 0, 100, ..., 800");
    assert_eq!((c[0].1[2], c[0].1[5]), (6.759, 10.352));
    assert_eq!((c[1].0, c[1].1[2], c[1].1[5]), (100, 1.329, 1.286));
    for (step, row) in &c[2..] {
        assert!(
            row[5] > row[2],
            "step {step}: pretrained loss {} vs {}",
            row[5],
            row[2]
        );
    }
    // "an answer of `1998-11-26` for the twenty eighth of november nineteen ninety six"
    assert!(
        text.contains(
            "the twenty eighth of november nineteen ninety six\n  1996-11-28 | 1998-11-26"
        ),
        "{text}"
    );
}

/// The sentences of transcription.md's "Speed" about src/figures/ch10/whisper-speed.txt
/// (written by tools/golden/bench_ch10.py).
#[test]
fn whisper_speed_says_what_the_text_says() {
    use golden::{cell as num, measured_rows};
    let rows = measured_rows("ch10/whisper-speed.txt");
    // "the time over the 13.43 s of speech"
    assert!(figure("whisper-speed.txt").contains("(13.43 s of speech)"));
    // threads | side | time ms | real-time factor | encoder ms | same ids as ours
    let main: Vec<_> = rows.iter().filter(|r| r.len() == 6).collect();
    assert_eq!(main.len(), 8, "four sides at 1 and 2 threads");
    let get = |threads: f64, side: &str| {
        main.iter()
            .find(|r| num(&r[0]) == threads && r[1] == side)
            .unwrap_or_else(|| panic!("no row for {side} at {threads}"))
    };
    let sides = [
        "ours",
        "faster-whisper fp32",
        "faster-whisper int8",
        "openai-whisper",
    ];
    // ratios: their time / ours, threads | fp32 | int8 | openai
    let four: Vec<_> = rows.iter().filter(|r| r.len() == 4).collect();
    assert_eq!(four.len(), 4, "two speed-up rows, then two log-mel rows");
    for (i, threads) in [1.0, 2.0].into_iter().enumerate() {
        let ours = num(&get(threads, "ours")[2]);
        let ratio = &four[i];
        assert_eq!(num(&ratio[0]), threads);
        for (j, side) in sides[1..].iter().enumerate() {
            let theirs = num(&get(threads, side)[2]);
            assert!((num(&ratio[j + 1]) - theirs / ours).abs() < 0.01, "{side}");
        }
        // "the fp32 sides give our ids on all four clips; int8 on two of them"
        for side in sides {
            let want = if side.ends_with("int8") {
                "2 of 4"
            } else {
                "4 of 4"
            };
            assert_eq!(get(threads, side)[5], want, "{side} at {threads}");
        }
        // "int8 is the fastest at both thread counts"
        let int8 = num(&get(threads, "faster-whisper int8")[2]);
        assert!(sides.iter().all(|s| num(&get(threads, s)[2]) >= int8));
        // "the encoder is most of the time on every side"
        for side in sides {
            let r = get(threads, side);
            assert!(num(&r[4]) > 0.5 * num(&r[2]), "{r:?}");
        }
    }
    let r = |i: usize, j: usize| num(&four[i][j]);
    // "on two threads 1.18 times openai-whisper's speed and 1.09 times faster-whisper's,
    // on one thread 1.07 and 1.05": the fastest float32 side at both thread counts
    assert_eq!((r(1, 3), r(1, 1)), (1.18, 1.09));
    assert_eq!((r(0, 3), r(0, 1)), (1.07, 1.05));
    // "openai-whisper has the fastest fp32 encoder on one thread, and the slowest rest"
    let (o, f, t) = (
        get(1.0, "ours"),
        get(1.0, "faster-whisper fp32"),
        get(1.0, "openai-whisper"),
    );
    assert!(num(&t[4]) < num(&f[4]) && num(&t[4]) < num(&o[4]));
    let rest = |r: &Vec<String>| num(&r[2]) - num(&r[4]);
    assert!(rest(t) > rest(o) && rest(t) > rest(f));
    // log-mel: threads | ours ms | openai-whisper ms | speed-up. "On one thread the
    // book's is as fast as torch.stft's (1.03); on two it is slower (0.50) ... a second
    // thread does not help it"
    for row in &four[2..] {
        let (ours, torch, up) = (num(&row[1]), num(&row[2]), num(&row[3]));
        assert!((up - torch / ours).abs() < 0.01, "{row:?}");
    }
    assert_eq!((num(&four[2][3]), num(&four[3][3])), (1.03, 0.50));
    assert!((num(&four[3][1]) / num(&four[2][1]) - 1.0).abs() < 0.1);
}
