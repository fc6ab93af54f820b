//! Every kind of bad file is an error that names what is wrong, never a panic.

mod common;

use ch09_decoder_only::gguf::{Gguf, GgufError};
use common::{T, build, kv, small_file, string};

fn err(bytes: Vec<u8>) -> String {
    Gguf::parse(bytes).unwrap_err().to_string()
}

#[test]
fn the_small_file_parses() {
    let g = Gguf::parse(small_file()).unwrap();
    assert_eq!(g.str("general.architecture").unwrap(), "llama");
    assert_eq!(g.str_array("tokenizer.ggml.tokens").unwrap(), ["Ġa", "b c"]);
    assert_eq!(
        g.dequantize("norm").unwrap().as_slice().unwrap(),
        [1.0, -2.0, 0.5, 3.0]
    );
    let half = g.dequantize("half").unwrap();
    assert_eq!(half.shape(), [2, 2]);
    assert_eq!(
        half.as_slice().unwrap(),
        [1.0, -2.0, 2f32.powi(-24), f32::INFINITY]
    );
    let q4 = g.dequantize("q4").unwrap();
    assert_eq!(q4.shape(), [1, 32]);
    // d = 1, m = -1; byte 1 is 29 = 0x1d: element 1 is 13 - 1, element 17 is 1 - 1.
    assert_eq!((q4[[0, 1]], q4[[0, 17]]), (12.0, 0.0));
    assert_eq!(g.dequantize("q8").unwrap()[[1]], 37.0 * 0.5);
}

#[test]
fn truncation_anywhere_is_an_error() {
    let bytes = small_file();
    let g = Gguf::parse(bytes.clone()).unwrap();
    let last = g
        .tensors
        .iter()
        .map(|t| t.offset + t.n_bytes)
        .max()
        .unwrap();
    let end = (g.data_offset + last) as usize;
    // Padding after the last tensor may go; one byte less of data may not.
    assert!(Gguf::parse(bytes[..end].to_vec()).is_ok());
    for cut in 0..end {
        // Cutting inside the data section is caught by the layout check.
        let e = Gguf::parse(bytes[..cut].to_vec()).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, GgufError::Truncated { .. } | GgufError::BadTensor { .. }),
            "cut at {cut}: {text}"
        );
    }
}

#[test]
fn bad_magic_and_version() {
    let mut b = small_file();
    b[0] = b'X';
    assert_eq!(
        err(b),
        "bad magic 58 47 55 46 (\"XGUF\"): a GGUF file starts with \"GGUF\" (47 47 55 46)"
    );
    let mut b = small_file();
    b[4] = 2;
    assert_eq!(
        err(b),
        "unsupported GGUF version 2: this reader reads version 3"
    );
}

#[test]
fn unknown_types_name_the_key_or_tensor() {
    let b = build(&[kv("some.key", 13, &[])], &[], 32);
    assert_eq!(
        err(b),
        "key some.key: unknown value type 13 (GGUF's are 0 to 12)"
    );
    let b = build(
        &[],
        &[T {
            name: "w",
            dims: &[32],
            ty: 4,
            data: vec![0; 18],
        }],
        32,
    );
    assert_eq!(err(b), "tensor w: unknown ggml type 4");
}

#[test]
fn bad_strings_and_bools_name_the_key() {
    let mut bad = 2u64.to_le_bytes().to_vec();
    bad.extend([0xff, 0xfe]);
    let b = build(&[kv("general.name", 8, &bad)], &[], 32);
    assert_eq!(err(b), "key general.name: the string is not valid UTF-8");
    let b = build(&[kv("flag", 7, &[2])], &[], 32);
    assert_eq!(err(b), "key flag: a bool is 0 or 1, not 2");
    let b = build(&[kv("a", 4, &[0; 4]), kv("a", 4, &[0; 4])], &[], 32);
    assert_eq!(err(b), "key a: appears twice");
}

#[test]
fn huge_counts_are_errors_before_any_allocation() {
    let mut arr = 0u32.to_le_bytes().to_vec();
    arr.extend(u64::MAX.to_le_bytes());
    let e = err(build(&[kv("big", 9, &arr)], &[], 32));
    assert!(
        e.starts_with("truncated file: key big (18446744073709551615 items)"),
        "{e}"
    );
    let mut b = small_file();
    b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(err(b).starts_with("truncated file: the tensor table"));
}

#[test]
fn deep_nesting_is_an_error() {
    let mut v = Vec::new();
    for _ in 0..20 {
        v.extend(9u32.to_le_bytes());
        v.extend(1u64.to_le_bytes());
    }
    let e = err(build(&[kv("deep", 9, &v)], &[], 32));
    assert_eq!(e, "key deep: arrays nested too deeply");
}

#[test]
fn alignment_must_be_a_power_of_two() {
    let b = build(&[kv("general.alignment", 4, &24u32.to_le_bytes())], &[], 32);
    assert!(err(b).starts_with("key general.alignment: expected a u32 power of two"));
}

