//! WordPiece behaviour: vocab.txt errors, greedy longest-match, encoding, training.

use ch02_input::wordpiece::exercises::{Rule, first_merges_by_rule};
use ch02_input::wordpiece::{
    MAX_INPUT_CHARS_PER_WORD, Vocab, WordPiece, WordPieceError, report, train,
    train_and_measure,
};

const SPECIALS: &str = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";

fn toy() -> WordPiece {
    let text =
        format!("{SPECIALS}un\n##aff\n##able\n##a\n##ff\n##b\n##le\na\nb\n,\nhello\n");
    WordPiece::new(Vocab::parse("toy.txt", text.as_bytes()).expect("toy vocab"))
}

fn tokens(wp: &WordPiece, text: &str) -> String {
    wp.tokens(&wp.encode(text)).expect("in vocab").join(" ")
}

#[test]
fn longest_match_first_and_unk_for_whole_words() {
    let wp = toy();
    assert_eq!(tokens(&wp, "unaffable"), "[CLS] un ##aff ##able [SEP]");
    // No piece for "x": the whole word is [UNK], not "un [UNK]".
    assert_eq!(tokens(&wp, "unx, Hello"), "[CLS] [UNK] , hello [SEP]");
    assert_eq!(tokens(&wp, ""), "[CLS] [SEP]");
    assert_eq!(tokens(&wp, " \t\r\n "), "[CLS] [SEP]");
}

#[test]
fn the_length_limit_counts_characters_not_bytes() {
    let wp = toy();
    let n = MAX_INPUT_CHARS_PER_WORD;
    // "ab" repeated: every word is encodable, so only the length decides.
    let word = |chars: usize| "a".to_owned() + &"b".repeat(chars - 1);
    assert_eq!(wp.encode_words(&word(n)).len(), n);
    assert_eq!(wp.encode_words(&word(n + 1)), [wp.vocab.special().unk]);
    // The limit applies after normalisation: stripped accents do not count.
    let accented = "a".to_owned() + &"\u{0301}b".repeat(n - 1);
    assert_eq!(wp.encode_words(&accented).len(), n);
}

fn err(text: &str) -> String {
    Vocab::parse("v.txt", text.as_bytes())
        .expect_err("should fail")
        .to_string()
}

#[test]
fn malformed_vocab_files_name_the_line() {
    assert_eq!(
        err(&format!("{SPECIALS}a\nb\na\n")),
        "v.txt: line 8: token \"a\" already on line 6"
    );
    assert_eq!(
        err(&format!("{SPECIALS}a\n\nb\n")),
        "v.txt: line 7: empty token (a vocab.txt has one token a line)"
    );
    assert!(err(&format!("{SPECIALS}a b\n")).starts_with("v.txt: line 6: token \"a b\""));
    assert_eq!(
        err("[PAD]\n[UNK]\n[CLS]\n[SEP]\n"),
        "v.txt: special token [MASK] is missing from the vocabulary"
    );
    let mut bytes = SPECIALS.as_bytes().to_vec();
    bytes.extend(b"ok\n\xff\xfe\n");
    let e = Vocab::parse("v.txt", &bytes).expect_err("invalid UTF-8");
    assert_eq!(e.to_string(), "v.txt: line 7: not valid UTF-8");
    let e = Vocab::load("/nonexistent/vocab.txt").expect_err("missing file");
    assert!(
        e.to_string()
            .starts_with("/nonexistent/vocab.txt: cannot read vocabulary")
    );
}

#[test]
fn crlf_vocab_files_load_like_lf_ones() {
    let crlf = SPECIALS.replace('\n', "\r\n") + "a\r\n##b\r\n";
    let v = Vocab::parse("crlf.txt", crlf.as_bytes()).expect("CRLF vocab");
    assert_eq!((v.len(), v.id("##b")), (7, Some(6)));
}

#[test]
fn decode_rejects_ids_outside_the_vocabulary() {
    let wp = toy();
    let len = wp.vocab.len() as u32;
    assert!(matches!(
        wp.decode(&[len]),
        Err(WordPieceError::IdOutOfRange { .. })
    ));
}

#[test]
fn trained_vocab_round_trips_through_vocab_txt_and_encodes_without_unk() {
    let corpus = report::book_corpus();
    let trained = train(&corpus, 600).expect("trains");
    assert_eq!(trained.tokens.len(), 600);
    let text = trained.vocab_text();
    let vocab = Vocab::parse("trained.txt", text.as_bytes()).expect("loads");
    assert_eq!(vocab.tokens(), trained.tokens.as_slice());
    let wp = WordPiece::new(vocab);
    let ids = wp.encode_words(&corpus);
    assert!(
        !ids.contains(&wp.vocab.special().unk),
        "a word of the corpus became [UNK]"
    );
    // Deterministic: the same corpus gives the same vocabulary.
    assert_eq!(train(&corpus, 600).expect("trains").tokens, trained.tokens);
}

#[test]
fn incremental_training_matches_recounting_from_scratch() {
    let corpus = report::book_corpus();
    let trained = train(&corpus, 5 + 138 + 60).expect("trains");
    let fast: Vec<&str> = trained.merges.iter().map(|m| m.merged.as_str()).collect();
    let slow = first_merges_by_rule(&corpus, Rule::Score, fast.len());
    assert_eq!(trained.alphabet, 138);
    assert_eq!(fast, slow);
}

#[test]
fn merge_scores_come_from_the_counts() {
    let trained = train("hug hug hug pug pun bun hugs", 30).expect("trains");
    let first = &trained.merges[0];
    let s = first.score();
    assert_eq!(
        s,
        first.pair_count as f64 / (first.left_count * first.right_count) as f64
    );
    // Merges never cross words and keep the ## marker of their left part.
    for m in &trained.merges {
        assert_eq!(m.merged.starts_with("##"), m.left.starts_with("##"));
    }
}

#[test]
fn too_small_a_vocab_is_an_error_that_says_how_small() {
    let e = train("abc", 5).expect_err("below the alphabet");
    assert_eq!(
        e.to_string(),
        "vocab size 5 is below the 11 special and alphabet tokens"
    );
}

#[test]
fn usage_counts_the_corpus() {
    let corpus = report::book_corpus();
    let u = train_and_measure(&corpus, 1000).expect("trains");
    assert_eq!(u.bytes, corpus.len());
    assert!(u.used <= u.vocab_size && u.tokens > 0 && u.unk == 0);
    let bigger = train_and_measure(&corpus, 2000).expect("trains");
    assert!(
        bigger.tokens < u.tokens,
        "a bigger vocabulary needs fewer tokens"
    );
}
