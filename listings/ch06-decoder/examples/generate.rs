//! The requests `generate_greedy` refuses (section "The generation loop"):
//! `cargo run --release -p ch06-decoder --example generate`
fn main() {
    print!("{}", ch06_decoder::report::generate_errors_demo());
}
