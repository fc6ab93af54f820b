//! Whisper's vocabulary read into Chapter 2's byte-level BPE: the same tokens, at the
//! same ids, as Hugging Face's `tokenizer.json`, and the same as GPT-2's ranks; ids to
//! text drop the special tokens.

mod common;

use ch02_input::bpe::gpt2::gpt2_from_file;
use ch10_encoder_decoder::transcribe::{self, EOT, NO_TIMESTAMPS, SOT};

#[test]
fn the_vocabulary_matches_tokenizer_json() {
    let dir = common::whisper_dir();
    let bpe = transcribe::read_vocabulary(&dir.join("vocabulary.txt")).unwrap();
    let text = std::fs::read_to_string(dir.join("tokenizer.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vocab = json["model"]["vocab"].as_object().unwrap();
    let added = json["added_tokens"].as_array().unwrap();
    // 50,257 BPE tokens (ids 0 to 50,256, <|endoftext|> last) and 107 added ones.
    assert_eq!((vocab.len(), added.len()), (50257, 107));
    // vocabulary.txt has all 51,864 ids: the added ones and the 1,501 time tokens
    // (<|0.00|> to <|30.00|>), which tokenizer.json leaves out.
    let lines = std::fs::read_to_string(dir.join("vocabulary.txt")).unwrap();
    assert_eq!(lines.lines().count(), 51864);
    assert_eq!(lines.lines().nth(50363), Some("<|0.00|>"));
    assert_eq!(lines.lines().last(), Some("<|30.00|>"));
    assert_eq!(
        bpe.n_tokens(),
        50256,
        "ordinary tokens; the rest are special"
    );
    // Every BPE token decodes to the bytes its spelling stands for.
    let alphabet = ch09_decoder_only::tokenizer::byte_alphabet();
    for (spelled, id) in vocab {
        let id = id.as_u64().unwrap() as u32;
        let bytes = bpe.decode(&[id]).unwrap();
        let respelled: String = bytes.iter().map(|&b| alphabet[b as usize]).collect();
        assert_eq!(&respelled, spelled, "id {id}");
    }
    for t in added {
        let id = t["id"].as_u64().unwrap() as u32;
        let content = t["content"].as_str().unwrap();
        assert_eq!(bpe.decode(&[id]).unwrap(), content.as_bytes(), "id {id}");
        assert_eq!(bpe.special(content), Some(id));
    }
    assert_eq!(bpe.special("<|startoftranscript|>"), Some(SOT));
    assert_eq!(bpe.special("<|notimestamps|>"), Some(NO_TIMESTAMPS));
    assert_eq!(bpe.special("<|endoftext|>"), Some(EOT));
}

#[test]
fn the_text_tokens_are_gpt2s() {
    let dir = common::whisper_dir();
    let bpe = transcribe::read_vocabulary(&dir.join("vocabulary.txt")).unwrap();
    let gpt2_path = models::OPENAI_WHISPER_ASSETS
        .dir()
        .unwrap_or_else(|e| panic!("{e}"))
        .join("gpt2.tiktoken");
    let gpt2 = gpt2_from_file(&gpt2_path).unwrap();
    let ours: Vec<_> = bpe.ranks().into_iter().filter(|(_, r)| *r < EOT).collect();
    assert_eq!(
        ours,
        gpt2.ranks()
            .into_iter()
            .filter(|(_, r)| *r < EOT)
            .collect::<Vec<_>>()
    );
    // Encoding with either gives the same ids, and decoding returns the text.
    let s = " The quick brown fox jumps over the lazy dog.";
    let ids = bpe.encode_ordinary(s);
    assert_eq!(ids, gpt2.encode_ordinary(s));
    assert_eq!(
        transcribe::text(
            &bpe,
            &[SOT, NO_TIMESTAMPS]
                .iter()
                .copied()
                .chain(ids.clone())
                .chain([EOT])
                .collect::<Vec<_>>()
        )
        .unwrap(),
        s
    );
}

#[test]
fn a_bad_vocabulary_is_an_error() {
    let dir = std::env::temp_dir().join(format!("whisper-vocab-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("vocabulary.txt");
    std::fs::write(&path, "a\nb\n").unwrap();
    let e = transcribe::read_vocabulary(&path).unwrap_err().to_string();
    assert!(e.contains("no token for byte 0x00"), "{e}");
    std::fs::write(&path, "a\n\u{4e00}\n").unwrap();
    let e = transcribe::read_vocabulary(&path).unwrap_err().to_string();
    assert!(
        e.ends_with("token 1 \"\u{4e00}\" is not in the byte alphabet"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
