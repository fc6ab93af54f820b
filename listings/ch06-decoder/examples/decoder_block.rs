//! What the sections "The block and the causal mask" and "Causality" print:
//! `cargo run --release -p ch06-decoder --example decoder_block`
fn main() {
    print!("{}", ch06_decoder::report::block_demo());
    println!();
    print!("{}", ch06_decoder::report::causality_demo());
}
