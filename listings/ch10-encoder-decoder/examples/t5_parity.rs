//! The book's T5 against transformers' `T5ForConditionalGeneration` on the fixtures
//! that tools/golden/ch10_t5.py writes: the logits' error, the position-bias tables'
//! and every gradient's, for T5 1.0 and v1.1. Its output is committed as
//! src/figures/ch10/t5-parity.txt:
//!
//!   cargo run -p ch10-encoder-decoder --example t5_parity
//!
//! tests/t5_golden.rs asserts every error is within 1e-5 on the machine that runs it,
//! and tests/measured.rs that the committed file says so.

#[path = "../tests/common/t5_fixture.rs"]
#[allow(dead_code)]
mod fixture;

fn main() {
    print!("{}", fixture::report());
}
