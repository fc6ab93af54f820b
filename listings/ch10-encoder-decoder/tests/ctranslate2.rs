//! The `model.bin` reader: files built here with known values parse back exactly; each
//! kind of corruption is an error naming what is wrong; mutated files never panic; and
//! the real Whisper tiny.en file has the table the converter wrote.

mod common;

use ch10_encoder_decoder::ctranslate2::{Ct2Error, Ct2Model, Dtype};
use common::{Writer, small_file};
use proptest::prelude::*;

fn err(bytes: Vec<u8>) -> String {
    match Ct2Model::parse(bytes) {
        Ok(_) => panic!("parsed a malformed file"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_built_file_reads_back_exactly() {
    let m = Ct2Model::parse(small_file()).unwrap();
    assert_eq!(
        (m.binary_version, m.spec.as_str(), m.revision),
        (6, "TestSpec", 3)
    );
    assert_eq!(m.variables.len(), 4);
    let a = m.floats_as("a/weight", &[2, 3]).unwrap();
    assert_eq!(
        a.iter().copied().collect::<Vec<_>>(),
        [1.0, -2.0, 0.5, 3.25, 0.0, -0.125]
    );
    let b = m.floats("b/bias").unwrap();
    assert_eq!(
        b.iter().copied().collect::<Vec<_>>(),
        [1.0, -2.0, 0.5, 65504.0]
    );
    let c = m.floats("c/scale").unwrap();
    assert_eq!(c.iter().copied().collect::<Vec<_>>(), [1.5, -3.0]);
    assert_eq!(m.int_scalar("num_heads").unwrap(), 6);
    // The alias reads the variable it stands for.
    assert_eq!(m.get("proj/weight").unwrap().name, "a/weight");
    assert_eq!(m.get("b/bias").unwrap().dtype, Dtype::F16);
}

#[test]
fn lookups_name_what_is_wrong() {
    let m = Ct2Model::parse(small_file()).unwrap();
    let e = m.floats("nope").unwrap_err().to_string();
    assert_eq!(e, "variable nope: no variable (or alias) of that name");
    let e = m.floats_as("a/weight", &[3, 2]).unwrap_err().to_string();
    assert_eq!(e, "variable a/weight: shape [2, 3], expected [3, 2]");
    let e = m.floats("num_heads").unwrap_err().to_string();
    assert_eq!(e, "variable num_heads: I16 is not a float type");
    let e = m.int_scalar("b/bias").unwrap_err().to_string();
    assert!(e.contains("expected an integer scalar"), "{e}");
}

#[test]
fn a_bad_version_is_an_error() {
    let mut bytes = small_file();
    bytes[..4].copy_from_slice(&7u32.to_le_bytes());
    assert!(err(bytes).starts_with("binary version 7: this reader reads"));
    // Text, not a model.bin: the first four bytes read as a huge version.
    let e = err(b"{\"alignment_heads\": []}".to_vec());
    assert!(e.starts_with("binary version 1818305147:"), "{e}");
}

#[test]
fn every_truncation_is_an_error_naming_the_field() {
    let bytes = small_file();
    for cut in 0..bytes.len() {
        let e = err(bytes[..cut].to_vec());
        assert!(e.starts_with("truncated file: "), "cut at {cut}: {e}");
    }
    assert_eq!(
        err(bytes[..60].to_vec()),
        "truncated file: variable a/weight needs 24 bytes at offset 48, the file has 60"
    );
}

#[test]
fn corrupt_tables_are_errors_naming_the_variable() {
    let mut w = Writer::new(6, "S", 1, 1);
    w.variable("x", &[2], 9, &[0; 8]);
    w.aliases(&[]);
    assert_eq!(
        err(w.0),
        "variable x: unknown dtype id 9 (CTranslate2's are 0 to 5)"
    );

    let mut w = Writer::new(6, "S", 1, 1);
    w.variable("x", &[3], 4, &[0; 4]);
    w.aliases(&[]);
    assert_eq!(
        err(w.0),
        "variable x: 4 bytes, but shape [3] of F16 needs 6"
    );

    let mut w = Writer::new(6, "S", 1, 2);
    w.variable("x", &[1], 0, &[0; 4]);
    w.variable("x", &[1], 0, &[0; 4]);
    w.aliases(&[]);
    assert_eq!(err(w.0), "variable x appears twice");

    let mut w = Writer::new(6, "S", 1, 1);
    w.variable("x", &[1], 0, &[0; 4]);
    w.aliases(&[("y", "z")]);
    assert_eq!(err(w.0), "variable z: no variable (or alias) of that name");

    let mut w = Writer::new(6, "S", 1, 1);
    w.variable("x", &[1], 0, &[0; 4]);
    w.aliases(&[]);
    w.0.push(0);
    assert_eq!(
        err(w.0),
        "1 bytes after the last alias: the file is longer than its tables say"
    );

    // A shape whose size overflows is caught before any byte is read.
    let mut w = Writer::new(6, "S", 1, 1);
    w.variable("x", &[u32::MAX, u32::MAX, u32::MAX], 0, &[]);
    assert!(err(w.0).ends_with("needs more than memory holds"));
    // So is an empty array whose other dims no array could hold.
    let mut w = Writer::new(6, "S", 1, 1);
    w.variable("x", &[0, u32::MAX, u32::MAX], 0, &[]);
    w.aliases(&[]);
    assert_eq!(
        err(w.0),
        "variable x: 0 bytes, but shape [0, 4294967295, 4294967295] of F32 needs more than memory holds"
    );
}

#[test]
fn a_string_must_end_in_nul() {
    let mut bytes = small_file();
    // The spec name "TestSpec\0" sits at offset 6; overwrite its NUL.
    assert_eq!(bytes[6 + 8], 0);
    bytes[6 + 8] = b'!';
    assert_eq!(
        err(bytes),
        "the spec name: the string does not end in NUL (or its length is 0)"
    );
}

#[test]
fn the_path_is_in_the_message() {
    let dir = std::env::temp_dir().join(format!("ct2-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.bin");
    std::fs::write(&path, &small_file()[..10]).unwrap();
    let e = Ct2Model::open(&path).err().unwrap();
    assert!(matches!(e, Ct2Error::InFile { .. }));
    assert!(
        e.to_string()
            .starts_with(&format!("{}: truncated file", path.display()))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any byte changed, any cut, any bytes: Ok or Err, never a panic, and whatever
    /// parses converts without panicking.
    #[test]
    fn mutated_files_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        noise in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = small_file();
        for (i, b) in &edits {
            let at = i.index(bytes.len());
            bytes[at] = *b;
        }
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep);
        for input in [bytes, noise] {
            if let Ok(m) = Ct2Model::parse(input) {
                for v in &m.variables {
                    let _ = (m.floats(&v.name), m.int_scalar(&v.name));
                }
            }
        }
    }
}
