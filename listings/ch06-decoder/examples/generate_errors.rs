//! The requests `generate_greedy` refuses (section "The generation loop"):
//! `cargo run --release -p ch06-decoder --example generate_errors`
fn main() {
    print!("{}", ch06_decoder::report::generate_errors_demo());
}
