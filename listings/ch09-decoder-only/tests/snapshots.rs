//! What `gguf_info` prints for the real SmolLM2-135M-Instruct.

mod common;

#[test]
fn smollm2_summary() {
    let g = common::smollm2();
    insta::assert_snapshot!(ch09_decoder_only::gguf::summary(g));
}
