//! Prints what the chapter shows: `cargo run --release -p ch04-ffn-norms --example norms`
fn main() {
    print!("{}", ch04_ffn_norms::report::norms_demo());
}
