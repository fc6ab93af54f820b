//! Prints what the chapter shows: `cargo run --release -p ch05-encoder --example bidirectional`
fn main() {
    print!("{}", ch05_encoder::report::bidirectional_demo());
}
