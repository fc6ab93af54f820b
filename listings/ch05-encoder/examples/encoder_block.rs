//! Prints what the chapter shows: `cargo run --release -p ch05-encoder --example encoder_block`
fn main() {
    print!("{}", ch05_encoder::report::block_demo());
}