#[test]
fn offsets_and_sizes_are_checked_against_the_file() {
    let f32s = |n: usize| vec![0u8; 4 * n];
    // Shape says 64 floats, 32 are there.
    let mut b = build(
        &[],
        &[T {
            name: "w",
            dims: &[64],
            ty: 0,
            data: f32s(32),
        }],
        32,
    );
    let e = err(b.clone());
    assert!(e.starts_with("tensor w: 256 bytes at offset 0"), "{e}");
    assert!(e.contains("run past the end of the file"), "{e}");
    // A misaligned offset: patch the offset field (the last 8 bytes of the info).
    let info_end = 24 + 8 + 1 + 4 + 8 + 4 + 8;
    b[info_end - 8..info_end].copy_from_slice(&4u64.to_le_bytes());
    assert_eq!(err(b), "tensor w: offset 4 is not a multiple of 32");
    // A Q4_1 row that is not whole blocks.
    let b = build(
        &[],
        &[T {
            name: "q",
            dims: &[48, 2],
            ty: 3,
            data: vec![0; 60],
        }],
        32,
    );
    assert_eq!(
        err(b),
        "tensor q: rows of 48 are not whole Q4_1 blocks of 32"
    );
    // Two tensors overlapping.
    let mut b = build(
        &[],
        &[
            T {
                name: "a",
                dims: &[16],
                ty: 0,
                data: f32s(16),
            },
            T {
                name: "b",
                dims: &[8],
                ty: 0,
                data: f32s(8),
            },
        ],
        32,
    );
    let second = 24 + (8 + 1 + 4 + 8 + 4 + 8) + (8 + 1 + 4 + 8 + 4 + 8);
    b[second - 8..second].copy_from_slice(&32u64.to_le_bytes());
    assert_eq!(err(b), "tensor a: its 64 bytes run into tensor b");
    // Too many dimensions; dims that overflow.
    let b = build(
        &[],
        &[T {
            name: "x",
            dims: &[1; 5],
            ty: 0,
            data: f32s(1),
        }],
        32,
    );
    assert_eq!(err(b), "tensor x: 5 dimensions, at most 4");
    let b = build(
        &[],
        &[T {
            name: "x",
            dims: &[1 << 40, 1 << 40],
            ty: 0,
            data: vec![],
        }],
        32,
    );
    assert!(err(b).starts_with("tensor x: dims [1099511627776, 1099511627776] overflow"));
}

#[test]
fn lookups_name_the_key_or_tensor() {
    let g = Gguf::parse(small_file()).unwrap();
    assert_eq!(
        g.uint("nope").unwrap_err().to_string(),
        "key nope: missing from the metadata"
    );
    assert_eq!(
        g.uint("general.architecture").unwrap_err().to_string(),
        "key general.architecture: expected a non-negative integer, found String"
    );
    assert_eq!(
        g.dequantize("w9").unwrap_err().to_string(),
        "tensor w9: no tensor of that name"
    );
    assert_eq!(
        g.dequantize_as("half", &[4]).unwrap_err().to_string(),
        "tensor half: shape [2, 2] in the file, expected [4] from the metadata"
    );
    let b = build(
        &[],
        &[T {
            name: "k",
            dims: &[256],
            ty: 12,
            data: vec![0; 144],
        }],
        32,
    );
    let g = Gguf::parse(b).unwrap();
    assert_eq!(
        g.dequantize("k").unwrap_err().to_string(),
        "tensor k: dequantizing Q4_K is not implemented (F32, F16, Q8_0 and Q4_1 are)"
    );
    let _ = string;
}

#[test]
fn a_missing_file_names_its_path() {
    let e = Gguf::open(std::path::Path::new("/nonexistent/x.gguf")).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/x.gguf: "), "{e}");
}

/// The messages the book shows, one broken file each.
#[test]
fn error_messages() {
    let f32s = |n: usize| vec![0u8; 4 * n];
    let mut bad_utf8 = 2u64.to_le_bytes().to_vec();
    bad_utf8.extend([0xff, 0xfe]);
    let small = small_file();
    let mut magic = small.clone();
    magic[..4].copy_from_slice(b"GGML");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("cut after 100 bytes", small[..100].to_vec()),
        ("wrong magic", magic),
        (
            "a string that is not UTF-8",
            build(&[kv("general.name", 8, &bad_utf8)], &[], 32),
        ),
        ("value type 13", build(&[kv("some.key", 13, &[])], &[], 32)),
        (
            "ggml type 4 (removed from ggml)",
            build(
                &[],
                &[T {
                    name: "w",
                    dims: &[32],
                    ty: 4,
                    data: vec![0; 18],
                }],
                32,
            ),
        ),
        (
            "64 floats in the shape, 32 in the file",
            build(
                &[],
                &[T {
                    name: "w",
                    dims: &[64],
                    ty: 0,
                    data: f32s(32),
                }],
                32,
            ),
        ),
        (
            "a Q4_1 row of 48",
            build(
                &[],
                &[T {
                    name: "q",
                    dims: &[48, 2],
                    ty: 3,
                    data: vec![0; 60],
                }],
                32,
            ),
        ),
        (
            "alignment 24",
            build(&[kv("general.alignment", 4, &24u32.to_le_bytes())], &[], 32),
        ),
    ];
    let text: String = cases
        .into_iter()
        .map(|(what, bytes)| format!("{what}:\n  {}\n", err(bytes)))
        .collect();
    insta::assert_snapshot!("error-messages", text);
}
