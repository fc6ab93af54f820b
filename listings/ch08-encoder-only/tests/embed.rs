//! The `embed` example's core: one output line of C floats per input line, invalid
//! UTF-8 named by its line. The tiny model needs no cache; the last test runs the real
//! model and needs `cargo xtask models`.

mod common;

use ch08_encoder_only::SentenceEncoder;
use ch08_encoder_only::embed::embed_lines;
use common::{minilm, write_tiny_model};

fn tiny() -> (tempfile::TempDir, SentenceEncoder) {
    let tmp = tempfile::tempdir().unwrap();
    write_tiny_model(tmp.path(), |_, _| {});
    let enc = SentenceEncoder::load(tmp.path()).unwrap();
    (tmp, enc)
}

fn parse(out: &[u8]) -> Vec<Vec<f32>> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| l.split(' ').map(|x| x.parse().unwrap()).collect())
        .collect()
}

#[test]
fn one_line_of_floats_per_input_line_in_any_batch_size() {
    let (_tmp, mut enc) = tiny();
    let input = "hello world\n\nthe cat sat\r\nno newline at the end";
    let mut first = Vec::new();
    for batch in [1, 2, 32] {
        let mut out = Vec::new();
        let n =
            embed_lines(&mut enc, input.as_bytes(), &mut out, "stdin", batch).unwrap();
        assert_eq!(n, 4);
        let rows = parse(&out);
        assert_eq!(
            rows.len(),
            4,
            "one output line per input line, the empty one included"
        );
        assert!(rows.iter().all(|r| r.len() == 16));
        if first.is_empty() {
            first = rows;
        } else {
            for (a, b) in first.iter().zip(&rows) {
                let err = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f32::max);
                assert!(err < 1e-6, "batch {batch} changed a vector by {err}");
            }
        }
    }
    // "\r\n" is a line end, as `str::lines` has it.
    let alone = enc.embed(&["the cat sat"]);
    let got = &first[2];
    assert!(
        alone
            .row(0)
            .iter()
            .zip(got)
            .all(|(a, b)| (a - b).abs() < 1e-6)
    );
}

#[test]
fn floats_carry_nine_significant_digits_and_round_trip() {
    let (_tmp, mut enc) = tiny();
    let mut out = Vec::new();
    embed_lines(&mut enc, "hello\n".as_bytes(), &mut out, "stdin", 8).unwrap();
    let text = String::from_utf8(out).unwrap();
    let first = text.split(' ').next().unwrap();
    let mantissa = first.trim_start_matches('-').split('e').next().unwrap();
    assert_eq!(mantissa.replace('.', "").len(), 9, "{first}");
    let exact = enc.embed(&["hello"]);
    let parsed: Vec<f32> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(
        parsed,
        exact.row(0).to_vec(),
        "the text gives back the exact f32s"
    );
}

#[test]
fn empty_input_gives_empty_output() {
    let (_tmp, mut enc) = tiny();
    let mut out = Vec::new();
    assert_eq!(
        embed_lines(&mut enc, &b""[..], &mut out, "stdin", 32).unwrap(),
        0
    );
    assert!(out.is_empty());
}

#[test]
fn invalid_utf8_is_an_error_naming_the_line() {
    let (_tmp, mut enc) = tiny();
    let mut out = Vec::new();
    let input = b"hello\nthe \xff cat\nworld\n";
    let err = embed_lines(&mut enc, &input[..], &mut out, "stdin", 32).unwrap_err();
    insta::assert_snapshot!("invalid-utf8", err.to_string());
}

#[test]
fn real_minilm_lines_match_its_embed() {
    let mut enc = minilm().lock().unwrap();
    let mut out = Vec::new();
    let input = "A sentence.\n\nAnother one, a little longer than the first.\n";
    embed_lines(&mut enc, input.as_bytes(), &mut out, "stdin", 2).unwrap();
    let rows = parse(&out);
    assert_eq!((rows.len(), rows[0].len()), (3, 384));
    let want = enc.embed(&[
        "A sentence.",
        "",
        "Another one, a little longer than the first.",
    ]);
    for (got, want) in rows.iter().zip(want.rows()) {
        let err = got
            .iter()
            .zip(want)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(err < 1e-6, "{err}");
    }
}
