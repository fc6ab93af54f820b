//! Prints what the section "Embeddings" shows:
//! `cargo run --release -p ch02-input --example embedding`
use ch02_input::embedding::report;

fn main() {
    println!("== lookup and gradient ==\n{}", report::gradient_demo());
    println!("== √d_model ==\n{}", report::scale_demo());
    print!("== weight tying ==\n{}", report::tying_demo());
}
