//! The reader never panics: arbitrary bytes, and mutated copies of valid files (one built
//! here, one written by gguf.GGUFWriter), give `Ok` or `Err`, never a panic, and every
//! tensor of a file that parses dequantizes or reports an error; the Llama config, the
//! tensor check, the model loader and the tokenizer read whatever parses without panics.

mod common;

use ch09_decoder_only::config::LlamaConfig;
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use proptest::prelude::*;

/// Parse, then touch everything a caller would: metadata lookups and every tensor.
fn exercise(bytes: Vec<u8>) {
    if let Ok(g) = Gguf::parse(bytes) {
        let _ = ch09_decoder_only::gguf::summary(&g);
        for (key, _) in &g.metadata {
            let _ = (g.uint(key), g.float(key), g.str(key), g.str_array(key));
        }
        if let Ok(cfg) = LlamaConfig::from_gguf(&g)
            && cfg.check_tensors(&g).is_ok()
        {
            let _ = Llama::from_gguf(&g);
        }
        let _ = GgufTokenizer::from_gguf(&g);
        for t in &g.tensors {
            if let Ok(x) = g.dequantize(&t.name) {
                assert_eq!(x.len() as u64, t.n_elements());
            }
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000)
}

fn seeds() -> Vec<Vec<u8>> {
    let tiny = std::fs::read(common::golden_dir().join("tiny.gguf")).unwrap();
    vec![common::small_file(), tiny, common::tiny_llama_file()]
}

#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Cut(usize),
    Insert(usize, Vec<u8>),
    /// An 8-byte little-endian field overwritten with a chosen number.
    Word(usize, u64),
}

fn edit() -> impl Strategy<Value = Edit> {
    let big = prop_oneof![
        Just(0u64),
        Just(1),
        Just(31),
        Just(32),
        Just(u64::MAX),
        any::<u64>(),
        0..4096u64
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        any::<usize>().prop_map(Edit::Cut),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(i, v)| Edit::Insert(i, v)),
        (any::<usize>(), big).prop_map(|(i, w)| Edit::Word(i, w)),
    ]
}

fn apply(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = b.len().max(1);
        match e {
            Edit::Set(i, v) => {
                if let Some(x) = b.get_mut(i % n) {
                    *x = *v;
                }
            }
            Edit::Cut(i) => b.truncate(i % n),
            Edit::Insert(i, v) => {
                let at = (i % n).min(b.len());
                b.splice(at..at, v.iter().copied());
            }
            Edit::Word(i, w) => {
                let at = i % n;
                if at + 8 <= b.len() {
                    b[at..at + 8].copy_from_slice(&w.to_le_bytes());
                }
            }
        }
    }
    b
}

proptest! {
    // 4000 cases a test by default; PROPTEST_CASES=1000000 runs a long fuzz.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(
        rest in proptest::collection::vec(any::<u8>(), 0..512),
        n_tensors in 0u64..4,
        n_kv in 0u64..4,
    ) {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(n_tensors.to_le_bytes());
        b.extend(n_kv.to_le_bytes());
        b.extend(rest);
        exercise(b);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        seed in 0usize..3,
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        exercise(apply(seeds()[seed].clone(), &edits));
    }
}
