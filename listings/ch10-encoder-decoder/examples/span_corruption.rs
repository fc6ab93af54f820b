//! Span corruption of a short passage, as the section "Span corruption" shows it. Its
//! output is committed as src/figures/ch10/span-corruption.txt:
//!
//!   cargo run -p ch10-encoder-decoder --example span_corruption
//!
//! tests/span_corruption.rs checks that the committed file is what this prints.

fn main() {
    print!("{}", ch10_encoder_decoder::t5::span_corruption::demo(0));
}
