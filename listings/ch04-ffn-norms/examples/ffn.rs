//! Prints what the chapter shows: `cargo run --release -p ch04-ffn-norms --example ffn`
fn main() {
    print!("{}", ch04_ffn_norms::report::ffn_demo());
}
