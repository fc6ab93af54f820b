//! What `gguf_info` prints for the real SmolLM2-135M-Instruct.

mod common;

#[test]
fn smollm2_summary() {
    let g = common::smollm2();
    insta::assert_snapshot!(ch09_decoder_only::gguf::summary(g));
}

/// The first 64 bytes of the real file, as `xxd` shows them: the header and the start
/// of the first metadata entry.
#[test]
fn smollm2_first_bytes() {
    let g = common::smollm2();
    let mut out = String::new();
    for (row, chunk) in g.bytes()[..64].chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let text: String = chunk
            .iter()
            .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
            .collect();
        out += &format!("{:08x}: {}  {text}\n", row * 16, hex.join(" "));
    }
    insta::assert_snapshot!(out);
}
