//! Prints greedy against beam search on a scripted scorer, section "Decoding":
//! `cargo run --release -p ch07-transformer --example beam`
fn main() {
    print!("{}", ch07_transformer::demo::decoding_demo());
}
