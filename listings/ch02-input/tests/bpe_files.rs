//! User data that is wrong must give an error naming where and what, never a panic:
//! rank files, id lines, vocabulary sizes, specials.

use ch02_input::bpe::lines::{decode_lines, encode_lines};
use ch02_input::bpe::ranks::{format_tiktoken, parse_tiktoken};
use ch02_input::bpe::reference::train_naive;
use ch02_input::bpe::{Bpe, BpeError, ENDOFTEXT, report, train};

fn bytes_only() -> String {
    let ranks: Vec<(Vec<u8>, u32)> = (0..=255u8).map(|b| (vec![b], b as u32)).collect();
    format_tiktoken(&ranks)
}

fn parse_err(text: &str) -> String {
    parse_tiktoken(text.as_bytes(), "r.tiktoken")
        .expect_err("malformed")
        .to_string()
}

#[test]
fn malformed_rank_lines_are_errors_naming_the_line() {
    let good = bytes_only();
    let cases = [
        ("aGk= 256\n!!! 257\n", "r.tiktoken:258: bad base64"),
        ("aGk=\n", "r.tiktoken:257: expected 2 fields"),
        ("aGk= 256 7\n", "r.tiktoken:257: expected 2 fields"),
        ("aGk= x\n", "r.tiktoken:257: rank \"x\" is not an integer"),
        ("aGk= 255\n", "r.tiktoken:257: duplicate rank 255"),
        (
            "aGk= 256\naGk= 257\n",
            "r.tiktoken:258: duplicate token \"hi\"",
        ),
    ];
    for (extra, want) in cases {
        let got = parse_err(&format!("{good}{extra}"));
        assert!(
            got.starts_with(want),
            "{extra:?}: got {got:?}, want {want:?}"
        );
    }
    let mut bad = good.into_bytes();
    bad.extend_from_slice(b"aGk= 25\xff6\n");
    let got = parse_tiktoken(&bad, "r.tiktoken")
        .expect_err("not UTF-8")
        .to_string();
    assert!(got.starts_with("r.tiktoken:257: not UTF-8"), "{got}");
}

#[test]
fn rank_files_round_trip_and_allow_gaps_and_blank_lines() {
    let text = format!("{}\naGk= 300\n", bytes_only());
    let ranks =
        parse_tiktoken(text.as_bytes(), "r").expect("a gap and a blank line are fine");
    assert_eq!(ranks.len(), 257);
    let bpe = Bpe::new(ranks.clone(), &[]).expect("usable");
    assert_eq!(bpe.encode_ordinary("hi hi"), vec![300, 32, 300]);
    assert_eq!(
        parse_tiktoken(format_tiktoken(&ranks).as_bytes(), "r").unwrap(),
        ranks
    );
}

#[test]
fn unusable_tables_are_errors() {
    let mut ranks: Vec<(Vec<u8>, u32)> =
        (0..=255u8).map(|b| (vec![b], b as u32)).collect();
    ranks.retain(|(t, _)| t[0] != b'q');
    let e = Bpe::new(ranks.clone(), &[])
        .expect_err("a byte is missing")
        .to_string();
    assert!(e.contains("no token for byte 0x71"), "{e}");
    ranks.push((b"q".to_vec(), 5));
    let e = Bpe::new(ranks.clone(), &[])
        .expect_err("rank 5 twice")
        .to_string();
    assert!(e.contains("rank 5"), "{e}");
    ranks.pop();
    ranks.push((b"q".to_vec(), 256));
    let e = Bpe::new(ranks, &[(ENDOFTEXT, 256)])
        .expect_err("special id taken")
        .to_string();
    assert!(e.contains("id 256 is taken"), "{e}");
}

#[test]
fn vocab_below_256_is_an_error() {
    for v in [0, 255] {
        assert!(matches!(train(b"abc", v), Err(BpeError::VocabTooSmall(n)) if n == v));
        assert!(matches!(
            train_naive(b"abc", v),
            Err(BpeError::VocabTooSmall(_))
        ));
    }
    assert_eq!(train(b"abc", 256).unwrap().vocab.len(), 256);
}

#[test]
fn unknown_specials_and_ids_are_errors() {
    let (_, bpe) = report::book_tokenizer();
    assert!(bpe.encode("x", &["<|fim|>"]).is_err());
    assert!(matches!(
        bpe.decode(&[5, 1001]),
        Err(BpeError::UnknownId(1001))
    ));
    assert_eq!(bpe.decode(&[1000]).unwrap(), ENDOFTEXT.as_bytes());
}

#[test]
fn specials_split_only_when_allowed() {
    let (_, bpe) = report::book_tokenizer();
    let text = format!("a{ENDOFTEXT}b{ENDOFTEXT}");
    assert!(!bpe.encode_ordinary(&text).contains(&1000));
    assert!(!bpe.encode(&text, &[]).unwrap().contains(&1000));
    let ids = bpe.encode(&text, &[ENDOFTEXT]).unwrap();
    assert_eq!(ids.iter().filter(|&&i| i == 1000).count(), 2);
    assert_eq!(bpe.decode(&ids).unwrap(), text.as_bytes());
}

#[test]
fn line_protocol_round_trips_bytes_and_keeps_empty_lines() {
    let (_, bpe) = report::book_tokenizer();
    let input = b"hello world\n\n\xff\xfe caf\xc3\xa9\n  \n";
    let ids = encode_lines(&bpe, input);
    assert_eq!(ids.lines().count(), 4);
    assert_eq!(ids.lines().nth(1), Some(""));
    assert_eq!(decode_lines(&bpe, ids.as_bytes(), "ids").unwrap(), input);
    assert_eq!(encode_lines(&bpe, b""), "");
}

#[test]
fn bad_id_lines_name_the_line_and_the_id() {
    let (_, bpe) = report::book_tokenizer();
    let e = decode_lines(&bpe, b"1 2\n3 99999\n", "ids.txt")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "ids.txt:2: unknown token id 99999");
    let e = decode_lines(&bpe, b"1 x2\n", "ids.txt")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "ids.txt:1: \"x2\" is not a token id");
}

#[test]
fn gpt2_ranks_must_be_contiguous_and_complete() {
    use ch02_input::bpe::gpt2::{check_contiguous, gpt2_from_file};
    let parse = |text: &str| parse_tiktoken(text.as_bytes(), "r").expect("well-formed");
    let gap = parse(&format!("{}aGk= 300\n", bytes_only()));
    let err = check_contiguous(&gap, "r").expect_err("a gap").to_string();
    assert_eq!(
        err,
        "r: token number 257 has rank 300, but 257 tokens need ranks 0..257: \
         the ranks are not contiguous"
    );
    // Only a slice with a repeated rank (no rank file has one) can miss a rank below n.
    let mut missing = parse(&bytes_only());
    missing.retain(|(_, r)| *r != 7);
    missing.push((b"ok".to_vec(), 8));
    let err = check_contiguous(&missing, "r").expect_err("rank 7 missing");
    assert_eq!(
        err.to_string(),
        "r: no token has rank 7: the ranks are not contiguous"
    );
    assert!(check_contiguous(&parse(&bytes_only()), "r").is_ok());

    let dir = std::env::temp_dir().join(format!("ch02-gpt2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("small.tiktoken");
    std::fs::write(&file, bytes_only()).unwrap();
    let err = gpt2_from_file(&file)
        .expect_err("too few ranks")
        .to_string();
    assert!(err.ends_with(": 256 ranks, GPT-2 has 50256"), "{err}");
    let err = gpt2_from_file(&dir.join("absent"))
        .expect_err("no file")
        .to_string();
    assert!(err.contains("absent"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
