//! Prints what the chapter shows: `cargo run --release -p ch05-encoder --example encoder`
fn main() {
    print!("{}", ch05_encoder::report::encoder_demo());
}
