//! The BPE exercises' solutions do what the exercises ask.

use ch02_input::bpe::exercises::{CachedEncoder, merge_trace};
use ch02_input::bpe::{pretokenize, report};

#[test]
fn merge_trace_starts_at_bytes_and_ends_at_the_encoding() {
    let (_, bpe) = report::book_tokenizer();
    for piece in [
        &b" softmax"[..],
        b" gradients",
        b"\xf0\x9f\x91\xa8",
        b" xyzzy",
    ] {
        let trace = merge_trace(&bpe, piece);
        assert_eq!(trace[0].len(), piece.len(), "starts from single bytes");
        for step in trace.windows(2) {
            assert_eq!(step[1].len() + 1, step[0].len(), "one merge a step");
            assert_eq!(step[1].concat(), piece);
        }
        let last: Vec<u32> = trace
            .last()
            .unwrap()
            .iter()
            .map(|t| bpe.rank(t).unwrap())
            .collect();
        assert_eq!(last, bpe.encode_ordinary(piece));
    }
}

#[test]
fn cached_encoder_gives_the_same_ids_and_caches_each_word_once() {
    let (_, bpe) = report::book_tokenizer();
    let mut cached = CachedEncoder::new(&bpe);
    assert_eq!(
        cached.encode(report::CORPUS),
        bpe.encode_ordinary(report::CORPUS)
    );
    let distinct: std::collections::HashSet<&[u8]> =
        pretokenize(report::CORPUS).collect();
    assert_eq!(cached.len(), distinct.len());
    assert_eq!(
        cached.encode(b"the the the"),
        bpe.encode_ordinary("the the the")
    );
}
